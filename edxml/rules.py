"""The rules an XSD cannot say: cross-field agreement, identifier forms, lengths, dates.

Each rule reads the model (not the tree) and names the place in the document it speaks about with
the same path convention the reader uses, so a problem points at the element a person must fix.
Limits come from EDXML.md 1.7 (QCVN 102 via Bkav's validator, confidence M/L): exceeding one is an
error in strict mode and a warning in tolerant mode, except the OrganId limit of 35 which SĐ1:2022
fixed in law.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from edxml.attachments import check_content
from edxml.errors import Mode, Problem, Severity
from edxml.model import (
    BusinessDocType,
    Document,
    MessageHeader,
    Organization,
    Status,
)

ENVELOPE = "/edXML/edXMLEnvelope"
HEADER = f"{ENVELOPE}/edXMLHeader"
_MANIFEST = f"{ENVELOPE}/edXMLBody/edXMLManifest"

QCVN_CODE = re.compile(r"\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}")
QD20_CODE = re.compile(r"[0-9A-Z]+(?:\.[0-9A-Z]+)*")
MAX_CODE_LENGTH = 35
DOCUMENT_ID = re.compile(r"(?P<organ>[^,]+),(?P<date>\d{4}[/-]\d{2}[/-]\d{2}),(?P<code>.+)")

# (path below MessageHeader, limit) from Bkav's validator limits.
_LIMITS: dict[str, int] = {
    "OrganName": 200,
    "OrganAdd": 500,
    "OrganizationInCharge": 500,
    "Email": 100,
    "Telephone": 20,
    "Fax": 20,
    "CodeNumber": 11,
    "CodeNotation": 30,
    "Place": 50,
    "TypeName": 100,
    "Subject": 500,
    "Content": 500,
    "ToPlace": 150,
    "SphereOfPromulgation": 100,
    "TyperNotation": 10,
    "AttachmentName": 500,
}
_UNSIGNED_SHORT = 65535


def _indexed(name: str, position: int, count: int) -> str:
    return f"{name}[{position + 1}]" if count > 1 else name


# Organization text fields checked for length, as (element name, model attribute, limit).
_ORGANIZATION_LENGTHS = tuple(
    (name, attribute, _LIMITS[name])
    for name, attribute in (
        ("OrganName", "organ_name"),
        ("OrganAdd", "organ_add"),
        ("OrganizationInCharge", "organization_in_charge"),
        ("Email", "email"),
        ("Telephone", "telephone"),
        ("Fax", "fax"),
    )
)


class _Rules:
    """One rules pass; collects problems in the order the rules are listed.

    A field's location (and its message) is formatted only when a rule finds something there: on
    a clean package (the common case) each value costs one comparison, not a path string.
    """

    __slots__ = ("mode", "problems", "today")

    def __init__(self, mode: Mode, today: dt.date) -> None:
        self.mode = mode
        self.today = today
        self.problems: list[Problem] = []

    def error(self, code: str, message: str, location: str) -> None:
        self.problems.append(Problem(code, message, location))

    def lenient(self, code: str, message: str, location: str) -> None:
        severity = Severity.ERROR if self.mode is Mode.STRICT else Severity.WARNING
        self.problems.append(Problem(code, message, location, severity))

    def length(self, field: str, value: str | None, location: str) -> None:
        limit = _LIMITS.get(field)
        if value is not None and limit is not None and len(value) > limit:
            self.too_long(field, value, limit, location)

    def too_long(self, field: str, value: str, limit: int, location: str) -> None:
        self.lenient(
            "value.too_long",
            f"{field} has {len(value)} characters; the limit is {limit}",
            location,
        )

    def agency_code(self, value: str, location: str) -> None:
        if not value:
            return  # the reader already reported the missing OrganId
        if len(value) > MAX_CODE_LENGTH:
            self.error(
                "code.too_long",
                f"agency code {value!r} has {len(value)} characters; QCVN 102 SĐ1:2022 allows 35",
                location,
            )
        elif QCVN_CODE.fullmatch(value) is None and QD20_CODE.fullmatch(value) is None:
            self.lenient(
                "code.malformed",
                f"{value!r} is not an agency code (AAA.BB.CC.Lnn, or dot-separated groups of "
                "0-9 A-Z under QĐ 20/2020)",
                location,
            )

    def organization(self, org: Organization, location: str) -> None:
        organ_id = org.organ_id
        # The common, valid case decided here; anything else takes agency_code's full path.
        if not organ_id or len(organ_id) > MAX_CODE_LENGTH or QCVN_CODE.fullmatch(organ_id) is None:
            self.agency_code(organ_id, f"{location}/OrganId")
        for name, attribute, limit in _ORGANIZATION_LENGTHS:
            value = getattr(org, attribute)
            if value is not None and len(value) > limit:
                self.too_long(name, value, limit, f"{location}/{name}")

    def not_future(self, value: dt.date | None, location: str, what: str) -> None:
        if value is not None and value > self.today:
            self.error(
                "value.date_in_future", f"{what} {value.isoformat()} is after today", location
            )

    def header(self, header: MessageHeader, base: str) -> None:
        self.organization(header.from_, f"{base}/From")
        to = header.to
        if not to:
            self.error("header.no_recipient", "the document names no recipient (To)", base)
        for position, recipient in enumerate(to):
            self.organization(recipient, f"{base}/{_indexed('To', position, len(to))}")
        self.document_id(header, base)
        limits = _LIMITS
        code = header.code
        if code is not None:
            if code.number is not None and len(code.number) > limits["CodeNumber"]:
                self.length("CodeNumber", code.number, f"{base}/Code/CodeNumber")
            if code.notation is not None and len(code.notation) > limits["CodeNotation"]:
                self.length("CodeNotation", code.notation, f"{base}/Code/CodeNotation")
        info = header.promulgation_info
        if info is not None:
            if info.place is not None and len(info.place) > limits["Place"]:
                self.length("Place", info.place, f"{base}/PromulgationInfo/Place")
            if info.date is not None and info.date > self.today:
                self.not_future(
                    info.date, f"{base}/PromulgationInfo/PromulgationDate", "PromulgationDate"
                )
        document_type = header.document_type
        if (
            document_type is not None
            and document_type.type_name is not None
            and len(document_type.type_name) > limits["TypeName"]
        ):
            self.length("TypeName", document_type.type_name, f"{base}/DocumentType/TypeName")
        if header.subject is not None and len(header.subject) > limits["Subject"]:
            self.length("Subject", header.subject, f"{base}/Subject")
        if header.content is not None and len(header.content) > limits["Content"]:
            self.length("Content", header.content, f"{base}/Content")
        to_places = header.to_places
        place_limit = limits["ToPlace"]
        for position, place in enumerate(to_places):
            if len(place) > place_limit:
                where = _indexed("Place", position, len(to_places))
                self.length("ToPlace", place, f"{base}/ToPlaces/{where}")
        other = header.other_info
        if other is not None:
            sphere = other.sphere_of_promulgation
            if sphere is not None and len(sphere) > limits["SphereOfPromulgation"]:
                self.length(
                    "SphereOfPromulgation", sphere, f"{base}/OtherInfo/SphereOfPromulgation"
                )
            typer = other.typer_notation
            if typer is not None and len(typer) > limits["TyperNotation"]:
                self.length("TyperNotation", typer, f"{base}/OtherInfo/TyperNotation")
            for field, amount in (
                ("PromulgationAmount", other.promulgation_amount),
                ("PageAmount", other.page_amount),
            ):
                if amount is not None and not 0 <= amount <= _UNSIGNED_SHORT:
                    self.error(
                        "value.out_of_range",
                        f"{field} {amount} is not an unsigned short (0..65535)",
                        f"{base}/OtherInfo/{field}",
                    )
        if header.steering_type is not None:
            allowed = range(1, 4) if self.mode is Mode.STRICT else range(4)
            if header.steering_type not in allowed:
                self.error(
                    "value.bad_steering_type",
                    f"SteeringType {header.steering_type} is not in "
                    f"{allowed.start}..{allowed.stop - 1} ({self.mode} mode)",
                    f"{base}/SteeringType",
                )

    def document_id(self, header: MessageHeader, base: str) -> None:
        if header.document_id is None:
            self.lenient("header.document_id_missing", "the document has no DocumentId", base)
            return
        match = DOCUMENT_ID.fullmatch(header.document_id)
        if match is None:
            self.lenient(
                "header.document_id_format",
                f"DocumentId {header.document_id!r} is not {{OrganId}},{{yyyy/MM/dd}},"
                "{number}/{notation}",
                f"{base}/DocumentId",
            )
            return
        organ, date = match.group("organ", "date")
        if organ != header.from_.organ_id:
            self.lenient(
                "header.document_id_sender",
                f"DocumentId names {organ!r} but the sender is {header.from_.organ_id!r}",
                f"{base}/DocumentId",
            )
        if "-" in date:
            self.lenient(
                "value.date_dashes",
                "DocumentId writes its date as yyyy-MM-dd",
                f"{base}/DocumentId",
            )

    def manifest(self, document: Document) -> None:
        references = document.manifest
        attachments = document.attachments
        listed: dict[str, int] = {}
        for reference in references:
            listed[reference.content_id] = listed.get(reference.content_id, 0) + 1
        present: dict[str, int] = {}
        for attachment in attachments:
            present[attachment.content_id] = present.get(attachment.content_id, 0) + 1
        by_id = {carrier.content_id: carrier for carrier in attachments}
        for position, reference in enumerate(references):
            content_id = reference.content_id
            where = f"{_MANIFEST}/{_indexed('Reference', position, len(references))}"
            if listed[content_id] > 1:
                self.error(
                    "manifest.duplicate_content_id",
                    f"content id {content_id!r} is listed {listed[content_id]} times",
                    f"{where}/ContentId",
                )
            carrier = by_id.get(content_id)
            if carrier is None:
                self.error(
                    "manifest.missing_attachment",
                    f"the manifest lists {content_id!r} but no attachment carries it",
                    f"{where}/ContentId",
                )
                continue
            if (
                reference.content_type
                and carrier.content_type
                and reference.content_type.lower() != carrier.content_type.lower()
            ):
                self.problems.append(
                    Problem(
                        "manifest.type_disagrees",
                        f"the manifest says {reference.content_type}, the attachment says "
                        f"{carrier.content_type}",
                        f"{where}/ContentType",
                        Severity.WARNING,
                    )
                )
        name_limit = _LIMITS["AttachmentName"]
        for position, attachment in enumerate(attachments):
            content_id = attachment.content_id
            where = f"/edXML/AttachmentEncoded/{_indexed('Attachment', position, len(attachments))}"
            if present[content_id] > 1:
                self.error(
                    "attachment.duplicate_content_id",
                    f"content id {content_id!r} is carried {present[content_id]} times",
                    f"{where}/ContentId",
                )
            if content_id not in listed:
                self.error(
                    "attachment.not_in_manifest",
                    f"attachment {content_id!r} is not listed in the manifest",
                    f"{where}/ContentId",
                )
            if attachment.name is not None and len(attachment.name) > name_limit:
                self.length("AttachmentName", attachment.name, f"{where}/AttachmentName")
            self.problems.extend(check_content(attachment, f"{where}/ContentTransferEncoded"))

    def business(self, document: Document) -> None:
        trace = document.trace
        if trace is None or trace.business is None:
            return
        business = trace.business
        where = f"{HEADER}/TraceHeaderList/Bussiness"
        if business.doc_type is BusinessDocType.NEW:
            return
        targets = [business.document_id] + [r.document_id for r in business.replacements]
        if not any(targets):
            self.error(
                "business.target_missing",
                f"a {business.doc_type.name.lower()} document must name the DocumentId it acts on",
                where,
            )

    def status(self, status: Status, container: str) -> None:
        base = f"{HEADER}/{container}"
        self.agency_code(status.from_.organ_id, f"{base}/From/OrganId")
        response = status.response_for
        if response.document_id is None:
            self.error(
                "status.document_id_missing",
                "ResponseFor does not name the DocumentId it answers",
                f"{base}/ResponseFor",
            )
        if response.organ_id is not None:
            self.agency_code(response.organ_id, f"{base}/ResponseFor/OrganId")
        if status.timestamp is None:
            self.lenient("status.timestamp_missing", "the status has no Timestamp", base)


def check_rules(
    package: Document | Status,
    *,
    mode: Mode = Mode.TOLERANT,
    container: str = "MessageHeader",
    today: dt.date | None = None,
) -> list[Problem]:
    """Every rule finding for a package that was read."""
    rules = _Rules(mode, today or dt.date.today())
    if isinstance(package, Status):
        rules.status(package, container)
    else:
        rules.header(package.header, f"{HEADER}/{container}")
        rules.business(package)
        rules.manifest(package)
    return rules.problems


def errors_in(problems: Iterable[Problem]) -> list[Problem]:
    """Only the findings that refuse a package."""
    return [problem for problem in problems if problem.severity is Severity.ERROR]
