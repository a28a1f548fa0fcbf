"""Attachments: the zip convention both ways, and base64 decoded in chunks without a second copy."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import edxml
from edxml import Document, EdxmlError, Payload
from edxml.payload import _DECODE_CHARS, canonical_decoded_size
from tests.edxml_helpers import NEW_DOCUMENT, example


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("quyet-dinh.pdf", "application/pdf"),
        ("bao-cao.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("so-lieu.xls", "application/vnd.ms-excel"),
        ("ho-so.zip", "application/zip"),
    ],
)
def test_direct_types_travel_as_they_are(name: str, content_type: str) -> None:
    attachment = edxml.attachment_from_file(name, b"bytes of " + name.encode())
    assert attachment.content_type == content_type
    assert attachment.payload is not None
    assert attachment.payload.read() == b"bytes of " + name.encode()
    unwrapped = edxml.unwrap(attachment)
    assert unwrapped.was_zipped is False
    assert unwrapped.data == b"bytes of " + name.encode()


def test_other_files_travel_as_a_one_entry_zip_and_unwrap_back() -> None:
    data = "Danh sách đầu mối: Trần Thị Thu Hà".encode()
    attachment = edxml.attachment_from_file("dau-moi.txt", data)
    assert attachment.content_type == "application/zip"
    assert attachment.payload is not None
    with zipfile.ZipFile(io.BytesIO(attachment.payload.read())) as archive:
        (entry,) = archive.infolist()
        assert entry.filename.endswith(".txt")
    unwrapped = edxml.unwrap(attachment)
    assert unwrapped == edxml.UnwrappedFile("dau-moi.txt", data, was_zipped=True)


def test_example_attachments_unwrap() -> None:
    package = edxml.parse(example(NEW_DOCUMENT))
    assert isinstance(package, Document)
    pdf, text = (edxml.unwrap(a) for a in package.attachments)
    assert pdf.data.startswith(b"%PDF-1.4")
    assert text.was_zipped
    assert "Trần Thị Thu Hà".encode() in text.data


def test_large_payload_decodes_in_chunks_to_a_file(tmp_path: Path) -> None:
    raw = hashlib.sha256(b"seed").digest() * 200_000  # 6.4 MB: several decoding chunks
    encoded = base64.encodebytes(raw).decode("ascii")  # MIME style: a newline every 76 chars
    assert len(encoded) > 3 * _DECODE_CHARS
    payload = Payload.from_base64(encoded)
    target = tmp_path / "out.bin"
    with target.open("wb") as sink:
        written = payload.decode_to(sink)
    assert written == len(raw)
    assert target.read_bytes() == raw
    assert payload.sha256 == hashlib.sha256(raw).hexdigest()
    assert payload == Payload.from_bytes(raw)


def test_bad_base64_is_located() -> None:
    payload = Payload.from_base64("QUJD" * 10 + "!!!!")
    with pytest.raises(EdxmlError) as caught:
        payload.read()
    assert caught.value.code == "attachment.bad_base64"


def test_truncated_base64_is_refused() -> None:
    with pytest.raises(EdxmlError) as caught:
        Payload.from_base64("QUJDRA").read()
    assert caught.value.code == "attachment.bad_base64"
    assert "stray" in caught.value.message


def test_unwrap_of_a_broken_zip_names_the_attachment() -> None:
    attachment = edxml.Attachment(
        "x", "notes.txt", "application/zip", None, Payload.from_bytes(b"PK\x03\x04 broken")
    )
    with pytest.raises(EdxmlError) as caught:
        edxml.unwrap(attachment, location="/edXML/AttachmentEncoded/Attachment[3]")
    assert caught.value.code == "attachment.bad_zip"
    assert "notes.txt" in caught.value.message
    assert caught.value.location == "/edXML/AttachmentEncoded/Attachment[3]"


def test_build_streams_large_attachments(tmp_path: Path) -> None:
    package = edxml.parse(example(NEW_DOCUMENT))
    assert isinstance(package, Document)
    big = edxml.attachment_from_file("lon.pdf", b"%PDF-1.4\n" + bytes(range(256)) * 8000)
    import dataclasses

    bigger = dataclasses.replace(package, attachments=(*package.attachments, big))
    target = tmp_path / "big.edxml"
    with target.open("wb") as stream:
        written = edxml.build_to(bigger, stream)
    assert written == target.stat().st_size
    assert edxml.parse(target.read_bytes()) == bigger


def _large_document(extra: bytes = b"") -> tuple[edxml.Document, bytes]:
    package = edxml.parse(example(NEW_DOCUMENT))
    assert isinstance(package, Document)
    pdf = edxml.attachment_from_file(
        "lon.pdf", b"%PDF-1.4\n" + hashlib.sha512(extra).digest() * 25_000
    )
    import dataclasses

    bigger = dataclasses.replace(
        package,
        attachments=(*package.attachments, pdf),
        manifest=(
            *package.manifest,
            edxml.ManifestReference(pdf.content_id, pdf.content_type, None, pdf.name),
        ),
    )
    return bigger, edxml.build(bigger)


def test_large_package_is_spooled_and_reads_the_same() -> None:
    from edxml.spool import SPOOL_THRESHOLD

    document, data = _large_document()
    assert len(data) > SPOOL_THRESHOLD
    result = edxml.check(data)
    assert result.ok, result.problems
    assert result.package == document
    assert edxml.parse(edxml.build(result.package)) == document


def test_large_package_with_bad_base64_is_located() -> None:
    _, data = _large_document()
    marker = data.rindex(b"</edXML:ContentTransferEncoded>")
    broken = data[: marker - 100] + b"!!!!" + data[marker - 96 :]
    problems = edxml.validate(broken)
    assert [(p.code, p.location) for p in problems if p.severity is edxml.Severity.ERROR] == [
        ("attachment.bad_base64", "/edXML/AttachmentEncoded/Attachment[3]/ContentTransferEncoded")
    ]


def test_large_package_with_doctype_is_refused() -> None:
    _, data = _large_document()
    hostile = data.replace(b"?>\n", b'?>\n<!DOCTYPE edXML [<!ENTITY x "y">]>\n', 1)
    with pytest.raises(EdxmlError) as caught:
        edxml.parse(hostile)
    assert caught.value.code == "xml.dtd_forbidden"


_BASE64ISH = st.text(
    alphabet=st.sampled_from(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \n!é"
    ),
    max_size=80,
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode()), _BASE64ISH))
def test_payload_check_agrees_with_a_full_decode(text: str) -> None:
    payload = Payload.from_base64(text)
    full: EdxmlError | None = None
    expected = b""
    try:
        expected = payload.read()
    except EdxmlError as exc:
        full = exc
    if full is None:
        assert payload.check(16, location="/x") == (len(expected), expected[:16])
        return
    with pytest.raises(EdxmlError) as fast:
        payload.check(16, location="/x")
    assert (fast.value.code, fast.value.message) == (full.code, full.message)


@settings(max_examples=400, deadline=None)
@given(_BASE64ISH)
def test_canonical_size_is_the_strict_decoders_size(text: str) -> None:
    size = canonical_decoded_size(text)
    if size is not None:
        assert size == len(binascii.a2b_base64(text, strict_mode=True))
