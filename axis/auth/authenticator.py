"""Establishing who a request comes from: HTTP Basic secrets or a client certificate.

Every API call pays for this, so the common case is microseconds: after one successful scrypt
check, the :class:`Authenticator` remembers an HMAC-SHA256 of (system id, secret) under a random
key born with it and dies with it, and later calls compare that digest in constant time. The
digest is tied to the stored hash it was checked against, and system records are only trusted
for ``cache_ttl`` seconds, so a rotated secret or a revoked system stops working within seconds
(at once after :meth:`Authenticator.invalidate`). The caches belong to the object, never to the
module: two authenticators (two test servers) share nothing.

Refusals are :class:`axis.errors.AuthError` with stable codes: ``auth.missing``,
``auth.malformed``, ``auth.bad_credentials`` (an unknown id and a wrong secret are
indistinguishable, in message and in time: an unknown id runs a KDF too), ``auth.revoked``
(only told to a caller that proved the secret), ``auth.rate_limited`` (429). Secrets are never
logged nor put in an error.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import structlog

from axis.auth.principal import Principal
from axis.auth.ratelimit import FailureLimiter
from axis.auth.secrets import MAX_SECRET_LENGTH, dummy_hash, verify_secret
from axis.auth.tls import certificate_sha256
from axis.clock import Clock
from axis.errors import AuthError
from axis.store.protocol import Store
from axis.store.records import SystemRecord

_log = structlog.get_logger("axis.auth")

DEFAULT_CACHE_TTL: Final = 5.0
"""Seconds a system record read from the store is trusted (revocations apply within this)."""
MAX_HEADER_LENGTH: Final = 4096
_BAD_CREDENTIALS: Final = "the system id or the secret is wrong"

SecretVerifier = Callable[[str, str], bool]
"""``(secret, stored hash) -> matches``: the slow KDF check (injectable to count its calls)."""


@dataclass(frozen=True, slots=True)
class _Verified:
    """A secret proven once: its keyed digest and the stored hash it was proven against."""

    digest: bytes
    secret_hash: str


@dataclass(frozen=True, slots=True)
class _Cached:
    record: SystemRecord
    expires: float


class Authenticator:
    """Turns credentials into a :class:`Principal` or an :class:`AuthError`; one per server."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        failures_per_minute: int,
        cache_ttl: float = DEFAULT_CACHE_TTL,
        verifier: SecretVerifier = verify_secret,
        max_concurrent_kdf: int = 4,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self._on_failure = on_failure  # told each refusal's code (the app counts them)
        self._store = store
        self._clock = clock
        self._limiter = FailureLimiter(clock, failures_per_minute)
        self._ttl = cache_ttl
        self._verifier = verifier
        self._key = os.urandom(32)  # per process and object: digests are useless elsewhere
        self._verified: dict[str, _Verified] = {}
        self._records: dict[str, _Cached] = {}
        self._by_cert: dict[str, _Cached] = {}
        self._dummy_hash = dummy_hash()
        # scrypt takes ~16 MiB and tens of ms: bound how many run at once (in worker threads, so
        # the event loop never waits on one).
        self._kdf_slots = asyncio.Semaphore(max_concurrent_kdf)

    # --- public -------------------------------------------------------------------------------

    async def authenticate_basic(self, authorization_header: str | None, address: str) -> Principal:
        """The principal named by an ``Authorization: Basic base64(id:secret)`` header."""
        self._check_blocked(address)
        if not authorization_header or not authorization_header.strip():
            raise AuthError(
                "auth.missing",
                "credentials are required: HTTP Basic (system id and secret) or a client "
                "certificate",
                status=401,
            )
        try:
            system_id, secret = parse_basic(authorization_header)
        except AuthError:
            self._fail(address, "auth.malformed", None)
            raise
        record = await self._record(system_id)
        if record is None or record.secret_hash is None:
            await self._kdf(secret, self._dummy_hash)  # as long as a wrong secret takes
            self._fail(address, "auth.bad_credentials", system_id)
            raise _bad_credentials()
        if not await self._secret_matches(record.system_id, secret, record.secret_hash):
            self._fail(address, "auth.bad_credentials", system_id)
            raise _bad_credentials()
        return self._admit(record, address)

    async def authenticate_certificate(self, cert_der: bytes, address: str) -> Principal:
        """The principal bound to a client certificate (by the SHA-256 of its DER).

        The TLS layer has already checked the chain (``client_ca``); this binds the certificate
        to one system. A certificate bound to no active system is ``auth.bad_credentials``.
        """
        self._check_blocked(address)
        if not cert_der:
            raise AuthError(
                "auth.missing", "the connection carries no client certificate", status=401
            )
        fingerprint = certificate_sha256(cert_der)
        record = await self._record_by_cert(fingerprint)
        if record is None or record.cert_sha256 != fingerprint:
            self._fail(address, "auth.bad_credentials", None)
            raise AuthError(
                "auth.bad_credentials",
                "no system is bound to this client certificate",
                status=401,
                extra={"cert_sha256": fingerprint},
            )
        return self._admit(record, address)

    def invalidate(self, system_id: str) -> None:
        """Forget everything cached about ``system_id`` (after a change or a revocation)."""
        self._verified.pop(system_id, None)
        self._records.pop(system_id, None)
        for fingerprint, cached in list(self._by_cert.items()):
            if cached.record.system_id == system_id:
                del self._by_cert[fingerprint]

    def clear(self) -> None:
        """Forget every cached record and proven secret."""
        self._verified.clear()
        self._records.clear()
        self._by_cert.clear()

    # --- steps --------------------------------------------------------------------------------

    def _check_blocked(self, address: str) -> None:
        wait = self._limiter.retry_after(address)
        if wait:
            raise AuthError(
                "auth.rate_limited",
                f"too many failed logins from this address; retry in {wait} s",
                status=429,
                extra={"retry_after": wait},
            )

    def _fail(self, address: str, code: str, system_id: str | None) -> None:
        self._limiter.record_failure(address)
        _log.info("auth.failed", code=code, system_id=system_id, address=address)
        if self._on_failure is not None:
            self._on_failure(code)

    def _admit(self, record: SystemRecord, address: str) -> Principal:
        if not record.active:
            self._fail(address, "auth.revoked", record.system_id)
            raise AuthError(
                "auth.revoked",
                f"system {record.system_id} was revoked",
                status=401,
                extra={"system_id": record.system_id},
            )
        return Principal.of(record)

    def _digest(self, system_id: str, secret: str) -> bytes:
        ident = system_id.encode("utf-8")
        message = len(ident).to_bytes(4, "big") + ident + secret.encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).digest()

    async def _secret_matches(self, system_id: str, secret: str, secret_hash: str) -> bool:
        digest = self._digest(system_id, secret)
        known = self._verified.get(system_id)
        if (
            known is not None
            and known.secret_hash == secret_hash
            and hmac.compare_digest(known.digest, digest)
        ):
            return True
        if not await self._kdf(secret, secret_hash):
            return False
        self._verified[system_id] = _Verified(digest, secret_hash)
        return True

    async def _kdf(self, secret: str, secret_hash: str) -> bool:
        async with self._kdf_slots:
            return await asyncio.to_thread(self._verifier, secret, secret_hash)

    def _now(self) -> float:
        return self._clock.now().timestamp()

    async def _record(self, system_id: str) -> SystemRecord | None:
        now = self._now()
        cached = self._records.get(system_id)
        if cached is not None and cached.expires > now:
            return cached.record
        record = await self._store.system(system_id)
        if record is None:
            self._records.pop(system_id, None)
            self._verified.pop(system_id, None)
            return None
        self._records[system_id] = _Cached(record, now + self._ttl)
        return record

    async def _record_by_cert(self, fingerprint: str) -> SystemRecord | None:
        now = self._now()
        cached = self._by_cert.get(fingerprint)
        if cached is not None and cached.expires > now:
            return cached.record
        record = await self._store.system_by_cert(fingerprint)
        if record is None:
            self._by_cert.pop(fingerprint, None)
            return None
        self._by_cert[fingerprint] = _Cached(record, now + self._ttl)
        return record


def _bad_credentials() -> AuthError:
    return AuthError("auth.bad_credentials", _BAD_CREDENTIALS, status=401)


def parse_basic(header: str) -> tuple[str, str]:
    """``Basic base64(id:secret)`` -> ``(id, secret)``; :class:`AuthError` ``auth.malformed``
    (which never quotes the header: it may hold a secret) when it is anything else."""

    def malformed(why: str) -> AuthError:
        return AuthError(
            "auth.malformed", f"the Authorization header is malformed: {why}", status=401
        )

    if len(header) > MAX_HEADER_LENGTH:
        raise malformed("too long")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise malformed("the scheme must be Basic")
    try:
        raw = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise malformed("the credentials are not base64") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise malformed("the credentials are not UTF-8") from None
    system_id, colon, secret = text.partition(":")
    if not colon:
        raise malformed("expected system-id:secret")
    if not system_id or not secret:
        raise malformed("the system id and the secret must not be empty")
    if len(secret) > MAX_SECRET_LENGTH:
        raise malformed("the secret is too long")
    return system_id, secret
