"""``AxisClient``: the asynchronous Python SDK over the axis's ``/v1`` API.

One :class:`aiohttp.ClientSession` per client, opened by ``async with`` and closed with it, so
connections are reused across calls and a long-poll never leaks sockets. Every call may be
retried after a network failure or a ``503`` with back-off, because every call of ``/v1`` is
idempotent: reads change nothing (a fetch marks a copy fetched once), a repeated ack changes
nothing, and a send is recognised by the axis by sender + DocumentId (+ status code and time for
a status) and answered ``200`` with the first message's id, so a send retried after a lost answer
never delivers twice (its result then says ``duplicate``). ``retry_sends=False`` turns that off
for a caller that wants to see every failure of a send itself.

The secret is kept only in the ``Authorization`` header the session sends; it is never logged
and never in ``repr``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import json
import random
from collections.abc import AsyncIterator, Coroutine, Mapping
from types import TracebackType
from typing import Any
from urllib.parse import quote

import aiohttp
import structlog

from adapters.client.errors import NETWORK, UNEXPECTED, AxisClientError
from adapters.client.models import (
    DeliveryState,
    Health,
    InboxItem,
    InboxPage,
    RecipientStatus,
    SendResult,
    SentPage,
    Trace,
)

_log = structlog.get_logger("adapters.client")

#: Statuses worth repeating unchanged: the axis is busy (``intake.busy``) or a proxy in front
#: of it failed. A 429 is not among them: retrying only prolongs a lock-out.
_RETRY_STATUSES = frozenset({502, 503, 504})


class AxisClient:
    """``async with AxisClient("http://axis:8080", "my-system", secret) as axis: ...``"""

    def __init__(
        self,
        base_url: str,
        system_id: str,
        secret: str,
        *,
        timeout: float = 60.0,
        retries: int = 4,
        backoff: float = 0.5,
        retry_sends: bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.system_id = system_id
        self._authorization = "Basic " + base64.b64encode(f"{system_id}:{secret}".encode()).decode(
            "ascii"
        )
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.retry_sends = retry_sends
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"AxisClient({self.base_url!r}, system_id={self.system_id!r})"

    async def __aenter__(self) -> AxisClient:
        await self.open()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Open the session (``async with`` does it)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers={"Authorization": self._authorization, "User-Agent": "axis-client/1"},
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.timeout),
            )

    async def close(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- the calls ------------------------------------------------------------------------

    async def send(self, data: bytes, partial: bool = False) -> SendResult:
        """Send an edXML document or status package (the bytes as they are, signed or not).

        ``partial=True`` accepts the recipients that resolve and lists the others in
        ``unresolved``; by default one unresolvable ``To`` refuses the whole document."""
        body = await self._json(
            "POST",
            "/v1/messages",
            query={"partial": "allow"} if partial else None,
            data=data,
            content_type="application/xml",
            retry=self.retry_sends,
        )
        return SendResult.from_json(body)

    async def inbox(
        self,
        after: str | None = None,
        kind: str | None = None,
        since: str | dt.datetime | None = None,
        until: str | dt.datetime | None = None,
        limit: int = 100,
        wait: float = 0,
        code: str | None = None,
    ) -> InboxPage:
        """Open deliveries to the caller's codes, oldest first; ``wait`` seconds long-polls
        (the axis caps it at ``AXIS_INBOX_WAIT_MAX``). ``since``/``until`` bound the arrival
        time (an aware datetime, or text the axis reads: ISO 8601, a date)."""
        query = {
            "after": after,
            "kind": kind,
            "since": since.isoformat() if isinstance(since, dt.datetime) else since,
            "until": until.isoformat() if isinstance(until, dt.datetime) else until,
            "limit": limit,
            "wait": wait or None,
            "code": code,
        }
        body = await self._json("GET", "/v1/inbox", query=query, extra_time=wait)
        return InboxPage.from_json(body)

    async def iter_inbox(
        self,
        kind: str | None = None,
        wait: float = 30,
        after: str | None = None,
        stop: asyncio.Event | None = None,
    ) -> AsyncIterator[InboxItem]:
        """Every delivery as it arrives, following the cursor with long polls, until the task
        is cancelled or ``stop`` is set (a poll in flight is abandoned at once).

        Starting with ``after=None`` offers again whatever is still open (fetched but not
        acknowledged): a consumer that crashed before its ack sees those first."""
        cursor = after
        while stop is None or not stop.is_set():
            page = await self._until_stopped(self.inbox(after=cursor, kind=kind, wait=wait), stop)
            if page is None:
                return
            for item in page.items:
                yield item
            cursor = page.cursor

    async def fetch(self, message_id: str) -> bytes:
        """The package's bytes exactly as sent; a recipient's pending copy becomes fetched."""
        _status, _headers, raw = await self._call("GET", f"/v1/messages/{_seg(message_id)}")
        return raw

    async def ack(
        self,
        message_id: str,
        outcome: str = "done",
        reason: str | None = None,
        code: str | None = None,
    ) -> tuple[DeliveryState, ...]:
        """Acknowledge a fetched copy (``fail`` needs a ``reason``); repeating changes nothing."""
        payload: dict[str, Any] = {"outcome": outcome}
        if reason is not None:
            payload["reason"] = reason
        if code is not None:
            payload["code"] = code
        body = await self._json(
            "POST",
            f"/v1/messages/{_seg(message_id)}/ack",
            data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            content_type="application/json",
        )
        return tuple(DeliveryState.from_json(d) for d in body.get("deliveries") or ())

    async def sent(
        self,
        after: str | None = None,
        kind: str | None = None,
        limit: int = 50,
        code: str | None = None,
    ) -> SentPage:
        """Messages the caller sent, newest first, each recipient's state and latest status."""
        query = {"after": after, "kind": kind, "limit": limit, "code": code}
        return SentPage.from_json(await self._json("GET", "/v1/sent", query=query))

    async def trace(self, message_id: str) -> Trace:
        """The message, its deliveries and every audit event about it."""
        body = await self._json("GET", f"/v1/messages/{_seg(message_id)}/trace")
        return Trace.from_json(body)

    async def status(self, document_id: str, code: str) -> RecipientStatus:
        """The latest delivery state and business status of recipient ``code`` for the document
        sent with ``document_id`` (the newest such message when it was sent more than once).

        Built from ``/v1/sent``, read page by page back in time until found: its cost grows
        with the sender's history (the API has no DocumentId filter yet)."""
        after: str | None = None
        while True:
            page = await self.sent(after=after, kind="edoc", limit=500)
            for item in page.items:
                if item.document_id != document_id:
                    continue
                for recipient in item.recipients:
                    if code in (recipient.code, recipient.requested):
                        return RecipientStatus(
                            document_id=document_id,
                            code=recipient.code,
                            message_id=item.message_id,
                            requested=recipient.requested,
                            state=recipient.state,
                            attempts=recipient.attempts,
                            updated_at=recipient.updated_at,
                            reason=recipient.reason,
                            status=recipient.status,
                        )
            if not page.more or page.cursor is None:
                break
            after = page.cursor
        raise AxisClientError(
            "status.not_found",
            f"no document {document_id} sent to {code} by this system",
            "document_id",
            404,
        )

    async def health(self) -> Health:
        """The axis's own checks; a failing check is ``ok=False``, not an exception."""
        status, _headers, raw = await self._call("GET", "/v1/health", ok=(200, 503))
        return Health.from_json(status == 200, _decode(raw, status, "/v1/health"))

    # -- the plumbing ---------------------------------------------------------------------

    async def _json(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        data: bytes | None = None,
        content_type: str | None = None,
        retry: bool = True,
        extra_time: float = 0,
    ) -> dict[str, Any]:
        status, _headers, raw = await self._call(
            method,
            path,
            query=query,
            data=data,
            content_type=content_type,
            retry=retry,
            extra_time=extra_time,
        )
        return _decode(raw, status, path)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        data: bytes | None = None,
        content_type: str | None = None,
        retry: bool = True,
        extra_time: float = 0,
        ok: tuple[int, ...] = (200, 202),
    ) -> tuple[int, Mapping[str, str], bytes]:
        """One call, repeated with back-off on a network failure or a 502/503/504."""
        if self._session is None:
            raise RuntimeError("use 'async with AxisClient(...)' (or await open()) first")
        params = {k: str(v) for k, v in (query or {}).items() if v is not None}
        headers = {"Content-Type": content_type} if content_type else {}
        timeout = aiohttp.ClientTimeout(total=self.timeout + extra_time)
        attempts = 1 + (self.retries if retry else 0)
        for attempt in range(1, attempts + 1):
            delay = self.backoff * 2 ** (attempt - 1) * (1 + random.random() / 2)  # noqa: S311
            try:
                async with self._session.request(
                    method,
                    self.base_url + path,
                    params=params,
                    data=data,
                    headers=headers,
                    timeout=timeout,
                ) as response:
                    raw = await response.read()
                    if response.status in ok:
                        return response.status, dict(response.headers), raw
                    if response.status not in _RETRY_STATUSES or attempt == attempts:
                        raise AxisClientError.from_problem(
                            response.status, _problem_body(raw), path
                        )
                    delay = max(delay, _retry_after(response.headers.get("Retry-After")))
                    reason = f"HTTP {response.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                if attempt == attempts:
                    raise AxisClientError(
                        NETWORK,
                        f"no answer from {self.base_url} after {attempts} attempt(s): "
                        f"{type(exc).__name__}: {exc}",
                        path,
                    ) from exc
                reason = type(exc).__name__
            _log.warning(
                "client.retry",
                method=method,
                path=path,
                attempt=attempt,
                reason=reason,
                delay=round(delay, 2),
            )
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _until_stopped(
        self, call: Coroutine[Any, Any, InboxPage], stop: asyncio.Event | None
    ) -> InboxPage | None:
        """``await call``, or ``None`` as soon as ``stop`` is set (the call is cancelled)."""
        if stop is None:
            return await call
        task = asyncio.ensure_future(call)
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        return None if task.cancelled() else task.result()


def _seg(message_id: str) -> str:
    """A message id as one path segment (ids are the axis's own, but never trust a path)."""
    return quote(message_id, safe="")


def _retry_after(value: str | None) -> float:
    try:
        return min(float(value), 60.0) if value else 0.0
    except ValueError:
        return 0.0


def _problem_body(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return raw.decode("utf-8", "replace")


def _decode(raw: bytes, status: int, path: str) -> dict[str, Any]:
    body = _problem_body(raw)
    if not isinstance(body, dict):
        raise AxisClientError(
            UNEXPECTED, f"HTTP {status} answer is not a JSON object", path, status
        )
    return body
