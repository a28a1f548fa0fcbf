"""Long polls of the Redis store: in-process waiters woken by local commits and by pub/sub.

A node's ``wait_for_delivery`` / ``wait_registry_change`` waits on a future of this process
(:class:`axis.store.groupcommit.Notifier`, keyed by agency code or :data:`REGISTRY_KEY`). The
committing node wakes its own waiters right after the commit, and the commit script PUBLISHes
the same news for every other node; :class:`Wakeups` listens on one pub/sub connection and
wakes the waiters it concerns. Pub/sub is at-most-once (messages sent while the connection is
down are lost), so a waiter re-checks every :data:`RECHECK` seconds in any case.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Final, TypeVar

import structlog
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from axis.store import redis_keys as k
from axis.store.errors import StoreError
from axis.store.notify import Notifier
from axis.store.redis_client import Client

T = TypeVar("T")
_log = structlog.get_logger()

RECHECK: Final = 1.0
"""Seconds between a long poll's re-checks (the safety net under pub/sub wake-ups)."""
REGISTRY_KEY: Final = "\x00registry"
"""The notifier key of registry changes (no agency code contains a NUL)."""
_CHANNELS: Final = (k.WAKE_DELIVERIES, k.WAKE_REGISTRY)


class Wakeups:
    """This process's long-poll waiters and the pub/sub listener that wakes them."""

    def __init__(self) -> None:
        self._notifier = Notifier()
        self._pubsub: PubSub | None = None
        self._listener: asyncio.Task[None] | None = None
        self.closed = True

    async def start(self, client: Client, timeout: float = 10.0) -> None:
        """Subscribe and wait for the server's confirmation, so that a commit made once this
        returns cannot be published before this process listens."""
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(*_CHANNELS)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            seen = 0
            while seen < len(_CHANNELS):
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise StoreError("store.unavailable", "Redis did not confirm the subscriptions")
                message = await pubsub.get_message(timeout=remaining)
                if message is not None and message["type"] == "subscribe":
                    seen += 1
        except BaseException:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            raise
        self._pubsub, self.closed = pubsub, False
        self._listener = asyncio.create_task(self._listen(pubsub))

    async def stop(self) -> None:
        """Release every waiter (they answer "nothing") and close the pub/sub connection."""
        self.closed = True
        self._notifier.wake_all()
        listener, pubsub = self._listener, self._pubsub
        self._listener = self._pubsub = None
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        if pubsub is not None:
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    def wake(self, codes: Iterable[str], registry: bool) -> None:
        """Wake this process's waiters for ``codes`` (and the registry's): a local commit."""
        self._notifier.wake(codes)
        if registry:
            self._notifier.wake((REGISTRY_KEY,))

    async def _listen(self, pubsub: PubSub) -> None:
        while True:
            try:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
            except (RedisError, OSError, RuntimeError) as exc:  # connection lost: polls re-check
                _log.warning("store.redis_pubsub_lost", error=str(exc))
                self._notifier.wake_all()
                await asyncio.sleep(RECHECK)
                continue
            if message is None:
                continue
            channel = k.text(message["channel"])
            if channel == k.WAKE_REGISTRY:
                self._notifier.wake((REGISTRY_KEY,))
            elif channel == k.WAKE_DELIVERIES:
                try:
                    codes = [str(code) for code in json.loads(k.text(message["data"]))]
                except (ValueError, TypeError):  # not ours: re-checks cover whatever it meant
                    continue
                self._notifier.wake(codes)

    async def wait(
        self,
        keys: Sequence[str],
        check: Callable[[], Awaitable[tuple[bool, T]]],
        timeout: float,
    ) -> T:
        """``await check()`` until done or ``timeout``: woken by local commits and by other
        processes' through pub/sub, re-checked every :data:`RECHECK` seconds in any case."""
        return await self._notifier.wait_for(
            keys, check, timeout, poll=RECHECK, closed=lambda: self.closed
        )
