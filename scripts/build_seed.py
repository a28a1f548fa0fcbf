"""Build the packaged seed registry, ``registry/data/seed.json.gz``, from ``../shared/data``.

Reproducible: the same input files give the same bytes (records sorted, JSON with sorted keys,
gzip with mtime 0 and no file name, a fixed ``generated_at``), so the committed file can be
checked with ``--check`` and a change of the data shows as a change of the file.

What goes in, and from where:

* the central government bloc (G codes) before and after QĐ 09/2025/QĐ-TTg (AGENCY_CODES.md
  §4.3; the table is written below, the document has no data file): G04->G17, G05->G12, G07->G09,
  G13->G10, G14->G06 merged and G24 closed on 14/4/2025, G10 and G21 renamed then;
* the People's Committees (H) and Councils (K) of the 63 old provinces from
  ``adminunits/agency_level1_province_codes_DERIVED.csv``, inferred (alphabetical rule) unless the
  file cites public use of the code; the 34 survivors of QĐ 09/2025's same-name rule continue,
  with a new record from 1/7/2025 (new statistics code, new name where renamed), the 29 others
  close on 1/7/2025 with their work passing to the survivor of their new province;
* the 34 new provinces and 3,321 new communes as administrative units (``TINH-``, ``XA-`` keys)
  from ``provinces_2025-07-01.csv`` and ``communes_2025-07-01.csv``, valid from 1/7/2025, with the
  later changes of ``changes_after_2025-07-01.csv`` as dated records;
* the old provinces, districts and communes with their successions, from the statistics office's
  official crosswalk (``official/old_communes_to_new_nso.csv``) through the same reader and sync
  plan an operator's ``axis registry import`` uses; the build fails if that plan has conflicts.

Usage: ``python scripts/build_seed.py [--shared DIR] [--out FILE] [--check]``.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import re
import sys
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Final

from axis.paths import PROJECT_ROOT, shared_data_dir
from registry import sources, sync
from registry.model import (
    CUTOVER_2025,
    QD09_2025,
    Agency,
    Succession,
    SuccessionKind,
    Successor,
    agency_to_dict,
    succession_to_dict,
    vn_midnight,
)
from registry.registry import Registry
from registry.sources.adminkeys import ADMIN_UNIT_KIND, commune_key, province_key
from registry.sources.names import clean_name

OUT: Final = PROJECT_ROOT / "registry" / "data" / "seed.json.gz"
GENERATED_AT: Final = "2025-07-01T00:00:00+07:00"
"""Fixed, so that the file depends on the data only (it is the seed's version-1 timestamp)."""

QD09: Final = "QĐ 09/2025/QĐ-TTg"
HUE_CITY: Final = vn_midnight(date(2025, 1, 1))
"""Thừa Thiên Huế became the centrally-run city of Huế on 1/1/2025 (NQ 1314/NQ-UBTVQH15)."""


@dataclass(frozen=True)
class GCode:
    number: str
    name: str
    renamed_to: str = ""
    merged_into: str = ""
    closed: bool = False


G_CODES: Final = (
    GCode("01", "Bộ Công an"),
    GCode("02", "Bộ Công Thương"),
    GCode("03", "Bộ Giáo dục và Đào tạo"),
    GCode("04", "Bộ Giao thông vận tải", merged_into="17"),
    GCode("05", "Bộ Kế hoạch và Đầu tư", merged_into="12"),
    GCode("06", "Bộ Khoa học và Công nghệ"),
    GCode("07", "Bộ Lao động - Thương binh và Xã hội", merged_into="09"),
    GCode("08", "Bộ Ngoại giao"),
    GCode("09", "Bộ Nội vụ"),
    GCode(
        "10", "Bộ Nông nghiệp và Phát triển nông thôn", renamed_to="Bộ Nông nghiệp và Môi trường"
    ),
    GCode("11", "Bộ Quốc phòng"),
    GCode("12", "Bộ Tài chính"),
    GCode("13", "Bộ Tài nguyên và Môi trường", merged_into="10"),
    GCode("14", "Bộ Thông tin và Truyền thông", merged_into="06"),
    GCode("15", "Bộ Tư pháp"),
    GCode("16", "Bộ Văn hóa, Thể thao và Du lịch"),
    GCode("17", "Bộ Xây dựng"),
    GCode("18", "Bộ Y tế"),
    GCode("19", "Ngân hàng Nhà nước Việt Nam"),
    GCode("20", "Thanh tra Chính phủ"),
    GCode("21", "Ủy ban Dân tộc", renamed_to="Bộ Dân tộc và Tôn giáo"),
    GCode("22", "Văn phòng Chính phủ"),
    GCode("24", "Bảo hiểm xã hội Việt Nam", closed=True),
    GCode("27", "Đài Tiếng nói Việt Nam"),
    GCode("28", "Đài Truyền hình Việt Nam"),
    GCode("30", "Thông tấn xã Việt Nam"),
    GCode("31", "Viện Hàn lâm Khoa học và Công nghệ Việt Nam"),
    GCode("32", "Viện Hàn lâm Khoa học xã hội Việt Nam"),
    GCode("35", "Ủy ban An toàn giao thông quốc gia"),
    GCode("38", "Ủy ban sông Mê Công Việt Nam"),
    GCode("39", "Hội đồng đánh giá trữ lượng khoáng sản quốc gia"),
)
"""AGENCY_CODES.md §4.3: the pre-2025 list (Bkav) and the list after QĐ 09/2025 (baodautu.vn)."""


def level1(letter_number: str) -> str:
    """``"H38"`` -> the QCVN 102 code of the level-1 body itself, ``"000.00.00.H38"``."""
    return f"000.00.00.{letter_number}"


def _kind_of_g(name: str) -> str:
    return "ministry" if name.startswith("Bộ ") else "government_body"


def g_records() -> tuple[list[Agency], list[Succession]]:
    agencies: list[Agency] = []
    successions: list[Succession] = []
    for g in G_CODES:
        code = level1("G" + g.number)
        if g.renamed_to:
            agencies.append(Agency(code, g.name, kind=_kind_of_g(g.name), valid_until=QD09_2025))
            agencies.append(
                Agency(code, g.renamed_to, kind=_kind_of_g(g.renamed_to), valid_from=QD09_2025)
            )
        elif g.merged_into or g.closed:
            agencies.append(Agency(code, g.name, kind=_kind_of_g(g.name), valid_until=QD09_2025))
        else:
            agencies.append(Agency(code, g.name, kind=_kind_of_g(g.name)))
        if g.merged_into:
            successions.append(
                Succession(
                    code,
                    (Successor(level1("G" + g.merged_into), SuccessionKind.MERGED),),
                    QD09_2025,
                    QD09,
                )
            )
    return agencies, successions


def _body_name(kind: str, province: str) -> tuple[str, str]:
    """("Ủy ban nhân dân tỉnh Lào Cai", "UBND tỉnh Lào Cai") for a People's Committee."""
    match = re.match(r"^(Tỉnh|Thành phố) (.+)$", province)
    place = f"{match.group(1).lower()} {match.group(2)}" if match else province
    if kind == "people_committee":
        return f"Ủy ban nhân dân {place}", f"UBND {place}"
    return f"Hội đồng nhân dân {place}", f"HĐND {place}"


def hk_records(path: Path) -> tuple[list[Agency], list[Succession]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    survivor_of: dict[str, str] = {}
    for row in rows:
        if row["status_after_2025-07-01"].startswith("ACTIVE"):
            survivor_of[row["new_gso_province_code"]] = row["h_code"][1:]
    agencies: list[Agency] = []
    successions: list[Succession] = []
    for row in rows:
        number = row["h_code"][1:]
        evidence = row["public_usage_evidence"]
        confirmed_h = f"H{number}" in evidence and "CONFLICT" not in evidence
        active = row["status_after_2025-07-01"].startswith("ACTIVE")
        old_name = clean_name(row["old_province_name"])
        new_name = clean_name(row["new_province_name"])
        for letter, kind in (("H", "people_committee"), ("K", "people_council")):
            code = level1(letter + number)
            inferred = not (confirmed_h if letter == "H" else f"K{number}" in evidence)
            name, short = _body_name(kind, old_name)
            old = Agency(
                code,
                name,
                short_name=short,
                kind=kind,
                admin_unit=row["old_gso_code"],
                valid_until=CUTOVER_2025,
                inferred=inferred,
            )
            if old_name == "Thành phố Huế":
                # Thừa Thiên Huế until it became a city, then Thành phố Huế until the cut-over.
                name_tth, short_tth = _body_name(kind, "Tỉnh Thừa Thiên Huế")
                agencies.append(
                    replace(old, name=name_tth, short_name=short_tth, valid_until=HUE_CITY)
                )
                old = replace(old, valid_from=HUE_CITY)
            agencies.append(old)
            if active:
                new_name_full, new_short = _body_name(kind, new_name)
                agencies.append(
                    Agency(
                        code,
                        new_name_full,
                        short_name=new_short,
                        kind=kind,
                        admin_unit=row["new_gso_province_code"],
                        valid_from=CUTOVER_2025,
                        inferred=inferred,
                    )
                )
            else:
                target = level1(letter + survivor_of[row["new_gso_province_code"]])
                successions.append(
                    Succession(
                        code, (Successor(target, SuccessionKind.MERGED),), CUTOVER_2025, QD09
                    )
                )
    return agencies, successions


def _later_changes(path: Path) -> dict[tuple[str, str], tuple[str, date]]:
    """(level, code) -> (name from the change, effective date), from the 2026 changes file."""
    out: dict[tuple[str, str], tuple[str, date]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            when = re.search(r"effective (\d{4}-\d{2}-\d{2})", row["legal_basis_per_thanglequoc"])
            if when:
                out[(row["level"], row["code"])] = (
                    clean_name(row["name_2026_thanglequoc"]),
                    date.fromisoformat(when.group(1)),
                )
    return out


def _dated(agency: Agency, change: tuple[str, date] | None) -> list[Agency]:
    """``agency`` as one record, or two when a later change renamed it."""
    if change is None:
        return [agency]
    name, day = change
    when = vn_midnight(day)
    return [
        Agency(
            agency.code,
            agency.name,
            kind=agency.kind,
            parent=agency.parent,
            admin_unit=agency.admin_unit,
            valid_from=agency.valid_from,
            valid_until=when,
        ),
        Agency(
            agency.code,
            name,
            kind=agency.kind,
            parent=agency.parent,
            admin_unit=agency.admin_unit,
            valid_from=when,
        ),
    ]


def new_units(adminunits: Path) -> list[Agency]:
    later = _later_changes(adminunits / "changes_after_2025-07-01.csv")
    agencies: list[Agency] = []
    with (adminunits / "provinces_2025-07-01.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            code = row["province_code"]
            unit = Agency(
                province_key(code),
                clean_name(row["province_name"]),
                kind=ADMIN_UNIT_KIND,
                admin_unit=code,
                valid_from=CUTOVER_2025,
            )
            agencies += _dated(unit, later.get(("province", code)))
    with (adminunits / "communes_2025-07-01.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            code = row["commune_code"]
            unit = Agency(
                commune_key(code),
                clean_name(row["commune_name"]),
                kind=ADMIN_UNIT_KIND,
                parent=province_key(row["province_code"]),
                admin_unit=code,
                valid_from=CUTOVER_2025,
            )
            agencies += _dated(unit, later.get(("commune", code)))
    return agencies


def build(shared: Path) -> Registry:
    """The seed registry built from ``shared`` (the ``data`` directory of ../shared)."""
    adminunits = shared / "adminunits"
    g_agencies, g_successions = g_records()
    hk_agencies, hk_successions = hk_records(
        adminunits / "agency_level1_province_codes_DERIVED.csv"
    )
    base = Registry.build(
        [*g_agencies, *hk_agencies, *new_units(adminunits)],
        [*g_successions, *hk_successions],
        created_at=CUTOVER_2025,
    )
    batch = sources.read(
        adminunits / "official" / "old_communes_to_new_nso.csv", format="nso_crosswalk"
    )
    crosswalk = sync.plan(base, batch)
    if crosswalk.conflicts or batch.errors:
        print(crosswalk.format(), file=sys.stderr)
        raise SystemExit("the official crosswalk does not fit the seed: see the plan above")
    return sync.apply(base, crosswalk, "scripts/build_seed.py", "official crosswalk")


def serialise(registry: Registry) -> bytes:
    """Deterministic gzip'd JSON of the registry's records (R1's seed shape)."""
    document = {
        "format": "axis-registry/1",
        "author": "scripts/build_seed.py",
        "reason": "seed from ../shared/data (QĐ 09/2025, QĐ 19/2025, NSO crosswalk)",
        "generated_at": GENERATED_AT,
        "agencies": [agency_to_dict(a) for a in registry.agencies()],
        "successions": [succession_to_dict(s) for s in registry.successions()],
    }
    text = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--shared",
        type=Path,
        default=shared_data_dir(),
        help="the shared data directory (default: ../shared/data)",
    )
    parser.add_argument("--out", type=Path, default=OUT, help=f"output file (default: {OUT})")
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 when the file differs from a fresh build",
    )
    args = parser.parse_args(argv)
    registry = build(args.shared)
    data = serialise(registry)
    if args.check:
        current = args.out.read_bytes() if args.out.exists() else b""
        if current != data:
            print(f"{args.out} is out of date: run scripts/build_seed.py", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(args.out.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(args.out)
    agencies = sum(1 for _ in registry.agencies())
    successions = sum(1 for _ in registry.successions())
    print(f"wrote {args.out}: {agencies} records, {successions} successions, {len(data)} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
