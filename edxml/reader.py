"""From a parsed tree to the model, tolerant of every real producer's shape (EDXML.md).

This is the entry: :func:`read_tree` checks the envelope's shape, notes the signature's presence
and hands each part to its reader (:mod:`edxml.header_reader` for edXMLHeader,
:mod:`edxml.attachment_reader` for the manifest and attachments), all sharing one
:class:`~edxml.value_reader.ValueReader` so every finding of one read lands in one list.

Matching is on local names only (prefixes and the one namespace are interchangeable in practice),
never on element order. Every value that cannot be read becomes a located :class:`Problem` instead
of an exception, so one pass over a broken package reports everything wrong with it; the caller
(:func:`edxml.parse` or :func:`edxml.validate`) decides whether the problems are fatal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lxml import etree

from edxml.attachment_reader import read_attachments, read_manifest, strip_cid
from edxml.elements import Children, Element, children, element_path, text_of
from edxml.errors import Mode, Problem
from edxml.header_reader import read_message_header, read_status, read_trace_header_list
from edxml.model import Document, Package, SignaturePresence
from edxml.names import local_name
from edxml.payload import Payload
from edxml.value_reader import ValueReader

# The tree helpers and strip_cid were first defined here; their importers may still look here.
__all__ = [
    "ReadResult",
    "children",
    "element_path",
    "read_tree",
    "strip_cid",
    "text_of",
]


@dataclass
class ReadResult:
    """What reading produced: the package (``None`` when the shape is unusable) and findings."""

    package: Package | None
    problems: list[Problem] = field(default_factory=list)
    container: str = "MessageHeader"


def _signature(header: Children) -> tuple[SignaturePresence, bytes | None]:
    """Whether edXMLHeader holds a signature, directly or in a DigitalSignature placeholder.

    An empty placeholder is told apart from no signature at all, so it is never taken for a forgery.
    """
    signature = header.get("Signature")
    if signature:
        return SignaturePresence.XMLDSIG, etree.tostring(signature[0], with_tail=False)
    placeholder = header.get("DigitalSignature")
    if placeholder:
        nested = children(placeholder[0]).get("Signature")
        if nested:
            return SignaturePresence.XMLDSIG, etree.tostring(nested[0], with_tail=False)
        return SignaturePresence.EMPTY, None
    return SignaturePresence.ABSENT, None


def read_tree(
    tree: etree._ElementTree,
    mode: Mode = Mode.TOLERANT,
    spooled: Mapping[Element, Payload] | None = None,
) -> ReadResult:
    """Read a parsed edXML tree into the model, collecting every problem on the way.

    ``spooled`` holds the attachment contents that :mod:`edxml.spool` decoded during parsing.
    """
    reader = ValueReader(mode, spooled or {})
    root = tree.getroot()
    if local_name(root.tag) != "edXML":
        reader.error(
            "edxml.not_edxml", f"the root element is {local_name(root.tag)!r}, not edXML", root
        )
        return ReadResult(None, reader.problems)
    top = children(root)
    for wrapper in ("Boundary", "ContentId", "ContentType"):
        if wrapper in top:
            reader.lenient(
                "edxml.dotnet_wrapper",
                f"{wrapper} directly under edXML is a .NET SDK addition, not QCVN 102",
                top[wrapper][0],
            )
    envelope = reader.first(top, "edXMLEnvelope")
    if envelope is None:
        reader.error("edxml.no_envelope", "edXML has no edXMLEnvelope", root)
        return ReadResult(None, reader.problems)
    inside = children(envelope)
    if "edXMLAttachments" in inside:
        reader.error(
            "edxml.attachments_inside_envelope",
            "attachments sit in edXMLAttachments inside the envelope (a gateway's own shape); "
            "QCVN 102 puts AttachmentEncoded beside edXMLEnvelope, listed by edXMLManifest",
            inside["edXMLAttachments"][0],
        )
        return ReadResult(None, reader.problems)
    header = reader.first(inside, "edXMLHeader")
    if header is None:
        reader.error("edxml.no_header", "edXMLEnvelope has no edXMLHeader", envelope)
        return ReadResult(None, reader.problems)
    header_index = children(header)
    container = reader.first(header_index, "MessageHeader", "Status")
    if container is None:
        reader.error("edxml.no_message_header", "edXMLHeader has no MessageHeader", header)
        return ReadResult(None, reader.problems)
    container_name = local_name(container.tag)
    container_index = children(container)
    if container_name == "Status" or "StatusCode" in container_index:
        return ReadResult(
            read_status(reader, container, container_index), reader.problems, container_name
        )
    presence, signature_xml = _signature(header_index)
    trace_element = reader.first(header_index, "TraceHeaderList")
    document = Document(
        read_message_header(reader, container, container_index),
        (
            read_trace_header_list(reader, trace_element, children(trace_element))
            if trace_element is not None
            else None
        ),
        read_manifest(reader, reader.first(inside, "edXMLBody")),
        read_attachments(reader, reader.first(top, "AttachmentEncoded")),
        presence,
        signature_xml,
    )
    return ReadResult(document, reader.problems, container_name)
