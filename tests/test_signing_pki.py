"""The test PKI: profiles, Vietnamese names, keys, SHA-1 chain, the loopback responder, the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from axis.cli import main as _axis_main
from signing.pki import (
    PkiError,
    RevocationServer,
    TestPki,
    load_test_pki,
)
from signing.revocation import crl_urls, ocsp_urls
from tests.signing_fixtures import revocation_server, test_pki

__all__ = ["revocation_server", "test_pki"]

VN_POLICY = x509.ObjectIdentifier("2.16.704.1.1.1.1.1")


def axis_main(argv: list[str]) -> int:
    """Run the CLI in-process, then undo its logging set-up: it binds the stderr of the moment,
    which is pytest's capture file that is closed after this test."""
    try:
        return _axis_main(argv)
    finally:
        structlog.reset_defaults()


def _attr(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str:
    value = cert.subject.get_attributes_for_oid(oid)[0].value
    assert isinstance(value, str)
    return value


def test_agency_certificates_follow_the_g2_profile(test_pki: TestPki) -> None:
    cert = test_pki.agency_rsa2048.cert
    assert _attr(cert, NameOID.ORGANIZATION_NAME) == "Văn phòng UBND tỉnh Tây Ninh"
    assert _attr(cert, NameOID.LOCALITY_NAME) == "Tây Ninh"
    assert _attr(cert, NameOID.USER_ID) == "MDDT:000.00.01.H53"
    assert test_pki.agency_codes["agency_rsa2048"] == "000.00.01.H53"
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical
    assert not bc.value.ca
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical
    assert ku.value.digital_signature
    assert ku.value.content_commitment
    policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier for p in policies] == [VN_POLICY]
    assert cert.issuer == test_pki.sub_ca.cert.subject
    assert cert.signature_hash_algorithm is not None
    assert cert.signature_hash_algorithm.name == "sha256"
    cert.verify_directly_issued_by(test_pki.sub_ca.cert)
    test_pki.sub_ca.cert.verify_directly_issued_by(test_pki.root.cert)


def test_key_types_and_sizes(test_pki: TestPki) -> None:
    def bits(name: str) -> int:
        key = test_pki.all_issued()[name].cert.public_key()
        assert isinstance(key, rsa.RSAPublicKey)
        return key.key_size

    assert bits("agency_rsa2048") == 2048
    assert bits("agency_rsa3072") == 3072
    assert bits("weak_rsa1024") == 1024
    ec_key = test_pki.official_ecdsa_p256.cert.public_key()
    assert isinstance(ec_key, ec.EllipticCurvePublicKey)
    assert isinstance(ec_key.curve, ec.SECP256R1)
    assert _attr(test_pki.official_ecdsa_p256.cert, NameOID.COMMON_NAME) == "Nguyễn Thị Hồng Nhung"


def test_case_certificates_have_their_property(test_pki: TestPki) -> None:
    now = datetime.now(UTC)
    assert test_pki.expired.cert.not_valid_after_utc < now
    assert test_pki.not_yet_valid.cert.not_valid_before_utc > now
    ku = test_pki.wrong_key_usage.cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert not ku.digital_signature
    assert not ku.content_commitment
    assert test_pki.self_signed.cert.issuer == test_pki.self_signed.cert.subject
    assert test_pki.other_leaf.cert.issuer == test_pki.other_root.cert.subject
    revoked_serials = {r.serial for r in test_pki.revocations}
    assert test_pki.revoked.cert.serial_number in revoked_serials
    assert test_pki.revoked_crl_only.cert.serial_number in revoked_serials
    assert ocsp_urls(test_pki.revoked_crl_only.cert) == []
    assert crl_urls(test_pki.revoked_crl_only.cert)


def test_g1_chain_is_sha1_and_verifies_with_openssl(test_pki: TestPki, tmp_path: Path) -> None:
    for issued in (test_pki.g1_root, test_pki.g1_sub, test_pki.g1_official):
        algo = issued.cert.signature_hash_algorithm
        assert algo is not None, issued.name
        assert algo.name == "sha1", issued.name
    assert "Chinh phu" in _attr(test_pki.g1_sub.cert, NameOID.COMMON_NAME)
    openssl = shutil.which("openssl")
    assert openssl is not None
    proc = subprocess.run(
        [openssl, "verify", "-CAfile", str(test_pki.g1_root.cert_path), "-untrusted",
         str(test_pki.g1_sub.cert_path), str(test_pki.g1_official.cert_path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def test_urls_point_at_the_base_url(test_pki: TestPki) -> None:
    cert = test_pki.agency_rsa3072.cert
    assert crl_urls(cert) == [f"{test_pki.base_url}/crl/sub_ca.crl"]
    assert ocsp_urls(cert) == [f"{test_pki.base_url}/ocsp"]
    assert crl_urls(test_pki.sub_ca.cert) == [f"{test_pki.base_url}/crl/root.crl"]
    assert crl_urls(test_pki.g1_official.cert) == [f"{test_pki.base_url}/crl/g1_sub.crl"]


def test_key_files_are_unencrypted_pem_matching_the_certificates(test_pki: TestPki) -> None:
    for issued in test_pki.all_issued().values():
        key = serialization.load_pem_private_key(issued.key_path.read_bytes(), password=None)
        pub = serialization.PublicFormat.SubjectPublicKeyInfo
        enc = serialization.Encoding.DER
        assert key.public_key().public_bytes(enc, pub) == issued.cert.public_key().public_bytes(
            enc, pub
        ), issued.name
        assert issued.cert_path.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")


def test_load_test_pki_round_trips(test_pki: TestPki) -> None:
    again = load_test_pki(test_pki.directory)
    assert again.base_url == test_pki.base_url
    assert again.revocations == test_pki.revocations
    assert {n: i.cert for n, i in again.all_issued().items()} == {
        n: i.cert for n, i in test_pki.all_issued().items()
    }


def test_load_refuses_a_foreign_directory(tmp_path: Path) -> None:
    with pytest.raises(PkiError) as err:
        load_test_pki(tmp_path)
    assert err.value.code == "pki.no_manifest"


def test_crl_file_lists_the_revoked(test_pki: TestPki) -> None:
    crl = x509.load_der_x509_crl(test_pki.crl_path.read_bytes())
    assert crl.issuer == test_pki.sub_ca.cert.subject
    entry = crl.get_revoked_certificate_by_serial_number(test_pki.revoked.cert.serial_number)
    assert entry is not None
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason == x509.ReasonFlags.key_compromise


def test_server_serves_crls_certificates_and_counts(
    test_pki: TestPki, revocation_server: RevocationServer
) -> None:
    assert revocation_server.base_url == test_pki.base_url
    before = revocation_server.requests["crl:g1_sub"]
    with urllib.request.urlopen(f"{test_pki.base_url}/crl/g1_sub.crl", timeout=5) as resp:
        crl = x509.load_der_x509_crl(resp.read())
    assert crl.issuer == test_pki.g1_sub.cert.subject
    assert revocation_server.requests["crl:g1_sub"] == before + 1
    with urllib.request.urlopen(f"{test_pki.base_url}/crt/sub_ca.crt", timeout=5) as resp:
        assert x509.load_der_x509_certificate(resp.read()) == test_pki.sub_ca.cert
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{test_pki.base_url}/crl/agency_rsa2048.crl", timeout=5)
    assert err.value.code == 404


def test_server_binds_loopback_only(test_pki: TestPki) -> None:
    with pytest.raises(PkiError) as err:
        RevocationServer(test_pki, host="0.0.0.0")
    assert err.value.code == "pki.not_loopback"


def test_cli_pki_init(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "pki"
    assert (
        axis_main(["pki", "init", str(target), "--base-url", "http://127.0.0.1:8799", "--json"])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["base_url"] == "http://127.0.0.1:8799"
    names = {c["name"] for c in out["certificates"]}
    assert {"root", "sub_ca", "agency_rsa2048", "g1_official", "revoked"} <= names
    official = next(c for c in out["certificates"] if c["name"] == "official_ecdsa_p256")
    assert official["common_name"] == "Nguyễn Thị Hồng Nhung"
    assert load_test_pki(target).base_url == "http://127.0.0.1:8799"


def test_cli_pki_serve_and_check(test_pki: TestPki) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "axis.cli", "pki", "serve", str(test_pki.directory), "--port", "0"],
        stdout=subprocess.PIPE, text=True, encoding="utf-8",
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks until the server is listening (or exits)
        assert line.startswith("serving CRL/OCSP"), line
        url = line.split(" at ")[-1].strip()
        with urllib.request.urlopen(f"{url}/crl/sub_ca.crl", timeout=5) as resp:
            assert x509.load_der_x509_crl(resp.read()).issuer == test_pki.sub_ca.cert.subject
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_cli_pki_check(test_pki: TestPki, capsys: pytest.CaptureFixture[str]) -> None:
    ok = axis_main(["pki", "check", str(test_pki.agency_rsa2048.cert_path),
                    "--trust", str(test_pki.trust_dir), "--fetch", "--revocation", "hard-fail"])  # fmt: skip
    out = capsys.readouterr().out
    assert ok == 0
    assert out.startswith("VALID at ")
    assert "revocation: good (ocsp)" in out
    refused = axis_main(["pki", "check", str(test_pki.revoked_crl_only.cert_path),
                         "--trust", str(test_pki.trust_dir), "--fetch", "--json"])  # fmt: skip
    assert refused == 1
    report = json.loads(capsys.readouterr().out)
    assert report["reason"] == "cert.revoked"
    assert report["revocation"]["source"] == "crl"
