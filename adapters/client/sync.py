"""``SyncAxisClient``: the SDK for scripts and threads that have no event loop of their own.

It owns a private event loop (never the caller's, never a global one) and runs each call of an
:class:`AxisClient` on it to completion, so the behaviour (retries, problems, timeouts) is the
async client's, written once. One instance belongs to one thread at a time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Coroutine, Iterator
from types import TracebackType
from typing import Any, TypeVar

from adapters.client.client import AxisClient
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

T = TypeVar("T")


class SyncAxisClient:
    """``with SyncAxisClient(url, system_id, secret) as axis: axis.send(data)``"""

    def __init__(self, base_url: str, system_id: str, secret: str, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._client = AxisClient(base_url, system_id, secret, **options)
        self._lock = threading.Lock()
        self._opened = False

    def __repr__(self) -> str:
        return f"Sync{self._client!r}"

    def __enter__(self) -> SyncAxisClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the session and the private loop (the client is unusable afterwards)."""
        if self._loop.is_closed():
            return
        self._run(self._client.close())
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        self._loop.close()

    def _run(self, call: Coroutine[Any, Any, T]) -> T:
        with self._lock:
            if not self._opened:  # the session must be made on the loop it will run on
                self._loop.run_until_complete(self._client.open())
                self._opened = True
            return self._loop.run_until_complete(call)

    def send(self, data: bytes, partial: bool = False) -> SendResult:
        """See :meth:`AxisClient.send`."""
        return self._run(self._client.send(data, partial))

    def inbox(
        self,
        after: str | None = None,
        kind: str | None = None,
        since: str | dt.datetime | None = None,
        until: str | dt.datetime | None = None,
        limit: int = 100,
        wait: float = 0,
        code: str | None = None,
    ) -> InboxPage:
        """See :meth:`AxisClient.inbox`."""
        return self._run(self._client.inbox(after, kind, since, until, limit, wait, code))

    def iter_inbox(
        self, kind: str | None = None, wait: float = 30, after: str | None = None
    ) -> Iterator[InboxItem]:
        """See :meth:`AxisClient.iter_inbox`; ends when the caller stops iterating (or on
        Ctrl-C, which interrupts the poll in flight)."""
        cursor = after
        while True:
            page = self.inbox(after=cursor, kind=kind, wait=wait)
            yield from page.items
            cursor = page.cursor

    def fetch(self, message_id: str) -> bytes:
        """See :meth:`AxisClient.fetch`."""
        return self._run(self._client.fetch(message_id))

    def ack(
        self,
        message_id: str,
        outcome: str = "done",
        reason: str | None = None,
        code: str | None = None,
    ) -> tuple[DeliveryState, ...]:
        """See :meth:`AxisClient.ack`."""
        return self._run(self._client.ack(message_id, outcome, reason, code))

    def sent(
        self,
        after: str | None = None,
        kind: str | None = None,
        limit: int = 50,
        code: str | None = None,
    ) -> SentPage:
        """See :meth:`AxisClient.sent`."""
        return self._run(self._client.sent(after, kind, limit, code))

    def trace(self, message_id: str) -> Trace:
        """See :meth:`AxisClient.trace`."""
        return self._run(self._client.trace(message_id))

    def status(self, document_id: str, code: str) -> RecipientStatus:
        """See :meth:`AxisClient.status`."""
        return self._run(self._client.status(document_id, code))

    def health(self) -> Health:
        """See :meth:`AxisClient.health`."""
        return self._run(self._client.health())
