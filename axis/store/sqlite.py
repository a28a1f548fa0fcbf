"""``SqliteStore``: the embedded backend of :class:`axis.store.protocol.Store`.

One SQLite file per deployment (WAL, ``synchronous=FULL``). Every write is an operation handed
to the one writer thread, which commits whatever is queued together (:mod:`groupcommit`): one
fsync for a burst of accepts, and an accept's future resolves only once it is durable. Reads
run on a small pool of read-only connections, so the event loop never blocks on SQLite and a
read can never write. Long polls (``wait_for_delivery``, ``wait_registry_change``) are woken by
the writer after each COMMIT; the store must be opened on the loop that serves requests.

The SQL lives beside this class, one module per subject: ``sqlite_messages``,
``sqlite_deliveries``, ``sqlite_inbox``, ``sqlite_audit``, ``sqlite_admin``, ``sqlite_registry``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, TypeVar

import structlog

from axis.audit import verify_chain
from axis.store import sqlite_admin as admin
from axis.store import sqlite_deliveries as dlv
from axis.store import sqlite_inbox as inb
from axis.store import sqlite_messages as msgs
from axis.store import sqlite_registry as reg
from axis.store.groupcommit import ReadPool, Writer, connect_writer
from axis.store.notify import Notifier
from axis.store.records import (
    AcceptOutcome,
    AckOutcome,
    AuditDraft,
    AuditEvent,
    AuditFilter,
    ChainVerdict,
    Delivery,
    InboxItem,
    MessageInfo,
    MessageKind,
    NewMessage,
    Page,
    PurgeOutcome,
    SentItem,
    StatusEntry,
    SystemRecord,
)
from axis.store.sqlite_audit import WriteSession, iter_events, query_events
from axis.store.sqlite_schema import SCHEMA, STORE_SCHEMA_VERSION, parse_cursor
from registry.model import Agency, Succession
from registry.registry import Registry
from registry.versions import VersionLog

T = TypeVar("T")
_log = structlog.get_logger()

_REGISTRY_KEY: Final = "\x00registry"
"""The notifier key of registry changes (no agency code contains a NUL)."""
_REGISTRY_POLL: Final = 2.0
"""Seconds between re-checks of the registry version while waiting (another process, such as
``axis registry`` on the same file, saves without waking this one)."""

READERS: Final = 2
"""Read threads (each with its own connection). Two rather than four: every extra thread that
wakes for a read contends with the event loop for the GIL, and in A/B runs of the benchmark
(three rounds) two readers served the same load with 10-15 % less serving CPU than four (one
reader: about as two). Two keep a read waiting behind a long one (a 20 MB payload, an export's
page) only when both are busy."""


class SqliteStore:
    """The broker's state in one SQLite file; see the module docstring for the threading."""

    def __init__(
        self, path: Path, *, legacy_registry: Path | None = None, readers: int = READERS
    ) -> None:
        self.path = path
        self._legacy = legacy_registry
        self._readers = readers
        self._session = WriteSession()
        self._notifier = Notifier()
        self._writer: Writer | None = None
        self._reads: ReadPool | None = None

    # --- life cycle -------------------------------------------------------------------------
    async def open(self) -> None:
        """Create or migrate the schema, start the threads, import a legacy registry once."""
        if self._writer is not None:
            return
        conn = await asyncio.to_thread(self._prepare)
        self._writer = Writer(conn, self._session, asyncio.get_running_loop(), self._announce)
        self._reads = await asyncio.to_thread(ReadPool, self.path, self._readers)
        _log.debug("store.opened", path=str(self.path))
        if self._legacy is not None and self._legacy.is_file():
            await self._import_legacy(self._legacy)

    def _prepare(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = connect_writer(self.path)
        try:
            conn.executescript(SCHEMA)
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('store_schema', ?)",
                (STORE_SCHEMA_VERSION,),
            )
            self._session.chain.load(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    async def _import_legacy(self, source: Path) -> None:
        if await self.registry_version() is not None:
            return
        rows = await asyncio.to_thread(reg.read_legacy, source)
        if rows is not None:
            await self._write(self._op(reg.import_legacy, rows, source))

    async def close(self) -> None:
        """Finish the queued writes, then stop the threads and close every connection."""
        writer, reads = self._writer, self._reads
        self._writer = self._reads = None
        self._notifier.wake_all()
        if writer is not None:
            await writer.close()
        if reads is not None:
            await asyncio.to_thread(reads.close)

    async def ping(self) -> None:
        """A trivial read: raises if the file cannot be read."""
        await self._read(lambda conn: conn.execute("SELECT 1").fetchone())

    # --- plumbing ---------------------------------------------------------------------------
    async def _write(self, op: Callable[..., T]) -> T:
        if self._writer is None:
            raise RuntimeError("the store is not open")
        result: T = await self._writer.submit(op)
        return result

    def _op(self, fn: Callable[..., T], *args: Any) -> Callable[[sqlite3.Connection], T]:
        session = self._session
        return lambda conn: fn(conn, session, *args)

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._reads is None:
            raise RuntimeError("the store is not open")
        return await self._reads.run(fn)

    def _announce(self, news: tuple[frozenset[str], bool]) -> None:
        codes, registry_changed = news
        if codes:
            self._notifier.wake(codes)
        if registry_changed:
            self._notifier.wake((_REGISTRY_KEY,))

    async def _wait(
        self,
        keys: Sequence[str],
        check: Callable[[], Awaitable[tuple[bool, T]]],
        timeout: float,
        *,
        poll: float | None = None,
    ) -> T:
        """``await check()`` until done or ``timeout``, woken by this store's commits; ``poll``
        also re-checks for what another process (the CLI) committed."""
        return await self._notifier.wait_for(
            keys, check, timeout, poll=poll, closed=lambda: self._reads is None
        )

    # --- messages ---------------------------------------------------------------------------
    async def accept(self, message: NewMessage) -> AcceptOutcome:
        return await self._write(self._op(msgs.accept, message))

    async def message(self, message_id: str) -> MessageInfo | None:
        return await self._read(lambda c: msgs.message(c, message_id))

    async def payload(self, message_id: str) -> bytes | None:
        return await self._read(lambda c: msgs.payload(c, message_id))

    async def find_messages(
        self, sender_code: str, document_id: str, kind: MessageKind = "edoc"
    ) -> tuple[MessageInfo, ...]:
        return await self._read(lambda c: msgs.find_messages(c, sender_code, document_id, kind))

    # --- deliveries -------------------------------------------------------------------------
    async def inbox(
        self,
        codes: Sequence[str],
        *,
        after: str | None = None,
        kind: MessageKind | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int = 100,
    ) -> Page[InboxItem]:
        parse_cursor(after)
        wanted = list(codes)
        return await self._read(lambda c: inb.inbox(c, wanted, after, kind, since, until, limit))

    async def wait_for_delivery(
        self, codes: Sequence[str], after: str | None, timeout: float
    ) -> bool:
        parse_cursor(after)
        wanted = list(codes)

        async def check() -> tuple[bool, bool]:
            found = await self._read(lambda c: inb.has_delivery(c, wanted, after))
            return found, found

        # poll: another process sharing this file (serve --workers, the CLI) wakes no one here
        return await self._wait(wanted, check, timeout, poll=1.0)

    async def deliveries(self, message_id: str) -> tuple[Delivery, ...]:
        return await self._read(lambda c: inb.deliveries(c, message_id))

    async def message_with_deliveries(
        self, message_id: str
    ) -> tuple[MessageInfo, tuple[Delivery, ...]] | None:
        def read(conn: sqlite3.Connection) -> tuple[MessageInfo, tuple[Delivery, ...]] | None:
            info = msgs.message(conn, message_id)
            return None if info is None else (info, inb.deliveries(conn, message_id))

        return await self._read(read)

    async def mark_fetched(
        self, message_id: str, codes: Sequence[str], at: dt.datetime, audit: AuditDraft
    ) -> tuple[Delivery, ...]:
        return await self._write(self._op(dlv.mark_fetched, message_id, list(codes), at, audit))

    async def ack(
        self,
        message_id: str,
        codes: Sequence[str],
        outcome: AckOutcome,
        reason: str | None,
        at: dt.datetime,
        audit: AuditDraft,
    ) -> tuple[Delivery, ...]:
        op = self._op(dlv.ack, message_id, list(codes), outcome, reason, at, audit)
        return await self._write(op)

    async def requeue_expired(
        self, fetched_before: dt.datetime, max_attempts: int, at: dt.datetime
    ) -> tuple[Delivery, ...]:
        return await self._write(self._op(dlv.requeue_expired, fetched_before, max_attempts, at))

    async def dead_letters(self, *, after: str | None = None, limit: int = 100) -> Page[Delivery]:
        parse_cursor(after)
        return await self._read(lambda c: inb.dead_letters(c, after, limit))

    async def retry_delivery(
        self, message_id: str, code: str, at: dt.datetime, audit: AuditDraft
    ) -> Delivery | None:
        return await self._write(self._op(dlv.retry_delivery, message_id, code, at, audit))

    async def cancel_delivery(
        self, message_id: str, code: str, at: dt.datetime, audit: AuditDraft
    ) -> Delivery | None:
        return await self._write(self._op(dlv.cancel_delivery, message_id, code, at, audit))

    async def move_pending(
        self, from_code: str, to_code: str, at: dt.datetime, move_key: str, audit: AuditDraft
    ) -> tuple[Delivery, ...]:
        op = self._op(dlv.move_pending, from_code, to_code, at, move_key, audit)
        return await self._write(op)

    async def set_drain(self, code: str, drain: bool, at: dt.datetime, audit: AuditDraft) -> None:
        await self._write(self._op(dlv.set_drain, code, drain, at, audit))

    async def drains(self) -> frozenset[str]:
        return await self._read(inb.drains)

    async def delivery_counts(self) -> dict[str, int]:
        return await self._read(inb.delivery_counts)

    # --- business status --------------------------------------------------------------------
    async def statuses(self, message_id: str) -> tuple[StatusEntry, ...]:
        return await self._read(lambda c: msgs.statuses(c, message_id))

    async def sent(
        self,
        sender_codes: Sequence[str],
        *,
        after: str | None = None,
        kind: MessageKind | None = None,
        limit: int = 100,
    ) -> Page[SentItem]:
        parse_cursor(after)
        wanted = list(sender_codes)
        return await self._read(lambda c: msgs.sent(c, wanted, after, kind, limit))

    # --- audit ------------------------------------------------------------------------------
    async def append_audit(self, drafts: Sequence[AuditDraft]) -> tuple[AuditEvent, ...]:
        session, pending = self._session, tuple(drafts)
        return await self._write(lambda c: tuple(session.append_event(c, d) for d in pending))

    async def audit_events(
        self, query: AuditFilter, *, after: str | None = None, limit: int = 100
    ) -> Page[AuditEvent]:
        parse_cursor(after)
        return await self._read(lambda c: query_events(c, query, after, limit))

    async def verify_audit(self) -> ChainVerdict:
        return await self._read(lambda c: verify_chain(iter_events(c)))

    # --- systems ----------------------------------------------------------------------------
    async def put_system(self, system: SystemRecord, audit: AuditDraft) -> None:
        await self._write(self._op(admin.put_system, system, audit))

    async def system(self, system_id: str) -> SystemRecord | None:
        return await self._read(lambda c: admin.system(c, system_id))

    async def system_by_cert(self, cert_sha256: str) -> SystemRecord | None:
        return await self._read(lambda c: admin.system_by_cert(c, cert_sha256))

    async def systems(self) -> tuple[SystemRecord, ...]:
        return await self._read(admin.systems)

    async def put_entry(
        self, kind: str, key: str, body: Mapping[str, Any] | None, audit: AuditDraft
    ) -> None:
        await self._write(self._op(admin.put_entry, kind, key, body, audit))

    async def entries(self, kind: str) -> dict[str, dict[str, Any]]:
        return await self._read(lambda c: admin.entries(c, kind))

    # --- retention --------------------------------------------------------------------------
    async def purge(self, before: dt.datetime, at: dt.datetime) -> PurgeOutcome:
        return await self._write(self._op(admin.purge, before, at))

    # --- registry ---------------------------------------------------------------------------
    async def load_registry(self) -> Registry | None:
        return await self._read(reg.load)

    async def registry_version(self) -> int | None:
        return await self._read(reg.latest_number)

    async def seed_registry(self, registry: Registry) -> bool:
        return await self._write(self._op(reg.seed, registry))

    async def save_registry(self, registry: Registry) -> int:
        return await self.save_registry_audited(registry, ())

    async def save_registry_audited(self, registry: Registry, audit: Sequence[AuditDraft]) -> int:
        session, drafts = self._session, tuple(audit)

        def save(conn: sqlite3.Connection) -> int:
            written = reg.save(conn, session, registry)
            for draft in drafts:
                session.append(conn, draft)
            return written

        return await self._write(save)

    async def registry_history(self) -> VersionLog:
        log = await self._read(reg.history)
        # A VersionLog cannot be empty: an unseeded store answers with the empty version 0.
        return Registry.empty().log if log is None else log

    async def wait_registry_change(self, known: int | None, timeout: float) -> int | None:
        async def check() -> tuple[bool, int | None]:
            version = await self.registry_version()
            return (True, version) if version != known else (False, None)

        return await self._wait((_REGISTRY_KEY,), check, timeout, poll=_REGISTRY_POLL)

    async def registry_records(
        self, codes: Collection[str]
    ) -> tuple[list[Agency], list[Succession]]:
        wanted = list(codes)
        return await self._read(lambda c: reg.records(c, wanted))
