"""The document operations: sendEdoc, getReceivedEdocList, getSentEdocList, getEdoc, updateStatus.

Each is a thin front onto what ``/v1`` runs: ``runtime.sender.send`` (the same intake, check,
signature, routing and ONE durable write) and ``runtime.deliveries`` (inbox, fetch, ack, sent),
so a document sent through one API is received through the other, with the same audit trail.

States. Our delivery states map onto the VDXP transport states (VDXP_API.md §3.3 notes):
``pending`` -> ``initial``, ``fetched`` -> ``processing``, ``done`` -> ``done``, and ``fail``,
``dead``, ``withdrawn``, ``cancelled`` -> ``fail`` (``status_desc`` names our own state).
``updateStatus`` goes the other way: ``done`` and ``fail`` are the /v1 ack, ``processing``
marks the copy fetched (as a getEdoc does), ``initial`` cannot be gone back to.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, cast

import structlog
from aiohttp import web

from adapters.vdxp.wire import (
    Params,
    bad_param,
    file_bytes,
    message_type,
    ok,
    parse_time,
    vdxp_time,
)
from axis.auth.principal import Principal
from axis.errors import AxisError
from axis.http.messages import read_limited
from axis.runtime import Runtime
from axis.store.records import Delivery, MessageKind, Page

_log = structlog.get_logger("adapters.vdxp")

SERVICE_TYPE: Final = "eDoc"
MAX_ROWS: Final = 10_000
"""The SDK has no paging: a list answers everything open, bounded so one call stays sane."""

VDXP_STATE: Final = {
    "pending": "initial",
    "fetched": "processing",
    "done": "done",
    "fail": "fail",
    "dead": "fail",
    "withdrawn": "fail",
    "cancelled": "fail",
}
STATE_DESC: Final = {
    "pending": "pending: not fetched yet",
    "fetched": "fetched: not acknowledged yet",
    "done": "done: received and stored by the recipient",
    "fail": "fail: the recipient could not process it",
    "dead": "dead: never acknowledged after the last attempt",
    "withdrawn": "withdrawn: revoked by the sender before it was fetched",
    "cancelled": "cancelled by an administrator",
}


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated VDXP request."""

    request: web.Request
    runtime: Runtime
    caller: Principal
    params: Params

    @property
    def address(self) -> str:
        return self.request.remote or "unknown"


Operation = Callable[[Call], Awaitable[dict[str, Any]]]


async def send_edoc(call: Call) -> dict[str, Any]:
    """The raw edXML body (less the SDK's CRLF) through the /v1 intake; ``DocId`` = message id.

    ``from`` and ``to`` are not trusted for routing: the signed envelope's From must be a code
    the system acts for, and its To elements route (as on /v1). ``messagetype`` is checked for
    its value; the package itself says whether it is a document or a status.
    """
    declared = message_type(call.params, required=True)
    limit = call.runtime.config.max_document_bytes
    body = await read_limited(call.request, limit + 2)  # room for the CRLF
    data = file_bytes(body, call.params.get("hash-file"))
    if not data.strip():
        raise AxisError("xml.empty", "the request has no body: send the edXML bytes", "body")
    if len(data) > limit:
        raise AxisError("xml.too_large", f"the package passes the limit of {limit} bytes", "body")
    result = await call.runtime.sender.send(call.caller, data, address=call.address)
    if result.kind != declared:
        _log.warning(
            "vdxp.messagetype_differs",
            message_id=result.message_id,
            declared=declared,
            actual=result.kind,
        )
    return ok(DocId=result.message_id)


async def _all_pages(
    fetch: Callable[[str | None], Awaitable[Page[Any]]],
) -> list[Any]:
    items: list[Any] = []
    after: str | None = None
    while len(items) < MAX_ROWS:
        page = await fetch(after)
        items.extend(page.items)
        if page.cursor is None or not page.items:
            break
        after = page.cursor
    return items[:MAX_ROWS]


async def received_list(call: Call) -> dict[str, Any]:
    """The caller's open deliveries (pending or fetched), oldest first."""
    kind = cast(MessageKind | None, message_type(call.params, required=False))
    since = parse_time(call.params, "fromDate")
    until = parse_time(call.params, "toDate")
    items = await _all_pages(
        lambda after: call.runtime.deliveries.inbox(
            call.caller,
            after=after,
            kind=kind,
            since=since,
            until=until,
            limit=1000,
            wait=0.0,
            code=None,
        )
    )
    rows = [
        {
            "docId": item.message.message_id,
            "serviceType": SERVICE_TYPE,
            "messageType": item.message.kind,
            "created_time": vdxp_time(item.message.received_at),
            "updated_time": vdxp_time(item.delivery.updated_at),
            "from": item.message.sender_code,
            "to": item.delivery.code,
            "status": VDXP_STATE[item.delivery.state],
            "status_desc": STATE_DESC[item.delivery.state],
        }
        for item in items
    ]
    return ok(data=rows)


def _received_time(delivery: Delivery) -> str:
    return "" if delivery.state == "pending" else vdxp_time(delivery.updated_at)


async def sent_list(call: Call) -> dict[str, Any]:
    """One row per (message, recipient) the caller sent, newest first."""
    kind = cast(MessageKind | None, message_type(call.params, required=False))
    since = parse_time(call.params, "fromDate")
    until = parse_time(call.params, "toDate")
    items = await _all_pages(
        lambda after: call.runtime.deliveries.sent(
            call.caller, after=after, kind=kind, limit=500, code=None
        )
    )
    rows: list[dict[str, Any]] = []
    for item in items:
        info = item.message
        if (since is not None and info.received_at < since) or (
            until is not None and info.received_at >= until
        ):
            continue
        for delivery in item.deliveries:
            status = item.statuses.get(delivery.code)
            desc = STATE_DESC[delivery.state]
            if status is not None:
                desc += f"; business status {status.status_code} at {vdxp_time(status.at)}"
            rows.append(
                {
                    "serviceType": SERVICE_TYPE,
                    "senderDocId": info.message_id,
                    "receiverDocId": info.message_id,
                    "fromCode": info.sender_code,
                    "toCode": delivery.code,
                    "title": info.subject or "",
                    "notation": "",
                    "messageType": info.kind,
                    "sentTime": vdxp_time(info.received_at),
                    "receivedTime": _received_time(delivery),
                    "sendStatus": "done",
                    "sendStatusDesc": "accepted and stored by the axis",
                    "receiveStatus": VDXP_STATE[delivery.state],
                    "receiveStatusDesc": desc,
                }
            )
    return ok(data=rows)


async def get_edoc(call: Call) -> dict[str, Any]:
    """``data`` = base64 of the edXML as received; a recipient's pending copy becomes fetched.
    ``filePath`` is the client's own folder and is ignored."""
    doc_id = call.params.require("docId", "docid")
    fetched = await call.runtime.deliveries.fetch(call.caller, doc_id, call.address)
    return ok(data=base64.b64encode(fetched.payload).decode("ascii"))


async def update_status(call: Call) -> dict[str, Any]:
    """``done``/``fail`` acknowledge (as /v1 ack); ``processing`` marks the copy fetched."""
    doc_id = call.params.require("docid", "docId")
    raw = call.params.require("status")
    value = raw.lower()
    deliveries = call.runtime.deliveries
    if value in ("done", "fail"):
        reason = call.params.get("reason", "description", "statusDesc")
        if value == "fail" and not reason:
            reason = "reported as fail through VDXP updateStatus"
        await deliveries.ack(
            call.caller, doc_id, "done" if value == "done" else "fail", reason, None, call.address
        )
        return ok()
    if value == "processing":
        fetched = await deliveries.fetch(call.caller, doc_id, call.address)
        if not fetched.deliveries:
            raise AxisError(
                "ack.not_recipient", "only a recipient reports processing", "docId", status=403
            )
        return ok()
    if value == "initial":
        raise bad_param("status", "a delivery cannot go back to initial")
    raise bad_param("status", f"status must be done, fail or processing, not {raw!r}")
