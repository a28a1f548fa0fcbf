"""The ``Store`` protocol: everything a deployment keeps, behind one async interface.

One store per deployment: messages and payloads, deliveries, business status history, the
hash-chained audit log, connected systems and the registry's versions (the store implements
:class:`registry.store.RegistryStore`). Every backend (``sqlite`` embedded, ``redis`` for many
nodes) passes the same contract suite (``tests/store_contract.py``), written against this
protocol, not a backend.

Rules every backend keeps:

* ``accept`` is ONE atomic, durable step (message, payload, deliveries, status history, revoke
  withdrawals, audit events) and idempotent on ``NewMessage.idempotency_key``.
* Every state change that a person may ask about later appends its audit event in the same
  transaction as the change; audit events are chained in ``seq`` order.
* A read never writes; nothing blocks the event loop (a backend with blocking I/O runs it in its
  own thread).
* Deliveries are never dropped silently: a failed or expired one becomes a dead letter that an
  admin retries or cancels, both audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

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
from registry.registry import Registry
from registry.store import RegistryStore


class Store(RegistryStore, Protocol):
    """The broker's state. ``codes`` arguments are the caller's own codes (authorisation is the
    HTTP layer's job; the store filters by what it is given)."""

    # --- life cycle -------------------------------------------------------------------------
    async def open(self) -> None:
        """Create or migrate the schema; idempotent. Called once by the composition root."""
        ...

    async def close(self) -> None:
        """Flush and release everything (pending group commits are finished first)."""
        ...

    async def ping(self) -> None:
        """Raise if the store cannot answer a trivial read (the health check)."""
        ...

    # --- messages ---------------------------------------------------------------------------
    async def accept(self, message: NewMessage) -> AcceptOutcome:
        """Store the message atomically, or return the first one's id on a duplicate key
        (with its current deliveries; ``withdrawn`` is then empty). A ``message_id`` already
        used under another key raises :class:`axis.store.errors.StoreError` ``store.conflict``."""
        ...

    async def message(self, message_id: str) -> MessageInfo | None:
        """A message's metadata, None when unknown (or purged)."""
        ...

    async def payload(self, message_id: str) -> bytes | None:
        """A message's edXML bytes as received."""
        ...

    async def find_messages(
        self, sender_code: str, document_id: str, kind: MessageKind = "edoc"
    ) -> tuple[MessageInfo, ...]:
        """Messages of a sender with a DocumentId (or answering one), oldest first."""
        ...

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
        """Open deliveries (pending or fetched) to any of ``codes`` after the cursor, in order.

        ``after`` is a cursor this listing handed out (``Page.cursor``, or
        :attr:`Delivery.cursor` of the last item read); anything else raises
        :class:`axis.store.errors.CursorError` (``store.bad_cursor``). ``since``/``until``
        bound the message's receipt time (``since`` inclusive, ``until`` exclusive)."""
        ...

    async def wait_for_delivery(
        self, codes: Sequence[str], after: str | None, timeout: float
    ) -> bool:
        """Wait until a delivery past ``after`` may exist for ``codes``; False on timeout (or
        when the store closes meanwhile)."""
        ...

    async def deliveries(self, message_id: str) -> tuple[Delivery, ...]:
        """Every delivery of a message (any state)."""
        ...

    async def message_with_deliveries(
        self, message_id: str
    ) -> tuple[MessageInfo, tuple[Delivery, ...]] | None:
        """:meth:`message` and :meth:`deliveries` in one read (every fetch and ack asks both:
        one trip to the store instead of two); None when the message is unknown."""
        ...

    async def mark_fetched(
        self, message_id: str, codes: Sequence[str], at: dt.datetime, audit: AuditDraft
    ) -> tuple[Delivery, ...]:
        """pending -> fetched for the message's deliveries to ``codes`` (attempts + 1); the
        event is appended once per call. Returns the deliveries to ``codes`` after the change.
        Re-reading a fetched copy changes nothing (its lease keeps its start) but is audited."""
        ...

    async def ack(
        self,
        message_id: str,
        codes: Sequence[str],
        outcome: AckOutcome,
        reason: str | None,
        at: dt.datetime,
        audit: AuditDraft,
    ) -> tuple[Delivery, ...]:
        """pending|fetched -> done|fail; acking an acked delivery again changes nothing and
        appends nothing (acks are deduplicated). Returns the deliveries to ``codes``."""
        ...

    async def requeue_expired(
        self, fetched_before: dt.datetime, max_attempts: int, at: dt.datetime
    ) -> tuple[Delivery, ...]:
        """Fetched but never acked before the lease: back to pending (under a new inbox
        cursor), or dead after ``max_attempts``; each audited (``requeued`` / ``dead``).
        Returns the deliveries changed."""
        ...

    async def dead_letters(self, *, after: str | None = None, limit: int = 100) -> Page[Delivery]:
        """Deliveries in ``fail`` or ``dead``."""
        ...

    async def retry_delivery(
        self, message_id: str, code: str, at: dt.datetime, audit: AuditDraft
    ) -> Delivery | None:
        """A dead letter back to pending (new inbox cursor, attempts counted afresh); None if
        not a dead letter."""
        ...

    async def cancel_delivery(
        self, message_id: str, code: str, at: dt.datetime, audit: AuditDraft
    ) -> Delivery | None:
        """A dead letter (or pending copy) ended for good; None if there was nothing to end."""
        ...

    async def move_pending(
        self, from_code: str, to_code: str, at: dt.datetime, move_key: str, audit: AuditDraft
    ) -> tuple[Delivery, ...]:
        """Succession continuity: pending deliveries to ``from_code`` now go to ``to_code`` (new
        cursor, ``requested`` kept). Idempotent on ``move_key``; each moved delivery audited
        (``audit`` is the template: its message_id is filled per delivery). A repeated
        ``move_key`` moves nothing and returns what that key moved; a message that already has
        a delivery to ``to_code`` keeps that one (the moved copy merges into it, audited)."""
        ...

    async def set_drain(self, code: str, drain: bool, at: dt.datetime, audit: AuditDraft) -> None:
        """An admin's choice: let the closed code's own system drain its pending deliveries."""
        ...

    async def drains(self) -> frozenset[str]:
        """Codes whose pending deliveries stay with them after a succession."""
        ...

    async def delivery_counts(self) -> dict[str, int]:
        """How many deliveries are in each state now (states with none may be absent)."""
        ...

    # --- business status --------------------------------------------------------------------
    async def statuses(self, message_id: str) -> tuple[StatusEntry, ...]:
        """The business status history (every recipient), oldest first."""
        ...

    async def sent(
        self,
        sender_codes: Sequence[str],
        *,
        after: str | None = None,
        kind: MessageKind | None = None,
        limit: int = 100,
    ) -> Page[SentItem]:
        """Messages sent from ``sender_codes``, newest first, with deliveries and statuses."""
        ...

    async def save_registry_audited(self, registry: Registry, audit: Sequence[AuditDraft]) -> int:
        """:meth:`save_registry` with ``audit`` appended in the same transaction, after the
        versions' own events (an admin's change: who acted, from where, on which codes). A
        refused save appends nothing."""
        ...

    # --- audit ------------------------------------------------------------------------------
    async def append_audit(self, drafts: Sequence[AuditDraft]) -> tuple[AuditEvent, ...]:
        """Append events that change no other state (a refusal, a refused read)."""
        ...

    async def audit_events(
        self, query: AuditFilter, *, after: str | None = None, limit: int = 100
    ) -> Page[AuditEvent]:
        """Events matching the filter, in chain order."""
        ...

    async def verify_audit(self) -> ChainVerdict:
        """Re-hash the whole chain (from the oldest kept event) and name the first break."""
        ...

    # --- systems ----------------------------------------------------------------------------
    async def put_system(self, system: SystemRecord, audit: AuditDraft) -> None:
        """Create or replace a connected system."""
        ...

    async def system(self, system_id: str) -> SystemRecord | None:
        """One system (revoked ones too), None if unknown."""
        ...

    async def system_by_cert(self, cert_sha256: str) -> SystemRecord | None:
        """The active system whose client certificate has this SHA-256."""
        ...

    async def systems(self) -> tuple[SystemRecord, ...]:
        """Every system, by id."""
        ...

    # --- admin entries ----------------------------------------------------------------------
    async def put_entry(
        self, kind: str, key: str, body: Mapping[str, Any] | None, audit: AuditDraft
    ) -> None:
        """Create, replace or (``body`` None) remove one small admin record of ``kind`` (a
        signer binding, a proposed agency), atomically with its audit event. Kept for few,
        rarely written records that every node reads whole."""
        ...

    async def entries(self, kind: str) -> dict[str, dict[str, Any]]:
        """Every entry of ``kind``, by key in code point order."""
        ...

    # --- retention --------------------------------------------------------------------------
    async def purge(self, before: dt.datetime, at: dt.datetime) -> PurgeOutcome:
        """Remove messages (with deliveries and statuses) and audit events older than
        ``before``; the removal is itself an audit event, and the chain stays verifiable from
        the oldest kept event (events go as a prefix of the chain, never from its middle)."""
        ...
