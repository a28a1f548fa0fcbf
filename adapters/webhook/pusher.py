"""Pushing each new delivery of a system to its endpoint, until it answers 2xx.

One task per endpoint, each with its own bound on pushes in flight and a timeout per request, so
a slow or dead endpoint only ever delays itself. A push is the same as a pull from the store's
view: the delivery becomes ``fetched`` (the lease returns it to ``pending`` if the axis dies
mid-push, so it is pushed again: at least once, and the receiver recognises a repeat by its
message id), and a 2xx answer is the acknowledgement (``done``). A failure is retried with
exponential backoff and jitter; after ``max_attempts`` the delivery becomes a dead letter
(``fail`` with the last error) that an admin retries or cancels. Every attempt is audited.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp
import structlog

from adapters.webhook.endpoints import Endpoint
from adapters.webhook.signature import sign
from axis.runtime import Runtime
from axis.store.records import AuditDraft, InboxItem

_log = structlog.get_logger("adapters.webhook")

SYSTEM_RECHECK_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff ``base * 2**(n-1)`` seconds (capped), times a jitter in [0.5, 1]."""

    max_attempts: int = 8
    base_seconds: float = 1.0
    max_seconds: float = 600.0
    timeout_seconds: float = 30.0

    def delay(self, attempt: int) -> float:
        backoff: float = min(self.max_seconds, self.base_seconds * 2 ** (attempt - 1))
        return backoff * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not secrecy


@dataclass
class _Tracked:
    attempts: int = 0
    retry_at: float = 0.0
    last_error: str = ""


@dataclass
class Pusher:
    """The push loop of one endpoint."""

    runtime: Runtime
    endpoint: Endpoint
    session: aiohttp.ClientSession
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    _tracked: dict[tuple[str, str], _Tracked] = field(default_factory=dict)
    _in_flight: set[tuple[str, str]] = field(default_factory=set)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        """Forever: push what is pending, then wait for news or the next retry."""
        store = self.runtime.store
        slots = asyncio.Semaphore(self.endpoint.concurrency)
        running: set[asyncio.Task[None]] = set()
        while True:
            self._wake.clear()  # before reading: a wake-up during the reads is not lost
            codes = await self._codes()  # re-read: a revoked system stops being pushed to
            if not codes:
                await asyncio.sleep(SYSTEM_RECHECK_SECONDS)
                continue
            page = await store.inbox(codes, limit=500)
            now = time.monotonic()
            for item in page.items:
                key = (item.delivery.message_id, item.delivery.code)
                tracked = self._tracked.setdefault(key, _Tracked())
                if key in self._in_flight or tracked.retry_at > now:
                    continue
                if item.delivery.state != "pending" and tracked.attempts == 0:
                    continue  # someone else (a pull) holds it
                self._in_flight.add(key)
                task = asyncio.create_task(self._push(item, tracked, slots))
                running.add(task)
                task.add_done_callback(running.discard)
            await self._wait(codes, _last_cursor(page.items))

    async def _wait(self, codes: tuple[str, ...], cursor: str | None) -> None:
        """Until a new delivery, a retry falling due, or a push ending (at most 30 s)."""
        news = asyncio.ensure_future(self.runtime.store.wait_for_delivery(codes, cursor, 30.0))
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({news, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            news.cancel()
            woken.cancel()

    async def _codes(self) -> tuple[str, ...]:
        """The codes the endpoint's system acts for now (none if unknown or revoked)."""
        system = await self.runtime.store.system(self.endpoint.system_id)
        if system is None or not system.active:
            _log.warning("webhook.no_active_system", system=self.endpoint.system_id)
            return ()
        return await self.runtime.registry.codes_for(system.codes, system.exact_codes)

    async def _push(self, item: InboxItem, tracked: _Tracked, slots: asyncio.Semaphore) -> None:
        key = (item.delivery.message_id, item.delivery.code)
        try:
            async with slots:
                await self._attempt(item, tracked)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not end the endpoint's loop
            _log.exception("webhook.push_crashed", message_id=key[0], error=str(exc))
        finally:
            self._in_flight.discard(key)
            self._wake.set()

    async def _attempt(self, item: InboxItem, tracked: _Tracked) -> None:
        store, clock = self.runtime.store, self.runtime.clock
        message_id, code = item.delivery.message_id, item.delivery.code
        payload = await store.payload(message_id)
        if payload is None:
            return
        tracked.attempts += 1
        if tracked.attempts == 1:
            now = clock.now()
            await store.mark_fetched(message_id, [code], now, self._draft("fetched", now, item))
        headers = sign(self.endpoint.secret, message_id, payload, clock.now().timestamp())
        headers["Content-Type"] = "application/xml; charset=utf-8"
        error = await self._post(payload, headers)
        now = clock.now()
        if error is None:
            await store.ack(
                message_id,
                [code],
                "done",
                None,
                now,
                self._draft(
                    "acked",
                    now,
                    item,
                    {"outcome": "done", "via": "webhook", "attempts": tracked.attempts},
                ),
            )
            self._tracked.pop((message_id, code), None)
            _log.info("webhook.delivered", message_id=message_id, attempts=tracked.attempts)
            return
        tracked.last_error = error
        if tracked.attempts >= self.policy.max_attempts:
            reason = f"push failed {tracked.attempts} times; last: {error}"
            await store.ack(
                message_id,
                [code],
                "fail",
                reason,
                now,
                self._draft("acked", now, item, {"outcome": "fail", "via": "webhook"}),
            )
            self._tracked.pop((message_id, code), None)
            _log.warning("webhook.dead_letter", message_id=message_id, error=error)
            return
        delay = self.policy.delay(tracked.attempts)
        tracked.retry_at = time.monotonic() + delay
        asyncio.get_running_loop().call_later(delay, self._wake.set)
        await store.append_audit(
            [
                self._draft(
                    "push.failed",
                    now,
                    item,
                    {"attempt": tracked.attempts, "error": error, "retry_in": round(delay, 2)},
                )
            ]
        )
        _log.info("webhook.retry", message_id=message_id, attempt=tracked.attempts, error=error)

    def _draft(
        self, kind: str, at: dt.datetime, item: InboxItem, data: dict[str, object] | None = None
    ) -> AuditDraft:
        """An audit event of this endpoint about one delivery (the URL's host as the address)."""
        return AuditDraft(
            kind,
            at,
            message_id=item.delivery.message_id,
            system_id=self.endpoint.system_id,
            address=urlsplit(self.endpoint.url).netloc,
            codes=(item.delivery.code,),
            data=data or {},
        )

    async def _post(self, payload: bytes, headers: dict[str, str]) -> str | None:
        """None on a 2xx answer, else what went wrong (status or network error)."""
        timeout = aiohttp.ClientTimeout(total=self.policy.timeout_seconds)
        try:
            async with self.session.post(
                self.endpoint.url, data=payload, headers=headers, timeout=timeout
            ) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return None
                return f"HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"{type(exc).__name__}: {exc}"[:300]


def _last_cursor(items: tuple[InboxItem, ...]) -> str | None:
    return items[-1].delivery.cursor if items else None


async def push_all(runtime: Runtime, endpoints: list[Endpoint], policy: RetryPolicy) -> None:
    """Every endpoint's loop, sharing one HTTP session (the job's own)."""
    if not endpoints:
        return
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(Pusher(runtime, e, session, policy).run() for e in endpoints))
