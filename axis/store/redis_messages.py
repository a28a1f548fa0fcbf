"""Messages in Redis: the atomic accept (with revoke withdrawals and status history) and the
reads of messages, payloads, statuses and a sender's sent list.

``accept`` runs inside one :class:`axis.store.redis_tx.Tx`: everything it decides (the message,
its deliveries, the withdrawals, the status entry, the audit events) is queued for the same
commit script, so a crash or a losing race leaves nothing behind. The message names its
payload's key; the payload is queued too (small, on one server) or already in its shard
(:mod:`axis.store.redis_payloads`). The rules are those of the SQLite store
(``axis.store.sqlite_messages``), read for read.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from typing import Any, Final

from axis.store import redis_keys as k
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
from axis.store.redis_client import Client
from axis.store.redis_inbox import walk
from axis.store.redis_payloads import PayloadRef
from axis.store.redis_tx import Row, Tx
from axis.store.sqlite_audit import filled

#: Delivery states in which the recipient has (or may have) read the original: it gets the revoke.
_SEEN: Final = frozenset({"fetched", "done", "fail", "dead"})
#: Status codes that answer a revoke/update/replace (business types 1..3) rather than the original.
_ANSWER_CODES: Final = frozenset({"15", "16"})


async def accept(tx: Tx, msg: NewMessage, payload: PayloadRef, *, inline: bool) -> AcceptOutcome:
    """Queue ``msg`` (naming ``payload``: already written, or ``inline``, written by this
    commit, which only one server allows) with its deliveries, withdrawals, status entry and
    audit events."""
    found = await tx.db.hget(k.IDEM, msg.idempotency_key)
    if found is not None:
        known = k.text(found)
        rows = await tx.rows(known)
        return AcceptOutcome(known, True, await tx.to_codes(known, rows))
    if await tx.db.exists(k.message_key(msg.message_id)):
        raise StoreError(
            "store.conflict", f"message id {msg.message_id} is already used", "message_id"
        )
    tx.mseq += 1
    n = tx.mseq
    info = MessageInfo(
        message_id=msg.message_id,
        kind=msg.kind,
        sender_system=msg.sender_system,
        sender_code=msg.sender_code,
        document_id=msg.document_id,
        business_type=msg.business_type,
        received_at=msg.received_at,
        size=len(msg.payload),
        subject=msg.subject,
        status_code=msg.status_code,
        refers_to=msg.refers_to,
        meta=msg.meta,
    )
    text = k.message_to_json(info, n, msg.idempotency_key, str(payload))
    tx.created(info, json.loads(text))
    mid = msg.message_id
    tx.cmd("SET", k.message_key(mid), text)
    if inline:
        tx.cmd("SET", payload.key, msg.payload)
    tx.cmd("HSET", k.IDEM, msg.idempotency_key, mid)
    tx.cmd("ZADD", k.RECEIVED, k.score(msg.received_at), mid)
    tx.cmd("ZADD", k.sent_key(msg.sender_code), n, mid)
    tx.cmd("ZADD", k.doc_key(msg.sender_code, msg.document_id), n, mid)
    if msg.refers_to:
        tx.cmd("ZADD", k.refers_key(msg.sender_code, msg.refers_to), n, mid)
    recipients: dict[str, Recipient] = {}
    for recipient in msg.recipients:  # the first request per code wins
        recipients.setdefault(recipient.code, recipient)
    skip: set[str] = set()
    withdrawn: list[str] = []
    if msg.revokes and msg.refers_to:
        skip, withdrawn = await _withdraw(tx, msg, list(recipients))
    deliveries: list[Delivery] = []
    for code, recipient in recipients.items():
        if code in skip:
            continue
        delivery = Delivery(
            tx.next_seq(),
            mid,
            code,
            recipient.requested,
            "pending",
            0,
            msg.received_at,
            resolution=recipient.resolution,
        )
        await tx.save(None, k.delivery_row(delivery))
        tx.new_codes.add(code)
        deliveries.append(delivery)
    status_of: dict[str, Any] = {}
    if msg.status_for is not None and msg.status_code is not None:
        status_of = {"status_of": await _record_status(tx, msg)}
    drafts = msg.audit
    if not drafts and status_of:  # the history's gap must be on record even without drafts
        drafts = (AuditDraft("status.recorded", msg.received_at, system_id=msg.sender_system),)
    for index, draft in enumerate(drafts):
        draft = filled(draft, message_id=mid, document_id=msg.document_id)
        if index == 0 and status_of:  # which original's history it joined (None: none found)
            draft = dataclasses.replace(draft, data={**draft.data, **status_of})
        tx.audit(draft)
    if status_of.get("status_of"):
        # the answer belongs to the ORIGINAL's story too: its trace shows who answered what
        tx.audit(
            AuditDraft(
                "status",
                msg.received_at,
                message_id=status_of["status_of"],
                document_id=msg.document_id,
                system_id=msg.sender_system,
                codes=(msg.sender_code,),
                data={"status_code": msg.status_code, "status_message_id": mid},
            )
        )
    return AcceptOutcome(mid, False, tuple(deliveries), tuple(withdrawn))


async def _edocs(tx: Tx, sender_code: str, document_id: str) -> list[str]:
    """The sender's edocs with this DocumentId, oldest first."""
    ids = await tx.db.zrange(k.doc_key(sender_code, document_id), 0, -1)
    found = []
    for message_id in k.texts(ids):
        stored = await tx.info(message_id)
        if stored is not None and stored[0].kind == "edoc":
            found.append(message_id)
    return found


async def _withdraw(tx: Tx, msg: NewMessage, codes: list[str]) -> tuple[set[str], list[str]]:
    """Withdraw pending copies of the revoked document; return (codes to skip, withdrawn)."""
    assert msg.refers_to is not None
    rows: list[Row] = []
    for message_id in await _edocs(tx, msg.sender_code, msg.refers_to):
        if message_id == msg.message_id:
            continue
        rows.extend(row for code, row in (await tx.rows(message_id)).items() if code in codes)
    rows.sort(key=lambda row: int(row["seq"]))
    seen = {row["code"] for row in rows if row["state"] in _SEEN}
    had = {row["code"] for row in rows}
    withdrawn: list[str] = []
    for row in rows:
        if row["state"] != "pending":
            continue
        await tx.change(
            row,
            state="withdrawn",
            updated_at=k.to_text(msg.received_at),
            reason=f"revoked by {msg.message_id}",
        )
        tx.audit(
            AuditDraft(
                "withdrawn",
                msg.received_at,
                message_id=row["message_id"],
                document_id=msg.refers_to,
                system_id=msg.sender_system,
                codes=(row["code"],),
                data={"revoke_message_id": msg.message_id},
            )
        )
        if row["code"] not in withdrawn:
            withdrawn.append(row["code"])
    skip = had - seen
    return skip, [code for code in withdrawn if code in skip]


async def _record_status(tx: Tx, msg: NewMessage) -> str | None:
    """Append the status to the answered original's history; the original's id or None."""
    assert msg.status_for is not None
    assert msg.status_code is not None
    original_sender, document_id = msg.status_for
    candidates: list[tuple[str, int]] = []
    for message_id in reversed(await _edocs(tx, original_sender, document_id)):  # newest first
        rows = await tx.rows(message_id)
        if any(msg.sender_code in (row["code"], row["requested"]) for row in rows.values()):
            stored = await tx.info(message_id)
            assert stored is not None
            candidates.append((message_id, stored[0].business_type))
    if not candidates:
        return None
    chosen = candidates[0][0]
    if msg.status_code in _ANSWER_CODES:
        chosen = next((mid for mid, btype in candidates if btype in (1, 2, 3)), chosen)
    entry = StatusEntry(chosen, msg.sender_code, msg.status_code, msg.received_at, msg.message_id)
    tx.cmd("RPUSH", k.statuses_key(chosen), k.status_to_json(entry))
    return chosen


# --- reads -----------------------------------------------------------------------------------


async def message(client: Client, message_id: str) -> MessageInfo | None:
    text = await client.get(k.message_key(message_id))
    return None if text is None else k.message_from_json(k.text(text))[0]


async def payload_ref(client: Client, message_id: str) -> PayloadRef | None:
    """Where a stored message's payload is (None: no such message)."""
    text = await client.get(k.message_key(message_id))
    if text is None:
        return None
    return PayloadRef.parse(str(k.message_from_json(k.text(text))[1]["payload"]))


async def infos(client: Client, message_ids: Sequence[str]) -> dict[str, tuple[MessageInfo, int]]:
    """Several messages' records with their numbers ``n``, in one round trip."""
    if not message_ids:
        return {}
    async with client.pipeline(transaction=False) as pipe:
        for message_id in message_ids:
            pipe.get(k.message_key(message_id))
        texts = await pipe.execute()
    found: dict[str, tuple[MessageInfo, int]] = {}
    for message_id, text in zip(message_ids, texts, strict=True):
        if text is not None:
            info, raw = k.message_from_json(k.text(text))
            found[message_id] = (info, int(raw["n"]))
    return found


async def deliveries(client: Client, message_id: str) -> tuple[Delivery, ...]:
    """Every delivery of a message, in cursor order."""
    return _deliveries_from((await client.hgetall(k.deliveries_key(message_id))).values())


def _deliveries_from(rows: Iterable[object]) -> tuple[Delivery, ...]:
    found = [k.delivery_from_row(json.loads(k.text(row))) for row in rows]
    return tuple(sorted(found, key=lambda d: d.seq))


async def message_with_deliveries(
    client: Client, message_id: str
) -> tuple[MessageInfo, tuple[Delivery, ...]] | None:
    """A message's record and its deliveries in one round trip."""
    async with client.pipeline(transaction=False) as pipe:
        pipe.get(k.message_key(message_id))
        pipe.hgetall(k.deliveries_key(message_id))
        text, stored = await pipe.execute()
    if text is None:
        return None
    return k.message_from_json(k.text(text))[0], _deliveries_from(stored.values())


async def find_messages(
    client: Client, sender_code: str, document_id: str, kind: MessageKind
) -> tuple[MessageInfo, ...]:
    """A sender's edocs with ``document_id``; for statuses, also those answering it."""
    ids = k.texts(await client.zrange(k.doc_key(sender_code, document_id), 0, -1))
    if kind == "status":
        ids += k.texts(await client.zrange(k.refers_key(sender_code, document_id), 0, -1))
    found = await infos(client, list(dict.fromkeys(ids)))
    ordered = sorted(found.values(), key=lambda pair: pair[1])
    return tuple(info for info, _ in ordered if info.kind == kind)


async def statuses(client: Client, message_id: str) -> tuple[StatusEntry, ...]:
    texts = await client.lrange(k.statuses_key(message_id), 0, -1)
    return tuple(k.status_from_json(text) for text in k.texts(texts))


async def sent(
    client: Client,
    sender_codes: Sequence[str],
    after: str | None,
    kind: MessageKind | None,
    limit: int,
) -> Page[SentItem]:
    """A sender's messages, newest first (the cursor is a message number ``n``)."""
    start = k.parse_cursor(after)
    codes = list(dict.fromkeys(sender_codes))
    if not codes or limit <= 0:
        return Page((), None)

    async def select(batch: list[tuple[int, str, int]]) -> list[MessageInfo | None]:
        found = await infos(client, [member for _, member, _ in batch])
        chosen: list[MessageInfo | None] = []
        for _, member, _ in batch:
            stored = found.get(member)
            ok = stored is not None and (kind is None or stored[0].kind == kind)
            chosen.append(stored[0] if stored is not None and ok else None)
        return chosen

    keys = [k.sent_key(code) for code in codes]
    rows = await walk(client, keys, start or None, descending=True, want=limit + 1, select=select)
    page = rows[:limit]
    items = []
    for _, info in page:
        latest: dict[str, StatusEntry] = {}
        for entry in await statuses(client, info.message_id):
            latest[entry.code] = entry
        items.append(SentItem(info, await deliveries(client, info.message_id), latest))
    cursor = str(page[-1][0]) if len(rows) > limit and page else None
    return Page(tuple(items), cursor)
