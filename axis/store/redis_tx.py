"""One write of the Redis store: an optimistic transaction on the chain's head.

Every write appends audit events whose SHA-256 links on the chain's tail, and Redis 7's Lua
has no SHA-256 (``redis.sha1hex`` is the wrong hash), so the hashes are computed in Python, in
an optimistic transaction on the head (``axis:{axis}:head``: the chain's tail, the delivery and
message counters, and ``epoch``, bumped by every commit). A transaction

1. reads the head, remembering its ``epoch``;
2. reads what it needs and decides in Python, hashing its events with
   :func:`axis.audit.link` exactly as the SQLite store does, queueing every change;
3. commits with ONE call of :data:`COMMIT`, a Lua script that applies the queued commands only
   if the head's ``epoch`` is still the one read in step 1 (and bumps it); otherwise nothing
   is applied and the transaction is re-run from step 1 on the new state.

Every key the script touches is in the coordination slot ``{axis}`` (on a Redis Cluster a
script may only reach keys of one slot: :mod:`axis.store.redis_keys`). A payload is written to
its shard before the transaction and only named in it (:mod:`axis.store.redis_payloads`); the
one exception, a small payload on a single server (no slots there), rides in the script.

This is WATCH/MULTI/EXEC's check-and-set, done by the script: a script runs atomically (no
other command runs in between; its effects reach the AOF as one MULTI/EXEC block), and it
answers once where MULTI answers ``QUEUED`` per command (a reply to parse for each). As in
MULTI/EXEC, a command failing at run time would leave the earlier ones applied: the queued
commands are plain writes on keys of known types, and an oversized one is refused before
anything is sent (:meth:`Tx.commit_args`). Why not a lock: a process that dies holding it would
stall every node until it expires.

Every commit changes the epoch, so two transactions that read the same head cannot both
commit. The result is a single total order of writes across every axis process: the chain
never forks, a ``seq`` handed out is never reused, and deliveries become visible in seq order (a
recipient whose cursor passed seq N never later finds a delivery below N appear). Within one
process the writes are group-committed (:mod:`axis.store.redis_batch`): one transaction carries
many writes, run one after another, so re-runs only happen between processes.

:class:`Tx` is what the write functions see: reads that overlay the transaction's own pending
changes for deliveries, helpers that keep every index of a delivery (inbox, leases, dead
letters, counts) in step with its state, and what the group commit needs to put several writes
in one transaction: :meth:`Tx.mark` / :meth:`Tx.rollback` undo one write, and every read,
cached or not, is noted in ``Tx.db.reads`` (:class:`axis.store.redis_batch.TrackedReads`), so
that a write reading what an earlier one changed (not yet in Redis) can be put off.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from axis.audit import GENESIS, link_draft
from axis.store import redis_keys as k
from axis.store.records import (
    DEAD_STATES,
    OPEN_STATES,
    AuditDraft,
    AuditEvent,
    Delivery,
    MessageInfo,
)
from axis.store.redis_audit import audit_index_keys, event_from_row

if TYPE_CHECKING:
    from axis.store.redis_batch import TrackedReads

Row = dict[str, Any]
"""A delivery as stored (:func:`axis.store.redis_keys.delivery_row`)."""
Location = tuple[str, str | None]
"""What a command reads or writes: a key and a hash field, or None for the whole key."""

COMMIT: Final = """
local head = KEYS[1]
if (redis.call('HGET', head, 'epoch') or '0') ~= ARGV[1] then
  return 0
end
for _, command in ipairs(cjson.decode(ARGV[2])) do
  for j = 2, #command do
    if type(command[j]) == 'table' then
      command[j] = ARGV[command[j][1]]
    end
  end
  redis.call(unpack(command))
end
redis.call('HINCRBY', head, 'epoch', 1)
return 1
"""
"""The commit: ``KEYS[1]`` the head, ``ARGV[1]`` the epoch read, ``ARGV[2]`` every command as
one JSON array of arrays, a bytes argument as ``[its ARGV index]`` (:meth:`Tx.commit_args`).
1 if applied, 0 if another write came first."""

REGISTRY: Final[Location] = (k.HEAD, "registry")
"""Where the stored registry version is (:attr:`Tx.registry`)."""

_MAX_ARGS: Final = 2000
"""Arguments per queued command (Lua's ``unpack`` stops near 8000): bigger HSETs are split."""


@dataclasses.dataclass(frozen=True)
class Mark:
    """What :meth:`Tx.rollback` restores: the transaction as it was before one write."""

    cmds: int
    journal: int
    seq: int
    hash: str
    first: int
    dseq: int
    mseq: int
    registry: int | None
    registry_changed: bool
    new_codes: frozenset[str]


_ABSENT: Final = object()
"""In the undo journal: the entry did not exist."""


class Tx:
    """The reads and queued writes of one optimistic transaction (see the module docstring)."""

    def __init__(self, db: TrackedReads, head: Mapping[str, str]) -> None:
        self.db = db
        self.epoch = head.get("epoch", "0")
        self.seq = int(head.get("seq", 0))
        self.hash = head.get("hash", GENESIS)
        self.first = int(head.get("first", 1))
        self.dseq = int(head.get("dseq", 0))
        self.mseq = int(head.get("mseq", 0))
        self._registry = None if head.get("registry") is None else int(head["registry"])
        self.cmds: list[tuple[Any, ...]] = []
        self.new_codes: set[str] = set()
        self.registry_changed = False
        self._rows: dict[str, dict[str, Row]] = {}
        self._infos: dict[str, tuple[MessageInfo, dict[str, Any]] | None] = {}
        self._journal: list[tuple[dict[str, Any], str, object]] = []  # (cache, key, before)

    @property
    def registry(self) -> int | None:
        """The stored registry version (this transaction's, once it saves one): a read."""
        self.db.reads.add(REGISTRY)
        return self._registry

    @registry.setter
    def registry(self, number: int | None) -> None:
        self._registry = number

    # --- one write among several ------------------------------------------------------------
    def mark(self) -> Mark:
        """The transaction now, for :meth:`rollback`."""
        return Mark(
            len(self.cmds),
            len(self._journal),
            self.seq,
            self.hash,
            self.first,
            self.dseq,
            self.mseq,
            self._registry,
            self.registry_changed,
            frozenset(self.new_codes),
        )

    def rollback(self, mark: Mark) -> None:
        """Undo everything done since ``mark``: queued commands, audit links, counters, new
        codes, registry and the caches of messages and deliveries."""
        del self.cmds[mark.cmds :]
        while len(self._journal) > mark.journal:
            cache, key, before = self._journal.pop()
            if before is _ABSENT:
                cache.pop(key, None)
            else:
                cache[key] = before
        self.seq, self.hash, self.first = mark.seq, mark.hash, mark.first
        self.dseq, self.mseq = mark.dseq, mark.mseq
        self._registry, self.registry_changed = mark.registry, mark.registry_changed
        self.new_codes.clear()
        self.new_codes.update(mark.new_codes)

    def changed_since(self, mark: Mark) -> bool:
        """Whether anything was done since ``mark`` that needs a commit."""
        return len(self.cmds) > mark.cmds or self.registry_changed != mark.registry_changed

    def registry_saved_since(self, mark: Mark) -> bool:
        """Whether a registry version was written since ``mark`` (a write of :data:`REGISTRY`)."""
        return self._registry != mark.registry

    def _put(self, cache: dict[str, Any], key: str, value: object) -> None:
        """``cache[key] = value``, undoable."""
        self._journal.append((cache, key, cache.get(key, _ABSENT)))
        cache[key] = value

    def _drop(self, cache: dict[str, Any], key: str) -> None:
        """``del cache[key]`` if there, undoable."""
        if key in cache:
            self._journal.append((cache, key, cache.pop(key)))

    # --- queued writes ----------------------------------------------------------------------
    def cmd(self, *args: Any) -> None:
        """Queue one command for the commit script (one too long fails the write queueing
        it, not the batch it would have joined)."""
        _refuse_oversized(args)
        self.cmds.append(args)

    def cmd_many(self, command: str, key: str, items: list[str], width: int = 1) -> None:
        """Queue ``command key *items`` as several commands of at most :data:`_MAX_ARGS`
        arguments (``width``: items per entry, 2 for HSET's field-value pairs)."""
        step = _MAX_ARGS - _MAX_ARGS % width
        for first in range(0, len(items), step):
            self.cmd(command, key, *items[first : first + step])

    def commit_args(self, extra: list[tuple[Any, ...]]) -> list[Any]:
        """The :data:`COMMIT` script's ARGV: the epoch read, then every command (the head's new
        fields, the queued commands, ``extra``: the wake-up PUBLISHes) as ONE JSON array of
        arrays of strings. A bytes argument (a small payload riding in the commit) follows as
        an ARGV entry of its own, named in the JSON by ``[its ARGV index]``.

        One argument rather than one per word: redis-py packs every argument in Python (a few
        microseconds each, on the event loop), and a document's accept, fetch and ack queue
        about 380 of them; ``json.dumps`` packs them all at C speed.
        """
        fields = [item for pair in self.head_fields().items() for item in pair]
        blobs: list[bytes] = []
        commands: list[list[str | list[int]]] = []
        for command in (("HSET", k.HEAD, *fields), *self.cmds, *extra):
            _refuse_oversized(command)
            commands.append([_word(arg, blobs) for arg in command])
        return [self.epoch, k.dumps(commands), *blobs]

    def head_fields(self) -> dict[str, str]:
        fields = {
            "seq": str(self.seq),
            "hash": self.hash,
            "first": str(self.first),
            "dseq": str(self.dseq),
            "mseq": str(self.mseq),
            "layout": k.LAYOUT,
        }
        if self._registry is not None:
            fields["registry"] = str(self._registry)
        return fields

    def next_seq(self) -> int:
        """A new delivery seq (the inbox cursor); the head's ``dseq`` is INCR'd at commit."""
        self.dseq += 1
        return self.dseq

    # --- audit ------------------------------------------------------------------------------
    def audit(self, draft: AuditDraft) -> AuditEvent:
        """Link ``draft`` onto the chain (same hash as every backend) and queue it."""
        seq = self.seq + 1
        digest, at_text, codes_text, data_text = link_draft(self.hash, seq, draft)
        data = json.loads(data_text)
        codes = json.loads(codes_text)
        row = {
            "seq": seq,
            "kind": draft.kind,
            "at": at_text,
            "message_id": draft.message_id,
            "document_id": draft.document_id,
            "system_id": draft.system_id,
            "address": draft.address,
            "codes": codes,
            "data": data,
            "prev_hash": self.hash,
            "hash": digest,
        }
        self.cmd("HSET", k.AUDIT, str(seq), k.dumps(row))
        for key in audit_index_keys(row):
            self.cmd("ZADD", key, seq, str(seq))
        event = event_from_row(row)
        self.seq, self.hash = seq, digest
        return event

    # --- messages ---------------------------------------------------------------------------
    async def info(self, message_id: str) -> tuple[MessageInfo, dict[str, Any]] | None:
        """A stored message's record and raw JSON (cached for the transaction)."""
        self.db.reads.add((k.message_key(message_id), None))  # read even when cached
        if message_id not in self._infos:
            text = await self.db.get(k.message_key(message_id))
            found = None if text is None else k.message_from_json(k.text(text))
            self._put(self._infos, message_id, found)
        return self._infos[message_id]

    def created(self, info: MessageInfo, raw: dict[str, Any]) -> None:
        """Remember a message this transaction stores (it has no deliveries yet)."""
        self._put(self._infos, info.message_id, (info, raw))
        self._put(self._rows, info.message_id, {})

    async def document_id(self, message_id: str) -> str | None:
        found = await self.info(message_id)
        return None if found is None else found[0].document_id

    # --- deliveries -------------------------------------------------------------------------
    async def rows(self, message_id: str) -> dict[str, Row]:
        """A message's deliveries by code, with this transaction's changes applied."""
        self.db.reads.add((k.deliveries_key(message_id), None))  # read even when cached
        if message_id not in self._rows:
            stored = await self.db.hgetall(k.deliveries_key(message_id))
            found = {k.text(code): json.loads(text) for code, text in stored.items()}
            self._put(self._rows, message_id, found)
        return self._rows[message_id]

    async def to_codes(self, message_id: str, codes: Iterable[str]) -> tuple[Delivery, ...]:
        """The message's deliveries to ``codes``, in seq order."""
        rows = await self.rows(message_id)
        wanted = set(codes)
        found = [row for code, row in rows.items() if code in wanted]
        return tuple(k.delivery_from_row(row) for row in sorted(found, key=_by_seq))

    async def save(self, old: Row | None, new: Row | None) -> None:
        """Replace a delivery (``old`` -> ``new``; either may be None) and keep every index of
        it in step: the inbox of its code, the leases, the dead letters and the state counts."""
        if old is not None:
            mid, code = old["message_id"], old["code"]
            if old["state"] in OPEN_STATES:
                self.cmd("ZREM", k.inbox_key(code), mid)
            if old["state"] == "fetched":
                self.cmd("ZREM", k.LEASES, k.pair(mid, code))
            if old["state"] in DEAD_STATES:
                self.cmd("ZREM", k.DEAD, k.pair(mid, code))
            self.cmd("HINCRBY", k.COUNTS, old["state"], -1)
            if new is None or new["code"] != code:
                self.cmd("HDEL", k.deliveries_key(mid), code)
                self._drop(await self.rows(mid), code)
        if new is not None:
            mid, code = new["message_id"], new["code"]
            if new["state"] in OPEN_STATES:
                self.cmd("ZADD", k.inbox_key(code), new["seq"], mid)
            if new["state"] == "fetched":
                self.cmd(
                    "ZADD", k.LEASES, k.score(k.from_text(new["fetched_at"])), k.pair(mid, code)
                )
            if new["state"] in DEAD_STATES:
                self.cmd("ZADD", k.DEAD, new["seq"], k.pair(mid, code))
            self.cmd("HINCRBY", k.COUNTS, new["state"], 1)
            self.cmd("HSET", k.deliveries_key(mid), code, k.dumps(new))
            self._put(await self.rows(mid), code, new)

    async def change(self, old: Row, **fields: Any) -> Row:
        """``old`` with ``fields`` changed, saved."""
        new = {**old, **fields}
        await self.save(old, new)
        return new

    async def renumber(
        self,
        old: Row,
        at: dt.datetime,
        *,
        code: str | None = None,
        attempts: int | None = None,
    ) -> Delivery:
        """Make a delivery pending again under a NEW seq (a new inbox cursor), as if inserted
        afresh: no lease, no reason."""
        new = {
            **old,
            "seq": self.next_seq(),
            "code": old["code"] if code is None else code,
            "state": "pending",
            "attempts": old["attempts"] if attempts is None else attempts,
            "updated_at": k.to_text(at),
            "fetched_at": None,
            "reason": None,
        }
        await self.save(old, new)
        self.new_codes.add(new["code"])
        return k.delivery_from_row(new)


def _refuse_oversized(command: tuple[Any, ...]) -> None:
    """A command the script would fail half-way through is refused whole, before anything is
    sent."""
    if len(command) > _MAX_ARGS + 2:
        raise ValueError(f"{command[0]} with {len(command)} arguments: use cmd_many")


def _word(arg: Any, blobs: list[bytes]) -> str | list[int]:
    """One argument as the commit's JSON carries it: text as itself, a number as redis-py
    would write it, bytes as a reference to the ARGV entry appended for them (epoch is 1,
    the JSON 2)."""
    if isinstance(arg, str):
        return arg
    if isinstance(arg, bytes | bytearray | memoryview):
        blobs.append(bytes(arg))
        return [2 + len(blobs)]
    if isinstance(arg, int | float) and not isinstance(arg, bool):
        return repr(arg)
    raise TypeError(f"a Redis command argument must be text, bytes or a number, not {arg!r}")


def _by_seq(row: Row) -> int:
    return int(row["seq"])
