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

from typing import Any, cast

from aiohttp import web

from axis import proposals, registry_admin, registry_imports, registry_reads
from axis.errors import AxisError
from axis.http.keys import PRINCIPAL, RUNTIME
from axis.http.messages import read_limited
from axis.http.problems import client_address, json_response, query_choice, query_int, query_time
from axis.http.registry_body import AGENCY_FIELDS, draft, flag, instant, read_body, successors, text
from axis.http.roles import READERS, WRITERS, require_role
from axis.registry_admin import Actor, WriteArgs
from axis.runtime import Runtime

routes = web.RouteTableDef()


# --- request helpers --------------------------------------------------------------------------


def _actor(request: web.Request) -> Actor:
    return Actor(request[PRINCIPAL].system_id, client_address(request))


def _runtime(request: web.Request) -> Runtime:
    return request.app[RUNTIME]


async def _write(
    request: web.Request, fields: frozenset[str]
) -> tuple[Runtime, dict[str, Any], WriteArgs]:
    """An admin's write: its runtime, its body (no key outside ``fields`` and ``reason``) and
    the arguments every write takes (who, from where, now, why, this node's view)."""
    require_role(request, WRITERS)
    runtime = _runtime(request)
    body = await read_body(request, fields | {"reason"})
    write = WriteArgs(
        actor=_actor(request),
        now=runtime.now(),
        reason=text(body, "reason") or "",
        view=runtime.registry,
    )
    return runtime, body, write


def _query_version(request: web.Request, name: str) -> int:
    if not request.query.get(name):
        raise AxisError("query.invalid", f"{name} (a version number) is required", name)
    return query_int(request, name, 0, 0, 2**31)


# --- reads: every authenticated system ----------------------------------------------------------


@routes.get("/v1/registry/resolve/{code}")
async def resolve(request: web.Request) -> web.Response:
    runtime = _runtime(request)
    at = query_time(request, "at") or runtime.now()
    answer = await registry_reads.resolve(
        runtime.registry.current,
        request.match_info["code"],
        at,
        addressed_at=query_time(request, "addressed_at"),
    )
    return json_response(answer)


@routes.get("/v1/registry/search")
async def search(request: web.Request) -> web.Response:
    answer = await registry_reads.search(
        _runtime(request).registry.current,
        request.query.get("q", ""),
        limit=query_int(request, "limit", 20, 1, registry_reads.MAX_SEARCH),
        at=query_time(request, "at"),
    )
    return json_response(answer)


@routes.get("/v1/registry/agencies/{code}")
async def agency(request: web.Request) -> web.Response:
    answer = await registry_reads.agency(
        _runtime(request).registry.current, request.match_info["code"]
    )
    return json_response(answer)


@routes.get("/v1/registry/versions")
async def versions(request: web.Request) -> web.Response:
    answer = await registry_reads.versions(
        _runtime(request).registry.current,
        limit=query_int(request, "limit", 100, 1, registry_reads.MAX_VERSIONS),
    )
    return json_response(answer)


@routes.get("/v1/registry/diff")
async def diff(request: web.Request) -> web.Response:
    answer = await registry_reads.diff_versions(
        _runtime(request).registry.current,
        _query_version(request, "from"),
        _query_version(request, "to"),
    )
    return json_response(answer)


@routes.get("/v1/registry/changes")
async def changes(request: web.Request) -> web.Response:
    answer = await registry_reads.changes_since(
        _runtime(request).registry.current, _query_version(request, "since")
    )
    return json_response(answer)


# --- single changes: admin only ---------------------------------------------------------------


@routes.post("/v1/registry/agencies")
async def add(request: web.Request) -> web.Response:
    runtime, body, write = await _write(request, AGENCY_FIELDS)
    outcome = await registry_admin.add_agency(runtime.store, draft(body), **write)
    return json_response(outcome.to_dict(), status=201 if outcome.changed else 200)


@routes.post("/v1/registry/agencies/{code}/rename")
async def rename(request: web.Request) -> web.Response:
    runtime, body, write = await _write(request, frozenset({"name", "short_name", "at"}))
    outcome = await registry_admin.rename_agency(
        runtime.store,
        request.match_info["code"],
        text(body, "name", required=True) or "",
        short_name=text(body, "short_name"),
        at=instant(body, "at"),
        **write,
    )
    return json_response(outcome.to_dict())


_SUCCESSION_FIELDS = frozenset({"at", "successors", "legal_basis"})


@routes.post("/v1/registry/agencies/{code}/close")
async def close(request: web.Request) -> web.Response:
    runtime, body, write = await _write(request, _SUCCESSION_FIELDS)
    outcome = await registry_admin.close_agency(
        runtime.store,
        request.match_info["code"],
        at=instant(body, "at"),
        successors=successors(body),
        legal_basis=text(body, "legal_basis") or "",
        **write,
    )
    return json_response(outcome.to_dict())


@routes.post("/v1/registry/agencies/{code}/successors")
async def set_successors(request: web.Request) -> web.Response:
    runtime, body, write = await _write(request, _SUCCESSION_FIELDS)
    outcome = await registry_admin.set_successors(
        runtime.store,
        request.match_info["code"],
        successors(body),
        at=instant(body, "at"),
        legal_basis=text(body, "legal_basis") or "",
        **write,
    )
    return json_response(outcome.to_dict())


@routes.post("/v1/registry/agencies/{code}/reopen")
async def reopen(request: web.Request) -> web.Response:
    runtime, body, write = await _write(request, frozenset({"at"}))
    outcome = await registry_admin.reopen_agency(
        runtime.store, request.match_info["code"], at=instant(body, "at"), **write
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
    runtime, body, write = await _write(request, frozenset({"at", "partial"}))
    outcome = await registry_imports.apply_import(
        runtime.store,
        request.match_info["id"],
        at=instant(body, "at"),
        partial=flag(body, "partial"),
        **write,
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
    body = await read_body(request, AGENCY_FIELDS)
    answer = await proposals.propose(
        runtime.store,
        principal,
        draft(body),
        address=client_address(request),
        now=runtime.now(),
        auto_approve=runtime.config.auto_approve_proposals,
        note=text(body, "note") or "",
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
    runtime, _, write = await _write(request, frozenset())
    answer = await proposals.approve_proposal(runtime.store, request.match_info["id"], **write)
    return json_response(answer)


@routes.post("/v1/registry/proposals/{id}/reject")
async def reject(request: web.Request) -> web.Response:
    runtime, _, write = await _write(request, frozenset())
    answer = await proposals.reject_proposal(
        runtime.store,
        request.match_info["id"],
        actor=write["actor"],
        now=write["now"],
        reason=write["reason"],
    )
    return json_response(answer)
