"""``/v1/audit/...``: the audit log for auditors (and admins), read-only.

* ``GET /v1/audit/events`` -- events filtered by DocumentId, message, agency code, system, kind
  and time, in chain order, cursor-paged (``after`` = the last page's ``cursor``).
* ``GET /v1/audit/export?from=&to=`` -- every event of the span as JSON Lines, each line the
  hashed fields plus ``prev_hash`` and ``hash`` (:func:`axis.audit.event_to_json`), so a third
  party re-checks the chain with the standard library alone (``docs/audit.md``). Streamed page
  by page: a year's export never sits whole in memory.
* ``GET /v1/audit/verify`` -- the axis's own re-hash of every kept event.

Agency systems get 403 on all of them: an agency sees its own messages' traces through
``/v1/messages/{id}/trace``, never the log of others.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from aiohttp import web

from axis.audit import json_lines
from axis.errors import AxisError
from axis.http.keys import RUNTIME
from axis.http.problems import json_response, query_int, query_time
from axis.http.roles import READERS, require_role
from axis.http.views import event_view
from axis.store.paging import each_page
from axis.store.records import AuditFilter

routes = web.RouteTableDef()

EXPORT_PAGE: Final = 1000
"""Events read from the store per page of an export (one round trip each)."""
EXPORT_TYPE: Final = "application/x-ndjson"


def _filter(request: web.Request, since: str = "since", until: str = "until") -> AuditFilter:
    """The query's narrowing; an empty value is no narrowing, an instant must parse."""
    query = request.query

    def text(name: str) -> str | None:
        value = query.get(name, "").strip()
        return value or None

    start, end = query_time(request, since), query_time(request, until)
    if start is not None and end is not None and end <= start:
        raise AxisError("query.invalid", f"{until} must be after {since}", until)
    return AuditFilter(
        message_id=text("message_id"),
        document_id=text("document_id"),
        code=text("code"),
        system_id=text("system_id"),
        kind=text("kind"),
        since=start,
        until=end,
    )


@routes.get("/v1/audit/events")
async def events(request: web.Request) -> web.Response:
    require_role(request, READERS)
    store = request.app[RUNTIME].store
    limit = query_int(request, "limit", 100, 1, 1000)
    page = await store.audit_events(
        _filter(request), after=request.query.get("after") or None, limit=limit
    )
    return json_response(
        {
            "items": [event_view(e) for e in page.items],
            "cursor": page.cursor,
            "more": page.cursor is not None,
        }
    )


@routes.get("/v1/audit/export")
async def export(request: web.Request) -> web.StreamResponse:
    """JSON Lines of the span ``[from, to)``; both bounds are required, so that an export is
    always a stated span an auditor can name (e.g. one day in Vietnam's time)."""
    require_role(request, READERS)
    query = _filter(request, since="from", until="to")
    if query.since is None or query.until is None:
        name = "from" if query.since is None else "to"
        raise AxisError("query.invalid", f"{name} is required (an instant or a date)", name)
    store = request.app[RUNTIME].store
    response = web.StreamResponse(
        headers={
            "Content-Type": f"{EXPORT_TYPE}; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{_file_name(query.since, query.until)}"',
        }
    )
    await response.prepare(request)
    async for events in each_page(
        lambda cursor: store.audit_events(query, after=cursor, limit=EXPORT_PAGE)
    ):
        if events:
            await response.write(json_lines(events))
    await response.write_eof()
    return response


@routes.get("/v1/audit/verify")
async def verify(request: web.Request) -> web.Response:
    require_role(request, READERS)
    verdict = await request.app[RUNTIME].store.verify_audit()
    return json_response(
        {
            "ok": verdict.ok,
            "checked": verdict.checked,
            "first_broken": verdict.first_broken,
            "reason": verdict.reason,
        }
    )


def _file_name(start: dt.datetime, end: dt.datetime) -> str:
    stamp = "%Y%m%dT%H%M%SZ"
    return (
        f"axis-audit-{start.astimezone(dt.UTC).strftime(stamp)}-"
        f"{end.astimezone(dt.UTC).strftime(stamp)}.jsonl"
    )
