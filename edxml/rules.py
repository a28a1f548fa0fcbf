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
from collections import Counter
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


class _Rules:
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
        self.agency_code(org.organ_id, f"{location}/OrganId")
        for field, value in (
            ("OrganName", org.organ_name),
            ("OrganAdd", org.organ_add),
            ("OrganizationInCharge", org.organization_in_charge),
            ("Email", org.email),
            ("Telephone", org.telephone),
            ("Fax", org.fax),
        ):
            self.length(field, value, f"{location}/{field}")

    def not_future(self, value: dt.date | None, location: str, what: str) -> None:
        if value is not None and value > self.today:
            self.error(
                "value.date_in_future", f"{what} {value.isoformat()} is after today", location
            )

    def header(self, header: MessageHeader, base: str) -> None:
        self.organization(header.from_, f"{base}/From")
        if not header.to:
            self.error("header.no_recipient", "the document names no recipient (To)", base)
        for position, recipient in enumerate(header.to):
            self.organization(recipient, f"{base}/{_indexed('To', position, len(header.to))}")
        self.document_id(header, base)
        if header.code is not None:
            self.length("CodeNumber", header.code.number, f"{base}/Code/CodeNumber")
            self.length("CodeNotation", header.code.notation, f"{base}/Code/CodeNotation")
        info = header.promulgation_info
        if info is not None:
            self.length("Place", info.place, f"{base}/PromulgationInfo/Place")
            self.not_future(
                info.date, f"{base}/PromulgationInfo/PromulgationDate", "PromulgationDate"
            )
        if header.document_type is not None:
            self.length("TypeName", header.document_type.type_name, f"{base}/DocumentType/TypeName")
        self.length("Subject", header.subject, f"{base}/Subject")
        self.length("Content", header.content, f"{base}/Content")
        for position, place in enumerate(header.to_places):
            where = _indexed("Place", position, len(header.to_places))
            self.length("ToPlace", place, f"{base}/ToPlaces/{where}")
        other = header.other_info
        if other is not None:
            self.length(
                "SphereOfPromulgation",
                other.sphere_of_promulgation,
                f"{base}/OtherInfo/SphereOfPromulgation",
            )
            self.length("TyperNotation", other.typer_notation, f"{base}/OtherInfo/TyperNotation")
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
        location = f"{base}/DocumentId"
        if header.document_id is None:
            self.lenient("header.document_id_missing", "the document has no DocumentId", base)
            return
        match = DOCUMENT_ID.fullmatch(header.document_id)
        if match is None:
            self.lenient(
                "header.document_id_format",
                f"DocumentId {header.document_id!r} is not {{OrganId}},{{yyyy/MM/dd}},"
                "{number}/{notation}",
                location,
            )
            return
        if match["organ"] != header.from_.organ_id:
            self.lenient(
                "header.document_id_sender",
                f"DocumentId names {match['organ']!r} but the sender is {header.from_.organ_id!r}",
                location,
            )
        if "-" in match["date"]:
            self.lenient("value.date_dashes", "DocumentId writes its date as yyyy-MM-dd", location)

    def manifest(self, document: Document) -> None:
        manifest_base = f"{ENVELOPE}/edXMLBody/edXMLManifest"
        references = document.manifest
        attachments = document.attachments
        listed = Counter(reference.content_id for reference in references)
        present = Counter(attachment.content_id for attachment in attachments)
        by_id = {attachment.content_id: attachment for attachment in attachments}
        for position, reference in enumerate(references):
            where = f"{manifest_base}/{_indexed('Reference', position, len(references))}"
            if listed[reference.content_id] > 1:
                self.error(
                    "manifest.duplicate_content_id",
                    f"content id {reference.content_id!r} is listed {listed[reference.content_id]} "
                    "times",
                    f"{where}/ContentId",
                )
            attachment = by_id.get(reference.content_id)
            if attachment is None:
                self.error(
                    "manifest.missing_attachment",
                    f"the manifest lists {reference.content_id!r} but no attachment carries it",
                    f"{where}/ContentId",
                )
                continue
            if (
                reference.content_type
                and attachment.content_type
                and reference.content_type.lower() != attachment.content_type.lower()
            ):
                self.problems.append(
                    Problem(
                        "manifest.type_disagrees",
                        f"the manifest says {reference.content_type}, the attachment says "
                        f"{attachment.content_type}",
                        f"{where}/ContentType",
                        Severity.WARNING,
                    )
                )
        for position, attachment in enumerate(attachments):
            where = f"/edXML/AttachmentEncoded/{_indexed('Attachment', position, len(attachments))}"
            if present[attachment.content_id] > 1:
                self.error(
                    "attachment.duplicate_content_id",
                    f"content id {attachment.content_id!r} is carried "
                    f"{present[attachment.content_id]} times",
                    f"{where}/ContentId",
                )
            if attachment.content_id not in listed:
                self.error(
                    "attachment.not_in_manifest",
                    f"attachment {attachment.content_id!r} is not listed in the manifest",
                    f"{where}/ContentId",
                )
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
