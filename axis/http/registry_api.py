"""``/v1/registry/...``: the registry over HTTP, for operators and for agencies' systems.

Reads (resolve, search, one agency, versions, diff, changes since N) are for every
authenticated system: an agency's system polls ``GET /v1/registry/changes?since=N`` to keep its
own copy in sync. Writes (add, rename, close, reopen, successors, imports, decisions on
proposals) are for ``admin`` only (``require_role(request, WRITERS)``): an auditor or an agency
gets 403. Proposals are made by agency systems, under the codes they act for.

Every handler is a thin front onto :mod:`axis.registry_admin`, :mod:`axis.registry_imports` and
:mod:`axis.proposals` (the CLI and the console call the same functions). Bad input is a problem
with a stable ``code`` and the ``location`` of the field (``successors[1].kind``); Vietnamese
names are read and answered as UTF-8, never escaped.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, Final, cast

from aiohttp import web

from axis import proposals, registry_admin, registry_imports
from axis.errors import AxisError
from axis.http.keys import PRINCIPAL, RUNTIME
from axis.http.messages import read_limited
from axis.http.problems import client_address, json_response, query_choice, query_int, query_time
from axis.http.roles import READERS, WRITERS, require_role
from axis.registry_admin import Actor
from axis.registry_edits import AgencyDraft
from axis.runtime import Runtime
from registry.model import SuccessionKind, Successor
from registry.sources.instants import InstantError, parse_instant

routes = web.RouteTableDef()

MAX_JSON_BODY: Final = 256 * 1024
AGENCY_FIELDS: Final = frozenset(
    {
        "code",
        "name",
        "short_name",
        "kind",
        "parent",
        "admin_unit",
        "contact",
        "at",
        "reason",
        "note",
    }
)


# --- request helpers --------------------------------------------------------------------------


def _actor(request: web.Request) -> Actor:
    return Actor(request[PRINCIPAL].system_id, client_address(request))


def _runtime(request: web.Request) -> Runtime:
    return request.app[RUNTIME]


async def _body(request: web.Request, allowed: frozenset[str] | None = None) -> dict[str, Any]:
    """The JSON object of the request (empty body: ``{}``); unknown keys are refused so a typo
    (``"succesors"``) is not silently a close without successors."""
    raw = await read_limited(request, MAX_JSON_BODY)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AxisError("body.invalid", f"the body is not UTF-8 JSON: {exc}", "body") from None
    if not isinstance(body, dict):
        raise AxisError("body.invalid", "the body must be a JSON object", "body")
    if allowed is not None:
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise AxisError(
                "body.invalid",
                f"unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(allowed))}",
                unknown[0],
                status=422,
            )
    return body


def _text(body: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise AxisError("body.invalid", f"{name} is required", name, status=422)
        return None
    if not isinstance(value, str):
        raise AxisError("body.invalid", f"{name} must be a string", name, status=422)
    return value


def _instant(body: Mapping[str, Any], name: str) -> dt.datetime | None:
    value = _text(body, name)
    if value is None or not value.strip():
        return None
    try:
        return parse_instant(value, naive_is_local=True)
    except InstantError as exc:
        raise AxisError("body.invalid", f"{name}: {exc.message}", name, status=422) from None


def _bool(body: Mapping[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise AxisError("body.invalid", f"{name} must be true or false", name, status=422)
    return value


def _successors(body: Mapping[str, Any]) -> tuple[Successor, ...]:
    raw = body.get("successors", [])
    if not isinstance(raw, list):
        raise AxisError("body.invalid", "successors must be a list", "successors", status=422)
    kinds = ", ".join(k.value for k in SuccessionKind)
    found: list[Successor] = []
    for index, item in enumerate(raw):
        where = f"successors[{index}]"
        if isinstance(item, str):
            item = {"code": item}
        if not isinstance(item, dict):
            raise AxisError("body.invalid", f"{where} must be an object", where, status=422)
        code = _text(item, "code", required=True) or ""
        try:
            kind = SuccessionKind(item.get("kind", "merged"))
        except ValueError:
            raise AxisError(
                "body.invalid", f"{where}.kind must be one of {kinds}", f"{where}.kind", status=422
            ) from None
        primary = item.get("primary", False)
        if not isinstance(primary, bool):
            raise AxisError(
                "body.invalid",
                f"{where}.primary must be true or false",
                f"{where}.primary",
                status=422,
            )
        found.append(Successor(code, kind, primary))
    return tuple(found)


def _draft(body: Mapping[str, Any], code: str | None = None) -> AgencyDraft:
    contact = body.get("contact") or {}
    if not isinstance(contact, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in contact.items()
    ):
        raise AxisError(
            "body.invalid", "contact must be an object of strings", "contact", status=422
        )
    return AgencyDraft(
        code=code or _text(body, "code", required=True) or "",
        name=_text(body, "name", required=True) or "",
        short_name=_text(body, "short_name") or "",
        kind=_text(body, "kind") or "",
        parent=_text(body, "parent") or None,
        admin_unit=_text(body, "admin_unit") or None,
        contact=contact,
        valid_from=_instant(body, "at"),
    )


def _query_version(request: web.Request, name: str) -> int:
    if not request.query.get(name):
        raise AxisError("query.invalid", f"{name} (a version number) is required", name)
    return query_int(request, name, 0, 0, 2**31)


# --- reads: every authenticated system ----------------------------------------------------------


@routes.get("/v1/registry/resolve/{code}")
async def resolve(request: web.Request) -> web.Response:
    runtime = _runtime(request)
    at = query_time(request, "at") or runtime.now()
    answer = await registry_admin.resolve(
        runtime.registry.current,
        request.match_info["code"],
        at,
        addressed_at=query_time(request, "addressed_at"),
    )
    return json_response(answer)


@routes.get("/v1/registry/search")
async def search(request: web.Request) -> web.Response:
    answer = await registry_admin.search(
        _runtime(request).registry.current,
        request.query.get("q", ""),
        limit=query_int(request, "limit", 20, 1, registry_admin.MAX_SEARCH),
        at=query_time(request, "at"),
    )
    return json_response(answer)


@routes.get("/v1/registry/agencies/{code}")
async def agency(request: web.Request) -> web.Response:
    answer = await registry_admin.agency(
        _runtime(request).registry.current, request.match_info["code"]
    )
    return json_response(answer)


@routes.get("/v1/registry/versions")
async def versions(request: web.Request) -> web.Response:
    answer = await registry_admin.versions(
        _runtime(request).registry.current,
        limit=query_int(request, "limit", 100, 1, registry_admin.MAX_VERSIONS),
    )
    return json_response(answer)


@routes.get("/v1/registry/diff")
async def diff(request: web.Request) -> web.Response:
    answer = await registry_admin.diff_versions(
        _runtime(request).registry.current,
        _query_version(request, "from"),
        _query_version(request, "to"),
    )
    return json_response(answer)


@routes.get("/v1/registry/changes")
async def changes(request: web.Request) -> web.Response:
    answer = await registry_admin.changes_since(
        _runtime(request).registry.current, _query_version(request, "since")
    )
    return json_response(answer)


# --- single changes: admin only ---------------------------------------------------------------


@routes.post("/v1/registry/agencies")
async def add(request: web.Request) -> web.Response:
    require_role(request, WRITERS)
    runtime = _runtime(request)
    body = await _body(request, AGENCY_FIELDS)
    outcome = await registry_admin.add_agency(
        runtime.store,
        _draft(body),
        actor=_actor(request),
        now=runtime.now(),
        reason=_text(body, "reason") or "",
        view=runtime.registry,
    )
    return json_response(outcome.to_dict(), status=201 if outcome.changed else 200)


@routes.post("/v1/registry/agencies/{code}/rename")
async def rename(request: web.Request) -> web.Response:
    require_role(request, WRITERS)
    runtime = _runtime(request)
    body = await _body(request, frozenset({"name", "short_name", "at", "reason"}))
    outcome = await registry_admin.rename_agency(
        runtime.store,
        request.match_info["code"],
        _text(body, "name", required=True) or "",
        short_name=_text(body, "short_name"),
        at=_instant(body, "at"),
        actor=_actor(request),
        now=runtime.now(),
        reason=_text(body, "reason") or "",
        view=runtime.registry,
    )
    return json_response(outcome.to_dict())


@routes.post("/v1/registry/agencies/{code}/close")
async def close(request: web.Request) -> web.Response:
    require_role(request, WRITERS)
    runtime = _runtime(request)
    body = await _body(request, frozenset({"at", "successors", "legal_basis", "reason"}))
    outcome = await registry_admin.close_agency(
        runtime.store,
        request.match_info["code"],
        at=_instant(body, "at"),
        successors=_successors(body),
        legal_basis=_text(body, "legal_basis") or "",
        actor=_actor(request),
        now=runtime.now(),
        reason=_text(body, "reason") or "",
        view=runtime.registry,
    )
    return json_response(outcome.to_dict())


@routes.post("/v1/registry/agencies/{code}/successors")
async def successors(request: web.Request) -> web.Response:
    require_role(request, WRITERS)
    runtime = _runtime(request)
    body = await _body(request, frozenset({"at", "successors", "legal_basis", "reason"}))
    outcome = await registry_admin.set_successors(
        runtime.store,
        request.match_info["code"],
        _successors(body),
        at=_instant(body, "at"),
        legal_basis=_text(body, "legal_basis") or "",
        actor=_actor(request),
        now=runtime.now(),
        reason=_text(body, "reason") or "",
        view=runtime.registry,
    )
    return json_response(outcome.to_dict())


@routes.post("/v1/registry/agencies/{code}/reopen")
async def reopen(request: web.Request) -> web.Response:
    require_role(request, WRITERS)
    runtime = _runtime(request)
    body = await _body(request, frozenset({"at", "reason"}))
    outcome = await registry_admin.reopen_agency(
        runtime.store,
        request.match_info["code"],
        at=_instant(body, "at"),
        actor=_actor(request),
        now=runtime.now(),
        reason=_text(body, "reason") or "",
        view=runtime.registry,
    )
    return json_response(outcome.to_dict())


# --- imports ----------------------------------------------------------------------------------


@routes.post("/v1/registry/imports")
async def upload(request: web.Request) -> web.Response:
    """The body is the list file itself (CSV, JSON, gzip'd or not); ``?filename=``, ``format=``
    and ``at=`` (plan for that instant) in the query."""
    require_role(request, WRITERS)
    runtime = _runtime(request)
    data = await read_limited(request, registry_imports.MAX_IMPORT_BYTES)
    if not data.strip():
        raise AxisError("body.invalid", "the body is the list file; it is empty", "body")
    plan = await registry_imports.upload_import(
        runtime.store,
        data,
        filename=request.query.get("filename") or "upload",
        format=query_choice(request, "format", ("native", "vdxp", "nso_crosswalk")),
        at=query_time(request, "at"),
        actor=_actor(request),
        now=runtime.now(),
        view=runtime.registry,
    )
    return json_response(plan, status=201)


@routes.get("/v1/registry/imports")
async def imports(request: web.Request) -> web.Response:
    require_role(request, READERS)
    return json_response({"items": await registry_imports.pending_imports(_runtime(request).store)})


@routes.get("/v1/registry/imports/{id}")
async def one_import(request: web.Request) -> web.Response:
    require_role(request, READERS)
    runtime = _runtime(request)
    answer = await registry_imports.get_import(
        runtime.store, request.match_info["id"], now=runtime.now(), view=runtime.registry
    )
    return json_response(answer)


@routes.post("/v1/registry/imports/{id}/apply")
async def apply_import(request: web.Request) -> web.Response:
    require_role(request, WRITERS)
    runtime = _runtime(request)
    body = await _body(request, frozenset({"at", "partial", "reason"}))
    outcome = await registry_imports.apply_import(
        runtime.store,
        request.match_info["id"],
        at=_instant(body, "at"),
        partial=_bool(body, "partial"),
        actor=_actor(request),
        now=runtime.now(),
        view=runtime.registry,
        reason=_text(body, "reason") or "",
    )
    return json_response(outcome.to_dict())


@routes.delete("/v1/registry/imports/{id}")
async def discard_import(request: web.Request) -> web.Response:
    require_role(request, WRITERS)
    runtime = _runtime(request)
    await registry_imports.discard_import(
        runtime.store, request.match_info["id"], actor=_actor(request), now=runtime.now()
    )
    return json_response({"id": request.match_info["id"], "state": "discarded"})


# --- proposals --------------------------------------------------------------------------------


@routes.post("/v1/registry/proposals")
async def propose(request: web.Request) -> web.Response:
    """An agency's system proposes a sub-unit under a code it acts for."""
    principal = require_role(request, ("agency",))
    runtime = _runtime(request)
    body = await _body(request, AGENCY_FIELDS)
    answer = await proposals.propose(
        runtime.store,
        principal,
        _draft(body),
        address=client_address(request),
        now=runtime.now(),
        auto_approve=runtime.config.auto_approve_proposals,
        note=_text(body, "note") or "",
        view=runtime.registry,
    )
    return json_response(answer, status=201)


@routes.get("/v1/registry/proposals")
async def list_proposals(request: web.Request) -> web.Response:
    require_role(request, READERS)
    state = query_choice(request, "state", proposals.STATES)
    items = await proposals.list_proposals(
        _runtime(request).store, state=cast(proposals.ProposalState | None, state)
    )
    return json_response({"items": items})


@routes.post("/v1/registry/proposals/{id}/approve")
async def approve(request: web.Request) -> web.Response:
    require_role(request, WRITERS)
    runtime = _runtime(request)
    body = await _body(request, frozenset({"reason"}))
    answer = await proposals.approve_proposal(
        runtime.store,
        request.match_info["id"],
        actor=_actor(request),
        now=runtime.now(),
        reason=_text(body, "reason") or "",
        view=runtime.registry,
    )
    return json_response(answer)


@routes.post("/v1/registry/proposals/{id}/reject")
async def reject(request: web.Request) -> web.Response:
    require_role(request, WRITERS)
    runtime = _runtime(request)
    body = await _body(request, frozenset({"reason"}))
    answer = await proposals.reject_proposal(
        runtime.store,
        request.match_info["id"],
        actor=_actor(request),
        now=runtime.now(),
        reason=_text(body, "reason") or "",
    )
    return json_response(answer)
