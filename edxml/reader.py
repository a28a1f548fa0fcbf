"""From a parsed tree to the model, tolerant of every real producer's shape (EDXML.md).

Matching is on local names only (prefixes and the one namespace are interchangeable in practice),
never on element order. Every value that cannot be read becomes a located :class:`Problem` instead of
an exception, so one pass over a broken package reports everything wrong with it; the caller
(:func:`edxml.parse` or :func:`edxml.validate`) decides whether the problems are fatal.
"""

from __future__ import annotations

import datetime as dt
import sys
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
from edxml.names import EDXML_NS, XLINK_NS, XMLDSIG_NS, local_name
from edxml.payload import Payload

T = TypeVar("T")
Element = etree._Element
Children = dict[str, list[Element]]

_XLINK_HREF = f"{{{XLINK_NS}}}href"
# The .NET sample's "agree to revoke/update" writer emits 14 where the spec says 15 (EDXML.md 2.2).
_STATUS_ALIASES = {"14": StatusCode.CHANGE_ACCEPTED}
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
# Enum members by value: a dict lookup instead of an Enum call per value read.
_PRIORITIES = {member.value: member for member in Priority}
_BUSINESS_DOC_TYPES = {member.value: member for member in BusinessDocType}
_STATUS_CODES = {member.value: member for member in StatusCode}

# Text fields of a manifest Reference after ContentId, in the order of the model's fields.
_REFERENCE_TEXTS = ("ContentType", "Description", "AttachmentName")


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


# Full tag -> local name. lxml builds a new ``{ns}Local`` string on every ``.tag`` access; looking
# it up here instead of slicing it gives back the same (hash-cached) name object every time, which
# makes the index dicts below cheaper to build and to query. Bounded, so a hostile package with
# endless distinct or huge tags cannot grow it: past the bound names are sliced as before.
_LOCAL_NAMES: dict[str, str] = {}
_LOCAL_NAMES_MAX = 1024
_LOCAL_NAME_MAX_CHARS = 256


def _local(tag: str) -> str:
    name = tag[tag.rfind("}") + 1 :]
    if len(_LOCAL_NAMES) < _LOCAL_NAMES_MAX and len(tag) <= _LOCAL_NAME_MAX_CHARS:
        # Interned: the reader's literal names then match by identity in every index lookup.
        name = _LOCAL_NAMES[tag] = sys.intern(name)
    return name


# The edXML vocabulary (every element name of the XSD, and the gateway's edXMLAttachments), cached
# at import in both spellings real producers use (the edXML namespace, and none): checking a
# package then adds nothing lasting to the cache, so its memory belongs to the module, not to the
# first packages read. A name missing here is simply cached when first seen.
_VOCABULARY = (
    "Appendix",
    "Appendixes",
    "ApplicationType",
    "Attachment",
    "AttachmentEncoded",
    "AttachmentName",
    "Boundary",
    "Business",
    "BusinessDocReason",
    "BusinessDocType",
    "BusinessDocumentInfo",
    "Bussiness",
    "BussinessDocReason",
    "BussinessDocType",
    "BussinessDocumentInfo",
    "Code",
    "CodeNotation",
    "CodeNumber",
    "Competence",
    "Content",
    "ContentId",
    "ContentTransferEncoded",
    "ContentType",
    "Department",
    "DepartmentId",
    "Description",
    "DigitalSignature",
    "Direction",
    "DocumentId",
    "DocumentInfo",
    "DocumentReceiver",
    "DocumentType",
    "DueDate",
    "Email",
    "Fax",
    "From",
    "FullName",
    "MessageHeader",
    "Mobile",
    "OrganAdd",
    "OrganId",
    "OrganIdList",
    "OrganName",
    "OrganizationInCharge",
    "OtherInfo",
    "PageAmount",
    "Paper",
    "Place",
    "Position",
    "Priority",
    "PromulgationAmount",
    "PromulgationDate",
    "PromulgationInfo",
    "Receiver",
    "ReceiverList",
    "ReceiverType",
    "Reference",
    "ReferenceCodes",
    "ReplacementInfo",
    "ReplacementInfoList",
    "ReplyFors",
    "ResponseFor",
    "ResponseForTask",
    "Signature",
    "SignerInfo",
    "SphereOfPromulgation",
    "Staff",
    "StaffId",
    "StaffInfo",
    "Status",
    "StatusCode",
    "SteeringType",
    "Subject",
    "TaskCode",
    "Telephone",
    "Timestamp",
    "To",
    "ToPlaces",
    "TraceHeader",
    "TraceHeaderList",
    "Type",
    "TypeDetail",
    "TypeName",
    "TyperNotation",
    "Website",
    "edXML",
    "edXMLAttachments",
    "edXMLBody",
    "edXMLEnvelope",
    "edXMLHeader",
    "edXMLManifest",
)
for _name in _VOCABULARY:
    _local(f"{{{EDXML_NS}}}{_name}")
    _local(_name)
_local(f"{{{XMLDSIG_NS}}}Signature")


def children(element: Element) -> Children:
    """Child elements by local name, in document order (comments and PIs skipped)."""
    index: Children = {}
    names = _LOCAL_NAMES
    for child in element:
        try:
            name = names[child.tag]
        except KeyError:
            tag = child.tag
            if not isinstance(tag, str):
                continue  # a comment or processing instruction (their tag is a factory)
            name = _local(tag)
        if name in index:
            index[name].append(child)
        else:
            index[name] = [child]
    return index


def text_of(element: Element) -> str | None:
    """The element's own text, stripped; ``None`` when empty (comments inside are skipped)."""
    raw = element.text
    if len(element):
        raw = (raw or "") + "".join(child.tail or "" for child in element)
    elif raw is None:
        return None
    return raw.strip() or None


def _text(index: Children, name: str) -> str | None:
    """:func:`text_of` the first child called ``name`` (inlined: this runs for every field)."""
    found = index.get(name)
    if found is None:
        return None
    element = found[0]
    raw = element.text
    if len(element):
        raw = (raw or "") + "".join(child.tail or "" for child in element)
    elif raw is None:
        return None
    return raw.strip() or None


def _texts(index: Children, names: tuple[str, ...]) -> list[str | None]:
    """:func:`_text` of each of ``names``: one call per record instead of one per field."""
    values: list[str | None] = []
    for name in names:
        found = index.get(name)
        if found is None:
            values.append(None)
            continue
        element = found[0]
        raw = element.text
        if len(element):
            raw = (raw or "") + "".join(child.tail or "" for child in element)
        elif raw is None:
            values.append(None)
            continue
        values.append(raw.strip() or None)
    return values


# Text fields of the leaf-only records, in the order of the model's fields.
_ORGANIZATION_TEXTS = (
    "OrganizationInCharge",
    "OrganName",
    "OrganAdd",
    "Email",
    "Telephone",
    "Fax",
    "Website",
)
_STAFF_INFO_TEXTS = ("Department", "DepartmentId", "Staff", "StaffId", "Email", "Mobile")
_CODE_TEXTS = ("CodeNumber", "CodeNotation")
_SIGNER_INFO_TEXTS = ("Competence", "Position", "FullName")


@dataclass
class ReadResult:
    """What reading produced: the package (``None`` when the shape is unusable) and findings."""

    package: Package | None
    problems: list[Problem] = field(default_factory=list)
    container: str = "MessageHeader"


class _Reader:
    """One read of one tree; collects problems as it goes.

    The hot path (a clean package) reads about sixty fields, so the per-field helpers are plain
    functions over a children index (:func:`_text`, :func:`_texts`) and each record is filled from
    a table of its field names; the order in which fields are read, and so the order of findings,
    is the document model's order, as it always was.
    """

    __slots__ = ("mode", "problems", "spooled")

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
        found = index.get(name)
        if found:
            return found[0]
        for key in aliases:
            found = index.get(key)
            if found:
                return found[0]
        return None

    def first_or(self, fallback: Element, index: Children, *names: str) -> Element:
        """The first child of one of ``names``, else ``fallback`` (for locating a finding)."""
        found = self.first(index, *names)
        return fallback if found is None else found

    def texts(self, index: Children, name: str) -> tuple[str, ...]:
        found = index.get(name)
        if found is None:
            return ()
        return tuple([t for t in map(text_of, found) if t is not None])

    def typed(
        self, index: Children, name: str, convert: Callable[[str], T | None], what: str
    ) -> T | None:
        found = index.get(name)
        if found is None:
            return None
        raw = text_of(found[0])
        if raw is None:
            return None
        value = convert(raw)
        if value is None:
            self.error(f"value.bad_{what}", f"{name} {raw!r} is not a valid {what}", found[0])
        return value

    def integer(self, index: Children, name: str) -> int | None:
        found = index.get(name)
        if found is None:
            return None
        raw = text_of(found[0])
        if raw is None:
            return None
        try:
            return int(raw)
        except ValueError:
            self.error("value.bad_integer", f"{name} {raw!r} is not a valid integer", found[0])
            return None

    def date(self, index: Children, name: str) -> dt.date | None:
        found = index.get(name)
        if found is None:
            return None
        element = found[0]
        raw = text_of(element)
        if raw is None:
            return None
        value = parse_date(raw)
        if value is None:
            self.error("value.bad_date", f"{name} {raw!r} is not a valid date", element)
        elif "-" in (element.text or ""):
            self.lenient(
                "value.date_dashes", f"{name} uses yyyy-MM-dd; QCVN 102 writes yyyy/MM/dd", element
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
    def organization(self, element: Element) -> Organization:
        index = children(element)
        organ_id = _text(index, "OrganId")
        if organ_id is None:
            self.error("header.organ_id_missing", "OrganId is missing or empty", element)
        return Organization(organ_id or "", *_texts(index, _ORGANIZATION_TEXTS))

    def response_for(self, element: Element, index: Children) -> ResponseFor:
        return ResponseFor(
            _text(index, "OrganId"),
            _text(index, "Code"),
            self.date(index, "PromulgationDate"),
            _text(index, "DocumentId"),
        )

    def staff_info(self, index: Children) -> StaffInfo | None:
        found = index.get("StaffInfo")
        return StaffInfo(*_texts(children(found[0]), _STAFF_INFO_TEXTS)) if found else None

    def other_info(self, element: Element, index: Children) -> OtherInfo:
        priority_value = self.integer(index, "Priority")
        priority: Priority | None = None
        if priority_value is not None:
            priority = _PRIORITIES.get(priority_value)
            if priority is None:
                self.error(
                    "value.bad_priority",
                    f"Priority {priority_value} is not one of 0..4",
                    self.first_or(element, index, "Priority"),
                )
        appendixes: tuple[str, ...] = ()
        holder = self.first(index, "Appendixes")
        if holder is not None:
            appendixes = self.texts(children(holder), "Appendix")
        direction_text = _text(index, "Direction")
        direction: bool | None = None
        if direction_text is not None:
            lowered = direction_text.lower()
            if lowered in _BOOLEANS:
                direction = _BOOLEANS[lowered]
            else:
                self.error(
                    "value.bad_boolean",
                    f"Direction {direction_text!r} is not true/false",
                    self.first_or(element, index, "Direction"),
                )
        return OtherInfo(
            priority,
            _text(index, "SphereOfPromulgation"),
            _text(index, "TyperNotation"),
            self.integer(index, "PromulgationAmount"),
            self.integer(index, "PageAmount"),
            direction,
            appendixes,
        )

    def message_header(self, element: Element, index: Children) -> MessageHeader:
        found = index.get("From")
        if found is None:
            self.error("header.from_missing", "MessageHeader has no From", element)
            from_ = Organization(organ_id="")
        else:
            from_ = self.organization(found[0])
        task_holder = self.first(index, "ResponseForTask")
        to = tuple([self.organization(e) for e in index.get("To", ())])
        document_id = _text(index, "DocumentId")
        code = None
        found = index.get("Code")
        if found is not None:
            code = Code(*_texts(children(found[0]), _CODE_TEXTS))
        promulgation_info = None
        found = index.get("PromulgationInfo")
        if found is not None:
            info = children(found[0])
            promulgation_info = PromulgationInfo(
                _text(info, "Place"), self.date(info, "PromulgationDate")
            )
        document_type = None
        found = index.get("DocumentType")
        if found is not None:
            kind = children(found[0])
            document_type = DocumentType(
                self.integer(kind, "Type"),
                self.integer(kind, "TypeDetail"),
                _text(kind, "TypeName"),
            )
        subject = _text(index, "Subject")
        content = _text(index, "Content")
        signer_info = None
        found = index.get("SignerInfo")
        if found is not None:
            signer_info = SignerInfo(*_texts(children(found[0]), _SIGNER_INFO_TEXTS))
        due_date = self.date(index, "DueDate")
        to_places: tuple[str, ...] = ()
        found = index.get("ToPlaces")
        if found is not None:
            to_places = self.texts(children(found[0]), "Place")
        other_info = self.group(index, "OtherInfo", self.other_info)
        response_for = tuple(
            [self.response_for(e, children(e)) for e in index.get("ResponseFor", ())]
        )
        return MessageHeader(
            from_,
            to,
            document_id,
            code,
            promulgation_info,
            document_type,
            subject,
            content,
            signer_info,
            due_date,
            to_places,
            other_info,
            response_for,
            self.integer(index, "SteeringType"),
            self.texts(children(task_holder), "TaskCode") if task_holder is not None else (),
            _text(index, "ApplicationType"),
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
            known = _BUSINESS_DOC_TYPES.get(doc_type_value)
            if known is not None:
                doc_type = known
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
                    Receiver(_text(ri, "OrganId") or "", self.integer(ri, "ReceiverType"))
                    for ri in (children(r) for r in children(holder).get("Receiver", ()))
                )
            document_info = BusinessDocumentInfo(
                _text(info, "DocumentInfo"), _text(info, "DocumentReceiver"), receivers
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
            doc_type,
            _text(index, reason_name),
            _text(index, "DocumentId"),
            self.integer(index, "Paper"),
            document_info,
            replacements,
            self.staff_info(index),
        )

    def replacement(self, index: Children) -> ReplacementInfo:
        holder = self.first(index, "OrganIdList")
        organ_ids = self.texts(children(holder), "OrganId") if holder is not None else ()
        return ReplacementInfo(_text(index, "DocumentId"), organ_ids)

    def trace_header_list(self, element: Element, index: Children) -> TraceHeaderList:
        traces = []
        for trace in index.get("TraceHeader", ()):
            trace_index = children(trace)
            organ_id = _text(trace_index, "OrganId")
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
            content_id = _text(index, "ContentId") or reference.get(_XLINK_HREF)
            if content_id is None:
                self.error("manifest.content_id_missing", "Reference has no ContentId", reference)
            references.append(
                ManifestReference(strip_cid(content_id or ""), *_texts(index, _REFERENCE_TEXTS))
            )
        return tuple(references)

    def attachments(self, holder: Element | None) -> tuple[Attachment, ...]:
        if holder is None:
            return ()
        result = []
        spooled = self.spooled
        for attachment in children(holder).get("Attachment", ()):
            index = children(attachment)
            content_id = _text(index, "ContentId")
            if content_id is None:
                self.error(
                    "attachment.content_id_missing", "Attachment has no ContentId", attachment
                )
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
                    _text(index, "AttachmentName"),
                    _text(index, "ContentType"),
                    _text(index, "Description"),
                    payload,
                )
            )
        return tuple(result)

    def status(self, element: Element, index: Children) -> Status | None:
        found = index.get("From")
        from_ = self.organization(found[0]) if found else None
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
        elif raw_code in _STATUS_CODES:
            status_code = _STATUS_CODES[raw_code]
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
            staff_info=self.staff_info(index),
            description=_text(index, "Description"),
            timestamp=self.timestamp(index, "Timestamp"),
        )


def strip_cid(content_id: str) -> str:
    """``cid:abc`` -> ``abc``: Java writes the prefix, .NET does not."""
    stripped = content_id.strip()
    return stripped[4:] if stripped[:4].lower() == "cid:" else stripped


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
        reader.message_header(container, container_index),
        (
            reader.trace_header_list(trace_element, children(trace_element))
            if trace_element is not None
            else None
        ),
        reader.manifest(reader.first(inside, "edXMLBody")),
        reader.attachments(reader.first(top, "AttachmentEncoded")),
        presence,
        signature_xml,
    )
    return ReadResult(document, reader.problems, container_name)
