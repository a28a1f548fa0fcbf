"""The Redis store's group commit: the concurrent writes of one process share ONE transaction.

A write of the Redis store is an optimistic transaction on the head (:mod:`axis.store.redis_tx`):
read the head, read and decide, then one call of the commit script. Run one at a time that is
several round trips per write, and a process commits no faster than Redis answers them. So
:meth:`GroupCommitter.run` queues the write, and one committer task takes everything queued
at that moment (up to :data:`MAX_BATCH`), reads the head ONCE, runs the writes one after
another on ONE :class:`~axis.store.redis_tx.Tx` and calls the script ONCE. A write's future is
resolved only after that call applied: "accepted" still means durable. If another process
committed first (the epoch moved), the whole batch re-runs on the new head, as one write did;
as a batch takes longer to run than one write, each conflict also halves the batch (the writes
cut off go first in the next one) and each commit doubles it again, so that a batch cannot lose
every race to a process that commits small writes in a tight loop.

Inside a batch each write is isolated:

* a write that raises is undone (:meth:`Tx.rollback` to the :meth:`Tx.mark` taken before it:
  its commands, audit links, counters, new codes, registry and cached rows go) and fails alone;
* the writes read Redis itself (``tx.db``, :class:`TrackedReads`), which does not hold what an
  earlier write of the same batch queued. So every read is noted (a hash field, or a whole
  key), so is every place the kept writes' commands write (:func:`written`), and **a write that
  read anything an earlier write of its batch wrote is undone and put first in the next batch**,
  which runs after this one committed and so reads it from Redis. The rule holds for reads
  served from the transaction's caches (messages, deliveries) and the registry version too:
  those are noted like reads of Redis. Two accepts of one idempotency key in one batch: the
  second read the field the first wrote, so it re-runs next and finds the first as a
  duplicate. Put off, a write goes first in its next batch, where it cannot be put off again;
* a write that changed nothing (a duplicate, a repeated ack) is answered as soon as it ran: it
  read nothing of its batch's writes, so only what Redis holds;
* a batch that changed nothing calls no script.

The wake-ups (the PUBLISHes in the script, then the in-process ones) name the union of what the
batch's kept writes changed.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import secrets
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final, TypeVar, cast

import structlog

from axis.store import redis_keys as k
from axis.store.errors import StoreError
from axis.store.redis_client import Client
from axis.store.redis_tx import REGISTRY, Location, Tx

T = TypeVar("T")
_log = structlog.get_logger()

MAX_BATCH: Final = 256
"""The most writes one commit carries (bounds the script's size and the first one's wait)."""
MAX_TRIES: Final = 200
"""Conflicting batches re-run; this many conflicts in a row means something is wrong."""

_WHOLE_KEY: Final = frozenset({"SET", "ZADD", "ZREM", "RPUSH", "SADD"})
"""Queued commands that write the key named after them (as readers see it: whole)."""


def written(command: tuple[Any, ...]) -> list[Location]:
    """Where a queued command writes. A command this does not know is refused: what it
    writes would escape the check of the reads."""
    name, key = str(command[0]).upper(), str(command[1])
    if name == "HSET":
        return [(key, str(field)) for field in command[2::2]]
    if name == "HDEL":
        return [(key, str(field)) for field in command[2:]]
    if name == "HINCRBY":
        return [(key, str(command[2]))]
    if name == "DEL":
        return [(str(each), None) for each in command[1:]]
    if name in _WHOLE_KEY:
        return [(key, None)]
    raise ValueError(f"{name}: the group commit does not know where it writes (redis_batch)")


class TrackedReads:
    """``Tx.db``: the reads a write may make in Redis, each noted in :attr:`reads` (a hash
    field as itself, any other read as its whole key). Only these reads exist on purpose: a
    read reaching Redis another way would escape the batch's check."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self.reads: set[Location] = set()

    async def get(self, key: str) -> Any:
        self.reads.add((key, None))
        return await self._client.get(key)

    async def exists(self, *keys: str) -> int:
        self.reads.update((key, None) for key in keys)
        return int(await self._client.exists(*keys))

    async def hget(self, key: str, field: str) -> Any:
        self.reads.add((key, field))
        return await self._client.hget(key, field)

    async def hmget(self, key: str, fields: list[str]) -> list[Any]:
        self.reads.update((key, field) for field in fields)
        return list(await self._client.hmget(key, fields))

    async def hgetall(self, key: str) -> dict[Any, Any]:
        self.reads.add((key, None))
        return dict(await self._client.hgetall(key))

    async def zrange(self, key: str, start: int, end: int) -> list[Any]:
        self.reads.add((key, None))
        return list(await self._client.zrange(key, start, end))

    async def zrangebyscore(self, key: str, low: str, high: str) -> list[Any]:
        self.reads.add((key, None))
        return list(await self._client.zrangebyscore(key, low, high))


class _Written:
    """What the kept writes of a batch write: key -> its fields, or None for the whole key."""

    def __init__(self) -> None:
        self._by_key: dict[str, set[str] | None] = {}

    def add(self, locations: Iterable[Location]) -> None:
        for key, field in locations:
            if field is None:
                self._by_key[key] = None
            else:
                fields = self._by_key.setdefault(key, set())
                if fields is not None:
                    fields.add(field)

    def seen_by(self, reads: Iterable[Location]) -> bool:
        """Whether any of ``reads`` reads something written here."""
        for key, field in reads:
            if key in self._by_key:
                fields = self._by_key[key]
                if field is None or fields is None or field in fields:
                    return True
        return False


@dataclasses.dataclass(frozen=True)
class _Waiting:
    """A queued write and the future its caller awaits."""

    op: Callable[[Tx], Awaitable[Any]]
    future: asyncio.Future[Any]


class GroupCommitter:
    """One process's writes, committed in batches (see the module docstring).

    ``apply`` calls the commit script with its ARGV (truthy: applied); ``on_commit`` gets the
    codes with new deliveries and whether the registry changed, once a batch applied.
    """

    def __init__(
        self,
        client: Client,
        apply: Callable[[list[Any]], Awaitable[Any]],
        on_commit: Callable[[set[str], bool], None],
    ) -> None:
        self._client = client
        self._apply = apply
        self._on_commit = on_commit
        self._queue: collections.deque[_Waiting] = collections.deque()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._limit = MAX_BATCH  # writes per batch: halved by a conflict, doubled by a commit

    async def run(self, op: Callable[[Tx], Awaitable[T]]) -> T:
        """Run ``op`` in the next batch; its result once the batch committed. ``op`` may be
        run again (on a new head, or in the next batch), so it only reads and queues."""
        if self._closed:
            raise RuntimeError("the store is not open")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append(_Waiting(op, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="axis-redis-group-commit")
        return cast(T, await future)

    async def close(self) -> None:
        """Refuse new writes, finish the queued ones (every write already accepted commits)."""
        self._closed = True
        if self._task is not None:
            await asyncio.shield(self._task)

    async def _drain(self) -> None:
        """Commit batches until nothing is queued (the task ends; the next write starts one)."""
        try:
            while self._queue:
                count = min(self._limit, len(self._queue))
                batch = [self._queue.popleft() for _ in range(count)]
                self._queue.extendleft(reversed(await self._commit(batch)))
        except BaseException:  # cancelled (the loop is closing): nobody may wait forever
            for waiting in self._queue:
                waiting.future.cancel()
            self._queue.clear()
            raise

    async def _commit(self, batch: list[_Waiting]) -> list[_Waiting]:
        """Run ``batch`` on one transaction until it commits; what goes first in the next
        batch: the writes put off, and those a conflict cut off."""
        cut: list[_Waiting] = []
        try:
            for attempt in range(MAX_TRIES):
                batch = [waiting for waiting in batch if not waiting.future.done()]
                cut[:0], batch = batch[self._limit :], batch[: self._limit]
                if not batch:
                    return cut
                head = await self._client.hgetall(k.HEAD)
                tx = Tx(TrackedReads(self._client), {k.text(f): k.text(v) for f, v in head.items()})
                kept, deferred = await self._run_ops(tx, batch)
                if not tx.cmds and not tx.registry_changed:
                    return deferred + cut  # nothing to write: every write kept answered already
                if await self._apply(tx.commit_args(_wake_messages(tx))):
                    break
                # Another process committed first. A batch takes longer to run than one write,
                # so against a busy process it could lose every time: halve it until it wins.
                self._limit = max(1, self._limit // 2)
                await asyncio.sleep(_backoff(attempt))
            else:
                raise StoreError("store.busy", f"the write conflicted {MAX_TRIES} times in a row")
        except Exception as exc:  # Redis failed (or never let it commit): the batch fails
            _log.warning("store.redis_batch_failed", error=repr(exc), writes=len(batch))
            for waiting in batch:
                _fail(waiting.future, exc)
            return cut
        except BaseException:
            for waiting in (*batch, *cut):
                waiting.future.cancel()
            raise
        self._limit = min(MAX_BATCH, self._limit * 2)
        for waiting, result in kept:
            _answer(waiting.future, result)
        try:
            self._on_commit(tx.new_codes, tx.registry_changed)
        except Exception as exc:  # the writes are committed: their callers must hear so
            _log.error("store.redis_wake_failed", error=repr(exc))
        return deferred + cut

    async def _run_ops(
        self, tx: Tx, batch: list[_Waiting]
    ) -> tuple[list[tuple[_Waiting, Any]], list[_Waiting]]:
        """Run each write on ``tx`` in turn; (the kept ones with their results, the put off)."""
        changed = _Written()
        kept: list[tuple[_Waiting, Any]] = []
        deferred: list[_Waiting] = []
        for waiting in batch:
            if waiting.future.done():  # its caller gave up before it ran
                continue
            mark = tx.mark()
            tx.db.reads.clear()
            try:
                result = await waiting.op(tx)
                writes = [place for command in tx.cmds[mark.cmds :] for place in written(command)]
            except Exception as exc:
                tx.rollback(mark)
                if changed.seen_by(tx.db.reads):  # may have failed on what it could not see
                    deferred.append(waiting)
                else:
                    _fail(waiting.future, exc)
                continue
            if changed.seen_by(tx.db.reads):
                tx.rollback(mark)
                deferred.append(waiting)
            elif not tx.changed_since(mark):
                _answer(waiting.future, result)  # wrote nothing: nothing to wait for
            else:
                changed.add(writes)
                if tx.registry_saved_since(mark):
                    changed.add((REGISTRY,))
                kept.append((waiting, result))
        return kept, deferred


def _wake_messages(tx: Tx) -> list[tuple[str, ...]]:
    """The PUBLISHes the commit script sends for the other processes' long polls."""
    wake: list[tuple[str, ...]] = []
    if tx.new_codes:
        wake.append(("PUBLISH", k.WAKE_DELIVERIES, k.dumps(sorted(tx.new_codes))))
    if tx.registry_changed:
        wake.append(("PUBLISH", k.WAKE_REGISTRY, str(tx.registry)))
    return wake


def _answer(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():  # a caller that gave up is not answered
        future.set_result(result)


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


def _backoff(attempt: int) -> float:
    """A short random pause before re-running a conflicting batch, so that the processes that
    conflicted do not collide again in lockstep (up to 20 ms)."""
    return secrets.randbelow(1000 * min(attempt + 1, 20)) / 1_000_000
