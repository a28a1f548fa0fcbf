"""``cid:`` references (Bkav SDK style): attachments signed by their raw bytes, nothing else read.

The envelope is signed by ``#Id`` and each attachment by ``cid:<content id>``; libxmlsec1 digests
the attachment's base64-decoded bytes, served by signing.cid for one verification only. Every
other URI stays unreadable: libxmlsec1's default file/HTTP callbacks are gone.
"""

# ruff: noqa: F811  (pytest fixtures imported from tests.signing_fixtures are parameters)
from __future__ import annotations

import base64
import copy
import hashlib
import http.server
import shutil
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar

import pytest
import xmlsec
from cryptography.hazmat.primitives import serialization
from lxml import etree

from edxml.names import EDXML_NS
from edxml.xmlsafe import parse_xml
from signing import (
    TAX_MESSAGE,
    ReasonCode,
    SignaturePolicy,
    TrustStore,
    sign,
    verify,
)
from signing import cid as cid_module
from signing.algorithms import DSIG_NS
from signing.pki import TestPki
from signing.precheck import SignatureRefusedError, precheck
from signing.samples import sample_edxml
from tests.signing_fixtures import revocation_server, test_pki  # noqa: F401

SENDER = "000.00.01.H53"
ENVELOPE_ID = "edxml-envelope"
_E = f"{{{EDXML_NS}}}"
_DS = f"{{{DSIG_NS}}}"
XMLSEC1 = shutil.which("xmlsec1")


@pytest.fixture(scope="module")
def trust(test_pki: TestPki) -> TrustStore:
    return TrustStore.from_directory(test_pki.trust_dir)


def _document(attachments: int = 1, size: int = 2048) -> etree._Element:
    """The sample edXML with ``attachments`` attachments (att-1, att-2...) listed in the manifest,
    and an ``Id`` on the envelope for the ``#Id`` reference."""
    root = parse_xml(sample_edxml(SENDER, size)).getroot()
    envelope = root.find(f"{_E}edXMLEnvelope")
    assert envelope is not None
    envelope.set("Id", ENVELOPE_ID)
    manifest = envelope.find(f"{_E}edXMLBody/{_E}edXMLManifest")
    container = root.find(f"{_E}AttachmentEncoded")
    assert manifest is not None
    assert container is not None
    for number in range(2, attachments + 1):
        entry = copy.deepcopy(manifest[0])
        entry.find(f"{_E}ContentId").text = f"cid:att-{number}"  # type: ignore[union-attr]
        manifest.append(entry)
        _add_attachment(container, f"att-{number}", f"tệp số {number}".encode() * 50)
    return root


def _add_attachment(container: etree._Element, content_id: str, data: bytes) -> None:
    attachment = copy.deepcopy(container[0])
    attachment.find(f"{_E}ContentId").text = content_id  # type: ignore[union-attr]
    encoded = attachment.find(f"{_E}ContentTransferEncoded")
    assert encoded is not None
    encoded.text = base64.encodebytes(data).decode("ascii")
    container.append(attachment)


def _sign(test_pki: TestPki, root: etree._Element, references: tuple[str, ...] = ()) -> bytes:
    issued = test_pki.agency_rsa2048
    sign(
        root,
        issued.key,
        [issued.cert, test_pki.sub_ca.cert],
        references=(f"#{ENVELOPE_ID}", *references),
        cid_attachments=not references,
    )
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _attachment(root: etree._Element, content_id: str) -> etree._Element:
    for attachment in root.iter(f"{_E}Attachment"):
        if attachment.findtext(f"{_E}ContentId") == content_id:
            return attachment
    raise AssertionError(content_id)


def _decoded(root: etree._Element, content_id: str) -> bytes:
    text = _attachment(root, content_id).findtext(f"{_E}ContentTransferEncoded") or ""
    return base64.b64decode("".join(text.split()))


def _reencode(root: etree._Element, content_id: str, data: bytes) -> None:
    encoded = _attachment(root, content_id).find(f"{_E}ContentTransferEncoded")
    assert encoded is not None
    encoded.text = base64.encodebytes(data).decode("ascii")


@pytest.fixture(scope="module")
def signed_two(test_pki: TestPki) -> bytes:
    return _sign(test_pki, _document(attachments=2))


def test_envelope_plus_cid_references_verify_and_cover_the_whole_package(
    signed_two: bytes, trust: TrustStore
) -> None:
    report = verify(signed_two, trust=trust)
    assert report.status == "valid", report
    detail = report.signatures[0]
    assert detail.coverage == "envelope-and-attachments"
    assert detail.covered == ("/edXML/edXMLEnvelope", "cid:att-1", "cid:att-2")
    # the signature is Bkav-shaped: one cid: reference per attachment, no transforms, and its
    # digest is the SHA-256 of the attachment's raw (base64-decoded) bytes
    root = parse_xml(signed_two).getroot()
    refs = root.findall(f".//{_DS}SignedInfo/{_DS}Reference")
    assert [r.get("URI") for r in refs] == [f"#{ENVELOPE_ID}", "cid:att-1", "cid:att-2"]
    for ref in refs[1:]:
        assert ref.find(f"{_DS}Transforms") is None
        content_id = (ref.get("URI") or "")[4:]
        expected = base64.b64encode(hashlib.sha256(_decoded(root, content_id)).digest())
        assert (ref.findtext(f"{_DS}DigestValue") or "").encode() == expected


def test_content_ids_match_with_or_without_the_cid_prefix(
    test_pki: TestPki, trust: TrustStore
) -> None:
    root = _document(attachments=2)
    _attachment(root, "att-2").find(f"{_E}ContentId").text = "cid:att-2"  # type: ignore[union-attr]
    report = verify(_sign(test_pki, root), trust=trust)
    assert report.status == "valid", report
    assert report.signatures[0].coverage == "envelope-and-attachments"


def test_one_changed_attachment_byte_is_a_digest_mismatch_naming_its_reference(
    signed_two: bytes, trust: TrustStore
) -> None:
    root = parse_xml(signed_two).getroot()
    data = bytearray(_decoded(root, "att-2"))
    data[7] ^= 0x01
    _reencode(root, "att-2", bytes(data))
    report = verify(etree.tostring(root), trust=trust)
    assert report.reason is ReasonCode.DIGEST_MISMATCH, report
    assert "cid:att-2" in report.message
    assert report.signatures[0].failed_reference is not None
    assert "cid:att-2" in report.signatures[0].failed_reference


def test_reencoding_the_same_bytes_differently_still_verifies(
    signed_two: bytes, trust: TrustStore
) -> None:
    """The digest is over the raw bytes, not the base64 text: other line breaks change nothing."""
    root = parse_xml(signed_two).getroot()
    encoded = _attachment(root, "att-1").find(f"{_E}ContentTransferEncoded")
    assert encoded is not None
    encoded.text = base64.b64encode(_decoded(root, "att-1")).decode("ascii")  # one long line
    assert verify(etree.tostring(root), trust=trust).status == "valid"


def test_removed_attachment_is_refused_as_designating_no_attachment(
    signed_two: bytes, trust: TrustStore
) -> None:
    root = parse_xml(signed_two).getroot()
    attachment = _attachment(root, "att-2")
    attachment.getparent().remove(attachment)  # type: ignore[union-attr]
    report = verify(etree.tostring(root), trust=trust)
    assert report.reason is ReasonCode.CID_NO_ATTACHMENT, report
    assert str(report.reason) == "sig.cid_no_attachment"
    assert "cid:att-2" in report.message
    assert report.location.endswith("SignedInfo/Reference[3]")


def test_cid_naming_no_attachment_is_a_precise_refusal(
    signed_two: bytes, trust: TrustStore
) -> None:
    root = parse_xml(signed_two).getroot()
    refs = root.findall(f".//{_DS}SignedInfo/{_DS}Reference")
    refs[1].set("URI", "cid:att-9")
    report = verify(etree.tostring(root), trust=trust)
    assert report.reason is ReasonCode.CID_NO_ATTACHMENT, report
    assert "cid:att-9" in report.message


def test_duplicate_content_id_is_refused(signed_two: bytes, trust: TrustStore) -> None:
    root = parse_xml(signed_two).getroot()
    container = root.find(f"{_E}AttachmentEncoded")
    assert container is not None
    container.append(copy.deepcopy(_attachment(root, "att-1")))
    report = verify(etree.tostring(root), trust=trust)
    assert report.reason is ReasonCode.CID_DUPLICATE, report


def test_extra_unsigned_attachment_leaves_the_signature_partial(
    signed_two: bytes, trust: TrustStore
) -> None:
    root = parse_xml(signed_two).getroot()
    container = root.find(f"{_E}AttachmentEncoded")
    assert container is not None
    _add_attachment(container, "att-3", b"unsigned payload")
    data = etree.tostring(root)
    report = verify(data, trust=trust)
    assert report.reason is ReasonCode.COVERAGE_INCOMPLETE, report
    assert report.signatures[0].coverage == "partial"
    lenient = verify(data, trust=trust, policy=SignaturePolicy(require_full_coverage=False))
    assert lenient.status == "valid", lenient
    assert lenient.signatures[0].coverage == "partial"


def test_manifest_attachment_without_its_cid_reference_is_partial(
    test_pki: TestPki, trust: TrustStore
) -> None:
    data = _sign(test_pki, _document(attachments=2), references=("cid:att-1",))
    report = verify(data, trust=trust)
    assert report.reason is ReasonCode.COVERAGE_INCOMPLETE, report
    assert report.signatures[0].covered == ("/edXML/edXMLEnvelope", "cid:att-1")


def test_attachments_without_the_envelope_are_partial(test_pki: TestPki, trust: TrustStore) -> None:
    root = _document(attachments=1)
    issued = test_pki.agency_rsa2048
    sign(root, issued.key, [issued.cert], references=(), cid_attachments=True)
    report = verify(etree.tostring(root), trust=trust)
    assert report.reason is ReasonCode.COVERAGE_INCOMPLETE, report
    assert report.signatures[0].coverage == "partial"


def test_transform_on_a_cid_reference_is_refused(signed_two: bytes, trust: TrustStore) -> None:
    root = parse_xml(signed_two).getroot()
    ref = root.findall(f".//{_DS}SignedInfo/{_DS}Reference")[1]
    transforms = etree.Element(f"{_DS}Transforms")
    etree.SubElement(transforms, f"{_DS}Transform", Algorithm=f"{DSIG_NS}base64")
    ref.insert(0, transforms)
    report = verify(etree.tostring(root), trust=trust)
    assert report.reason is ReasonCode.TRANSFORM_FORBIDDEN, report


def test_cid_is_not_accepted_outside_the_edxml_profile(signed_two: bytes) -> None:
    """Tax messages carry no attachments: there a cid: URI is a plain refused reference."""
    signature = parse_xml(signed_two).getroot().find(f".//{_DS}Signature")
    assert signature is not None
    with pytest.raises(SignatureRefusedError) as refused:
        precheck(signature, SignaturePolicy(profile=TAX_MESSAGE), "/Signature")
    assert refused.value.reason is ReasonCode.REFERENCE_URI
    assert refused.value.location == "/Signature/SignedInfo/Reference[2]"
    precheck(signature, SignaturePolicy(), "/Signature")  # the edXML profile accepts it


@pytest.mark.parametrize(
    "uri", ["file:///etc/hostname", "/etc/hostname", "http://127.0.0.1:9/x", "cid:a/../b"]
)
def test_other_uris_are_still_refused_before_any_io(
    signed_two: bytes, trust: TrustStore, uri: str
) -> None:
    root = parse_xml(signed_two).getroot()
    root.findall(f".//{_DS}SignedInfo/{_DS}Reference")[1].set("URI", uri)
    report = verify(etree.tostring(root), trust=trust)
    assert report.reason is ReasonCode.REFERENCE_URI, report


class _Counting(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Counting.hits.append(self.path)
        body = b"served"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def loopback() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Counting.hits.clear()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/payload"
    finally:
        server.shutdown()
        server.server_close()


def _libxmlsec1_sign_reference(test_pki: TestPki, uri: str) -> None:
    """Ask libxmlsec1 itself (no pre-check in front) to digest ``uri``."""
    signature = etree.fromstring(
        f'<Signature xmlns="{DSIG_NS}"><SignedInfo>'
        '<CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>'
        '<SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
        f'<Reference URI="{uri}"><DigestMethod '
        'Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue/></Reference>'
        "</SignedInfo><SignatureValue/></Signature>"
    )
    pem = test_pki.agency_rsa2048.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    ctx = xmlsec.SignatureContext()
    ctx.key = xmlsec.Key.from_memory(pem, xmlsec.constants.KeyDataFormatPem)
    ctx.sign(signature)


def test_libxmlsec1_itself_can_read_no_file_and_no_url(
    test_pki: TestPki, tmp_path: Path, loopback: str
) -> None:
    """Defence in depth: even a URI that got past the pre-check finds no IO callback."""
    secret = tmp_path / "secret.txt"
    secret.write_text("bí mật", encoding="utf-8")
    cid_module.install()
    for uri in (secret.as_uri(), str(secret), loopback):
        with pytest.raises(xmlsec.Error):
            _libxmlsec1_sign_reference(test_pki, uri)
    # not even while attachments are being served for a verification
    with cid_module.serving({"cid:att-1": b"x"}), pytest.raises(xmlsec.Error):
        _libxmlsec1_sign_reference(test_pki, loopback)
    assert _Counting.hits == []
    # the positive control: the same call does read what is served
    with cid_module.serving({"cid:att-1": b"x"}):
        _libxmlsec1_sign_reference(test_pki, "cid:att-1")


def test_served_attachments_are_scoped_to_one_call_and_one_thread() -> None:
    seen: list[bool] = []
    with cid_module.serving({"cid:att-1": b"x"}):
        assert cid_module._match(b"cid:att-1")
        assert not cid_module._match(b"cid:att-2")
        other = threading.Thread(target=lambda: seen.append(cid_module._match(b"cid:att-1")))
        other.start()
        other.join()
    assert seen == [False]
    assert not cid_module._match(b"cid:att-1")


def test_documents_verified_alternately_and_concurrently_see_only_their_own_attachments(
    test_pki: TestPki, trust: TrustStore
) -> None:
    """Same content id, different bytes: a leaked map would make the other document mismatch."""
    first = _sign(test_pki, _document(attachments=1, size=1000))
    second_root = _document(attachments=1, size=1000)
    _reencode(second_root, "att-1", b"another document's attachment")
    second = _sign(test_pki, second_root)
    for data in (first, second, first, second):
        assert verify(data, trust=trust).status == "valid"
    tampered = parse_xml(second).getroot()
    _reencode(tampered, "att-1", _decoded(parse_xml(first).getroot(), "att-1"))
    bad = etree.tostring(tampered)
    jobs = [first, second, bad] * 8
    with ThreadPoolExecutor(max_workers=3) as pool:
        statuses = list(pool.map(lambda d: verify(d, trust=trust).reason, jobs))
    assert statuses == [ReasonCode.OK, ReasonCode.OK, ReasonCode.DIGEST_MISMATCH] * 8


@pytest.mark.skipif(XMLSEC1 is None, reason="xmlsec1 (Debian package) not installed")
def test_xmlsec1_verifies_our_cid_signature_given_the_attachment_files(
    signed_two: bytes, test_pki: TestPki, tmp_path: Path
) -> None:
    assert XMLSEC1 is not None
    root = parse_xml(signed_two).getroot()
    document = tmp_path / "signed.edxml"
    document.write_bytes(signed_two)
    args = [XMLSEC1, "--verify", "--pubkey-cert-pem", str(test_pki.agency_rsa2048.cert_path)]
    args += ["--id-attr:Id", f"{EDXML_NS}:edXMLEnvelope"]
    for content_id in ("att-1", "att-2"):
        raw = tmp_path / f"{content_id}.bin"
        raw.write_bytes(_decoded(root, content_id))
        args += [f"--url-map:cid:{content_id}", str(raw)]
    result = subprocess.run(
        [*args, str(document)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    # and a changed attachment file fails there too
    (tmp_path / "att-2.bin").write_bytes(b"changed")
    result = subprocess.run(
        [*args, str(document)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
