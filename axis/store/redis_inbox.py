"""The inbox in Redis: what a recipient finds, pages through and long-polls for.

Reads only. Each code's open deliveries are a sorted set by seq (``axis:{C}:inbox``), so a page
over many codes is one ``ZRANGEBYSCORE ... LIMIT`` per code, pipelined in one round trip, and a
merge: a page costs the same whether a code has ten open deliveries or a backlog of fifty
thousand. :func:`walk` is that merge, shared with the sent list (newest first) and written so
that filters (kind, receipt time) that drop candidates just make it read a further chunk.

A read is not a snapshot: a delivery may change between the sorted set and its record being
read. Each candidate is therefore re-checked against its record (still open, same seq), so a
page never shows a delivery in a state the inbox does not hold.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Final, TypeVar

from axis.store import redis_keys as k
from axis.store.records import OPEN_STATES, Delivery, InboxItem, MessageInfo, MessageKind, Page
from axis.store.redis_client import Client

T = TypeVar("T")

Select = Callable[[list[tuple[int, str, int]]], Awaitable[list[T | None]]]
"""Given candidates ``(key index, member, score)``, the item each one yields (None: skipped)."""

_MIN_CHUNK: Final = 16


async def walk(
    client: Client,
    keys: Sequence[str],
    bound: int | None,
    *,
    descending: bool,
    want: int,
    select: Select[T],
) -> list[tuple[int, T]]:
    """Up to ``want`` items from the members of ``keys`` past ``bound`` (exclusive), merged in
    score order (ascending, or descending from just below ``bound``)."""
    chunk = max(want, _MIN_CHUNK)
    bounds: dict[int, str] = {}
    for index in range(len(keys)):
        if bound is None:
            bounds[index] = "+inf" if descending else "-inf"
        else:
            bounds[index] = f"({bound}"
    kept: dict[int, list[tuple[int, T]]] = {index: [] for index in bounds}
    active = list(bounds)
    while active:
        async with client.pipeline(transaction=False) as pipe:
            for index in active:
                if descending:
                    pipe.zrevrangebyscore(
                        keys[index], bounds[index], "-inf", start=0, num=chunk, withscores=True
                    )
                else:
                    pipe.zrangebyscore(
                        keys[index], bounds[index], "+inf", start=0, num=chunk, withscores=True
                    )
            results = await pipe.execute()
        batch = [
            (index, str(member), int(score))
            for index, found in zip(active, results, strict=True)
            for member, score in found
        ]
        chosen = await select(batch) if batch else []
        for (index, _, score), item in zip(batch, chosen, strict=True):
            if item is not None:
                kept[index].append((score, item))
        still: list[int] = []
        for index, found in zip(active, results, strict=True):
            if len(found) == chunk and len(kept[index]) < want:
                bounds[index] = f"({int(found[-1][1])}"
                still.append(index)
        active = still
    merged = sorted(
        (row for rows in kept.values() for row in rows),
        key=lambda row: row[0],
        reverse=descending,
    )
    return merged[:want]


async def _records(
    client: Client, batch: Sequence[tuple[str, str]]
) -> tuple[list[dict[str, object] | None], list[str | None]]:
    """The delivery records and message JSON of ``(message id, code)`` pairs, one round trip."""
    async with client.pipeline(transaction=False) as pipe:
        for message_id, code in batch:
            pipe.hget(k.deliveries_key(message_id), code)
            pipe.get(k.message_key(message_id))
        found = await pipe.execute()
    rows = [None if text is None else json.loads(text) for text in found[0::2]]
    return rows, list(found[1::2])


async def inbox(
    client: Client,
    codes: Sequence[str],
    after: str | None,
    kind: MessageKind | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    limit: int,
) -> Page[InboxItem]:
    """Open deliveries to ``codes`` after the cursor; ``since``/``until`` bound receipt time."""
    start = k.parse_cursor(after)
    wanted = list(dict.fromkeys(codes))
    if not wanted or limit <= 0:
        return Page((), None)

    async def select(batch: list[tuple[int, str, int]]) -> list[InboxItem | None]:
        rows, texts = await _records(client, [(mid, wanted[i]) for i, mid, _ in batch])
        chosen: list[InboxItem | None] = []
        for (_, _, seq), row, text in zip(batch, rows, texts, strict=True):
            item = None
            if row is not None and text is not None:
                delivery = k.delivery_from_row(row)
                info = k.message_from_json(text)[0]
                if (
                    delivery.seq == seq
                    and delivery.state in OPEN_STATES
                    and _matches(info, kind, since, until)
                ):
                    item = InboxItem(delivery, info)
            chosen.append(item)
        return chosen

    keys = [k.inbox_key(code) for code in wanted]
    rows = await walk(client, keys, start, descending=False, want=limit + 1, select=select)
    items = tuple(item for _, item in rows)
    page = items[:limit]
    cursor = page[-1].delivery.cursor if len(items) > limit and page else None
    return Page(page, cursor)


def _matches(
    info: MessageInfo,
    kind: MessageKind | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> bool:
    if kind is not None and info.kind != kind:
        return False
    if since is not None and info.received_at < since:
        return False
    return until is None or info.received_at < until


async def has_delivery(client: Client, codes: Sequence[str], after: str | None) -> bool:
    """Whether an open delivery to ``codes`` lies past the cursor (the long poll's check)."""
    start = k.parse_cursor(after)
    if not codes:
        return False
    async with client.pipeline(transaction=False) as pipe:
        for code in dict.fromkeys(codes):
            pipe.zrangebyscore(k.inbox_key(code), f"({start}", "+inf", start=0, num=1)
        found = await pipe.execute()
    return any(found)


async def dead_letters(client: Client, after: str | None, limit: int) -> Page[Delivery]:
    """Deliveries in ``fail`` or ``dead``, in cursor order."""
    start = k.parse_cursor(after)
    members = await client.zrangebyscore(k.DEAD, f"({start}", "+inf", start=0, num=limit + 1)
    pairs = [k.unpair(member) for member in k.texts(members)]
    found: list[Delivery] = []
    if pairs:
        rows, _ = await _records(client, pairs)
        found = [k.delivery_from_row(row) for row in rows if row is not None]
    page = tuple(found[:limit])
    return Page(page, page[-1].cursor if len(members) > limit and page else None)


async def drains(client: Client) -> frozenset[str]:
    """Codes an admin lets drain their own pending deliveries after a succession."""
    return frozenset(k.texts(await client.hkeys(k.DRAINS)))


async def delivery_counts(client: Client) -> dict[str, int]:
    """How many deliveries are in each state (the metrics' queue depths)."""
    counts = await client.hgetall(k.COUNTS)
    return {k.text(state): int(n) for state, n in counts.items() if int(n) > 0}
