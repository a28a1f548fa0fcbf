"""Reading what a document package carries: the manifest in edXMLBody and the attachments.

QCVN 102 lists each attachment in edXMLManifest and puts its content in AttachmentEncoded beside
edXMLEnvelope; the two are matched by content id, which producers write with or without ``cid:``,
so both sides are read through :func:`strip_cid`.
"""

from __future__ import annotations

from edxml.elements import Element, children, first_text, first_texts
from edxml.model import Attachment, ManifestReference
from edxml.names import XLINK_NS
from edxml.payload import Payload
from edxml.value_reader import ValueReader

_XLINK_HREF = f"{{{XLINK_NS}}}href"
# Text fields of a manifest Reference after ContentId, in the order of the model's fields.
_REFERENCE_TEXTS = ("ContentType", "Description", "AttachmentName")


def strip_cid(content_id: str) -> str:
    """``cid:abc`` -> ``abc``: Java writes the prefix, .NET does not."""
    stripped = content_id.strip()
    return stripped[4:] if stripped[:4].lower() == "cid:" else stripped


def read_manifest(reader: ValueReader, body: Element | None) -> tuple[ManifestReference, ...]:
    """The references of edXMLBody's manifest; a Reference may name its content by xlink:href."""
    if body is None:
        return ()
    manifest = reader.first(children(body), "edXMLManifest")
    if manifest is None:
        return ()
    references = []
    for reference in children(manifest).get("Reference", ()):
        index = children(reference)
        content_id = first_text(index, "ContentId") or reference.get(_XLINK_HREF)
        if content_id is None:
            reader.error("manifest.content_id_missing", "Reference has no ContentId", reference)
        references.append(
            ManifestReference(strip_cid(content_id or ""), *first_texts(index, _REFERENCE_TEXTS))
        )
    return tuple(references)


def read_attachments(reader: ValueReader, holder: Element | None) -> tuple[Attachment, ...]:
    """The attachments of AttachmentEncoded, their contents taken from the spool when decoded
    there."""
    if holder is None:
        return ()
    result = []
    spooled = reader.spooled
    for attachment in children(holder).get("Attachment", ()):
        index = children(attachment)
        content_id = first_text(index, "ContentId")
        if content_id is None:
            reader.error("attachment.content_id_missing", "Attachment has no ContentId", attachment)
        encoded = index.get("ContentTransferEncoded")
        # An empty ContentTransferEncoded is an empty file; a missing one is no content.
        payload = None
        if encoded:
            payload = (spooled.get(encoded[0]) if spooled else None) or (
                Payload.from_element_text(encoded[0])
            )
        result.append(
            Attachment(
                strip_cid(content_id or ""),
                first_text(index, "AttachmentName"),
                first_text(index, "ContentType"),
                first_text(index, "Description"),
                payload,
            )
        )
    return tuple(result)
