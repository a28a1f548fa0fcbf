"""Registry keys for administrative units (statistics codes of QĐ 19/2025 and earlier lists).

Administrative units live in the same registry as agencies (kind ``admin_unit``) so that one
``resolve`` follows the 2025 successions for both. Their keys must never collide with an agency
code, which is built only from ``[0-9A-Z.]`` (QCVN 102 and QĐ 20/2020): every unit key contains a
hyphen, which no agency code can contain. The level word says which list the number belongs to,
because the same digits mean different things at different levels ("01" the province, "001" a
district, "00001" a commune):

* ``TINH-15``    province or centrally-run city (2 digits),
* ``HUYEN-001``  district-level unit (3 digits; all abolished on 1 July 2025),
* ``XA-00004``   commune, ward or special zone (5 digits).

Codes are re-used with a new meaning (``XA-00004`` was Phường Trúc Bạch and is Phường Ba Đình
since 1 July 2025; ``TINH-15`` was Yên Bái and is Lào Cai), so a key names a unit only together
with a date: the records carry disjoint validity intervals.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

ADMIN_UNIT_KIND: Final = "admin_unit"
"""``Agency.kind`` of every administrative-unit record."""

PROVINCE_PREFIX: Final = "TINH-"
DISTRICT_PREFIX: Final = "HUYEN-"
COMMUNE_PREFIX: Final = "XA-"

_WIDTHS: Final = {PROVINCE_PREFIX: 2, DISTRICT_PREFIX: 3, COMMUNE_PREFIX: 5}


@lru_cache(maxsize=32768)
def _key(prefix: str, code: str) -> str:
    width = _WIDTHS[prefix]
    if not code.isdigit() or len(code) > width:
        raise ValueError(f"{prefix.rstrip('-')} code must be at most {width} digits, got {code!r}")
    return prefix + code.zfill(width)


def province_key(code: str) -> str:
    """``"15"`` -> ``"TINH-15"`` (a lost leading zero is restored: ``"1"`` -> ``"TINH-01"``)."""
    return _key(PROVINCE_PREFIX, code)


def district_key(code: str) -> str:
    """``"1"`` -> ``"HUYEN-001"``."""
    return _key(DISTRICT_PREFIX, code)


def commune_key(code: str) -> str:
    """``"4"`` -> ``"XA-00004"``."""
    return _key(COMMUNE_PREFIX, code)


def is_admin_key(key: str) -> bool:
    """Whether ``key`` is an administrative-unit key (never true of an agency code)."""
    return "-" in key


def statistics_code(key: str) -> str:
    """The statistics code inside a unit key: ``"XA-00004"`` -> ``"00004"``."""
    return key.partition("-")[2]
