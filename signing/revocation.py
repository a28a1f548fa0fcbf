"""Revocation data (CRL and OCSP): where it comes from and how long it may be reused.

Three separate ideas, because a closed government network rarely reaches ``ca.gov.vn``:

* :class:`RevocationFetcher` -- the ONLY door to the network, passed in by the caller. The library
  never fetches on its own; without a fetcher, revocation data comes only from what an operator fed
  into the cache (:meth:`RevocationCache.add_crl` / :meth:`RevocationCache.add_ocsp`).
* :class:`HttpRevocationFetcher` -- the aiohttp implementation (its name says it does network I/O),
  with size/time limits, and URL prefix rewriting for mirrors (old certificates carry internal
  hosts such as ``http://ca.btc/`` that only a mirror can answer).
* :class:`RevocationCache` -- keeps each CRL / OCSP response until its ``nextUpdate`` (capped by
  ``max_ttl`` so a forged far-future nextUpdate cannot pin data forever), remembers failed fetches
  for a short ``negative_ttl`` (soft-fail must not hammer a dead responder on every document), and
  can prefetch data that is about to expire so the hot path never waits on the network.

The cache does not judge signatures: pyhanko-certvalidator verifies every CRL / OCSP response when
it is used, and :class:`signing.certpath.PathValidator` evicts data that failed there.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

import aiohttp
import structlog
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID

_log = structlog.get_logger()

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class RevocationFetchError(RuntimeError):
    """Revocation data could not be obtained: stable ``code``, ``message``, ``location`` (URL)."""

    def __init__(self, code: str, message: str, location: str) -> None:
        super().__init__(f"{code} at {location}: {message}")
        self.code = code
        self.message = message
        self.location = location


@runtime_checkable
class RevocationFetcher(Protocol):
    """Gets raw revocation data; implementations raise :class:`RevocationFetchError`."""

    async def fetch_crl(self, url: str) -> bytes: ...

    async def fetch_ocsp(self, url: str, request_der: bytes) -> bytes: ...


class HttpRevocationFetcher:
    """Fetches CRLs (GET) and OCSP responses (POST) over HTTP with aiohttp -- network I/O.

    A session is opened per fetch: fetches are rare (the cache holds data until nextUpdate), and a
    per-call session stays correct when callers run each validation in a fresh event loop.
    """

    def __init__(
        self,
        *,
        timeout: float = 5.0,
        max_bytes: int = 20 * 1024 * 1024,
        rewrite: Mapping[str, str] | None = None,
        user_agent: str = "axis-revocation/1",
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.rewrite = dict(rewrite or {})
        self.user_agent = user_agent

    def resolve(self, url: str) -> str:
        """The URL after mirror rewriting (longest matching prefix wins)."""
        for prefix in sorted(self.rewrite, key=len, reverse=True):
            if url.startswith(prefix):
                return self.rewrite[prefix] + url[len(prefix) :]
        return url

    async def fetch_crl(self, url: str) -> bytes:
        return await self._request("GET", url, None, "application/pkix-crl")

    async def fetch_ocsp(self, url: str, request_der: bytes) -> bytes:
        return await self._request("POST", url, request_der, "application/ocsp-request")

    async def _request(self, method: str, url: str, body: bytes | None, ctype: str) -> bytes:
        target = self.resolve(url)
        if urlsplit(target).scheme not in {"http", "https"}:
            raise RevocationFetchError("revocation.bad_url", "only http(s) URLs are fetched", url)
        headers = {"User-Agent": self.user_agent}
        if body is not None:
            headers["Content-Type"] = ctype
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.request(method, target, data=body, headers=headers) as resp,
            ):
                if resp.status != 200:
                    raise RevocationFetchError(
                        "revocation.http_status", f"HTTP {resp.status} from {target}", url
                    )
                data = bytearray()
                async for chunk in resp.content.iter_chunked(65536):
                    data += chunk
                    if len(data) > self.max_bytes:
                        raise RevocationFetchError(
                            "revocation.too_large", f"more than {self.max_bytes} bytes", url
                        )
                return bytes(data)
        except TimeoutError as exc:
            raise RevocationFetchError(
                "revocation.timeout", f"no answer in {self.timeout}s", url
            ) from exc
        except aiohttp.ClientError as exc:
            raise RevocationFetchError(
                "revocation.unreachable", str(exc) or type(exc).__name__, url
            ) from exc


# --- parsed, cacheable revocation data -----------------------------------------------------------


@dataclass(frozen=True)
class CachedCrl:
    """One CRL as fetched or fed, with the window in which it may be reused."""

    der: bytes
    issuer_der: bytes  # DER of the CRL issuer's Name
    this_update: datetime
    next_update: datetime | None
    expires_at: datetime  # when the cache stops serving it (nextUpdate, capped by max_ttl)
    source_url: str | None
    revoked: Mapping[int, tuple[datetime, str]]  # serial -> (revocation date, reason)

    @classmethod
    def parse(cls, der: bytes, url: str | None, now: datetime, cap: timedelta) -> CachedCrl:
        try:
            crl = x509.load_der_x509_crl(der)
        except ValueError:
            try:
                crl = x509.load_pem_x509_crl(der)
                der = crl.public_bytes(serialization.Encoding.DER)
            except ValueError as exc:
                raise RevocationFetchError(
                    "revocation.bad_crl", f"not a CRL: {exc}", url or "<fed>"
                ) from exc
        revoked: dict[int, tuple[datetime, str]] = {}
        for entry in crl:
            reason = "unspecified"
            with contextlib.suppress(x509.ExtensionNotFound):
                reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason.name
            revoked[entry.serial_number] = (entry.revocation_date_utc, reason)
        next_update = crl.next_update_utc
        expires = min(next_update, now + cap) if next_update else now + cap
        return cls(
            der,
            crl.issuer.public_bytes(),
            crl.last_update_utc,
            next_update,
            expires,
            url,
            revoked,
        )


@dataclass(frozen=True)
class CachedOcsp:
    """One OCSP response for one certificate, with its reuse window."""

    der: bytes
    serial: int
    issuer_key_hash: bytes  # SHA-1 key hash of the issuer (our CertID algorithm)
    status: str  # "good" | "revoked" | "unknown"
    revoked_at: datetime | None
    reason: str | None
    this_update: datetime
    next_update: datetime | None
    expires_at: datetime
    source_url: str | None


def _ocsp_key(cert: x509.Certificate, issuer: x509.Certificate) -> tuple[bytes, int]:
    req = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(cert, issuer, hashes.SHA1())  # noqa: S303 - CertID hash, RFC 6960 default
        .build()
    )
    return req.issuer_key_hash, cert.serial_number


def ocsp_request_der(cert: x509.Certificate, issuer: x509.Certificate) -> bytes:
    """A DER OCSP request for ``cert`` (CertID with SHA-1, as RFC 5019 responders expect)."""
    req = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(cert, issuer, hashes.SHA1())  # noqa: S303 - CertID hash, not a signature
        .build()
    )
    return req.public_bytes(serialization.Encoding.DER)


def parse_ocsp(
    der: bytes,
    cert: x509.Certificate,
    issuer: x509.Certificate,
    url: str | None,
    now: datetime,
    cap: timedelta,
    default_ttl: timedelta,
) -> CachedOcsp:
    """Parse a response and pick the single response for ``cert``; raises on mismatch."""
    where = url or "<fed>"
    try:
        resp = ocsp.load_der_ocsp_response(der)
    except ValueError as exc:
        raise RevocationFetchError(
            "revocation.bad_ocsp", f"not an OCSP response: {exc}", where
        ) from exc
    if resp.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise RevocationFetchError(
            "revocation.ocsp_status", f"responder said {resp.response_status.name}", where
        )
    key_hash, serial = _ocsp_key(cert, issuer)
    for single in resp.responses:
        if single.serial_number != serial:
            continue
        status = single.certificate_status.name.lower()
        reason = single.revocation_reason.name if single.revocation_reason else None
        next_update = single.next_update_utc
        this_update = single.this_update_utc
        expires = min(next_update, now + cap) if next_update else now + min(default_ttl, cap)
        return CachedOcsp(
            der,
            serial,
            key_hash,
            status,
            single.revocation_time_utc,
            reason,
            this_update,
            next_update,
            expires,
            url,
        )
    raise RevocationFetchError(
        "revocation.ocsp_mismatch", "no response for this certificate", where
    )


def crl_urls(cert: x509.Certificate) -> list[str]:
    """HTTP(S) CRL distribution point URLs of ``cert``."""
    try:
        cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return []
    urls: list[str] = []
    for dp in cdp:
        for name in dp.full_name or []:
            if isinstance(name, x509.UniformResourceIdentifier) and name.value.lower().startswith(
                ("http://", "https://")
            ):
                urls.append(name.value)
    return urls


def ocsp_urls(cert: x509.Certificate) -> list[str]:
    """OCSP responder URLs from the AIA extension of ``cert``."""
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return []
    return [
        d.access_location.value
        for d in aia
        if d.access_method == AuthorityInformationAccessOID.OCSP
        and isinstance(d.access_location, x509.UniformResourceIdentifier)
    ]


@dataclass(frozen=True)
class CacheStats:
    crl_fetches: int
    ocsp_fetches: int
    failures: int
    crl_entries: int
    ocsp_entries: int


class RevocationCache:
    """CRLs and OCSP responses reused until nextUpdate; fed offline and/or through a fetcher."""

    def __init__(
        self,
        fetcher: RevocationFetcher | None = None,
        *,
        clock: Clock = utc_now,
        max_ttl: timedelta = timedelta(days=7),
        default_ttl: timedelta = timedelta(minutes=15),
        negative_ttl: timedelta = timedelta(seconds=30),
    ) -> None:
        self.fetcher = fetcher
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
        return entry

    def add_ocsp(self, der: bytes, cert: x509.Certificate, issuer: x509.Certificate) -> CachedOcsp:
        """Feed an OCSP response obtained out of band for ``cert``."""
        entry = parse_ocsp(der, cert, issuer, None, self.clock(), self.max_ttl, self.default_ttl)
        with self._lock:
            self._ocsp[(entry.issuer_key_hash, entry.serial)] = entry
        return entry

    def _store_crl(self, entry: CachedCrl) -> None:
        if entry.source_url:
            self._crl_by_url[entry.source_url] = entry
        current = self._crl_by_issuer.get(entry.issuer_der)
        if current is None or current.this_update <= entry.this_update:
            self._crl_by_issuer[entry.issuer_der] = entry

    # -- lookups ---------------------------------------------------------------------------------

    def _fresh_crl(self, cert: x509.Certificate, urls: Iterable[str]) -> CachedCrl | None:
        now = self.clock()
        with self._lock:
            for url in urls:
                hit = self._crl_by_url.get(url)
                if hit is not None and now < hit.expires_at:
                    return hit
            hit = self._crl_by_issuer.get(cert.issuer.public_bytes())
            if hit is not None and now < hit.expires_at:
                return hit
        return None

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
        key = _ocsp_key(cert, issuer)
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
                o = self._ocsp.get(_ocsp_key(cert, issuer))
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
