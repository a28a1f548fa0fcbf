"""The national axis's unit list, as ``POST /getSynchronizeUnit`` returns it (VDXP_API.md §3.3).

Shape: the VDXP envelope ``{"status": "OK", "ErrorCode": "0", "ErrorDesc": "", "data": [...]}``
(a bare array is accepted too), each item ``{id, pid, code, name, mail, version, centerCode,
deleted, modifyDate, isAgency}``. ``id``/``pid`` are the axis's own record ids (24-hex), so a
parent is found by looking ``pid`` up among the items; a ``pid`` that is itself an agency code
(the .NET SDK passes codes) is taken as the parent code. ``deleted: true`` closes the code at its
``modifyDate`` (Vietnam time when written without an offset), or at the import's effective
instant. Items carry no validity dates: they state what exists now.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from registry.codes import AgencyCode, AgencyCodeError
from registry.model import Agency
from registry.sources.batch import ImportBatch, ImportIssue
from registry.sources.instants import InstantError, parse_instant
from registry.sources.names import clean_name

FORMAT: Final = "vdxp"
ITEM_KEYS: Final = frozenset({"id", "pid", "code", "name", "mail"})
"""Keys every getSynchronizeUnit item has (``getAgenciesList`` items have just these)."""


def looks_vdxp(data: object) -> bool:
    """Whether a decoded JSON document has the getSynchronizeUnit / getAgenciesList shape."""
    items = data.get("data") if isinstance(data, Mapping) else data
    return (
        isinstance(items, list)
        and bool(items)
        and isinstance(items[0], Mapping)
        and set(items[0]) >= ITEM_KEYS
    )


def _truthy(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes")


def read_json(data: Any, source: str) -> ImportBatch:
    """The batch a decoded getSynchronizeUnit response states."""
    issues: list[ImportIssue] = []
    if isinstance(data, Mapping):
        status = str(data.get("status") or "OK").upper()
        if status != "OK" or str(data.get("ErrorCode", "0")) != "0":
            issues.append(
                ImportIssue(
                    "file.vdxp_error",
                    f"the axis answered status={status} ErrorCode={data.get('ErrorCode')} "
                    f"{data.get('ErrorDesc') or ''}".strip(),
                    None,
                    None,
                    "error",
                )
            )
        items = data.get("data") or []
    else:
        items = data
    if not isinstance(items, list):
        return ImportBatch(
            source,
            FORMAT,
            issues=(ImportIssue("file.bad_shape", "'data' must be an array of units"),),
        )
    code_by_id: dict[str, str] = {}
    for item in items:
        if isinstance(item, Mapping) and item.get("id") and item.get("code"):
            code_by_id[str(item["id"])] = str(item["code"]).strip()
    agencies: list[Agency] = []
    closes: list[tuple[str, datetime | None]] = []
    agency_lines: list[int | None] = []
    close_lines: list[int | None] = []
    for index, item in enumerate(items, start=1):
        if not isinstance(item, Mapping):
            issues.append(ImportIssue("row.not_object", "each unit must be an object", index))
            continue
        code = str(item.get("code") or "").strip()
        try:
            AgencyCode.parse(code)
        except AgencyCodeError as exc:
            issues.append(
                ImportIssue("row.bad_code", f"{code!r}: {exc.code} {exc.message}", index, "code")
            )
            continue
        when: datetime | None = None
        if item.get("modifyDate") not in (None, ""):
            try:
                when = parse_instant(str(item["modifyDate"]), naive_is_local=True)
            except InstantError as exc:
                issues.append(ImportIssue(exc.code, exc.message, index, "modifyDate", "warning"))
        if _truthy(item.get("deleted", False)):
            closes.append((code, when))
            close_lines.append(index)
            continue
        name = clean_name(str(item.get("name") or ""))
        if not name:
            issues.append(ImportIssue("row.missing_field", "a unit needs a name", index, "name"))
            continue
        pid = str(item.get("pid") or "").strip()
        parent = code_by_id.get(pid)
        if parent is None and pid:
            try:
                parent = AgencyCode.parse(pid).text
            except AgencyCodeError:
                issues.append(
                    ImportIssue(
                        "row.unknown_parent",
                        f"pid {pid!r} is neither an item id nor a code",
                        index,
                        "pid",
                        "warning",
                    )
                )
        contact = (
            {"email": str(item["mail"]).strip()} if str(item.get("mail") or "").strip() else {}
        )
        delivery = (
            {"center": str(item["centerCode"]).strip()}
            if str(item.get("centerCode") or "").strip()
            else {}
        )
        agencies.append(
            Agency(code=code, name=name, parent=parent, contact=contact, delivery=delivery)
        )
        agency_lines.append(index)
    return ImportBatch(
        source,
        FORMAT,
        tuple(agencies),
        (),
        tuple(closes),
        tuple(issues),
        len(items),
        agency_lines=tuple(agency_lines),
        close_lines=tuple(close_lines),
    )
