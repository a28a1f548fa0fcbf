"""The agency operations: getAgenciesList and getSynchronizeUnit from the registry;
registerAgency makes a proposal (:mod:`axis.proposals`); deleteAgency is answered as not in this
version (closing a code moves other agencies' mail: an admin does it).

registerAgency. The body is ``{id, pcode, code, name, mail, mobile, fax}`` (VDXP_API.md §3.3).
The caller may propose only codes under those it acts for, as ``POST /v1/registry/proposals``;
``pcode`` names the parent the way each SDK does (an agency code, the 24-hex id of our lists, or,
as Bkav sends, the caller's system id: then the code's structural parent is used). The answer is
the success envelope with ``data: {proposalId, state, version}``: ``pending`` until an admin
approves it, ``approved`` at once with ``AXIS_AUTO_APPROVE_PROPOSALS``. Refusals keep the
``/v1`` problem code in ``ErrorDesc``: a code outside the caller's is ``auth.not_your_code``
(ErrorCode "5"), a bad code, name or parent ``vdxp.bad_param`` ("2").

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
import json
from collections.abc import Iterator
from typing import Any, Final

from adapters.vdxp.documents import Call
from adapters.vdxp.wire import bad_param, ok, vdxp_time
from axis import proposals
from axis.errors import AxisError
from axis.http.messages import read_limited
from axis.registry_edits import AgencyDraft
from registry.codes import AgencyCode, AgencyCodeError
from registry.model import Agency
from registry.registry import Registry
from registry.sources.adminkeys import ADMIN_UNIT_KIND

ID_SALT: Final = "vdxp-agency:"
NOT_IN_VERSION: Final = (
    "closing a code moves other agencies' mail: not in this version (ask the axis's "
    "administrators to close the unit, with its successor, in the registry)"
)
MAX_BODY: Final = 64 * 1024


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


def _text(body: dict[str, Any], *names: str) -> str:
    for name in names:
        value = body.get(name)
        if value is not None and str(value).strip():
            return str(value).strip()
    return ""


def _proposed_parent(registry: Registry, pcode: str) -> str | None:
    """The parent ``pcode`` names: a code in the registry, or the id of one in our lists;
    anything else (Bkav's system id) leaves the code's structural parent."""
    if not pcode:
        return None
    upper = pcode.upper()
    if _is_agency_code(upper) and registry.records(upper):
        return registry.canonical(upper)
    if len(pcode) == len(agency_id("")):
        for agency in _latest(registry):
            if agency_id(agency.code) == pcode.lower():
                return agency.code
    return None


async def _body(call: Call) -> dict[str, Any]:
    raw = await read_limited(call.request, MAX_BODY)
    try:
        body = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bad_param("body", f"registerAgency's body is not UTF-8 JSON: {exc}") from None
    if not isinstance(body, dict):
        raise bad_param("body", "registerAgency's body is a JSON object")
    return body


async def register_agency(call: Call) -> dict[str, Any]:
    """A proposal of the unit in the body (module docstring)."""
    body = await _body(call)
    runtime = call.runtime
    code = _text(body, "code", "Code")
    if not code:
        raise bad_param("code", "registerAgency needs the code of the unit")
    contact = {
        key: value
        for key, value in (
            ("email", _text(body, "mail", "email")),
            ("phone", _text(body, "mobile", "phone")),
            ("fax", _text(body, "fax")),
        )
        if value
    }
    draft = AgencyDraft(
        code=code,
        name=_text(body, "name", "Name"),
        parent=_proposed_parent(runtime.registry.current, _text(body, "pcode", "pid")),
        contact=contact,
    )
    try:
        proposal = await proposals.propose(
            runtime.store,
            call.caller,
            draft,
            address=call.address,
            now=runtime.now(),
            auto_approve=runtime.config.auto_approve_proposals,
            note="VDXP registerAgency",
            view=runtime.registry,
        )
    except AxisError as exc:
        if exc.code == "proposal.forbidden":
            raise AxisError("auth.not_your_code", exc.message, exc.location, status=200) from None
        if exc.code.startswith(("registry.", "body.")):
            raise bad_param(exc.location or "body", f"{exc.code}: {exc.message}") from None
        raise
    return ok(
        data={
            "proposalId": proposal["id"],
            "state": proposal["state"],
            "version": proposal["version"],
        }
    )


async def delete_agency(call: Call) -> dict[str, Any]:
    raise AxisError("vdxp.not_supported", "deleteAgency: " + NOT_IN_VERSION, status=200)
