"""The small signing mends a newcomer hit: refusals in words naming the signer's certificate,
``axis sign`` refusing a key that is not the certificate's, ``axis verify --trust`` on the folder
``axis pki init`` made, and the profile recognised from the root element.

Real parts throughout: the session's test PKI, real signatures made by libxmlsec1, the real CLI.
"""

# ruff: noqa: F811  (pytest fixtures imported from tests.signing_fixtures are parameters)
from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from axis.cli import main
from edxml.xmlsafe import parse_xml
from signing import SignaturePolicy, TrustStore, verify
from signing.algorithms import DSIG_NS
from signing.errors import SignError
from signing.locate import EDXML, TAX_MESSAGE
from signing.pki import Issued, TestPki
from signing.policy import recognise_profile
from signing.samples import sample_edxml, signed_edxml
from signing.sign import sign
from tests.conftest import shared_path
from tests.signing_fixtures import revocation_server, test_pki  # noqa: F401

REQUIRE = SignaturePolicy(mode="require")


def _fingerprint(issued: Issued) -> str:
    return issued.cert.fingerprint(hashes.SHA256()).hex()


def _with_certificate(document: bytes, issued: Issued) -> bytes:
    """``document`` with the leaf certificate in KeyInfo replaced by ``issued``'s (a swap)."""
    tree = etree.fromstring(document)
    leaf = tree.find(f".//{{{DSIG_NS}}}X509Certificate")
    assert leaf is not None
    leaf.text = base64.b64encode(issued.cert.public_bytes(serialization.Encoding.DER)).decode()
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


def _names_leaf(message: str, leaf: Issued) -> None:
    serial = format(leaf.cert.serial_number, "X")
    assert f"serial {serial}" in message
    assert _fingerprint(leaf)[:16] in message


# -- refusals in words, naming the leaf ---------------------------------------------------------


def test_an_ecdsa_certificate_swapped_under_an_rsa_signature_is_refused_in_words(
    test_pki: TestPki,
) -> None:
    rsa_signed = signed_edxml(
        test_pki.agency_rsa2048.key, [test_pki.agency_rsa2048.cert, test_pki.sub_ca.cert]
    )
    swapped = _with_certificate(rsa_signed, test_pki.official_ecdsa_p256)
    report = verify(swapped, trust=TrustStore.from_directory(test_pki.trust_dir), policy=REQUIRE)
    assert report.reason == "sig.algorithm_key_mismatch"
    assert "failed to verify" not in report.message
    assert "rsa-sha256 needs an RSA key" in report.message
    assert "ECDSA P-256 key" in report.message
    assert "CN=Nguyễn Thị Hồng Nhung" in report.message  # the leaf, not its issuer
    _names_leaf(report.message, test_pki.official_ecdsa_p256)
    assert report.location.endswith("/SignedInfo/SignatureMethod")
    assert report.signatures[0].message == report.message


def test_an_ecdsa_signature_by_another_key_says_which_key_it_was_tried_with(
    test_pki: TestPki,
) -> None:
    stranger = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Kẻ giả mạo")])
    now = datetime.now(UTC)
    own = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(stranger.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(stranger, hashes.SHA256())
    )
    # signed by the stranger, then the official's certificate put in KeyInfo
    forged = _with_certificate(signed_edxml(stranger, [own]), test_pki.official_ecdsa_p256)
    report = verify(forged, trust=TrustStore.from_directory(test_pki.trust_dir), policy=REQUIRE)
    assert report.reason == "sig.signature_invalid"
    assert "does not verify with the signer certificate's ECDSA P-256 key" in report.message
    _names_leaf(report.message, test_pki.official_ecdsa_p256)


def test_the_cli_prints_the_swap_in_words_with_the_certificate(
    test_pki: TestPki, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    signed = signed_edxml(
        test_pki.agency_rsa2048.key, [test_pki.agency_rsa2048.cert, test_pki.sub_ca.cert]
    )
    target = tmp_path / "swapped.edxml"
    target.write_bytes(_with_certificate(signed, test_pki.official_ecdsa_p256))
    code = main(["verify", str(target), "--trust", str(test_pki.trust_dir), "--mode", "require"])
    out = capsys.readouterr().out
    assert code == 1
    head = out.splitlines()[0]
    assert head.startswith("invalid  sig.algorithm_key_mismatch")
    assert "ECDSA P-256 key" in head
    assert "Nguyễn Thị Hồng Nhung" in head
    assert f"sha-256     {_fingerprint(test_pki.official_ecdsa_p256)}" in out


def test_a_refusal_about_the_sub_ca_names_the_signer_not_the_sub_ca(test_pki: TestPki) -> None:
    leaf = test_pki.agency_rsa2048
    signed = signed_edxml(leaf.key, [leaf.cert, test_pki.sub_ca.cert])
    policy = SignaturePolicy(mode="require", revocation="hard-fail")
    report = verify(signed, trust=TrustStore.from_directory(test_pki.trust_dir), policy=policy)
    # no revocation data at all: what fails first is the sub-CA's (no root CRL) or the leaf's
    assert report.reason == "cert.revocation_unavailable"
    _names_leaf(report.message, leaf)
    assert _fingerprint(test_pki.sub_ca)[:16] not in report.message


def test_a_refusal_before_the_crypto_still_names_the_certificate_in_key_info(
    test_pki: TestPki,
) -> None:
    leaf = test_pki.agency_rsa2048
    tree = parse_xml(signed_edxml(leaf.key, [leaf.cert, test_pki.sub_ca.cert]))
    transforms = tree.getroot().find(f".//{{{DSIG_NS}}}Transforms")
    assert transforms is not None
    etree.SubElement(
        transforms,
        f"{{{DSIG_NS}}}Transform",
        Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116",
    )
    report = verify(
        etree.tostring(tree), trust=TrustStore.from_directory(test_pki.trust_dir), policy=REQUIRE
    )
    assert report.reason == "sig.transform_forbidden"
    _names_leaf(report.message, leaf)


# -- axis sign refuses a key that is not the certificate's -------------------------------------


def test_axis_sign_with_a_key_of_another_certificate_exits_2_and_writes_nothing(
    test_pki: TestPki, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "công_văn.edxml"
    source.write_bytes(sample_edxml("000.00.01.H53"))
    output = tmp_path / "signed.edxml"
    base = ["sign", str(source), "--cert", str(test_pki.agency_rsa2048.cert_path)]
    for key in (test_pki.official_ecdsa_p256, test_pki.agency_rsa3072):  # other kind, same kind
        code = main([*base, "--key", str(key.key_path)])
        captured = capsys.readouterr()
        assert code == 2
        assert captured.out == ""  # nothing on stdout
        assert "error sign.key_mismatch" in captured.err
        assert "does not belong to the certificate" in captured.err
        assert format(test_pki.agency_rsa2048.cert.serial_number, "X") in captured.err
        code = main([*base, "--key", str(key.key_path), "-o", str(output)])
        assert code == 2
        assert not output.exists()  # nothing written
        capsys.readouterr()
    # the matching pair signs, into the file
    assert main([*base, "--key", str(test_pki.agency_rsa2048.key_path), "-o", str(output)]) == 0
    assert main(["verify", str(output), "--trust", str(test_pki.trust_dir)]) == 0


def test_sign_refuses_the_mismatch_before_touching_the_document(test_pki: TestPki) -> None:
    tree = parse_xml(sample_edxml())
    before = etree.tostring(tree)
    with pytest.raises(SignError) as err:
        sign(tree, test_pki.official_ecdsa_p256.key, [test_pki.agency_rsa2048.cert])
    assert err.value.code == "sign.key_mismatch"
    assert "ECDSA P-256 key" in err.value.message
    assert "RSA-2048 key" in err.value.message
    assert etree.tostring(tree) == before
    with pytest.raises(SignError) as err:
        sign(
            tree,
            test_pki.agency_rsa2048.key,
            [test_pki.agency_rsa2048.cert],
            algorithm="ecdsa-sha256",
        )
    assert err.value.code == "sign.algorithm_key_mismatch"
    assert etree.tostring(tree) == before


# -- axis verify --trust on the folder axis pki init made -------------------------------------


def test_axis_verify_trust_takes_the_pki_init_folder_with_its_crls(
    test_pki: TestPki, tmp_path: Path, axis_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, revoked = tmp_path / "good.edxml", tmp_path / "revoked.edxml"
    for issued, target in ((test_pki.agency_rsa2048, good), (test_pki.revoked_crl_only, revoked)):
        target.write_bytes(signed_edxml(issued.key, [issued.cert, test_pki.sub_ca.cert]))
    folder = str(test_pki.directory)  # pki.json, certs/, keys/, trust/, crl/
    assert main(["verify", str(good), "--trust", folder]) == 0
    assert capsys.readouterr().out.startswith("valid")
    # its crl/sub_ca.crl lists the revoked certificate
    assert main(["verify", str(revoked), "--trust", folder]) == 1
    out = capsys.readouterr().out
    assert out.startswith("invalid  cert.revoked")
    _names_leaf(out.splitlines()[0], test_pki.revoked_crl_only)
    # the plain trust folder has no CRLs: the same document passes with revocation unknown
    assert main(["verify", str(revoked), "--trust", str(test_pki.trust_dir)]) == 0
    assert "revocation  unknown" in capsys.readouterr().out
    # pki check takes the folder too
    cert = str(test_pki.revoked_crl_only.cert_path)
    assert main(["pki", "check", cert, "--trust", folder]) == 1
    assert capsys.readouterr().out.startswith("REFUSED cert.revoked")


# -- the profile recognised from the root element ---------------------------------------------


def _tax_message(issued: Issued) -> bytes:
    """A tax-authority-style message (``TDiep``) signed at its root, as libxmlsec1 writes it."""
    tree = parse_xml(
        "<TDiep><TTChung><MNGui>TCT</MNGui><MTDiep>TCT0001</MTDiep></TTChung>"
        "<DLieu><TBao>Thông báo về việc tiếp nhận hồ sơ</TBao></DLieu></TDiep>".encode()
    )
    root = tree.getroot()
    sign(tree, issued.key, [issued.cert], parent=root)
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


def test_the_profile_is_recognised_from_the_root(test_pki: TestPki) -> None:
    assert recognise_profile(parse_xml(sample_edxml()).getroot()) is EDXML
    assert recognise_profile(etree.fromstring(b"<edXML/>")) is EDXML  # its refusal says why
    tax = parse_xml(_tax_message(test_pki.agency_rsa2048)).getroot()
    assert recognise_profile(tax) is TAX_MESSAGE


def test_axis_verify_needs_no_profile_flag_and_keeps_the_override(
    test_pki: TestPki, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "thông_báo.xml"
    target.write_bytes(_tax_message(test_pki.agency_rsa2048))
    trust = str(test_pki.trust_dir)
    assert main(["verify", str(target), "--trust", trust, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["status"], report["profile"]) == ("valid", "tax-message")
    # an explicit --profile still wins: a TDiep is not an edXML document
    assert main(["verify", str(target), "--trust", trust, "--profile", "edxml", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["reason"], report["profile"]) == ("sig.unexpected_location", "edxml")
    # an edXML document is still judged as one
    edxml_doc = tmp_path / "công_văn.edxml"
    leaf = test_pki.agency_rsa2048
    edxml_doc.write_bytes(signed_edxml(leaf.key, [leaf.cert, test_pki.sub_ca.cert]))
    assert main(["verify", str(edxml_doc), "--trust", trust, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["profile"] == "edxml"


def test_a_real_tax_notice_verifies_without_the_profile_flag(
    capsys: pytest.CaptureFixture[str], axis_home: Path
) -> None:
    sample = shared_path("signed-samples", "taxauthority_notice_rsa-sha256_1.xml")
    code = main(["verify", str(sample), "--at", "2022-01-12T16:24:22+07:00"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith("valid  1 valid signature(s) (profile tax-message)")
