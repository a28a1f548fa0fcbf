"""The audit log in Redis: a stored event's shape and indexes, and querying and verifying the
chain that :meth:`Tx.audit` appends to.

Events live in one hash by seq (``axis:{axis}:audit``); the head says where the kept chain
starts (``first``, moved by a purge) and ends (``seq``), so reading the chain in order is HMGET
over consecutive seqs, in chunks. A query narrowed by message, document, system, code or kind
walks that field's index (a sorted set of seqs) instead of the whole chain; the other filters
are applied to the events read.

:func:`verify` re-hashes with :func:`axis.audit.verify_chain`, the very check the SQLite store
runs, and adds what only a store with a head can tell: an event missing at the END of the chain
(the head says it was written).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any, Final

from axis.audit import verify_chain
from axis.store import redis_keys as k
from axis.store.records import AuditEvent, AuditFilter, ChainVerdict, Page
from axis.store.redis_client import Client

_CHUNK: Final = 2000

#: The audit fields that have an index (``AuditFilter`` narrows by them cheaply).
AUDIT_INDEXED: Final = ("message_id", "document_id", "system_id", "kind")


def audit_index_keys(row: Mapping[str, Any]) -> list[str]:
    """The index sorted sets an audit event belongs to."""
    keys = [
        k.audit_index_key(field, str(row[field]))
        for field in AUDIT_INDEXED
        if row.get(field) is not None
    ]
    keys.extend(k.audit_index_key("code", str(code)) for code in dict.fromkeys(row["codes"]))
    return keys


def event_from_row(row: Mapping[str, Any]) -> AuditEvent:
    """A stored audit event as a record."""
    return AuditEvent(
        seq=int(row["seq"]),
        kind=row["kind"],
        at=dt.datetime.fromisoformat(row["at"]),
        message_id=row["message_id"],
        document_id=row["document_id"],
        system_id=row["system_id"],
        address=row["address"],
        codes=tuple(row["codes"]),
        data=row["data"],
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


async def bounds(client: Client) -> tuple[int, int]:
    """The oldest kept seq and the newest seq (``first > last`` when the chain is empty)."""
    first, last = await client.hmget(k.HEAD, ["first", "seq"])
    return int(first or 1), int(last or 0)


async def rows(client: Client, seqs: list[int]) -> list[dict[str, Any] | None]:
    """The stored events of ``seqs`` (None where one is missing)."""
    if not seqs:
        return []
    texts = await client.hmget(k.AUDIT, [str(seq) for seq in seqs])
    return [None if text is None else json.loads(text) for text in texts]


async def iter_rows(client: Client, start: int = 0) -> AsyncIterator[dict[str, Any]]:
    """Every kept event after ``start`` in seq order, read in chunks (missing ones skipped)."""
    first, last = await bounds(client)
    seq = max(first, start + 1)
    while seq <= last:
        upper = min(last, seq + _CHUNK - 1)
        for row in await rows(client, list(range(seq, upper + 1))):
            if row is not None:
                yield row
        seq = upper + 1


async def _candidates(client: Client, query: AuditFilter, start: int) -> AsyncIterator[int]:
    """The seqs after ``start`` that the narrowest index of ``query`` holds, in order."""
    key = None
    for field, value in (
        ("message_id", query.message_id),
        ("document_id", query.document_id),
        ("system_id", query.system_id),
        ("code", query.code),
        ("kind", query.kind),
    ):
        if value is not None:
            key = k.audit_index_key(field, value)
            break
    if key is None:
        first, last = await bounds(client)
        for seq in range(max(first, start + 1), last + 1):
            yield seq
        return
    lower = f"({start}"
    while True:
        found = await client.zrangebyscore(key, lower, "+inf", start=0, num=_CHUNK)
        for member in found:
            yield int(k.text(member))
        if len(found) < _CHUNK:
            return
        lower = f"({int(k.text(found[-1]))}"


def _matches(row: dict[str, Any], query: AuditFilter) -> bool:
    for field in ("message_id", "document_id", "system_id", "kind"):
        value = getattr(query, field)
        if value is not None and row[field] != value:
            return False
    if query.code is not None and query.code not in row["codes"]:
        return False
    if query.since is None and query.until is None:
        return True
    at = event_from_row(row).at
    if query.since is not None and at < query.since:
        return False
    return query.until is None or at < query.until


async def query_events(
    client: Client, query: AuditFilter, after: str | None, limit: int
) -> Page[AuditEvent]:
    """Events matching ``query`` after the cursor (a seq), in chain order."""
    start = k.parse_cursor(after)
    found: list[AuditEvent] = []
    batch: list[int] = []

    async def flush() -> None:
        for row in await rows(client, batch):
            if row is not None and _matches(row, query) and len(found) <= limit:
                found.append(event_from_row(row))
        batch.clear()

    async for seq in _candidates(client, query, start):
        batch.append(seq)
        if len(batch) >= max(limit + 1, 64):
            await flush()
            if len(found) > limit:
                break
    if batch and len(found) <= limit:
        await flush()
    events = tuple(found[:limit])
    cursor = str(events[-1].seq) if len(found) > limit and events else None
    return Page(events, cursor)


async def verify(client: Client) -> ChainVerdict:
    """Re-hash the kept chain and name the first break (an event missing at its end too).

    Streams the chain chunk by chunk: each chunk is checked with the previous chunk's last
    event in front of it, so the links between chunks are checked too (and counted once)."""
    first, last = await bounds(client)
    checked = 0
    previous: AuditEvent | None = None
    chunk: list[AuditEvent] = []

    def check() -> ChainVerdict:
        nonlocal checked, previous
        verdict = verify_chain([previous, *chunk] if previous is not None else chunk)
        done = verdict.checked - (previous is not None)
        if not verdict.ok:
            return ChainVerdict(False, checked + max(done, 0), verdict.first_broken, verdict.reason)
        checked += done
        previous = chunk[-1]
        chunk.clear()
        return verdict

    async for row in iter_rows(client):
        chunk.append(event_from_row(row))
        if len(chunk) >= _CHUNK and not (verdict := check()).ok:
            return verdict
    if chunk and not (verdict := check()).ok:
        return verdict
    end = previous.seq if previous is not None else first - 1
    if end != last:
        return ChainVerdict(
            ok=False,
            checked=checked,
            first_broken=end + 1,
            reason=f"event {end + 1} is missing (the chain's head says it ends at {last})",
        )
    return ChainVerdict(ok=True, checked=checked)
