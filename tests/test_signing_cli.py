"""``axis sign`` and ``axis verify``: real files in a temp dir, exit codes 0/1/2, readable output."""

# ruff: noqa: F811  (pytest fixtures imported from tests.signing_fixtures are parameters)
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from axis.cli import main
from edxml.xmlsafe import parse_xml
from signing.algorithms import DSIG_NS
from signing.pki import TestPki
from signing.samples import sample_edxml, signed_edxml
from tests.conftest import shared_path
from tests.signing_fixtures import revocation_server, test_pki  # noqa: F401


@pytest.fixture
def signed_file(test_pki: TestPki, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    source = tmp_path / "công_văn.edxml"
    source.write_bytes(sample_edxml("000.00.01.H53"))
    issued = test_pki.agency_rsa2048
    code = main(
        [
            "sign",
            str(source),
            "--key",
            str(issued.key_path),
            "--cert",
            str(issued.cert_path),
            "--chain",
            str(test_pki.sub_ca.cert_path),
        ]
    )
    assert code == 0
    signed = tmp_path / "công_văn.signed.edxml"
    signed.write_bytes(capsys.readouterr().out.encode("utf-8"))
    return signed


def test_axis_sign_then_verify_prints_valid_and_the_signer(
    signed_file: Path, test_pki: TestPki, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["verify", str(signed_file), "--trust", str(test_pki.trust_dir)])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("valid")
    assert "VĂN PHÒNG UBND TỈNH TÂY NINH" in out
    assert "whole-document" in out


def test_axis_verify_json_is_machine_readable(
    signed_file: Path, test_pki: TestPki, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["verify", str(signed_file), "--trust", str(test_pki.trust_dir), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["status"] == "valid"
    assert report["signatures"][0]["signature_method"] == "rsa-sha256"


def _attack(name: str, signed: bytes, test_pki: TestPki) -> bytes:
    if name == "tampered":
        return signed.replace(b"<edXML:CodeNumber>123<", b"<edXML:CodeNumber>999<")
    if name == "comment-injected":
        return signed.replace(b"<edXML:CodeNumber>123<", b"<edXML:CodeNumber>1<!---->23<")
    if name == "xslt-transform":
        tree = parse_xml(signed)
        transforms = tree.getroot().find(f".//{{{DSIG_NS}}}Transforms")
        assert transforms is not None
        etree.SubElement(
            transforms,
            f"{{{DSIG_NS}}}Transform",
            Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116",
        )
        return etree.tostring(tree)
    issued = getattr(test_pki, name)
    return signed_edxml(issued.key, [issued.cert], sender="000.00.01.H53")


@pytest.mark.parametrize(
    ("attack", "reason"),
    [
        ("tampered", "sig.digest_mismatch"),
        ("comment-injected", "sig.comment_in_signed_data"),
        ("xslt-transform", "sig.transform_forbidden"),
        ("expired", "cert.expired"),
        ("other_leaf", "cert.untrusted_root"),
        ("weak_rsa1024", "cert.weak_key"),
    ],
)
def test_axis_verify_on_an_attack_file_prints_invalid_with_the_reason(
    attack: str,
    reason: str,
    signed_file: Path,
    test_pki: TestPki,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = tmp_path / f"{attack}.edxml"
    target.write_bytes(_attack(attack, signed_file.read_bytes(), test_pki))
    code = main(["verify", str(target), "--trust", str(test_pki.trust_dir)])
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith(f"invalid  {reason}")


def test_axis_verify_exit_2_on_unreadable_file_and_bad_trust_dir(
    tmp_path: Path, test_pki: TestPki, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["verify", str(tmp_path / "missing.edxml"), "--trust", str(test_pki.trust_dir)]) == 2
    )
    assert main(["verify", str(tmp_path), "--trust", str(tmp_path / "no-such-dir")]) == 2
    err = capsys.readouterr().err
    assert "verify.unreadable" in err
    assert "trust." in err


def test_axis_verify_real_tax_notice_at_its_signing_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = shared_path("signed-samples", "taxauthority_notice_rsa-sha256_2.xml")
    trust = tmp_path / "trust"
    (trust / "intermediates").mkdir(parents=True)
    (trust / "root.pem").write_bytes(shared_path("pki", "vgca_root_g2.pem").read_bytes())
    (trust / "intermediates" / "sub.pem").write_bytes(
        shared_path("pki", "vgca_sub_g2_nha_nuoc.pem").read_bytes()
    )
    args = ["verify", str(sample), "--trust", str(trust), "--profile", "tax-message"]
    assert main([*args, "--at", "2022-01-19T14:43:21+07:00"]) == 0
    assert "TỔNG CỤC THUẾ" in capsys.readouterr().out


# --- the configuration's defaults, explicit flags, --at in Vietnam time --------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No AXIS_* signature setting leaks in from the environment running the tests."""
    for name in (
        "AXIS_TRUST_DIR",
        "AXIS_SIGNATURE_MODE",
        "AXIS_ALLOW_SHA1",
        "AXIS_REVOCATION",
        "AXIS_REQUIRE_SENDER_BINDING",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_axis_verify_at_without_offset_is_vietnam_time(
    signed_file: Path,
    test_pki: TestPki,
    clean_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["verify", str(signed_file), "--trust", str(test_pki.trust_dir), "--json"]
    main([*args, "--at", "2025-07-01T00:00"])
    report = json.loads(capsys.readouterr().out)
    at = datetime.fromisoformat(report["validated_at"])
    assert at == datetime(2025, 6, 30, 17, 0, tzinfo=UTC)
    main([*args, "--at", "2025-07-01T00:00Z"])  # an explicit offset is kept
    again = datetime.fromisoformat(json.loads(capsys.readouterr().out)["validated_at"])
    assert again == datetime(2025, 7, 1, 0, 0, tzinfo=UTC)


def test_axis_verify_reads_trust_dir_and_mode_from_the_config_flags_override(
    signed_file: Path,
    test_pki: TestPki,
    tmp_path: Path,
    clean_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clean_env.setenv("AXIS_TRUST_DIR", str(test_pki.trust_dir))
    assert main(["verify", str(signed_file)]) == 0  # no --trust: AXIS_TRUST_DIR is used
    assert capsys.readouterr().out.startswith("valid")
    unsigned = tmp_path / "unsigned.edxml"
    unsigned.write_bytes(sample_edxml("000.00.01.H53"))
    assert main(["verify", str(unsigned)]) == 0  # the config's default: verify-if-present
    assert capsys.readouterr().out.startswith("absent")
    clean_env.setenv("AXIS_SIGNATURE_MODE", "require")
    assert main(["verify", str(unsigned)]) == 1
    assert "requires a signature" in capsys.readouterr().out
    assert main(["verify", str(unsigned), "--mode", "verify-if-present"]) == 0  # flag wins
    capsys.readouterr()
    clean_env.setenv("AXIS_REQUIRE_SENDER_BINDING", "true")
    other = tmp_path / "other.edxml"
    issued = test_pki.agency_rsa3072  # names another agency than the sender
    other.write_bytes(signed_edxml(issued.key, [issued.cert], sender="000.00.01.H53"))
    assert main(["verify", str(other)]) == 1
    assert "sig.signer_not_sender" in capsys.readouterr().out
    assert main(["verify", str(other), "--no-sender-binding"]) == 0


def test_axis_verify_and_pki_check_exit_2_on_a_bad_config_value(
    signed_file: Path,
    test_pki: TestPki,
    clean_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clean_env.setenv("AXIS_SIGNATURE_MODE", "sometimes")
    assert main(["verify", str(signed_file), "--trust", str(test_pki.trust_dir)]) == 2
    err = capsys.readouterr().err
    assert "config.invalid" in err
    assert "AXIS_SIGNATURE_MODE" in err
    clean_env.delenv("AXIS_SIGNATURE_MODE")
    clean_env.setenv("AXIS_REVOCATION", "never")
    cert = str(test_pki.agency_rsa2048.cert_path)
    assert main(["pki", "check", cert, "--trust", str(test_pki.trust_dir)]) == 2
    assert "AXIS_REVOCATION" in capsys.readouterr().err


def test_axis_pki_check_at_without_offset_is_vietnam_time(
    test_pki: TestPki, clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("AXIS_REVOCATION", "off")  # the config's default, no flag given
    cert = str(test_pki.agency_rsa2048.cert_path)
    args = ["pki", "check", cert, "--trust", str(test_pki.trust_dir), "--json"]
    assert main([*args, "--at", "2026-12-01T00:00"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["validated_at"] == "2026-11-30T17:00:00Z"
    assert result["revocation"]["status"] == "not_checked"
