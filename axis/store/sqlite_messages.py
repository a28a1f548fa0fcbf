"""Messages in SQLite: the atomic accept (with revoke withdrawals and status history) and the
reads of messages, payloads, statuses and a sender's sent list.

Write functions run in the writer thread inside the batch transaction (each op under its own
savepoint); read functions run in a reader thread inside one read transaction.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Sequence
from typing import Any, Final

from axis.store.errors import StoreError
from axis.store.records import (
    AcceptOutcome,
    AuditDraft,
    Delivery,
    MessageInfo,
    MessageKind,
    NewMessage,
    Page,
    Recipient,
    SentItem,
    StatusEntry,
)
from axis.store.sqlite_audit import WriteSession, filled
from axis.store.sqlite_schema import (
    DELIVERY_COLUMNS,
    MESSAGE_COLUMNS,
    STATUS_COLUMNS,
    delivery_from_row,
    dumps,
    message_from_row,
    parse_cursor,
    placeholders,
    status_from_row,
    to_db_time,
)

_INSERT_MESSAGE: Final = (
    "INSERT INTO messages (id, kind, idem_key, sender_system, sender_code, document_id,"
    " business_type, received_at, subject, status_code, refers_to, meta, size)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING n"
)
_INSERT_DELIVERY: Final = (
    "INSERT INTO deliveries (message_id, code, requested, state, attempts, updated_at,"
    " resolution) VALUES (?, ?, ?, 'pending', 0, ?, ?) RETURNING seq"
)
#: Delivery states in which the recipient has (or may have) read the original: it gets the revoke.
_SEEN: Final = frozenset({"fetched", "done", "fail", "dead"})
#: Status codes that answer a revoke/update/replace (business types 1..3) rather than the original.
_ANSWER_CODES: Final = frozenset({"15", "16"})


def deliveries_of(conn: sqlite3.Connection, message_id: str) -> tuple[Delivery, ...]:
    rows = conn.execute(
        f"SELECT {DELIVERY_COLUMNS} FROM deliveries d WHERE d.message_id = ? ORDER BY d.seq",  # noqa: S608
        (message_id,),
    ).fetchall()
    return tuple(delivery_from_row(r) for r in rows)


def accept(conn: sqlite3.Connection, session: WriteSession, msg: NewMessage) -> AcceptOutcome:
    """Store ``msg`` with its deliveries, withdrawals, status entry and audit events."""
    known = conn.execute(
        "SELECT id FROM messages WHERE idem_key = ?", (msg.idempotency_key,)
    ).fetchone()
    if known is not None:
        return AcceptOutcome(known[0], True, deliveries_of(conn, known[0]))
    received = to_db_time(msg.received_at)
    try:
        (n,) = conn.execute(
            _INSERT_MESSAGE,
            (
                msg.message_id,
                msg.kind,
                msg.idempotency_key,
                msg.sender_system,
                msg.sender_code,
                msg.document_id,
                msg.business_type,
                received,
                msg.subject,
                msg.status_code,
                msg.refers_to,
                dumps(dict(msg.meta)),
                len(msg.payload),
            ),
        ).fetchone()
    except sqlite3.IntegrityError as exc:  # the key was checked above: the id is taken
        raise StoreError(
            "store.conflict", f"message id {msg.message_id} is already used", "message_id"
        ) from exc
    conn.execute("INSERT INTO payloads (n, body) VALUES (?, ?)", (n, msg.payload))
    recipients: dict[str, Recipient] = {}
    for recipient in msg.recipients:  # the first request per code wins
        recipients.setdefault(recipient.code, recipient)
    skip: set[str] = set()
    withdrawn: list[str] = []
    if msg.revokes and msg.refers_to:
        skip, withdrawn = _withdraw(conn, session, msg, list(recipients))
    deliveries = []
    for code, recipient in recipients.items():
        if code in skip:
            continue
        (seq,) = conn.execute(
            _INSERT_DELIVERY,
            (
                msg.message_id,
                code,
                recipient.requested,
                received,
                dumps(dict(recipient.resolution)),
            ),
        ).fetchone()
        deliveries.append(
            Delivery(
                seq,
                msg.message_id,
                code,
                recipient.requested,
                "pending",
                0,
                msg.received_at,
                resolution=recipient.resolution,
            )
        )
        session.new_codes.add(code)
    status_of: dict[str, Any] = {}
    if msg.status_for is not None and msg.status_code is not None:
        original = _record_status(conn, msg)
        status_of = {"status_of": original}
    drafts = msg.audit
    if not drafts and status_of:  # the history's gap must be on record even without drafts
        drafts = (AuditDraft("status.recorded", msg.received_at, system_id=msg.sender_system),)
    for index, draft in enumerate(drafts):
        draft = filled(draft, message_id=msg.message_id, document_id=msg.document_id)
        if index == 0 and status_of:  # which original's history it joined (None: none found)
            draft = dataclasses.replace(draft, data={**draft.data, **status_of})
        session.append(conn, draft)
    if status_of.get("status_of"):
        # the answer belongs to the ORIGINAL's story too: its trace shows who answered what
        session.append(
            conn,
            AuditDraft(
                "status",
                msg.received_at,
                message_id=status_of["status_of"],
                document_id=msg.document_id,
                system_id=msg.sender_system,
                codes=(msg.sender_code,),
                data={"status_code": msg.status_code, "status_message_id": msg.message_id},
            ),
        )
    return AcceptOutcome(msg.message_id, False, tuple(deliveries), tuple(withdrawn))


def _withdraw(
    conn: sqlite3.Connection, session: WriteSession, msg: NewMessage, codes: list[str]
) -> tuple[set[str], list[str]]:
    """Withdraw pending copies of the revoked document; return (codes to skip, withdrawn)."""
    rows = conn.execute(
        f"SELECT d.seq, d.message_id, d.code, d.state FROM deliveries d JOIN messages m"  # noqa: S608
        f" ON m.id = d.message_id WHERE m.sender_code = ? AND m.document_id = ?"
        f" AND m.kind = 'edoc' AND m.id != ? AND d.code IN ({placeholders(len(codes))})"
        " ORDER BY d.seq",
        (msg.sender_code, msg.refers_to, msg.message_id, *codes),
    ).fetchall()
    seen = {code for _, _, code, state in rows if state in _SEEN}
    had = {code for _, _, code, _ in rows}
    withdrawn: list[str] = []
    at = to_db_time(msg.received_at)
    for seq, message_id, code, state in rows:
        if state != "pending":
            continue
        conn.execute(
            "UPDATE deliveries SET state = 'withdrawn', updated_at = ?, reason = ? WHERE seq = ?",
            (at, f"revoked by {msg.message_id}", seq),
        )
        session.append(
            conn,
            AuditDraft(
                "withdrawn",
                msg.received_at,
                message_id=message_id,
                document_id=msg.refers_to,
                system_id=msg.sender_system,
                codes=(code,),
                data={"revoke_message_id": msg.message_id},
            ),
        )
        if code not in withdrawn:
            withdrawn.append(code)
    skip = had - seen
    return skip, [code for code in withdrawn if code in skip]


def _record_status(conn: sqlite3.Connection, msg: NewMessage) -> str | None:
    """Append the status to the answered original's history; the original's id or None."""
    assert msg.status_for is not None
    assert msg.status_code is not None
    original_sender, document_id = msg.status_for
    rows = conn.execute(
        "SELECT m.id, m.business_type FROM messages m WHERE m.sender_code = ?"
        " AND m.document_id = ? AND m.kind = 'edoc' AND EXISTS (SELECT 1 FROM deliveries d"
        " WHERE d.message_id = m.id AND (d.code = ? OR d.requested = ?)) ORDER BY m.n DESC",
        (original_sender, document_id, msg.sender_code, msg.sender_code),
    ).fetchall()
    if not rows:
        return None
    chosen = rows[0][0]
    if msg.status_code in _ANSWER_CODES:
        chosen = next((mid for mid, btype in rows if btype in (1, 2, 3)), chosen)
    conn.execute(
        "INSERT INTO statuses (message_id, code, status_code, at, status_message_id)"
        " VALUES (?, ?, ?, ?, ?)",
        (chosen, msg.sender_code, msg.status_code, to_db_time(msg.received_at), msg.message_id),
    )
    return str(chosen)


# --- reads -----------------------------------------------------------------------------------


def message(conn: sqlite3.Connection, message_id: str) -> MessageInfo | None:
    row = conn.execute(
        f"SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.id = ?",  # noqa: S608
        (message_id,),
    ).fetchone()
    return None if row is None else message_from_row(row)


def payload(conn: sqlite3.Connection, message_id: str) -> bytes | None:
    row = conn.execute(
        "SELECT p.body FROM messages m JOIN payloads p ON p.n = m.n WHERE m.id = ?",
        (message_id,),
    ).fetchone()
    return None if row is None else bytes(row[0])


def find_messages(
    conn: sqlite3.Connection, sender_code: str, document_id: str, kind: MessageKind
) -> tuple[MessageInfo, ...]:
    """A sender's edocs with ``document_id``; for statuses, also those answering it."""
    extra = " OR m.refers_to = ?" if kind == "status" else ""
    args: tuple[str, ...] = (sender_code, kind, document_id)
    if extra:
        args = (*args, document_id)
    rows = conn.execute(
        f"SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.sender_code = ? AND m.kind = ?"  # noqa: S608
        f" AND (m.document_id = ?{extra}) ORDER BY m.n",
        args,
    ).fetchall()
    return tuple(message_from_row(r) for r in rows)


def statuses(conn: sqlite3.Connection, message_id: str) -> tuple[StatusEntry, ...]:
    rows = conn.execute(
        f"SELECT {STATUS_COLUMNS} FROM statuses WHERE message_id = ? ORDER BY id",  # noqa: S608
        (message_id,),
    ).fetchall()
    return tuple(status_from_row(r) for r in rows)


def sent(
    conn: sqlite3.Connection,
    sender_codes: Sequence[str],
    after: str | None,
    kind: MessageKind | None,
    limit: int,
) -> Page[SentItem]:
    """A sender's messages, newest first (the cursor is a message row number)."""
    if not sender_codes:
        return Page((), None)
    start = parse_cursor(after)
    where = [f"m.sender_code IN ({placeholders(len(sender_codes))})"]
    args: list[Any] = list(sender_codes)
    if start:
        where.append("m.n < ?")
        args.append(start)
    if kind is not None:
        where.append("m.kind = ?")
        args.append(kind)
    rows = conn.execute(
        f"SELECT m.n, {MESSAGE_COLUMNS} FROM messages m WHERE {' AND '.join(where)}"  # noqa: S608
        " ORDER BY m.n DESC LIMIT ?",
        (*args, limit + 1),
    ).fetchall()
    page = rows[:limit]
    items = []
    for row in page:
        info = message_from_row(row[1:])
        latest: dict[str, StatusEntry] = {}
        for entry in statuses(conn, info.message_id):
            latest[entry.code] = entry
        items.append(SentItem(info, deliveries_of(conn, info.message_id), latest))
    cursor = str(page[-1][0]) if len(rows) > limit and page else None
    return Page(tuple(items), cursor)
