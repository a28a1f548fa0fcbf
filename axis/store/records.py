"""What the broker's store keeps: messages, deliveries, business statuses, audit events, systems.

Plain frozen dataclasses, shared by every backend (``sqlite``, later ``redis``) and by the HTTP
layer, so a backend is a translation of these records and nothing more. Times are aware UTC
``datetime``; codes are agency codes as the registry spells them (upper case).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Generic, Literal, TypeVar

T = TypeVar("T")

MessageKind = Literal["edoc", "status"]

DeliveryState = Literal["pending", "fetched", "done", "fail", "dead", "withdrawn", "cancelled"]
DELIVERY_STATES: Final[tuple[DeliveryState, ...]] = (
    "pending",
    "fetched",
    "done",
    "fail",
    "dead",
    "withdrawn",
    "cancelled",
)
#: States a recipient still finds in its inbox.
OPEN_STATES: Final[frozenset[str]] = frozenset({"pending", "fetched"})
#: States an admin sees as dead letters (retry puts them back to pending, cancel ends them).
DEAD_STATES: Final[frozenset[str]] = frozenset({"fail", "dead"})

Role = Literal["agency", "admin", "auditor"]
ROLES: Final[tuple[Role, ...]] = ("agency", "admin", "auditor")

AckOutcome = Literal["done", "fail"]


def new_message_id(at: dt.datetime | None = None) -> str:
    """A time-sortable, unguessable message id: 12 hex digits of milliseconds + 20 random hex.

    Sortable so that ids listed in order read in receipt order; random enough (80 bits) that a
    system cannot guess another's message ids (reads are authorised anyway).
    """
    return _message_id(at, os.urandom(_ID_RANDOM_BYTES))


_ID_RANDOM_BYTES: Final = 10


def _message_id(at: dt.datetime | None, random: bytes) -> str:
    millis = int((at.timestamp() if at is not None else time.time()) * 1000)
    return f"{millis:012x}{random.hex()}"


class MessageIds:
    """:func:`new_message_id` with its randomness drawn from the OS 4,000 bytes at a time.

    The serving process makes one id per accepted document on its event loop, and each
    ``os.urandom`` there is a system call after which the loop must win the GIL back from the
    store's threads; one call per 400 ids instead. A process that forked draws afresh, so two
    processes never hand out the same bytes. One per app (never module state).
    """

    _DRAW: Final = 400 * _ID_RANDOM_BYTES

    def __init__(self) -> None:
        self._pool = b""
        self._next = 0
        self._pid = 0

    def new(self, at: dt.datetime | None = None) -> str:
        """A new id (the same form and randomness as :func:`new_message_id`)."""
        if self._next + _ID_RANDOM_BYTES > len(self._pool) or self._pid != os.getpid():
            self._pool, self._next, self._pid = os.urandom(self._DRAW), 0, os.getpid()
        random = self._pool[self._next : self._next + _ID_RANDOM_BYTES]
        self._next += _ID_RANDOM_BYTES
        return _message_id(at, random)


@dataclass(frozen=True, slots=True)
class Recipient:
    """One recipient of an accepted message: what the sender wrote and where it goes.

    ``resolution`` holds the registry's facts (status, hops with their decisions) as JSON-ready
    data, so the trace can show "H63 -> H38 from 2025-07-01, QĐ 09/2025" without the registry.
    """

    requested: str
    code: str
    resolution: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditDraft:
    """An audit event before the store gives it its sequence number and chain hash."""

    kind: str
    at: dt.datetime
    message_id: str | None = None
    document_id: str | None = None
    system_id: str | None = None
    address: str | None = None
    codes: tuple[str, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One link of the audit chain: ``hash`` = SHA-256 over ``prev_hash`` and the canonical
    JSON of the other fields (:func:`axis.audit.event_hash`)."""

    seq: int
    kind: str
    at: dt.datetime
    message_id: str | None
    document_id: str | None
    system_id: str | None
    address: str | None
    codes: tuple[str, ...]
    data: Mapping[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A package that passed the intake, ready for ONE atomic accept.

    ``idempotency_key`` makes a resend a no-op: the store returns the first message's id.
    ``refers_to`` is the earlier DocumentId a revoke/update/replace names (edoc), or the answered
    DocumentId (status). ``revokes``: withdraw the sender's undelivered copies of ``refers_to``
    and deliver this revoke only to recipients that already fetched theirs (or had none).
    ``status_for``: (original sender code, DocumentId) whose business status history this status
    package extends, for the recipient ``sender_code``.
    """

    message_id: str
    kind: MessageKind
    idempotency_key: str
    sender_system: str
    sender_code: str
    document_id: str
    business_type: int
    received_at: dt.datetime
    payload: bytes
    recipients: tuple[Recipient, ...]
    subject: str | None = None
    status_code: str | None = None
    refers_to: str | None = None
    revokes: bool = False
    status_for: tuple[str, str] | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    audit: tuple[AuditDraft, ...] = ()


@dataclass(frozen=True, slots=True)
class Delivery:
    """One copy of one message for one recipient code."""

    seq: int  # the inbox cursor: increases with every delivery made available
    message_id: str
    code: str
    requested: str
    state: DeliveryState
    attempts: int
    updated_at: dt.datetime
    reason: str | None = None
    #: The recipient's registry facts as the sender's request was resolved (``Recipient``).
    resolution: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def cursor(self) -> str:
        """The inbox cursor that continues after this delivery (``inbox(after=...)``)."""
        return str(self.seq)


@dataclass(frozen=True, slots=True)
class AcceptOutcome:
    """What ``accept`` did: the message id (the first one's on a duplicate) and the deliveries.

    ``withdrawn``: codes whose undelivered copy of the revoked document was withdrawn (and that
    get no revoke, having never seen the original).
    """

    message_id: str
    duplicate: bool
    deliveries: tuple[Delivery, ...]
    withdrawn: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MessageInfo:
    """A stored message's metadata (everything but the payload)."""

    message_id: str
    kind: MessageKind
    sender_system: str
    sender_code: str
    document_id: str
    business_type: int
    received_at: dt.datetime
    size: int
    subject: str | None
    status_code: str | None
    refers_to: str | None
    meta: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class InboxItem:
    """One inbox entry: a delivery with its message's metadata."""

    delivery: Delivery
    message: MessageInfo


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """One business status (01..16) a recipient reported for a message."""

    message_id: str
    code: str
    status_code: str
    at: dt.datetime
    status_message_id: str


@dataclass(frozen=True, slots=True)
class SentItem:
    """One sent message with each recipient's delivery and the latest business status."""

    message: MessageInfo
    deliveries: tuple[Delivery, ...]
    statuses: Mapping[str, StatusEntry]  # recipient code -> latest status


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """A page of a cursor-paged listing; ``cursor`` is None when nothing follows."""

    items: tuple[T, ...]
    cursor: str | None


@dataclass(frozen=True, slots=True)
class SystemRecord:
    """A connected system: who it is, how it proves it, what it may act for.

    ``secret_hash`` is a self-describing hash string (never the secret); ``cert_sha256`` the
    hex SHA-256 of a client certificate's DER. ``codes`` are the agency codes it acts for (and,
    unless ``exact_codes``, their children).
    """

    system_id: str
    role: Role
    codes: tuple[str, ...]
    secret_hash: str | None
    cert_sha256: str | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None
    exact_codes: bool = False

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which audit events a query wants; every field narrows, None means any."""

    message_id: str | None = None
    document_id: str | None = None
    code: str | None = None
    system_id: str | None = None
    kind: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ChainVerdict:
    """The audit chain's check: intact, or the first broken record and why."""

    ok: bool
    checked: int
    first_broken: int | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class PurgeOutcome:
    """What a retention pass removed."""

    messages: int
    audit_events: int
