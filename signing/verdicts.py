"""How a verification's findings become a :class:`SignatureReport`, and which ones are logged.

The verdicts of a document that never reaches step 5 -- absent, refused before the crypto, a
certificate the path builder cannot read -- are built here, in one place, so that every entry
point (:meth:`signing.Verifier.verify`, :meth:`~signing.Verifier.verify_async`) words and logs them
the same way and ``accepted`` is decided by one rule: absent is accepted unless the policy requires
a signature, a refusal never is.

Every refusal names the certificate it is about -- the signer's, never its issuer's, even when
what failed is a sub-CA of its path -- as ``[certificate CN=…, serial …, SHA-256 …]`` appended to
its message (:func:`name_signer`), so an operator can find that certificate without the JSON.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime

import structlog
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from signing.policy import SignaturePolicy
from signing.report import ReasonCode, SignatureReport
from signing.truststore import common_name

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


def certificate_label(subject: str | None, serial: str | None, sha256: str | None) -> str:
    """``CN=Nguyễn Thị Hồng Nhung, serial 1005, SHA-256 3f2a9c1b0e4d5a66…``."""
    cn = common_name(subject) if subject else None
    parts = [f"CN={cn}" if cn else subject or "no subject"]
    if serial:
        parts.append(f"serial {serial}")
    if sha256:
        parts.append(f"SHA-256 {sha256[:16].lower()}…")
    return ", ".join(parts)


def label_of(cert: x509.Certificate) -> str:
    """:func:`certificate_label` of a certificate read from the document."""
    return certificate_label(
        cert.subject.rfc4514_string(),
        format(cert.serial_number, "X"),
        hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest(),
    )


def name_signer(report: SignatureReport, leaf: x509.Certificate | None = None) -> SignatureReport:
    """The refusal with the signer's certificate named in its message.

    The certificate comes from the failed signature's detail, else ``leaf`` (a refusal before
    the signature's details were built: the certificate its KeyInfo carries). Unchanged when the
    report is not a refusal, no certificate is known, or the message already names it.
    """
    if report.status != "invalid":
        return report
    failed = next((d for d in report.signatures if not d.valid), None)
    if failed is not None and failed.signer_subject:
        sha = failed.signer_sha256
        label = certificate_label(failed.signer_subject, failed.signer_serial, sha)
    elif leaf is not None:
        sha = None
        label = label_of(leaf)
    else:
        return report
    if sha and sha[:12].lower() in report.message.lower():
        return report  # already named (the binding messages do)
    message = f"{report.message} [certificate {label}]"
    details = tuple(
        replace(d, message=f"{d.message} [certificate {label}]") if d is failed else d
        for d in report.signatures
    )
    return replace(report, message=message, signatures=details)
