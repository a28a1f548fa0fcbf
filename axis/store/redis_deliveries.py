"""Deliveries in Redis: the fetch/ack life cycle, leases, dead letters, moves and drains.

Each function runs inside one :class:`axis.store.redis_tx.Tx` and follows the SQLite store's
rules (``axis.store.sqlite_deliveries``). A delivery made available again (a lease expired, an
admin retried it, a succession moved it) gets a NEW seq, so a recipient whose cursor is already
past the old one still finds it; :meth:`Tx.save` keeps the inbox, leases, dead letters and
counts in step with every change of state.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence

from axis.store import redis_keys as k
from axis.store.records import (
    DEAD_STATES,
    OPEN_STATES,
    AckOutcome,
    AuditDraft,
    Delivery,
)
from axis.store.redis_tx import Row, Tx
from axis.store.sqlite_audit import filled


async def _about(tx: Tx, audit: AuditDraft, message_id: str, codes: Sequence[str]) -> AuditDraft:
    """``audit`` with the message, its DocumentId and the codes where it left them empty; the
    DocumentId is read only then (a fetch or an ack knows it already: one read less)."""
    document_id = audit.document_id or await tx.document_id(message_id)
    return filled(audit, message_id=message_id, document_id=document_id, codes=tuple(codes))


async def mark_fetched(
    tx: Tx, message_id: str, codes: Sequence[str], at: dt.datetime, audit: AuditDraft
) -> tuple[Delivery, ...]:
    """pending -> fetched (attempts + 1, the lease starts); the read is audited every time."""
    rows = await tx.rows(message_id)
    stamp = k.to_text(at)
    for code in codes:
        row = rows.get(code)
        if row is not None and row["state"] == "pending":
            await tx.change(
                row,
                state="fetched",
                attempts=int(row["attempts"]) + 1,
                fetched_at=stamp,
                updated_at=stamp,
            )
    tx.audit(await _about(tx, audit, message_id, codes))
    return await tx.to_codes(message_id, codes)


async def ack(
    tx: Tx,
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
    rows = await tx.rows(message_id)
    changed = 0
    for code in dict.fromkeys(codes):
        row = rows.get(code)
        if row is not None and row["state"] in OPEN_STATES:
            await tx.change(row, state=outcome, reason=reason, updated_at=k.to_text(at))
            changed += 1
    if changed:
        tx.audit(await _about(tx, audit, message_id, codes))
    return await tx.to_codes(message_id, codes)


async def requeue_expired(
    tx: Tx, fetched_before: dt.datetime, max_attempts: int, at: dt.datetime
) -> tuple[Delivery, ...]:
    """Expired leases: back to pending under a new seq, or dead after ``max_attempts``."""
    members = await tx.db.zrangebyscore(k.LEASES, "-inf", f"({k.score(fetched_before)}")
    expired: list[Row] = []
    for member in k.texts(members):
        message_id, code = k.unpair(member)
        row = (await tx.rows(message_id)).get(code)
        if row is not None and row["state"] == "fetched":
            expired.append(row)
    expired.sort(key=lambda row: int(row["seq"]))
    changed: list[Delivery] = []
    for row in expired:
        attempts = int(row["attempts"])
        if attempts >= max_attempts:
            reason = f"not acknowledged after {attempts} attempts"
            new = await tx.change(row, state="dead", reason=reason, updated_at=k.to_text(at))
            changed.append(k.delivery_from_row(new))
            kind = "dead"
        else:
            changed.append(await tx.renumber(row, at))
            kind = "requeued"
        tx.audit(
            AuditDraft(
                kind,
                at,
                message_id=row["message_id"],
                document_id=await tx.document_id(row["message_id"]),
                codes=(row["code"],),
                data={"attempts": attempts, "max_attempts": max_attempts},
            )
        )
    return tuple(changed)


async def retry_delivery(
    tx: Tx, message_id: str, code: str, at: dt.datetime, audit: AuditDraft
) -> Delivery | None:
    """A dead letter back to pending under a new seq, with a fresh count of attempts."""
    row = (await tx.rows(message_id)).get(code)
    if row is None or row["state"] not in DEAD_STATES:
        return None
    delivery = await tx.renumber(row, at, attempts=0)
    tx.audit(await _about(tx, audit, message_id, (code,)))
    return delivery


async def cancel_delivery(
    tx: Tx, message_id: str, code: str, at: dt.datetime, audit: AuditDraft
) -> Delivery | None:
    """A dead letter or pending copy ended for good (state ``cancelled``)."""
    row = (await tx.rows(message_id)).get(code)
    if row is None or row["state"] not in ("pending", "fail", "dead"):
        return None
    new = await tx.change(row, state="cancelled", updated_at=k.to_text(at))
    tx.audit(await _about(tx, audit, message_id, (code,)))
    return k.delivery_from_row(new)


async def move_pending(
    tx: Tx, from_code: str, to_code: str, at: dt.datetime, move_key: str, audit: AuditDraft
) -> tuple[Delivery, ...]:
    """Pending deliveries of ``from_code`` to ``to_code`` (new seq, ``requested`` kept).

    A message that already has a delivery to ``to_code`` keeps that one (the moved copy is
    merged into it, audited with ``merged``). Repeating a ``move_key`` moves nothing and returns
    the deliveries that key moved.
    """
    known = await tx.db.hget(k.MOVES, move_key)
    if known is not None:
        ids = json.loads(known)["moved"]
        return tuple([d for mid in ids for d in await tx.to_codes(mid, (to_code,))])
    members = await tx.db.zrange(k.inbox_key(from_code), 0, -1)
    pending: list[Row] = []
    for message_id in k.texts(members):
        row = (await tx.rows(message_id)).get(from_code)
        if row is not None and row["state"] == "pending":
            pending.append(row)
    pending.sort(key=lambda row: int(row["seq"]))
    moved: list[Delivery] = []
    for row in pending:
        message_id = row["message_id"]
        existing = await tx.to_codes(message_id, (to_code,))
        if existing:
            await tx.save(row, None)
            delivery = existing[0]
        else:
            delivery = await tx.renumber(row, at, code=to_code)
        moved.append(delivery)
        data = {**audit.data, "from_code": from_code, "to_code": to_code, "move_key": move_key}
        if existing:
            data["merged"] = True
        tx.audit(
            dataclasses.replace(
                audit,
                message_id=message_id,
                document_id=audit.document_id or await tx.document_id(message_id),
                codes=audit.codes or (from_code, to_code),
                data=data,
            )
        )
    record = {"at": k.to_text(at), "moved": [d.message_id for d in moved]}
    tx.cmd("HSET", k.MOVES, move_key, k.dumps(record))
    return tuple(moved)


async def set_drain(tx: Tx, code: str, drain: bool, at: dt.datetime, audit: AuditDraft) -> None:
    """Record (or lift) an admin's choice to let a closed code drain its own deliveries."""
    if drain:
        tx.cmd("HSET", k.DRAINS, code, k.to_text(at))
    else:
        tx.cmd("HDEL", k.DRAINS, code)
    draft = filled(audit, codes=(code,))
    tx.audit(dataclasses.replace(draft, data={**draft.data, "drain": drain}))
