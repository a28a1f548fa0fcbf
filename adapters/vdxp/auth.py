"""Who a VDXP request comes from: the ``XroadVnpt-*`` headers and their HMAC-SHA256.

The SDK signs a compact JSON of its logical headers (``XroadVnpt-sign-header``) with
HMAC-SHA256 keyed by the system's secret and sends the lowercase hex as
``XroadVnpt-hash-header`` (VDXP_API.md §3.2). The check here:

1. the sign-header is taken as the RECEIVED bytes (``request.raw_headers``), never
   re-serialised: JSON key order and spacing are the client's;
2. the secret is the one ``axis adapter vdxp enable`` sealed for ``XroadVnpt-systemid``
   (:class:`axis.auth.sealed.SealedSecrets`); an unknown or not enabled id is checked against a
   random key, so it costs what a wrong signature costs and answers the same;
3. the digests are compared in constant time;
4. the signed JSON must name the same ``systemid`` as the header (the id is signed);
5. the system must still exist, hold the very secret that was sealed (a secret rotated since
   is stale, refused) and not be revoked (told only to a caller that proved the secret).

Parameters come from the signed JSON only (:class:`adapters.vdxp.wire.Params`); an unsigned
``XroadVnpt-*`` header is ignored, so changing one changes nothing. Failures count towards the
address's failure limit (``AXIS_AUTH_FAILURES_PER_MINUTE``) and are logged without the secret,
the digest or the sign-header. Replay protection is as weak as the protocol's: the SDK freezes
its timestamp per instance, so no skew can be enforced.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Final

import structlog
from aiohttp import web

from adapters.vdxp.wire import Params
from axis.auth.principal import Principal
from axis.auth.ratelimit import FailureLimiter
from axis.auth.sealed import SealedSecrets, hash_tag
from axis.errors import AuthError
from axis.runtime import Runtime

_log = structlog.get_logger("adapters.vdxp")

SIGN_HEADER: Final = b"xroadvnpt-sign-header"
HASH_HEADER: Final = "XroadVnpt-hash-header"
SYSTEM_HEADER: Final = "XroadVnpt-systemid"
MAX_SIGN_HEADER: Final = 16 * 1024
_BAD: Final = "the system id or the signature is wrong"


class VdxpAuthenticator:
    """Turns a request's ``XroadVnpt-*`` headers into a Principal and its signed Params."""

    def __init__(self, secrets: SealedSecrets) -> None:
        self._secrets = secrets
        self._limiter: FailureLimiter | None = None
        self._dummy_key = os.urandom(32)

    def _limits(self, runtime: Runtime) -> FailureLimiter:
        if self._limiter is None:
            self._limiter = FailureLimiter(runtime.clock, runtime.config.auth_failures_per_minute)
        return self._limiter

    async def authenticate(
        self, request: web.Request, runtime: Runtime, operation: str
    ) -> tuple[Principal, Params]:
        """The caller and its parameters, or an :class:`AuthError` (logged, counted)."""
        address = request.remote or "unknown"
        limiter = self._limits(runtime)
        wait = limiter.retry_after(address)
        if wait:
            raise AuthError(
                "auth.rate_limited",
                f"too many failed logins from this address; retry in {wait} s",
                status=429,
            )

        def refuse(code: str, message: str, system_id: str | None) -> AuthError:
            limiter.record_failure(address)
            _log.warning(  # warning, not info: a signed protocol rarely fails by accident
                "vdxp.auth_failed",
                code=code,
                system_id=system_id,
                address=address,
                operation=operation,
            )
            return AuthError(code, message, status=401)

        signed = [value for name, value in request.raw_headers if name.lower() == SIGN_HEADER]
        claimed = request.headers.get(HASH_HEADER, "").strip().lower()
        header_id = request.headers.get(SYSTEM_HEADER, "").strip()
        if not signed or not claimed:
            raise refuse(
                "auth.missing",
                "XroadVnpt-sign-header and XroadVnpt-hash-header are required",
                header_id or None,
            )
        if len(signed) > 1 or len(signed[0]) > MAX_SIGN_HEADER:
            raise refuse("auth.malformed", "one XroadVnpt-sign-header, at most 16 KiB", None)
        raw = signed[0]
        try:
            params = Params(_json_object(raw))
        except ValueError:
            raise refuse(
                "auth.malformed", "XroadVnpt-sign-header is not a JSON object", None
            ) from None
        system_id = header_id or (params.get("systemid") or "")
        unsealed = self._secrets.unseal(system_id) if system_id else None
        key = unsealed.secret.encode("utf-8") if unsealed is not None else self._dummy_key
        expected = hmac.new(key, raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), claimed.encode()) or unsealed is None:
            raise refuse("auth.bad_credentials", _BAD, system_id or None)
        if params.get("systemid") != system_id:
            raise refuse("auth.bad_credentials", "the signed systemid is not the caller's", None)
        record = await runtime.store.system(system_id)
        if record is None or record.secret_hash is None:
            raise refuse("auth.bad_credentials", _BAD, system_id)
        if not hmac.compare_digest(hash_tag(record.secret_hash), unsealed.tag):
            _log.warning("vdxp.key_stale", system_id=system_id)
            raise refuse(
                "auth.bad_credentials",
                "this system's secret changed since it was enabled for VDXP; enable it again",
                system_id,
            )
        if not record.active:
            raise refuse("auth.revoked", f"system {system_id} was revoked", system_id)
        return Principal.of(record), params


def _json_object(raw: bytes) -> dict[str, object]:
    """The sign-header's JSON (UTF-8, or Latin-1 as an HTTP header may arrive)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value
