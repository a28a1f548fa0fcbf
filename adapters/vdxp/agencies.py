"""The agency operations: getAgenciesList and getSynchronizeUnit from the registry; register and
delete answered as not in this version.

Ids. The VDXP lists carry ``id``/``pid`` that look like 24-hex MongoDB ObjectIds; our registry
has no such ids, so :func:`agency_id` derives one from the code: the first 24 hex digits of
SHA-256 over ``"vdxp-agency:" + code``. The same code gives the same id on every node, in every
registry version and across restarts, without storing anything; ``pid`` is the id of the parent
(the record's own parent, else the code structure's: the left-most non-zero group zeroed) when
that parent is in the registry, else "". The registry's own VDXP importer
(``registry/sources/vdxp.py``) resolves ``pid`` through the items' ids, so our lists round-trip.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any, Final

from adapters.vdxp.documents import Call
from adapters.vdxp.wire import ok, vdxp_time
from axis.errors import AxisError
from registry.codes import AgencyCode, AgencyCodeError
from registry.model import Agency
from registry.registry import Registry
from registry.sources.adminkeys import ADMIN_UNIT_KIND

ID_SALT: Final = "vdxp-agency:"
NOT_IN_VERSION: Final = (
    "proposals need an admin; not in this version (ask the axis's administrators to add or "
    "close a unit in the registry)"
)


def agency_id(code: str) -> str:
    """A stable 24-hex id for an agency code (module docstring)."""
    return hashlib.sha256((ID_SALT + code).encode("utf-8")).hexdigest()[:24]


def _parent_id(registry: Registry, agency: Agency) -> str:
    parent = agency.parent
    if parent is None:
        try:
            found = AgencyCode.parse(agency.code).parent
        except AgencyCodeError:
            found = None
        parent = None if found is None else found.text
    if parent is None or not registry.records(parent):
        return ""
    return agency_id(registry.canonical(parent))


def _is_agency_code(code: str) -> bool:
    try:
        AgencyCode.parse(code)
    except AgencyCodeError:
        return False
    return True


def _latest(registry: Registry) -> Iterator[Agency]:
    """One record per code: the last one (a re-used code has several), in code order.

    Only QCVN agency codes: the registry's administrative-unit keys (``TINH-``, ``HUYEN-``,
    ``XA-``) are not addresses an SDK can send to."""
    last: Agency | None = None
    for agency in registry.agencies():
        if not _is_agency_code(agency.code):
            continue
        if last is not None and agency.code != last.code:
            yield last
        last = agency
    if last is not None:
        yield last


def _row(registry: Registry, agency: Agency) -> dict[str, Any]:
    return {
        "id": agency_id(agency.code),
        "pid": _parent_id(registry, agency),
        "code": agency.code,
        "name": agency.name,
        "mail": agency.contact.get("email", ""),
    }


async def agencies_list(call: Call) -> dict[str, Any]:
    """Every agency in force now: ``{id, pid, code, name, mail}``."""
    registry = call.runtime.registry.current
    now = call.runtime.now()
    rows = [
        _row(registry, current)
        for agency in _latest(registry)
        if (current := registry.get(agency.code, now)) is not None
    ]
    return ok(data=rows)


async def synchronize_unit(call: Call) -> dict[str, Any]:
    """Every unit, closed ones with ``deleted: true``, in the getSynchronizeUnit shape.

    ``version`` is the registry version; ``modifyDate`` when the unit took its current form
    (its closing for a deleted one, else its start, else the version's date).
    """
    registry = call.runtime.registry.current
    now = call.runtime.now()
    rows: list[dict[str, Any]] = []
    for latest in _latest(registry):
        current = registry.get(latest.code, now)
        closed = latest.valid_until is not None and latest.valid_until <= now
        if current is None and not closed:
            continue  # not in force yet: it does not exist for the SDK
        agency = current or latest
        deleted = current is None
        changed = agency.valid_until if deleted else agency.valid_from
        rows.append(
            {
                **_row(registry, agency),
                "version": registry.version,
                "centerCode": agency.delivery.get("center", ""),
                "deleted": deleted,
                "modifyDate": vdxp_time(changed or registry.info.created_at),
                "isAgency": agency.kind != ADMIN_UNIT_KIND,
            }
        )
    return ok(data=rows)


async def register_agency(call: Call) -> dict[str, Any]:
    raise AxisError("vdxp.not_supported", "registerAgency: " + NOT_IN_VERSION, status=200)


async def delete_agency(call: Call) -> dict[str, Any]:
    raise AxisError("vdxp.not_supported", "deleteAgency: " + NOT_IN_VERSION, status=200)
