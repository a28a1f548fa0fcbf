"""An operator's single edits of the registry as change lists, checked against one version.

Pure functions (a :class:`~registry.registry.Registry` in, a list of
:class:`~registry.model.Change` out, or an :class:`~axis.errors.AxisError` naming the field), so
:mod:`axis.registry_admin` can rebuild them on a newer version when another writer saved first,
and so the rules are tested without a store. ``Registry.apply`` still checks every change's
``before`` against the stored record (all or nothing).

Instants are data: a close at a future instant is a record whose ``valid_until`` lies ahead and a
succession whose ``effective`` does, so the edit is stored now and takes effect then.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from axis.errors import AxisError
from registry.codes import AgencyCode, AgencyCodeError
from registry.model import Agency, Change, Succession, Successor, as_utc
from registry.registry import Registry
from registry.sources.adminkeys import is_admin_key
from registry.sources.names import clean_name

MAX_NAME: Final = 500
"""Longest name accepted (the longest official name is under 200 characters)."""


def invalid(code: str, message: str, location: str | None, status: int = 422) -> AxisError:
    """A refusal of the request's content, naming the field."""
    return AxisError(code, message, location, status=status)


def check_code(text: str, location: str = "code") -> str:
    """``text`` upper-cased and stripped, if it is an agency code (QCVN 102 or QĐ 20/2020 form)
    or an administrative-unit key; ``registry.bad_code`` naming the rule and position if not."""
    code = text.strip().upper()
    if is_admin_key(code):
        prefix, _, digits = code.partition("-")
        if prefix in ("TINH", "HUYEN", "XA") and digits.isdigit():
            return code
        raise invalid("registry.bad_code", f"{code!r} is not a TINH-/HUYEN-/XA- unit key", location)
    try:
        AgencyCode.parse(code)
    except AgencyCodeError as exc:
        where = "" if exc.location is None else f" at position {exc.location}"
        raise invalid(
            "registry.bad_code", f"{code!r}: {exc.code}{where}: {exc.message}", location
        ) from None
    return code


def check_name(text: str, location: str = "name", *, required: bool = True) -> str:
    """``text`` in the one stored form (NFC, traditional tone placement, single spaces)."""
    name = clean_name(text)
    if required and not name:
        raise invalid("registry.invalid", "the name is empty", location)
    if len(name) > MAX_NAME:
        raise invalid("registry.invalid", f"the name is longer than {MAX_NAME}", location)
    return name


def structural_parent(code: str) -> str | None:
    """The parent by the zeroing rule (``000.00.07.H38`` -> ``000.00.00.H38``), None at level 1
    or for a unit key."""
    try:
        parent = AgencyCode.parse(code).parent
    except AgencyCodeError:
        return None
    return None if parent is None else parent.text


@dataclass(frozen=True, slots=True)
class AgencyDraft:
    """A new agency as an operator (or a proposing system) states it; ``valid_from`` None means
    from the instant the edit is made."""

    code: str
    name: str
    short_name: str = ""
    kind: str = ""
    parent: str | None = None
    admin_unit: str | None = None
    contact: Mapping[str, str] = field(default_factory=dict)
    valid_from: dt.datetime | None = None


def _in_force(registry: Registry, code: str, at: dt.datetime) -> Agency | None:
    return next((r for r in registry.records(code) if r.valid_at(at)), None)


def add_changes(registry: Registry, draft: AgencyDraft, now: dt.datetime) -> list[Change]:
    """The ``add`` of ``draft`` (see :func:`axis.registry_admin.add_agency` for the rules)."""
    code = check_code(draft.code)
    name = check_name(draft.name)
    start = as_utc(draft.valid_from or now, "valid_from")
    parent = check_code(draft.parent, "parent") if draft.parent else structural_parent(code)
    if parent is not None and parent != code:
        if not registry.records(parent):
            raise invalid(
                "registry.parent_unknown", f"the parent {parent} is not in the registry", "parent"
            )
        if _in_force(registry, parent, start) is None:
            raise invalid(
                "registry.parent_unknown",
                f"the parent {parent} is not in force at {start.isoformat()}",
                "parent",
            )
    existing = registry.records(code)
    clash = [r for r in existing if r.valid_until is None or r.valid_until > start]
    if clash:
        current = clash[0]
        raise invalid(
            "registry.exists",
            f"{code} is already in the registry ({current.name!r}) at or after "
            f"{start.isoformat()}: rename it, or close it first",
            "code",
            status=409,
        )
    agency = Agency(
        code=code,
        name=name,
        short_name=check_name(draft.short_name, "short_name", required=False),
        kind=draft.kind.strip(),
        parent=parent,
        admin_unit=(draft.admin_unit or "").strip() or None,
        contact={str(k): str(v).strip() for k, v in draft.contact.items() if str(v).strip()},
        valid_from=start,
    )
    return [Change("add", code, None, agency)]


def _target(registry: Registry, code: str, at: dt.datetime, location: str = "code") -> Agency:
    """The record of ``code`` in force at ``at``: 404 when the code is unknown, 409 when it is
    known but not in force then."""
    records = registry.records(code)
    if not records:
        raise AxisError(
            "registry.not_found", f"{code} is not in the registry", location, status=404
        )
    found = _in_force(registry, code, at)
    if found is None:
        raise invalid(
            "registry.not_in_force",
            f"{code} has no record in force at {at.isoformat()}",
            location,
            status=409,
        )
    return found


def rename_changes(
    registry: Registry,
    code: str,
    name: str,
    *,
    short_name: str | None,
    at: dt.datetime | None,
    now: dt.datetime,
) -> list[Change]:
    """A new name: superseding record from ``at``, or an in-place correction without it."""
    code = registry.canonical(check_code(code))
    new_name = check_name(name)
    moment = as_utc(at or now, "at")
    target = _target(registry, code, moment)
    fills: dict[str, object] = {"name": new_name}
    if short_name is not None:
        fills["short_name"] = check_name(short_name, "short_name", required=False)
    renamed = dataclasses.replace(target, **fills)  # type: ignore[arg-type]
    if renamed == target:
        return []
    if at is None or target.valid_from == moment:
        return [Change("update", code, target, renamed)]
    closed = dataclasses.replace(target, valid_until=moment)
    opened = dataclasses.replace(renamed, valid_from=moment)
    return [Change("close", code, target, closed), Change("add", code, None, opened)]


def check_successors(
    registry: Registry, code: str, successors: Sequence[Successor], at: dt.datetime
) -> tuple[Successor, ...]:
    """``successors`` with their codes checked: each distinct, not ``code`` itself, in force at
    ``at``, at most one primary."""
    out: list[Successor] = []
    for index, successor in enumerate(successors):
        where = f"successors[{index}].code"
        target = registry.canonical(check_code(successor.code, where))
        if target == code:
            raise invalid("registry.invalid", f"{code} cannot succeed itself", where)
        if any(s.code == target for s in out):
            raise invalid("registry.invalid", f"{target} is named twice", where)
        if _in_force(registry, target, at) is None:
            raise invalid(
                "registry.successor_unknown",
                f"the successor {target} has no record in force at {at.isoformat()}: mail would "
                "be redirected into the void",
                where,
            )
        out.append(dataclasses.replace(successor, code=target))
    if sum(1 for s in out if s.primary) > 1:
        raise invalid("registry.invalid", "at most one successor is primary", "successors")
    return tuple(out)


def close_changes(
    registry: Registry,
    code: str,
    *,
    at: dt.datetime | None,
    successors: Sequence[Successor],
    legal_basis: str,
    now: dt.datetime,
) -> list[Change]:
    """Close the record in force at ``at`` (default ``now``) and name its successors then."""
    code = registry.canonical(check_code(code))
    moment = as_utc(at or now, "at")
    target = _target(registry, code, moment)
    if target.valid_from is not None and target.valid_from >= moment:
        raise invalid(
            "registry.invalid",
            f"{code}'s record starts at {target.valid_from.isoformat()}: close it after that",
            "at",
        )
    checked = check_successors(registry, code, successors, moment)
    changes = [Change("close", code, target, dataclasses.replace(target, valid_until=moment))]
    if checked:
        succession = Succession(code, checked, moment, legal_basis.strip())
        existing = registry.get_succession(succession.key)
        changes.append(Change("succession", code, existing, succession))
    return changes


def _last_closed(registry: Registry, code: str) -> Agency | None:
    records = registry.records(code)
    return records[-1] if records and records[-1].valid_until is not None else None


def successor_changes(
    registry: Registry,
    code: str,
    successors: Sequence[Successor],
    *,
    at: dt.datetime | None,
    legal_basis: str,
    now: dt.datetime,
) -> list[Change]:
    """Successors for a closed code (from its closing, or ``at``), or close-with-successors for
    a code still in force at ``at`` (default ``now``)."""
    if not successors:
        raise invalid("registry.invalid", "name at least one successor", "successors")
    code = registry.canonical(check_code(code))
    moment = as_utc(at or now, "at")
    if _in_force(registry, code, moment) is not None:
        return close_changes(
            registry, code, at=moment, successors=successors, legal_basis=legal_basis, now=now
        )
    last = _last_closed(registry, code)
    if last is None or last.valid_until is None:
        raise AxisError("registry.not_found", f"{code} is not in the registry", "code", status=404)
    effective = last.valid_until if at is None else moment
    checked = check_successors(registry, code, successors, effective)
    succession = Succession(code, checked, effective, legal_basis.strip())
    existing = registry.get_succession(succession.key)
    if existing is not None and not legal_basis.strip():
        succession = dataclasses.replace(succession, legal_basis=existing.legal_basis)
    return [Change("succession", code, existing, succession)]


def reopen_changes(
    registry: Registry, code: str, *, at: dt.datetime | None, now: dt.datetime
) -> list[Change]:
    """Undo the last closing of ``code`` (no ``at``), or bring the code back from ``at``."""
    code = registry.canonical(check_code(code))
    last = _last_closed(registry, code)
    if last is None or last.valid_until is None:
        if registry.records(code):
            raise invalid("registry.not_closed", f"{code} is not closed", "code", status=409)
        raise AxisError("registry.not_found", f"{code} is not in the registry", "code", status=404)
    if at is None:
        closed_at = last.valid_until
        changes = [Change("update", code, last, dataclasses.replace(last, valid_until=None))]
        succession = registry.get_succession((code, closed_at))
        if succession is not None:
            changes.append(Change("remove_succession", code, succession, None))
        return changes
    moment = as_utc(at, "at")
    if moment < last.valid_until:
        raise invalid(
            "registry.invalid",
            f"{code} is in force until {last.valid_until.isoformat()}: reopen from after that, "
            "or without an instant to undo the closing",
            "at",
        )
    reopened = dataclasses.replace(last, valid_from=moment, valid_until=None)
    return [Change("add", code, None, reopened)]
