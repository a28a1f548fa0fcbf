"""Registry versions in Redis, with the registry's own JSON shapes and save rule.

What is stored is what the SQLite store keeps, in hashes instead of tables: every version
(:func:`registry.model.version_info_to_dict`, with its change log), and the latest state's
records (:func:`agency_to_dict` / :func:`succession_to_dict`) grouped by code, so loading does
not replay history and a partial load reads a few fields. ``axis:{axis}:reg:to`` indexes the
successions by successor code; it may name a closed code that no longer points at the
successor (entries are only added), so readers re-check each succession they get through it.

A save runs in one :class:`axis.store.redis_tx.Tx`: the head's ``registry`` field is the stored
version, :func:`registry.store.check_continues` refuses a save that does not continue it, each
version written appends its audit event, and the commit publishes the new version number so
every node's :meth:`wait_registry_change` wakes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Collection
from typing import Any

from axis.audit import version_audit
from axis.store import redis_keys as k
from axis.store.redis_client import Client
from axis.store.redis_tx import Tx
from registry.model import (
    Agency,
    Succession,
    VersionInfo,
    agency_to_dict,
    succession_to_dict,
    version_info_from_dict,
    version_info_to_dict,
)
from registry.registry import Registry
from registry.sql import Interner, valid_from_key
from registry.store import check_continues
from registry.versions import VersionLog

Records = dict[str, dict[str, Any]]
"""code -> {valid_from (or effective) text: record JSON}: one hash field's value."""


async def seed(tx: Tx, registry: Registry) -> bool:
    """Every version of ``registry``, only if the store holds none."""
    if tx.registry is not None:
        return False
    await _write(tx, list(registry.log))
    return True


async def save(tx: Tx, registry: Registry) -> int:
    """The versions of ``registry`` newer than the stored ones, if it continues their history."""
    stored = tx.registry
    created: dt.datetime | None = None
    if stored is not None:
        text = await tx.db.hget(k.REG_VERSIONS, str(stored))
        if text is not None:
            created = dt.datetime.fromisoformat(json.loads(text)["created_at"])
    check_continues(stored, lambda number: created if number == stored else None, registry, "store")
    new = [info for info in registry.log if stored is None or info.number > stored]
    await _write(tx, new)
    return len(new)


async def _load_fields(tx: Tx, key: str, codes: Collection[str]) -> Records:
    wanted = sorted(codes)
    if not wanted:
        return {}
    texts = await tx.db.hmget(key, wanted)
    return {code: {} if t is None else json.loads(t) for code, t in zip(wanted, texts, strict=True)}


async def _write(tx: Tx, versions: list[VersionInfo]) -> None:
    """Queue ``versions`` (oldest first): their rows, the state they lead to, their events."""
    if not versions:
        return
    agency_codes: set[str] = set()
    from_codes: set[str] = set()
    for info in versions:
        for change in info.changes:
            for record in (change.before, change.after):
                if isinstance(record, Agency):
                    agency_codes.add(record.code)
                elif isinstance(record, Succession):
                    from_codes.add(record.from_code)
    agencies = await _load_fields(tx, k.REG_AGENCIES, agency_codes)
    successions = await _load_fields(tx, k.REG_SUCCESSIONS, from_codes)
    pointing: dict[str, set[str]] = {}
    versions_out: dict[str, str] = {}
    for info in versions:
        versions_out[str(info.number)] = k.dumps(version_info_to_dict(info))
        for change in info.changes:
            for record, insert in ((change.before, False), (change.after, True)):
                if isinstance(record, Agency):
                    bodies = agencies[record.code]
                    bodies.pop(valid_from_key(record.valid_from), None)
                    if insert:
                        bodies[valid_from_key(record.valid_from)] = agency_to_dict(record)
                elif isinstance(record, Succession):
                    bodies = successions[record.from_code]
                    bodies.pop(record.effective.isoformat(), None)
                    if insert:
                        bodies[record.effective.isoformat()] = succession_to_dict(record)
                        for successor in record.successors:
                            pointing.setdefault(successor.code, set()).add(record.from_code)
        tx.audit(version_audit(info))
    tx.cmd_many("HSET", k.REG_VERSIONS, _flat(versions_out), 2)
    for key, state in ((k.REG_AGENCIES, agencies), (k.REG_SUCCESSIONS, successions)):
        kept = {code: k.dumps(bodies) for code, bodies in state.items() if bodies}
        gone = [code for code, bodies in state.items() if not bodies]
        if kept:
            tx.cmd_many("HSET", key, _flat(kept), 2)
        if gone:
            tx.cmd_many("HDEL", key, gone)
    if pointing:
        known = await _load_fields_list(tx, pointing)
        merged = {code: k.dumps(sorted(known[code] | closed)) for code, closed in pointing.items()}
        tx.cmd_many("HSET", k.REG_TO, _flat(merged), 2)
    tx.registry = versions[-1].number
    tx.registry_changed = True


async def _load_fields_list(tx: Tx, pointing: dict[str, set[str]]) -> dict[str, set[str]]:
    wanted = sorted(pointing)
    texts = await tx.db.hmget(k.REG_TO, wanted)
    return {
        code: set() if t is None else set(json.loads(t))
        for code, t in zip(wanted, texts, strict=True)
    }


def _flat(mapping: dict[str, str]) -> list[str]:
    return [item for pair in mapping.items() for item in pair]


# --- reads -----------------------------------------------------------------------------------


async def latest_number(client: Client) -> int | None:
    found = await client.hget(k.HEAD, "registry")
    return None if found is None else int(found)


def _version(text: str, interner: Interner) -> VersionInfo:
    data = json.loads(text)
    bare = version_info_from_dict({**data, "changes": ()})
    return dataclasses.replace(bare, changes=tuple(interner.change(c) for c in data["changes"]))


async def history(client: Client, interner: Interner | None = None) -> VersionLog | None:
    stored = await client.hgetall(k.REG_VERSIONS)
    if not stored:
        return None
    interner = interner or Interner()
    ordered = sorted(stored.items(), key=lambda item: int(item[0]))
    return VersionLog(tuple(_version(k.text(text), interner) for _, text in ordered))


async def load(client: Client) -> Registry | None:
    """The newest version from the stored state plus the log (no replay)."""
    interner = Interner()
    agencies = [
        interner.agency(body)
        for text in await client.hvals(k.REG_AGENCIES)
        for body in json.loads(text).values()
    ]
    successions = [
        interner.succession(body)
        for text in await client.hvals(k.REG_SUCCESSIONS)
        for body in json.loads(text).values()
    ]
    log = await history(client, interner)
    if log is None:
        return None
    return Registry.from_snapshot(agencies, successions, log)


async def records(client: Client, codes: Collection[str]) -> tuple[list[Agency], list[Succession]]:
    """A few codes' agency records and the successions from or to them."""
    wanted = sorted(set(codes))
    if not wanted:
        return [], []
    interner = Interner()
    agencies = [
        interner.agency(bodies[start])
        for text in await client.hmget(k.REG_AGENCIES, wanted)
        if text is not None
        for bodies in (json.loads(text),)
        for start in sorted(bodies)
    ]
    pointing = await client.hmget(k.REG_TO, wanted)
    closed = set(wanted)
    for text in pointing:
        if text is not None:
            closed.update(json.loads(text))
    found: dict[tuple[str, str], Succession] = {}
    asked = set(wanted)
    names = sorted(closed)
    for from_code, text in zip(names, await client.hmget(k.REG_SUCCESSIONS, names), strict=True):
        if text is None:
            continue
        for effective, body in json.loads(text).items():
            succession = interner.succession(body)
            targets = {s.code for s in succession.successors}
            if from_code in asked or targets & asked:
                found[(from_code, effective)] = succession
    return agencies, [found[key] for key in sorted(found)]
