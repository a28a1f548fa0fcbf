"""Forged identities: certificates that try to pass for the sender through what their subject says.

The attacker holds a valid certificate of the (test) government PKI and wants a document from
``000.00.00.G22`` accepted as signed by G22. Either his certificate truly belongs to another
agency (``UID=MDDT:000.00.00.H40``, a value a CA checked) and he slipped G22 in somewhere else,
or he only managed to get G22 into his subject in a shape other than the one documented
attribute. Each case is signed, verified by the real verifier and sent over real HTTP; none may
come out bound to G22: it is refused as ambiguous, refused as another agency's signer, or (the
code is not where the implicit binding reads it) unbound -- a warning here, where binding is not
required, never an acceptance *as G22's signer*. The same corpus goes through the signing
library's own policy (``axis signing verify``), which must refuse every one of them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

from axis.config import AxisConfig
from axis.signer_check import BindingTable, judge_signer
from axis.signers import SignerBinding
from signing import ReasonCode, SignaturePolicy, TrustStore, verify
from signing.binding import IMPLICIT_LABEL, subject_codes
from signing.pki import AGENCY_CODE_PREFIX, TestPki
from tests.axis_server import AxisHttp, RunningAxis
from tests.test_signers import G22, Signer, issue

H40 = "000.00.00.H40"  # the agency the attacker's certificate really belongs to
UID = NameOID.USER_ID
OU = NameOID.ORGANIZATIONAL_UNIT_NAME
CN = NameOID.COMMON_NAME
SERIAL = NameOID.SERIAL_NUMBER
ORG_ID = x509.ObjectIdentifier("2.5.4.97")


def _a(oid: x509.ObjectIdentifier, value: str) -> x509.NameAttribute[str]:
    return x509.NameAttribute(oid, value)


def _rdns(*rdns: list[x509.NameAttribute[str | bytes]]) -> x509.Name:
    return x509.Name([x509.RelativeDistinguishedName(rdn) for rdn in rdns])


def _name(*attributes: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([_a(oid, value) for oid, value in (*attributes, (CN, "Cơ quan thử"))])


UNIQUE_ID = x509.NameAttribute(  # a BIT STRING: its first byte counts the unused bits (none)
    NameOID.X500_UNIQUE_IDENTIFIER, b"\x00" + H40.encode(), _type=_ASN1Type.BitString
)

# name -> (subject, expected verdict, codes the refusal must name)
CORPUS: dict[str, tuple[x509.Name, str, tuple[str, ...]]] = {
    "two UIDs, the real one first": (
        _name((UID, f"MDDT:{H40}"), (UID, f"MDDT:{G22}")),
        "ambiguous",
        (H40, G22),
    ),
    "two UIDs, the forged one first": (
        _name((UID, f"MDDT:{G22}"), (UID, f"MDDT:{H40}")),
        "ambiguous",
        (G22, H40),
    ),
    "multi-valued RDN, UID + UID": (
        _rdns([_a(UID, f"MDDT:{H40}"), _a(UID, f"MDDT:{G22}")], [_a(CN, "x")]),
        "ambiguous",
        (H40, G22),
    ),
    "multi-valued RDN, UID + OU": (
        _rdns([_a(UID, f"MDDT:{G22}"), _a(OU, f"MDDT:{H40}")], [_a(CN, "x")]),
        "ambiguous",
        (G22, H40),
    ),
    "code in OU beside the UID": (_name((UID, f"MDDT:{H40}"), (OU, G22)), "ambiguous", (H40, G22)),
    "forged UID beside a checked OU": (
        _name((OU, H40), (UID, f"MDDT:{G22}")),
        "ambiguous",
        (H40, G22),
    ),
    "code in serialNumber": (
        _name((UID, f"MDDT:{H40}"), (SERIAL, f"MDDT:{G22}")),
        "ambiguous",
        (H40, G22),
    ),
    "code in organizationIdentifier": (
        _name((UID, f"MDDT:{H40}"), (ORG_ID, f"VN-MDDT:{G22}")),
        "ambiguous",
        (H40, G22),
    ),
    "code in CN": (
        _name((UID, f"MDDT:{H40}"), (CN, f"UBND (mã {G22})")),
        "ambiguous",
        (H40, G22),
    ),
    "code with fullwidth digits": (
        _name((UID, f"MDDT:{H40}"), (OU, "０００.００.００.G２２")),
        "ambiguous",
        (H40, G22),
    ),
    "code with other separators": (
        _name((UID, f"MDDT:{H40}"), (OU, "000-00-00-G22")),
        "ambiguous",
        (H40, G22),
    ),
    "code without separators": (
        _name((UID, f"MDDT:{H40}"), (CN, "0000000G22")),
        "ambiguous",
        (H40, G22),
    ),
    "code with a zero-width space": (
        _name((UID, f"MDDT:{H40}"), (OU, "000.00.00.G\u200b22")),
        "ambiguous",
        (H40, G22),
    ),
    "look-alike letter (Cyrillic Н) beside the real code": (
        _name((UID, f"MDDT:{G22}"), (OU, "000.00.00.\u041d40")),
        "ambiguous",
        (G22, "000.00.00.\\u041D40"),
    ),
    "two codes in one UID value": (
        _name((UID, f"MDDT:{H40},{G22}")),
        "ambiguous",
        (H40, G22),
    ),
    "second code after a second label in one value": (
        _name((UID, f"MDDT:{G22};MDDT:{H40}")),
        "ambiguous",
        (G22, H40),
    ),
    "label with a space": (_name((UID, f"MDDT :{G22}")), "unbound", ()),
    "label in lower case": (_name((UID, f"mddt:{G22}")), "unbound", ()),
    "label after a space": (_name((UID, f" MDDT:{G22}")), "unbound", ()),
    "value with a trailing space": (_name((UID, f"MDDT:{G22} ")), "unbound", ()),
    "fullwidth label": (_name((UID, f"ＭＤＤＴ：{G22}")), "unbound", ()),
    "Cyrillic М in the label": (_name((UID, f"\u041cDDT:{G22}")), "unbound", ()),
    "Vietnamese Đ in the label": (_name((UID, f"MĐĐT:{G22}")), "unbound", ()),
    "zero-width space in the code": (_name((UID, "MDDT:000.00.00.G\u200b22")), "unbound", ()),
    "right-to-left override in the code": (_name((UID, f"MDDT:\u202e{G22}")), "unbound", ()),
    "code in lower case": (_name((UID, "MDDT:000.00.00.g22")), "unbound", ()),
    "label twice": (_name((UID, f"MDDT:MDDT:{G22}")), "unbound", ()),
    "code without the label": (_name((UID, G22)), "unbound", ()),
    "label in another attribute": (_name((SERIAL, f"MDDT:{G22}")), "unbound", ()),
    "the same UID twice is not THE one attribute": (
        _name((UID, f"MDDT:{G22}"), (UID, f"MDDT:{G22}")),
        "unbound",
        (),
    ),
    "honest certificate of another agency": (
        _name((UID, f"MDDT:{H40}")),
        "not-sender",
        (H40, G22),
    ),
}
LIBRARY_REASON = {
    "ambiguous": ReasonCode.SIGNER_AMBIGUOUS,
    "unbound": ReasonCode.SIGNER_UNBOUND,
    "not-sender": ReasonCode.SIGNER_NOT_SENDER,
}
REFUSAL_CODE = {"ambiguous": "sig.signer_ambiguous", "not-sender": "sig.signer_not_sender"}


@pytest.fixture(scope="module")
def forged(test_pki: TestPki) -> dict[str, Signer]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {case: issue(test_pki, subject, key) for case, (subject, _, _) in CORPUS.items()}


@pytest.fixture(scope="module")
def sender(test_pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AxisHttp]:
    """G22's system on an axis that does not require a binding (unbound is only a warning)."""
    config = AxisConfig(
        home=Path(tmp_path_factory.mktemp("attacks")),
        trust_dir=test_pki.trust_dir,
        signature_mode="require",
        require_sender_binding=False,
        intake_workers=1,
    )
    with RunningAxis(config) as axis:
        yield axis.add_system("vpcp", (G22,))


def test_a_code_in_a_bit_string_attribute_counts_too() -> None:
    """x500UniqueIdentifier holds bytes, not text. (Signed, such a certificate does not get past
    the path validator, which cannot read the attribute: refused ``cert.invalid`` already.)"""
    codes = subject_codes(x509.Name([_a(UID, f"MDDT:{G22}"), UNIQUE_ID, _a(CN, "x")]))
    assert codes.ambiguous
    assert codes.implicit is None
    assert codes.describe() == f"{G22} (UID), {H40} (2.5.4.45)"


def test_the_implicit_label_is_the_test_pkis() -> None:
    assert IMPLICIT_LABEL == AGENCY_CODE_PREFIX


def test_the_honest_test_pki_certificate_binds_to_its_code(test_pki: TestPki) -> None:
    codes = subject_codes(test_pki.agency_rsa2048.cert.subject)
    assert (codes.implicit, codes.ambiguous) == ("000.00.01.H53", False)


@pytest.mark.parametrize("case", list(CORPUS))
def test_the_subject_reader_is_not_fooled(case: str) -> None:
    subject, expected, names = CORPUS[case]
    codes = subject_codes(subject)
    assert codes.implicit != G22
    assert codes.ambiguous is (expected == "ambiguous")
    for code in names if expected == "ambiguous" else ():
        assert code in codes.describe()


@pytest.mark.parametrize("case", list(CORPUS))
def test_no_forgery_is_accepted_as_the_senders_signer_over_http(
    case: str, forged: dict[str, Signer], sender: AxisHttp
) -> None:
    _, expected, names = CORPUS[case]
    reply = sender.send(forged[case].letter(G22))
    if expected == "unbound":
        assert reply.status == 202, reply.body
        binding = reply.json()["signature"]["binding"]
        assert binding["status"] == "unbound"
        assert binding["code"] == "sig.signer_unbound"
        return
    assert reply.status == 422, reply.body
    problem = reply.json()
    assert problem["code"] == REFUSAL_CODE[expected]
    for code in names:
        assert code in problem["message"], problem["message"]


@pytest.mark.parametrize("case", list(CORPUS))
def test_no_forgery_passes_the_librarys_own_binding(
    case: str, forged: dict[str, Signer], test_pki: TestPki
) -> None:
    _, expected, _ = CORPUS[case]
    report = verify(
        forged[case].letter(G22),
        trust=TrustStore.from_directory(test_pki.trust_dir),
        policy=SignaturePolicy(),  # require_sender_binding: the UID alone
    )
    assert report.reason is LIBRARY_REASON[expected], report.message


@pytest.mark.parametrize("required", [False, True])
def test_an_unbound_forgery_is_refused_where_binding_is_required(
    required: bool, forged: dict[str, Signer], test_pki: TestPki
) -> None:
    """The decision alone, over the worker's summary of a real verification."""
    report = verify(
        forged["label with a space"].letter(G22),
        trust=TrustStore.from_directory(test_pki.trust_dir),
        policy=SignaturePolicy(require_sender_binding=False),
    )
    detail = report.signatures[0]
    assert detail.signer_codes == (G22,)  # found, counted, but not read as a binding
    assert detail.signer_agency is None
    summary = {**detail.as_dict(), "status": report.status}
    verdict = judge_signer(summary, G22, BindingTable(), required=required)
    assert verdict.status == "unbound"
    assert (verdict.refusal is not None) is required
    assert bool(verdict.warnings) is not required
    # an explicit binding is the way out, and it is checked against the sender
    bound = dataclasses.replace(
        BindingTable(), by_key={detail.signer_sha256 or "": _binding(detail.signer_sha256, H40)}
    )
    assert judge_signer(summary, G22, bound, required=required).status == "not-sender"


def _binding(key: str | None, code: str) -> SignerBinding:
    return SignerBinding(key=key or "", by="sha256", codes=(code,), sha256=key)
