"""``RedisStore``: the :class:`axis.store.protocol.Store` for many axis nodes sharing one Redis.

Several axis processes (on several machines) serve the same deployment through one Redis
primary, or through a Redis Cluster (``?cluster=true``, :mod:`axis.store.redis_client`): there
the payloads, the bulk, are spread over every master, and everything ordered stays on the
master of the coordination slot (:mod:`axis.store.redis_keys`). How the rules of the protocol
are kept:

* **One atomic write.** Every state change is ONE optimistic transaction on the chain's head:
  read the head's ``epoch``, read and decide in Python, then one Lua script applies every
  queued command only if the epoch is unchanged (else the write re-runs on the new state); see
  :mod:`axis.store.redis_tx` for why (no SHA-256 in Lua, no lock to outlive a dead process).
  ``accept`` queues message, deliveries, revoke withdrawals, status history and audit events
  in that one script call, after checking the idempotency key under the same epoch, so a
  resend, or twenty concurrent ones on twenty nodes, stores one message. The writes of one
  process are group-committed: those queued together share one head read and one script call
  (:mod:`axis.store.redis_batch`), each still all-or-nothing.
* **Payload first.** Before that, ``accept`` writes the payload to its shard under a key no
  other accept uses; the message names it. A crash in between leaves an orphan payload (swept
  later), never a message without its payload (:mod:`axis.store.redis_accept`,
  :mod:`axis.store.redis_payloads`).
* **One audit chain.** Hashes are computed in Python with :func:`axis.audit.link` on the tail
  the transaction read, so the chain holds the SAME hashes the SQLite store computes for the
  same events, and two nodes can never link two events onto one tail (the second commit finds
  the epoch moved).
* **Inbox cursors.** A delivery's seq comes from the head's counter (``dseq``, incremented
  under the same epoch check), and writes commit one after another, so seqs become visible in
  order.
* **Long polls** (``wait_for_delivery``, ``wait_registry_change``) wait on in-process futures,
  woken right after a local commit and, for commits of other nodes, by a pub/sub message
  (``PUBLISH`` runs inside the committing script, so nobody is woken before the data is
  there); pub/sub is at-most-once, so waiters also re-check periodically
  (:mod:`axis.store.redis_wake`).
* **Durability.** Run Redis (every master of a cluster) with ``appendonly yes`` and
  ``appendfsync always``: the server then writes and fsyncs a command's effects to the AOF
  before it answers, so an accepted document (its payload, then its commit) survives a crash
  or a power cut. ``everysec`` (Redis's default) may lose the last second of acknowledged
  writes; a replica does not replace the fsync (replication is asynchronous). ``open`` logs a
  warning (``store.redis_durability``) unless every master says both.

Key layout: :mod:`axis.store.redis_keys`. Reads are plain commands (no snapshot): each re-checks
what it reads (see :mod:`axis.store.redis_inbox`). The store must be opened on the loop that
serves requests (its connections and wake-ups belong to that loop).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import Any, TypeVar

import structlog
from redis.commands.core import AsyncScript

from axis.store import redis_admin as admin
from axis.store import redis_audit as aud
from axis.store import redis_deliveries as dlv
from axis.store import redis_inbox as inb
from axis.store import redis_keys as k
from axis.store import redis_messages as msgs
from axis.store import redis_payloads as payloads
from axis.store import redis_registry as reg
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
from axis.store.redis_accept import PayloadFirstAccept
from axis.store.redis_batch import GroupCommitter
from axis.store.redis_client import (
    Client,
    check_layout,
    connect,
    is_cluster,
    safe,
    warn_unless_durable,
)
from axis.store.redis_tx import COMMIT, Tx
from axis.store.redis_wake import REGISTRY_KEY, Wakeups
from registry.model import Agency, Succession
from registry.registry import Registry
from registry.versions import VersionLog

T = TypeVar("T")
_log = structlog.get_logger()


class RedisStore:
    """The broker's state in Redis; see the module docstring for the design."""

    def __init__(self, url: str, *, inline_max: int = payloads.INLINE_MAX) -> None:
        self.url = url
        self.cluster = is_cluster(url)  # a Redis Cluster? (checks the URL now, not at open)
        self.inline_max = inline_max  # on one server, payloads up to this go in the commit
        self._client: Client | None = None
        self._raw: Client | None = None
        self._commit: AsyncScript | None = None
        self._batch: GroupCommitter | None = None
        self._accepts = PayloadFirstAccept(
            self._transact, self._db, self._bytes_db, cluster=self.cluster, inline_max=inline_max
        )
        self._wakeups = Wakeups()

    # --- life cycle -------------------------------------------------------------------------
    async def open(self) -> None:
        """Connect, check the server answers, holds this key layout and keeps an AOF,
        subscribe to the wake-ups."""
        if self._client is not None:
            return
        # URL query parameters (socket_timeout=..., ...) reach the client as redis-py reads them
        client = connect(self.url, decode=True)
        raw = connect(self.url, decode=False)  # payloads are bytes: read them undecoded
        try:
            await client.ping()
            await check_layout(client)
            await warn_unless_durable(client)
            await self._wakeups.start(client)
        except BaseException:
            await client.aclose()
            await raw.aclose()
            raise
        self._client, self._raw = client, raw
        self._commit = client.register_script(COMMIT)
        self._batch = GroupCommitter(client, self._apply, self._wakeups.wake)
        _log.debug("store.opened", url=safe(self.url))

    async def close(self) -> None:
        """Commit the queued writes (a later one is refused), settle the committed payloads,
        release the long polls, close the connections."""
        if self._batch is not None:
            await self._batch.close()  # a second close waits for the same batches
        self._batch = None
        client, raw = self._client, self._raw
        self._client = self._raw = None
        await self._accepts.settle_pending(raw)
        await self._wakeups.stop()
        for connection in (client, raw):
            if connection is not None:
                await connection.aclose()

    async def ping(self) -> None:
        """A trivial read: raises if Redis does not answer."""
        await self._db().ping()

    # --- plumbing ---------------------------------------------------------------------------
    def _db(self) -> Client:
        if self._client is None:
            raise RuntimeError("the store is not open")
        return self._client

    def _bytes_db(self) -> Client:
        """The connections that leave replies undecoded (payloads are bytes)."""
        if self._raw is None:
            raise RuntimeError("the store is not open")
        return self._raw

    async def _transact(self, op: Callable[[Tx], Awaitable[T]]) -> T:
        """Run ``op`` in the next group commit (:mod:`axis.store.redis_batch`): an optimistic
        transaction on the head (:mod:`axis.store.redis_tx`) shared with the writes queued
        with it; ``op`` may be re-run, so it only reads and queues."""
        if self._batch is None:
            raise RuntimeError("the store is not open")
        return await self._batch.run(op)

    async def _apply(self, args: list[Any]) -> bool:
        """One call of the commit script (looked up at each call: tests stand in for it)."""
        assert self._commit is not None
        return bool(await self._commit(keys=[k.HEAD], args=args))

    # --- messages ---------------------------------------------------------------------------
    async def accept(self, message: NewMessage) -> AcceptOutcome:
        return await self._accepts.accept(message)

    async def message(self, message_id: str) -> MessageInfo | None:
        return await msgs.message(self._db(), message_id)

    async def payload(self, message_id: str) -> bytes | None:
        ref = await msgs.payload_ref(self._db(), message_id)
        if ref is None:
            return None
        async with self._accepts.transfers:  # one bound for reads and accepts
            return await payloads.get(self._bytes_db(), ref)

    async def find_messages(
        self, sender_code: str, document_id: str, kind: MessageKind = "edoc"
    ) -> tuple[MessageInfo, ...]:
        return await msgs.find_messages(self._db(), sender_code, document_id, kind)

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
        return await inb.inbox(self._db(), list(codes), after, kind, since, until, limit)

    async def wait_for_delivery(
        self, codes: Sequence[str], after: str | None, timeout: float
    ) -> bool:
        k.parse_cursor(after)
        wanted = list(codes)

        async def check() -> tuple[bool, bool]:
            if self._client is None:
                return True, False
            found = await inb.has_delivery(self._client, wanted, after)
            return found, found

        return await self._wakeups.wait(wanted, check, timeout)

    async def deliveries(self, message_id: str) -> tuple[Delivery, ...]:
        return await msgs.deliveries(self._db(), message_id)

    async def message_with_deliveries(
        self, message_id: str
    ) -> tuple[MessageInfo, tuple[Delivery, ...]] | None:
        return await msgs.message_with_deliveries(self._db(), message_id)

    async def mark_fetched(
        self, message_id: str, codes: Sequence[str], at: dt.datetime, audit: AuditDraft
    ) -> tuple[Delivery, ...]:
        wanted = list(codes)
        return await self._transact(lambda tx: dlv.mark_fetched(tx, message_id, wanted, at, audit))

    async def ack(
        self,
        message_id: str,
        codes: Sequence[str],
        outcome: AckOutcome,
        reason: str | None,
        at: dt.datetime,
        audit: AuditDraft,
    ) -> tuple[Delivery, ...]:
        wanted = list(codes)
        return await self._transact(
            lambda tx: dlv.ack(tx, message_id, wanted, outcome, reason, at, audit)
        )

    async def requeue_expired(
        self, fetched_before: dt.datetime, max_attempts: int, at: dt.datetime
    ) -> tuple[Delivery, ...]:
        return await self._transact(
            lambda tx: dlv.requeue_expired(tx, fetched_before, max_attempts, at)
        )

    async def dead_letters(self, *, after: str | None = None, limit: int = 100) -> Page[Delivery]:
        return await inb.dead_letters(self._db(), after, limit)

    async def retry_delivery(
        self, message_id: str, code: str, at: dt.datetime, audit: AuditDraft
    ) -> Delivery | None:
        return await self._transact(lambda tx: dlv.retry_delivery(tx, message_id, code, at, audit))

    async def cancel_delivery(
        self, message_id: str, code: str, at: dt.datetime, audit: AuditDraft
    ) -> Delivery | None:
        return await self._transact(lambda tx: dlv.cancel_delivery(tx, message_id, code, at, audit))

    async def move_pending(
        self, from_code: str, to_code: str, at: dt.datetime, move_key: str, audit: AuditDraft
    ) -> tuple[Delivery, ...]:
        return await self._transact(
            lambda tx: dlv.move_pending(tx, from_code, to_code, at, move_key, audit)
        )

    async def set_drain(self, code: str, drain: bool, at: dt.datetime, audit: AuditDraft) -> None:
        await self._transact(lambda tx: dlv.set_drain(tx, code, drain, at, audit))

    async def drains(self) -> frozenset[str]:
        return await inb.drains(self._db())

    async def delivery_counts(self) -> dict[str, int]:
        return await inb.delivery_counts(self._db())

    # --- business status --------------------------------------------------------------------
    async def statuses(self, message_id: str) -> tuple[StatusEntry, ...]:
        return await msgs.statuses(self._db(), message_id)

    async def sent(
        self,
        sender_codes: Sequence[str],
        *,
        after: str | None = None,
        kind: MessageKind | None = None,
        limit: int = 100,
    ) -> Page[SentItem]:
        return await msgs.sent(self._db(), list(sender_codes), after, kind, limit)

    # --- audit ------------------------------------------------------------------------------
    async def append_audit(self, drafts: Sequence[AuditDraft]) -> tuple[AuditEvent, ...]:
        pending = tuple(drafts)

        async def op(tx: Tx) -> tuple[AuditEvent, ...]:
            return tuple(tx.audit(draft) for draft in pending)

        return await self._transact(op) if pending else ()

    async def audit_events(
        self, query: AuditFilter, *, after: str | None = None, limit: int = 100
    ) -> Page[AuditEvent]:
        return await aud.query_events(self._db(), query, after, limit)

    async def verify_audit(self) -> ChainVerdict:
        return await aud.verify(self._db())

    # --- systems ----------------------------------------------------------------------------
    async def put_system(self, system: SystemRecord, audit: AuditDraft) -> None:
        await self._transact(lambda tx: admin.put_system(tx, system, audit))

    async def system(self, system_id: str) -> SystemRecord | None:
        return await admin.system(self._db(), system_id)

    async def system_by_cert(self, cert_sha256: str) -> SystemRecord | None:
        return await admin.system_by_cert(self._db(), cert_sha256)

    async def systems(self) -> tuple[SystemRecord, ...]:
        return await admin.systems(self._db())

    async def put_entry(
        self, kind: str, key: str, body: Mapping[str, Any] | None, audit: AuditDraft
    ) -> None:
        await self._transact(lambda tx: admin.put_entry(tx, kind, key, body, audit))

    async def entries(self, kind: str) -> dict[str, dict[str, Any]]:
        return await admin.entries(self._db(), kind)

    # --- retention --------------------------------------------------------------------------
    async def purge(self, before: dt.datetime, at: dt.datetime) -> PurgeOutcome:
        """The purge commits, then the payloads it named are deleted from their shards and
        orphans (accepts that crashed before their commit) swept."""
        outcome = await self._transact(lambda tx: admin.purge(tx, before, at))
        client, raw = self._db(), self._bytes_db()
        doomed = await payloads.drop_doomed(client, raw)
        orphans = await payloads.sweep(client, raw)
        if doomed or orphans:
            _log.info("store.redis_payloads_dropped", purged=doomed, orphans=orphans)
        return outcome

    # --- registry ---------------------------------------------------------------------------
    async def load_registry(self) -> Registry | None:
        return await reg.load(self._db())

    async def registry_version(self) -> int | None:
        return await reg.latest_number(self._db())

    async def seed_registry(self, registry: Registry) -> bool:
        return await self._transact(lambda tx: reg.seed(tx, registry))

    async def save_registry(self, registry: Registry) -> int:
        return await self.save_registry_audited(registry, ())

    async def save_registry_audited(self, registry: Registry, audit: Sequence[AuditDraft]) -> int:
        drafts = tuple(audit)

        async def save(tx: Tx) -> int:
            written = await reg.save(tx, registry)
            for draft in drafts:
                tx.audit(draft)
            return written

        return await self._transact(save)

    async def registry_history(self) -> VersionLog:
        log = await reg.history(self._db())
        # A VersionLog cannot be empty: an unseeded store answers with the empty version 0.
        return Registry.empty().log if log is None else log

    async def wait_registry_change(self, known: int | None, timeout: float) -> int | None:
        async def check() -> tuple[bool, int | None]:
            if self._client is None:
                return True, None
            version = await reg.latest_number(self._client)
            return (True, version) if version != known else (False, None)

        return await self._wakeups.wait((REGISTRY_KEY,), check, timeout)

    async def registry_records(
        self, codes: Collection[str]
    ) -> tuple[list[Agency], list[Succession]]:
        return await reg.records(self._db(), list(codes))
