"""The SQLite store's schema and the translation between rows and records.

One file per deployment. Times are stored as fixed-width UTC ISO-8601 text (always with
microseconds), so that text order is time order and range filters can use plain comparisons.
JSON columns hold mappings (message meta, recipient resolution, audit data) as UTF-8 text.
The registry's tables (``meta``, ``versions``, ``agencies``, ``successions``) are those of
:mod:`registry.sql`, so a registry file and the store read the same way.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Any, Final, cast

from axis.store.codec import dumps as dumps  # re-exported: the backend's modules read it here
from axis.store.codec import from_utc_text, utc_text
from axis.store.codec import parse_cursor as parse_cursor
from axis.store.records import (
    Delivery,
    DeliveryState,
    MessageInfo,
    MessageKind,
    Role,
    StatusEntry,
    SystemRecord,
)
from registry.sql import SCHEMA as REGISTRY_SCHEMA

STORE_SCHEMA_VERSION: Final = "1"

SCHEMA: Final = (
    REGISTRY_SCHEMA
    + """
CREATE TABLE IF NOT EXISTS messages (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    idem_key TEXT NOT NULL UNIQUE,
    sender_system TEXT NOT NULL,
    sender_code TEXT NOT NULL,
    document_id TEXT NOT NULL,
    business_type INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    subject TEXT,
    status_code TEXT,
    refers_to TEXT,
    meta TEXT NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_document ON messages (sender_code, document_id);
CREATE INDEX IF NOT EXISTS messages_refers ON messages (sender_code, refers_to);
CREATE INDEX IF NOT EXISTS messages_received ON messages (received_at);
CREATE TABLE IF NOT EXISTS payloads (n INTEGER PRIMARY KEY, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL,
    code TEXT NOT NULL,
    requested TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    fetched_at TEXT,
    reason TEXT,
    resolution TEXT NOT NULL DEFAULT '{}',
    UNIQUE (message_id, code)
);
CREATE INDEX IF NOT EXISTS deliveries_inbox ON deliveries (code, state, seq);
CREATE INDEX IF NOT EXISTS deliveries_state ON deliveries (state, seq);
CREATE TABLE IF NOT EXISTS statuses (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL,
    code TEXT NOT NULL,
    status_code TEXT NOT NULL,
    at TEXT NOT NULL,
    status_message_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS statuses_message ON statuses (message_id, id);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    message_id TEXT,
    document_id TEXT,
    system_id TEXT,
    address TEXT,
    codes TEXT NOT NULL,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_message ON audit (message_id);
CREATE INDEX IF NOT EXISTS audit_document ON audit (document_id);
CREATE INDEX IF NOT EXISTS audit_system ON audit (system_id);
CREATE TABLE IF NOT EXISTS audit_codes (
    code TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (code, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS systems (
    system_id TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    codes TEXT NOT NULL,
    secret_hash TEXT,
    cert_sha256 TEXT,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    exact_codes INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS systems_cert ON systems (cert_sha256);
CREATE TABLE IF NOT EXISTS drains (code TEXT PRIMARY KEY, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS moves (move_key TEXT PRIMARY KEY, at TEXT NOT NULL, moved TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
"""
)


to_db_time = utc_text  # this backend's name for the shared spelling (axis.store.codec)
from_db_time = from_utc_text


def opt_time(text: str | None) -> dt.datetime | None:
    return None if text is None else from_db_time(text)


def placeholders(count: int) -> str:
    """``?, ?, ?`` for an ``IN (...)`` list."""
    return ", ".join("?" * count)


MESSAGE_COLUMNS: Final = (
    "m.id, m.kind, m.sender_system, m.sender_code, m.document_id, m.business_type,"
    " m.received_at, m.size, m.subject, m.status_code, m.refers_to, m.meta"
)
DELIVERY_COLUMNS: Final = (
    "d.seq, d.message_id, d.code, d.requested, d.state, d.attempts, d.updated_at, d.reason,"
    " d.resolution"
)
SYSTEM_COLUMNS: Final = (
    "system_id, role, codes, secret_hash, cert_sha256, created_at, revoked_at, exact_codes"
)
STATUS_COLUMNS: Final = "message_id, code, status_code, at, status_message_id"


def message_from_row(row: sqlite3.Row | tuple[Any, ...]) -> MessageInfo:
    """A row of :data:`MESSAGE_COLUMNS` as a record."""
    return MessageInfo(
        message_id=row[0],
        kind=cast(MessageKind, row[1]),
        sender_system=row[2],
        sender_code=row[3],
        document_id=row[4],
        business_type=int(row[5]),
        received_at=from_db_time(row[6]),
        size=int(row[7]),
        subject=row[8],
        status_code=row[9],
        refers_to=row[10],
        meta=json.loads(row[11]),
    )


def delivery_from_row(row: sqlite3.Row | tuple[Any, ...]) -> Delivery:
    """A row of :data:`DELIVERY_COLUMNS` as a record."""
    return Delivery(
        seq=int(row[0]),
        message_id=row[1],
        code=row[2],
        requested=row[3],
        state=cast(DeliveryState, row[4]),
        attempts=int(row[5]),
        updated_at=from_db_time(row[6]),
        reason=row[7],
        resolution=json.loads(row[8]),
    )


def status_from_row(row: sqlite3.Row | tuple[Any, ...]) -> StatusEntry:
    """A row of :data:`STATUS_COLUMNS` as a record."""
    return StatusEntry(
        message_id=row[0],
        code=row[1],
        status_code=row[2],
        at=from_db_time(row[3]),
        status_message_id=row[4],
    )


def system_from_row(row: sqlite3.Row | tuple[Any, ...]) -> SystemRecord:
    """A row of :data:`SYSTEM_COLUMNS` as a record."""
    return SystemRecord(
        system_id=row[0],
        role=cast(Role, row[1]),
        codes=tuple(json.loads(row[2])),
        secret_hash=row[3],
        cert_sha256=row[4],
        created_at=from_db_time(row[5]),
        revoked_at=opt_time(row[6]),
        exact_codes=bool(row[7]),
    )


def system_to_row(system: SystemRecord) -> tuple[Any, ...]:
    """The column values of :data:`SYSTEM_COLUMNS` for a record."""
    return (
        system.system_id,
        system.role,
        dumps(list(system.codes)),
        system.secret_hash,
        system.cert_sha256,
        to_db_time(system.created_at),
        None if system.revoked_at is None else to_db_time(system.revoked_at),
        int(system.exact_codes),
    )
