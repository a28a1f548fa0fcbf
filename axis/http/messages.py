"""``/v1/messages``: send, fetch, acknowledge, trace; ``/v1/inbox`` and ``/v1/sent``."""

from __future__ import annotations

from typing import Any, cast

from aiohttp import web

from axis.auth.principal import Principal
from axis.errors import AxisError
from axis.http.bodies import parse_json_object, text_field
from axis.http.keys import PRINCIPAL, RUNTIME
from axis.http.problems import (
    client_address,
    json_response,
    query_choice,
    query_float,
    query_int,
    query_time,
)
from axis.http.views import (
    delivery_view,
    event_view,
    inbox_view,
    message_view,
    sent_view,
)
from axis.store.records import AckOutcome, MessageKind

routes = web.RouteTableDef()

_CHUNK = 64 * 1024


async def read_limited(request: web.Request, limit: int) -> bytes:
    """The body, refused as soon as it passes ``limit`` (never buffered past it)."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise AxisError(
            "xml.too_large",
            f"the package is {declared} bytes; the limit is {limit}",
            "body",
            status=413,
        )
    parts: list[bytes] = []
    size = 0
    while chunk := await request.content.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise AxisError(
                "xml.too_large",
                f"the package passes the limit of {limit} bytes",
                "body",
                status=413,
            )
        parts.append(chunk)
    return b"".join(parts)


def page_body(
    items: list[dict[str, Any]], following: str | None, request: web.Request
) -> dict[str, Any]:
    """A page: ``cursor`` is where to continue (the last item's, or the one asked with when
    nothing came, so a poller always has one), ``more`` whether items already wait past it."""
    cursor = items[-1]["cursor"] if items else request.query.get("after") or None
    return {"items": items, "cursor": cursor, "more": following is not None}


def _caller(request: web.Request) -> Principal:
    return request[PRINCIPAL]


def _agency_caller(request: web.Request, doing: str) -> Principal:
    """The caller of a send or an ack, refused before its body is read when it acts for no
    agency code (an auditor, an admin without codes): they read, they do not send or take."""
    caller = request[PRINCIPAL]
    if not caller.codes:
        raise AxisError(
            "auth.forbidden",
            f"system {caller.system_id!r} ({caller.role}) acts for no agency code, so it "
            f"cannot {doing}",
            None,
            status=403,
        )
    return caller


@routes.post("/v1/messages")
async def send_message(request: web.Request) -> web.Response:
    _agency_caller(request, "send")
    runtime = request.app[RUNTIME]
    partial = query_choice(request, "partial", ("allow", "deny")) == "allow"
    data = await read_limited(request, runtime.config.max_document_bytes)
    if not data:
        raise AxisError("xml.empty", "the request has no body: send the edXML bytes", "body")
    result = await runtime.sender.send(
        _caller(request), data, address=client_address(request), partial=partial
    )
    response = json_response(result.to_dict(), status=200 if result.duplicate else 202)
    response.headers["Location"] = f"/v1/messages/{result.message_id}"
    return response


@routes.get("/v1/inbox")
async def inbox(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    page = await runtime.deliveries.inbox(
        _caller(request),
        after=request.query.get("after") or None,
        kind=cast(MessageKind | None, query_choice(request, "kind", ("edoc", "status"))),
        since=query_time(request, "since"),
        until=query_time(request, "until"),
        limit=query_int(request, "limit", 100, 1, 1000),
        wait=query_float(request, "wait", 0.0, 3600.0),
        code=request.query.get("code") or None,
    )
    return json_response(page_body([inbox_view(item) for item in page.items], page.cursor, request))


@routes.get("/v1/messages/{message_id}")
async def fetch_message(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    fetched = await runtime.deliveries.fetch(
        _caller(request), request.match_info["message_id"], client_address(request)
    )
    return web.Response(
        body=fetched.payload,
        content_type="application/xml",
        charset="utf-8",
        headers={
            "X-Axis-Message-Id": fetched.info.message_id,
            "X-Axis-Kind": fetched.info.kind,
            "X-Axis-Sender": fetched.info.sender_code,
        },
    )


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await read_limited(request, 64 * 1024)
    return parse_json_object(raw) if raw else {}


@routes.post("/v1/messages/{message_id}/ack")
async def ack_message(request: web.Request) -> web.Response:
    _agency_caller(request, "acknowledge a delivery")
    runtime = request.app[RUNTIME]
    body = await _json_body(request)
    outcome = body.get("outcome", "done")
    if outcome not in ("done", "fail"):
        raise AxisError("body.invalid", "outcome must be done or fail", "outcome")
    reason = text_field(body, "reason")
    if outcome == "fail" and not reason:
        raise AxisError("body.invalid", "a fail needs a reason", "reason")
    code = text_field(body, "code")
    changed = await runtime.deliveries.ack(
        _caller(request),
        request.match_info["message_id"],
        cast(AckOutcome, outcome),
        reason,
        code,
        client_address(request),
    )
    return json_response({"deliveries": [delivery_view(d) for d in changed]})


@routes.get("/v1/sent")
async def sent(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    page = await runtime.deliveries.sent(
        _caller(request),
        after=request.query.get("after") or None,
        kind=cast(MessageKind | None, query_choice(request, "kind", ("edoc", "status"))),
        limit=query_int(request, "limit", 50, 1, 500),
        code=request.query.get("code") or None,
    )
    items = [sent_view(item) for item in page.items]  # newest first: the cursor pages back
    return json_response({"items": items, "cursor": page.cursor, "more": page.cursor is not None})


@routes.get("/v1/messages/{message_id}/trace")
async def trace(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    info, deliveries, events, statuses = await runtime.deliveries.trace(
        _caller(request), request.match_info["message_id"], client_address(request)
    )
    return json_response(
        {
            "message": message_view(info),
            "deliveries": [
                {**delivery_view(d), "status": statuses.get(d.code)} for d in deliveries
            ],
            "events": [event_view(e) for e in events],
        }
    )
