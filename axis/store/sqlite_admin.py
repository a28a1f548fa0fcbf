"""Connected systems and retention in SQLite: the administrator's side of the store.

Both change who may do what or what is kept, so both append their audit event in the same
transaction as the change.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Mapping
from typing import Any, Final

from axis.store.records import AuditDraft, PurgeOutcome, SystemRecord
from axis.store.sqlite_audit import WriteSession, filled
from axis.store.sqlite_schema import (
    SYSTEM_COLUMNS,
    system_from_row,
    system_to_row,
    to_db_time,
)

_OLD_MESSAGES: Final = "SELECT id FROM messages WHERE received_at < ?"


def put_system(
    conn: sqlite3.Connection, session: WriteSession, system: SystemRecord, audit: AuditDraft
) -> None:
    """Create or replace a system (a revocation is a replace with ``revoked_at`` set)."""
    conn.execute(
        f"INSERT OR REPLACE INTO systems ({SYSTEM_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
        system_to_row(system),
    )
    session.append(conn, filled(audit, system_id=system.system_id, codes=system.codes))


def put_entry(
    conn: sqlite3.Connection,
    session: WriteSession,
    kind: str,
    key: str,
    body: Mapping[str, Any] | None,
    audit: AuditDraft,
) -> None:
    """Create, replace or (``body`` None) remove one admin entry, with its audit event."""
    if body is None:
        conn.execute("DELETE FROM entries WHERE kind = ? AND key = ?", (kind, key))
    else:
        conn.execute(
            "INSERT OR REPLACE INTO entries (kind, key, body) VALUES (?, ?, ?)",
            (kind, key, json.dumps(body, ensure_ascii=False, sort_keys=True)),
        )
    session.append(conn, audit)


def purge(
    conn: sqlite3.Connection, session: WriteSession, before: dt.datetime, at: dt.datetime
) -> PurgeOutcome:
    """Remove what is older than ``before``, keeping the audit chain a contiguous suffix.

    Audit events are removed by seq up to the first event at or after ``before``, never one
    from the middle, so the kept chain still verifies from its oldest event; the purge event
    records where the kept chain now starts and the hash it is anchored on.
    """
    cutoff = to_db_time(before)
    (still_open,) = conn.execute(
        f"SELECT COUNT(*) FROM deliveries WHERE message_id IN ({_OLD_MESSAGES})"  # noqa: S608
        " AND state IN ('pending', 'fetched')",
        (cutoff,),
    ).fetchone()
    conn.execute(
        "DELETE FROM payloads WHERE n IN (SELECT n FROM messages WHERE received_at < ?)",
        (cutoff,),
    )
    conn.execute(f"DELETE FROM deliveries WHERE message_id IN ({_OLD_MESSAGES})", (cutoff,))  # noqa: S608
    conn.execute(f"DELETE FROM statuses WHERE message_id IN ({_OLD_MESSAGES})", (cutoff,))  # noqa: S608
    messages = conn.execute("DELETE FROM messages WHERE received_at < ?", (cutoff,)).rowcount
    row = conn.execute("SELECT MIN(seq) FROM audit WHERE at >= ?", (cutoff,)).fetchone()
    keep_from = session.chain.seq + 1 if row[0] is None else int(row[0])
    events = conn.execute("DELETE FROM audit WHERE seq < ?", (keep_from,)).rowcount
    conn.execute("DELETE FROM audit_codes WHERE seq < ?", (keep_from,))
    anchor = conn.execute("SELECT prev_hash FROM audit WHERE seq = ?", (keep_from,)).fetchone()
    session.append(
        conn,
        AuditDraft(
            "purge",
            at,
            data={
                "before": to_db_time(before),
                "messages": messages,
                "audit_events": events,
                "open_deliveries": still_open,  # never dropped silently: the count is on record
                "oldest_kept_seq": keep_from,
                "oldest_kept_prev_hash": session.chain.hash if anchor is None else anchor[0],
            },
        ),
    )
    return PurgeOutcome(messages=messages, audit_events=events)


# --- reads -----------------------------------------------------------------------------------


def system(conn: sqlite3.Connection, system_id: str) -> SystemRecord | None:
    row = conn.execute(
        f"SELECT {SYSTEM_COLUMNS} FROM systems WHERE system_id = ?",  # noqa: S608
        (system_id,),
    ).fetchone()
    return None if row is None else system_from_row(row)


def system_by_cert(conn: sqlite3.Connection, cert_sha256: str) -> SystemRecord | None:
    row = conn.execute(
        f"SELECT {SYSTEM_COLUMNS} FROM systems WHERE cert_sha256 = ?"  # noqa: S608
        " AND revoked_at IS NULL ORDER BY system_id LIMIT 1",
        (cert_sha256,),
    ).fetchone()
    return None if row is None else system_from_row(row)


def systems(conn: sqlite3.Connection) -> tuple[SystemRecord, ...]:
    rows = conn.execute(f"SELECT {SYSTEM_COLUMNS} FROM systems ORDER BY system_id")  # noqa: S608
    return tuple(system_from_row(r) for r in rows)


def entries(conn: sqlite3.Connection, kind: str) -> dict[str, dict[str, Any]]:
    rows = conn.execute("SELECT key, body FROM entries WHERE kind = ? ORDER BY key", (kind,))
    return {key: json.loads(body) for key, body in rows}
