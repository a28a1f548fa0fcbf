"""Imports of official lists by an operator: upload, see the plan, apply it now or for later.

``upload_import`` reads the file (any format :mod:`registry.sources` reads), plans it against the
newest version (a dry run: nothing changes) and keeps it as a pending import in the store
(``store.put_entry("registry_import", id, ...)``, so the plan made on one node is applied from
another); ``apply_import`` makes it ONE new version through :func:`axis.registry_admin.commit`.

All or nothing by default: an import whose file has an error row or whose plan has a conflict is
refused whole (``registry.import_refused``, 422, every problem listed with its source line) and
nothing changes; ``partial=True`` applies the rest and lists what it left out. Two files that
used to slip through are refused with their lines: a code stated twice with two names (neither
is applied: which one is right is not the axis's guess) and a quote never closed (which turned
the rest of the file into one name).

Scheduling: ``at`` plans the list's undated statements for that instant (new agencies start
then, renamed ones are superseded then, deletions close then) and the version is stored at once,
so it takes effect at the instant on every node with no background job, and agency systems see
it ahead in ``changes?since=N``. A plan is bound to the version it was made against: applying it
after another change is ``registry.import_stale`` (409), and the operator plans again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import secrets
from typing import Any, Final

from axis.errors import AxisError, NotFoundError
from axis.registry_admin import Actor, ChangeOutcome, commit, latest_registry
from axis.registry_view import RegistryView
from axis.store.protocol import Store
from axis.store.records import AuditDraft
from registry import sources, sync
from registry.model import change_to_dict
from registry.registry import Registry
from registry.sources.batch import ImportBatch
from registry.sync import Problem, SyncPlan

IMPORT_KIND: Final = "registry_import"
"""The store entries' kind of pending (and applied) imports."""
MAX_IMPORT_BYTES: Final = 32 * 1024 * 1024
"""Largest list accepted (the whole crosswalk is about 1.5 MB)."""
PLAN_ITEMS_SHOWN: Final = 1000
"""Planned changes listed in a plan's JSON (the summary counts them all)."""


def decode_upload(data: bytes, filename: str) -> str:
    """An uploaded file's text (gzip'd or not, UTF-8); ``registry.import_unreadable`` (422)
    when it is neither, ``registry.import_too_large`` (413) past :data:`MAX_IMPORT_BYTES`."""
    if len(data) > MAX_IMPORT_BYTES:
        raise AxisError(
            "registry.import_too_large",
            f"{len(data)} bytes, at most {MAX_IMPORT_BYTES}",
            filename,
            status=413,
        )
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise AxisError(
                "registry.import_unreadable", f"bad gzip: {exc}", filename, status=422
            ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AxisError(
            "registry.import_unreadable",
            f"byte {exc.start} is not UTF-8 (save the list as UTF-8)",
            filename,
            status=422,
        ) from None


def read_upload(text: str, filename: str, format: str | None = None) -> ImportBatch:
    """The batch a list states (format from the content unless given); a file no reader takes
    is ``registry.import_<source code>`` (422)."""
    try:
        return sources.read_text(text, filename, format)
    except sources.SourceError as exc:
        raise AxisError(
            f"registry.import_{exc.code.replace('.', '_')}", exc.message, filename, status=422
        ) from None


def refusal(plan: SyncPlan, problems: tuple[Problem, ...], import_id: str | None) -> AxisError:
    """The 422 of an import with problems: every one, with its lines, in ``problems``."""
    first = problems[0].format() if problems else ""
    return AxisError(
        "registry.import_refused",
        f"{len(problems)} problem(s) in {plan.source}; nothing was applied (first: {first}). "
        "Fix the list, or apply it partially to leave exactly these out",
        plan.source,
        status=422,
        problems=[p.to_dict() for p in problems],
        extra={"import_id": import_id, "summary": plan.summary()},
    )


def plan_view(plan: SyncPlan, *, limit: int = PLAN_ITEMS_SHOWN) -> dict[str, Any]:
    """The JSON of a plan: counts, the changes (up to ``limit``), conflicts, notices, the
    reader's issues and the problems that block a whole apply."""
    problems = plan.problems()
    return {
        "source": plan.source,
        "format": plan.source_format,
        "base_version": plan.base_version,
        "effective": None if plan.effective is None else plan.effective.isoformat(),
        "summary": plan.summary(),
        "can_apply": not problems,
        "problems": [p.to_dict() for p in problems],
        "changes": [
            {
                "tags": list(item.tags),
                "description": sync.describe(item),
                "note": item.note,
                **change_to_dict(item.change),
            }
            for item in plan.items[:limit]
        ],
        "changes_shown": min(limit, len(plan.items)),
        "notices": [
            {"code": n.code, "subject": n.subject, "message": n.message} for n in plan.notices
        ],
        "warnings": [
            {"code": i.code, "message": i.message, "line": i.line, "field": i.field}
            for i in plan.issues
            if i.severity == "warning"
        ],
    }


def _plan(
    registry: Registry, batch: ImportBatch, at: dt.datetime | None, now: dt.datetime
) -> SyncPlan:
    return sync.build_plan(registry, batch, effective=at, now=now)


async def upload_import(
    store: Store,
    data: bytes,
    *,
    filename: str,
    format: str | None = None,
    at: dt.datetime | None = None,
    actor: Actor,
    now: dt.datetime,
    view: RegistryView | None = None,
) -> dict[str, Any]:
    """Read and plan an uploaded list against the newest version (nothing changes) and keep it
    as a pending import: the plan's JSON (:func:`plan_view`) with its ``id``. A list with
    problems is kept too (``can_apply`` false), so the operator may apply it partially."""
    text = decode_upload(data, filename)
    batch = await asyncio.to_thread(read_upload, text, filename, format)
    registry = await latest_registry(store, view)
    plan = await asyncio.to_thread(_plan, registry, batch, at, now)
    import_id = secrets.token_hex(8)
    body = {
        "id": import_id,
        "state": "pending",
        "filename": filename,
        "format": batch.format,
        "rows": batch.rows,
        "base_version": registry.version,
        "effective": None if at is None else at.isoformat(),
        "uploaded_at": now.isoformat(),
        "uploaded_by": actor.system_id,
        "address": actor.address,
        "summary": plan.summary(),
        "text": text,
    }
    await store.put_entry(
        IMPORT_KIND,
        import_id,
        body,
        AuditDraft(
            kind="registry.import_planned",
            at=now,
            system_id=actor.system_id,
            address=actor.address,
            data={
                "import_id": import_id,
                "filename": filename,
                "format": batch.format,
                "base_version": registry.version,
                "summary": plan.summary(),
            },
        ),
    )
    return {"id": import_id, "state": "pending", "rows": batch.rows, **plan_view(plan)}


def _header(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "text"}


async def pending_imports(store: Store) -> list[dict[str, Any]]:
    """Every kept import (pending, applied or discarded), without its text, newest first."""
    found = [_header(body) for body in (await store.entries(IMPORT_KIND)).values()]
    return sorted(found, key=lambda b: str(b.get("uploaded_at") or ""), reverse=True)


async def _entry(store: Store, import_id: str) -> dict[str, Any]:
    body = (await store.entries(IMPORT_KIND)).get(import_id)
    if body is None:
        raise NotFoundError("registry.import_not_found", f"no import {import_id!r}", "id")
    return body


async def get_import(
    store: Store, import_id: str, *, now: dt.datetime, view: RegistryView | None = None
) -> dict[str, Any]:
    """A kept import; a pending one with its plan made again against the newest version."""
    body = await _entry(store, import_id)
    if body.get("state") != "pending":
        return _header(body)
    batch = await asyncio.to_thread(read_upload, body["text"], body["filename"], body["format"])
    registry = await latest_registry(store, view)
    at = None if body.get("effective") is None else dt.datetime.fromisoformat(body["effective"])
    plan = await asyncio.to_thread(_plan, registry, batch, at, now)
    return {**_header(body), "stale": registry.version != body["base_version"], **plan_view(plan)}


async def apply_import(
    store: Store,
    import_id: str,
    *,
    at: dt.datetime | None = None,
    partial: bool = False,
    actor: Actor,
    now: dt.datetime,
    view: RegistryView | None = None,
    reason: str = "",
) -> ChangeOutcome:
    """Apply a pending import as ONE version: now, or scheduled for ``at`` (default: the instant
    it was planned for). Refused whole (422, every problem with its line) unless ``partial``;
    with ``partial`` the outcome's ``left_out`` lists what was not applied."""
    body = await _entry(store, import_id)
    if body.get("state") != "pending":
        raise AxisError(
            "registry.import_done",
            f"import {import_id} is {body.get('state')}, not pending",
            "id",
            status=409,
        )
    batch = await asyncio.to_thread(read_upload, body["text"], body["filename"], body["format"])
    if at is None and body.get("effective"):
        at = dt.datetime.fromisoformat(body["effective"])
    base_version = int(body["base_version"])
    report: dict[str, Any] = {}

    def build(registry: Registry) -> list[Any]:
        if registry.version != base_version:
            raise AxisError(
                "registry.import_stale",
                f"planned against version {base_version}, the registry is at "
                f"{registry.version}: upload the list again to see the new plan",
                "id",
                status=409,
            )
        plan = _plan(registry, batch, at, now)
        problems = plan.problems()
        if problems and not partial:
            raise refusal(plan, problems, import_id)
        report["summary"] = plan.summary()
        report["left_out"] = [p.to_dict() for p in problems]
        return list(plan.changes)

    outcome = await commit(
        store,
        build,
        actor=actor,
        now=now,
        reason=reason
        or f"import {body['filename']} ({body['format']})" + (" partial" if partial else ""),
        action="import",
        codes=(),
        effective=at,
        view=view,
    )
    outcome.extra.update(import_id=import_id, partial=partial, **report)
    done = {
        **_header(body),
        "state": "applied",
        "applied_at": now.isoformat(),
        "applied_by": actor.system_id,
        "version": outcome.version_after,
        "partial": partial,
        "left_out": report.get("left_out", []),
        "effective": None if at is None else at.isoformat(),
    }
    await store.put_entry(
        IMPORT_KIND,
        import_id,
        done,
        AuditDraft(
            kind="registry.import_applied",
            at=now,
            system_id=actor.system_id,
            address=actor.address,
            data={"import_id": import_id, "version": outcome.version_after, "partial": partial},
        ),
    )
    return outcome


async def discard_import(store: Store, import_id: str, *, actor: Actor, now: dt.datetime) -> None:
    """Forget a pending import (its text goes; the audit keeps that it was planned)."""
    body = await _entry(store, import_id)
    await store.put_entry(
        IMPORT_KIND,
        import_id,
        {**_header(body), "state": "discarded", "discarded_at": now.isoformat()},
        AuditDraft(
            kind="registry.import_discarded",
            at=now,
            system_id=actor.system_id,
            address=actor.address,
            data={"import_id": import_id},
        ),
    )
