"""Agencies with certificates from the test PKI, and a running axis that trusts them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

import edxml
from axis.compose import agency_certificate, signed
from edxml import Organization
from signing.pki import TestPki
from signing.sign import SigningKey


@dataclass(frozen=True)
class Agency:
    """One agency of the tests: its envelope identity and its signing material."""

    org: Organization
    key: SigningKey
    chain: tuple[x509.Certificate, ...]

    @property
    def code(self) -> str:
        return self.org.organ_id

    def sign(self, package: edxml.Package) -> bytes:
        return signed(package, self.key, self.chain)


def make_agency(pki: TestPki, code: str, name: str, address: str = "Hà Nội") -> Agency:
    """An agency whose certificate (valid 2025-01-01 .. 2035) names its code."""
    key, cert = agency_certificate(
        pki.sub_ca.cert,
        pki.sub_ca.key,
        code,
        name,
        not_before=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        days=3650,
    )
    return Agency(
        Organization(code, organ_name=name, organ_add=address), key, (cert, pki.sub_ca.cert)
    )


def agencies(pki: TestPki) -> dict[str, Agency]:
    """The cast: Lào Cai (successor of Yên Bái), the Government Office, the Home Affairs
    ministry, and Yên Bái itself (closed at 2025-07-01 00:00, merged into Lào Cai)."""
    return {
        "H38": make_agency(pki, "000.00.00.H38", "Ủy ban nhân dân tỉnh Lào Cai", "Lào Cai"),
        "G22": make_agency(pki, "000.00.00.G22", "Văn phòng Chính phủ"),
        "G09": make_agency(pki, "000.00.00.G09", "Bộ Nội vụ"),
        "H63": make_agency(pki, "000.00.00.H63", "Ủy ban nhân dân tỉnh Yên Bái", "Yên Bái"),
    }


def recipients(*found: Agency) -> Sequence[Organization]:
    return [a.org for a in found]


def home_dir(tmp: Path) -> Path:
    home = tmp / "axis-home"
    home.mkdir(parents=True, exist_ok=True)
    return home
