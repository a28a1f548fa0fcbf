"""Reading the two shapes of the statistics office's crosswalk into cleaned rows.

* ``normalised``: ``official/old_communes_to_new_nso.csv`` (one header line, codes as text,
  ``merge_kind`` spelt out);
* ``sheet``: the office's workbook sheet "Tổng hợp_không merge" saved as CSV, as it is stored:
  two header lines, one section line per new province, ``Name (code)`` cells, leading zeros lost
  in code cells ("1558" for 01558), NFD and NFC mixed, new-style tone marks, stray spaces and line
  breaks, trailing empty columns, and the merge kind only in the free-text note.

Both shapes give the same :class:`CrosswalkRow` list, so what the rows state is worked out once
(:mod:`registry.sources.nso_batch`). Cell flaws are reported here as warnings (a lost leading zero
restored, a known correction of the office applied) and the row is kept; unreadable rows are
errors and dropped.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from registry.sources.batch import ImportIssue, RowError
from registry.sources.names import clean_name

MERGE_KINDS: Final = frozenset(
    {"full", "partial", "unchanged", "renamed_or_retyped", "district_to_special_zone"}
)

NORMALISED_HEADER: Final = (
    "old_commune_code",
    "old_commune_name",
    "old_district_code",
    "old_district_name",
    "old_province_code",
    "old_province_name",
    "new_commune_code",
    "new_commune_name",
    "new_province_code",
    "merge_kind",
    "nso_note",
)

SHEET_MARKER: Final = "Mã Xã mới"
"""A header cell found only in the office's sheet."""


@dataclass(frozen=True, slots=True)
class Correction:
    """A correction the office itself published for a code cell of its sheet."""

    province_codes: frozenset[str]
    names: frozenset[str]
    code: str
    note: str


KNOWN_CORRECTIONS: Final = (
    Correction(
        frozenset({"64", "52"}),
        frozenset({"Xã Ia Mơ"}),
        "23938",
        "Ia Mơ (Gia Lai) is 23938, not 23737 (office's correction)",
    ),
    Correction(
        frozenset({"22"}),
        frozenset({"Xã Ba Chẽ", "Thị trấn Ba Chẽ"}),
        "06970",
        "Ba Chẽ (Quảng Ninh) is 06970 (office's correction)",
    ),
)


_CORRECTED_NAMES: Final = frozenset(name for fix in KNOWN_CORRECTIONS for name in fix.names)


@dataclass(frozen=True, slots=True)
class CrosswalkRow:
    """One line of the crosswalk after cleaning: an old unit (or part of it) -> a new unit."""

    line: int
    old_code: str
    old_name: str
    old_district_code: str
    old_district_name: str
    old_province_code: str
    old_province_name: str
    new_code: str
    new_name: str
    new_province_code: str
    new_province_name: str | None
    merge_kind: str
    note: str


Progress = Callable[[int, int], None]

_NAME_CODE: Final = re.compile(r"^(.*?)\s*\(\s*(\d+)\s*\)\s*$", re.DOTALL)


@lru_cache(maxsize=65536)
def _clean(raw: str) -> str:
    return clean_name(raw)


def _digits(raw: str, width: int, field: str, issues: list[ImportIssue], line: int) -> str:
    text = raw.strip()
    if not text.isdigit() or len(text) > width:
        raise RowError("row.bad_code", f"{field} {raw!r} is not a code of {width} digits", field)
    if len(text) < width:
        issues.append(
            ImportIssue(
                "cell.leading_zero",
                f"{field} {text!r} lost its leading zeros; read as {text.zfill(width)}",
                line,
                field,
                "warning",
            )
        )
    return text.zfill(width)


@lru_cache(maxsize=4096)
def _split_name_code(raw: str) -> tuple[str, str] | None:
    match = _NAME_CODE.match(raw)
    return None if match is None else (_clean(match.group(1)), match.group(2))


def _name_code(
    raw: str, width: int, field: str, issues: list[ImportIssue], line: int
) -> tuple[str, str]:
    parts = _split_name_code(raw)
    if parts is None:
        raise RowError("row.bad_cell", f"{field} {raw!r} is not 'Name (code)'", field)
    return parts[0], _digits(parts[1], width, field, issues, line)


@lru_cache(maxsize=1024)
def classify_note(note: str) -> str | None:
    """The merge kind an office note states ("Nhập một phần diện tích" -> ``partial``)."""
    text = _clean(note).casefold().replace("nhâp", "nhập")
    if text.startswith("sắp xếp toàn bộ"):
        return "district_to_special_zone"
    if text.startswith("giữ nguyên"):
        return "unchanged"
    if "một phần" in text or "phần còn lại" in text:
        return "partial"
    if text.startswith(("đổi tên", "đổi loại hình")):
        return "renamed_or_retyped"
    if text.startswith("nhập toàn bộ"):
        return "full"
    return None


def _correct(
    code: str, name: str, provinces: Iterable[str], field: str, line: int, issues: list[ImportIssue]
) -> str:
    if name not in _CORRECTED_NAMES:
        return code
    for fix in KNOWN_CORRECTIONS:
        if name in fix.names and code != fix.code and not fix.province_codes.isdisjoint(provinces):
            issues.append(
                ImportIssue(
                    "row.corrected",
                    f"{field} {code} -> {fix.code}: {fix.note}",
                    line,
                    field,
                    "warning",
                )
            )
            return fix.code
    return code


def _sheet_rows(
    text: str, issues: list[ImportIssue], progress: Progress | None
) -> list[CrosswalkRow]:
    records = list(csv.reader(io.StringIO(text)))
    total = len(records)
    rows: list[CrosswalkRow] = []
    header_seen = False
    for index, cells in enumerate(records):
        line = index + 1
        if progress is not None and line % 2000 == 0:
            progress(line, total)
        if not header_seen:
            header_seen = any(_clean(c) == SHEET_MARKER for c in cells)
            continue
        if not any(c.strip() for c in cells):
            continue
        if len(cells) < 8 or not cells[1].strip():
            continue  # a section line: the new province's name in capitals, nothing else
        if any(c.strip() for c in cells[8:]):
            issues.append(
                ImportIssue(
                    "row.extra_cells", "cells beyond column 8 ignored", line, None, "warning"
                )
            )
        try:
            new_prov_name, new_prov = _name_code(cells[0], 2, "new_province", issues, line)
            district_name, district = _name_code(cells[6], 3, "old_district", issues, line)
            old_prov_name, old_prov = _name_code(cells[7], 2, "old_province", issues, line)
            kind = classify_note(cells[5])
            if kind is None:
                raise RowError(
                    "row.unknown_note", f"note {cells[5]!r} states no merge kind", "note"
                )
            new_name = _clean(cells[1])
            new_code = _digits(cells[2], 5, "new_commune_code", issues, line)
            old_name = _clean(cells[3])
            old_code = (
                _digits(cells[4], 5, "old_commune_code", issues, line) if cells[4].strip() else ""
            )
        except RowError as exc:
            issues.append(ImportIssue(exc.code, exc.message, line, exc.field))
            continue
        rows.append(
            _finish(
                line,
                old_code,
                old_name,
                district,
                district_name,
                old_prov,
                old_prov_name,
                new_code,
                new_name,
                new_prov,
                new_prov_name,
                kind,
                _clean(cells[5]),
                issues,
            )
        )
    if not header_seen:
        issues.append(ImportIssue("file.no_header", f"no header cell {SHEET_MARKER!r} found"))
    return rows


def _normalised_rows(
    text: str, issues: list[ImportIssue], progress: Progress | None
) -> list[CrosswalkRow]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    missing = [h for h in NORMALISED_HEADER if h not in header]
    if missing:
        issues.append(ImportIssue("file.bad_header", f"missing columns: {', '.join(missing)}", 1))
        return []
    col = {name: header.index(name) for name in NORMALISED_HEADER}
    rows: list[CrosswalkRow] = []
    for index, cells in enumerate(reader):
        line = index + 2
        if progress is not None and line % 2000 == 0:
            progress(line, line)
        if not any(c.strip() for c in cells):
            continue
        if len(cells) < len(header):
            issues.append(
                ImportIssue("row.short", f"{len(cells)} cells, {len(header)} expected", line)
            )
            continue
        try:
            kind = cells[col["merge_kind"]].strip()
            if kind not in MERGE_KINDS:
                raise RowError("row.bad_merge_kind", f"merge_kind {kind!r} unknown", "merge_kind")
            old_raw = cells[col["old_commune_code"]]
            old_code = (
                _digits(old_raw, 5, "old_commune_code", issues, line) if old_raw.strip() else ""
            )
            district = _digits(
                cells[col["old_district_code"]], 3, "old_district_code", issues, line
            )
            old_prov = _digits(
                cells[col["old_province_code"]], 2, "old_province_code", issues, line
            )
            new_code = _digits(cells[col["new_commune_code"]], 5, "new_commune_code", issues, line)
            new_prov = _digits(
                cells[col["new_province_code"]], 2, "new_province_code", issues, line
            )
        except RowError as exc:
            issues.append(ImportIssue(exc.code, exc.message, line, exc.field))
            continue
        rows.append(
            _finish(
                line,
                old_code,
                _clean(cells[col["old_commune_name"]]),
                district,
                _clean(cells[col["old_district_name"]]),
                old_prov,
                _clean(cells[col["old_province_name"]]),
                new_code,
                _clean(cells[col["new_commune_name"]]),
                new_prov,
                None,
                kind,
                _clean(cells[col["nso_note"]]),
                issues,
            )
        )
    return rows


def _finish(
    line: int,
    old_code: str,
    old_name: str,
    district: str,
    district_name: str,
    old_prov: str,
    old_prov_name: str,
    new_code: str,
    new_name: str,
    new_prov: str,
    new_prov_name: str | None,
    kind: str,
    note: str,
    issues: list[ImportIssue],
) -> CrosswalkRow:
    provinces = (old_prov, new_prov)
    if old_code:
        old_code = _correct(old_code, old_name, provinces, "old_commune_code", line, issues)
    new_code = _correct(new_code, new_name, provinces, "new_commune_code", line, issues)
    return CrosswalkRow(
        line,
        old_code,
        old_name,
        district,
        district_name,
        old_prov,
        old_prov_name,
        new_code,
        new_name,
        new_prov,
        new_prov_name,
        kind,
        note,
    )


def detect(text: str) -> str | None:
    """``"normalised"``, ``"sheet"``, or None when ``text`` is neither shape of the crosswalk."""
    head = text[:4096]
    first = head.split("\n", 1)[0].lstrip("\ufeff")
    if first.startswith("old_commune_code,") and "merge_kind" in first:
        return "normalised"
    if SHEET_MARKER in head and "Mã Xã cũ" in head:
        return "sheet"
    return None


def parse_rows(
    text: str, *, progress: Progress | None = None
) -> tuple[list[CrosswalkRow], list[ImportIssue]]:
    """The cleaned rows of either shape of the crosswalk, and the issues met on the way."""
    issues: list[ImportIssue] = []
    shape = detect(text)
    if shape == "sheet":
        rows = _sheet_rows(text, issues, progress)
    elif shape == "normalised":
        rows = _normalised_rows(text.lstrip("\ufeff"), issues, progress)
    else:
        issues.append(
            ImportIssue("file.not_crosswalk", "neither the sheet nor the normalised crosswalk")
        )
        rows = []
    return rows, issues
