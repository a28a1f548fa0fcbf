"""What the broker needs to know of a checked package, small enough to cross a process boundary.

The worker processes parse, validate and verify (the CPU work); they hand back
:class:`PackageFacts` (plain values, picklable) rather than the tree or the model, so the serving
process pays nothing to receive them and never touches XML.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import edxml
from axis.intake import recipients
from edxml import BusinessDocType, Document, Status


@dataclass(frozen=True, slots=True)
class PackageFacts:
    """A package's routing and business facts.

    ``document_id`` is the document's own DocumentId (edoc) or the answered one (status);
    ``refers_to`` the earlier DocumentId a revoke/update/replace names; ``recipients`` the codes
    as written (a status: the answered document's sender); ``written_at`` when they were written
    (the registry reads a re-used code with the meaning it had then).
    """

    kind: str  # "edoc" | "status"
    sender_code: str
    document_id: str
    business_type: int
    recipients: tuple[str, ...]
    written_at: dt.datetime | None
    subject: str | None = None
    refers_to: str | None = None
    status_code: str | None = None
    status_timestamp: str | None = None

    @property
    def revokes(self) -> bool:
        return self.kind == "edoc" and self.business_type == BusinessDocType.REVOKE

    def idempotency_key(self) -> str:
        """Same sender + DocumentId + business type (a status: + its code and time) = same
        message: a resend is answered with the first message's id."""
        if self.kind == "status":
            return "|".join(
                (
                    "status",
                    self.sender_code,
                    self.document_id,
                    self.status_code or "",
                    self.status_timestamp or "",
                )
            )
        return "|".join(("edoc", self.sender_code, self.document_id, str(self.business_type)))


def facts_of(package: edxml.Package, data: bytes) -> PackageFacts:
    """The facts of a package that passed the format stage."""
    codes, written = recipients(package)
    if isinstance(package, Status):
        answered = package.response_for
        return PackageFacts(
            kind="status",
            sender_code=package.from_.organ_id,
            document_id=answered.document_id or answered.code or _content_id(data),
            business_type=0,
            recipients=tuple(codes),
            written_at=written,
            subject=package.description,
            refers_to=answered.document_id,
            status_code=str(package.status_code),
            status_timestamp=None if package.timestamp is None else package.timestamp.isoformat(),
        )
    assert isinstance(package, Document)
    header = package.header
    business = package.trace.business if package.trace is not None else None
    business_type = int(business.doc_type) if business is not None else 0
    refers_to = None
    if business is not None and business_type != BusinessDocType.NEW:
        refers_to = business.document_id
        if refers_to is None and business.replacements:
            refers_to = business.replacements[0].document_id
    return PackageFacts(
        kind="edoc",
        sender_code=header.from_.organ_id,
        document_id=header.document_id or _content_id(data),
        business_type=business_type,
        recipients=tuple(codes),
        written_at=written,
        subject=header.subject,
        refers_to=refers_to,
    )


def _content_id(data: bytes) -> str:
    """A stand-in id for a package that names none (tolerant mode): its bytes' digest."""
    return "sha256:" + hashlib.sha256(data).hexdigest()
