"""Issuing the test PKI's certificates: the VGCA-style profiles with cryptography, and the
SHA-1 (G1-style) chain with the ``openssl`` command line, which cryptography refuses to sign with.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from signing.errors import PkiError
from signing.pki.model import (
    AGENCY_CODE_PREFIX,
    G1_ORG,
    SMARTCARD_LOGON_OID,
    VN_POLICY_OID,
    Issued,
    SigningKey,
)


def dn(*attrs: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attrs])


def agency_subject(org: str, code: str, cn: str, locality: str = "Tây Ninh") -> x509.Name:
    return dn(
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


def new_rsa_key(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _urls(base_url: str, ca: str) -> tuple[str, str, str]:
    """(CRL, OCSP, caIssuers) URLs of CA ``ca`` under ``base_url``."""
    return f"{base_url}/crl/{ca}.crl", f"{base_url}/ocsp", f"{base_url}/crt/{ca}.crt"


class Builder:
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
        keys = {n: new_rsa_key(2048) for n in ("g1_root", "g1_sub", "g1_official")}
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
