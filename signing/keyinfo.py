"""Reading the signer's certificate(s) and key out of ``KeyInfo``, and nothing else from it.

KeyInfo is attacker-controlled: it is read for the certificates that the path validator will then
judge, and a ``KeyValue`` beside them must describe the same key (SIGNATURES.md A5), because a
verifier that used the KeyValue while the report named the certificate would lie about the signer.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa
from lxml import etree

from signing.algorithms import DSIG11_NS, DSIG_NS
from signing.precheck import SignatureRefusedError
from signing.report import ReasonCode

_NS = {"ds": DSIG_NS, "dsig11": DSIG11_NS}

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | dsa.DSAPublicKey

_CURVES: dict[str, ec.EllipticCurve] = {
    "urn:oid:1.2.840.10045.3.1.7": ec.SECP256R1(),
    "urn:oid:1.3.132.0.34": ec.SECP384R1(),
    "urn:oid:1.3.132.0.35": ec.SECP521R1(),
}


@dataclass(frozen=True, slots=True)
class KeyMaterial:
    """The certificates KeyInfo carries (leaf first) and a bare key if only KeyValue is there."""

    leaf: x509.Certificate | None
    others: tuple[x509.Certificate, ...]
    key_value: PublicKey | None


def _b64(text: str | None, where: str) -> bytes:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureRefusedError(
            ReasonCode.KEY_INFO, "KeyInfo holds garbled base64", where
        ) from None


def _int(element: etree._Element | None, where: str) -> int:
    if element is None:
        raise SignatureRefusedError(ReasonCode.KEY_INFO, "incomplete KeyValue", where)
    return int.from_bytes(_b64(element.text, where), "big")


_DS = f"{{{DSIG_NS}}}"
_DSIG11 = f"{{{DSIG11_NS}}}"
_KEY_INFO = _DS + "KeyInfo"
_KEY_VALUE = _DS + "KeyValue"
_X509_DATA = _DS + "X509Data"
_X509_CERTIFICATE = _DS + "X509Certificate"
_DER_KEY_VALUE = _DSIG11 + "DEREncodedKeyValue"


def _key_value(key_info: etree._Element, where: str) -> PublicKey | None:
    rsa_el = key_info.find("ds:KeyValue/ds:RSAKeyValue", _NS)
    if rsa_el is not None:
        modulus = _int(rsa_el.find("ds:Modulus", _NS), where)
        exponent = _int(rsa_el.find("ds:Exponent", _NS), where)
        return rsa.RSAPublicNumbers(exponent, modulus).public_key()
    ec_el = key_info.find("ds:KeyValue/dsig11:ECKeyValue", _NS)
    if ec_el is not None:
        curve_el = ec_el.find("dsig11:NamedCurve", _NS)
        curve = _CURVES.get(curve_el.get("URI", "") if curve_el is not None else "")
        point = ec_el.find("dsig11:PublicKey", _NS)
        if curve is None or point is None:
            raise SignatureRefusedError(ReasonCode.KEY_INFO, "unsupported ECKeyValue", where)
        return ec.EllipticCurvePublicKey.from_encoded_point(curve, _b64(point.text, where))
    der_el = key_info.find("dsig11:DEREncodedKeyValue", _NS)
    if der_el is not None:
        try:
            loaded = serialization.load_der_public_key(_b64(der_el.text, where))
        except ValueError:
            raise SignatureRefusedError(
                ReasonCode.KEY_INFO, "DEREncodedKeyValue is not a public key", where
            ) from None
        if not isinstance(loaded, PublicKey):
            raise SignatureRefusedError(ReasonCode.KEY_INFO, "unsupported key type", where)
        return loaded
    dsa_el = key_info.find("ds:KeyValue/ds:DSAKeyValue", _NS)
    if dsa_el is not None:
        numbers = dsa.DSAParameterNumbers(
            _int(dsa_el.find("ds:P", _NS), where),
            _int(dsa_el.find("ds:Q", _NS), where),
            _int(dsa_el.find("ds:G", _NS), where),
        )
        return dsa.DSAPublicNumbers(_int(dsa_el.find("ds:Y", _NS), where), numbers).public_key()
    return None


def _spki(key: PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@lru_cache(maxsize=1024)
def _load_der(der: bytes) -> x509.Certificate:
    """Parse a certificate once: the same signers send document after document.

    Extensions are parsed here too (cryptography parses them lazily), so a corrupted certificate
    fails now, as a KeyInfo problem, rather than deep inside path validation.
    """
    cert = x509.load_der_x509_certificate(der)
    _ = cert.extensions
    _ = cert.public_key()
    return cert


@lru_cache(maxsize=1024)
def _certificates(
    texts: tuple[str, ...], where: str
) -> tuple[x509.Certificate, tuple[x509.Certificate, ...]]:
    """Leaf and other certificates from the base64 texts of KeyInfo (cached by the texts)."""
    ders = tuple(_b64(text, where) for text in texts)
    try:
        certs = [_load_der(der) for der in ders]
    except Exception:  # any parse failure of attacker-supplied DER (ValueError, Duplicate...)
        raise SignatureRefusedError(
            ReasonCode.KEY_INFO, "X509Certificate is not a DER certificate", where
        ) from None
    index = _leaf_index(ders)
    return certs[index], tuple(c for i, c in enumerate(certs) if i != index)


@lru_cache(maxsize=1024)
def _leaf_index(ders: tuple[bytes, ...]) -> int:
    """Which certificate issued none of the others (KeyInfo order is not guaranteed)."""
    certs = [_load_der(d) for d in ders]
    issuers = {c.issuer.public_bytes() for c in certs}
    for index, cert in enumerate(certs):
        if cert.subject.public_bytes() not in issuers:
            return index
    return 0


def read_key_info(
    signature: etree._Element, where: str, children: list[etree._Element] | None = None
) -> KeyMaterial:
    """Certificates and KeyValue of one signature (raises ``sig.key_info``/``sig.key_mismatch``).

    ``children`` is ``list(signature)`` when the caller has it (no second scan of the signature).
    """
    if children is None:
        key_info = next(signature.iterchildren(_KEY_INFO), None)
    else:
        key_info = next((c for c in children if c.tag == _KEY_INFO), None)
    if key_info is None:
        return KeyMaterial(None, (), None)
    # one pass over KeyInfo's few children: the certificates, and whether a KeyValue or
    # DEREncodedKeyValue is there at all (the usual KeyInfo has X509Data only, and the
    # Python-evaluated paths of _key_value are then skipped)
    texts: list[str] = []
    has_key_value = False
    for child in key_info:
        tag = child.tag
        if tag == _X509_DATA:
            texts.extend(c.text or "" for c in child if c.tag == _X509_CERTIFICATE)
        elif tag in (_KEY_VALUE, _DER_KEY_VALUE):
            has_key_value = True
    leaf, others = _certificates(tuple(texts), where) if texts else (None, ())
    key_value = _key_value(key_info, where) if has_key_value else None
    if leaf is not None and key_value is not None:
        leaf_key = leaf.public_key()
        if not isinstance(leaf_key, PublicKey) or _spki(leaf_key) != _spki(key_value):
            raise SignatureRefusedError(
                ReasonCode.KEY_MISMATCH,
                "KeyValue and the X509 certificate in KeyInfo name different keys",
                where,
            )
    return KeyMaterial(leaf, others, key_value)
