"""How a verification's findings become a :class:`SignatureReport`, and which ones are logged.

The verdicts of a document that never reaches step 5 -- absent, refused before the crypto, a
certificate the path builder cannot read -- are built here, in one place, so that every entry
point (:meth:`signing.Verifier.verify`, :meth:`~signing.Verifier.verify_async`) words and logs them
the same way and ``accepted`` is decided by one rule: absent is accepted unless the policy requires
a signature, a refusal never is.
"""

from __future__ import annotations

from datetime import datetime

import structlog

from signing.policy import SignaturePolicy
from signing.report import ReasonCode, SignatureReport

_log = structlog.get_logger()


def absent(policy: SignaturePolicy, message: str, where: str, at: datetime) -> SignatureReport:
    ok = policy.mode != "require"
    return SignatureReport(
        status="absent",
        accepted=ok,
        reason=ReasonCode.ABSENT,
        message=message if ok else f"{message}; the policy requires a signature",
        location=where,
        profile=policy.profile.name,
        validated_at=at,
    )


def refused(
    policy: SignaturePolicy, reason: ReasonCode, message: str, where: str, at: datetime
) -> SignatureReport:
    return SignatureReport(
        status="invalid",
        accepted=False,
        reason=reason,
        message=message,
        location=where,
        profile=policy.profile.name,
        validated_at=at,
    )


def logged(report: SignatureReport) -> SignatureReport:
    """Log refusals (the events an operator acts on); accepted documents are counted, not logged."""
    if report.accepted:
        return report
    _log.info(
        "signature.refused",
        status=report.status,
        reason=str(report.reason),
        profile=report.profile,
        signer=report.signer.signer_subject if report.signer else None,
    )
    return report
