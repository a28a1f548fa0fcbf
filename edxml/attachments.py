"""Attachments: VNPT's zip convention and checks that the bytes are what the label says.

The convention (EDXML.md 1.5): pdf, doc, docx, xls/xsl, xlsx/xslx and zip files travel as they are;
any other file is first wrapped in a one-entry ZIP (entry ``<uuid>.<ext>``) and labelled
``application/zip``. On receipt, an ``application/zip`` attachment whose name does not end in
``.zip`` is unwrapped to its first entry. Both directions live here so they cannot drift apart.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import PurePath

from edxml.errors import EdxmlError, Problem, Severity
from edxml.model import Attachment
from edxml.payload import Payload

# Extensions sent as they are, with the content type each gets.
DIRECT_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xsl": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xslx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "zip": "application/zip",
}
ZIP_TYPE = "application/zip"
_ZIP_MAGIC = b"PK\x03\x04"
_PDF_MAGIC = b"%PDF-"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"
_REPLACEMENT_CHAR = b"\xef\xbf\xbd"
_SNIFF_BYTES = 1024  # how much of the decoded content the label checks look at


def _extension(name: str | None) -> str:
    return PurePath(name or "").suffix.lower().lstrip(".")


def attachment_from_file(
    name: str, data: bytes, *, description: str | None = None, content_id: str | None = None
) -> Attachment:
    """An attachment for ``name`` with the zip convention applied (what a sender's library does)."""
    extension = _extension(name)
    content_id = content_id or str(uuid.uuid4())
    if extension in DIRECT_TYPES:
        return Attachment(
            content_id, name, DIRECT_TYPES[extension], description, Payload.from_bytes(data)
        )
    buffer = io.BytesIO()
    entry = f"{uuid.uuid4()}.{extension}" if extension else str(uuid.uuid4())
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(entry, data)
    return Attachment(
        content_id, name, ZIP_TYPE, description, Payload.from_bytes(buffer.getvalue())
    )


@dataclass(frozen=True, slots=True)
class UnwrappedFile:
    """A received attachment as the recipient's user should see it."""

    name: str
    data: bytes
    was_zipped: bool


def unwrap(attachment: Attachment, *, location: str = "/") -> UnwrappedFile:
    """Undo the zip convention; raises ``attachment.bad_zip`` / ``attachment.no_content``."""
    if attachment.payload is None:
        raise EdxmlError("attachment.no_content", "the attachment carries no content", location)
    data = attachment.payload.read()
    name = attachment.name or attachment.content_id
    wrapped = (attachment.content_type or "").lower() == ZIP_TYPE and _extension(name) != "zip"
    if not wrapped:
        return UnwrappedFile(name, data, was_zipped=False)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if not entries:
                raise EdxmlError("attachment.bad_zip", "the ZIP holds no entry", location)
            return UnwrappedFile(name, archive.read(entries[0]), was_zipped=True)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise EdxmlError(
            "attachment.bad_zip", f"the ZIP of {name!r} cannot be opened: {exc}", location
        ) from None


def _sniff(head: bytes) -> str | None:
    if head.startswith(_PDF_MAGIC):
        return "pdf"
    if head.startswith(_ZIP_MAGIC):
        return "zip"
    if head.startswith(_OLE_MAGIC):
        return "ole"
    return None


def check_content(attachment: Attachment, location: str) -> list[Problem]:
    """Check that the payload decodes and that its first bytes agree with the label.

    :meth:`Payload.check` finds out whether the content decodes (with the same verdict and message
    as a full decode) while decoding only the head that the label checks read.

    Finds: undecodable base64, a ZIP labelled as something else (and vice versa), a PDF mangled by
    a text decoding (U+FFFD replacement characters where binary bytes were), a ZIP that does not open.
    """
    payload = attachment.payload
    if payload is None:
        return [
            Problem(
                "attachment.no_content",
                "the attachment has no ContentTransferEncoded content",
                location,
                Severity.WARNING,
            )
        ]
    try:
        size, head = payload.check(_SNIFF_BYTES, location=location)
    except EdxmlError as exc:
        return [exc.as_problem()]
    problems: list[Problem] = []
    kind = _sniff(head)
    label = (attachment.content_type or "").lower()
    if (
        kind == "zip"
        and label not in {ZIP_TYPE, "application/x-zip-compressed"}
        and not (label.startswith("application/vnd.openxmlformats"))
    ):
        problems.append(
            Problem(
                "attachment.type_mismatch",
                f"the content is a ZIP archive but is labelled {label or 'nothing'}",
                location,
                Severity.WARNING,
            )
        )
    if label == "application/pdf" and kind != "pdf":
        problems.append(
            Problem(
                "attachment.type_mismatch",
                "labelled application/pdf but the content does not start with %PDF-",
                location,
                Severity.WARNING,
            )
        )
    if kind == "pdf" and _REPLACEMENT_CHAR in head:
        problems.append(
            Problem(
                "attachment.text_decoded",
                "the PDF holds U+FFFD replacement characters in its binary header: it was "
                "decoded as text somewhere and its bytes are corrupt",
                location,
            )
        )
    if kind == "zip" and label == ZIP_TYPE and size:
        try:
            unwrap(attachment, location=location)
        except EdxmlError as exc:
            problems.append(exc.as_problem())
    return problems
