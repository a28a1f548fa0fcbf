"""Real signatures by the tax authority (VGCA G2), verified with the real certificates.

The expected answer for each file is in ../shared/data/signed-samples/README.md. These are not
edXML: they use the "tax message" signature location profile (``DSCKS/<party>/Signature``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509

from signing import (
    TAX_MESSAGE,
    PinnedKeys,
    ReasonCode,
    SignaturePolicy,
    TrustStore,
    verify,
)
from tests.conftest import shared_path

pytestmark = pytest.mark.shared

VN = timezone(timedelta(hours=7))
TAX = SignaturePolicy(profile=TAX_MESSAGE)
#: Conformance check only: the key the document carries, SHA-1 and 1024-bit RSA tolerated, so the
#: answer is about the XML-DSig itself (which reference is wrong), not about the certificate.
CONFORMANCE = SignaturePolicy(profile=TAX_MESSAGE, allow_sha1=True, min_rsa_bits=1024)
DOCUMENT_KEYS = PinnedKeys(trust_document_keys=True)

NOTICES = {
    "taxauthority_notice_rsa-sha256_1.xml": datetime(2022, 1, 12, 16, 24, 22, tzinfo=VN),
    "taxauthority_notice_rsa-sha256_2.xml": datetime(2022, 1, 19, 14, 43, 21, tzinfo=VN),
}


def _sample(name: str) -> bytes:
    return shared_path("signed-samples", name).read_bytes()


def _cert(name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(shared_path("pki", name).read_bytes())


@pytest.fixture(scope="module")
def government_trust() -> TrustStore:
    """Government-only trust: the real VGCA G2 root, its State-agency sub-CA as intermediate."""
    return TrustStore([_cert("vgca_root_g2.pem")], [_cert("vgca_sub_g2_nha_nuoc.pem")])


@pytest.mark.parametrize("name", sorted(NOTICES))
def test_real_notice_verifies_with_vgca_g2_chain_at_its_signing_day(
    name: str, government_trust: TrustStore
) -> None:
    report = verify(_sample(name), trust=government_trust, at=NOTICES[name], policy=TAX)
    assert report.valid, report
    detail = report.signatures[0]
    assert detail.signer_subject is not None
    assert "TỔNG CỤC THUẾ" in detail.signer_subject
    assert detail.issuer_chain == (
        _cert("vgca_sub_g2_nha_nuoc.pem").subject.rfc4514_string(),
        _cert("vgca_root_g2.pem").subject.rfc4514_string(),
    )
    assert detail.signature_method == "rsa-sha256"
    assert detail.c14n_method == "c14n"
    assert detail.coverage == "partial"
    assert detail.covered[0].endswith("/TBao/DLTBao")
    assert detail.claimed_signing_time is not None
    assert detail.claimed_signing_time.startswith("2022-01-")
    assert detail.validated_at == NOTICES[name]


@pytest.mark.parametrize("name", sorted(NOTICES))
def test_real_notice_is_refused_as_expired_today(name: str, government_trust: TrustStore) -> None:
    today = datetime.now(UTC)
    if today < datetime(2026, 11, 17, tzinfo=UTC):
        pytest.skip("the real leaf only expires on 2026-11-16")
    report = verify(_sample(name), trust=government_trust, policy=TAX)
    assert report.reason is ReasonCode.CERT_EXPIRED


def test_real_notice_verifies_with_the_shipped_default_anchors() -> None:
    name = "taxauthority_notice_rsa-sha256_1.xml"
    report = verify(_sample(name), trust=TrustStore.default(), at=NOTICES[name], policy=TAX)
    assert report.valid, report


def test_commercial_ca_message_is_valid_xmldsig_but_refused_under_government_trust(
    government_trust: TrustStore,
) -> None:
    data = _sample("taxauthority-testcert_bankdata_rsa-sha256_enveloped_1.xml")
    at = datetime(2019, 12, 1, tzinfo=UTC)
    refused = verify(data, trust=government_trust, at=at, policy=TAX)
    assert refused.reason is ReasonCode.CERT_UNTRUSTED_ROOT
    as_xmldsig = verify(data, trust=DOCUMENT_KEYS, policy=TAX)
    assert as_xmldsig.valid, as_xmldsig
    assert as_xmldsig.signatures[0].coverage == "whole-document"


def test_data_tampered_real_notice_is_refused_naming_the_reference(
    government_trust: TrustStore,
) -> None:
    data = _sample("taxauthority_notice_rsa-sha256_1_data_tampered.xml")
    at = NOTICES["taxauthority_notice_rsa-sha256_1.xml"]
    report = verify(data, trust=government_trust, at=at, policy=TAX)
    assert report.reason is ReasonCode.DIGEST_MISMATCH
    assert "#Id-BAAA7B96E1FA43B1BA2F1074BA91159E" in report.location


def test_sigvalue_tampered_real_notice_is_refused(government_trust: TrustStore) -> None:
    data = _sample("taxauthority_notice_rsa-sha256_2_sigvalue_tampered.xml")
    at = NOTICES["taxauthority_notice_rsa-sha256_2.xml"]
    report = verify(data, trust=government_trust, at=at, policy=TAX)
    assert report.reason is ReasonCode.SIGNATURE_INVALID


def test_customs_raw_hash_without_digestinfo_is_refused_with_its_reason() -> None:
    data = shared_path(
        "signed-samples",
        "nonconformant",
        "customs_rsa-sha1_rawhash-no-digestinfo_nonconformant.xml",
    ).read_bytes()
    assert verify(data, trust=DOCUMENT_KEYS, policy=TAX).reason is ReasonCode.SHA1_FORBIDDEN
    report = verify(data, trust=DOCUMENT_KEYS, policy=CONFORMANCE)
    assert report.reason is ReasonCode.DIGEST_MISMATCH  # it hashed the raw string, not C14N
    assert "Reference[@URI='']" in report.location


def test_invoice_with_enveloped_transform_on_an_in_signature_reference_names_that_reference() -> (
    None
):
    data = shared_path(
        "signed-samples",
        "nonconformant",
        "invoice_rsa-sha1_enveloped-transform-on-in-signature-ref_nonconformant.xml",
    ).read_bytes()
    assert verify(data, trust=DOCUMENT_KEYS, policy=TAX).reason is ReasonCode.SHA1_FORBIDDEN
    report = verify(data, trust=DOCUMENT_KEYS, policy=CONFORMANCE)
    assert report.reason is ReasonCode.DIGEST_MISMATCH
    assert "#nguoiban" in report.location  # the second reference; #DLHDon itself is fine


def test_every_real_file_gets_a_verdict_without_crashing(government_trust: TrustStore) -> None:
    folder: Path = shared_path("signed-samples")
    verdicts = {
        path.name: verify(path.read_bytes(), trust=government_trust, policy=TAX)
        for path in sorted(folder.rglob("*.xml"))
    }
    assert len(verdicts) == 7
    refused = {n for n, r in verdicts.items() if not r.valid}
    assert {n for n in verdicts if "tampered" in n or "nonconformant" in n} <= refused
