"""Threads that keep SQLite off the event loop: one group-committing writer, a pool of readers.

SQLite allows one writer at a time, and what a write costs is mostly its ``fsync``. So every
write of the store goes through ONE thread that takes everything queued at that moment, runs
each operation inside its own ``SAVEPOINT`` (a failing operation rolls back only itself and
fails only its own future), then COMMITs the whole batch at once: one fsync for many accepts.
Futures are resolved on the event loop only after that COMMIT, so "accepted" always means
"durable". Reads use separate read-only connections (WAL readers never wait for the writer).
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, Protocol, TypeVar

import structlog

T = TypeVar("T")
_log = structlog.get_logger()

MAX_BATCH: Final = 1000
"""The most operations one COMMIT carries (bounds the latency of the batch's first op)."""
_STATEMENTS: Final = 256
"""Prepared statements kept per connection: every statement of the store is prepared once."""


def connect_writer(path: Path) -> sqlite3.Connection:
    """The writer's connection: autocommit mode (we issue BEGIN/COMMIT), WAL, full sync."""
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, cached_statements=_STATEMENTS
    )
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def connect_reader(path: Path) -> sqlite3.Connection:
    """A read-only connection: a read can never write, even by mistake."""
    conn = sqlite3.connect(
        f"{path.resolve().as_uri()}?mode=ro",
        uri=True,
        isolation_level=None,
        check_same_thread=False,
        cached_statements=_STATEMENTS,
    )
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


class Session(Protocol):
    """Writer-side state that lives beside the transaction (the audit chain's tail)."""

    def begin_batch(self, conn: sqlite3.Connection) -> None:
        """The batch's transaction has begun: re-read what another process may have changed."""
        ...

    def begin_op(self) -> object:
        """A token to undo what the next operation changes in memory."""
        ...

    def undo_op(self, token: object) -> None:
        """The operation was rolled back to its savepoint: forget its in-memory changes."""
        ...

    def batch_failed(self, conn: sqlite3.Connection) -> None:
        """The COMMIT failed and everything was rolled back: reload from the database."""
        ...

    def committed(self) -> Any:
        """What the batch changed, for the notification after the COMMIT (then reset)."""
        ...


WriteOp = Callable[[sqlite3.Connection], Any]
_Item = tuple[WriteOp, "asyncio.Future[Any]"]


class Writer:
    """The one writer thread; :meth:`submit` from the event loop, await the future."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        session: Session,
        loop: asyncio.AbstractEventLoop,
        on_commit: Callable[[Any], None],
    ) -> None:
        self._conn = conn
        self._session = session
        self._loop = loop
        self._on_commit = on_commit
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="axis-store-writer", daemon=True)
        self._closed = False
        self._thread.start()

    def submit(self, op: WriteOp) -> asyncio.Future[Any]:
        """Queue ``op`` for the next batch; the future resolves after its COMMIT."""
        if self._closed:
            raise RuntimeError("the store is closed")
        future: asyncio.Future[Any] = self._loop.create_future()
        self._queue.put((op, future))
        return future

    async def close(self) -> None:
        """Finish everything queued, then stop the thread and close the connection."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        await asyncio.to_thread(self._thread.join)

    def _run(self) -> None:
        try:
            stop = False
            while not stop:
                first = self._queue.get()
                if first is None:
                    break
                batch = [first]
                while len(batch) < MAX_BATCH:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        stop = True
                        break
                    batch.append(item)
                self._run_batch(batch)
        finally:
            self._conn.close()

    def _run_batch(self, batch: list[_Item]) -> None:
        conn = self._conn
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            self._session.begin_batch(conn)
            for op, future in batch:
                token = self._session.begin_op()
                conn.execute("SAVEPOINT op")
                try:
                    result = op(conn)
                except Exception as exc:  # the op's own failure, for its caller
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    self._session.undo_op(token)
                    outcomes.append((future, None, exc))
                else:
                    conn.execute("RELEASE op")
                    outcomes.append((future, result, None))
            conn.execute("COMMIT")
        except Exception as exc:  # the batch failed: every op fails with it
            _log.error("store.commit_failed", error=repr(exc), ops=len(batch))
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._session.batch_failed(conn)
            self._session.committed()
            outcomes = [(future, None, exc) for _, future in batch]
            self._post(outcomes, None)
            return
        self._post(outcomes, self._session.committed())

    def _post(
        self, outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]], news: Any
    ) -> None:
        try:
            self._loop.call_soon_threadsafe(self._resolve, outcomes, news)
        except RuntimeError:  # the loop is gone (interpreter shutdown): nobody is waiting
            _log.warning("store.loop_closed", ops=len(outcomes))

    def _resolve(
        self, outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]], news: Any
    ) -> None:
        for future, result, error in outcomes:
            _settle(future, result, error)
        if news is not None:
            self._on_commit(news)


class ReadPool:
    """A few threads, each with its own read-only connection; every read is one snapshot.

    A plain queue and ``call_soon_threadsafe`` rather than a ``ThreadPoolExecutor``: the
    executor's per-call future (with its own lock and condition) and its chaining to an asyncio
    future cost the event loop more than the point reads themselves, and under load every
    request makes one or two of them.
    """

    def __init__(self, path: Path, workers: int) -> None:
        self._path = path
        self._queue: queue.SimpleQueue[_Read | None] = queue.SimpleQueue()
        # connected here, so a file that cannot be read fails the store's open, not a read later
        self._threads = [
            threading.Thread(
                target=self._serve, args=(connect_reader(path),), name=f"axis-read-{n}", daemon=True
            )
            for n in range(workers)
        ]
        self._closed = False
        for thread in self._threads:
            thread.start()

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(conn)`` in a reader thread, inside one read transaction (a consistent view)."""
        if self._closed:
            raise RuntimeError("the store is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((fn, future, loop))
        return await future

    def close(self) -> None:
        """Finish the reads queued, stop the threads and close their connections."""
        if self._closed:
            return
        self._closed = True
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()

    def _serve(self, conn: sqlite3.Connection) -> None:
        try:
            while (item := self._queue.get()) is not None:
                fn, future, loop = item
                try:
                    conn.execute("BEGIN")
                    try:
                        outcome: tuple[Any, BaseException | None] = (fn(conn), None)
                    finally:
                        conn.execute("COMMIT")
                except BaseException as exc:  # the read's own failure, for its caller
                    outcome = (None, exc)
                try:
                    loop.call_soon_threadsafe(_settle, future, *outcome)
                except RuntimeError:  # the loop is gone: nobody is waiting
                    _log.warning("store.loop_closed", ops=1)
        finally:
            conn.close()


_Read = tuple[Callable[[sqlite3.Connection], Any], "asyncio.Future[Any]", asyncio.AbstractEventLoop]


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the caller was cancelled
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
