"""Connected systems and retention in Redis: the administrator's side of the store.

Both change who may do what or what is kept, so both append their audit event in the same
transaction (:class:`axis.store.redis_tx.Tx`) as the change. Systems are few (one per connected
document-management system): one hash holds them all, and a lookup by certificate reads it whole.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, Final

from axis.store import redis_keys as k
from axis.store.records import OPEN_STATES, AuditDraft, PurgeOutcome, SystemRecord
from axis.store.redis_audit import audit_index_keys
from axis.store.redis_client import Client
from axis.store.redis_tx import Tx
from axis.store.sqlite_audit import filled

_CHUNK: Final = 1000


async def put_system(tx: Tx, system: SystemRecord, audit: AuditDraft) -> None:
    """Create or replace a system (a revocation is a replace with ``revoked_at`` set)."""
    tx.cmd("HSET", k.SYSTEMS, system.system_id, k.system_to_json(system))
    tx.audit(filled(audit, system_id=system.system_id, codes=system.codes))


async def purge(tx: Tx, before: dt.datetime, at: dt.datetime) -> PurgeOutcome:
    """Remove what is older than ``before``, keeping the audit chain a contiguous suffix.

    Audit events are removed by seq up to the first event at or after ``before``, never one
    from the middle, so the kept chain still verifies from its oldest event; the purge event
    records where the kept chain now starts and the hash it is anchored on. The payloads of
    the removed messages are only named (``doomed``): the store deletes them from their shards
    once this commits (:func:`axis.store.redis_payloads.drop_doomed`).
    """
    old = await tx.db.zrangebyscore(k.RECEIVED, "-inf", f"({k.score(before)}")
    still_open = messages = 0
    for message_id in k.texts(old):
        for row in list((await tx.rows(message_id)).values()):
            still_open += row["state"] in OPEN_STATES
            await tx.save(row, None)
        stored = await tx.info(message_id)
        if stored is not None:
            info, raw = stored
            messages += 1
            tx.cmd("HDEL", k.IDEM, raw["idem"])
            tx.cmd("ZREM", k.sent_key(info.sender_code), message_id)
            tx.cmd("ZREM", k.doc_key(info.sender_code, info.document_id), message_id)
            if info.refers_to:
                tx.cmd("ZREM", k.refers_key(info.sender_code, info.refers_to), message_id)
            # the payload is in a shard the commit cannot reach: named here, deleted after
            tx.cmd("SADD", k.DOOMED, raw["payload"])
        tx.cmd(
            "DEL",
            k.message_key(message_id),
            k.deliveries_key(message_id),
            k.statuses_key(message_id),
        )
        tx.cmd("ZREM", k.RECEIVED, message_id)
    keep_from, anchor, events = await _drop_events(tx, before)
    tx.first = keep_from
    tx.audit(
        AuditDraft(
            "purge",
            at,
            data={
                "before": k.to_text(before),
                "messages": messages,
                "audit_events": events,
                "open_deliveries": still_open,  # never dropped silently: the count is on record
                "oldest_kept_seq": keep_from,
                "oldest_kept_prev_hash": anchor,
            },
        )
    )
    return PurgeOutcome(messages=messages, audit_events=events)


async def _drop_events(tx: Tx, before: dt.datetime) -> tuple[int, str, int]:
    """Queue the removal of the chain's prefix older than ``before``: (first kept seq, the hash
    it is anchored on, how many events went)."""
    keep_from, anchor = tx.seq + 1, tx.hash
    doomed: list[dict[str, object]] = []
    seq = tx.first
    while seq <= tx.seq:
        seqs = list(range(seq, min(tx.seq, seq + _CHUNK - 1) + 1))
        texts = await tx.db.hmget(k.AUDIT, [str(s) for s in seqs])
        for text in texts:
            if text is None:
                continue
            row = json.loads(text)
            if dt.datetime.fromisoformat(row["at"]) >= before:
                keep_from, anchor = int(row["seq"]), str(row["prev_hash"])
                break
            doomed.append(row)
        else:
            seq = seqs[-1] + 1
            continue
        break
    for row in doomed:
        tx.cmd("HDEL", k.AUDIT, str(row["seq"]))
        for key in audit_index_keys(row):
            tx.cmd("ZREM", key, str(row["seq"]))
    return keep_from, anchor, len(doomed)


# --- reads -----------------------------------------------------------------------------------


async def put_entry(
    tx: Tx, kind: str, key: str, body: Mapping[str, Any] | None, audit: AuditDraft
) -> None:
    """Create, replace or (``body`` None) remove one admin entry, with its audit event."""
    if body is None:
        tx.cmd("HDEL", k.entries_key(kind), key)
    else:
        text = json.dumps(body, ensure_ascii=False, sort_keys=True)
        tx.cmd("HSET", k.entries_key(kind), key, text)
    tx.audit(audit)


async def entries(client: Client, kind: str) -> dict[str, dict[str, Any]]:
    """Every entry of ``kind``, by key (code point order, as SQLite's)."""
    found = await client.hgetall(k.entries_key(kind))
    pairs = sorted((k.text(key), k.text(body)) for key, body in found.items())
    return {key: json.loads(body) for key, body in pairs}


async def system(client: Client, system_id: str) -> SystemRecord | None:
    text = await client.hget(k.SYSTEMS, system_id)
    return None if text is None else k.system_from_json(k.text(text))


async def systems(client: Client) -> tuple[SystemRecord, ...]:
    """Every system, by id (code point order: the SQLite store's byte order of UTF-8)."""
    texts = await client.hvals(k.SYSTEMS)
    return tuple(sorted((k.system_from_json(t) for t in k.texts(texts)), key=lambda s: s.system_id))


async def system_by_cert(client: Client, cert_sha256: str) -> SystemRecord | None:
    for found in await systems(client):
        if found.cert_sha256 == cert_sha256 and found.revoked_at is None:
            return found
    return None
