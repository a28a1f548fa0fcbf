"""signing.sign: placement and shape, and the round trip with the xmlsec1 command-line tool.

What we sign, ``xmlsec1 --verify`` accepts; what ``xmlsec1 --sign`` signs, we verify: an
independent program (the Debian ``xmlsec1`` binary, not our Python binding's code path) agrees.
"""

# ruff: noqa: F811  (pytest fixtures imported from tests.signing_fixtures are parameters)
from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from axis.paths import examples_dir
from edxml.names import EDXML_NS
from edxml.xmlsafe import parse_xml
from signing import TAX_MESSAGE, SignaturePolicy, SigningError, TrustStore, sign, verify
from signing.algorithms import DSIG_NS
from signing.pki import TestPki
from signing.samples import sample_edxml, signed_edxml
from signing.sign import signature_template
from tests.signing_fixtures import revocation_server, test_pki  # noqa: F401

XMLSEC1 = shutil.which("xmlsec1")
needs_xmlsec1 = pytest.mark.skipif(XMLSEC1 is None, reason="xmlsec1 (Debian package) not installed")


def _xmlsec1(*args: str) -> subprocess.CompletedProcess[str]:
    assert XMLSEC1 is not None
    return subprocess.run([XMLSEC1, *args], capture_output=True, text=True, timeout=60, check=False)


def test_signature_is_the_last_child_of_edxmlheader_in_the_xmldsig_default_namespace(
    test_pki: TestPki,
) -> None:
    issued = test_pki.agency_rsa2048
    tree = parse_xml(signed_edxml(issued.key, [issued.cert, test_pki.sub_ca.cert]))
    header = tree.getroot().find(f"{{{EDXML_NS}}}edXMLEnvelope/{{{EDXML_NS}}}edXMLHeader")
    assert header is not None
    last = header[-1]
    assert last.tag == f"{{{DSIG_NS}}}Signature"
    assert last.prefix is None  # default xmlns, the VN convention
    refs = last.findall(f"{{{DSIG_NS}}}SignedInfo/{{{DSIG_NS}}}Reference")
    assert [r.get("URI") for r in refs] == [""]
    certs = last.findall(f".//{{{DSIG_NS}}}X509Certificate")
    assert len(certs) == 2  # leaf, then the sub-CA


def test_sign_refuses_a_document_that_is_not_edxml(test_pki: TestPki) -> None:
    tree = parse_xml(b"<Other/>")
    with pytest.raises(SigningError) as caught:
        sign(tree, test_pki.agency_rsa2048.key, [test_pki.agency_rsa2048.cert])
    assert caught.value.code == "sign.not_edxml"


def test_sign_refuses_an_unknown_algorithm(test_pki: TestPki) -> None:
    tree = parse_xml(sample_edxml())
    with pytest.raises(SigningError) as caught:
        sign(tree, test_pki.agency_rsa2048.key, [test_pki.agency_rsa2048.cert], algorithm="md5")
    assert caught.value.code == "sign.algorithm"


def test_vn_tax_style_id_references_with_signing_time_round_trip(
    test_pki: TestPki,
) -> None:
    tree = parse_xml(
        "<TDiep><DLieu><TBao><DLTBao Id='data-1'><Ten>Thông báo tiếp nhận</Ten></DLTBao>"
        "<DSCKS><CQT/></DSCKS></TBao></DLieu></TDiep>".encode()
    )
    parent = tree.getroot().find("DLieu/TBao/DSCKS/CQT")
    assert parent is not None
    issued = test_pki.agency_rsa3072
    when = datetime(2026, 1, 12, 16, 24, 22, tzinfo=UTC)
    sign(
        tree,
        issued.key,
        [issued.cert],
        c14n="http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
        parent=parent,
        references=("#data-1",),
        signing_time=when,
    )
    policy = SignaturePolicy(profile=TAX_MESSAGE, require_full_coverage=False)
    report = verify(
        etree.tostring(tree), trust=TrustStore.from_directory(test_pki.trust_dir), policy=policy
    )
    assert report.valid, report
    detail = report.signatures[0]
    assert detail.c14n_method == "c14n"
    assert detail.claimed_signing_time == "2026-01-12T16:24:22+00:00"
    assert detail.covered[0] == "/TDiep/DLieu/TBao/DLTBao"


@needs_xmlsec1
def test_what_we_sign_xmlsec1_verifies(test_pki: TestPki, tmp_path: Path) -> None:
    for name in ("agency_rsa2048", "official_ecdsa_p256"):
        issued = getattr(test_pki, name)
        signed = tmp_path / f"{name}.xml"
        signed.write_bytes(signed_edxml(issued.key, [issued.cert, test_pki.sub_ca.cert]))
        result = _xmlsec1(
            "--verify",
            "--trusted-pem",
            str(test_pki.root.cert_path),
            "--untrusted-pem",
            str(test_pki.sub_ca.cert_path),
            str(signed),
        )
        assert result.returncode == 0, result.stderr
        assert "OK" in result.stdout + result.stderr


@needs_xmlsec1
def test_a_document_we_tampered_xmlsec1_refuses_too(
    test_pki: TestPki,
    tmp_path: Path,
) -> None:
    issued = test_pki.agency_rsa2048
    data = signed_edxml(issued.key, [issued.cert])
    tampered = tmp_path / "tampered.xml"
    tampered.write_bytes(
        data.replace(b"UBND-KT</edXML:CodeNotation>", b"UBND-KX</edXML:CodeNotation>")
    )
    result = _xmlsec1("--verify", "--pubkey-cert-pem", str(issued.cert_path), str(tampered))
    assert result.returncode != 0


@needs_xmlsec1
def test_what_xmlsec1_signs_we_verify(test_pki: TestPki, tmp_path: Path) -> None:
    tree = parse_xml(sample_edxml("000.00.01.H53"))
    signature_template(tree, empty_key_info=True)
    template = tmp_path / "template.xml"
    template.write_bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))
    out = tmp_path / "signed-by-xmlsec1.xml"
    issued = test_pki.agency_rsa2048
    result = _xmlsec1(
        "--sign",
        "--privkey-pem",
        f"{issued.key_path},{issued.cert_path}",
        "--output",
        str(out),
        str(template),
    )
    assert result.returncode == 0, result.stderr
    report = verify(out.read_bytes(), trust=TrustStore.from_directory(test_pki.trust_dir))
    assert report.valid, report
    assert report.signatures[0].coverage == "whole-document"
    assert report.signatures[0].signer_subject == issued.cert.subject.rfc4514_string()


def _examples() -> list[Path]:
    return sorted(examples_dir().glob("*.edxml"))


@pytest.mark.skipif(not _examples(), reason="no examples/*.edxml in the project yet")
def test_every_project_example_signed_by_its_sender_verifies(test_pki: TestPki) -> None:
    trust = TrustStore.from_directory(test_pki.trust_dir)
    issued = test_pki.agency_rsa2048  # names 000.00.01.H53
    verdicts: dict[str, str] = {}
    for path in _examples():
        tree = parse_xml(path.read_bytes())
        sign(tree, issued.key, [issued.cert, test_pki.sub_ca.cert])
        sender = tree.getroot().find(".//{*}MessageHeader/{*}From/{*}OrganId")
        assert sender is not None
        report = verify(etree.tostring(tree, encoding="UTF-8"), trust=trust)
        expected = "ok" if sender.text == "000.00.01.H53" else "sig.signer_not_sender"
        verdicts[path.name] = str(report.reason)
        assert str(report.reason) == expected, (path.name, report)
    assert "ok" in verdicts.values()
