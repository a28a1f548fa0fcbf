"""The receiving half of the broker: inbox, fetch, ack, sent, trace, and who may see what.

A system sees a message when it acts for one of its delivery codes (a recipient), for its sender,
or is an auditor or admin. Anything else answers 404, exactly as for an unknown id, so ids cannot
be probed, and the refused read is an audit event with the system and its address.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from axis.auth.principal import Principal
from axis.errors import AxisError, NotFoundError
from axis.metrics import Metrics
from axis.registry_view import RegistryView
from axis.store.paging import every_page
from axis.store.protocol import Store
from axis.store.records import (
    AckOutcome,
    AuditDraft,
    AuditEvent,
    AuditFilter,
    Delivery,
    InboxItem,
    MessageInfo,
    MessageKind,
    Page,
    SentItem,
)

_log = structlog.get_logger("axis.delivery")

TRACE_PAGE = 500


@dataclass(frozen=True, slots=True)
class Fetched:
    """A fetched message: its metadata, the edXML bytes, the caller's deliveries of it."""

    info: MessageInfo
    payload: bytes
    deliveries: tuple[Delivery, ...]


class Deliveries:
    """Inbox, fetch, ack, sent and trace for authenticated systems; one per app."""

    def __init__(
        self,
        store: Store,
        registry: RegistryView,
        metrics: Metrics,
        now: Callable[[], dt.datetime],
        *,
        inbox_wait_max: int,
    ) -> None:
        self._store = store
        self._registry = registry
        self._metrics = metrics
        self._now = now
        self._wait_max = inbox_wait_max
        self._closing = asyncio.Event()

    def stop_waiting(self) -> None:
        """Shutdown: every long poll answers now (with what it has) instead of holding the
        server's graceful stop for up to its full wait."""
        self._closing.set()

    async def codes_of(self, caller: Principal, only: str | None = None) -> tuple[str, ...]:
        """The codes whose inbox (or sent box) the caller reads, narrowed to ``only``."""
        codes = await self._registry.codes_for(caller.codes, caller.exact_codes)
        if only is None:
            return codes
        if not caller.acts_for(only):
            raise AxisError(
                "auth.not_your_code",
                f"system {caller.system_id!r} does not act for {only!r}",
                "code",
                status=403,
            )
        return (only.upper(),)

    async def inbox(
        self,
        caller: Principal,
        *,
        after: str | None,
        kind: MessageKind | None,
        since: dt.datetime | None,
        until: dt.datetime | None,
        limit: int,
        wait: float,
        code: str | None,
    ) -> Page[InboxItem]:
        """Open deliveries to the caller's codes; with ``wait`` a long poll."""
        codes = await self.codes_of(caller, code)
        if not codes:
            return Page((), None)
        page = await self._store.inbox(
            codes, after=after, kind=kind, since=since, until=until, limit=limit
        )
        wait = min(max(wait, 0.0), float(self._wait_max))
        if page.items or wait <= 0 or self._closing.is_set():
            return page
        if await self._wait(codes, after, wait):
            page = await self._store.inbox(
                codes, after=after, kind=kind, since=since, until=until, limit=limit
            )
        return page

    async def _wait(self, codes: tuple[str, ...], after: str | None, wait: float) -> bool:
        """The store's wait, cut short by a shutdown."""
        arrived = asyncio.ensure_future(self._store.wait_for_delivery(codes, after, wait))
        closing = asyncio.ensure_future(self._closing.wait())
        self._metrics.inbox_waiting.inc()
        try:
            await asyncio.wait({arrived, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._metrics.inbox_waiting.dec()
            closing.cancel()
            if not arrived.done():
                arrived.cancel()
        return arrived.done() and not arrived.cancelled() and bool(arrived.result())

    async def _visible(
        self, caller: Principal, message_id: str, address: str | None, action: str
    ) -> tuple[MessageInfo, tuple[Delivery, ...], tuple[str, ...]]:
        """The message, all its deliveries, and the delivery codes the caller acts for; a
        message the caller may not see is audited and answered as unknown."""
        found = await self._store.message_with_deliveries(message_id)
        info, deliveries = (None, ()) if found is None else found
        mine = tuple(d.code for d in deliveries if caller.acts_for(d.code))
        allowed = info is not None and (
            bool(mine) or caller.acts_for(info.sender_code) or caller.is_auditor or caller.is_admin
        )
        if info is None or not allowed:
            if info is not None:
                await self._store.append_audit(
                    [
                        AuditDraft(
                            kind="read.refused",
                            at=self._now(),
                            message_id=message_id,
                            document_id=info.document_id,
                            system_id=caller.system_id,
                            address=address,
                            data={"action": action},
                        )
                    ]
                )
                _log.warning(
                    "message.read_refused",
                    message_id=message_id,
                    system=caller.system_id,
                    action=action,
                )
            raise NotFoundError("message.not_found", f"no message {message_id!r}", "message_id")
        return info, deliveries, mine

    async def fetch(self, caller: Principal, message_id: str, address: str | None) -> Fetched:
        """The edXML bytes; a recipient's pending copy becomes fetched (audited)."""
        info, deliveries, mine = await self._visible(caller, message_id, address, "fetch")
        open_codes = [d.code for d in deliveries if d.code in mine and d.state != "withdrawn"]
        if mine and not open_codes and not caller.acts_for(info.sender_code):
            raise AxisError(
                "message.withdrawn",
                "the sender revoked this document before you fetched it",
                "message_id",
                status=410,
            )
        payload = await self._store.payload(message_id)
        if payload is None:
            raise NotFoundError("message.not_found", f"no message {message_id!r}", "message_id")
        changed: tuple[Delivery, ...] = ()
        if open_codes:
            now = self._now()
            changed = await self._store.mark_fetched(
                message_id,
                open_codes,
                now,
                AuditDraft(
                    kind="fetched",
                    at=now,
                    message_id=message_id,
                    document_id=info.document_id,
                    system_id=caller.system_id,
                    address=address,
                    codes=tuple(open_codes),
                ),
            )
            self._metrics.deliveries.labels("fetched").inc(
                sum(1 for d in changed if d.state == "fetched")
            )
        return Fetched(info, payload, changed)

    async def ack(
        self,
        caller: Principal,
        message_id: str,
        outcome: AckOutcome,
        reason: str | None,
        code: str | None,
        address: str | None,
    ) -> tuple[Delivery, ...]:
        """done or fail for the caller's deliveries of the message (acks are idempotent)."""
        info, _deliveries, mine = await self._visible(caller, message_id, address, "ack")
        codes = [c for c in mine if code is None or c == code.upper()]
        if not codes:
            raise AxisError(
                "ack.not_recipient",
                "only a recipient acknowledges a message"
                + (f"; {code!r} has no copy of it" if code else ""),
                "code" if code else "message_id",
                status=409 if code else 403,
            )
        now = self._now()
        changed = await self._store.ack(
            message_id,
            codes,
            outcome,
            reason,
            now,
            AuditDraft(
                kind="acked",
                at=now,
                message_id=message_id,
                document_id=info.document_id,
                system_id=caller.system_id,
                address=address,
                codes=tuple(codes),
                data={"outcome": outcome, "reason": reason},
            ),
        )
        self._metrics.deliveries.labels(outcome).inc(len(codes))
        return changed

    async def sent(
        self,
        caller: Principal,
        *,
        after: str | None,
        kind: MessageKind | None,
        limit: int,
        code: str | None,
    ) -> Page[SentItem]:
        """The caller's sent messages with each recipient's state and latest status."""
        codes = await self.codes_of(caller, code)
        if not codes:
            return Page((), None)
        return await self._store.sent(codes, after=after, kind=kind, limit=limit)

    async def trace(
        self, caller: Principal, message_id: str, address: str | None
    ) -> tuple[MessageInfo, tuple[Delivery, ...], tuple[AuditEvent, ...], dict[str, Any]]:
        """Every event of the message, for its sender, its recipients, auditors and admins."""
        info, deliveries, _mine = await self._visible(caller, message_id, address, "trace")
        query = AuditFilter(message_id=message_id)
        events = await every_page(
            lambda cursor: self._store.audit_events(query, after=cursor, limit=TRACE_PAGE)
        )
        statuses = await self._store.statuses(message_id)
        latest = {s.code: {"status_code": s.status_code, "at": s.at} for s in statuses}
        return info, deliveries, tuple(events), latest
