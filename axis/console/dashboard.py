"""The dashboard: today's documents per hour, refusals by reason, waiting mail, CRL ages.

Everything is read from the store (shared by every node), not from one process's Prometheus
counters, so any node shows the deployment's day: documents are the ``received`` audit events
since 00:00 Vietnam time, refusals the ``rejected`` ones grouped by their problem code. Mail
waiting per agency is the open inbox of each connected agency system's codes; what waits for a
code no system serves is shown as one line (the store counts deliveries by state, not by code).
Reading stops at :data:`MAX_EVENTS` events per list, and the page says "at least" then.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

from axis.clock import VN_TZ
from axis.console.chart import bar_chart
from axis.console.crl_view import age_text, crl_rows
from axis.console.web import render, runtime_of
from axis.runtime import Runtime
from axis.store.records import DELIVERY_STATES, AuditEvent, AuditFilter

routes = web.RouteTableDef()

MAX_EVENTS: Final = 50_000
"""Audit events the dashboard reads per list at most."""
MAX_INBOX: Final = 2_000
"""Open deliveries counted per system at most."""
_PAGE: Final = 1000


@dataclass(frozen=True, slots=True)
class Waiting:
    """Open deliveries to one agency code."""

    code: str
    name: str
    systems: tuple[str, ...]
    pending: int
    fetched: int


def start_of_day(now: dt.datetime) -> dt.datetime:
    """00:00 today on Vietnam's clock, as an aware instant."""
    local = now.astimezone(VN_TZ)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


async def _events(runtime: Runtime, query: AuditFilter) -> tuple[list[AuditEvent], bool]:
    found: list[AuditEvent] = []
    cursor: str | None = None
    while True:
        page = await runtime.store.audit_events(query, after=cursor, limit=_PAGE)
        found.extend(page.items)
        cursor = page.cursor
        if cursor is None or not page.items:
            return found, False
        if len(found) >= MAX_EVENTS:
            return found, True


async def _waiting(runtime: Runtime) -> tuple[list[Waiting], int, bool]:
    """Open deliveries per code of the connected agency systems, their total, and whether a
    system had more than :data:`MAX_INBOX` (the counts are then lower bounds)."""
    pending: Counter[str] = Counter()
    fetched: Counter[str] = Counter()
    served: dict[str, set[str]] = {}
    capped = False
    seen: set[tuple[str, int]] = set()
    for system in await runtime.store.systems():
        if not system.active or system.role != "agency" or not system.codes:
            continue
        codes = await runtime.registry.codes_for(system.codes, system.exact_codes)
        cursor: str | None = None
        counted = 0
        while True:
            page = await runtime.store.inbox(codes, after=cursor, limit=500)
            for item in page.items:
                delivery = item.delivery
                served.setdefault(delivery.code, set()).add(system.system_id)
                if (delivery.message_id, delivery.seq) in seen:
                    continue  # two systems serving one code: count its mail once
                seen.add((delivery.message_id, delivery.seq))
                target = pending if delivery.state == "pending" else fetched
                target[delivery.code] += 1
            counted += len(page.items)
            cursor = page.cursor
            if not page.items or cursor is None:
                break
            if counted >= MAX_INBOX:
                capped = True
                break
    registry = runtime.registry.current
    rows = []
    for code in set(pending) | set(fetched):
        agency = registry.get(code)
        rows.append(
            Waiting(
                code,
                "" if agency is None else agency.name,
                tuple(sorted(served.get(code, ()))),
                pending[code],
                fetched[code],
            )
        )
    rows.sort(key=lambda w: (-(w.pending + w.fetched), w.code))
    return rows, sum(pending.values()) + sum(fetched.values()), capped


@routes.get("/")
async def dashboard(request: web.Request) -> web.Response:
    runtime = runtime_of(request)
    start = start_of_day(runtime.now())
    received, received_capped = await _events(runtime, AuditFilter(kind="received", since=start))
    per_hour = [0] * 24
    statuses = 0
    for event in received:
        if event.data.get("kind") == "status":
            statuses += 1
            continue
        per_hour[event.at.astimezone(VN_TZ).hour] += 1
    refused, refused_capped = await _events(runtime, AuditFilter(kind="rejected", since=start))
    reasons = Counter(str(e.data.get("code") or "?") for e in refused)
    counts = await runtime.store.delivery_counts()
    waiting, waiting_total, waiting_capped = await _waiting(runtime)
    open_total = counts.get("pending", 0) + counts.get("fetched", 0)
    context: dict[str, Any] = {
        "day": start.strftime("%Y-%m-%d"),
        "chart": bar_chart(per_hour, [f"{h:02d}" for h in range(24)]),
        "per_hour": per_hour,
        "documents_today": sum(per_hour),
        "statuses_today": statuses,
        "received_capped": received_capped,
        "reasons": reasons.most_common(),
        "refused_capped": refused_capped,
        "states": [(state, counts.get(state, 0)) for state in DELIVERY_STATES],
        "waiting": waiting[:30],
        "waiting_capped": waiting_capped,
        "other_open": max(0, open_total - waiting_total),
        "crl": await crl_rows(runtime),
        "age_text": age_text,
        "registry_version": runtime.registry.version,
    }
    return render(request, "dashboard.html", context)
