"""Certificate path validation at a trusted time, with revocation and a per-signer result cache.

Why pyhanko-certvalidator and not cryptography's verifier: the latter refuses SHA-1 anywhere in a
chain (so G1 chains can never pass, even under an explicit legacy policy) and has no CRL/OCSP input
(SIGNATURES.md §0.2, §3.4, measured). pyhanko-certvalidator builds the path, checks validity at a
given moment, and checks the CRLs / OCSP responses we hand it; we fetch those ourselves through the
caller's :class:`~signing.revocation.RevocationFetcher` so no network I/O hides in the library.

The time is a TRUSTED time: an explicit ``at`` (an auditor re-checking an old document, or the
axis's own receipt time), else now. A signer's claimed SigningTime is never an input here.

Our own checks run before pyhanko so that refusals carry precise, stable codes:
``cert.untrusted_root`` (no path), then the rules of :mod:`signing.chainrules`
(``cert.ca_as_signer``, ``cert.key_usage``, ``cert.weak_key``, ``cert.sha1_chain``,
``cert.expired`` / ``cert.not_yet_valid``...); then a serial listed by a CRL held here
(``cert.revoked``, even when that CRL is past its nextUpdate) and, under hard-fail, a CRL past its
nextUpdate as the only data (``cert.revocation_unknown``); then pyhanko decides ``cert.revoked``,
``cert.revocation_unavailable`` or ``cert.invalid`` (bad signature, constraints...).

Results are cached (:mod:`signing.pathcache`) per leaf certificate (SHA-256 fingerprint, policy,
trust version) together with the window in which they hold -- the chain's validity (cut at a known
future revocation date) for ``at``, and the freshness of the revocation data used for the wall
clock -- so the second document of a signer costs a dictionary lookup and two comparisons. A trust
reload bumps the version, and so does new revocation data (an offline feed, a changed file in the
held-CRL folder), so a result is never served across either. Which CRL / OCSP data covers the
chain, and what it says about the leaf, is :mod:`signing.revstatus`'s job.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import structlog
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    DisallowedAlgorithmError,
    ExpiredError,
    InsufficientRevinfoError,
    NotYetValidError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
    ValidationError,
)

from signing.chainrules import chain_refusal, leaf_refusal
from signing.chainrules import describe as _describe
from signing.pathcache import FAR_FUTURE, FAR_PAST, CachedPath, PathCache
from signing.pathresult import PathPolicy as PathPolicy  # re-exported: their old home
from signing.pathresult import PathResult as PathResult
from signing.pathresult import describe_result as describe_result
from signing.revocation import (
    CachedCrl,
    CachedOcsp,
    Clock,
    CrlFolder,
    RevocationCache,
    RevocationFetcher,
    utc_now,
)
from signing.revstatus import (
    NOT_REACHED,
    as_utc,
    camel,
    collect_revocation,
    iso,
    listed_revocation,
    revoked_dates,
    stale_revocation,
)
from signing.revstatus import (
    RevocationStatus as RevocationStatus,  # re-exported: its old home
)
from signing.truststore import TrustSnapshot, TrustStore

_MALFORMED_CERTIFICATE = (
    ValueError,
    TypeError,
    KeyError,
    UnsupportedAlgorithm,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
)

_log = structlog.get_logger()
_DEFAULT_POLICY = PathPolicy()


def _to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _from_asn1(cert: asn1_x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(cert.dump())


class PathValidator:
    """Validates signer certificates against a :class:`TrustStore` under one :class:`PathPolicy`."""

    def __init__(
        self,
        trust: TrustStore,
        *,
        policy: PathPolicy = _DEFAULT_POLICY,
        fetcher: RevocationFetcher | None = None,
        cache: RevocationCache | None = None,
        clock: Clock = utc_now,
        max_cached: int = 100_000,
        crls: CrlFolder | None = None,
    ) -> None:
        self.trust = trust
        self.policy = policy
        self.clock = clock
        if cache is not None and (crls is not None or fetcher is not None):
            raise ValueError("a RevocationCache brings its own fetcher and CRL folder")
        self.revocation_cache = cache or RevocationCache(fetcher, clock=clock, held=crls)
        self.max_cached = max_cached
        self._cache = PathCache(max_cached)
        self.hits = 0
        self.misses = 0

    # -- cache -------------------------------------------------------------------------------

    def _lookup(self, leaf: x509.Certificate, at: datetime | None) -> PathResult | None:
        now = self.clock()
        hit = self._cache.lookup(
            leaf,
            now if at is None else as_utc(at),
            now,
            trust_version=self.trust.version,
            revocation_version=self.revocation_cache.data_version(),
        )
        if hit is not None:
            self.hits += 1
        return hit

    def clear_cache(self) -> None:
        self._cache.clear()

    # -- public API --------------------------------------------------------------------------

    async def validate(
        self,
        leaf: x509.Certificate,
        extra_certs: Sequence[x509.Certificate] = (),
        *,
        at: datetime | None = None,
    ) -> PathResult:
        """Validate ``leaf`` at trusted time ``at`` (default: now), building the path through the
        trust store's intermediates and ``extra_certs`` (e.g. certificates from KeyInfo)."""
        hit = self._lookup(leaf, at)
        if hit is not None:
            return hit
        self.misses += 1
        snap = self.trust.snapshot()
        data_version = self.revocation_cache.data_version()
        when = self.clock() if at is None else as_utc(at)
        try:
            entry = await self._validate(leaf, extra_certs, when, snap)
        except _MALFORMED_CERTIFICATE as exc:
            # A certificate that parses but cannot be used (unknown algorithm, duplicate
            # extension, bad encoding inside) is a refusal, never a crash of the caller.
            entry = self._fail(when, "cert.invalid", f"{_describe(leaf)} is malformed: {exc}")
        if entry.cacheable:
            self._cache.remember(
                leaf,
                replace(entry, trust_version=snap.version, revocation_version=data_version),
            )
        result = entry.result
        _log.debug(
            "certpath.validated",
            subject=_describe(leaf),
            ok=result.ok,
            reason=result.reason,
            at=iso(when),
        )
        return result

    def validate_sync(
        self,
        leaf: x509.Certificate,
        extra_certs: Sequence[x509.Certificate] = (),
        *,
        at: datetime | None = None,
    ) -> PathResult:
        """Synchronous :meth:`validate` for one-off checks (``axis pki check``, tests).

        A cache miss runs :meth:`validate` in a fresh event loop (``asyncio.run``), so the
        fetcher must not be bound to another loop (an ``HttpRevocationFetcher`` is: its session
        belongs to the loop it was opened on). Long-lived synchronous callers use
        :class:`signing.Verifier`, which keeps one loop of its own. Inside a running event loop
        this raises ``RuntimeError``: await :meth:`validate` there instead.
        """
        hit = self.cached(leaf, at)
        if hit is not None:
            return hit
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.validate(leaf, extra_certs, at=at))
        raise RuntimeError(
            "PathValidator.validate_sync() called inside a running event loop: "
            "await PathValidator.validate() instead"
        )

    def cached(self, leaf: x509.Certificate, at: datetime | None = None) -> PathResult | None:
        """The cached result for ``leaf`` at ``at`` if one still holds, else ``None`` (no I/O).

        What a synchronous caller tries first, so the event loop is only entered on a miss.
        """
        return self._lookup(leaf, at)

    async def prefetch(self, *, margin: timedelta = timedelta(minutes=5)) -> int:
        """Refresh revocation data of every cached chain that expires within ``margin``."""
        pairs: list[tuple[x509.Certificate, x509.Certificate]] = []
        for e in self._cache.entries():
            chain = e.result.chain
            pairs.extend(itertools.pairwise(chain))
        return await self.revocation_cache.prefetch(pairs, margin=margin)

    # -- the work ----------------------------------------------------------------------------

    def _fail(
        self,
        when: datetime,
        reason: str,
        message: str,
        chain: Sequence[x509.Certificate] = (),
        revocation: RevocationStatus = NOT_REACHED,
        *,
        static: bool = False,
    ) -> CachedPath:
        result = PathResult(False, reason, message, tuple(chain), revocation, when)
        if static:
            return CachedPath(result, FAR_PAST, FAR_FUTURE, None)
        return CachedPath(result, FAR_PAST, FAR_PAST, None, cacheable=False)

    def _context(self, snap: TrustSnapshot, others: Sequence[x509.Certificate], when: datetime,
                 crls: Sequence[bytes] = (), ocsps: Sequence[bytes] = (),
                 mode: str = "none") -> ValidationContext:  # fmt: skip
        weak = {"md2", "md5"} if self.policy.allow_sha1_chain else {"md2", "md5", "sha1"}
        return ValidationContext(
            trust_roots=[_to_asn1(c) for c in snap.anchors],
            other_certs=[_to_asn1(c) for c in others],
            moment=when,
            allow_fetching=False,
            crls=list(crls),
            ocsps=list(ocsps),
            revocation_mode=mode,
            weak_hash_algos=weak,
            retroactive_revinfo=True,
        )

    async def _validate(
        self,
        leaf: x509.Certificate,
        extra: Sequence[x509.Certificate],
        when: datetime,
        snap: TrustSnapshot,
    ) -> CachedPath:
        # Trust first (who vouches for this key?), then what the key may do: a certificate of a
        # foreign PKI is reported as untrusted even when it is also a CA or lacks key usage.
        others = [*snap.intermediates, *extra]
        leaf_asn1 = _to_asn1(leaf)
        try:
            paths = await self._context(snap, others, when).path_builder.async_build_paths(
                leaf_asn1
            )
        except PathBuildingError as exc:
            return self._fail(
                when,
                "cert.untrusted_root",
                f"no path from {_describe(leaf)} to a trusted anchor: {exc}",
            )
        if not paths:
            return self._fail(when, "cert.untrusted_root", "no path to a trusted anchor")
        chain = tuple(reversed([_from_asn1(c) for c in paths[0].iter_certs(include_root=True)]))
        refused = leaf_refusal(leaf, self.policy)
        if refused is not None:
            return self._fail(when, refused.reason, refused.message, static=True)
        refused = chain_refusal(chain, when, self.policy)
        if refused is not None:
            return self._fail(when, refused.reason, refused.message, chain)

        checking = self.policy.revocation != "off"
        listed = listed_revocation(self.revocation_cache, chain, when) if checking else None
        if listed is not None:
            return self._fail(when, "cert.revoked", listed.message, chain, listed.status)
        revinfo, status = await collect_revocation(
            self.revocation_cache, self.policy.revocation, chain, when
        )
        stale = stale_revocation(self.revocation_cache, chain, revinfo) if checking else None
        if stale is not None and self.policy.revocation == "hard-fail":
            return self._fail(when, "cert.revocation_unknown", stale.message, chain, stale.status)
        if stale is not None and stale.index == 0:
            status = stale.status
        crls = [r.der for r in revinfo if isinstance(r, CachedCrl)]
        ocsps = [r.der for r in revinfo if isinstance(r, CachedOcsp)]
        mode = {"off": "none"}.get(self.policy.revocation, self.policy.revocation)
        ctx = self._context(snap, [*chain[1:-1], *others], when, crls, ocsps, mode)
        validator = CertificateValidator(leaf_asn1, validation_context=ctx)
        try:
            await validator.async_validate_path()
        except RevokedError as exc:
            why = camel(exc.reason.native or "unspecified")
            detail = f"revoked {iso(exc.revocation_dt)} reason {why}"
            rs = RevocationStatus("revoked", status.source, detail)
            return self._fail(when, "cert.revoked", str(exc), chain, rs)
        except InsufficientRevinfoError as exc:
            for r in revinfo:
                self.revocation_cache.evict(r)
            rs = RevocationStatus("unknown", None, str(exc))
            return self._fail(when, "cert.revocation_unavailable", str(exc), chain, rs)
        except ExpiredError as exc:
            return self._fail(when, "cert.expired", str(exc), chain, status)
        except NotYetValidError as exc:
            return self._fail(when, "cert.not_yet_valid", str(exc), chain, status)
        except DisallowedAlgorithmError as exc:
            return self._fail(when, "cert.sha1_chain", str(exc), chain, status)
        except PathBuildingError as exc:
            return self._fail(when, "cert.untrusted_root", str(exc), chain, status)
        except (PathValidationError, ValidationError) as exc:
            return self._fail(when, "cert.invalid", str(exc), chain, status)

        valid_from = max(c.not_valid_before_utc for c in chain)
        valid_until = min(c.not_valid_after_utc for c in chain)
        for r in revinfo:
            valid_until = min([valid_until, *revoked_dates(r, chain)])
        fresh_until: datetime | None = None
        if self.policy.revocation != "off":
            limits = [r.expires_at for r in revinfo]
            if status.status == "unknown":
                limits.append(self.clock() + self.policy.soft_fail_retry)
            fresh_until = min(limits) if limits else None
        result = PathResult(True, None, "certificate path valid", chain, status, when)
        return CachedPath(result, valid_from, valid_until, fresh_until, tuple(revinfo))
