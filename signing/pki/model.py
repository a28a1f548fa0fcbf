"""The test PKI as data: what was issued, what was revoked, and reading it back from disk.

Kept apart from the builder so that loading a PKI (tests, the responder, ``axis pki serve``) does
not need the code that generates keys and drives ``openssl``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from signing.errors import PkiError

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

VN_POLICY_OID = x509.ObjectIdentifier("2.16.704.1.1.1.1.1")
SMARTCARD_LOGON_OID = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.2")
AGENCY_CODE_PREFIX = "MDDT:"
MANIFEST = "pki.json"
DEFAULT_BASE_URL = "http://127.0.0.1:8790"


G2_ORG = "Ban Cơ yếu Chính phủ (thử nghiệm)"
G1_ORG = "Ban Co yeu Chinh phu (thu nghiem)"


@dataclass(frozen=True)
class Issued:
    """One certificate of the test PKI with its (unencrypted, test-only) private key."""

    name: str
    cert: x509.Certificate
    key: SigningKey
    cert_path: Path
    key_path: Path


@dataclass(frozen=True)
class Revocation:
    """A revoked certificate as the CA publishes it (CRL entry / OCSP revoked status)."""

    issuer: str  # name of the issuing CA in the PKI
    serial: int
    revoked_at: datetime
    reason: x509.ReasonFlags


@dataclass(frozen=True)
class TestPki:
    """Everything :func:`build_test_pki` made; names say which case each certificate is for."""

    __test__: ClassVar[bool] = False  # not a pytest test class

    directory: Path
    root: Issued
    sub_ca: Issued
    agency_rsa2048: Issued
    agency_rsa3072: Issued
    official_ecdsa_p256: Issued
    expired: Issued
    not_yet_valid: Issued
    revoked: Issued  # revoked; has CDP and OCSP (the validator asks OCSP first)
    wrong_key_usage: Issued  # keyCertSign/keyEncipherment only, no DS/NR
    weak_rsa1024: Issued
    g1_root: Issued
    g1_sub: Issued
    g1_official: Issued  # SHA-1 chain made with the openssl CLI
    other_root: Issued
    other_leaf: Issued  # a valid chain to ANOTHER anchor
    self_signed: Issued
    trust_dir: Path  # TrustStore.from_directory: root + g1_root, intermediates sub_ca + g1_sub
    crl_path: Path  # sub_ca's CRL as DER, written at build time (nextUpdate build + 7 days)
    base_url: str
    # additions beyond the first contract
    revoked_crl_only: Issued  # revoked; CDP only, no OCSP URL (the CRL variant)
    agency_before_2025: Issued  # "Sở Thông tin và Truyền thông" 2021-03-01 .. 2026-03-01
    agency_after_2025: Issued  # renamed "Sở Khoa học và Công nghệ" from 2025-07-01 (re-issued)
    revocations: tuple[Revocation, ...] = ()
    agency_codes: dict[str, str] = field(default_factory=dict)  # issued name -> mã định danh

    def all_issued(self) -> dict[str, Issued]:
        """Every certificate by name (CAs included)."""
        return {n: v for n, v in vars(self).items() if isinstance(v, Issued)}

    @property
    def ca_names(self) -> tuple[str, ...]:
        return ("root", "sub_ca", "g1_root", "g1_sub", "other_root")


def load_test_pki(directory: Path) -> TestPki:
    """Read a PKI that :func:`build_test_pki` wrote (certificates, keys, revocations)."""
    directory = Path(directory)
    manifest_path = directory / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PkiError(
            "pki.no_manifest", f"not a test PKI directory: {exc}", str(manifest_path)
        ) from exc
    issued: dict[str, Issued] = {}
    for name, entry in manifest["issued"].items():
        cert_path, key_path = directory / entry["cert"], directory / entry["key"]
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(
            key_path.read_bytes(), password=None, unsafe_skip_rsa_key_validation=True
        )  # our own freshly generated keys: the slow RSA consistency check buys nothing
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise PkiError("pki.bad_key", "unsupported key type", str(key_path))
        issued[name] = Issued(name, cert, key, cert_path, key_path)
    revocations = tuple(
        Revocation(
            r["issuer"],
            int(r["serial"], 16),
            datetime.fromisoformat(r["revoked_at"]),
            x509.ReasonFlags(r["reason"]),
        )
        for r in manifest["revocations"]
    )
    return TestPki(
        directory=directory,
        trust_dir=directory / manifest["trust_dir"],
        crl_path=directory / manifest["crl_path"],
        base_url=manifest["base_url"],
        revocations=revocations,
        agency_codes=dict(manifest["agency_codes"]),
        **issued,
    )
