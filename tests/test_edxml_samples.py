"""Every file of the real producers' corpus: parse, rebuild, re-parse; nonconformant ones refused."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import edxml
from edxml import Document, EdxmlError, Severity, Status
from tests.conftest import SHARED, shared_path
from tests.edxml_helpers import example_paths

SAMPLES = SHARED / "edxml-samples"
TOP_LEVEL = sorted(SAMPLES.glob("*.edxml")) if SAMPLES.is_dir() else []
NONCONFORMANT = sorted((SAMPLES / "nonconformant").glob("*.edxml")) if SAMPLES.is_dir() else []


def test_corpus_is_present_or_skipped_with_reason() -> None:
    folder = shared_path("edxml-samples")
    assert len(list(folder.glob("*.edxml"))) >= 8


@pytest.mark.parametrize("path", TOP_LEVEL, ids=lambda p: p.name)
def test_real_sample_parses_and_round_trips(path: Path) -> None:
    data = path.read_bytes()
    package = edxml.parse(data)
    rebuilt = edxml.build(package)
    assert edxml.parse(rebuilt) == package
    # The rebuilt bytes are VNPT's shape: prefixed envelope, Bussiness spelling, MessageHeader.
    assert b"<edXML:edXMLEnvelope" in rebuilt
    assert b"<edXML:Status>" not in rebuilt


@pytest.mark.parametrize("path", example_paths(), ids=lambda p: p.name)
def test_project_example_round_trips_byte_for_byte(path: Path) -> None:
    data = path.read_bytes()
    assert edxml.build(edxml.parse(data)) == data
    assert edxml.validate(data, mode=edxml.Mode.STRICT) == []


def _sample(name: str) -> bytes:
    return shared_path("edxml-samples", name).read_bytes()


def test_vnpt_status_in_message_header_reads_as_status() -> None:
    package = edxml.parse(_sample("vnpt-sdk_status_01.edxml"))
    assert isinstance(package, Status)
    assert package.status_code is edxml.StatusCode.ARRIVED
    assert package.response_for.document_id == "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    assert package.staff_info is not None
    assert package.staff_info.staff == "Nguyễn Thị Ngọc Trâm"


def test_bussiness_before_trace_header_is_read() -> None:
    package = edxml.parse(_sample("gateway_edoc_bussiness-first_3-attachments.edxml"))
    assert isinstance(package, Document)
    assert package.trace is not None
    assert package.trace.business is not None
    assert package.trace.business.doc_type is edxml.BusinessDocType.NEW
    assert len(package.trace.traces) == 1
    assert [a.content_id for a in package.attachments] == [m.content_id for m in package.manifest]


def test_null_trace_organ_is_read_as_missing_with_a_warning() -> None:
    result = edxml.check(_sample("vnpt-lib_edoc_zip-labelled-pdf.edxml"))
    assert isinstance(result.package, Document)
    assert result.package.trace is not None
    assert result.package.trace.traces[0].organ_id is None
    codes = {p.code for p in result.problems if p.severity is Severity.WARNING}
    assert {"trace.null_organ_id", "attachment.type_mismatch"} <= codes


def test_corrupt_pdf_parses_but_the_attachment_check_reports_it() -> None:
    data = _sample("vnpt-lib_edoc_report_corrupt-pdf.edxml")
    edxml.parse(data)
    problems = edxml.validate(data)
    assert [p.code for p in problems if p.severity is Severity.ERROR] == ["attachment.text_decoded"]
    assert problems[0].location == "/edXML/AttachmentEncoded/Attachment/ContentTransferEncoded"


def test_truncated_zip_parses_and_unwrap_reports_a_located_error() -> None:
    package = edxml.parse(_sample("gateway_edoc_minimal_truncated-zip.edxml"))
    assert isinstance(package, Document)
    with pytest.raises(EdxmlError) as caught:
        edxml.unwrap(package.attachments[0], location="/edXML/AttachmentEncoded/Attachment")
    assert caught.value.code == "attachment.bad_zip"
    assert caught.value.location == "/edXML/AttachmentEncoded/Attachment"


def test_dotnet_template_is_refused_with_located_problems_quickly() -> None:
    data = shared_path(
        "edxml-samples", "nonconformant", "dotnet-shape_annotated-template.edxml"
    ).read_bytes()
    started = time.perf_counter()
    with pytest.raises(EdxmlError) as caught:
        edxml.parse(data)
    problems = edxml.validate(data)
    assert time.perf_counter() - started < 1.0
    locations = {p.location for p in caught.value.problems}
    assert (
        "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/PromulgationInfo/PromulgationDate"
        in locations
    )
    codes = {p.code for p in problems}
    assert {"value.bad_date", "value.bad_integer", "attachment.bad_base64"} <= codes
    assert "edxml.dotnet_wrapper" in codes


def test_attachments_inside_envelope_names_the_shape() -> None:
    data = shared_path(
        "edxml-samples", "nonconformant", "gateway_attachments-inside-envelope.edxml"
    ).read_bytes()
    with pytest.raises(EdxmlError) as caught:
        edxml.parse(data)
    assert caught.value.code == "edxml.attachments_inside_envelope"
    assert caught.value.location == "/edXML/edXMLEnvelope/edXMLAttachments"


@pytest.mark.parametrize("path", NONCONFORMANT, ids=lambda p: p.name)
def test_nonconformant_file_is_refused_never_crashes(path: Path) -> None:
    result = edxml.check(path.read_bytes())
    assert not result.ok
    assert all(p.location.startswith(("/edXML", "line:")) for p in result.problems)
