"""The Redis store's accept: the payload to its shard first, then the commit that names it.

An accept is the one write of :class:`axis.store.redis_store.RedisStore` that is more than one
commit: its payload (the bulk of the store) is written outside the ordered commit, so the
accept must also see to the payload's life around the commit (the steps and why:
:mod:`axis.store.redis_payloads`):

* a small payload on one server rides inside the commit (no payload step at all);
* else the payload is written first, under a fresh key only this accept writes;
* the commit names it; a commit that stored nothing (a reused id, a duplicate naming another
  payload, never committed) leaves a payload nobody names, so it is discarded;
* a commit that came later than half the sweep's grace may have let the sweep judge the
  payload an orphan, so the payload is written again before the accept answers;
* a committed payload is taken off the sweep's list by the process's NEXT payload write, in
  the same round trip (one fsync fewer per accept), or at close: that is the state this
  module keeps between accepts.

The payload transfers of a process run outside the commits, in parallel, bounded by one
semaphore (:attr:`PayloadFirstAccept.transfers`) that the store's payload reads share.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Final

import structlog
from redis.exceptions import RedisError

from axis.store import redis_messages as msgs
from axis.store import redis_payloads as payloads
from axis.store.errors import StoreError
from axis.store.records import AcceptOutcome, NewMessage
from axis.store.redis_client import Client
from axis.store.redis_payloads import PayloadRef
from axis.store.redis_tx import Tx

_log = structlog.get_logger()

TRANSFERS: Final = 32
"""Payload transfers at once per process: they run outside the commits, in parallel, and a
connection pool holds 100 connections (past that redis-py fails a command, it does not wait)."""

AcceptOp = Callable[[Tx], Awaitable[AcceptOutcome]]
"""The accept's part of a commit (it may be re-run, so it only reads and queues)."""
Transact = Callable[[AcceptOp], Awaitable[AcceptOutcome]]
"""Runs an op in the store's next group commit (:meth:`RedisStore._transact`)."""


class PayloadFirstAccept:
    """The accepts of one store, with what they keep between them: the committed payloads
    still on a sweep list, and the bound on payload transfers.

    The clients are looked up at each step (``db``, ``bytes_db``), not held: they belong to
    the store, which opens and closes them."""

    def __init__(
        self,
        transact: Transact,
        db: Callable[[], Client],
        bytes_db: Callable[[], Client],
        *,
        cluster: bool,
        inline_max: int,
    ) -> None:
        self._transact = transact
        self._db = db
        self._bytes_db = bytes_db
        self._cluster = cluster  # a cluster's commit cannot reach a shard: never inline
        self._inline_max = inline_max
        self.transfers = asyncio.Semaphore(TRANSFERS)
        self._settled: list[PayloadRef] = []  # committed, still on a sweep list: next put's

    async def accept(self, message: NewMessage) -> AcceptOutcome:
        """A small payload on one server: inside the commit. Else payload to its shard, then
        the commit naming it, then the payload settled or, if this accept stored nothing,
        discarded (see :mod:`axis.store.redis_payloads`)."""
        ref = PayloadRef.new(message.message_id)
        if not self._cluster and len(message.payload) <= self._inline_max:
            return await self._transact(lambda tx: msgs.accept(tx, message, ref, inline=True))
        raw = self._bytes_db()
        settled, self._settled = self._settled, []
        async with self.transfers:
            try:
                noted = await payloads.put(raw, ref, message.payload, settled)
            except BaseException:
                self._settled.extend(settled)  # for the next put (the sweep would, later)
                raise
        try:
            outcome = await self._transact(lambda tx: msgs.accept(tx, message, ref, inline=False))
        except StoreError:  # a reused id, or never committed: the payload is nobody's
            await self._tidy(lambda: payloads.discard(raw, ref))
            raise
        if outcome.duplicate and await msgs.payload_ref(self._db(), outcome.message_id) != ref:
            await self._tidy(lambda: payloads.discard(raw, ref))
            return outcome
        if time.monotonic() - noted > payloads.GRACE / 2:  # a sweep may have judged it
            async with self.transfers:
                await payloads.put(raw, ref, message.payload)
        self._settled.append(ref)
        return outcome

    async def _tidy(self, step: Callable[[], Awaitable[None]]) -> None:
        """Clean-up after a commit: a failure leaves work for the sweep, not an error for the
        caller (the accept itself is decided)."""
        try:
            async with self.transfers:
                await step()
        except RedisError as exc:
            _log.warning("store.redis_payload_tidy", error=str(exc))

    async def settle_pending(self, raw: Client | None) -> None:
        """At close: the committed payloads no later put will settle leave the sweep's lists
        now (if Redis fails, or there is no connection, the sweep settles them later)."""
        settled, self._settled = self._settled, []
        if raw is not None:
            with contextlib.suppress(RedisError, OSError):
                await payloads.settle(raw, settled)
