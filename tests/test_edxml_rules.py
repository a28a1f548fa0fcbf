"""The rules an XSD cannot say, each with a stable code and the location of the fault."""

from __future__ import annotations

import datetime as dt

import edxml
from edxml import Severity
from tests.edxml_helpers import NEW_DOCUMENT, example

HEADER = "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader"
MANIFEST = "/edXML/edXMLEnvelope/edXMLBody/edXMLManifest"


def _errors(data: bytes, **kwargs: object) -> list[tuple[str, str]]:
    problems = edxml.validate(data, **kwargs)  # type: ignore[arg-type]
    return [(p.code, p.location) for p in problems if p.severity is Severity.ERROR]


def test_clean_example_has_no_problem() -> None:
    assert edxml.validate(example(NEW_DOCUMENT)) == []


def test_manifest_lists_an_attachment_that_is_missing() -> None:
    data = example(NEW_DOCUMENT).replace(
        b"<ContentId>cid:att-2</ContentId>", b"<ContentId>cid:att-9</ContentId>"
    )
    assert _errors(data) == [
        ("manifest.missing_attachment", f"{MANIFEST}/Reference[2]/ContentId"),
        ("attachment.not_in_manifest", "/edXML/AttachmentEncoded/Attachment[2]/ContentId"),
    ]


def test_duplicate_content_ids_are_refused() -> None:
    data = example(NEW_DOCUMENT).replace(b"cid:att-2", b"cid:att-1")
    codes = [code for code, _ in _errors(data)]
    assert codes.count("manifest.duplicate_content_id") == 2
    assert codes.count("attachment.duplicate_content_id") == 2


def test_document_id_must_have_the_qcvn_form() -> None:
    data = example(NEW_DOCUMENT).replace(
        b"000.00.01.H53,2025/07/15,123/UBND-KT</edXML:DocumentId>", b"abc</edXML:DocumentId>"
    )
    problems = edxml.validate(data)
    assert [(p.code, p.severity) for p in problems] == [
        ("header.document_id_format", Severity.WARNING)
    ]
    assert _errors(data, mode=edxml.Mode.STRICT) == [
        ("header.document_id_format", f"{HEADER}/DocumentId")
    ]


def test_agency_code_over_35_characters_is_an_error() -> None:
    long_code = b"000.00.00." + b"A" * 30
    data = example(NEW_DOCUMENT).replace(
        b"<edXML:OrganId>000.00.00.G09<", b"<edXML:OrganId>" + long_code + b"<"
    )
    assert ("code.too_long", f"{HEADER}/To[2]/OrganId") in _errors(data)


def test_lowercase_agency_code_is_malformed() -> None:
    data = example(NEW_DOCUMENT).replace(b">000.00.00.G22<", b">000.00.00.g22<", 1)
    assert _errors(data, mode=edxml.Mode.STRICT) == [("code.malformed", f"{HEADER}/To[1]/OrganId")]


def test_promulgation_date_in_the_future_is_refused() -> None:
    data = example(NEW_DOCUMENT)
    assert _errors(data, today=dt.date(2025, 7, 14)) == [
        ("value.date_in_future", f"{HEADER}/PromulgationInfo/PromulgationDate")
    ]


def test_too_long_subject_is_a_warning_when_tolerant() -> None:
    data = example(NEW_DOCUMENT).replace(
        "Về việc báo cáo kết quả".encode(), ("Về việc " + "x" * 600).encode()
    )
    problems = edxml.validate(data)
    assert [(p.code, p.location, p.severity) for p in problems] == [
        ("value.too_long", f"{HEADER}/Subject", Severity.WARNING)
    ]


def test_revoke_without_target_is_refused() -> None:
    data = example("edoc_revoke.edxml").replace(
        b"<edXML:DocumentId>000.00.01.H53,2025/07/15,123/UBND-KT</edXML:DocumentId>\n          <edXML:BussinessDocType>",
        b"<edXML:BussinessDocType>",
    )
    assert _errors(data) == [
        ("business.target_missing", "/edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList/Bussiness")
    ]


def test_no_recipient_is_refused() -> None:
    package = edxml.parse(example("edoc_revoke.edxml"))
    assert isinstance(package, edxml.Document)
    import dataclasses

    lonely = dataclasses.replace(package, header=dataclasses.replace(package.header, to=()))
    assert _errors(edxml.build(lonely)) == [("header.no_recipient", HEADER)]


def test_unexpected_element_is_located_by_the_schema() -> None:
    data = example(NEW_DOCUMENT).replace(
        b"<edXML:Subject>", b"<edXML:Surprise>x</edXML:Surprise><edXML:Subject>"
    )
    assert _errors(data) == [("xsd.unexpected_element", f"{HEADER}/Surprise")]


def test_priority_out_of_range_is_refused_at_its_element() -> None:
    data = example(NEW_DOCUMENT).replace(b"<edXML:Priority>1<", b"<edXML:Priority>7<")
    assert _errors(data) == [("value.bad_priority", f"{HEADER}/OtherInfo/Priority")]
