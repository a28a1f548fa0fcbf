"""From the model to bytes, in the shape of VNPT's own library (what every receiver already reads).

The shape: root ``edXML`` with the QCVN namespace as default, ``edXML:``-prefixed elements from the
envelope down, ``Bussiness`` spelling, status inside ``MessageHeader``, ``cid:`` content ids, and
``AttachmentEncoded`` beside the envelope with ``edXML:ContentTransferEncoded`` re-declaring the
namespace (EDXML.md 1.1-1.5).

Written by hand rather than through lxml for two reasons: lxml cannot be told which of two prefixes
bound to the same namespace to use, and attachments must stream into the output in chunks instead
of being materialised as one giant text node.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from typing import BinaryIO

from edxml.dates import format_date, format_timestamp
from edxml.model import (
    Attachment,
    Business,
    Document,
    ManifestReference,
    MessageHeader,
    Organization,
    OtherInfo,
    Package,
    ResponseFor,
    SignaturePresence,
    StaffInfo,
    Status,
    TraceHeaderList,
)
from edxml.names import EDXML_NS

_INVALID_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def _escape(value: str) -> str:
    if _INVALID_XML_CHARS.search(value):
        raise ValueError(f"text {value[:40]!r} holds a character XML 1.0 cannot carry")
    return value.translate(_ESCAPES)


class _Out:
    """An indented element writer over a list of string parts."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.depth = 0

    def open(self, name: str, attributes: str = "") -> None:
        self.parts.append(f"{'  ' * self.depth}<edXML:{name}{attributes}>\n")
        self.depth += 1

    def close(self, name: str) -> None:
        self.depth -= 1
        self.parts.append(f"{'  ' * self.depth}</edXML:{name}>\n")

    def leaf(self, name: str, value: object, *, prefix: str = "edXML:") -> None:
        if value is None:
            return
        text = _escape(_format(value))
        self.parts.append(f"{'  ' * self.depth}<{prefix}{name}>{text}</{prefix}{name}>\n")

    def raw(self, text: str) -> None:
        self.parts.append(text)


def _format(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return format_timestamp(value)
    if isinstance(value, dt.date):
        return format_date(value)
    if isinstance(value, int):
        return str(int(value))
    return str(value)


def _organization(out: _Out, name: str, org: Organization) -> None:
    out.open(name)
    out.leaf("OrganId", org.organ_id)
    out.leaf("OrganizationInCharge", org.organization_in_charge)
    out.leaf("OrganName", org.organ_name)
    out.leaf("OrganAdd", org.organ_add)
    out.leaf("Email", org.email)
    out.leaf("Telephone", org.telephone)
    out.leaf("Fax", org.fax)
    out.leaf("Website", org.website)
    out.close(name)


def _response_for(out: _Out, response: ResponseFor) -> None:
    out.open("ResponseFor")
    out.leaf("OrganId", response.organ_id)
    out.leaf("Code", response.code)
    out.leaf("PromulgationDate", response.promulgation_date)
    out.leaf("DocumentId", response.document_id)
    out.close("ResponseFor")


def _staff_info(out: _Out, staff: StaffInfo) -> None:
    out.open("StaffInfo")
    out.leaf("Department", staff.department)
    out.leaf("DepartmentId", staff.department_id)
    out.leaf("Staff", staff.staff)
    out.leaf("StaffId", staff.staff_id)
    out.leaf("Email", staff.email)
    out.leaf("Mobile", staff.mobile)
    out.close("StaffInfo")


def _other_info(out: _Out, other: OtherInfo) -> None:
    out.open("OtherInfo")
    out.leaf("Priority", other.priority)
    out.leaf("SphereOfPromulgation", other.sphere_of_promulgation)
    out.leaf("TyperNotation", other.typer_notation)
    out.leaf("PromulgationAmount", other.promulgation_amount)
    out.leaf("PageAmount", other.page_amount)
    out.leaf("Direction", other.direction)
    if other.appendixes:
        out.open("Appendixes")
        for appendix in other.appendixes:
            out.leaf("Appendix", appendix)
        out.close("Appendixes")
    out.close("OtherInfo")


def _message_header(out: _Out, header: MessageHeader) -> None:
    out.open("MessageHeader")
    _organization(out, "From", header.from_)
    for recipient in header.to:
        _organization(out, "To", recipient)
    out.leaf("DocumentId", header.document_id)
    if header.code is not None:
        out.open("Code")
        out.leaf("CodeNumber", header.code.number)
        out.leaf("CodeNotation", header.code.notation)
        out.close("Code")
    if header.promulgation_info is not None:
        out.open("PromulgationInfo")
        out.leaf("Place", header.promulgation_info.place)
        out.leaf("PromulgationDate", header.promulgation_info.date)
        out.close("PromulgationInfo")
    if header.document_type is not None:
        out.open("DocumentType")
        out.leaf("Type", header.document_type.type)
        out.leaf("TypeDetail", header.document_type.type_detail)
        out.leaf("TypeName", header.document_type.type_name)
        out.close("DocumentType")
    out.leaf("Subject", header.subject)
    out.leaf("Content", header.content)
    if header.signer_info is not None:
        out.open("SignerInfo")
        out.leaf("Competence", header.signer_info.competence)
        out.leaf("Position", header.signer_info.position)
        out.leaf("FullName", header.signer_info.full_name)
        out.close("SignerInfo")
    out.leaf("DueDate", header.due_date)
    if header.other_info is not None:
        _other_info(out, header.other_info)
    for response in header.response_for:
        _response_for(out, response)
    out.leaf("SteeringType", header.steering_type)
    if header.response_for_task:
        out.open("ResponseForTask")
        for task in header.response_for_task:
            out.leaf("TaskCode", task)
        out.close("ResponseForTask")
    out.leaf("ApplicationType", header.application_type)
    if header.to_places:
        out.open("ToPlaces")
        for place in header.to_places:
            out.leaf("Place", place)
        out.close("ToPlaces")
    out.close("MessageHeader")


def _business(out: _Out, business: Business) -> None:
    out.open("Bussiness")
    out.leaf("DocumentId", business.document_id)
    out.leaf("BussinessDocType", business.doc_type)
    out.leaf("BussinessDocReason", business.reason)
    out.leaf("Paper", business.paper)
    info = business.document_info
    if info is not None:
        out.open("BussinessDocumentInfo")
        out.leaf("DocumentInfo", info.document_info)
        out.leaf("DocumentReceiver", info.document_receiver)
        if info.receivers:
            out.open("ReceiverList")
            for receiver in info.receivers:
                out.open("Receiver")
                out.leaf("OrganId", receiver.organ_id)
                out.leaf("ReceiverType", receiver.receiver_type)
                out.close("Receiver")
            out.close("ReceiverList")
        out.close("BussinessDocumentInfo")
    if business.replacements:
        out.open("ReplacementInfoList")
        for replacement in business.replacements:
            out.open("ReplacementInfo")
            out.leaf("DocumentId", replacement.document_id)
            out.open("OrganIdList")
            for organ_id in replacement.organ_ids:
                out.leaf("OrganId", organ_id)
            out.close("OrganIdList")
            out.close("ReplacementInfo")
        out.close("ReplacementInfoList")
    if business.staff_info is not None:
        _staff_info(out, business.staff_info)
    out.close("Bussiness")


def _trace(out: _Out, trace: TraceHeaderList) -> None:
    out.open("TraceHeaderList")
    for hop in trace.traces:
        out.open("TraceHeader")
        out.leaf("OrganId", hop.organ_id)
        out.leaf("Timestamp", hop.timestamp)
        out.close("TraceHeader")
    if trace.business is not None:
        _business(out, trace.business)
    out.close("TraceHeaderList")


def _manifest(out: _Out, manifest: tuple[ManifestReference, ...]) -> None:
    out.open("edXMLBody")
    out.open("edXMLManifest", ' version="1.0"')
    for reference in manifest:
        out.open("Reference")
        out.leaf("ContentId", f"cid:{reference.content_id}")
        out.leaf("ContentType", reference.content_type)
        out.leaf("Description", reference.description)
        out.leaf("AttachmentName", reference.attachment_name)
        out.close("Reference")
    out.close("edXMLManifest")
    out.close("edXMLBody")


def _attachment_head(attachment: Attachment) -> str:
    out = _Out()
    out.depth = 3
    out.leaf("ContentId", f"cid:{attachment.content_id}", prefix="")
    out.leaf("AttachmentName", attachment.name, prefix="")
    out.leaf("Description", attachment.description, prefix="")
    out.leaf("ContentType", attachment.content_type, prefix="")
    return "".join(out.parts)


def _envelope_start(out: _Out) -> None:
    out.raw('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.raw(f'<edXML xmlns="{EDXML_NS}">\n')
    out.raw(f'  <edXML:edXMLEnvelope xmlns:edXML="{EDXML_NS}">\n')
    out.depth = 2
    out.open("edXMLHeader")


def _signature(out: _Out, document: Document) -> None:
    if document.signature is SignaturePresence.EMPTY:
        out.raw(f"{'  ' * out.depth}<edXML:DigitalSignature/>\n")
    elif document.signature is SignaturePresence.XMLDSIG and document.signature_xml:
        out.raw(f"{'  ' * out.depth}{document.signature_xml.decode('utf-8')}\n")


def iter_build(package: Package) -> Iterator[bytes]:
    """The package's bytes in pieces; attachments stream chunk by chunk."""
    out = _Out()
    _envelope_start(out)
    if isinstance(package, Status):
        out.open("MessageHeader")
        _organization(out, "From", package.from_)
        _response_for(out, package.response_for)
        if package.staff_info is not None:
            _staff_info(out, package.staff_info)
        out.leaf("StatusCode", package.status_code.value)
        out.leaf("Description", package.description)
        out.leaf("Timestamp", package.timestamp)
        out.close("MessageHeader")
        out.close("edXMLHeader")
        out.raw("  </edXML:edXMLEnvelope>\n</edXML>\n")
        yield "".join(out.parts).encode("utf-8")
        return
    _message_header(out, package.header)
    if package.trace is not None:
        _trace(out, package.trace)
    _signature(out, package)
    out.close("edXMLHeader")
    _manifest(out, package.manifest)
    out.raw("  </edXML:edXMLEnvelope>\n")
    if package.attachments:
        out.raw("  <AttachmentEncoded>\n")
        for attachment in package.attachments:
            out.raw("    <Attachment>\n")
            out.raw(_attachment_head(attachment))
            if attachment.payload is not None:
                out.raw(f'      <edXML:ContentTransferEncoded xmlns:edXML="{EDXML_NS}">')
                yield "".join(out.parts).encode("utf-8")
                out.parts.clear()
                for chunk in attachment.payload.encoded_chunks():
                    # Base64 is ASCII without markup characters; anything else (a producer's
                    # garbage kept for the record) is escaped so the output stays well-formed.
                    if chunk.isascii() and "<" not in chunk and "&" not in chunk:
                        yield chunk.encode("ascii")
                    else:
                        yield _escape(chunk).encode("utf-8")
                out.raw("</edXML:ContentTransferEncoded>\n")
            out.raw("    </Attachment>\n")
        out.raw("  </AttachmentEncoded>\n")
    out.raw("</edXML>\n")
    yield "".join(out.parts).encode("utf-8")


def build_to(package: Package, stream: BinaryIO) -> int:
    """Write the package to a binary stream; return the number of bytes written."""
    total = 0
    for piece in iter_build(package):
        stream.write(piece)
        total += len(piece)
    return total


def build(package: Package) -> bytes:
    """The package as edXML bytes in VNPT's shape."""
    buffer = io.BytesIO()
    build_to(package, buffer)
    return buffer.getvalue()
