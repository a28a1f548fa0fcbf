"""The audit log in SQLite: appending links to the chain (writer) and querying it (readers).

Only the writer thread appends, so the chain's tail (last seq and hash) lives in memory beside
the writer's transaction; :class:`AuditChain` keeps it and is told when an operation or a batch
rolls back, so the tail never points at an event that was not committed.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterator
from typing import Any, Final

from axis.audit import GENESIS, link_draft
from axis.store.records import AuditDraft, AuditEvent, AuditFilter, Page
from axis.store.sqlite_schema import from_db_time, parse_cursor, to_db_time

_INSERT: Final = (
    "INSERT INTO audit (seq, kind, at, message_id, document_id, system_id, address, codes, data,"
    " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_COLUMNS: Final = (
    "a.seq, a.kind, a.at, a.message_id, a.document_id, a.system_id, a.address, a.codes,"
    " a.data, a.prev_hash, a.hash"
)


class AuditChain:
    """The tail of the chain as the writer sees it inside its open transaction."""

    def __init__(self) -> None:
        self.seq = 0
        self.hash = GENESIS

    def load(self, conn: sqlite3.Connection) -> None:
        """Read the committed tail (at open, and after a failed batch)."""
        row = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        self.seq, self.hash = (0, GENESIS) if row is None else (int(row[0]), str(row[1]))

    def mark(self) -> tuple[int, str]:
        return (self.seq, self.hash)

    def reset(self, mark: tuple[int, str]) -> None:
        self.seq, self.hash = mark

    def append(self, conn: sqlite3.Connection, draft: AuditDraft) -> AuditEvent:
        """Hash ``draft`` onto the chain and insert it (inside the caller's transaction); the
        event as stored (what :meth:`SqliteStore.append_audit` answers)."""
        prev_hash = self.hash
        seq, digest, data_text = self.link(conn, draft)
        return AuditEvent(
            seq=seq,
            kind=draft.kind,
            at=draft.at,
            message_id=draft.message_id,
            document_id=draft.document_id,
            system_id=draft.system_id,
            address=draft.address,
            codes=tuple(draft.codes),
            data=json.loads(data_text),
            prev_hash=prev_hash,
            hash=digest,
        )

    def link(self, conn: sqlite3.Connection, draft: AuditDraft) -> tuple[int, str, str]:
        """:meth:`append` without building the event (an accept, a fetch or an ack links
        several and answers none of them): its seq, hash and data as stored."""
        seq = self.seq + 1
        digest, _, codes_text, data_text = link_draft(self.hash, seq, draft)
        conn.execute(
            _INSERT,
            (
                seq,
                draft.kind,
                to_db_time(draft.at),
                draft.message_id,
                draft.document_id,
                draft.system_id,
                draft.address,
                codes_text,
                data_text,
                self.hash,
                digest,
            ),
        )
        if draft.codes:
            conn.executemany(
                "INSERT OR IGNORE INTO audit_codes (code, seq) VALUES (?, ?)",
                [(code, seq) for code in dict.fromkeys(draft.codes)],
            )
        self.seq, self.hash = seq, digest
        return seq, digest, data_text


def filled(draft: AuditDraft, **defaults: Any) -> AuditDraft:
    """``draft`` with the fields it left empty taken from ``defaults`` (the op knows them)."""
    changes = {
        name: value
        for name, value in defaults.items()
        if value is not None and not getattr(draft, name)
    }
    return dataclasses.replace(draft, **changes) if changes else draft


def event_from_row(row: tuple[Any, ...]) -> AuditEvent:
    """A row of the audit table as a record (``codes``/``data`` parsed back from JSON)."""
    return AuditEvent(
        seq=int(row[0]),
        kind=row[1],
        at=from_db_time(row[2]),
        message_id=row[3],
        document_id=row[4],
        system_id=row[5],
        address=row[6],
        codes=tuple(json.loads(row[7])),
        data=json.loads(row[8]),
        prev_hash=row[9],
        hash=row[10],
    )


def query_events(
    conn: sqlite3.Connection, query: AuditFilter, after: str | None, limit: int
) -> Page[AuditEvent]:
    """Events matching ``query`` after the cursor (a seq), in chain order."""
    where = ["a.seq > ?"]
    args: list[Any] = [parse_cursor(after)]
    source = "audit a"
    if query.code is not None:
        source = "audit_codes c JOIN audit a ON a.seq = c.seq"
        where.append("c.code = ?")
        args.append(query.code)
    for column, value in (
        ("message_id", query.message_id),
        ("document_id", query.document_id),
        ("system_id", query.system_id),
        ("kind", query.kind),
    ):
        if value is not None:
            where.append(f"a.{column} = ?")
            args.append(value)
    if query.since is not None:
        where.append("a.at >= ?")
        args.append(to_db_time(query.since))
    if query.until is not None:
        where.append("a.at < ?")
        args.append(to_db_time(query.until))
    sql = (
        f"SELECT {_COLUMNS} FROM {source} WHERE {' AND '.join(where)}"  # noqa: S608 - fixed columns
        " ORDER BY a.seq LIMIT ?"
    )
    rows = conn.execute(sql, (*args, limit + 1)).fetchall()
    events = tuple(event_from_row(r) for r in rows[:limit])
    cursor = str(events[-1].seq) if len(rows) > limit and events else None
    return Page(events, cursor)


def iter_events(conn: sqlite3.Connection, chunk: int = 2000) -> Iterator[AuditEvent]:
    """Every kept event in seq order, read in chunks (the verifier streams the chain)."""
    last = -1
    while True:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM audit a WHERE a.seq > ? ORDER BY a.seq LIMIT ?",  # noqa: S608
            (last, chunk),
        ).fetchall()
        if not rows:
            return
        for row in rows:
            yield event_from_row(row)
        last = int(rows[-1][0])


class WriteSession:
    """What the writer keeps beside its transaction: the chain's tail and what to announce.

    ``new_codes``: codes that got a delivery with a new cursor (wakes their long polls);
    ``registry_changed``: a registry version was written. A rolled-back op may leave a code in
    ``new_codes``: a spurious wake-up is harmless, a waiter re-checks before it returns.
    """

    def __init__(self) -> None:
        self.chain = AuditChain()
        self.new_codes: set[str] = set()
        self.registry_changed = False

    def append(self, conn: sqlite3.Connection, draft: AuditDraft) -> None:
        """Link ``draft`` onto the chain inside the op's transaction."""
        self.chain.link(conn, draft)

    def append_event(self, conn: sqlite3.Connection, draft: AuditDraft) -> AuditEvent:
        """:meth:`append`, answering the event as stored."""
        return self.chain.append(conn, draft)

    def begin_batch(self, conn: sqlite3.Connection) -> None:
        """Re-read the tail under the write lock: another process (the CLI adding a system
        while the server runs) may have appended, and the chain must not fork."""
        self.chain.load(conn)

    def begin_op(self) -> object:
        return self.chain.mark()

    def undo_op(self, token: object) -> None:
        assert isinstance(token, tuple)
        self.chain.reset(token)

    def batch_failed(self, conn: sqlite3.Connection) -> None:
        self.chain.load(conn)

    def committed(self) -> tuple[frozenset[str], bool]:
        news = (frozenset(self.new_codes), self.registry_changed)
        self.new_codes = set()
        self.registry_changed = False
        return news
