"""Deliveries in SQLite: the inbox, the fetch/ack life cycle, leases, dead letters and moves.

A delivery's ``seq`` is the inbox cursor. Whenever a delivery is made available again (a lease
expired, an admin retried it, a succession moved it to another code) it is re-inserted under a
NEW seq, so a recipient whose cursor is already past the old one still finds it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
from collections.abc import Sequence
from typing import Any, Final

from axis.store.records import (
    AckOutcome,
    AuditDraft,
    Delivery,
)
from axis.store.sqlite_audit import WriteSession, filled
from axis.store.sqlite_schema import (
    DELIVERY_COLUMNS,
    delivery_from_row,
    placeholders,
    to_db_time,
)

_OPEN: Final = "('pending', 'fetched')"
_DEAD: Final = "('fail', 'dead')"


def _select(
    conn: sqlite3.Connection, where: str, args: Sequence[Any], limit: int = -1
) -> tuple[Delivery, ...]:
    rows = conn.execute(
        f"SELECT {DELIVERY_COLUMNS} FROM deliveries d WHERE {where} ORDER BY d.seq LIMIT ?",  # noqa: S608
        (*args, limit),
    ).fetchall()
    return tuple(delivery_from_row(r) for r in rows)


def _to_codes(
    conn: sqlite3.Connection, message_id: str, codes: Sequence[str]
) -> tuple[Delivery, ...]:
    if not codes:
        return ()
    return _select(
        conn,
        f"d.message_id = ? AND d.code IN ({placeholders(len(codes))})",
        (message_id, *codes),
    )


def _document_id(conn: sqlite3.Connection, message_id: str) -> str | None:
    row = conn.execute("SELECT document_id FROM messages WHERE id = ?", (message_id,)).fetchone()
    return None if row is None else str(row[0])


def _about(
    conn: sqlite3.Connection, audit: AuditDraft, message_id: str, codes: Sequence[str]
) -> AuditDraft:
    """``audit`` with the message, its DocumentId and the codes where it left them empty; the
    DocumentId is read only then (a fetch or an ack knows it already: one query less)."""
    document_id = audit.document_id or _document_id(conn, message_id)
    return filled(audit, message_id=message_id, document_id=document_id, codes=tuple(codes))


def _renumber(
    conn: sqlite3.Connection,
    seq: int,
    at: dt.datetime,
    *,
    code: str | None = None,
    attempts: int | None = None,
) -> Delivery:
    """Make a delivery pending again under a new seq (a new inbox cursor)."""
    old = conn.execute(
        "DELETE FROM deliveries WHERE seq = ?"
        " RETURNING message_id, code, requested, attempts, resolution",
        (seq,),
    ).fetchone()
    message_id, old_code, requested, old_attempts, resolution = old
    new_code = old_code if code is None else code
    count = old_attempts if attempts is None else attempts
    stamp = to_db_time(at)
    (new_seq,) = conn.execute(
        "INSERT INTO deliveries (message_id, code, requested, state, attempts, updated_at,"
        " resolution) VALUES (?, ?, ?, 'pending', ?, ?, ?) RETURNING seq",
        (message_id, new_code, requested, count, stamp, resolution),
    ).fetchone()
    return Delivery(
        new_seq,
        message_id,
        new_code,
        requested,
        "pending",
        count,
        at.astimezone(dt.UTC),
        resolution=json.loads(resolution),
    )


def mark_fetched(
    conn: sqlite3.Connection,
    session: WriteSession,
    message_id: str,
    codes: Sequence[str],
    at: dt.datetime,
    audit: AuditDraft,
) -> tuple[Delivery, ...]:
    """pending -> fetched (attempts + 1, the lease starts); the read is audited every time."""
    if codes:
        stamp = to_db_time(at)
        conn.execute(
            "UPDATE deliveries SET state = 'fetched', attempts = attempts + 1, fetched_at = ?,"  # noqa: S608
            f" updated_at = ? WHERE message_id = ? AND code IN ({placeholders(len(codes))})"
            " AND state = 'pending'",
            (stamp, stamp, message_id, *codes),
        )
    session.append(conn, _about(conn, audit, message_id, codes))
    return _to_codes(conn, message_id, codes)


def ack(
    conn: sqlite3.Connection,
    session: WriteSession,
    message_id: str,
    codes: Sequence[str],
    outcome: AckOutcome,
    reason: str | None,
    at: dt.datetime,
    audit: AuditDraft,
) -> tuple[Delivery, ...]:
    """pending|fetched -> done|fail; a repeated ack finds nothing open and appends nothing."""
    if not codes:
        return ()
    changed = conn.execute(
        f"UPDATE deliveries SET state = ?, reason = ?, updated_at = ? WHERE message_id = ?"  # noqa: S608
        f" AND code IN ({placeholders(len(codes))}) AND state IN {_OPEN}",
        (outcome, reason, to_db_time(at), message_id, *codes),
    ).rowcount
    if changed:
        session.append(conn, _about(conn, audit, message_id, codes))
    return _to_codes(conn, message_id, codes)


def requeue_expired(
    conn: sqlite3.Connection,
    session: WriteSession,
    fetched_before: dt.datetime,
    max_attempts: int,
    at: dt.datetime,
) -> tuple[Delivery, ...]:
    """Expired leases: back to pending under a new seq, or dead after ``max_attempts``."""
    rows = conn.execute(
        "SELECT seq, message_id, code, attempts FROM deliveries"
        " WHERE state = 'fetched' AND fetched_at < ? ORDER BY seq",
        (to_db_time(fetched_before),),
    ).fetchall()
    changed: list[Delivery] = []
    stamp = to_db_time(at)
    for seq, message_id, code, attempts in rows:
        if attempts >= max_attempts:
            reason = f"not acknowledged after {attempts} attempts"
            conn.execute(
                "UPDATE deliveries SET state = 'dead', reason = ?, updated_at = ? WHERE seq = ?",
                (reason, stamp, seq),
            )
            changed.extend(_select(conn, "d.seq = ?", (seq,)))
            kind = "dead"
        else:
            changed.append(_renumber(conn, seq, at))
            session.new_codes.add(code)
            kind = "requeued"
        session.append(
            conn,
            AuditDraft(
                kind,
                at,
                message_id=message_id,
                document_id=_document_id(conn, message_id),
                codes=(code,),
                data={"attempts": attempts, "max_attempts": max_attempts},
            ),
        )
    return tuple(changed)


def retry_delivery(
    conn: sqlite3.Connection,
    session: WriteSession,
    message_id: str,
    code: str,
    at: dt.datetime,
    audit: AuditDraft,
) -> Delivery | None:
    """A dead letter back to pending under a new seq, with a fresh count of attempts."""
    row = conn.execute(
        f"SELECT seq FROM deliveries WHERE message_id = ? AND code = ? AND state IN {_DEAD}",  # noqa: S608
        (message_id, code),
    ).fetchone()
    if row is None:
        return None
    delivery = _renumber(conn, int(row[0]), at, attempts=0)
    session.new_codes.add(code)
    session.append(conn, _about(conn, audit, message_id, (code,)))
    return delivery


def cancel_delivery(
    conn: sqlite3.Connection,
    session: WriteSession,
    message_id: str,
    code: str,
    at: dt.datetime,
    audit: AuditDraft,
) -> Delivery | None:
    """A dead letter or pending copy ended for good (state ``cancelled``)."""
    row = conn.execute(
        "UPDATE deliveries SET state = 'cancelled', updated_at = ? WHERE message_id = ?"
        " AND code = ? AND state IN ('pending', 'fail', 'dead') RETURNING seq",
        (to_db_time(at), message_id, code),
    ).fetchone()
    if row is None:
        return None
    session.append(conn, _about(conn, audit, message_id, (code,)))
    return _select(conn, "d.seq = ?", (row[0],))[0]


def move_pending(
    conn: sqlite3.Connection,
    session: WriteSession,
    from_code: str,
    to_code: str,
    at: dt.datetime,
    move_key: str,
    audit: AuditDraft,
) -> tuple[Delivery, ...]:
    """Pending deliveries of ``from_code`` to ``to_code`` (new seq, ``requested`` kept).

    A message that already has a delivery to ``to_code`` keeps that one (the moved copy is
    merged into it, audited with ``merged``). Repeating a ``move_key`` moves nothing and returns
    the deliveries that key moved.
    """
    known = conn.execute("SELECT moved FROM moves WHERE move_key = ?", (move_key,)).fetchone()
    if known is not None:
        ids = json.loads(known[0])
        return tuple(d for mid in ids for d in _to_codes(conn, mid, (to_code,)))
    rows = conn.execute(
        "SELECT seq, message_id FROM deliveries WHERE code = ? AND state = 'pending' ORDER BY seq",
        (from_code,),
    ).fetchall()
    moved: list[Delivery] = []
    for seq, message_id in rows:
        existing = _to_codes(conn, message_id, (to_code,))
        if existing:
            conn.execute("DELETE FROM deliveries WHERE seq = ?", (seq,))
            delivery = existing[0]
        else:
            delivery = _renumber(conn, seq, at, code=to_code)
        moved.append(delivery)
        data = {**audit.data, "from_code": from_code, "to_code": to_code, "move_key": move_key}
        if existing:
            data["merged"] = True
        draft = dataclasses.replace(
            audit,
            message_id=message_id,
            document_id=audit.document_id or _document_id(conn, message_id),
            codes=audit.codes or (from_code, to_code),
            data=data,
        )
        session.append(conn, draft)
    if moved:
        session.new_codes.add(to_code)
    conn.execute(
        "INSERT INTO moves (move_key, at, moved) VALUES (?, ?, ?)",
        (move_key, to_db_time(at), json.dumps([d.message_id for d in moved])),
    )
    return tuple(moved)


def set_drain(
    conn: sqlite3.Connection,
    session: WriteSession,
    code: str,
    drain: bool,
    at: dt.datetime,
    audit: AuditDraft,
) -> None:
    """Record (or lift) an admin's choice to let a closed code drain its own deliveries."""
    if drain:
        conn.execute(
            "INSERT OR REPLACE INTO drains (code, at) VALUES (?, ?)", (code, to_db_time(at))
        )
    else:
        conn.execute("DELETE FROM drains WHERE code = ?", (code,))
    draft = filled(audit, codes=(code,))
    session.append(conn, dataclasses.replace(draft, data={**draft.data, "drain": drain}))
