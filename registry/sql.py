"""The registry's tables in SQL and the translation between their rows and records.

Every SQLite store of registry versions shares these (the deployment's store in
``axis.store.sqlite_registry`` imports them, under their old names, from :mod:`registry.store`), so
an old ``registry.sqlite3`` file and the deployment's store read and write the same rows:

* ``versions``: one row per version (number, when, who, why, effective, the change log as JSON);
* ``agencies`` / ``successions``: the state of the latest version, one JSON body per record, so
  loading does not replay history.

No connection is opened here: callers pass theirs and own the transaction.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any, Final

from registry.errors import StoreError
from registry.model import (
    Agency,
    Change,
    Succession,
    VersionInfo,
    agency_from_dict,
    agency_to_dict,
    change_to_dict,
    succession_from_dict,
    succession_to_dict,
)

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS versions (
    number INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    author TEXT NOT NULL,
    reason TEXT NOT NULL,
    effective TEXT,
    changes TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS agencies (
    code TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (code, valid_from)
);
CREATE TABLE IF NOT EXISTS successions (
    from_code TEXT NOT NULL,
    effective TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (from_code, effective)
);
"""


def valid_from_key(moment: datetime | None) -> str:
    """The ``valid_from`` column: an open start is the empty text (part of the primary key)."""
    return "" if moment is None else moment.isoformat()


def write_change(conn: sqlite3.Connection, change: Change) -> None:
    """Applies one change-log entry to the state tables."""
    for record, insert in ((change.before, False), (change.after, True)):
        if record is None:
            continue
        if isinstance(record, Agency):
            key = (record.code, valid_from_key(record.valid_from))
            conn.execute("DELETE FROM agencies WHERE code = ? AND valid_from = ?", key)
            if insert:
                conn.execute(
                    "INSERT INTO agencies (code, valid_from, body) VALUES (?, ?, ?)",
                    (*key, json.dumps(agency_to_dict(record), ensure_ascii=False)),
                )
        else:
            skey = (record.from_code, record.effective.isoformat())
            conn.execute("DELETE FROM successions WHERE from_code = ? AND effective = ?", skey)
            if insert:
                conn.execute(
                    "INSERT INTO successions (from_code, effective, body) VALUES (?, ?, ?)",
                    (*skey, json.dumps(succession_to_dict(record), ensure_ascii=False)),
                )


def write_version(conn: sqlite3.Connection, info: VersionInfo) -> None:
    """Inserts the row of one version and applies its changes to the state tables."""
    conn.execute(
        "INSERT INTO versions (number, created_at, author, reason, effective, changes)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            info.number,
            info.created_at.isoformat(),
            info.author,
            info.reason,
            None if info.effective is None else info.effective.isoformat(),
            json.dumps([change_to_dict(c) for c in info.changes], ensure_ascii=False),
        ),
    )
    for change in info.changes:
        write_change(conn, change)


class Interner:
    """Builds records from their JSON dicts, re-using the snapshot's objects for equal dicts.

    Most records in the change log (the seed's thousands of ``add``) are the very records of the
    latest state: comparing two parsed dicts is much cheaper than constructing a second Agency,
    and sharing them halves the memory of a loaded registry.
    """

    def __init__(self) -> None:
        self._agencies: dict[tuple[str, str | None], tuple[dict[str, Any], Agency]] = {}
        self._successions: dict[tuple[str, str], tuple[dict[str, Any], Succession]] = {}

    def agency(self, data: dict[str, Any]) -> Agency:
        key = (data["code"], data.get("valid_from"))
        known = self._agencies.get(key)
        if known is not None and known[0] == data:
            return known[1]
        agency = agency_from_dict(data)
        if known is None:
            self._agencies[key] = (data, agency)
        return agency

    def succession(self, data: dict[str, Any]) -> Succession:
        key = (data["from_code"], data["effective"])
        known = self._successions.get(key)
        if known is not None and known[0] == data:
            return known[1]
        succession = succession_from_dict(data)
        if known is None:
            self._successions[key] = (data, succession)
        return succession

    def record(self, data: dict[str, Any] | None) -> Agency | Succession | None:
        if data is None:
            return None
        if "agency" in data:
            return self.agency(data["agency"])
        return self.succession(data["succession"])

    def change(self, data: dict[str, Any]) -> Change:
        op = data["op"]
        if op not in ("add", "update", "close", "succession", "remove_succession"):
            raise StoreError("store.corrupt", f"unknown change op {op!r}")
        return Change(op, data["code"], self.record(data["before"]), self.record(data["after"]))


def read_version(row: tuple[Any, ...], interner: Interner) -> VersionInfo:
    """A ``versions`` row (number, created_at, author, reason, effective, changes) as a record."""
    number, created_at, author, reason, effective, changes = row
    return VersionInfo(
        number=int(number),
        created_at=datetime.fromisoformat(created_at),
        author=author,
        reason=reason,
        changes=tuple(interner.change(c) for c in json.loads(changes)),
        effective=None if effective is None else datetime.fromisoformat(effective),
    )


def json_array(conn: sqlite3.Connection, table: str) -> list[dict[str, Any]]:
    """Every ``body`` of ``table`` parsed with ONE json.loads (per-row calls cost 3x more)."""
    row = conn.execute(f"SELECT '[' || IFNULL(group_concat(body, ','), '') || ']' FROM {table}")  # noqa: S608 - fixed table names
    parsed: list[dict[str, Any]] = json.loads(row.fetchone()[0])
    return parsed
