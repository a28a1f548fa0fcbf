"""The registry's pages: search, an agency and its lineage, a version diff, closing a code with
its successor, and importing an official list (upload → dry-run plan → apply now or schedule).

Every read and write is a call of :mod:`axis.registry_reads`, :mod:`axis.registry_admin` or
:mod:`axis.registry_imports`, the same functions as ``/v1/registry`` and ``axis registry``: a
close made here is one new version of the store, audited with the admin's system id and
address, and seen by every node (this node's view switches at once: the next page shows it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote

from aiohttp import web

from axis import registry_admin, registry_imports, registry_reads
from axis.console.web import (
    PREFIX,
    address_of,
    form_of,
    form_text,
    render,
    runtime_of,
    see_other,
    viewer_of,
)
from axis.errors import AxisError
from axis.http.problems import read_instant
from registry.model import SuccessionKind, Successor

routes = web.RouteTableDef()

SEARCH_LIMIT: Final = 50
VERSIONS_SHOWN: Final = 15
PLAN_GROUPS: Final = (
    ("added", ("added",)),
    ("closed_list", ("closed", "superseded")),
    ("renamed", ("renamed",)),
    ("succeeded", ("merged", "split")),
    ("changed", ("moved", "updated", "replaced_inferred")),
)
"""How a plan's changes are tabled: (label, the plan tags that put a change in the table)."""


def _actor(request: web.Request) -> registry_admin.Actor:
    return registry_admin.Actor(viewer_of(request).record.system_id, address_of(request))


def _instant(raw: str, name: str) -> dt.datetime | None:
    """A form's instant (``datetime-local`` is Vietnam time); empty means none."""
    return read_instant(raw, name, "registry.invalid", 422)


def _int(raw: str, name: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise AxisError("query.invalid", f"{name}={raw!r} is not a number", name) from None


@routes.get("/registry")
async def registry_home(request: web.Request) -> web.Response:
    runtime = runtime_of(request)
    registry = runtime.registry.current
    query = request.query.get("q", "").strip()
    results: list[dict[str, Any]] | None = None
    if query:
        found = await registry_reads.search(registry, query, limit=SEARCH_LIMIT)
        results = list(found["results"])
    versions = await registry_reads.versions(registry, limit=VERSIONS_SHOWN)
    imports = await registry_imports.pending_imports(runtime.store)
    return render(
        request,
        "registry.html",
        {
            "q": query,
            "results": results,
            "version": registry.version,
            "versions": versions["versions"],
            "imports": imports[:10],
            "now": runtime.now(),
            "done": request.query.get("done", ""),
            "done_version": request.query.get("version", ""),
        },
    )


@routes.get("/registry/agency/{code}")
async def agency(request: web.Request) -> web.Response:
    runtime = runtime_of(request)
    registry = runtime.registry.current
    found = await registry_reads.agency(registry, request.match_info["code"])
    now_route = await registry_reads.resolve(registry, found["code"], runtime.now())
    return render(
        request,
        "agency.html",
        {
            "agency": found,
            "route": now_route,
            "now": runtime.now(),
            "done_version": request.query.get("version", ""),
        },
    )


@routes.get("/registry/diff")
async def version_diff(request: web.Request) -> web.Response:
    runtime = runtime_of(request)
    registry = runtime.registry.current
    newest = registry.version
    to_version = _int(request.query.get("to") or str(newest), "to")
    from_version = _int(request.query.get("from") or str(max(0, to_version - 1)), "from")
    found = await registry_reads.diff_versions(registry, from_version, to_version)
    return render(
        request,
        "diff.html",
        {"diff": found, "from_version": from_version, "to_version": to_version},
    )


@routes.post("/registry/close")
async def close(request: web.Request) -> web.Response:
    runtime = runtime_of(request)
    form = await form_of(request)
    code = form_text(form, "code").upper()
    successor = form_text(form, "successor").upper()
    kind_text = form_text(form, "kind") or SuccessionKind.MERGED.value
    try:
        kind = SuccessionKind(kind_text)
    except ValueError:
        raise AxisError(
            "registry.invalid", f"{kind_text!r} is not a kind of succession", "kind", status=422
        ) from None
    registry = runtime.registry.current
    successors = (
        (Successor(registry.canonical(successor), kind, primary=True),) if successor else ()
    )
    outcome = await registry_admin.close_agency(
        runtime.store,
        registry.canonical(code),
        at=_instant(form_text(form, "at"), "at"),
        successors=successors,
        legal_basis=form_text(form, "legal_basis"),
        actor=_actor(request),
        now=runtime.now(),
        reason=form_text(form, "reason"),
        view=runtime.registry,
    )
    target = quote(registry.canonical(code), safe="")
    return see_other(f"{PREFIX}registry/agency/{target}?version={outcome.version_after}")


# --- imports --------------------------------------------------------------------------------


@routes.post("/registry/import")
async def upload(request: web.Request) -> web.Response:
    runtime = runtime_of(request)
    form = await form_of(request)
    field = form.get("file")
    if not isinstance(field, web.FileField):
        raise AxisError("registry.invalid", "choose a list file to upload", "file", status=422)
    data = field.file.read()
    plan = await registry_imports.upload_import(
        runtime.store,
        data,
        filename=field.filename or "upload",
        at=_instant(form_text(form, "effective"), "effective"),
        actor=_actor(request),
        now=runtime.now(),
        view=runtime.registry,
    )
    return see_other(f"{PREFIX}registry/import/{quote(str(plan['id']), safe='')}")


def plan_row(change: Mapping[str, Any]) -> dict[str, Any]:
    """One planned change as the plan's tables show it (from its change-log form)."""
    before = (change.get("before") or {}).get("agency") or {}
    after_record = change.get("after") or {}
    agency = after_record.get("agency") or {}
    succession = after_record.get("succession") or (change.get("before") or {}).get("succession")
    row: dict[str, Any] = {
        "code": change.get("code", ""),
        "op": change.get("op", ""),
        "name": agency.get("name") or before.get("name") or "",
        "old_name": before.get("name")
        if before and before.get("name") != agency.get("name")
        else None,
        "parent": agency.get("parent"),
        "instant": None,
        "successors": [],
        "legal_basis": "",
    }
    if succession:
        row["instant"] = succession.get("effective")
        row["successors"] = list(succession.get("successors") or [])
        row["legal_basis"] = succession.get("legal_basis") or ""
    elif change.get("op") == "close" or "closed" in (change.get("tags") or ()):
        row["instant"] = agency.get("valid_until")
    else:
        row["instant"] = agency.get("valid_from")
    return row


def plan_tables(changes: list[Mapping[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """A plan's changes in the tables people read: added, closed, renamed, succeeded, other
    (a change goes in the first table one of its tags names)."""
    tables: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in PLAN_GROUPS}
    for change in changes:
        tags = set(change.get("tags") or ())
        if change.get("op") in ("succession", "remove_succession"):
            tags.add("merged")
        for label, wanted in PLAN_GROUPS:
            if tags & set(wanted):
                tables[label].append(plan_row(change))
                break
        else:
            tables["changed"].append(plan_row(change))
    return [(label, tables[label]) for label, _ in PLAN_GROUPS if tables[label]]


@routes.get("/registry/import/{import_id}")
async def import_plan(request: web.Request) -> web.Response:
    runtime = runtime_of(request)
    found = await registry_imports.get_import(
        runtime.store, request.match_info["import_id"], now=runtime.now(), view=runtime.registry
    )
    return render(
        request,
        "import.html",
        {
            "plan": found,
            "tables": plan_tables(list(found.get("changes") or [])),
            "done": request.query.get("done", ""),
        },
    )


@routes.post("/registry/import/{import_id}/apply")
async def apply(request: web.Request) -> web.Response:
    runtime = runtime_of(request)
    form = await form_of(request)
    import_id = request.match_info["import_id"]
    at = _instant(form_text(form, "at"), "at")
    outcome = await registry_imports.apply_import(
        runtime.store,
        import_id,
        at=at,
        partial=form_text(form, "partial") == "1",
        actor=_actor(request),
        now=runtime.now(),
        view=runtime.registry,
    )
    done = "scheduled" if at is not None else "applied"
    return see_other(f"{PREFIX}registry?done={done}&version={outcome.version_after}")
