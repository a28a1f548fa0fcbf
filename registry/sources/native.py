"""Our own documented list format, in JSON and in CSV (spec: docs/registry-sync.md).

JSON is the dict form of :mod:`registry.model` (the same shape as the packaged seed and as
``axis registry export``), so an export of one registry imports into another unchanged::

    {"format": "axis-registry/1",
     "agencies":    [{"code": "000.00.00.H38", "name": "...", "valid_from": null, ...}],
     "successions": [{"from_code": "000.00.00.H63", "successors": [{"code": "000.00.00.H38",
                      "kind": "merged", "primary": false}], "effective": "...", "legal_basis": ""}],
     "closes":      [{"code": "000.00.00.G24", "at": "2025-04-14"}]}

CSV has one row per statement, ``op`` saying which (``agency`` when empty, ``close``,
``succession``); see :data:`CSV_COLUMNS`. Successors are written ``CODE:kind[:primary]`` joined by
``;``. Instants are ISO 8601 with an offset, or a date meaning 00:00 in Vietnam.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, Final

from registry.codes import AgencyCode, AgencyCodeError
from registry.model import Agency, Succession, SuccessionKind, Successor
from registry.sources.adminkeys import is_admin_key
from registry.sources.batch import ImportBatch, ImportIssue, RowError
from registry.sources.instants import InstantError, parse_instant
from registry.sources.names import clean_name

FORMAT: Final = "native"
JSON_TAG: Final = "axis-registry/1"

CSV_COLUMNS: Final = (
    "op",
    "code",
    "name",
    "short_name",
    "kind",
    "parent",
    "admin_unit",
    "valid_from",
    "valid_until",
    "successors",
    "effective",
    "legal_basis",
    "email",
    "phone",
    "address",
    "inferred",
)
"""The CSV header; only ``code`` is required, other columns may be absent or in any order."""

Progress = Callable[[int, int], None]


def check_code(text: str, field: str = "code") -> str:
    """``text`` if it is an agency code (QĐ 20/2020 form) or an administrative-unit key."""
    if is_admin_key(text):
        prefix, _, digits = text.partition("-")
        if prefix in ("TINH", "HUYEN", "XA") and digits.isdigit():
            return text
        raise RowError("row.bad_code", f"{text!r} is not a TINH-/HUYEN-/XA- unit key", field)
    try:
        AgencyCode.parse(text)
    except AgencyCodeError as exc:
        raise RowError("row.bad_code", f"{text!r}: {exc.code} {exc.message}", field) from None
    return text


def _instant(text: str | None, field: str) -> datetime | None:
    if text is None or not str(text).strip():
        return None
    try:
        return parse_instant(str(text))
    except InstantError as exc:
        raise RowError(exc.code, exc.message, field) from None


def parse_successors(text: str, field: str = "successors") -> tuple[Successor, ...]:
    """``"000.00.00.H38:merged;XA-00004:split:primary"`` -> successors."""
    out: list[Successor] = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        bits = [b.strip() for b in part.split(":")]
        if len(bits) < 2 or len(bits) > 3 or (len(bits) == 3 and bits[2] != "primary"):
            raise RowError("row.bad_successor", f"{part!r} is not CODE:kind[:primary]", field)
        try:
            kind = SuccessionKind(bits[1])
        except ValueError:
            kinds = ", ".join(k.value for k in SuccessionKind)
            raise RowError(
                "row.bad_successor", f"kind {bits[1]!r} not one of {kinds}", field
            ) from None
        out.append(Successor(check_code(bits[0], field), kind, len(bits) == 3))
    if not out:
        raise RowError("row.missing_field", "a succession needs at least one successor", field)
    return tuple(out)


def _agency(row: Mapping[str, Any]) -> Agency:
    code = check_code(str(row.get("code") or "").strip())
    name = clean_name(str(row.get("name") or ""))
    if not name:
        raise RowError("row.missing_field", "an agency needs a name", "name")
    contact = row.get("contact")
    if not isinstance(contact, Mapping):
        contact = {
            k: str(row[k]).strip()
            for k in ("email", "phone", "address")
            if row.get(k) and str(row[k]).strip()
        }
    delivery = row.get("delivery")
    parent = str(row.get("parent") or "").strip() or None
    inferred = row.get("inferred")
    try:
        return Agency(
            code=code,
            name=name,
            short_name=clean_name(str(row.get("short_name") or "")),
            kind=str(row.get("kind") or "").strip(),
            parent=check_code(parent, "parent") if parent else None,
            admin_unit=str(row.get("admin_unit") or "").strip() or None,
            contact={str(k): str(v) for k, v in contact.items()},
            delivery={str(k): str(v) for k, v in delivery.items()}
            if isinstance(delivery, Mapping)
            else {},
            valid_from=_instant(row.get("valid_from"), "valid_from"),
            valid_until=_instant(row.get("valid_until"), "valid_until"),
            inferred=inferred is True or str(inferred).strip().lower() in ("true", "1", "yes"),
        )
    except ValueError as exc:
        raise RowError("row.bad_interval", str(exc), "valid_until") from None


def _succession(row: Mapping[str, Any]) -> Succession:
    from_code = check_code(str(row.get("from_code") or row.get("code") or "").strip())
    raw = row.get("successors")
    if isinstance(raw, list):
        successors: list[Successor] = []
        for item in raw:
            try:
                successors.append(
                    Successor(
                        check_code(str(item["code"]), "successors"),
                        SuccessionKind(item["kind"]),
                        bool(item.get("primary", False)),
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise RowError("row.bad_successor", f"{item!r}: {exc}", "successors") from None
        succ = tuple(successors)
    else:
        succ = parse_successors(str(raw or ""))
    effective = _instant(row.get("effective"), "effective")
    if effective is None:
        raise RowError("row.missing_field", "a succession needs an effective instant", "effective")
    try:
        return Succession(from_code, succ, effective, str(row.get("legal_basis") or "").strip())
    except ValueError as exc:
        raise RowError("row.bad_successor", str(exc), "successors") from None


def read_json(data: Mapping[str, Any], source: str) -> ImportBatch:
    """The batch of a native JSON document (already decoded); lines are item numbers."""
    issues: list[ImportIssue] = []
    agencies: list[Agency] = []
    successions: list[Succession] = []
    closes: list[tuple[str, datetime | None]] = []
    lines: dict[str, list[int | None]] = {"agencies": [], "successions": [], "closes": []}
    count = 0
    for section, handler in (("agencies", _agency), ("successions", _succession), ("closes", None)):
        items = data.get(section) or []
        if not isinstance(items, list):
            issues.append(
                ImportIssue("file.bad_section", f"{section} must be a list", None, section)
            )
            continue
        for index, item in enumerate(items, start=1):
            count += 1
            try:
                if not isinstance(item, Mapping):
                    raise RowError("row.not_object", "each item must be an object")
                if handler is _agency:
                    agencies.append(_agency(item))
                elif handler is _succession:
                    successions.append(_succession(item))
                else:
                    closes.append(
                        (check_code(str(item.get("code") or "")), _instant(item.get("at"), "at"))
                    )
                lines[section].append(index)
            except RowError as exc:
                issues.append(
                    ImportIssue(exc.code, f"{section}[{index}]: {exc.message}", index, exc.field)
                )
    return ImportBatch(
        source,
        FORMAT,
        tuple(agencies),
        tuple(successions),
        tuple(closes),
        tuple(issues),
        count,
        agency_lines=tuple(lines["agencies"]),
        succession_lines=tuple(lines["successions"]),
        close_lines=tuple(lines["closes"]),
    )


class _Rows:
    """The CSV's records with the physical line each STARTS on, read with strict quoting.

    Python's lenient reader takes a quote that is never closed as the start of one cell that
    swallows the rest of the file, and a stray quote after a quoted cell as text: both silently
    turn lines into names. Here a record the strict reader refuses, and a record whose cells hold
    a line break (an agency list has none: it is the mark of an unbalanced quote), become issues
    with the lines concerned; when the quote is never closed, the reading stops there, because
    nothing after it can be trusted to be split where the author meant.
    """

    def __init__(self, text: str) -> None:
        self._lines = io.StringIO(text)
        self._reader = csv.reader(self._lines, strict=True)
        self.issues: list[ImportIssue] = []

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        reader = self._reader
        last = 0
        while True:
            start = last + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                end = reader.line_num
                if "end of data" in str(exc):
                    self.issues.append(
                        ImportIssue(
                            "file.unterminated_quote",
                            f"a quote opened on line {start} is never closed: lines {start}-"
                            f"{max(end, start)} would be read as one cell; nothing from line "
                            f"{start} on is read",
                            start,
                        )
                    )
                    return
                self.issues.append(
                    ImportIssue(
                        "row.bad_quoting",
                        f'{exc}: a quote inside a quoted cell is written twice (""), and a '
                        "cell with a quote is quoted whole",
                        start,
                    )
                )
                last = max(end, start)
                continue
            last = reader.line_num
            if last > start and any("\n" in c or "\r" in c for c in cells):
                self.issues.append(
                    ImportIssue(
                        "row.line_break",
                        f"the record spans lines {start}-{last}: a cell holds a line break, "
                        "most likely from an unbalanced quote",
                        start,
                    )
                )
                continue
            yield start, cells


def read_csv(text: str, source: str, progress: Progress | None = None) -> ImportBatch:
    """The batch of a native CSV file (header line first, UTF-8); lines are physical lines,
    the one a record starts on."""
    rows = _Rows(text.lstrip("\ufeff"))
    records = iter(rows)
    first = next(records, None)
    header = [h.strip() for h in first[1]] if first is not None else []
    issues: list[ImportIssue] = []
    if "code" not in header:
        return ImportBatch(
            source,
            FORMAT,
            issues=(
                *rows.issues,
                ImportIssue("file.bad_header", "the header has no 'code' column", 1),
            ),
        )
    unknown = [h for h in header if h and h not in CSV_COLUMNS]
    if unknown:
        issues.append(
            ImportIssue(
                "file.unknown_columns", f"ignored: {', '.join(unknown)}", 1, None, "warning"
            )
        )
    agencies: list[Agency] = []
    successions: list[Succession] = []
    closes: list[tuple[str, datetime | None]] = []
    lines: tuple[list[int], list[int], list[int]] = ([], [], [])
    count = 0
    for line, cells in records:
        count += 1
        if progress is not None and count % 2000 == 0:
            progress(count, count)
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            issues.append(
                ImportIssue(
                    "row.extra_cells",
                    f"{len(cells)} cells for {len(header)} columns (an unquoted comma in a name?)",
                    line,
                )
            )
            continue
        row = {h: c.strip() for h, c in zip(header, cells, strict=False) if h}
        if not any(row.values()):
            continue
        op = row.get("op") or "agency"
        try:
            if op == "agency":
                agencies.append(_agency(row))
                lines[0].append(line)
            elif op == "succession":
                successions.append(_succession(row))
                lines[1].append(line)
            elif op == "close":
                closes.append(
                    (
                        check_code(row.get("code", "")),
                        _instant(row.get("valid_until") or row.get("effective"), "valid_until"),
                    )
                )
                lines[2].append(line)
            else:
                raise RowError("row.bad_op", f"op {op!r} is not agency, close or succession", "op")
        except RowError as exc:
            issues.append(ImportIssue(exc.code, exc.message, line, exc.field))
    return ImportBatch(
        source,
        FORMAT,
        tuple(agencies),
        tuple(successions),
        tuple(closes),
        tuple(sorted([*rows.issues, *issues], key=lambda i: i.line or 0)),
        count,
        agency_lines=tuple(lines[0]),
        succession_lines=tuple(lines[1]),
        close_lines=tuple(lines[2]),
    )


def looks_native_json(data: object) -> bool:
    """Whether a decoded JSON document is in our own format."""
    return isinstance(data, Mapping) and (
        data.get("format") == JSON_TAG or "agencies" in data or "successions" in data
    )


def dumps(agencies: list[Agency], successions: list[Succession]) -> str:
    """Our JSON form of records (deterministic: the order given, sorted keys)."""
    from registry.model import agency_to_dict, succession_to_dict

    return json.dumps(
        {
            "format": JSON_TAG,
            "agencies": [agency_to_dict(a) for a in agencies],
            "successions": [succession_to_dict(s) for s in successions],
        },
        ensure_ascii=False,
        sort_keys=True,
        indent=1,
    )
