"""Real producers' variations read to the same model; strict mode names what tolerant forgives."""

from __future__ import annotations

import datetime as dt

import pytest

import edxml
from edxml import Document, Mode, Severity, Status
from tests.edxml_helpers import NEW_DOCUMENT, example

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"


def _status_xml(container: str = "MessageHeader", code: str = "03", responses: int = 1) -> bytes:
    response = (
        "<ResponseFor><OrganId>000.00.01.H53</OrganId><Code>123/UBND-KT</Code>"
        "<PromulgationDate>2025-07-15</PromulgationDate>"
        "<DocumentId>000.00.01.H53,2025/07/15,123/UBND-KT</DocumentId></ResponseFor>"
    ) * responses
    return (
        f'<edXML xmlns="{NS}"><edXMLEnvelope><edXMLHeader><{container}>'
        "<Timestamp>2025/07/15 10:02:11</Timestamp>"
        f"<StatusCode>{code}</StatusCode>{response}"
        "<From><OrganId>000.00.00.G22</OrganId><OrganName>Văn phòng Chính phủ</OrganName></From>"
        f"</{container}></edXMLHeader></edXMLEnvelope></edXML>"
    ).encode()


def test_unprefixed_any_order_status_equals_prefixed_one() -> None:
    plain = edxml.parse(_status_xml())
    assert isinstance(plain, Status)
    assert plain.response_for.promulgation_date == dt.date(2025, 7, 15)
    assert edxml.parse(edxml.build(plain)) == plain


def test_status_container_named_status_is_accepted() -> None:
    assert edxml.parse(_status_xml("Status")) == edxml.parse(_status_xml())


def test_status_14_is_read_as_15_with_a_warning_and_refused_when_strict() -> None:
    package = edxml.parse(_status_xml(code="14"))
    assert isinstance(package, Status)
    assert package.status_code is edxml.StatusCode.CHANGE_ACCEPTED
    with pytest.raises(edxml.EdxmlError) as caught:
        edxml.parse(_status_xml(code="14"), mode=Mode.STRICT)
    assert caught.value.code == "status.code_alias"


def test_unknown_status_code_is_refused_at_its_element() -> None:
    with pytest.raises(edxml.EdxmlError) as caught:
        edxml.parse(_status_xml(code="99"))
    assert caught.value.code == "status.bad_code"
    assert caught.value.location.endswith("/MessageHeader/StatusCode")


def test_status_with_two_response_for_is_refused() -> None:
    problems = edxml.validate(_status_xml(responses=2))
    assert [p.code for p in problems if p.severity is Severity.ERROR] == [
        "status.response_for_count"
    ]


def test_dashed_dates_are_tolerated_and_flagged() -> None:
    problems = edxml.validate(_status_xml())
    assert [(p.code, p.severity) for p in problems] == [("value.date_dashes", Severity.WARNING)]
    strict = edxml.validate(_status_xml(), mode=Mode.STRICT)
    assert strict[0].severity is Severity.ERROR


def test_business_spelling_and_cid_without_prefix_read_the_same() -> None:
    data = example(NEW_DOCUMENT)
    variant = (
        data.replace(b"Bussiness", b"Business")
        .replace(b"<ContentId>cid:", b"<ContentId>")
        .replace(b"edXML:", b"")
        .replace(b'xmlns:edXML="' + NS.encode() + b'"', b"")
    )
    assert edxml.parse(variant) == edxml.parse(data)
    codes = {p.code for p in edxml.validate(variant)}
    assert "trace.business_spelling" in codes
    assert edxml.validate(variant, mode=Mode.STRICT)[0].code == "trace.business_spelling"


def test_empty_digital_signature_is_reported_as_empty_not_forged() -> None:
    data = example(NEW_DOCUMENT).replace(
        b"</edXML:TraceHeaderList>", b"</edXML:TraceHeaderList><edXML:DigitalSignature/>"
    )
    package = edxml.parse(data)
    assert isinstance(package, Document)
    assert package.signature is edxml.SignaturePresence.EMPTY
    assert edxml.parse(edxml.build(package)) == package


def test_steering_type_zero_is_tolerant_only() -> None:
    data = example(NEW_DOCUMENT).replace(b"<edXML:SteeringType>1<", b"<edXML:SteeringType>0<")
    assert edxml.validate(data) == []
    strict = edxml.validate(data, mode=Mode.STRICT)
    assert [p.code for p in strict] == ["value.bad_steering_type"]
    assert strict[0].location.endswith("/MessageHeader/SteeringType")


def test_vietnamese_text_survives_parse_and_build() -> None:
    package = edxml.parse(example(NEW_DOCUMENT))
    assert isinstance(package, Document)
    assert package.header.signer_info is not None
    assert package.header.signer_info.full_name == "Nguyễn Văn Hòa"
    assert "Nguyễn Văn Hòa".encode() in edxml.build(package)
