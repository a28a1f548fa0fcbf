"""Wake-ups of long polls, keyed by agency code (or the registry's key), for every backend.

A commit wakes the waiters of the codes it touched (in this process; the redis backend relays
other processes' commits through pub/sub), and :meth:`Notifier.wait_for` is the one waiting
loop: registered before the check, re-checking on a poll interval, released when the store
closes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")


class Notifier:
    """Wake-ups on the event loop keyed by name (an agency code, or the registry's key)."""

    def __init__(self) -> None:
        self._waiters: defaultdict[str, set[asyncio.Future[None]]] = defaultdict(set)

    def waiter(self, keys: Iterable[str]) -> asyncio.Future[None]:
        """A future that resolves at the next :meth:`wake` of any of ``keys``."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for key in keys:
            self._waiters[key].add(future)
        return future

    def discard(self, keys: Iterable[str], future: asyncio.Future[None]) -> None:
        """Forget a waiter (it woke, or it timed out)."""
        for key in keys:
            waiting = self._waiters.get(key)
            if waiting is not None:
                waiting.discard(future)
                if not waiting:
                    del self._waiters[key]

    def wake_all(self) -> None:
        """Resolve every waiter (the store closes: nobody should wait for it any longer)."""
        keys = list(self._waiters)
        self.wake(keys)

    async def wait_for(
        self,
        keys: Sequence[str],
        check: Callable[[], Awaitable[tuple[bool, T]]],
        timeout: float,
        *,
        poll: float | None,
        closed: Callable[[], bool],
    ) -> T:
        """``await check()`` until it says done or ``timeout`` passes; woken by :meth:`wake`.

        The waiter is registered BEFORE the check, so a commit between the check and the wait
        still wakes it: no change can slip through unseen. ``poll`` also re-checks every so many
        seconds (for changes another process made without a wake-up reaching this one). A
        store that closes wakes its waiters, which then answer with what they found.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            waiter = self.waiter(keys)
            try:
                done, value = await check()
                remaining = deadline - loop.time()
                if done or remaining <= 0:
                    return value
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        waiter, remaining if poll is None else min(poll, remaining)
                    )
                if closed():
                    return value
            finally:
                self.discard(keys, waiter)

    def wake(self, keys: Iterable[str]) -> None:
        """Resolve every waiter of any of ``keys``."""
        for key in keys:
            for future in self._waiters.pop(key, ()):
                if not future.done():
                    future.set_result(None)
