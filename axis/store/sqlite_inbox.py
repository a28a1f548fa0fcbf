"""The inbox in SQLite: what a recipient finds, pages through and long-polls for.

Reads only (they run on the reader threads). The inbox is paged by delivery ``seq``; the query
walks the ``(code, state, seq)`` index once per code and state, each walk stopping after one
page, and merges the walks: a page costs the same whether a code has ten open deliveries or a
backlog of fifty thousand (a province after a merger), where one ``code IN (...)`` query would
sort the whole backlog for every page.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from typing import Any, Final

from axis.store.records import Delivery, InboxItem, MessageKind, Page
from axis.store.sqlite_schema import (
    DELIVERY_COLUMNS,
    MESSAGE_COLUMNS,
    delivery_from_row,
    message_from_row,
    parse_cursor,
    placeholders,
    to_db_time,
)

_OPEN_STATES: Final = ("pending", "fetched")
_CODES_PER_QUERY: Final = 200
"""SQLite caps a compound SELECT at 500 terms (two walks per code): a system acting for more
codes (a province with its departments) is served by several queries whose pages are merged."""


def inbox(
    conn: sqlite3.Connection,
    codes: Sequence[str],
    after: str | None,
    kind: MessageKind | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    limit: int,
) -> Page[InboxItem]:
    """Open deliveries to ``codes`` after the cursor; ``since``/``until`` bound receipt time."""
    start = parse_cursor(after)
    wanted = list(dict.fromkeys(codes))
    if not wanted or limit <= 0:
        return Page((), None)
    filters = ""
    extra: list[Any] = []
    if kind is not None:
        filters += " AND m.kind = ?"
        extra.append(kind)
    if since is not None:
        filters += " AND m.received_at >= ?"
        extra.append(to_db_time(since))
    if until is not None:
        filters += " AND m.received_at < ?"
        extra.append(to_db_time(until))
    walk = (
        "SELECT seq FROM (SELECT d.seq FROM deliveries d JOIN messages m ON m.id = d.message_id"  # noqa: S608
        f" WHERE d.code = ? AND d.state = ? AND d.seq > ?{filters} ORDER BY d.seq LIMIT ?)"
    )
    rows: list[Any] = []
    for first in range(0, len(wanted), _CODES_PER_QUERY):
        walks: list[str] = []
        args: list[Any] = []
        for code in wanted[first : first + _CODES_PER_QUERY]:
            for state in _OPEN_STATES:
                walks.append(walk)
                args.extend((code, state, start, *extra, limit + 1))
        rows.extend(
            conn.execute(
                f"SELECT {DELIVERY_COLUMNS}, {MESSAGE_COLUMNS} FROM ({' UNION ALL '.join(walks)}) o"  # noqa: S608
                " JOIN deliveries d ON d.seq = o.seq JOIN messages m ON m.id = d.message_id"
                " ORDER BY d.seq LIMIT ?",
                (*args, limit + 1),
            ).fetchall()
        )
    if len(wanted) > _CODES_PER_QUERY:
        rows = sorted(rows, key=lambda row: row[0])[: limit + 1]
    items = tuple(InboxItem(delivery_from_row(r[:9]), message_from_row(r[9:])) for r in rows)
    page = items[:limit]
    cursor = page[-1].delivery.cursor if len(items) > limit and page else None
    return Page(page, cursor)


def has_delivery(conn: sqlite3.Connection, codes: Sequence[str], after: str | None) -> bool:
    """Whether an open delivery to ``codes`` lies past the cursor (the long poll's check)."""
    if not codes:
        return False
    row = conn.execute(
        f"SELECT 1 FROM deliveries WHERE code IN ({placeholders(len(codes))})"  # noqa: S608
        " AND state IN ('pending', 'fetched') AND seq > ? LIMIT 1",
        (*codes, parse_cursor(after)),
    ).fetchone()
    return row is not None


def deliveries(conn: sqlite3.Connection, message_id: str) -> tuple[Delivery, ...]:
    """Every delivery of a message, in cursor order."""
    rows = conn.execute(
        f"SELECT {DELIVERY_COLUMNS} FROM deliveries d WHERE d.message_id = ? ORDER BY d.seq",  # noqa: S608
        (message_id,),
    ).fetchall()
    return tuple(delivery_from_row(r) for r in rows)


def dead_letters(conn: sqlite3.Connection, after: str | None, limit: int) -> Page[Delivery]:
    """Deliveries in ``fail`` or ``dead``, in cursor order."""
    rows = conn.execute(
        f"SELECT {DELIVERY_COLUMNS} FROM deliveries d WHERE d.state IN ('fail', 'dead')"  # noqa: S608
        " AND d.seq > ? ORDER BY d.seq LIMIT ?",
        (parse_cursor(after), limit + 1),
    ).fetchall()
    found = tuple(delivery_from_row(r) for r in rows)
    page = found[:limit]
    return Page(page, page[-1].cursor if len(found) > limit and page else None)


def drains(conn: sqlite3.Connection) -> frozenset[str]:
    """Codes an admin lets drain their own pending deliveries after a succession."""
    return frozenset(row[0] for row in conn.execute("SELECT code FROM drains"))


def delivery_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """How many deliveries are in each state (the metrics' queue depths)."""
    return {
        state: int(n)
        for state, n in conn.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state")
    }
