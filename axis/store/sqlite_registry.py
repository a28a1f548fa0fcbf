"""Registry versions in the store's SQLite file, with the SQL of :mod:`registry.store`.

The tables, rows and the save rule are the registry's own (:mod:`registry.sql`,
:func:`registry.store.check_continues`), so the old ``<home>/registry.sqlite3`` imports row for
row. What the store adds: every version written appends its audit event in the same
transaction, and a write wakes the nodes that wait for a registry change.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Collection
from pathlib import Path
from typing import Any, Final

import structlog

from axis.audit import version_audit
from axis.store.sqlite_audit import WriteSession
from axis.store.sqlite_schema import placeholders
from registry.model import Agency, Succession, VersionInfo
from registry.registry import Registry
from registry.sql import Interner, json_array, read_version, write_version
from registry.store import check_continues
from registry.versions import VersionLog

_log = structlog.get_logger()

_VERSION_COLUMNS: Final = "number, created_at, author, reason, effective, changes"


def latest_number(conn: sqlite3.Connection) -> int | None:
    row = conn.execute("SELECT MAX(number) FROM versions").fetchone()
    return None if row is None or row[0] is None else int(row[0])


def _audit_version(conn: sqlite3.Connection, session: WriteSession, info: VersionInfo) -> None:
    session.append(conn, version_audit(info))


def _write(conn: sqlite3.Connection, session: WriteSession, versions: list[VersionInfo]) -> None:
    for info in versions:
        write_version(conn, info)
        _audit_version(conn, session, info)
    if versions:
        session.registry_changed = True


def seed(conn: sqlite3.Connection, session: WriteSession, registry: Registry) -> bool:
    """Every version of ``registry``, only if the store holds none."""
    if latest_number(conn) is not None:
        return False
    _write(conn, session, list(registry.log))
    return True


def save(conn: sqlite3.Connection, session: WriteSession, registry: Registry) -> int:
    """The versions of ``registry`` newer than the stored ones, if it continues their history."""
    stored = latest_number(conn)

    def created_at(number: int) -> dt.datetime | None:
        row = conn.execute("SELECT created_at FROM versions WHERE number = ?", (number,))
        found = row.fetchone()
        return None if found is None else dt.datetime.fromisoformat(found[0])

    check_continues(stored, created_at, registry, "store")
    new = [info for info in registry.log if stored is None or info.number > stored]
    _write(conn, session, new)
    return len(new)


def read_legacy(path: Path) -> dict[str, list[tuple[Any, ...]]] | None:
    """The rows of an old registry file (read-only), None if it holds no version."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    conn = sqlite3.connect(uri, uri=True)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "versions" not in tables:
            return None
        rows = {
            "versions": conn.execute(
                f"SELECT {_VERSION_COLUMNS} FROM versions ORDER BY number"  # noqa: S608
            ).fetchall(),
            "agencies": conn.execute("SELECT code, valid_from, body FROM agencies").fetchall(),
            "successions": conn.execute(
                "SELECT from_code, effective, body FROM successions"
            ).fetchall(),
        }
    finally:
        conn.close()
    return rows if rows["versions"] else None


def import_legacy(
    conn: sqlite3.Connection,
    session: WriteSession,
    rows: dict[str, list[tuple[Any, ...]]],
    source: Path,
) -> int:
    """Copy an old registry file's rows (first start after the upgrade); 0 if already seeded."""
    if latest_number(conn) is not None:
        return 0
    conn.executemany(
        f"INSERT INTO versions ({_VERSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",  # noqa: S608
        rows["versions"],
    )
    conn.executemany(
        "INSERT INTO agencies (code, valid_from, body) VALUES (?, ?, ?)", rows["agencies"]
    )
    conn.executemany(
        "INSERT INTO successions (from_code, effective, body) VALUES (?, ?, ?)",
        rows["successions"],
    )
    interner = Interner()
    for row in rows["versions"]:
        info = read_version(row, interner)
        _audit_version(conn, session, info)
    session.registry_changed = True
    _log.info("store.registry_imported", source=str(source), versions=len(rows["versions"]))
    return len(rows["versions"])


# --- reads -----------------------------------------------------------------------------------


def history(conn: sqlite3.Connection, interner: Interner | None = None) -> VersionLog | None:
    rows = conn.execute(
        f"SELECT {_VERSION_COLUMNS} FROM versions ORDER BY number"  # noqa: S608
    ).fetchall()
    if not rows:
        return None
    interner = interner or Interner()
    return VersionLog(tuple(read_version(r, interner) for r in rows))


def load(conn: sqlite3.Connection) -> Registry | None:
    """The newest version from the state tables plus the log (no replay)."""
    interner = Interner()
    agencies = [interner.agency(d) for d in json_array(conn, "agencies")]
    successions = [interner.succession(d) for d in json_array(conn, "successions")]
    log = history(conn, interner)
    if log is None:
        return None
    return Registry.from_snapshot(agencies, successions, log)


def records(
    conn: sqlite3.Connection, codes: Collection[str]
) -> tuple[list[Agency], list[Succession]]:
    """A few codes' agency records and the successions from or to them."""
    wanted = sorted(set(codes))
    if not wanted:
        return [], []
    marks = placeholders(len(wanted))
    interner = Interner()
    agencies = [
        interner.agency(json.loads(body))
        for (body,) in conn.execute(
            f"SELECT body FROM agencies WHERE code IN ({marks}) ORDER BY code, valid_from",  # noqa: S608
            wanted,
        )
    ]
    successions = [
        interner.succession(json.loads(body))
        for (body,) in conn.execute(
            f"SELECT s.body FROM successions s WHERE s.from_code IN ({marks}) OR EXISTS"  # noqa: S608
            " (SELECT 1 FROM json_each(s.body, '$.successors') j"
            f" WHERE json_extract(j.value, '$.code') IN ({marks}))"
            " ORDER BY s.from_code, s.effective",
            (*wanted, *wanted),
        )
    ]
    return agencies, successions
