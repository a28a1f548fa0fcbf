"""How long revocation data may be reused: the cache in front of the fetcher."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from cryptography import x509

from signing.errors import RevocationFetchError
from signing.revocation.data import (
    CachedCrl,
    CachedOcsp,
    crl_urls,
    ocsp_cache_key,
    ocsp_request_der,
    ocsp_urls,
    parse_ocsp,
)
from signing.revocation.fetch import RevocationFetcher
from signing.revocation.held import CrlFolder, HeldCrl, newer

_log = structlog.get_logger()

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The default clock; tests pass their own to move time without sleeping."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class CacheStats:
    crl_fetches: int
    ocsp_fetches: int
    failures: int
    crl_entries: int
    ocsp_entries: int


class RevocationCache:
    """CRLs and OCSP responses reused until nextUpdate; fed offline, held on disk (``held``: the
    CRL folder every worker reads) and/or fetched through a fetcher.

    A held CRL is served while fresh like any other; past its nextUpdate it is still reported by
    :meth:`newest_crl` (a serial it lists stays revoked; hard-fail refuses what it covers). An
    explicitly given held file (``axis verify --crl``) is the only CRL used for its issuer.
    """

    def __init__(
        self,
        fetcher: RevocationFetcher | None = None,
        *,
        clock: Clock = utc_now,
        max_ttl: timedelta = timedelta(days=7),
        default_ttl: timedelta = timedelta(minutes=15),
        negative_ttl: timedelta = timedelta(seconds=30),
        held: CrlFolder | None = None,
    ) -> None:
        self.fetcher = fetcher
        self.held = held
        self._fed = 0  # offline feeds so far: part of data_version()
        self.clock = clock
        self.max_ttl = max_ttl
        self.default_ttl = default_ttl
        self.negative_ttl = negative_ttl
        self._lock = threading.Lock()
        self._crl_by_url: dict[str, CachedCrl] = {}
        self._crl_by_issuer: dict[bytes, CachedCrl] = {}
        self._ocsp: dict[tuple[bytes, int], CachedOcsp] = {}
        self._failed: dict[str, datetime] = {}
        self._crl_fetches = 0
        self._ocsp_fetches = 0
        self._failures = 0

    # -- offline feeding -------------------------------------------------------------------------

    def add_crl(self, der: bytes, url: str | None = None) -> CachedCrl:
        """Feed a CRL obtained out of band (PEM or DER); used for its issuer and ``url``."""
        entry = CachedCrl.parse(der, url, self.clock(), self.max_ttl)
        with self._lock:
            self._store_crl(entry)
            self._fed += 1
        return entry

    def add_ocsp(self, der: bytes, cert: x509.Certificate, issuer: x509.Certificate) -> CachedOcsp:
        """Feed an OCSP response obtained out of band for ``cert``."""
        entry = parse_ocsp(der, cert, issuer, None, self.clock(), self.max_ttl, self.default_ttl)
        with self._lock:
            self._ocsp[(entry.issuer_key_hash, entry.serial)] = entry
            self._fed += 1
        return entry

    def data_version(self) -> int:
        """Changes whenever data a cached verdict did not see may have arrived: an offline feed,
        or a changed file in the held-CRL folder (looked at, cheaply, at most once a second).
        Fetches do not count: results already carry the freshness window of the data they used.
        """
        held = self.held.snapshot().version if self.held is not None else 0
        return self._fed + held  # both only grow: the sum changes when either does

    def _store_crl(self, entry: CachedCrl) -> None:
        if entry.source_url:
            self._crl_by_url[entry.source_url] = entry
        current = self._crl_by_issuer.get(entry.issuer_der)
        if current is None or current.this_update <= entry.this_update:
            self._crl_by_issuer[entry.issuer_der] = entry

    # -- lookups ---------------------------------------------------------------------------------

    def _held(self, issuer_der: bytes) -> HeldCrl | None:
        return self.held.for_issuer(issuer_der) if self.held is not None else None

    def _fresh_crl(self, cert: x509.Certificate, urls: Iterable[str]) -> CachedCrl | None:
        now = self.clock()
        found: list[CachedCrl] = []
        with self._lock:
            for url in urls:
                hit = self._crl_by_url.get(url)
                if hit is not None and now < hit.expires_at:
                    found.append(hit)
                    break
            hit = self._crl_by_issuer.get(cert.issuer.public_bytes())
            if hit is not None and now < hit.expires_at:
                found.append(hit)
        held = self._held(cert.issuer.public_bytes())
        if held is not None and now < held.crl.expires_at:
            found.append(held.crl)
        if not found:
            return None
        best = found[0]
        for candidate in found[1:]:
            if newer(candidate, best):
                best = candidate
        return best

    def newest_crl(self, issuer_der: bytes) -> CachedCrl | None:
        """The newest CRL of this issuer known here -- held, fed or fetched -- fresh or stale
        (an explicitly given file wins). Not verified: check :meth:`CachedCrl.signed_by` before
        acting on it."""
        held = self._held(issuer_der)
        if held is not None and held.explicit:
            return held.crl
        with self._lock:
            mine = self._crl_by_issuer.get(issuer_der)
        if held is None:
            return mine
        if mine is None or newer(held.crl, mine):
            return held.crl
        return mine

    def _recently_failed(self, key: str) -> bool:
        with self._lock:
            until = self._failed.get(key)
        return until is not None and self.clock() < until

    def _failed_now(self, key: str, exc: BaseException) -> None:
        with self._lock:
            self._failed[key] = self.clock() + self.negative_ttl
            self._failures += 1
        _log.warning("revocation.fetch_failed", target=key, error=str(exc))

    async def crl_for(self, cert: x509.Certificate, *, refresh: bool = False) -> CachedCrl | None:
        """A fresh CRL covering ``cert`` (cached, fed, or fetched from its CDP); None if none."""
        urls = crl_urls(cert)
        held = self._held(cert.issuer.public_bytes())
        if held is not None and held.explicit:  # "use this CRL": no other for its issuer
            return held.crl if self.clock() < held.crl.expires_at else None
        if not refresh:
            hit = self._fresh_crl(cert, urls)
            if hit is not None:
                return hit
        if self.fetcher is None:
            return None
        for url in urls:
            if self._recently_failed(url):
                continue
            try:
                der = await self.fetcher.fetch_crl(url)
                entry = CachedCrl.parse(der, url, self.clock(), self.max_ttl)
            except Exception as exc:  # a caller's fetcher may fail in any way: that is "no data"
                self._failed_now(url, exc)
                continue
            if entry.issuer_der != cert.issuer.public_bytes():
                self._failed_now(
                    url, RevocationFetchError("revocation.crl_issuer", "wrong issuer", url)
                )
                continue
            with self._lock:
                self._store_crl(entry)
                self._crl_fetches += 1
            return entry
        return None

    async def ocsp_for(
        self, cert: x509.Certificate, issuer: x509.Certificate, *, refresh: bool = False
    ) -> CachedOcsp | None:
        """A fresh OCSP response for ``cert`` (cached, fed, or asked from its AIA responder)."""
        key = ocsp_cache_key(cert, issuer)
        now = self.clock()
        if not refresh:
            with self._lock:
                hit = self._ocsp.get(key)
            if hit is not None and now < hit.expires_at:
                return hit
        if self.fetcher is None:
            return None
        for url in ocsp_urls(cert):
            fail_key = f"{url}#{cert.serial_number:x}"
            if self._recently_failed(fail_key):
                continue
            try:
                der = await self.fetcher.fetch_ocsp(url, ocsp_request_der(cert, issuer))
                entry = parse_ocsp(
                    der, cert, issuer, url, self.clock(), self.max_ttl, self.default_ttl
                )
            except Exception as exc:  # a caller's fetcher may fail in any way: that is "no data"
                self._failed_now(fail_key, exc)
                continue
            with self._lock:
                self._ocsp[key] = entry
                self._ocsp_fetches += 1
            return entry
        return None

    def evict(self, entry: CachedCrl | CachedOcsp) -> None:
        """Forget an entry that failed verification, so the next use fetches again."""
        with self._lock:
            if isinstance(entry, CachedCrl):
                if entry.source_url and self._crl_by_url.get(entry.source_url) is entry:
                    del self._crl_by_url[entry.source_url]
                if self._crl_by_issuer.get(entry.issuer_der) is entry:
                    del self._crl_by_issuer[entry.issuer_der]
            else:
                key = (entry.issuer_key_hash, entry.serial)
                if self._ocsp.get(key) is entry:
                    del self._ocsp[key]

    async def prefetch(
        self,
        pairs: Iterable[tuple[x509.Certificate, x509.Certificate]],
        *,
        margin: timedelta = timedelta(minutes=5),
    ) -> int:
        """Refresh the data of (cert, issuer) pairs that is missing or expires within ``margin``.

        Same preference as validation: OCSP where the certificate names a responder, else (or if
        the responder fails) its CRL. Run it from a background task so documents never wait for a
        download. Returns the number of successful fetches.
        """
        deadline = self.clock() + margin

        async def refresh(cert: x509.Certificate, issuer: x509.Certificate) -> int:
            with self._lock:
                o = self._ocsp.get(ocsp_cache_key(cert, issuer))
                c = self._crl_by_issuer.get(cert.issuer.public_bytes())
            if o is not None and o.expires_at > deadline:
                return 0
            if ocsp_urls(cert) and await self.ocsp_for(cert, issuer, refresh=True) is not None:
                return 1
            if (c is not None and c.expires_at > deadline) or not crl_urls(cert):
                return 0
            return 1 if await self.crl_for(cert, refresh=True) is not None else 0

        done = await asyncio.gather(*(refresh(cert, issuer) for cert, issuer in pairs))
        return sum(done)

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(
                self._crl_fetches,
                self._ocsp_fetches,
                self._failures,
                len(self._crl_by_issuer),
                len(self._ocsp),
            )
