"""A complete, throw-away test PKI in the VGCA style, and a loopback CRL/OCSP responder for it.

FOR TESTS, DEMOS AND BENCHMARKS ONLY: private keys are written as UNENCRYPTED PEM files next to the
certificates, because tests and the demo responder must sign with them without a passphrase.

Why build it ourselves: the real VGCA hierarchy (SIGNATURES.md §1) cannot sign test documents for
us, yet every case a verifier must refuse (expired, revoked, wrong key usage, SHA-1 chain, CA used
as signer, foreign anchor ...) needs a certificate that really has that property. The profiles
mirror the real ones: UTF-8 Vietnamese DNs, critical BasicConstraints/KeyUsage, policy OID
2.16.704.1.1.1.1.1, EKU clientAuth+emailProtection+smart-card logon, CDP/AIA URLs -- here pointing
at ``base_url`` so :class:`RevocationServer` can answer them on 127.0.0.1.

Agency identity: real G2 organisation certificates name the agency only in O/OU/CN/L and an e-mail
SAN; SIGNATURES.md §1.4 says authorisation must come from the registry, not from the DN. To let the
axis bind a signer to the envelope's sender we also carry the agency code (mã định danh) in the
subject's ``UID`` attribute (OID 0.9.2342.19200300.100.1.1) as ``MDDT:<code>``, the way Vietnamese
certificates carry ``MST:<tax id>`` in that attribute; :func:`signing.binding.agency_codes`
reads it back.

The G1-style chain is SHA-1 signed: cryptography refuses to sign with SHA-1, so those three
certificates are made with the ``openssl`` command line (fixed argument lists, no shell).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

import structlog
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

VN_POLICY_OID = x509.ObjectIdentifier("2.16.704.1.1.1.1.1")
SMARTCARD_LOGON_OID = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.2")
AGENCY_CODE_PREFIX = "MDDT:"
MANIFEST = "pki.json"
DEFAULT_BASE_URL = "http://127.0.0.1:8790"

_log = structlog.get_logger()

G2_ORG = "Ban Cơ yếu Chính phủ (thử nghiệm)"
G1_ORG = "Ban Co yeu Chinh phu (thu nghiem)"


class PkiError(RuntimeError):
    """The test PKI cannot be built or loaded: stable ``code``, ``message``, ``location``."""

    def __init__(self, code: str, message: str, location: str) -> None:
        super().__init__(f"{code} at {location}: {message}")
        self.code = code
        self.message = message
        self.location = location


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


# --- building -----------------------------------------------------------------------------------


def _name(*attrs: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attrs])


def _agency_subject(org: str, code: str, cn: str, locality: str = "Tây Ninh") -> x509.Name:
    return _name(
        (NameOID.COUNTRY_NAME, "VN"),
        (NameOID.LOCALITY_NAME, locality),
        (NameOID.ORGANIZATION_NAME, org),
        (NameOID.USER_ID, AGENCY_CODE_PREFIX + code),
        (NameOID.COMMON_NAME, cn),
    )


def _write_key(key: SigningKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _rsa(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _urls(base_url: str, ca: str) -> tuple[str, str, str]:
    """(CRL, OCSP, caIssuers) URLs of CA ``ca`` under ``base_url``."""
    return f"{base_url}/crl/{ca}.crl", f"{base_url}/ocsp", f"{base_url}/crt/{ca}.crt"


class _Builder:
    """Issues certificates into ``directory`` with cryptography (SHA-256) or openssl (SHA-1)."""

    def __init__(self, directory: Path, base_url: str, now: datetime) -> None:
        self.dir = directory
        self.base_url = base_url.rstrip("/")
        self.now = now
        self.serial = 0x1000
        self.issued: dict[str, Issued] = {}
        self.issuer_of: dict[str, str] = {}
        (directory / "certs").mkdir(parents=True, exist_ok=True)
        (directory / "keys").mkdir(parents=True, exist_ok=True)

    def _next_serial(self) -> int:
        self.serial += 1
        return self.serial

    def _save(self, name: str, cert: x509.Certificate, key: SigningKey, issuer: str) -> Issued:
        cert_path = self.dir / "certs" / f"{name}.pem"
        key_path = self.dir / "keys" / f"{name}.key.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(key, key_path)
        issued = Issued(name, cert, key, cert_path, key_path)
        self.issued[name] = issued
        self.issuer_of[name] = issuer
        return issued

    def ca(
        self,
        name: str,
        subject: x509.Name,
        key: SigningKey,
        issuer: Issued | None,
        not_before: datetime,
        not_after: datetime,
        path_length: int | None = None,
    ) -> Issued:
        signer_key = issuer.key if issuer else key
        b = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer.cert.subject if issuer else subject)
            .public_key(key.public_key())
            .serial_number(self._next_serial())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        )
        if issuer is not None:
            crl_url, _, crt_url = _urls(self.base_url, issuer.name)
            b = (
                b.add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
                    critical=False,
                )
                .add_extension(_cdp(crl_url), critical=False)
                .add_extension(_aia(None, crt_url), critical=False)
            )
        cert = b.sign(signer_key, hashes.SHA256())
        return self._save(name, cert, key, issuer.name if issuer else name)

    def leaf(
        self,
        name: str,
        subject: x509.Name,
        key: SigningKey,
        issuer: Issued,
        not_before: datetime,
        not_after: datetime,
        *,
        key_usage: x509.KeyUsage | None = None,
        email: str | None = None,
        ocsp_url: bool = True,
    ) -> Issued:
        crl_url, ocsp_http, crt_url = _urls(self.base_url, issuer.name)
        ku = key_usage or x509.KeyUsage(True, True, True, True, False, False, False, False, False)
        b = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer.cert.subject)
            .public_key(key.public_key())
            .serial_number(self._next_serial())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(ku, critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [
                        ExtendedKeyUsageOID.CLIENT_AUTH,
                        ExtendedKeyUsageOID.EMAIL_PROTECTION,
                        SMARTCARD_LOGON_OID,
                    ]
                ),
                critical=False,
            )
            .add_extension(
                x509.CertificatePolicies(
                    [
                        x509.PolicyInformation(
                            VN_POLICY_OID, [f"{self.base_url}/pki/pub/policies/CP"]
                        )
                    ]
                ),
                critical=False,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
                critical=False,
            )
            .add_extension(_cdp(crl_url), critical=False)
            .add_extension(_aia(ocsp_http if ocsp_url else None, crt_url), critical=False)
        )
        if email:
            b = b.add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]), False)
        cert = b.sign(issuer.key, hashes.SHA256())
        return self._save(name, cert, key, issuer.name)

    def self_signed(self, name: str, subject: x509.Name, key: SigningKey) -> Issued:
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(self._next_serial())
            .not_valid_before(self.now - timedelta(days=30))
            .not_valid_after(self.now + timedelta(days=3 * 365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, True, False, False, False, False, False, False, False),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        return self._save(name, cert, key, name)

    # -- the SHA-1 chain through the openssl CLI ---------------------------------------------

    def g1_chain(self) -> tuple[Issued, Issued, Issued]:
        openssl = shutil.which("openssl")
        if openssl is None:
            raise PkiError("pki.no_openssl", "the openssl command is needed for SHA-1", "PATH")
        work = Path(tempfile.mkdtemp(prefix="g1-", dir=self.dir))
        try:
            return self._g1_chain(openssl, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _g1_chain(self, openssl: str, work: Path) -> tuple[Issued, Issued, Issued]:
        base = self.base_url
        cnf = work / "g1.cnf"
        cnf.write_text(
            "[req]\ndistinguished_name = dn\n[dn]\n"
            "[v3_root]\nbasicConstraints = critical,CA:TRUE\n"
            "keyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n"
            "[v3_sub]\nbasicConstraints = critical,CA:TRUE\n"
            "keyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n"
            "authorityKeyIdentifier = keyid\n"
            f"crlDistributionPoints = URI:{base}/crl/g1_root.crl\n"
            "[v3_leaf]\nbasicConstraints = CA:FALSE\n"
            "keyUsage = digitalSignature,nonRepudiation,keyEncipherment,dataEncipherment\n"
            "extendedKeyUsage = clientAuth,emailProtection,1.3.6.1.4.1.311.20.2.2\n"
            "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n"
            f"crlDistributionPoints = URI:{base}/crl/g1_sub.crl\n"
            f"authorityInfoAccess = OCSP;URI:{base}/ocsp,caIssuers;URI:{base}/crt/g1_sub.crt\n"
            "subjectAltName = email:can.bo@thu-nghiem.gov.vn\n",
            encoding="utf-8",
        )
        keys = {n: _rsa(2048) for n in ("g1_root", "g1_sub", "g1_official")}
        for n, k in keys.items():
            _write_key(k, work / f"{n}.key")
        subj = {
            "g1_root": f"/C=VN/O={G1_ORG}/CN=Co quan chung thuc so chuyen dung Chinh phu (RootCA)",
            "g1_sub": f"/C=VN/O={G1_ORG}/CN=Co quan chung thuc so Chinh phu",
            "g1_official": f"/C=VN/O={G1_ORG}/OU=Cuc Thue/CN=Tran Thi Binh",
        }

        def run(*args: str) -> None:
            proc = subprocess.run([openssl, *args], capture_output=True, check=False, cwd=work)
            if proc.returncode != 0:
                raise PkiError(
                    "pki.openssl_failed",
                    proc.stderr.decode("utf-8", "replace").strip(),
                    " ".join(args[:2]),
                )

        run("req", "-x509", "-new", "-key", "g1_root.key", "-sha1", "-days", "7300",
            "-subj", subj["g1_root"], "-set_serial", str(self._next_serial()),
            "-config", str(cnf), "-extensions", "v3_root", "-out", "g1_root.pem")  # fmt: skip
        for name, ca, ext, days in (
            ("g1_sub", "g1_root", "v3_sub", "7000"),
            ("g1_official", "g1_sub", "v3_leaf", "3650"),
        ):
            run("req", "-new", "-key", f"{name}.key", "-subj", subj[name],
                "-config", str(cnf), "-out", f"{name}.csr")  # fmt: skip
            run("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
                "-set_serial", str(self._next_serial()), "-days", days, "-sha1",
                "-extfile", str(cnf), "-extensions", ext, "-out", f"{name}.pem")  # fmt: skip
        out = []
        for name, issuer in (
            ("g1_root", "g1_root"),
            ("g1_sub", "g1_root"),
            ("g1_official", "g1_sub"),
        ):
            cert = x509.load_pem_x509_certificate((work / f"{name}.pem").read_bytes())
            out.append(self._save(name, cert, keys[name], issuer))
        return out[0], out[1], out[2]


def _cdp(url: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints(
        [x509.DistributionPoint([x509.UniformResourceIdentifier(url)], None, None, None)]
    )


def _aia(ocsp_url: str | None, ca_issuers_url: str) -> x509.AuthorityInformationAccess:
    descs = []
    if ocsp_url:
        descs.append(
            x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url)
            )
        )
    descs.append(
        x509.AccessDescription(
            AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(ca_issuers_url)
        )
    )
    return x509.AuthorityInformationAccess(descs)


def _dt(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


def build_test_pki(directory: Path, *, base_url: str = DEFAULT_BASE_URL) -> TestPki:
    """Build the whole test PKI into ``directory`` (created if needed) and return it.

    Dates are relative to now for the ordinary leaves (so the PKI keeps working for years), and
    fixed around the 2025 reorganisation for the renamed-agency pair. Takes 1.5-3 s (RSA keys).
    """
    directory = Path(directory).resolve()  # openssl runs with paths inside it, from anywhere
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC).replace(microsecond=0)
    b = _Builder(directory, base_url, now)
    day, year = timedelta(days=1), timedelta(days=365)
    ca_from, ca_to = _dt(2018, 1, 1), now + 30 * year
    leaf_from, leaf_to = now - 30 * day, now - 30 * day + 5 * year

    root = b.ca(
        "root",
        _name(
            (NameOID.COUNTRY_NAME, "VN"),
            (NameOID.ORGANIZATION_NAME, G2_ORG),
            (NameOID.COMMON_NAME, "RootCA chuyên dùng Chính phủ G2 (thử nghiệm)"),
        ),
        _rsa(3072),
        None,
        ca_from,
        ca_to,
    )
    sub = b.ca(
        "sub_ca",
        _name(
            (NameOID.COUNTRY_NAME, "VN"),
            (NameOID.ORGANIZATION_NAME, G2_ORG),
            (NameOID.COMMON_NAME, "CA phục vụ các cơ quan Nhà nước G2 (thử nghiệm)"),
        ),
        _rsa(3072),
        root,
        ca_from,
        ca_to,
        path_length=0,
    )
    codes = {
        "agency_rsa2048": "000.00.01.H53",
        "agency_rsa3072": "000.00.18.G12",
        "official_ecdsa_p256": "000.00.01.H53",
        "expired": "000.00.01.H53",
        "not_yet_valid": "000.00.01.H53",
        "revoked": "000.00.01.H53",
        "revoked_crl_only": "000.00.01.H53",
        "wrong_key_usage": "000.00.01.H53",
        "weak_rsa1024": "000.00.01.H53",
        "agency_before_2025": "000.00.13.H53",
        "agency_after_2025": "000.00.06.H53",
    }
    vp = "Văn phòng UBND tỉnh Tây Ninh"

    def org(
        name: str, org_name: str = vp, cn: str | None = None, loc: str = "Tây Ninh"
    ) -> x509.Name:
        return _agency_subject(org_name, codes[name], cn or org_name.upper(), loc)

    b.leaf("agency_rsa2048", org("agency_rsa2048"), _rsa(2048), sub, leaf_from, leaf_to,
                   email="vanphong@tayninh.gov.vn")  # fmt: skip
    b.leaf(
        "agency_rsa3072",
        org("agency_rsa3072", "BỘ TÀI CHÍNH", "TỔNG CỤC THUẾ", "Hà Nội"),
        _rsa(3072),
        sub,
        leaf_from,
        leaf_to,
        email="cntt@gdt.gov.vn",
    )
    official_subject = _name(
        (NameOID.COUNTRY_NAME, "VN"),
        (NameOID.LOCALITY_NAME, "Tây Ninh"),
        (NameOID.ORGANIZATION_NAME, vp),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "Phòng Hành chính - Tổ chức"),
        (NameOID.USER_ID, AGENCY_CODE_PREFIX + codes["official_ecdsa_p256"]),
        (NameOID.COMMON_NAME, "Nguyễn Thị Hồng Nhung"),
    )
    b.leaf("official_ecdsa_p256", official_subject, ec.generate_private_key(
        ec.SECP256R1()), sub, leaf_from, leaf_to, email="nhung.nth@tayninh.gov.vn")  # fmt: skip
    b.leaf("expired", org("expired"), _rsa(2048), sub, now - 6 * year, now - year)
    b.leaf("not_yet_valid", org("not_yet_valid"), _rsa(2048), sub, now + year,
                     now + 6 * year)  # fmt: skip
    revoked = b.leaf("revoked", org("revoked"), _rsa(2048), sub, leaf_from, leaf_to)
    revoked_crl = b.leaf("revoked_crl_only", org("revoked_crl_only"), _rsa(2048), sub, leaf_from,
                         leaf_to, ocsp_url=False)  # fmt: skip
    b.leaf(
        "wrong_key_usage",
        org("wrong_key_usage"),
        _rsa(2048),
        sub,
        leaf_from,
        leaf_to,
        key_usage=x509.KeyUsage(False, False, True, False, False, True, False, False, False),
    )
    b.leaf("weak_rsa1024", org("weak_rsa1024"), _rsa(1024), sub, leaf_from, leaf_to)
    b.leaf(
        "agency_before_2025",
        org("agency_before_2025", "Sở Thông tin và Truyền thông tỉnh Tây Ninh"),
        _rsa(2048),
        sub,
        _dt(2021, 3, 1),
        _dt(2026, 3, 1),
        email="stttt@tayninh.gov.vn",
    )
    b.leaf(
        "agency_after_2025",
        org("agency_after_2025", "Sở Khoa học và Công nghệ tỉnh Tây Ninh"),
        _rsa(2048),
        sub,
        _dt(2025, 7, 1),
        max(_dt(2030, 7, 1), now + year),
        email="skhcn@tayninh.gov.vn",
    )
    g1_root, g1_sub, _ = b.g1_chain()
    other_key = ec.generate_private_key(ec.SECP256R1())
    other_root = b.ca(
        "other_root",
        _name(
            (NameOID.COUNTRY_NAME, "VN"),
            (NameOID.ORGANIZATION_NAME, "Nhà cung cấp công cộng (thử nghiệm)"),
            (NameOID.COMMON_NAME, "Vietnam National Root CA (thử nghiệm)"),
        ),
        other_key,
        None,
        ca_from,
        ca_to,
    )
    b.leaf(
        "other_leaf",
        _name(
            (NameOID.COUNTRY_NAME, "VN"),
            (NameOID.ORGANIZATION_NAME, "Công ty Cổ phần Thử nghiệm"),
            (NameOID.COMMON_NAME, "Công ty Cổ phần Thử nghiệm"),
        ),
        _rsa(2048),
        other_root,
        leaf_from,
        leaf_to,
    )
    b.self_signed(
        "self_signed",
        _agency_subject(vp, "000.00.01.H53", "VĂN PHÒNG UBND TỈNH TÂY NINH (tự ký)"),
        _rsa(2048),
    )

    revocations = (
        Revocation(
            "sub_ca", revoked.cert.serial_number, now - 10 * day, x509.ReasonFlags.key_compromise
        ),
        Revocation(
            "sub_ca",
            revoked_crl.cert.serial_number,
            now - 10 * day,
            x509.ReasonFlags.key_compromise,
        ),
    )

    trust_dir = directory / "trust"
    (trust_dir / "intermediates").mkdir(parents=True, exist_ok=True)
    for ca in (root, g1_root):
        shutil.copyfile(ca.cert_path, trust_dir / f"{ca.name}.pem")
    for ca in (sub, g1_sub):
        shutil.copyfile(ca.cert_path, trust_dir / "intermediates" / f"{ca.name}.pem")

    crl_dir = directory / "crl"
    crl_dir.mkdir(exist_ok=True)
    crl_path = crl_dir / "sub_ca.crl"
    crl_path.write_bytes(make_crl(sub, revocations, now, now + 7 * day))

    manifest: dict[str, Any] = {
        "format": 1,
        "base_url": b.base_url,
        "built_at": now.isoformat(),
        "issued": {
            n: {
                "cert": str(i.cert_path.relative_to(directory)),
                "key": str(i.key_path.relative_to(directory)),
                "issuer": b.issuer_of[n],
            }
            for n, i in b.issued.items()
        },
        "revocations": [
            {
                "issuer": r.issuer,
                "serial": format(r.serial, "x"),
                "revoked_at": r.revoked_at.isoformat(),
                "reason": r.reason.value,
            }
            for r in revocations
        ],
        "agency_codes": codes,
        "trust_dir": "trust",
        "crl_path": str(crl_path.relative_to(directory)),
    }
    (directory / MANIFEST).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    _log.info("pki.built", directory=str(directory), base_url=b.base_url, certs=len(b.issued))
    return load_test_pki(directory)


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


# --- revocation data ----------------------------------------------------------------------------


def make_crl(
    ca: Issued,
    revocations: tuple[Revocation, ...] | list[Revocation],
    this_update: datetime,
    next_update: datetime,
    *,
    number: int | None = None,
) -> bytes:
    """A DER CRL of ``ca`` listing the revocations whose issuer is ``ca.name``."""
    b = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(number or int(this_update.timestamp())), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
    )
    for r in revocations:
        if r.issuer != ca.name:
            continue
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(r.serial)
            .revocation_date(r.revoked_at)
            .add_extension(x509.CRLReason(r.reason), critical=False)
            .build()
        )
        b = b.add_revoked_certificate(entry)
    return b.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _key_hash(cert: x509.Certificate, algorithm: hashes.HashAlgorithm) -> bytes:
    """Hash of the subjectPublicKey BIT STRING content, as OCSP CertID defines issuerKeyHash."""
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    h = hashes.Hash(algorithm)
    h.update(_spki_bit_string(spki))
    return h.finalize()


def _spki_bit_string(spki: bytes) -> bytes:
    """The public key bits inside a DER SubjectPublicKeyInfo (skip the AlgorithmIdentifier)."""

    def read_len(buf: bytes, i: int) -> tuple[int, int]:
        first = buf[i]
        if first < 0x80:
            return first, i + 1
        n = first & 0x7F
        return int.from_bytes(buf[i + 1 : i + 1 + n], "big"), i + 1 + n

    _, i = read_len(spki, 1)  # outer SEQUENCE
    alg_len, j = read_len(spki, i + 1)  # AlgorithmIdentifier SEQUENCE
    k = j + alg_len  # BIT STRING tag
    bits_len, m = read_len(spki, k + 1)
    return spki[m + 1 : m + bits_len]  # skip the "unused bits" octet


def make_ocsp_response(
    pki: TestPki,
    revocations: tuple[Revocation, ...] | list[Revocation],
    request_der: bytes,
    now: datetime,
    validity: timedelta,
) -> bytes:
    """Answer one OCSP request as the issuing CA itself (responder by key hash, nonce echoed)."""
    try:
        req = ocsp.load_der_ocsp_request(request_der)
    except ValueError:
        return ocsp.OCSPResponseBuilder.build_unsuccessful(
            ocsp.OCSPResponseStatus.MALFORMED_REQUEST
        ).public_bytes(serialization.Encoding.DER)
    issued = pki.all_issued()
    ca = next(
        (
            issued[n]
            for n in pki.ca_names
            if _key_hash(issued[n].cert, req.hash_algorithm) == req.issuer_key_hash
        ),
        None,
    )
    if ca is None:
        return ocsp.OCSPResponseBuilder.build_unsuccessful(
            ocsp.OCSPResponseStatus.UNAUTHORIZED
        ).public_bytes(serialization.Encoding.DER)
    known = {
        i.cert.serial_number
        for n, i in issued.items()
        if i.cert.issuer == ca.cert.subject and n != ca.name
    }
    hit = next(
        (r for r in revocations if r.issuer == ca.name and r.serial == req.serial_number), None
    )
    if hit is not None:
        status, rev_time, reason = ocsp.OCSPCertStatus.REVOKED, hit.revoked_at, hit.reason
    elif req.serial_number in known:
        status, rev_time, reason = ocsp.OCSPCertStatus.GOOD, None, None
    else:
        status, rev_time, reason = ocsp.OCSPCertStatus.UNKNOWN, None, None
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response_by_hash(
            issuer_name_hash=req.issuer_name_hash,
            issuer_key_hash=req.issuer_key_hash,
            serial_number=req.serial_number,
            algorithm=req.hash_algorithm,
            cert_status=status,
            this_update=now,
            next_update=now + validity,
            revocation_time=rev_time,
            revocation_reason=reason,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, ca.cert)
    )
    with contextlib.suppress(x509.ExtensionNotFound):
        nonce = req.extensions.get_extension_for_class(x509.OCSPNonce)
        builder = builder.add_extension(nonce.value, critical=False)
    return builder.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


# --- the loopback responder ---------------------------------------------------------------------


class RevocationServer:
    """Loopback HTTP responder: ``GET /crl/<ca>.crl``, ``GET /crt/<ca>.crt``, ``POST /ocsp``.

    CRLs and OCSP responses are signed fresh on every request (thisUpdate = now, nextUpdate = now +
    ``validity``), so a PKI built days ago still serves current revocation data. ``pki`` may be a
    directory that is filled AFTER the server started: that is how a test session starts the
    server on a free port first and then builds the PKI with the server's ``base_url``.
    ``requests`` counts what was asked (``crl:sub_ca``, ``ocsp``...) so tests can see cache hits.
    """

    def __init__(
        self,
        pki: TestPki | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        validity: timedelta = timedelta(hours=1),
    ) -> None:
        if not ip_address(host).is_loopback:
            raise PkiError("pki.not_loopback", "the test responder binds loopback only", host)
        self._pki = pki if isinstance(pki, TestPki) else None
        self._directory = pki.directory if isinstance(pki, TestPki) else Path(pki)
        self._extra_revocations: list[Revocation] = []
        self._lock = threading.Lock()
        self.validity = validity
        self.requests: Counter[str] = Counter()
        server = ThreadingHTTPServer((host, port), _make_handler(self))
        server.daemon_threads = True
        self._server = server
        self._thread: threading.Thread | None = None
        bound_port = server.server_address[1]
        self.base_url = f"http://{host}:{bound_port}"

    @property
    def pki(self) -> TestPki:
        """The PKI served; loaded from the directory on first use when given as a path."""
        with self._lock:
            if self._pki is None:
                self._pki = load_test_pki(self._directory)
            return self._pki

    def revocations(self) -> tuple[Revocation, ...]:
        with self._lock:
            extra = tuple(self._extra_revocations)
        return self.pki.revocations + extra

    def revoke(
        self,
        issued: Issued,
        at: datetime | None = None,
        reason: x509.ReasonFlags = x509.ReasonFlags.key_compromise,
    ) -> None:
        """Revoke a certificate while serving (not persisted to the PKI directory)."""
        issuer = next(
            n
            for n in self.pki.ca_names
            if self.pki.all_issued()[n].cert.subject == issued.cert.issuer
        )
        with self._lock:
            self._extra_revocations.append(
                Revocation(issuer, issued.cert.serial_number, at or datetime.now(UTC), reason)
            )

    def count(self, key: str) -> None:
        with self._lock:
            self.requests[key] += 1

    def start(self) -> RevocationServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="revocation-server", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> RevocationServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _make_handler(owner: RevocationServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "axis-test-pki/1"

        def log_message(self, format: str, *args: Any) -> None:
            _log.debug("pki.http", line=format % args)

        def _send(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            parts = self.path.strip("/").split("/")
            if len(parts) == 2 and parts[0] in {"crl", "crt"}:
                name, _, ext = parts[1].rpartition(".")
                pki = owner.pki
                if name in pki.ca_names and ext == parts[0]:
                    ca = pki.all_issued()[name]
                    owner.count(f"{parts[0]}:{name}")
                    if ext == "crt":
                        body = ca.cert.public_bytes(serialization.Encoding.DER)
                        return self._send(200, body, "application/pkix-cert")
                    now = datetime.now(UTC).replace(microsecond=0)
                    crl = make_crl(ca, owner.revocations(), now, now + owner.validity)
                    return self._send(200, crl, "application/pkix-crl")
            return self._send(404, b"not found\n", "text/plain")

        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/ocsp":
                return self._send(404, b"not found\n", "text/plain")
            length = int(self.headers.get("Content-Length", "0"))
            if length <= 0 or length > 64 * 1024:
                return self._send(400, b"bad request\n", "text/plain")
            body = self.rfile.read(length)
            owner.count("ocsp")
            now = datetime.now(UTC).replace(microsecond=0)
            resp = make_ocsp_response(owner.pki, owner.revocations(), body, now, owner.validity)
            return self._send(200, resp, "application/ocsp-response")

    return Handler
