"""What the crosswalk's rows state, as a registry :class:`ImportBatch`.

Every old commune, district and province is a unit valid until the cut-over, every new commune
(and, where the sheet names them, new province) is valid from it, and each old unit gets one
succession. Units are keyed by code only, never looked up by name (157 old commune names repeat
inside one province); a code given several names keeps the one most rows give it, and the
disagreement is reported as a warning.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Final

from registry.model import CUTOVER_2025, Agency, Succession, SuccessionKind, Successor
from registry.sources.adminkeys import (
    ADMIN_UNIT_KIND,
    commune_key,
    district_key,
    province_key,
)
from registry.sources.batch import ImportBatch, ImportIssue
from registry.sources.nso_rows import CrosswalkRow

FORMAT: Final = "nso_crosswalk"

LEGAL_BASIS: Final = "NQ của UBTVQH về sắp xếp ĐVHC 2025; QĐ 19/2025/QĐ-TTg (bảng chuyển đổi NSO)"
"""What the successions rest on: the Standing Committee's merger resolutions, coded by QĐ 19/2025
and tabulated by the statistics office."""

SUCCESSOR_KIND: Final = {
    "full": SuccessionKind.MERGED,
    "partial": SuccessionKind.SPLIT,
    "unchanged": SuccessionKind.RENAMED,
    "renamed_or_retyped": SuccessionKind.RENAMED,
    "district_to_special_zone": SuccessionKind.MERGED,
}
"""How a row's merge kind becomes a successor's kind. ``unchanged`` is RENAMED: the unit goes on,
but as a new record (new parent, no district) from the cut-over."""


def _unit(
    key: str,
    names: dict[str, int],
    code: str,
    *,
    parent: str | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
) -> Agency:
    """An administrative unit as the crosswalk states it, under the name most rows give it."""
    return Agency(
        key,
        _most_common(names),
        kind=ADMIN_UNIT_KIND,
        parent=parent,
        admin_unit=code,
        valid_from=valid_from,
        valid_until=valid_until,
    )


def _most_common(names: dict[str, int]) -> str:
    # max() returns the first of equal counts and dicts keep first-seen order: deterministic.
    return max(names, key=names.__getitem__)


def _count(table: dict[str, dict[str, int]], code: str, name: str) -> None:
    names = table.get(code)
    if names is None:
        table[code] = {name: 1}
    else:
        names[name] = names.get(name, 0) + 1


def rows_to_batch(rows: list[CrosswalkRow], issues: list[ImportIssue], source: str) -> ImportBatch:
    """The units and successions the rows state (see the module docstring)."""
    old_names: dict[str, dict[str, int]] = {}
    old_first_line: dict[tuple[str, str], int] = {}
    old_parent: dict[str, str] = {}
    old_succ: dict[str, dict[str, SuccessionKind]] = defaultdict(dict)
    district_names: dict[str, dict[str, int]] = {}
    district_parent: dict[str, str] = {}
    district_succ: dict[str, dict[str, None]] = defaultdict(dict)
    province_names: dict[str, dict[str, int]] = {}
    province_succ: dict[str, dict[str, None]] = defaultdict(dict)
    province_lines: dict[tuple[str, str], int] = {}
    new_names: dict[str, dict[str, int]] = {}
    new_parent: dict[str, str] = {}
    new_prov_names: dict[str, dict[str, int]] = {}
    seen_pairs: set[tuple[str, str, str]] = set()

    for row in rows:
        if row.old_code:
            pair = (row.old_code, row.new_code, row.old_name)
            if pair in seen_pairs:
                issues.append(
                    ImportIssue(
                        "row.duplicate",
                        f"{row.old_code} -> {row.new_code} repeated",
                        row.line,
                        None,
                        "warning",
                    )
                )
                continue
            seen_pairs.add(pair)
            _count(old_names, row.old_code, row.old_name)
            old_first_line.setdefault((row.old_code, row.old_name), row.line)
            old_parent.setdefault(row.old_code, row.old_district_code)
            kind = SUCCESSOR_KIND[row.merge_kind]
            succ = old_succ[row.old_code]
            # one old unit named twice for the same new unit: the stronger (whole) kind wins
            if succ.get(row.new_code) is not SuccessionKind.MERGED:
                succ[row.new_code] = kind
        _count(district_names, row.old_district_code, row.old_district_name)
        district_parent.setdefault(row.old_district_code, row.old_province_code)
        district_succ[row.old_district_code][row.new_code] = None
        _count(province_names, row.old_province_code, row.old_province_name)
        province_lines.setdefault((row.old_province_code, row.old_province_name), row.line)
        province_succ[row.old_province_code][row.new_province_code] = None
        _count(new_names, row.new_code, row.new_name)
        new_parent.setdefault(row.new_code, row.new_province_code)
        if row.new_province_name is not None:
            _count(new_prov_names, row.new_province_code, row.new_province_name)

    for code, names in old_names.items():
        if len(names) > 1:
            spelled = "; ".join(f"{name!r} (line {old_first_line[(code, name)]})" for name in names)
            issues.append(
                ImportIssue(
                    "row.code_two_names",
                    f"old commune code {code} is given to {len(names)} names: {spelled}; "
                    f"kept as published, under {_most_common(names)!r}",
                    old_first_line[(code, _most_common(names))],
                    "old_commune_code",
                    "warning",
                )
            )
    for code, names in province_names.items():
        if len(names) > 1:
            main = _most_common(names)
            for name in names:
                if name != main and not main.endswith(name):
                    issues.append(
                        ImportIssue(
                            "row.province_name_mismatch",
                            f"old province code {code} is named {name!r} here "
                            f"but {main!r} elsewhere",
                            province_lines[(code, name)],
                            "old_province",
                            "warning",
                        )
                    )

    cut = CUTOVER_2025
    agencies: list[Agency] = []
    successions: list[Succession] = []
    for code in sorted(province_names):
        key = province_key(code)
        agencies.append(_unit(key, province_names[code], code, valid_until=cut))
        targets = sorted(province_succ[code])
        many = len(targets) > 1
        merged = any(len([p for p in province_succ if t in province_succ[p]]) > 1 for t in targets)
        kind = (
            SuccessionKind.SPLIT
            if many
            else (SuccessionKind.MERGED if merged or targets[0] != code else SuccessionKind.RENAMED)
        )
        successions.append(
            Succession(
                key, tuple(Successor(province_key(t), kind) for t in targets), cut, LEGAL_BASIS
            )
        )
    for code in sorted(district_names):
        key = district_key(code)
        parent = province_key(district_parent[code])
        agencies.append(_unit(key, district_names[code], code, parent=parent, valid_until=cut))
        targets = sorted(district_succ[code])
        kind = SuccessionKind.SPLIT if len(targets) > 1 else SuccessionKind.MERGED
        successions.append(
            Succession(
                key, tuple(Successor(commune_key(t), kind) for t in targets), cut, LEGAL_BASIS
            )
        )
    for code in sorted(old_names):
        key = commune_key(code)
        parent = district_key(old_parent[code])
        agencies.append(_unit(key, old_names[code], code, parent=parent, valid_until=cut))
        successions.append(
            Succession(
                key,
                tuple(Successor(commune_key(t), k) for t, k in sorted(old_succ[code].items())),
                cut,
                LEGAL_BASIS,
            )
        )
    for code in sorted(new_prov_names):
        agencies.append(_unit(province_key(code), new_prov_names[code], code, valid_from=cut))
    for code in sorted(new_names):
        parent = province_key(new_parent[code])
        agencies.append(
            _unit(commune_key(code), new_names[code], code, parent=parent, valid_from=cut)
        )
    return ImportBatch(
        source=source,
        format=FORMAT,
        agencies=tuple(agencies),
        successions=tuple(successions),
        issues=tuple(issues),
        rows=len(rows),
    )
