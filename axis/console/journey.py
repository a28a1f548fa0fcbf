"""A document's journey: find it (DocumentId, agency code, time range), then its whole story.

The story is the trace the API gives (``Deliveries.trace``: the message, each recipient's
delivery and latest business status, every audit event), told for people: each recipient's
route in words ("000.00.00.H63 → 000.00.00.H38 từ 2025-07-01, QĐ 09/2025/QĐ-TTg": the code the
sender wrote, the code it was delivered to, and the succession's instant and decision). The
route comes from the hops recorded when the document was accepted; a delivery moved later (its
code closed while the copy waited) is explained from the registry's succession.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from aiohttp import web

from axis.clock import VN_TZ
from axis.console import labels
from axis.console.web import LANG, address_of, instant_of, render, runtime_of, viewer_of
from axis.http.problems import read_instant
from axis.store.protocol import Store
from axis.store.records import AuditEvent, AuditFilter, Delivery, MessageInfo
from registry.registry import Registry

routes = web.RouteTableDef()

MAX_RESULTS: Final = 50
"""Documents one search lists."""
MAX_EVENTS: Final = 5000
"""Audit events one search reads at most (then it says the list may be incomplete)."""
_PAGE: Final = 500


def when_text(value: dt.datetime | str) -> str:
    """An effective instant as people write it: the day alone for a Vietnamese midnight."""
    moment = instant_of(value)
    if moment is None:
        return str(value)
    local = moment.astimezone(VN_TZ)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return local.strftime("%Y-%m-%d")
    return local.strftime("%Y-%m-%d %H:%M +07")


def hop_text(hop: Mapping[str, Any], word_from: str) -> str:
    """``H63 → H38 từ 2025-07-01, QĐ 09/2025/QĐ-TTg`` from one recorded hop."""
    text = f"{hop.get('from', '?')} → {hop.get('to', '?')}"
    if hop.get("effective"):
        text += f" {word_from} {when_text(str(hop['effective']))}"
    if hop.get("legal_basis"):
        text += f", {hop['legal_basis']}"
    return text


def route_text(delivery: Delivery, registry: Registry, word_from: str) -> str | None:
    """How the sender's code became the delivered one; None when it went where it was sent."""
    hops = list(delivery.resolution.get("hops") or [])
    if hops:
        return "; ".join(hop_text(h, word_from) for h in hops)
    if delivery.requested == delivery.code:
        return None
    for succession in reversed(registry.successions_of(delivery.requested)):
        if any(s.code == delivery.code for s in succession.successors):
            return hop_text(
                {
                    "from": delivery.requested,
                    "to": delivery.code,
                    "effective": succession.effective.isoformat(),
                    "legal_basis": succession.legal_basis,
                },
                word_from,
            )
    return f"{delivery.requested} → {delivery.code}"


def word(t: Callable[[str], str], has: Callable[[str], bool], key: str, raw: str) -> str:
    """A value in words when the catalogue has it (``signature.valid``), else as it is."""
    return t(key) if has(key) else raw


def event_detail(
    event: AuditEvent,
    t: Callable[[str], str],
    has: Callable[[str], bool],
    status_name: Callable[[str], str],
) -> str:
    """One line of what an audit event says (codes, sizes, signatures, routes)."""
    word_from = t("route.from")
    data = event.data
    kind = event.kind
    codes = ", ".join(event.codes)
    if kind == "received":
        return f"{codes} · {data.get('size', '?')} byte"
    if kind == "verified":
        status = str(data.get("status") or "")
        subject = str(data.get("signer_subject") or "")
        return f"{word(t, has, f'signature.{status}', status)} {subject}".strip()
    if kind in ("redirected", "resolved"):
        hops = data.get("hops") or []
        if hops:
            return "; ".join(hop_text(h, word_from) for h in hops)
        return f"{data.get('requested', '')} → {data.get('code', '')}"
    if kind == "moved":
        return hop_text(
            {
                "from": data.get("from") or data.get("from_code"),
                "to": data.get("to") or data.get("to_code"),
                "effective": data.get("effective"),
                "legal_basis": data.get("legal_basis"),
            },
            word_from,
        )
    if kind == "acked":
        outcome = str(data.get("outcome") or "")
        outcome = word(t, has, f"outcome.{outcome}", outcome)
        reason = f" ({data['reason']})" if data.get("reason") else ""
        return f"{codes} {outcome}{reason}".strip()
    if kind == "status":
        code = str(data.get("status_code") or "")
        return f"{codes}: {code} {status_name(code)}".strip()
    return codes


# --- search ---------------------------------------------------------------------------------


def _instant(raw: str, name: str) -> dt.datetime | None:
    return read_instant(raw, name, "query.invalid", 422)


async def _message_ids(store: Store, query: AuditFilter) -> tuple[list[str], bool]:
    """Distinct message ids of the matching events, in chain order; True when cut short."""
    found: dict[str, None] = {}
    cursor: str | None = None
    read = 0
    while True:
        page = await store.audit_events(query, after=cursor, limit=_PAGE)
        for event in page.items:
            if event.message_id is not None:
                found.setdefault(event.message_id)
                if len(found) >= MAX_RESULTS:
                    return list(found), True
        read += len(page.items)
        cursor = page.cursor
        if cursor is None or not page.items:
            return list(found), False
        if read >= MAX_EVENTS:
            return list(found), True


@routes.get("/messages")
async def search(request: web.Request) -> web.Response:
    runtime = runtime_of(request)
    document_id = request.query.get("document_id", "").strip()
    code_typed = request.query.get("code", "").strip().upper()
    since_raw = request.query.get("since", "").strip()
    until_raw = request.query.get("until", "").strip()
    context: dict[str, Any] = {
        "document_id": document_id,
        "code": code_typed,
        "since": since_raw,
        "until": until_raw,
        "searched": False,
        "results": [],
        "truncated": False,
    }
    if document_id or code_typed or since_raw or until_raw:
        code = runtime.registry.current.canonical(code_typed) if code_typed else None
        query = AuditFilter(
            document_id=document_id or None,
            code=code,
            since=_instant(since_raw, "since"),
            until=_instant(until_raw, "until"),
            kind=None if (document_id or code) else "received",
        )
        ids, truncated = await _message_ids(runtime.store, query)
        infos: list[MessageInfo] = []
        for message_id in ids:
            info = await runtime.store.message(message_id)
            if info is not None:
                infos.append(info)
        infos.sort(key=lambda i: i.received_at, reverse=True)
        context.update(searched=True, results=infos, truncated=truncated)
    return render(request, "messages.html", context)


# --- one message ----------------------------------------------------------------------------


def _recipients(
    deliveries: Iterable[Delivery],
    latest: Mapping[str, Mapping[str, Any]],
    registry: Registry,
    word_from: str,
) -> list[dict[str, Any]]:
    rows = []
    for delivery in deliveries:
        status = latest.get(delivery.code)
        rows.append(
            {
                "delivery": delivery,
                "route": route_text(delivery, registry, word_from),
                "status_code": None if status is None else status.get("status_code"),
                "status_at": None if status is None else status.get("at"),
                "name": delivery.resolution.get("name") or _name(registry, delivery.code),
            }
        )
    return rows


def _name(registry: Registry, code: str) -> str:
    agency = registry.get(code)
    return "" if agency is None else agency.name


@routes.get("/messages/{message_id}")
async def message(request: web.Request) -> web.Response:
    runtime = runtime_of(request)
    viewer = viewer_of(request)
    lang = request[LANG]
    t, has = labels.translator(lang), labels.has(lang)
    word_from = t("route.from")
    info, deliveries, events, latest = await runtime.deliveries.trace(
        viewer.principal, request.match_info["message_id"], address_of(request)
    )
    registry = runtime.registry.current
    status_name = labels.status_name(lang)
    timeline = [{"event": e, "detail": event_detail(e, t, has, status_name)} for e in events]
    signature = dict(info.meta.get("signature") or {})
    signed = str(signature.get("status") or "")
    return render(
        request,
        "message.html",
        {
            "info": info,
            "sender_name": _name(registry, info.sender_code),
            "signature": signature,
            "signature_status": word(t, has, f"signature.{signed}", signed),
            "recipients": _recipients(deliveries, latest, registry, word_from),
            "timeline": timeline,
        },
    )
