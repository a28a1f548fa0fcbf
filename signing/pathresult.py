"""What a certificate path validation decides, and under which policy: the value types of
:mod:`signing.certpath`, kept apart so that reports, the CLI and tests can speak of results
without the validator (and so that module stays about the work itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509

from signing.policy import RevocationMode
from signing.revstatus import RevocationStatus, iso


@dataclass(frozen=True)
class PathPolicy:
    """What a path must satisfy. Hashable: it is part of the result cache key."""

    revocation: RevocationMode = "soft-fail"
    allow_sha1_chain: bool = False  # G1 chains are SHA-1: only by this explicit legacy flag
    min_rsa_bits: int = 2048
    min_ec_bits: int = 256
    # key usage: the leaf must have digitalSignature or nonRepudiation (not configurable)
    soft_fail_retry: timedelta = timedelta(minutes=1)  # reuse of "revocation unknown" results


@dataclass(frozen=True)
class PathResult:
    """The verdict on one signer certificate at one trusted time."""

    ok: bool
    reason: str | None  # stable code when not ok (cert.*)
    message: str
    chain: tuple[x509.Certificate, ...]  # leaf first, anchor last (empty if no path)
    revocation: RevocationStatus
    validated_at: datetime  # the trusted time used (UTC, aware)
    from_cache: bool = False


def describe_result(result: PathResult) -> dict[str, Any]:
    """A JSON-ready view of a result (for ``--json`` outputs and logs)."""
    return {
        "ok": result.ok,
        "reason": result.reason,
        "message": result.message,
        "chain": [c.subject.rfc4514_string() for c in result.chain],
        "revocation": {
            "status": result.revocation.status,
            "source": result.revocation.source,
            "detail": result.revocation.detail,
        },
        "validated_at": iso(result.validated_at),
        "from_cache": result.from_cache,
    }
