"""What a verification found: one report per document, one detail per signature, stable codes.

Agency systems act on ``ReasonCode`` (a StrEnum, so it serialises as its plain string) and people
read ``message``; ``location`` says where in the document the finding is. The report lists what the
signature *covers*, because a valid signature over less than the document must not be read as a
signature over the document (SIGNATURES.md A10).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal


class ReasonCode(StrEnum):
    """Why a document's signatures are not valid (or, for ``OK``/``ABSENT``, what was found)."""

    OK = "ok"
    ABSENT = "sig.absent"
    # input
    XML_REFUSED = "sig.xml_refused"
    # location and shape (SIGNATURES.md §4.3 step 2)
    UNEXPECTED_LOCATION = "sig.unexpected_location"
    TOO_MANY = "sig.too_many_signatures"
    WRONG_NAMESPACE = "sig.wrong_namespace"
    MALFORMED = "sig.malformed"
    # SignedInfo pre-check (step 3)
    C14N_FORBIDDEN = "sig.c14n_forbidden"
    ALGORITHM_FORBIDDEN = "sig.algorithm_forbidden"
    SHA1_FORBIDDEN = "sig.sha1_forbidden"
    HMAC_FORBIDDEN = "sig.hmac_forbidden"
    TRANSFORM_FORBIDDEN = "sig.transform_forbidden"
    TOO_MANY_TRANSFORMS = "sig.too_many_transforms"
    TOO_MANY_REFERENCES = "sig.too_many_references"
    REFERENCE_URI = "sig.reference_uri"
    REFERENCE_TARGET = "sig.reference_target"
    DUPLICATE_ID = "sig.duplicate_id"
    # ``cid:`` references to edXML attachments (signing.cid)
    CID_NO_ATTACHMENT = "sig.cid_no_attachment"
    CID_DUPLICATE = "sig.cid_duplicate"
    CID_UNREADABLE = "sig.cid_unreadable"
    COMMENT_IN_SIGNED_DATA = "sig.comment_in_signed_data"
    KEY_INFO = "sig.key_info"
    KEY_MISMATCH = "sig.key_mismatch"
    #: the signature method is for another kind of key than the signer certificate's (an RSA
    #: signature with an ECDSA certificate in KeyInfo: that certificate did not make it)
    ALGORITHM_KEY_MISMATCH = "sig.algorithm_key_mismatch"
    # certificate path (step 4), same strings as signing.certpath.PathResult.reason
    CERT_UNTRUSTED_ROOT = "cert.untrusted_root"
    CERT_EXPIRED = "cert.expired"
    CERT_NOT_YET_VALID = "cert.not_yet_valid"
    CERT_REVOKED = "cert.revoked"
    CERT_KEY_USAGE = "cert.key_usage"
    CERT_WEAK_KEY = "cert.weak_key"
    CERT_SHA1_CHAIN = "cert.sha1_chain"
    CERT_REVOCATION_UNAVAILABLE = "cert.revocation_unavailable"
    #: hard-fail, and the only revocation data is a CRL past its nextUpdate
    CERT_REVOCATION_UNKNOWN = "cert.revocation_unknown"
    CERT_CA_AS_SIGNER = "cert.ca_as_signer"
    CERT_INVALID = "cert.invalid"
    # cryptography (step 5)
    DIGEST_MISMATCH = "sig.digest_mismatch"
    SIGNATURE_INVALID = "sig.signature_invalid"
    # coverage and binding (step 6)
    COVERAGE_INCOMPLETE = "sig.coverage_incomplete"
    SIGNER_NOT_SENDER = "sig.signer_not_sender"
    SIGNER_UNBOUND = "sig.signer_unbound"
    SIGNER_AMBIGUOUS = "sig.signer_ambiguous"  # the subject names several agency codes
    # CLI / caller errors
    ERROR = "sig.error"

    @classmethod
    def from_path_reason(cls, reason: str | None) -> ReasonCode:
        """Map a ``PathResult.reason`` onto the enum (unknown strings -> ``cert.invalid``)."""
        try:
            return cls(reason) if reason else cls.CERT_INVALID
        except ValueError:
            return cls.CERT_INVALID


Status = Literal["valid", "invalid", "absent", "skipped"]
#: ``envelope-and-attachments``: the edXML envelope by ``#id`` plus a ``cid:`` reference for every
#: attachment (and every manifest entry), nothing else in the document: the whole package is
#: signed, but the ``Attachment`` wrappers' own metadata is not (the signed manifest carries it).
Coverage = Literal["whole-document", "envelope-and-attachments", "partial", "none"]


@dataclass(frozen=True, slots=True)
class SignatureDetail:
    """One signature: who signed, with what, over what, checked at which time, and the verdict."""

    location: str
    valid: bool
    reason: ReasonCode
    message: str
    signer_subject: str | None = None
    signer_serial: str | None = None
    # what binds the signer to a sender (signing.binding, axis.signers): the certificate's
    # SHA-256, issuer, issuer-and-serial key, implicit code and every code its subject names
    signer_sha256: str | None = None
    signer_issuer: str | None = None
    signer_issuer_serial: str | None = None
    signer_agency: str | None = None
    signer_codes: tuple[str, ...] = ()
    issuer_chain: tuple[str, ...] = ()
    signature_method: str | None = None
    digest_methods: tuple[str, ...] = ()
    c14n_method: str | None = None
    legacy_sha1: bool = False
    coverage: Coverage = "none"
    covered: tuple[str, ...] = ()
    claimed_signing_time: str | None = None
    validated_at: datetime | None = None
    time_source: str | None = None
    revocation_status: str | None = None
    revocation_source: str | None = None
    revocation_detail: str | None = None
    failed_reference: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (datetimes as ISO 8601)."""
        out: dict[str, Any] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value
        return out


@dataclass(frozen=True, slots=True)
class SignatureReport:
    """The verdict on one document under one policy.

    ``status`` is the verdict, one of:

    * ``valid`` -- every signature found is valid and the policy is met;
    * ``invalid`` -- a signature is present and refused (or the document cannot be read);
    * ``absent`` -- no signature, an empty ``DigitalSignature`` placeholder or a dummy value:
      nothing was verified, and nothing was forged either;
    * ``skipped`` -- the policy is ``off``: the signatures were not looked at.

    Two booleans, because they answer two different questions and a caller must not mix them up:
    :attr:`valid` -- *was a signature present and verified?* (``status == "valid"``), and
    ``accepted`` -- *may the document go on under this policy?* (valid, or absent/skipped when the
    policy does not require a signature). A gate (the intake) acts on ``accepted``; a display of
    who signed what acts on ``valid``.
    """

    status: Status
    accepted: bool
    reason: ReasonCode
    message: str
    location: str = "/"
    profile: str = "edxml"
    signatures: tuple[SignatureDetail, ...] = field(default_factory=tuple)
    validated_at: datetime | None = None

    @property
    def valid(self) -> bool:
        """Whether a signature was present and verified (an absent one is never ``valid``)."""
        return self.status == "valid"

    @property
    def signer(self) -> SignatureDetail | None:
        """The first signature's detail (the usual single-signer case)."""
        return self.signatures[0] if self.signatures else None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for ``axis verify --json`` and the HTTP API."""
        return {
            "status": self.status,
            "valid": self.valid,
            "accepted": self.accepted,
            "reason": str(self.reason),
            "message": self.message,
            "location": self.location,
            "profile": self.profile,
            "validated_at": self.validated_at.isoformat() if self.validated_at else None,
            "signatures": [detail.as_dict() for detail in self.signatures],
        }
