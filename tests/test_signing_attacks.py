"""Attacks on XML signatures that must fail, one test per attack, each named after it.

SIGNATURES.md §4.1 (A1-A12) and §4.4. Every document here is built from a genuine signature by the
test PKI and then attacked; each test asserts the exact reason code, so a refusal for the wrong
reason (which would hide a missing defence) fails the test.
"""

# ruff: noqa: F811  (pytest fixtures imported from tests.signing_fixtures are parameters)
from __future__ import annotations

import base64
import copy

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from edxml.names import EDXML_NS
from edxml.xmlsafe import parse_xml
from signing import ReasonCode, SignaturePolicy, TrustStore, Verifier, sign, verify
from signing.algorithms import DSIG_NS
from signing.pki import TestPki
from signing.samples import sample_edxml, signed_edxml
from tests.signing_fixtures import revocation_server, test_pki  # noqa: F401

SENDER = "000.00.01.H53"
DS = f"{{{DSIG_NS}}}"
ED = f"{{{EDXML_NS}}}"
PARTIAL = SignaturePolicy(require_full_coverage=False)


@pytest.fixture(scope="module")
def trust(test_pki: TestPki) -> TrustStore:
    return TrustStore.from_directory(test_pki.trust_dir)


@pytest.fixture(scope="module")
def signed(test_pki: TestPki) -> bytes:
    issued = test_pki.agency_rsa2048
    return signed_edxml(issued.key, [issued.cert, test_pki.sub_ca.cert], sender=SENDER)


def _tree(data: bytes) -> etree._ElementTree:
    return parse_xml(data)


def _bytes(tree: etree._ElementTree | etree._Element) -> bytes:
    return etree.tostring(tree)


def _signature(tree: etree._ElementTree) -> etree._Element:
    found = tree.getroot().find(f".//{DS}Signature")
    assert found is not None
    return found


def _envelope_signed(test_pki: TestPki) -> etree._ElementTree:
    """A document whose signature covers only ``#envelope`` (the shape wrapping attacks need)."""
    tree = parse_xml(sample_edxml(SENDER))
    tree.getroot()[0].set("Id", "envelope")
    issued = test_pki.agency_rsa2048
    sign(tree, issued.key, [issued.cert], references=("#envelope",))
    assert verify(tree, trust=TrustStore.from_directory(test_pki.trust_dir), policy=PARTIAL).valid
    return tree


def _forged_envelope(original: etree._Element, new_id: str | None) -> etree._Element:
    forged = copy.deepcopy(original)
    subject = forged.find(f".//{ED}Subject")
    assert subject is not None
    subject.text = "Lệnh chuyển tiền khẩn (giả mạo)"
    for sig in forged.iter(f"{DS}Signature"):
        sig.getparent().remove(sig)  # type: ignore[union-attr]
    if new_id is None:
        del forged.attrib["Id"]
    else:
        forged.set("Id", new_id)
    return forged


# --- A3 signature wrapping, in the positions the literature lists (XSW1-8 shapes) -----------------


def test_xsw_signed_envelope_wrapped_inside_forged_envelope(
    test_pki: TestPki, trust: TrustStore
) -> None:
    tree = _envelope_signed(test_pki)
    root = tree.getroot()
    original = root[0]
    forged = _forged_envelope(original, "forged")
    # the forged envelope takes the original's place and keeps the signature at the pinned path
    header = forged.find(f"{ED}edXMLHeader")
    assert header is not None
    header.append(copy.deepcopy(_signature(tree)))
    root.replace(original, forged)
    body = forged.find(f"{ED}edXMLBody")
    assert body is not None
    body.append(original)  # the signed original hides inside the forged one
    for sig in original.iter(f"{DS}Signature"):
        sig.getparent().remove(sig)  # type: ignore[union-attr]
    report = verify(tree, trust=trust, policy=PARTIAL)
    assert report.reason is ReasonCode.REFERENCE_TARGET


def test_xsw_signed_envelope_moved_after_forged_sibling(
    test_pki: TestPki, trust: TrustStore
) -> None:
    tree = _envelope_signed(test_pki)
    root = tree.getroot()
    original = root[0]
    root.insert(0, _forged_envelope(original, None))  # the reader looks at the first one
    report = verify(tree, trust=trust, policy=PARTIAL)
    assert report.reason is ReasonCode.UNEXPECTED_LOCATION


def test_xsw_signed_envelope_moved_into_signature_object(
    test_pki: TestPki, trust: TrustStore
) -> None:
    tree = _envelope_signed(test_pki)
    root = tree.getroot()
    original = root[0]
    signature = copy.deepcopy(_signature(tree))
    forged = _forged_envelope(original, "forged")
    header = forged.find(f"{ED}edXMLHeader")
    assert header is not None
    header.append(signature)
    obj = etree.SubElement(signature, f"{DS}Object")
    moved = copy.deepcopy(original)
    for sig in moved.iter(f"{DS}Signature"):
        sig.getparent().remove(sig)  # type: ignore[union-attr]
    obj.append(moved)
    root.replace(original, forged)
    report = verify(tree, trust=trust, policy=PARTIAL)
    assert report.reason is ReasonCode.REFERENCE_TARGET


def test_xsw_signed_envelope_moved_into_attachment_container(
    test_pki: TestPki, trust: TrustStore
) -> None:
    tree = _envelope_signed(test_pki)
    root = tree.getroot()
    original = root[0]
    forged = _forged_envelope(original, "forged")
    header = forged.find(f"{ED}edXMLHeader")
    assert header is not None
    header.append(copy.deepcopy(_signature(tree)))
    root.replace(original, forged)
    root[1].append(original)  # AttachmentEncoded: a part the application does not read as header
    for sig in original.iter(f"{DS}Signature"):
        sig.getparent().remove(sig)  # type: ignore[union-attr]
    report = verify(tree, trust=trust, policy=PARTIAL)
    assert report.reason is ReasonCode.REFERENCE_TARGET


def test_xsw_forged_envelope_reuses_the_signed_id(test_pki: TestPki, trust: TrustStore) -> None:
    tree = _envelope_signed(test_pki)
    root = tree.getroot()
    original = root[0]
    forged = _forged_envelope(original, "envelope")  # same Id: A2 duplicate ID
    root[1].append(forged)
    report = verify(tree, trust=trust, policy=PARTIAL)
    assert report.reason is ReasonCode.DUPLICATE_ID


def test_xsw_whole_document_signature_then_envelope_swapped(
    signed: bytes, trust: TrustStore
) -> None:
    tree = _tree(signed)
    root = tree.getroot()
    original = root[0]
    forged = copy.deepcopy(original)
    subject = forged.find(f".//{ED}Subject")
    assert subject is not None
    subject.text = "Nội dung giả mạo"
    root.replace(original, forged)
    report = verify(tree, trust=trust)
    assert report.reason is ReasonCode.DIGEST_MISMATCH


# --- references, signatures, comments -------------------------------------------------------


def test_reference_uri_pointing_to_an_element_other_than_the_envelope(
    test_pki: TestPki, trust: TrustStore
) -> None:
    tree = parse_xml(sample_edxml(SENDER))
    subject = tree.getroot().find(f".//{ED}Subject")
    assert subject is not None
    subject.set("Id", "subject")
    issued = test_pki.agency_rsa2048
    sign(tree, issued.key, [issued.cert], references=("#subject",))
    report = verify(tree, trust=trust, policy=PARTIAL)
    assert report.reason is ReasonCode.REFERENCE_TARGET


def test_second_signature_in_the_header(test_pki: TestPki, trust: TrustStore) -> None:
    tree = parse_xml(sample_edxml(SENDER))
    issued = test_pki.agency_rsa2048
    sign(tree, issued.key, [issued.cert])
    sign(tree, issued.key, [issued.cert])
    report = verify(tree, trust=trust)
    assert report.reason is ReasonCode.TOO_MANY


def test_second_signature_placed_elsewhere(
    signed: bytes, test_pki: TestPki, trust: TrustStore
) -> None:
    tree = _tree(signed)
    attacker = test_pki.agency_rsa3072
    attachments = tree.getroot()[1]
    sign(tree, attacker.key, [attacker.cert], parent=attachments)
    report = verify(tree, trust=trust)
    assert report.reason is ReasonCode.UNEXPECTED_LOCATION
    assert "AttachmentEncoded" in report.location


def test_comment_injected_into_signed_text(signed: bytes, trust: TrustStore) -> None:
    text = signed.decode("utf-8").replace(
        "<edXML:Subject>Về việc", "<edXML:Subject>Về việc<!-- chèn -->", 1
    )
    assert text != signed.decode("utf-8")
    report = verify(text.encode("utf-8"), trust=trust)
    assert report.reason is ReasonCode.COMMENT_IN_SIGNED_DATA


# --- KeyInfo and certificates ------------------------------------------------------------


def _swap_certificate(data: bytes, cert_der: bytes) -> bytes:
    tree = _tree(data)
    certs = tree.getroot().findall(f".//{DS}X509Certificate")
    certs[0].text = base64.b64encode(cert_der).decode("ascii")
    for extra in certs[1:]:
        extra.getparent().remove(extra)  # type: ignore[union-attr]
    return _bytes(tree)


def test_keyinfo_certificate_swapped_for_an_untrusted_one(
    signed: bytes, test_pki: TestPki, trust: TrustStore
) -> None:
    der = test_pki.other_leaf.cert.public_bytes(serialization.Encoding.DER)
    report = verify(_swap_certificate(signed, der), trust=trust)
    assert report.reason is ReasonCode.CERT_UNTRUSTED_ROOT


def test_keyinfo_certificate_swapped_for_another_trusted_one(
    signed: bytes, test_pki: TestPki, trust: TrustStore
) -> None:
    der = test_pki.official_ecdsa_p256.cert.public_bytes(serialization.Encoding.DER)
    report = verify(_swap_certificate(signed, der), trust=trust)
    # an RSA signature with an ECDSA certificate: refused in words, not "failed to verify"
    assert report.reason is ReasonCode.ALGORITHM_KEY_MISMATCH
    assert "ECDSA P-256 key" in report.message
    assert not report.valid
    # another RSA certificate of the same CA: the value does not verify with its key
    der = test_pki.agency_rsa3072.cert.public_bytes(serialization.Encoding.DER)
    report = verify(_swap_certificate(signed, der), trust=trust)
    assert report.reason is ReasonCode.SIGNATURE_INVALID
    assert "RSA-3072 key" in report.message


def test_keyvalue_beside_the_certificate_names_another_key(
    signed: bytes, test_pki: TestPki, trust: TrustStore
) -> None:
    tree = _tree(signed)
    key_info = tree.getroot().find(f".//{DS}KeyInfo")
    assert key_info is not None
    other_key = test_pki.agency_rsa3072.key.public_key()
    assert isinstance(other_key, rsa.RSAPublicKey)
    numbers = other_key.public_numbers()
    rsa_value = etree.SubElement(etree.SubElement(key_info, f"{DS}KeyValue"), f"{DS}RSAKeyValue")

    def b64(n: int) -> str:
        return base64.b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).decode()

    etree.SubElement(rsa_value, f"{DS}Modulus").text = b64(numbers.n)
    etree.SubElement(rsa_value, f"{DS}Exponent").text = b64(numbers.e)
    report = verify(tree, trust=trust)
    assert report.reason is ReasonCode.KEY_MISMATCH


def test_retrieval_method_in_keyinfo(signed: bytes, trust: TrustStore) -> None:
    tree = _tree(signed)
    key_info = tree.getroot().find(f".//{DS}KeyInfo")
    assert key_info is not None
    etree.SubElement(key_info, f"{DS}RetrievalMethod", URI="http://127.0.0.1:9/cert")
    report = verify(tree, trust=trust)
    assert report.reason is ReasonCode.KEY_INFO


def test_untrusted_self_signed_chain(test_pki: TestPki, trust: TrustStore) -> None:
    issued = test_pki.self_signed
    report = verify(signed_edxml(issued.key, [issued.cert], sender=SENDER), trust=trust)
    assert report.reason is ReasonCode.CERT_UNTRUSTED_ROOT


def test_valid_chain_from_another_trust_anchor(test_pki: TestPki, trust: TrustStore) -> None:
    issued = test_pki.other_leaf
    data = signed_edxml(issued.key, [issued.cert, test_pki.other_root.cert], sender=SENDER)
    report = verify(data, trust=trust)
    assert report.reason is ReasonCode.CERT_UNTRUSTED_ROOT


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("expired", ReasonCode.CERT_EXPIRED),
        ("not_yet_valid", ReasonCode.CERT_NOT_YET_VALID),
        ("wrong_key_usage", ReasonCode.CERT_KEY_USAGE),
        ("weak_rsa1024", ReasonCode.CERT_WEAK_KEY),
    ],
)
def test_expired_not_yet_valid_wrong_key_usage_and_rsa1024_certificates(
    name: str, reason: ReasonCode, test_pki: TestPki, trust: TrustStore
) -> None:
    issued = getattr(test_pki, name)
    report = verify(signed_edxml(issued.key, [issued.cert], sender=SENDER), trust=trust)
    assert report.reason is reason


@pytest.mark.parametrize("name", ["revoked", "revoked_crl_only"])
def test_revoked_certificate_ocsp_and_crl(name: str, test_pki: TestPki, trust: TrustStore) -> None:
    issued = getattr(test_pki, name)
    data = signed_edxml(issued.key, [issued.cert], sender=SENDER)
    with Verifier.with_http_fetcher(trust) as verifier:
        report = verifier.verify(data)
    assert report.reason is ReasonCode.CERT_REVOKED
    expected = "crl" if name == "revoked_crl_only" else "ocsp"
    assert report.signatures[0].revocation_source == expected


def test_revocation_unavailable_under_hard_fail(signed: bytes, trust: TrustStore) -> None:
    report = verify(signed, trust=trust, policy=SignaturePolicy(revocation="hard-fail"))
    assert report.reason is ReasonCode.CERT_REVOCATION_UNAVAILABLE


def test_ca_certificate_used_as_signer(test_pki: TestPki, trust: TrustStore) -> None:
    issued = test_pki.sub_ca
    report = verify(signed_edxml(issued.key, [issued.cert], sender=SENDER), trust=trust)
    assert report.reason in (ReasonCode.CERT_CA_AS_SIGNER, ReasonCode.CERT_KEY_USAGE)


# --- transforms and algorithms (refused before any crypto runs) -------------------------------


def _edit_signed_info(data: bytes, edit: str) -> bytes:
    tree = _tree(data)
    signed_info = _signature(tree).find(f"{DS}SignedInfo")
    assert signed_info is not None
    ref = signed_info.find(f"{DS}Reference")
    assert ref is not None
    if edit in ("xslt", "xpath"):
        transforms = ref.find(f"{DS}Transforms")
        assert transforms is not None
        uri = {
            "xslt": "http://www.w3.org/TR/1999/REC-xslt-19991116",
            "xpath": "http://www.w3.org/TR/1999/REC-xpath-19991116",
        }[edit]
        transform = etree.SubElement(transforms, f"{DS}Transform", Algorithm=uri)
        etree.SubElement(transform, f"{DS}XPath").text = "true()"
    elif edit == "six-transforms":
        transforms = ref.find(f"{DS}Transforms")
        assert transforms is not None
        for _ in range(5):
            etree.SubElement(
                transforms, f"{DS}Transform", Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"
            )
    elif edit == "hmac":
        method = signed_info.find(f"{DS}SignatureMethod")
        assert method is not None
        method.set("Algorithm", "http://www.w3.org/2000/09/xmldsig#hmac-sha1")
    elif edit == "md5":
        digest = ref.find(f"{DS}DigestMethod")
        assert digest is not None
        digest.set("Algorithm", "http://www.w3.org/2001/04/xmldsig-more#md5")
    elif edit == "external-uri":
        ref.set("URI", "http://127.0.0.1:9/document.xml")
    elif edit == "xpointer":
        ref.set("URI", "#xpointer(/)")
    elif edit == "31-references":
        for _ in range(30):
            signed_info.append(copy.deepcopy(ref))
    return _bytes(tree)


def test_xslt_transform(signed: bytes, trust: TrustStore) -> None:
    report = verify(_edit_signed_info(signed, "xslt"), trust=trust)
    assert report.reason is ReasonCode.TRANSFORM_FORBIDDEN


def test_xpath_transform(signed: bytes, trust: TrustStore) -> None:
    report = verify(_edit_signed_info(signed, "xpath"), trust=trust)
    assert report.reason is ReasonCode.TRANSFORM_FORBIDDEN


def test_six_transforms_exceed_the_limit(signed: bytes, trust: TrustStore) -> None:
    report = verify(_edit_signed_info(signed, "six-transforms"), trust=trust)
    assert report.reason is ReasonCode.TOO_MANY_TRANSFORMS


def test_thirty_one_references_exceed_the_limit(signed: bytes, trust: TrustStore) -> None:
    report = verify(_edit_signed_info(signed, "31-references"), trust=trust)
    assert report.reason is ReasonCode.TOO_MANY_REFERENCES


def test_hmac_signature_method_keyed_with_the_public_key(signed: bytes, trust: TrustStore) -> None:
    report = verify(_edit_signed_info(signed, "hmac"), trust=trust)
    assert report.reason is ReasonCode.HMAC_FORBIDDEN


def test_md5_digest_downgrade(signed: bytes, trust: TrustStore) -> None:
    report = verify(_edit_signed_info(signed, "md5"), trust=trust)
    assert report.reason is ReasonCode.ALGORITHM_FORBIDDEN


def test_sha1_downgrade_with_legacy_flag_off(test_pki: TestPki, trust: TrustStore) -> None:
    issued = test_pki.agency_rsa2048
    data = signed_edxml(issued.key, [issued.cert], algorithm="rsa-sha1", digest="sha1")
    assert verify(data, trust=trust).reason is ReasonCode.SHA1_FORBIDDEN


def test_external_uri_reference(signed: bytes, trust: TrustStore) -> None:
    report = verify(_edit_signed_info(signed, "external-uri"), trust=trust)
    assert report.reason is ReasonCode.REFERENCE_URI


def test_xpointer_reference(signed: bytes, trust: TrustStore) -> None:
    report = verify(_edit_signed_info(signed, "xpointer"), trust=trust)
    assert report.reason is ReasonCode.REFERENCE_URI


# --- changes after signing ------------------------------------------------------------------


def test_header_field_changed_after_signing(signed: bytes, trust: TrustStore) -> None:
    changed = signed.replace(b"<edXML:CodeNumber>123<", b"<edXML:CodeNumber>124<")
    assert changed != signed
    report = verify(changed, trust=trust)
    assert report.reason is ReasonCode.DIGEST_MISMATCH
    assert "Reference" in report.location


def test_attachment_byte_changed_after_signing(signed: bytes, trust: TrustStore) -> None:
    tree = _tree(signed)
    payload = tree.getroot().find("AttachmentEncoded/Attachment/ContentTransferEncoded")
    if payload is None:
        payload = tree.getroot().find(
            f"{ED}AttachmentEncoded/{ED}Attachment/{ED}ContentTransferEncoded"
        )
    assert payload is not None
    raw = bytearray(base64.b64decode(payload.text or ""))
    raw[100] ^= 0x01
    payload.text = base64.encodebytes(bytes(raw)).decode("ascii").strip()
    report = verify(tree, trust=trust)
    assert report.reason is ReasonCode.DIGEST_MISMATCH


def test_attachment_removed_after_signing(signed: bytes, trust: TrustStore) -> None:
    tree = _tree(signed)
    attachments = tree.getroot()[1]
    attachments.remove(attachments[0])
    assert verify(tree, trust=trust).reason is ReasonCode.DIGEST_MISMATCH


def test_extra_unsigned_attachment_appended(signed: bytes, trust: TrustStore) -> None:
    tree = _tree(signed)
    attachments = tree.getroot()[1]
    attachments.append(copy.deepcopy(attachments[0]))
    assert verify(tree, trust=trust).reason is ReasonCode.DIGEST_MISMATCH


def test_whitespace_change_inside_signed_content_fails_outside_passes(
    signed: bytes, trust: TrustStore
) -> None:
    inside = signed.replace(b"<edXML:CodeNumber>123<", b"<edXML:CodeNumber> 123<")
    assert verify(inside, trust=trust).reason is ReasonCode.DIGEST_MISMATCH
    outside = signed.replace(b"?>", b"?>\n\n", 1)
    assert verify(outside, trust=trust).valid


# --- entity tricks (A7): refused by the hardened parser before anything else ---------------------


@pytest.mark.parametrize(
    "prolog",
    [
        '<!DOCTYPE edXML [<!ENTITY x "Nội dung giả">]>',
        '<!DOCTYPE edXML [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
        '<!DOCTYPE edXML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE edXML SYSTEM "http://127.0.0.1:9/edxml.dtd">',
    ],
    ids=["internal-entity", "billion-laughs", "external-entity", "external-dtd"],
)
def test_entity_tricks_in_a_signed_document(prolog: str, signed: bytes, trust: TrustStore) -> None:
    text = signed.decode("utf-8")
    head, _, rest = text.partition("?>")
    attacked = f"{head}?>{prolog}{rest}".replace("Về việc", "&x;" if "x " in prolog else "Về việc")
    report = verify(attacked.encode("utf-8"), trust=trust)
    assert report.reason is ReasonCode.XML_REFUSED
    assert not report.valid
