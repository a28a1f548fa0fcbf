"""signing.verify on documents signed by the test PKI: verdicts, report contents, policy switches."""

# ruff: noqa: F811  (pytest fixtures imported from tests.signing_fixtures are parameters)
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from edxml.names import EDXML_NS
from edxml.xmlsafe import parse_xml
from signing import (
    TAX_MESSAGE,
    PinnedKeys,
    ReasonCode,
    SignaturePolicy,
    TrustStore,
    Verifier,
    sign,
    verify,
)
from signing.pki import TestPki
from signing.samples import sample_edxml, signed_edxml
from tests.signing_fixtures import revocation_server, test_pki  # noqa: F401

SENDER = "000.00.01.H53"


@pytest.fixture(scope="module")
def trust(test_pki: TestPki) -> TrustStore:
    return TrustStore.from_directory(test_pki.trust_dir)


@pytest.fixture(scope="module")
def signed_2048(test_pki: TestPki) -> bytes:
    issued = test_pki.agency_rsa2048
    return signed_edxml(issued.key, [issued.cert, test_pki.sub_ca.cert], sender=SENDER)


def test_valid_document_report_names_signer_chain_algorithms_and_coverage(
    signed_2048: bytes,
    trust: TrustStore,
    test_pki: TestPki,
) -> None:
    at = datetime.now(UTC)
    report = verify(signed_2048, trust=trust, at=at)
    assert report.status == "valid", report
    assert report.valid
    assert report.reason is ReasonCode.OK
    detail = report.signatures[0]
    leaf = test_pki.agency_rsa2048.cert
    assert detail.signer_subject == leaf.subject.rfc4514_string()
    assert "VĂN PHÒNG UBND TỈNH TÂY NINH" in (detail.signer_subject or "")
    assert detail.signer_serial == format(leaf.serial_number, "X")
    assert detail.issuer_chain[0] == test_pki.sub_ca.cert.subject.rfc4514_string()
    assert detail.issuer_chain[-1] == test_pki.root.cert.subject.rfc4514_string()
    assert detail.signature_method == "rsa-sha256"
    assert detail.digest_methods == ("sha256",)
    assert detail.c14n_method == "exc-c14n"
    assert detail.coverage == "whole-document"
    assert detail.covered == ("/edXML",)
    assert detail.validated_at == at
    assert detail.time_source == "caller"
    assert detail.location == "/edXML/edXMLEnvelope/edXMLHeader/Signature"
    assert not detail.legacy_sha1


@pytest.mark.parametrize("name", ["agency_rsa3072", "official_ecdsa_p256"])
def test_rsa3072_and_ecdsa_p256_signers_verify(
    name: str,
    test_pki: TestPki,
    trust: TrustStore,
) -> None:
    issued = getattr(test_pki, name)
    data = signed_edxml(issued.key, [issued.cert], sender=test_pki.agency_codes[name])
    report = verify(data, trust=trust)
    assert report.valid, report
    expected = "ecdsa-sha256" if "ecdsa" in name else "rsa-sha256"
    assert report.signatures[0].signature_method == expected


def test_revocation_status_and_source_come_from_the_loopback_responder(
    signed_2048: bytes,
    trust: TrustStore,
) -> None:
    with Verifier.with_http_fetcher(trust) as verifier:
        report = verifier.verify(signed_2048)
    assert report.valid, report
    detail = report.signatures[0]
    assert detail.revocation_status == "good"
    assert detail.revocation_source in ("ocsp", "crl")


def test_bytes_tree_and_element_inputs_give_the_same_verdict(
    signed_2048: bytes, trust: TrustStore
) -> None:
    tree = parse_xml(signed_2048)
    verdicts = {verify(x, trust=trust).status for x in (signed_2048, tree, tree.getroot())}
    assert verdicts == {"valid"}


def test_unsigned_document_is_absent_refused_by_require_allowed_by_verify_if_present(
    trust: TrustStore,
) -> None:
    data = sample_edxml(SENDER)
    required = verify(data, trust=trust)
    assert (required.status, required.valid, required.reason) == (
        "absent",
        False,
        ReasonCode.ABSENT,
    )
    assert not required.accepted
    optional = verify(data, trust=trust, policy=SignaturePolicy(mode="verify-if-present"))
    assert optional.status == "absent"
    assert not optional.valid  # nothing was verified ...
    assert optional.accepted  # ... and the policy lets it through
    off = verify(b"not even xml", trust=trust, policy=SignaturePolicy(mode="off"))
    assert off.status == "skipped"
    assert (off.valid, off.accepted) == (False, True)


def test_empty_digitalsignature_placeholder_is_absent_not_forged(trust: TrustStore) -> None:
    tree = parse_xml(sample_edxml(SENDER))
    header = tree.getroot().find(f".//{{{EDXML_NS}}}edXMLHeader")
    assert header is not None
    etree.SubElement(header, f"{{{EDXML_NS}}}DigitalSignature")
    report = verify(tree, trust=trust, policy=SignaturePolicy(mode="verify-if-present"))
    assert report.status == "absent"
    assert not report.valid
    assert report.accepted
    assert report.location.endswith("DigitalSignature")


def test_dummy_signature_value_is_absent_not_forged(signed_2048: bytes, trust: TrustStore) -> None:
    tree = parse_xml(signed_2048)
    value = tree.getroot().find(".//{http://www.w3.org/2000/09/xmldsig#}SignatureValue")
    assert value is not None
    value.text = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    report = verify(tree, trust=trust)
    assert report.status == "absent"
    assert report.reason is ReasonCode.ABSENT
    assert not report.accepted  # the default policy requires a signature


def test_garbled_signature_value_is_malformed_not_absent(
    signed_2048: bytes, trust: TrustStore
) -> None:
    tree = parse_xml(signed_2048)
    value = tree.getroot().find(".//{http://www.w3.org/2000/09/xmldsig#}SignatureValue")
    assert value is not None
    value.text = "this is *not* base64 !!"
    report = verify(tree, trust=trust, policy=SignaturePolicy(mode="verify-if-present"))
    assert report.status == "invalid"
    assert report.reason is ReasonCode.MALFORMED


def test_truncated_signature_value_is_invalid(signed_2048: bytes, trust: TrustStore) -> None:
    tree = parse_xml(signed_2048)
    value = tree.getroot().find(".//{http://www.w3.org/2000/09/xmldsig#}SignatureValue")
    assert value is not None
    assert value.text
    value.text = "".join(value.text.split())[:40]
    report = verify(tree, trust=trust)
    assert report.status == "invalid"
    assert report.reason in (ReasonCode.SIGNATURE_INVALID, ReasonCode.MALFORMED)


def test_sha1_refused_by_default_accepted_and_flagged_under_legacy_policy(
    test_pki: TestPki,
    trust: TrustStore,
) -> None:
    g1 = test_pki.g1_official
    data = signed_edxml(g1.key, [g1.cert], algorithm="rsa-sha1", digest="sha1")
    refused = verify(data, trust=trust)
    assert refused.reason is ReasonCode.SHA1_FORBIDDEN
    legacy = SignaturePolicy(allow_sha1=True, require_sender_binding=False)
    report = verify(data, trust=trust, policy=legacy)
    assert report.valid, report
    assert report.signatures[0].legacy_sha1
    assert "SHA-1" in report.signatures[0].message


def test_validation_time_is_the_callers_not_the_claimed_signing_time(
    test_pki: TestPki,
    trust: TrustStore,
) -> None:
    expired = test_pki.expired
    inside = expired.cert.not_valid_before_utc + timedelta(days=30)
    tree = parse_xml(sample_edxml(SENDER))
    sign(tree, expired.key, [expired.cert], signing_time=inside)  # claims a time it was valid
    now_report = verify(tree, trust=trust)
    assert now_report.reason is ReasonCode.CERT_EXPIRED
    assert now_report.signatures[0].claimed_signing_time == inside.isoformat(timespec="seconds")
    assert now_report.signatures[0].time_source == "verifier-clock"
    then_report = verify(tree, trust=trust, at=inside)
    assert then_report.valid, then_report
    assert then_report.signatures[0].validated_at == inside


def _signed_envelope_only(test_pki: TestPki) -> etree._ElementTree:
    tree = parse_xml(sample_edxml(SENDER))
    envelope = tree.getroot()[0]
    envelope.set("Id", "envelope")
    issued = test_pki.agency_rsa2048
    sign(tree, issued.key, [issued.cert], references=("#envelope",))
    return tree


def test_partial_coverage_is_reported_and_refused_by_default(
    test_pki: TestPki,
    trust: TrustStore,
) -> None:
    tree = _signed_envelope_only(test_pki)
    report = verify(tree, trust=trust)
    assert report.reason is ReasonCode.COVERAGE_INCOMPLETE
    assert report.signatures[0].coverage == "partial"
    assert report.signatures[0].covered == ("/edXML/edXMLEnvelope",)
    relaxed = verify(tree, trust=trust, policy=SignaturePolicy(require_full_coverage=False))
    assert relaxed.valid
    assert relaxed.signatures[0].coverage == "partial"


def test_signer_of_another_agency_is_not_the_sender(
    test_pki: TestPki,
    trust: TrustStore,
) -> None:
    other = test_pki.agency_rsa3072  # names 000.00.18.G12
    data = signed_edxml(other.key, [other.cert], sender=SENDER)
    report = verify(data, trust=trust)
    assert report.reason is ReasonCode.SIGNER_NOT_SENDER
    assert SENDER in report.message
    unbound = verify(data, trust=trust, policy=SignaturePolicy(require_sender_binding=False))
    assert unbound.valid


def test_signature_outside_the_xmldsig_namespace_is_refused(
    signed_2048: bytes, trust: TrustStore
) -> None:
    text = signed_2048.decode("utf-8").replace(
        '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"', "<Signature"
    )
    report = verify(text.encode("utf-8"), trust=trust)
    assert report.reason is ReasonCode.WRONG_NAMESPACE


def test_report_as_json_keeps_vietnamese_names(signed_2048: bytes, trust: TrustStore) -> None:
    report = verify(signed_2048, trust=trust)
    text = json.dumps(report.as_dict(), ensure_ascii=False)
    again = json.loads(text)
    assert again["status"] == "valid"
    assert again["reason"] == "ok"
    assert "TÂY NINH" in again["signatures"][0]["signer_subject"]


def test_pinned_keys_trust_only_the_pinned_certificate(
    signed_2048: bytes,
    test_pki: TestPki,
) -> None:
    assert verify(signed_2048, trust=PinnedKeys((test_pki.agency_rsa2048.cert,))).valid
    other = verify(signed_2048, trust=PinnedKeys((test_pki.agency_rsa3072.cert,)))
    assert other.reason is ReasonCode.CERT_UNTRUSTED_ROOT


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(position=st.integers(min_value=0), value=st.integers(min_value=0, max_value=255))
def test_any_single_byte_change_gives_a_report_never_an_exception(
    signed_2048: bytes, trust: TrustStore, position: int, value: int
) -> None:
    data = bytearray(signed_2048)
    index = position % len(data)
    changed = data[index] != value
    data[index] = value
    original = signed_2048[index]
    report = verify(bytes(data), trust=trust)
    assert report.status in ("valid", "invalid", "absent")
    if changed and report.valid:
        # only changes that leave the signed canonical form alone may pass: the prolog, the
        # Signature's own Id value, X509SubjectName text and the intermediate's copy (unsigned,
        # not used for trust), or
        # whitespace swapped for whitespace inside a tag
        unsigned = [
            (0, signed_2048.index(b"<edXML ")),
            (signed_2048.index(b' Id="sig-'), signed_2048.index(b"><SignedInfo>")),
            (signed_2048.index(b"<X509SubjectName>"), signed_2048.index(b"</X509SubjectName>")),
            # the sub-CA copy in KeyInfo is only a path-building hint: the trust store has it
            (signed_2048.index(b"</X509Certificate>"), signed_2048.index(b"</X509Data>")),
        ]
        whitespace = b" \t\r\n"
        assert any(a <= index < b for a, b in unsigned) or (
            original in whitespace and value in whitespace
        ), (index, original, value)


def test_signer_certificate_naming_no_agency_code_is_unbound() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TỔNG CỤC THUẾ")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    report = verify(signed_edxml(key, [cert], sender=SENDER), trust=PinnedKeys((cert,)))
    assert report.reason is ReasonCode.SIGNER_UNBOUND
    assert "names no agency code" in report.message


def test_several_signatures_by_different_parties_tax_style(
    test_pki: TestPki, trust: TrustStore
) -> None:
    tree = parse_xml(
        "<HDon><DLHDon Id='data'><Ten>Hóa đơn giá trị gia tăng</Ten></DLHDon>"
        "<DSCKS><NBan/><CQT/></DSCKS></HDon>".encode()
    )
    seller, authority = test_pki.agency_rsa2048, test_pki.official_ecdsa_p256
    for party, issued in (("NBan", seller), ("CQT", authority)):
        parent = tree.getroot().find(f"DSCKS/{party}")
        assert parent is not None
        sign(
            tree,
            issued.key,
            [issued.cert],
            parent=parent,
            references=("#data",),
            signing_time=datetime(2026, 1, 1, tzinfo=UTC),
            c14n="http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
        )
    policy = SignaturePolicy(profile=TAX_MESSAGE)
    report = verify(etree.tostring(tree), trust=trust, policy=policy)
    assert report.valid, report
    assert [d.location for d in report.signatures] == [
        "/HDon/DSCKS/NBan/Signature",
        "/HDon/DSCKS/CQT/Signature",
    ]
    assert {d.signature_method for d in report.signatures} == {"rsa-sha256", "ecdsa-sha256"}
    tampered = etree.tostring(tree, encoding="UTF-8").replace(
        "Hóa đơn".encode(), "Hoá đơn".encode()
    )
    assert tampered != etree.tostring(tree, encoding="UTF-8")
    assert verify(tampered, trust=trust, policy=policy).reason is ReasonCode.DIGEST_MISMATCH
