"""From a parsed tree to the model, tolerant of every real producer's shape (EDXML.md).

Matching is on local names only (prefixes and the one namespace are interchangeable in practice),
never on element order. Every value that cannot be read becomes a located :class:`Problem` instead of
an exception, so one pass over a broken package reports everything wrong with it; the caller
(:func:`edxml.parse` or :func:`edxml.validate`) decides whether the problems are fatal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from lxml import etree

from edxml.dates import parse_date, parse_timestamp
from edxml.errors import Mode, Problem, Severity
from edxml.model import (
    Attachment,
    Business,
    BusinessDocType,
    BusinessDocumentInfo,
    Code,
    Document,
    DocumentType,
    ManifestReference,
    MessageHeader,
    Organization,
    OtherInfo,
    Package,
    Priority,
    PromulgationInfo,
    Receiver,
    ReplacementInfo,
    ResponseFor,
    SignaturePresence,
    SignerInfo,
    StaffInfo,
    Status,
    StatusCode,
    TraceHeader,
    TraceHeaderList,
)
from edxml.names import XLINK_NS, local_name
from edxml.payload import Payload

T = TypeVar("T")
Element = etree._Element
Children = dict[str, list[Element]]

_XLINK_HREF = f"{{{XLINK_NS}}}href"
# The .NET sample's "agree to revoke/update" writer emits 14 where the spec says 15 (EDXML.md 2.2).
_STATUS_ALIASES = {"14": StatusCode.CHANGE_ACCEPTED}


def element_path(element: Element) -> str:
    """``/edXML/edXMLEnvelope/.../To[2]/OrganId``: local names, 1-based index among namesakes."""
    parts: list[str] = []
    node: Element | None = element
    while node is not None:
        name = local_name(node.tag)
        parent = node.getparent()
        if parent is not None:
            same = [c for c in parent if local_name(c.tag) == name]
            if len(same) > 1:
                name = f"{name}[{same.index(node) + 1}]"
        parts.append(name)
        node = parent
    return "/" + "/".join(reversed(parts))


def children(element: Element) -> Children:
    """Child elements by local name, in document order (comments and PIs skipped)."""
    index: Children = {}
    for child in element:
        tag = child.tag
        if isinstance(tag, str):
            index.setdefault(tag[tag.rfind("}") + 1 :], []).append(child)
    return index


def text_of(element: Element) -> str | None:
    """The element's own text, stripped; ``None`` when empty (comments inside are skipped)."""
    if len(element):
        raw = (element.text or "") + "".join(child.tail or "" for child in element)
    else:
        raw = element.text or ""
    stripped = raw.strip()
    return stripped or None


@dataclass
class ReadResult:
    """What reading produced: the package (``None`` when the shape is unusable) and findings."""

    package: Package | None
    problems: list[Problem] = field(default_factory=list)
    container: str = "MessageHeader"


class _Reader:
    """One read of one tree; collects problems as it goes."""

    def __init__(self, mode: Mode, spooled: Mapping[Element, Payload]) -> None:
        self.mode = mode
        self.spooled = spooled
        self.problems: list[Problem] = []

    # -- findings ---------------------------------------------------------------------------
    def error(self, code: str, message: str, element: Element) -> None:
        self.problems.append(Problem(code, message, element_path(element)))

    def lenient(self, code: str, message: str, element: Element) -> None:
        """A deviation real producers make: a warning when tolerant, an error when strict."""
        severity = Severity.ERROR if self.mode is Mode.STRICT else Severity.WARNING
        self.problems.append(Problem(code, message, element_path(element), severity))

    # -- leaf values ------------------------------------------------------------------------
    def first(self, index: Children, name: str, *aliases: str) -> Element | None:
        for key in (name, *aliases):
            found = index.get(key)
            if found:
                return found[0]
        return None

    def first_or(self, fallback: Element, index: Children, *names: str) -> Element:
        """The first child of one of ``names``, else ``fallback`` (for locating a finding)."""
        found = self.first(index, *names)
        return fallback if found is None else found

    def text(self, index: Children, name: str) -> str | None:
        found = index.get(name)
        return text_of(found[0]) if found else None

    def texts(self, index: Children, name: str) -> tuple[str, ...]:
        return tuple(t for t in (text_of(e) for e in index.get(name, ())) if t is not None)

    def typed(
        self, index: Children, name: str, convert: Callable[[str], T | None], what: str
    ) -> T | None:
        found = index.get(name)
        if not found:
            return None
        raw = text_of(found[0])
        if raw is None:
            return None
        value = convert(raw)
        if value is None:
            self.error(f"value.bad_{what}", f"{name} {raw!r} is not a valid {what}", found[0])
        return value

    def integer(self, index: Children, name: str) -> int | None:
        return self.typed(index, name, _to_int, "integer")

    def date(self, index: Children, name: str) -> dt.date | None:
        found = index.get(name)
        value = self.typed(index, name, parse_date, "date")
        if value is not None and found and "-" in (found[0].text or ""):
            self.lenient(
                "value.date_dashes", f"{name} uses yyyy-MM-dd; QCVN 102 writes yyyy/MM/dd", found[0]
            )
        return value

    def timestamp(self, index: Children, name: str) -> dt.datetime | None:
        return self.typed(index, name, parse_timestamp, "timestamp")

    def group(
        self, index: Children, name: str, build: Callable[[Element, Children], T]
    ) -> T | None:
        found = index.get(name)
        return build(found[0], children(found[0])) if found else None

    # -- structures ---------------------------------------------------------------------------
    def organization(self, element: Element, index: Children) -> Organization:
        organ_id = self.text(index, "OrganId")
        if organ_id is None:
            self.error("header.organ_id_missing", "OrganId is missing or empty", element)
        return Organization(
            organ_id=organ_id or "",
            organization_in_charge=self.text(index, "OrganizationInCharge"),
            organ_name=self.text(index, "OrganName"),
            organ_add=self.text(index, "OrganAdd"),
            email=self.text(index, "Email"),
            telephone=self.text(index, "Telephone"),
            fax=self.text(index, "Fax"),
            website=self.text(index, "Website"),
        )

    def response_for(self, element: Element, index: Children) -> ResponseFor:
        return ResponseFor(
            organ_id=self.text(index, "OrganId"),
            code=self.text(index, "Code"),
            promulgation_date=self.date(index, "PromulgationDate"),
            document_id=self.text(index, "DocumentId"),
        )

    def staff_info(self, element: Element, index: Children) -> StaffInfo:
        return StaffInfo(
            department=self.text(index, "Department"),
            department_id=self.text(index, "DepartmentId"),
            staff=self.text(index, "Staff"),
            staff_id=self.text(index, "StaffId"),
            email=self.text(index, "Email"),
            mobile=self.text(index, "Mobile"),
        )

    def other_info(self, element: Element, index: Children) -> OtherInfo:
        priority_value = self.integer(index, "Priority")
        priority: Priority | None = None
        if priority_value is not None:
            if priority_value in Priority._value2member_map_:
                priority = Priority(priority_value)
            else:
                self.error(
                    "value.bad_priority",
                    f"Priority {priority_value} is not one of 0..4",
                    self.first_or(element, index, "Priority"),
                )
        appendixes: tuple[str, ...] = ()
        holder = self.first(index, "Appendixes")
        if holder is not None:
            appendixes = self.texts(children(holder), "Appendix")
        direction_text = self.text(index, "Direction")
        direction: bool | None = None
        if direction_text is not None:
            lowered = direction_text.lower()
            if lowered in {"true", "1", "false", "0"}:
                direction = lowered in {"true", "1"}
            else:
                self.error(
                    "value.bad_boolean",
                    f"Direction {direction_text!r} is not true/false",
                    self.first_or(element, index, "Direction"),
                )
        return OtherInfo(
            priority=priority,
            sphere_of_promulgation=self.text(index, "SphereOfPromulgation"),
            typer_notation=self.text(index, "TyperNotation"),
            promulgation_amount=self.integer(index, "PromulgationAmount"),
            page_amount=self.integer(index, "PageAmount"),
            direction=direction,
            appendixes=appendixes,
        )

    def message_header(self, element: Element, index: Children) -> MessageHeader:
        from_ = self.group(index, "From", self.organization)
        if from_ is None:
            self.error("header.from_missing", "MessageHeader has no From", element)
            from_ = Organization(organ_id="")
        task_holder = self.first(index, "ResponseForTask")
        return MessageHeader(
            from_=from_,
            to=tuple(self.organization(e, children(e)) for e in index.get("To", ())),
            document_id=self.text(index, "DocumentId"),
            code=self.group(
                index,
                "Code",
                lambda e, i: Code(self.text(i, "CodeNumber"), self.text(i, "CodeNotation")),
            ),
            promulgation_info=self.group(
                index,
                "PromulgationInfo",
                lambda e, i: PromulgationInfo(
                    self.text(i, "Place"), self.date(i, "PromulgationDate")
                ),
            ),
            document_type=self.group(
                index,
                "DocumentType",
                lambda e, i: DocumentType(
                    self.integer(i, "Type"), self.integer(i, "TypeDetail"), self.text(i, "TypeName")
                ),
            ),
            subject=self.text(index, "Subject"),
            content=self.text(index, "Content"),
            signer_info=self.group(
                index,
                "SignerInfo",
                lambda e, i: SignerInfo(
                    self.text(i, "Competence"), self.text(i, "Position"), self.text(i, "FullName")
                ),
            ),
            due_date=self.date(index, "DueDate"),
            to_places=self.group(index, "ToPlaces", lambda e, i: self.texts(i, "Place")) or (),
            other_info=self.group(index, "OtherInfo", self.other_info),
            response_for=tuple(
                self.response_for(e, children(e)) for e in index.get("ResponseFor", ())
            ),
            steering_type=self.integer(index, "SteeringType"),
            response_for_task=(
                self.texts(children(task_holder), "TaskCode") if task_holder is not None else ()
            ),
            application_type=self.text(index, "ApplicationType"),
        )

    def business(self, element: Element, index: Children) -> Business:
        if local_name(element.tag) == "Business":
            self.lenient(
                "trace.business_spelling",
                "the block is spelled Business; VNPT and QCVN 102 write Bussiness",
                element,
            )
        doc_type_value = (
            self.integer(index, "BussinessDocType")
            if "BussinessDocType" in index
            else (self.integer(index, "BusinessDocType"))
        )
        doc_type = BusinessDocType.NEW
        if doc_type_value is not None:
            if doc_type_value in BusinessDocType._value2member_map_:
                doc_type = BusinessDocType(doc_type_value)
            else:
                self.error(
                    "value.bad_business_doc_type",
                    f"BussinessDocType {doc_type_value} is not one of 0 new, 1 revoke, 2 update, "
                    "3 replace",
                    self.first_or(element, index, "BussinessDocType", "BusinessDocType"),
                )
        info_element = self.first(index, "BussinessDocumentInfo", "BusinessDocumentInfo")
        document_info = None
        if info_element is not None:
            info = children(info_element)
            receivers: tuple[Receiver, ...] = ()
            holder = self.first(info, "ReceiverList")
            if holder is not None:
                receivers = tuple(
                    Receiver(self.text(ri, "OrganId") or "", self.integer(ri, "ReceiverType"))
                    for ri in (children(r) for r in children(holder).get("Receiver", ()))
                )
            document_info = BusinessDocumentInfo(
                self.text(info, "DocumentInfo"), self.text(info, "DocumentReceiver"), receivers
            )
        replacements: tuple[ReplacementInfo, ...] = ()
        replacement_list = self.first(index, "ReplacementInfoList")
        if replacement_list is not None:
            replacements = tuple(
                self.replacement(children(r))
                for r in children(replacement_list).get("ReplacementInfo", ())
            )
        reason_name = "BussinessDocReason" if "BussinessDocReason" in index else "BusinessDocReason"
        return Business(
            doc_type=doc_type,
            reason=self.text(index, reason_name),
            document_id=self.text(index, "DocumentId"),
            paper=self.integer(index, "Paper"),
            document_info=document_info,
            replacements=replacements,
            staff_info=self.group(index, "StaffInfo", self.staff_info),
        )

    def replacement(self, index: Children) -> ReplacementInfo:
        holder = self.first(index, "OrganIdList")
        organ_ids = self.texts(children(holder), "OrganId") if holder is not None else ()
        return ReplacementInfo(self.text(index, "DocumentId"), organ_ids)

    def trace_header_list(self, element: Element, index: Children) -> TraceHeaderList:
        traces = []
        for trace in index.get("TraceHeader", ()):
            trace_index = children(trace)
            organ_id = self.text(trace_index, "OrganId")
            if organ_id == "null":
                # VNPT's builder writes Java's null as text (edxml-samples README).
                self.lenient("trace.null_organ_id", "TraceHeader OrganId is the text 'null'", trace)
                organ_id = None
            traces.append(TraceHeader(organ_id, self.timestamp(trace_index, "Timestamp")))
        business_element = self.first(index, "Bussiness", "Business")
        business = (
            self.business(business_element, children(business_element))
            if business_element is not None
            else None
        )
        return TraceHeaderList(tuple(traces), business)

    def manifest(self, body: Element | None) -> tuple[ManifestReference, ...]:
        if body is None:
            return ()
        manifest = self.first(children(body), "edXMLManifest")
        if manifest is None:
            return ()
        references = []
        for reference in children(manifest).get("Reference", ()):
            index = children(reference)
            content_id = self.text(index, "ContentId") or reference.get(_XLINK_HREF)
            if content_id is None:
                self.error("manifest.content_id_missing", "Reference has no ContentId", reference)
            references.append(
                ManifestReference(
                    content_id=strip_cid(content_id or ""),
                    content_type=self.text(index, "ContentType"),
                    description=self.text(index, "Description"),
                    attachment_name=self.text(index, "AttachmentName"),
                )
            )
        return tuple(references)

    def attachments(self, holder: Element | None) -> tuple[Attachment, ...]:
        if holder is None:
            return ()
        result = []
        for attachment in children(holder).get("Attachment", ()):
            index = children(attachment)
            content_id = self.text(index, "ContentId")
            if content_id is None:
                self.error(
                    "attachment.content_id_missing", "Attachment has no ContentId", attachment
                )
            encoded = index.get("ContentTransferEncoded")
            # An empty ContentTransferEncoded is an empty file; a missing one is no content.
            payload = None
            if encoded:
                payload = self.spooled.get(encoded[0]) or Payload.from_element_text(encoded[0])
            result.append(
                Attachment(
                    content_id=strip_cid(content_id or ""),
                    name=self.text(index, "AttachmentName"),
                    content_type=self.text(index, "ContentType"),
                    description=self.text(index, "Description"),
                    payload=payload,
                )
            )
        return tuple(result)

    def status(self, element: Element, index: Children) -> Status | None:
        from_ = self.group(index, "From", self.organization)
        if from_ is None:
            self.error("status.from_missing", "the status package has no From", element)
        responses = index.get("ResponseFor", [])
        if len(responses) != 1:
            self.error(
                "status.response_for_count",
                f"a status package answers exactly one document; found {len(responses)} ResponseFor",
                element,
            )
        code_element = self.first(index, "StatusCode")
        raw_code = text_of(code_element) if code_element is not None else None
        status_code: StatusCode | None = None
        if raw_code is None or code_element is None:
            self.error("status.code_missing", "StatusCode is missing or empty", element)
        elif raw_code in StatusCode._value2member_map_:
            status_code = StatusCode(raw_code)
        elif raw_code in _STATUS_ALIASES:
            status_code = _STATUS_ALIASES[raw_code]
            self.lenient(
                "status.code_alias",
                f"StatusCode {raw_code} is a known producer bug for {status_code.value}",
                code_element,
            )
        else:
            self.error(
                "status.bad_code",
                f"StatusCode {raw_code!r} is not one of {', '.join(c.value for c in StatusCode)}",
                code_element,
            )
        if from_ is None or not responses or status_code is None:
            return None
        return Status(
            from_=from_,
            response_for=self.response_for(responses[0], children(responses[0])),
            status_code=status_code,
            staff_info=self.group(index, "StaffInfo", self.staff_info),
            description=self.text(index, "Description"),
            timestamp=self.timestamp(index, "Timestamp"),
        )


def strip_cid(content_id: str) -> str:
    """``cid:abc`` -> ``abc``: Java writes the prefix, .NET does not."""
    stripped = content_id.strip()
    return stripped[4:] if stripped[:4].lower() == "cid:" else stripped


def _to_int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _signature(header: Children) -> tuple[SignaturePresence, bytes | None]:
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
    reader = _Reader(mode, spooled or {})
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
            reader.status(container, container_index), reader.problems, container_name
        )
    presence, signature_xml = _signature(header_index)
    trace_element = reader.first(header_index, "TraceHeaderList")
    document = Document(
        header=reader.message_header(container, container_index),
        trace=(
            reader.trace_header_list(trace_element, children(trace_element))
            if trace_element is not None
            else None
        ),
        manifest=reader.manifest(reader.first(inside, "edXMLBody")),
        attachments=reader.attachments(reader.first(top, "AttachmentEncoded")),
        signature=presence,
        signature_xml=signature_xml,
    )
    return ReadResult(document, reader.problems, container_name)
