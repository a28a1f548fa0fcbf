"""``build_test_pki``: every certificate case a verifier must accept or refuse, written to disk."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from signing.pki.issuer import Builder, agency_subject, dn, new_rsa_key
from signing.pki.model import (
    AGENCY_CODE_PREFIX,
    DEFAULT_BASE_URL,
    G2_ORG,
    MANIFEST,
    Revocation,
    TestPki,
    load_test_pki,
)
from signing.pki.responses import make_crl

_log = structlog.get_logger()


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
    b = Builder(directory, base_url, now)
    day, year = timedelta(days=1), timedelta(days=365)
    ca_from, ca_to = _dt(2018, 1, 1), now + 30 * year
    leaf_from, leaf_to = now - 30 * day, now - 30 * day + 5 * year

    root = b.ca(
        "root",
        dn(
            (NameOID.COUNTRY_NAME, "VN"),
            (NameOID.ORGANIZATION_NAME, G2_ORG),
            (NameOID.COMMON_NAME, "RootCA chuyên dùng Chính phủ G2 (thử nghiệm)"),
        ),
        new_rsa_key(3072),
        None,
        ca_from,
        ca_to,
    )
    sub = b.ca(
        "sub_ca",
        dn(
            (NameOID.COUNTRY_NAME, "VN"),
            (NameOID.ORGANIZATION_NAME, G2_ORG),
            (NameOID.COMMON_NAME, "CA phục vụ các cơ quan Nhà nước G2 (thử nghiệm)"),
        ),
        new_rsa_key(3072),
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
        return agency_subject(org_name, codes[name], cn or org_name.upper(), loc)

    b.leaf("agency_rsa2048", org("agency_rsa2048"), new_rsa_key(2048), sub, leaf_from, leaf_to,
                   email="vanphong@tayninh.gov.vn")  # fmt: skip
    b.leaf(
        "agency_rsa3072",
        org("agency_rsa3072", "BỘ TÀI CHÍNH", "TỔNG CỤC THUẾ", "Hà Nội"),
        new_rsa_key(3072),
        sub,
        leaf_from,
        leaf_to,
        email="cntt@gdt.gov.vn",
    )
    official_subject = dn(
        (NameOID.COUNTRY_NAME, "VN"),
        (NameOID.LOCALITY_NAME, "Tây Ninh"),
        (NameOID.ORGANIZATION_NAME, vp),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "Phòng Hành chính - Tổ chức"),
        (NameOID.USER_ID, AGENCY_CODE_PREFIX + codes["official_ecdsa_p256"]),
        (NameOID.COMMON_NAME, "Nguyễn Thị Hồng Nhung"),
    )
    b.leaf("official_ecdsa_p256", official_subject, ec.generate_private_key(
        ec.SECP256R1()), sub, leaf_from, leaf_to, email="nhung.nth@tayninh.gov.vn")  # fmt: skip
    b.leaf("expired", org("expired"), new_rsa_key(2048), sub, now - 6 * year, now - year)
    b.leaf("not_yet_valid", org("not_yet_valid"), new_rsa_key(2048), sub, now + year,
                     now + 6 * year)  # fmt: skip
    revoked = b.leaf("revoked", org("revoked"), new_rsa_key(2048), sub, leaf_from, leaf_to)
    revoked_crl = b.leaf("revoked_crl_only", org("revoked_crl_only"), new_rsa_key(2048), sub, leaf_from,
                         leaf_to, ocsp_url=False)  # fmt: skip
    b.leaf(
        "wrong_key_usage",
        org("wrong_key_usage"),
        new_rsa_key(2048),
        sub,
        leaf_from,
        leaf_to,
        key_usage=x509.KeyUsage(False, False, True, False, False, True, False, False, False),
    )
    b.leaf("weak_rsa1024", org("weak_rsa1024"), new_rsa_key(1024), sub, leaf_from, leaf_to)
    b.leaf(
        "agency_before_2025",
        org("agency_before_2025", "Sở Thông tin và Truyền thông tỉnh Tây Ninh"),
        new_rsa_key(2048),
        sub,
        _dt(2021, 3, 1),
        _dt(2026, 3, 1),
        email="stttt@tayninh.gov.vn",
    )
    b.leaf(
        "agency_after_2025",
        org("agency_after_2025", "Sở Khoa học và Công nghệ tỉnh Tây Ninh"),
        new_rsa_key(2048),
        sub,
        _dt(2025, 7, 1),
        max(_dt(2030, 7, 1), now + year),
        email="skhcn@tayninh.gov.vn",
    )
    g1_root, g1_sub, _ = b.g1_chain()
    other_key = ec.generate_private_key(ec.SECP256R1())
    other_root = b.ca(
        "other_root",
        dn(
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
        dn(
            (NameOID.COUNTRY_NAME, "VN"),
            (NameOID.ORGANIZATION_NAME, "Công ty Cổ phần Thử nghiệm"),
            (NameOID.COMMON_NAME, "Công ty Cổ phần Thử nghiệm"),
        ),
        new_rsa_key(2048),
        other_root,
        leaf_from,
        leaf_to,
    )
    b.self_signed(
        "self_signed",
        agency_subject(vp, "000.00.01.H53", "VĂN PHÒNG UBND TỈNH TÂY NINH (tự ký)"),
        new_rsa_key(2048),
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
    crl_path.write_bytes(
        make_crl(
            sub,
            revocations,
            now,
            now + 7 * day,
            distribution_point=f"{b.base_url}/crl/{sub.name}.crl",
        )
    )

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
