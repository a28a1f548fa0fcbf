"""Reading edXMLHeader into the model: MessageHeader, TraceHeaderList (with Business) and Status.

Each producer's spelling is tolerated (Bussiness/Business, StatusCode 14 for 15, the text "null"
for a missing OrganId), each with a located finding, so the caller sees every deviation at once.
"""

from __future__ import annotations

from edxml.elements import Children, Element, children, first_text, first_texts, text_of
from edxml.model import (
    Business,
    BusinessDocType,
    BusinessDocumentInfo,
    Code,
    DocumentType,
    MessageHeader,
    Organization,
    OtherInfo,
    Priority,
    PromulgationInfo,
    Receiver,
    ReplacementInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    Status,
    StatusCode,
    TraceHeader,
    TraceHeaderList,
)
from edxml.names import local_name
from edxml.value_reader import ValueReader

# The .NET sample's "agree to revoke/update" writer emits 14 where the spec says 15 (EDXML.md 2.2).
_STATUS_ALIASES = {"14": StatusCode.CHANGE_ACCEPTED}
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
# Enum members by value: a dict lookup instead of an Enum call per value read.
_PRIORITIES = {member.value: member for member in Priority}
_BUSINESS_DOC_TYPES = {member.value: member for member in BusinessDocType}
_STATUS_CODES = {member.value: member for member in StatusCode}

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


def _organization(reader: ValueReader, element: Element) -> Organization:
    index = children(element)
    organ_id = first_text(index, "OrganId")
    if organ_id is None:
        reader.error("header.organ_id_missing", "OrganId is missing or empty", element)
    return Organization(organ_id or "", *first_texts(index, _ORGANIZATION_TEXTS))


def _response_for(reader: ValueReader, element: Element, index: Children) -> ResponseFor:
    return ResponseFor(
        first_text(index, "OrganId"),
        first_text(index, "Code"),
        reader.date(index, "PromulgationDate"),
        first_text(index, "DocumentId"),
    )


def _staff_info(index: Children) -> StaffInfo | None:
    found = index.get("StaffInfo")
    return StaffInfo(*first_texts(children(found[0]), _STAFF_INFO_TEXTS)) if found else None


def _other_info(reader: ValueReader, element: Element, index: Children) -> OtherInfo:
    priority_value = reader.integer(index, "Priority")
    priority: Priority | None = None
    if priority_value is not None:
        priority = _PRIORITIES.get(priority_value)
        if priority is None:
            reader.error(
                "value.bad_priority",
                f"Priority {priority_value} is not one of 0..4",
                reader.first_or(element, index, "Priority"),
            )
    appendixes: tuple[str, ...] = ()
    holder = reader.first(index, "Appendixes")
    if holder is not None:
        appendixes = reader.texts(children(holder), "Appendix")
    direction_text = first_text(index, "Direction")
    direction: bool | None = None
    if direction_text is not None:
        lowered = direction_text.lower()
        if lowered in _BOOLEANS:
            direction = _BOOLEANS[lowered]
        else:
            reader.error(
                "value.bad_boolean",
                f"Direction {direction_text!r} is not true/false",
                reader.first_or(element, index, "Direction"),
            )
    return OtherInfo(
        priority,
        first_text(index, "SphereOfPromulgation"),
        first_text(index, "TyperNotation"),
        reader.integer(index, "PromulgationAmount"),
        reader.integer(index, "PageAmount"),
        direction,
        appendixes,
    )


def read_message_header(reader: ValueReader, element: Element, index: Children) -> MessageHeader:
    """The document's MessageHeader; a missing From is reported and read as an empty OrganId."""
    found = index.get("From")
    if found is None:
        reader.error("header.from_missing", "MessageHeader has no From", element)
        from_ = Organization(organ_id="")
    else:
        from_ = _organization(reader, found[0])
    task_holder = reader.first(index, "ResponseForTask")
    to = tuple([_organization(reader, e) for e in index.get("To", ())])
    document_id = first_text(index, "DocumentId")
    code = None
    found = index.get("Code")
    if found is not None:
        code = Code(*first_texts(children(found[0]), _CODE_TEXTS))
    promulgation_info = None
    found = index.get("PromulgationInfo")
    if found is not None:
        info = children(found[0])
        promulgation_info = PromulgationInfo(
            first_text(info, "Place"), reader.date(info, "PromulgationDate")
        )
    document_type = None
    found = index.get("DocumentType")
    if found is not None:
        kind = children(found[0])
        document_type = DocumentType(
            reader.integer(kind, "Type"),
            reader.integer(kind, "TypeDetail"),
            first_text(kind, "TypeName"),
        )
    subject = first_text(index, "Subject")
    content = first_text(index, "Content")
    signer_info = None
    found = index.get("SignerInfo")
    if found is not None:
        signer_info = SignerInfo(*first_texts(children(found[0]), _SIGNER_INFO_TEXTS))
    due_date = reader.date(index, "DueDate")
    to_places: tuple[str, ...] = ()
    found = index.get("ToPlaces")
    if found is not None:
        to_places = reader.texts(children(found[0]), "Place")
    other_info = None
    found = index.get("OtherInfo")
    if found is not None:
        other_info = _other_info(reader, found[0], children(found[0]))
    response_for = tuple(
        [_response_for(reader, e, children(e)) for e in index.get("ResponseFor", ())]
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
        reader.integer(index, "SteeringType"),
        reader.texts(children(task_holder), "TaskCode") if task_holder is not None else (),
        first_text(index, "ApplicationType"),
    )


def _business(reader: ValueReader, element: Element, index: Children) -> Business:
    if local_name(element.tag) == "Business":
        reader.lenient(
            "trace.business_spelling",
            "the block is spelled Business; VNPT and QCVN 102 write Bussiness",
            element,
        )
    doc_type_value = (
        reader.integer(index, "BussinessDocType")
        if "BussinessDocType" in index
        else (reader.integer(index, "BusinessDocType"))
    )
    doc_type = BusinessDocType.NEW
    if doc_type_value is not None:
        known = _BUSINESS_DOC_TYPES.get(doc_type_value)
        if known is not None:
            doc_type = known
        else:
            reader.error(
                "value.bad_business_doc_type",
                f"BussinessDocType {doc_type_value} is not one of 0 new, 1 revoke, 2 update, "
                "3 replace",
                reader.first_or(element, index, "BussinessDocType", "BusinessDocType"),
            )
    info_element = reader.first(index, "BussinessDocumentInfo", "BusinessDocumentInfo")
    document_info = None
    if info_element is not None:
        info = children(info_element)
        receivers: tuple[Receiver, ...] = ()
        holder = reader.first(info, "ReceiverList")
        if holder is not None:
            receivers = tuple(
                Receiver(first_text(ri, "OrganId") or "", reader.integer(ri, "ReceiverType"))
                for ri in (children(r) for r in children(holder).get("Receiver", ()))
            )
        document_info = BusinessDocumentInfo(
            first_text(info, "DocumentInfo"), first_text(info, "DocumentReceiver"), receivers
        )
    replacements: tuple[ReplacementInfo, ...] = ()
    replacement_list = reader.first(index, "ReplacementInfoList")
    if replacement_list is not None:
        replacements = tuple(
            _replacement(reader, children(r))
            for r in children(replacement_list).get("ReplacementInfo", ())
        )
    reason_name = "BussinessDocReason" if "BussinessDocReason" in index else "BusinessDocReason"
    return Business(
        doc_type,
        first_text(index, reason_name),
        first_text(index, "DocumentId"),
        reader.integer(index, "Paper"),
        document_info,
        replacements,
        _staff_info(index),
    )


def _replacement(reader: ValueReader, index: Children) -> ReplacementInfo:
    holder = reader.first(index, "OrganIdList")
    organ_ids = reader.texts(children(holder), "OrganId") if holder is not None else ()
    return ReplacementInfo(first_text(index, "DocumentId"), organ_ids)


def read_trace_header_list(
    reader: ValueReader, element: Element, index: Children
) -> TraceHeaderList:
    """The relay trail and the Business block, in either of its two spellings."""
    traces = []
    for trace in index.get("TraceHeader", ()):
        trace_index = children(trace)
        organ_id = first_text(trace_index, "OrganId")
        if organ_id == "null":
            # VNPT's builder writes Java's null as text (edxml-samples README).
            reader.lenient("trace.null_organ_id", "TraceHeader OrganId is the text 'null'", trace)
            organ_id = None
        traces.append(TraceHeader(organ_id, reader.timestamp(trace_index, "Timestamp")))
    business_element = reader.first(index, "Bussiness", "Business")
    business = (
        _business(reader, business_element, children(business_element))
        if business_element is not None
        else None
    )
    return TraceHeaderList(tuple(traces), business)


def read_status(reader: ValueReader, element: Element, index: Children) -> Status | None:
    """A status package's header; ``None`` when From, the one ResponseFor or the code is unusable.

    Every missing part is reported before giving up, so one read names all of them.
    """
    found = index.get("From")
    from_ = _organization(reader, found[0]) if found else None
    if from_ is None:
        reader.error("status.from_missing", "the status package has no From", element)
    responses = index.get("ResponseFor", [])
    if len(responses) != 1:
        reader.error(
            "status.response_for_count",
            f"a status package answers exactly one document; found {len(responses)} ResponseFor",
            element,
        )
    code_element = reader.first(index, "StatusCode")
    raw_code = text_of(code_element) if code_element is not None else None
    status_code: StatusCode | None = None
    if raw_code is None or code_element is None:
        reader.error("status.code_missing", "StatusCode is missing or empty", element)
    elif raw_code in _STATUS_CODES:
        status_code = _STATUS_CODES[raw_code]
    elif raw_code in _STATUS_ALIASES:
        status_code = _STATUS_ALIASES[raw_code]
        reader.lenient(
            "status.code_alias",
            f"StatusCode {raw_code} is a known producer bug for {status_code.value}",
            code_element,
        )
    else:
        reader.error(
            "status.bad_code",
            f"StatusCode {raw_code!r} is not one of {', '.join(c.value for c in StatusCode)}",
            code_element,
        )
    if from_ is None or not responses or status_code is None:
        return None
    return Status(
        from_=from_,
        response_for=_response_for(reader, responses[0], children(responses[0])),
        status_code=status_code,
        staff_info=_staff_info(index),
        description=first_text(index, "Description"),
        timestamp=reader.timestamp(index, "Timestamp"),
    )
