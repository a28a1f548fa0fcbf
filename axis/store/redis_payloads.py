"""Payloads in Redis: the bulk of the store, written outside the ordered commit, in shards.

A payload (20 KB to 20 MB of edXML) is most of a store's bytes and most of a commit's transfer
time, and nothing in it takes part in the ordering the commit protects. So ``accept`` (always
on a Redis Cluster; on one server for payloads over :data:`INLINE_MAX`, smaller ones ride in
the commit)

1. writes the payload first under a key of its own, in one of :data:`PAYLOAD_BUCKETS` shards
   (hash tag ``{p<b>}``: a Redis Cluster spreads the buckets over its masters), with a fresh
   nonce in its name, and notes it in the shard's ``written`` list;
2. then commits the message in the coordination slot, the message's JSON naming the payload
   (its :class:`PayloadRef`);
3. then, when the accept stored nothing (a duplicate, a reused id), deletes the payload; when
   it committed, the payload is taken off the ``written`` list (it is known committed) by the
   process's next payload write, in the same round trip (:func:`put`'s ``settled``): every
   write command is one more fsync with ``appendfsync always``, and the ``written`` list
   only has to be right eventually (a crash leaves a few committed payloads on it; the sweep
   sees their messages and takes them off).

A crash between 1 and 2 leaves an orphan payload: harmless (nothing names it) and found by
:func:`sweep` in the ``written`` lists once older than :data:`GRACE`; never a message without
its payload. The nonce makes every accept write a key nobody else writes, so a losing or
repeated accept can never overwrite (or delete) the payload of a stored message.

A purge removes messages in the commit and names their payloads in ``axis:{axis}:doomed`` in
the same commit; :func:`drop_doomed` then deletes them from the shards (again at every purge,
so a crash in between only delays it).

Why an orphan sweep cannot take a payload an accept is about to commit: the sweep deletes only
payloads noted more than :data:`GRACE` ago whose message is not committed, and only if the note
is unchanged at that instant (:data:`_DROP_IF_UNCHANGED`, atomic in the shard); an accept whose
commit came later than ``GRACE / 2`` after its write writes its payload again with a new note
before answering. Clocks of the nodes must agree within ``GRACE / 2`` (NTP does far better).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from axis.store import redis_keys as k
from axis.store.redis_client import Client

PAYLOAD_BUCKETS: Final = k.PAYLOAD_BUCKETS
INLINE_MAX: Final = 64 * 1024
"""On ONE server (not a cluster) a payload up to this size is written inside the commit, as
a plain ``SET`` among its commands: one fsync per accept instead of two (measured with
``appendfsync always``: 20 KB accepts about 20 % faster inline; 200 KB ones about 15 % faster
written first, out of the write lock; ``docs/scale.md`` §8). A cluster always writes first:
its commit cannot reach a shard."""
GRACE: Final = 3600.0
"""Seconds a written payload may wait for its commit before the sweep may call it an orphan."""
_CHUNK: Final = 500

_DROP_IF_UNCHANGED: Final = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[2])
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
return 0
"""
"""Delete an orphan (``KEYS[2]``) only if its note in ``written`` (``KEYS[1]``, member
``ARGV[1]``) still has the score the sweep saw (``ARGV[2]``): a re-write moved it."""


@dataclass(frozen=True, slots=True)
class PayloadRef:
    """Where one accept's payload is: its bucket and its name (message id and nonce)."""

    bucket: int
    name: str

    @classmethod
    def new(cls, message_id: str) -> PayloadRef:
        """A reference no other accept will draw: a random bucket, a random nonce."""
        return cls(secrets.randbelow(PAYLOAD_BUCKETS), f"{message_id}.{secrets.token_hex(8)}")

    @classmethod
    def parse(cls, text: str) -> PayloadRef:
        bucket, _, name = text.partition("/")
        return cls(int(bucket), name)

    def __str__(self) -> str:
        return f"{self.bucket}/{self.name}"

    @property
    def message_id(self) -> str:
        return self.name.rpartition(".")[0]

    @property
    def key(self) -> str:
        return k.payload_key(self.bucket, self.name)

    @property
    def written(self) -> str:
        return k.written_key(self.bucket)


def _now_ms() -> int:
    return int(time.time() * 1000)


async def put(
    raw: Client, ref: PayloadRef, data: bytes, settled: Sequence[PayloadRef] = ()
) -> float:
    """Note, then write, the payload, and take the ``settled`` payloads (their messages are
    committed) off the sweep's lists, in one round trip (a cluster sends each master its
    part at once); the monotonic time of the note, to tell later whether the sweep may have
    judged it."""
    noted = time.monotonic()
    async with raw.pipeline(transaction=False) as pipe:
        for done in settled:
            pipe.zrem(done.written, str(done))
        pipe.zadd(ref.written, {str(ref): _now_ms()})  # noted first: no payload is unlisted
        pipe.set(ref.key, data)
        await pipe.execute()
    return noted


async def settle(raw: Client, refs: Sequence[PayloadRef]) -> None:
    """These payloads' messages are committed: off the sweep's lists."""
    if not refs:
        return
    async with raw.pipeline(transaction=False) as pipe:
        for ref in refs:
            pipe.zrem(ref.written, str(ref))
        await pipe.execute()


async def discard(raw: Client, ref: PayloadRef) -> None:
    """The accept stored nothing (a duplicate, a reused id): its payload goes."""
    async with raw.pipeline(transaction=False) as pipe:
        pipe.delete(ref.key)
        pipe.zrem(ref.written, str(ref))
        await pipe.execute()


async def get(raw: Client, ref: PayloadRef) -> bytes | None:
    found = await raw.get(ref.key)
    return None if found is None else found if isinstance(found, bytes) else found.encode()


async def drop(raw: Client, refs: Sequence[PayloadRef]) -> None:
    """Delete payloads whose messages are gone (pipelined: a cluster groups them per master)."""
    if not refs:
        return
    async with raw.pipeline(transaction=False) as pipe:
        for ref in refs:
            pipe.delete(ref.key)
            pipe.zrem(ref.written, str(ref))
        await pipe.execute()


async def drop_doomed(client: Client, raw: Client) -> int:
    """Delete the payloads a committed purge named in ``doomed``; how many."""
    dropped = 0
    while True:
        found = await client.srandmember(k.DOOMED, _CHUNK)  # with a count: a list
        if not isinstance(found, list) or not found:
            return dropped
        members = k.texts(found)
        await drop(raw, [PayloadRef.parse(member) for member in members])
        await client.srem(k.DOOMED, *members)
        dropped += len(members)


async def sweep(client: Client, raw: Client) -> int:
    """Delete orphans: payloads noted more than :data:`GRACE` ago whose message is not
    committed (a crash between write and commit); a committed one just leaves the list.
    How many were deleted."""
    cutoff = _now_ms() - int(GRACE * 1000)
    drop_if = raw.register_script(_DROP_IF_UNCHANGED)
    dropped = 0
    pending = list(range(PAYLOAD_BUCKETS))
    while pending:
        async with raw.pipeline(transaction=False) as pipe:
            for bucket in pending:
                pipe.zrangebyscore(
                    k.written_key(bucket), "-inf", cutoff, start=0, num=_CHUNK, withscores=True
                )
            found = await pipe.execute()
        notes = [
            (PayloadRef.parse(k.text(member)), int(score))
            for rows in found
            for member, score in rows
        ]
        committed = await _committed(client, [ref for ref, _ in notes])
        for ref, score in notes:
            if str(ref) in committed:
                await settle(raw, [ref])
            else:
                keys = [ref.written, ref.key]
                dropped += int(await drop_if(keys=keys, args=[str(ref), score]))
        pending = [
            bucket for bucket, rows in zip(pending, found, strict=True) if len(rows) == _CHUNK
        ]
    return dropped


async def _committed(client: Client, refs: Sequence[PayloadRef]) -> set[str]:
    """Which of ``refs`` a committed message names (as text)."""
    if not refs:
        return set()
    async with client.pipeline(transaction=False) as pipe:
        for ref in refs:
            pipe.get(k.message_key(ref.message_id))
        texts = await pipe.execute()
    named: set[str] = set()
    for text in texts:
        if text is not None:
            payload = k.message_from_json(k.text(text))[1].get("payload")
            if payload is not None:
                named.add(str(payload))
    return named
