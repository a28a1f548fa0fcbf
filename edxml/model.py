"""The edXML data model: frozen dataclasses for document (edoc) and status packages.

The model holds what the package *means*, not how a producer spelled it: prefixes, element order,
``Bussiness``/``Business``, ``cid:`` prefixes, ``MessageHeader``/``Status`` containers and date
separators are normalised away by :mod:`edxml.reader`, so two producers' renderings of the same
document compare equal and ``parse(build(x)) == x``.

Optional fields are ``None`` (or an empty tuple) when the producer left them out; values are typed
where the specification fixes a type (dates, integers, the three enums) and plain text elsewhere.
Dates carry no time zone because edXML writes none: they are Vietnamese local dates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import Enum, IntEnum, StrEnum

from edxml.payload import Payload


class BusinessDocType(IntEnum):
    """``Bussiness/BussinessDocType``: what the document does to an earlier one."""

    NEW = 0
    REVOKE = 1  # thu hồi
    UPDATE = 2  # cập nhật
    REPLACE = 3  # thay thế


class Priority(IntEnum):
    """``OtherInfo/Priority`` (độ khẩn)."""

    NORMAL = 0  # Thường
    URGENT = 1  # Khẩn
    VERY_URGENT = 2  # Thượng khẩn
    EXPRESS = 3  # Hỏa tốc
    EXPRESS_SCHEDULED = 4  # Hỏa tốc hẹn giờ


class StatusCode(StrEnum):
    """``StatusCode`` of a status package (gói tin trạng thái)."""

    ARRIVED = "01"  # Đã đến
    REJECTED = "02"  # Từ chối tiếp nhận
    ACCEPTED = "03"  # Đã tiếp nhận
    ASSIGNED = "04"  # Phân công
    PROCESSING = "05"  # Đang xử lý
    FINISHED = "06"  # Hoàn thành
    TAKEN_BACK = "13"  # Lấy lại / thu hồi
    CHANGE_ACCEPTED = "15"  # Đồng ý lấy lại / cập nhật
    CHANGE_REJECTED = "16"  # Từ chối lấy lại / cập nhật


class SignaturePresence(Enum):
    """What sits in the signature slot of ``edXMLHeader``.

    ``EMPTY`` is the .NET SDK's ``<DigitalSignature/>`` placeholder: no signature, not a forgery.
    """

    ABSENT = "absent"
    EMPTY = "empty"
    XMLDSIG = "xmldsig"


@dataclass(frozen=True, slots=True)
class Organization:
    """``From`` / ``To``: an agency, identified by its code (mã định danh) in ``OrganId``."""

    organ_id: str
    organization_in_charge: str | None = None
    organ_name: str | None = None
    organ_add: str | None = None
    email: str | None = None
    telephone: str | None = None
    fax: str | None = None
    website: str | None = None


@dataclass(frozen=True, slots=True)
class Code:
    """``Code``: số (number) and ký hiệu (notation) of the document."""

    number: str | None = None
    notation: str | None = None


@dataclass(frozen=True, slots=True)
class PromulgationInfo:
    """``PromulgationInfo``: where and when the document was issued."""

    place: str | None = None
    date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class DocumentType:
    """``DocumentType``. ``type`` is a free integer: producers disagree on its meaning."""

    type: int | None = None
    type_detail: int | None = None
    type_name: str | None = None


@dataclass(frozen=True, slots=True)
class SignerInfo:
    """``SignerInfo``: who signed the paper-equivalent document (not the XML signature)."""

    competence: str | None = None
    position: str | None = None
    full_name: str | None = None


@dataclass(frozen=True, slots=True)
class OtherInfo:
    """``OtherInfo``: priority and descriptive counts."""

    priority: Priority | None = None
    sphere_of_promulgation: str | None = None
    typer_notation: str | None = None
    promulgation_amount: int | None = None
    page_amount: int | None = None
    direction: bool | None = None
    appendixes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ResponseFor:
    """``ResponseFor``: the earlier document this one (or this status) answers."""

    organ_id: str | None = None
    code: str | None = None
    promulgation_date: dt.date | None = None
    document_id: str | None = None


@dataclass(frozen=True, slots=True)
class MessageHeader:
    """``MessageHeader`` of a document package: routing and metadata."""

    from_: Organization
    to: tuple[Organization, ...] = ()
    document_id: str | None = None
    code: Code | None = None
    promulgation_info: PromulgationInfo | None = None
    document_type: DocumentType | None = None
    subject: str | None = None
    content: str | None = None
    signer_info: SignerInfo | None = None
    due_date: dt.date | None = None
    to_places: tuple[str, ...] = ()
    other_info: OtherInfo | None = None
    response_for: tuple[ResponseFor, ...] = ()
    steering_type: int | None = None
    response_for_task: tuple[str, ...] = ()
    application_type: str | None = None


@dataclass(frozen=True, slots=True)
class TraceHeader:
    """One hop of ``TraceHeaderList``: which agency handled the package, and when."""

    organ_id: str | None = None
    timestamp: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Receiver:
    """``ReceiverList/Receiver`` of an update: ``receiver_type`` 0 removed, 1 added."""

    organ_id: str
    receiver_type: int | None = None


@dataclass(frozen=True, slots=True)
class BusinessDocumentInfo:
    """``BussinessDocumentInfo`` of an update (type 2): what changed."""

    document_info: str | None = None
    document_receiver: str | None = None
    receivers: tuple[Receiver, ...] = ()


@dataclass(frozen=True, slots=True)
class ReplacementInfo:
    """``ReplacementInfo`` of a replace (type 3): the replaced document and its recipients."""

    document_id: str | None = None
    organ_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StaffInfo:
    """``StaffInfo``: the clerk (văn thư) handling the package."""

    department: str | None = None
    department_id: str | None = None
    staff: str | None = None
    staff_id: str | None = None
    email: str | None = None
    mobile: str | None = None


@dataclass(frozen=True, slots=True)
class Business:
    """The ``Bussiness`` block (VNPT's spelling): new, revoke, update or replace."""

    doc_type: BusinessDocType = BusinessDocType.NEW
    reason: str | None = None
    document_id: str | None = None
    paper: int | None = None
    document_info: BusinessDocumentInfo | None = None
    replacements: tuple[ReplacementInfo, ...] = ()
    staff_info: StaffInfo | None = None


@dataclass(frozen=True, slots=True)
class TraceHeaderList:
    """``TraceHeaderList``: the hops so far and the business block."""

    traces: tuple[TraceHeader, ...] = ()
    business: Business | None = None


@dataclass(frozen=True, slots=True)
class ManifestReference:
    """One ``edXMLManifest/Reference``. ``content_id`` is stored without ``cid:``."""

    content_id: str
    content_type: str | None = None
    description: str | None = None
    attachment_name: str | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """One ``AttachmentEncoded/Attachment``; ``payload`` is the (lazily decoded) content."""

    content_id: str
    name: str | None = None
    content_type: str | None = None
    description: str | None = None
    payload: Payload | None = None


@dataclass(frozen=True, slots=True)
class Document:
    """A document package (edoc): header, trace, manifest and attachments.

    ``signature_xml`` keeps the serialised XML-DSig element when there is one, so that a rebuilt
    package still carries it; it is not part of equality (it says nothing about meaning).
    """

    header: MessageHeader
    trace: TraceHeaderList | None = None
    manifest: tuple[ManifestReference, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    signature: SignaturePresence = SignaturePresence.ABSENT
    signature_xml: bytes | None = field(default=None, compare=False, repr=False)

    @property
    def business_doc_type(self) -> BusinessDocType:
        """NEW when the producer wrote no business block (VNPT's library may omit it)."""
        if self.trace is None or self.trace.business is None:
            return BusinessDocType.NEW
        return self.trace.business.doc_type


@dataclass(frozen=True, slots=True)
class Status:
    """A status package (gói tin trạng thái) answering one earlier document."""

    from_: Organization
    response_for: ResponseFor
    status_code: StatusCode
    staff_info: StaffInfo | None = None
    description: str | None = None
    timestamp: dt.datetime | None = None


Package = Document | Status
