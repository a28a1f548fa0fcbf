"""RedisStore's group commit (``axis/store/redis_batch.py``) on a real redis-server.

Concurrent writes of one process share one head read and one commit script call; inside a
batch each write stays isolated (one that raises leaves no trace, one that reads what an
earlier batch-mate wrote runs again in the next batch), and two processes batching at once
still keep one chain. Commits are counted by the server itself (``INFO commandstats``: the
commit script is the only script these tests run).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import pytest

from axis.store import redis_keys as keys
from axis.store import redis_payloads as payloads
from axis.store.protocol import Store
from axis.store.records import AcceptOutcome, AuditFilter, Delivery
from axis.store.redis_batch import TrackedReads, written
from axis.store.redis_store import RedisStore
from axis.store.redis_tx import Tx
from tests.redis_fixture import RedisServer, redis_db, redis_server  # noqa: F401
from tests.store_contract import at, draft, edoc, run_opened, status

_DEADLINE = 10.0


def _reset_stats(server: RedisServer) -> None:
    raw = server.client()
    try:
        raw.config_resetstat()
    finally:
        raw.close()


def _commits(server: RedisServer) -> int:
    """Calls of the commit script since :func:`_reset_stats`."""
    raw = server.client()
    try:
        stats: dict[str, Any] = raw.info("commandstats")
    finally:
        raw.close()
    evalsha = stats.get("cmdstat_evalsha", {})
    # a NOSCRIPT answer (the script not loaded yet: redis-py loads it and calls again) is a
    # failed call that committed nothing
    return int(evalsha.get("calls", 0)) - int(evalsha.get("failed_calls", 0))


async def _all_inbox(store: Store, codes: list[str]) -> list[Any]:
    items: list[Any] = []
    cursor: str | None = None
    while True:
        page = await store.inbox(codes, after=cursor, limit=100)
        items.extend(page.items)
        if page.cursor is None:
            return items
        cursor = page.cursor


@pytest.mark.parametrize("inline_max", [payloads.INLINE_MAX, 0], ids=["inline", "payload-first"])
def test_two_hundred_concurrent_accepts_share_a_few_commits(
    redis_db: RedisServer,  # noqa: F811
    inline_max: int,
) -> None:
    messages = [edoc("H38", "H44", doc=f"{n}/UBND") for n in range(200)]

    async def body(store: Store) -> None:
        _reset_stats(redis_db)
        outcomes = await asyncio.gather(*(store.accept(msg) for msg in messages))
        commits = _commits(redis_db)
        assert 1 <= commits <= 40, commits  # one per write would be 200
        assert not any(outcome.duplicate for outcome in outcomes)
        inbox = await _all_inbox(store, ["H38", "H44"])
        assert len(inbox) == 400
        seqs = [item.delivery.seq for item in inbox]
        assert seqs == list(range(1, 401))
        verdict = await store.verify_audit()
        assert (verdict.ok, verdict.checked) == (True, 200)

    run_opened(RedisStore(redis_db.url, inline_max=inline_max), body)


def test_two_accepts_of_one_key_in_one_batch_store_one_message(
    redis_db: RedisServer,  # noqa: F811
) -> None:
    """The second read the idempotency field the first wrote: it re-runs after the commit and
    finds the first as its duplicate, writing nothing (still one commit in all)."""
    first = edoc("H38", key="gửi-hai-lần")
    again = dataclasses.replace(edoc("H38", key="gửi-hai-lần"), subject="lần hai")

    async def body(store: Store) -> None:
        _reset_stats(redis_db)
        one, two = await asyncio.gather(store.accept(first), store.accept(again))
        assert _commits(redis_db) == 1
        assert (one.duplicate, two.duplicate) == (False, True)
        assert one.message_id == two.message_id == first.message_id
        assert two.deliveries == one.deliveries
        assert await store.message(again.message_id) is None
        assert len(await _all_inbox(store, ["H38"])) == 1
        verdict = await store.verify_audit()
        assert (verdict.ok, verdict.checked) == (True, 1)

    run_opened(RedisStore(redis_db.url), body)


def test_a_status_batched_with_its_original_still_joins_its_history(
    redis_db: RedisServer,  # noqa: F811
) -> None:
    """The status looks the original up in Redis, where it is not yet: it is put off to the
    next batch, which finds it."""
    original = edoc("H38", doc="55/CV", when=at(0))
    answer = status("H38", "G17", "55/CV", "03", when=at(1))

    async def body(store: Store) -> None:
        _reset_stats(redis_db)
        await asyncio.gather(store.accept(original), store.accept(answer))
        assert _commits(redis_db) == 2
        history = await store.statuses(original.message_id)
        assert [(entry.code, entry.status_code) for entry in history] == [("H38", "03")]
        assert (await store.verify_audit()).ok

    run_opened(RedisStore(redis_db.url), body)


def test_a_write_that_raises_fails_alone_and_leaves_no_trace(
    redis_db: RedisServer,  # noqa: F811
) -> None:
    """Between two accepts of one batch, a write that queued everything a write can (audit,
    seq, message number, a delivery, a new code, a command, a registry version) then raised:
    its caller gets the error, the others commit, the chain and the counters skip nothing."""
    good = [edoc("H38", doc="1/CV"), edoc("H44", doc="2/CV")]

    async def broken(tx: Tx) -> None:
        tx.audit(draft("never", at(1)))
        tx.mseq += 1
        ghost = Delivery(tx.next_seq(), "ghost", "X99", "X99", "pending", 0, at(0))
        await tx.save(None, keys.delivery_row(ghost))
        tx.new_codes.add("X99")
        tx.cmd("SET", keys.message_key("ghost"), "{}")
        tx.registry = 99
        tx.registry_changed = True
        raise ValueError("refused half-way")

    async def body(store: Store) -> None:
        assert isinstance(store, RedisStore)
        _reset_stats(redis_db)
        results = await asyncio.gather(
            store.accept(good[0]),
            store._transact(broken),
            store.accept(good[1]),
            return_exceptions=True,
        )
        assert _commits(redis_db) == 1
        assert isinstance(results[1], ValueError)
        assert all(isinstance(r, AcceptOutcome) and not r.duplicate for r in results[::2])
        assert await store.registry_version() is None
        assert await store.deliveries("ghost") == ()
        assert (await store.inbox(["X99"])).items == ()
        inbox = await _all_inbox(store, ["H38", "H44"])
        assert [item.delivery.seq for item in inbox] == [1, 2]
        verdict = await store.verify_audit()
        assert (verdict.ok, verdict.checked) == (True, 2)
        raw = redis_db.client()
        try:
            assert not raw.exists(keys.message_key("ghost"))
            head = raw.hgetall(keys.HEAD)
        finally:
            raw.close()
        assert (head["seq"], head["dseq"], head["mseq"]) == ("2", "2", "2")
        assert "registry" not in head

    run_opened(RedisStore(redis_db.url), body)


def test_rollback_restores_the_caches_counters_and_queue(
    redis_db: RedisServer,  # noqa: F811
) -> None:
    """Tx.mark / Tx.rollback alone, on a stored message's deliveries."""
    msg = edoc("H38", "H44")

    async def body(store: Store) -> None:
        assert isinstance(store, RedisStore)
        await store.accept(msg)
        tx = Tx(TrackedReads(store._db()), {"seq": "1", "dseq": "2", "mseq": "1"})
        before = dict(await tx.rows(msg.message_id))
        mark = tx.mark()
        await tx.renumber(before["H38"], at(1), code="G09")
        tx.audit(draft("moved", at(1)))
        assert "G09" in await tx.rows(msg.message_id)
        assert (tx.seq, tx.dseq, tx.new_codes) == (2, 3, {"G09"})
        tx.rollback(mark)
        assert await tx.rows(msg.message_id) == before
        assert (tx.seq, tx.dseq, tx.cmds, tx.new_codes) == (1, 2, [], set())
        assert (keys.deliveries_key(msg.message_id), None) in tx.db.reads

    run_opened(RedisStore(redis_db.url), body)


def test_every_command_a_write_queues_has_known_places() -> None:
    assert written(("HSET", "h", "a", "1", "b", "2")) == [("h", "a"), ("h", "b")]
    assert written(("HDEL", "h", "a")) == [("h", "a")]
    assert written(("HINCRBY", "h", "a", 1)) == [("h", "a")]
    assert written(("DEL", "x", "y")) == [("x", None), ("y", None)]
    assert written(("ZADD", "z", 1, "m")) == [("z", None)]
    with pytest.raises(ValueError, match="EXPIRE"):
        written(("EXPIRE", "x", 10))


def test_a_write_that_changes_nothing_does_not_wait_for_the_commit(
    redis_db: RedisServer,  # noqa: F811
) -> None:
    """A resend batched with a new accept is answered while the batch's commit is held."""
    stored = edoc("H38", key="đã-có")
    resend = edoc("H38", key="đã-có")
    fresh = edoc("H44")

    async def body(store: Store) -> None:
        assert isinstance(store, RedisStore)
        await store.accept(stored)
        script = store._commit
        assert script is not None
        release = asyncio.Event()

        async def held(**kwargs: Any) -> Any:
            await release.wait()
            return await script(**kwargs)

        store._commit = held  # type: ignore[assignment]
        new = asyncio.create_task(store.accept(fresh))
        again = asyncio.create_task(store.accept(resend))
        deadline = time.monotonic() + _DEADLINE
        while not again.done() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert again.done()
        assert not new.done()
        assert (await again).message_id == stored.message_id
        release.set()
        assert not (await asyncio.wait_for(new, _DEADLINE)).duplicate

    run_opened(RedisStore(redis_db.url), body)


def test_two_stores_batching_at_once_lose_nothing(redis_db: RedisServer) -> None:  # noqa: F811
    """Two processes' batches conflict and re-run: every accept lands once, each shared key
    is one message on both sides, seqs are unique, the chain verifies."""
    shared = [edoc("G09", key=f"chung-{n}") for n in range(20)]

    async def body() -> None:
        one, two = RedisStore(redis_db.url), RedisStore(redis_db.url)
        await one.open()
        await two.open()
        try:
            mine = [edoc("H38", doc=f"{n}/A") for n in range(150)]
            theirs = [edoc("H44", doc=f"{n}/B") for n in range(150)]
            again = [dataclasses.replace(msg, message_id=f"{msg.message_id}-b") for msg in shared]
            first = asyncio.gather(*(one.accept(msg) for msg in [*mine, *shared]))
            second = asyncio.gather(*(two.accept(msg) for msg in [*theirs, *again]))
            await asyncio.gather(first, second, one.append_audit([draft("refused", at(1))]))
            for a, b in zip(first.result()[150:], second.result()[150:], strict=True):
                assert a.message_id == b.message_id
                assert [a.duplicate, b.duplicate].count(True) == 1
            inbox = await _all_inbox(one, ["H38", "H44", "G09"])
            assert len(inbox) == 320
            seqs = [item.delivery.seq for item in inbox]
            assert seqs == sorted(set(seqs))
            verdict = await two.verify_audit()
            assert (verdict.ok, verdict.checked) == (True, 321), verdict
            page = await two.audit_events(AuditFilter(), limit=1000)
            assert [event.seq for event in page.items] == list(range(1, 322))
        finally:
            await two.close()
            await one.close()

    asyncio.run(body())


def test_close_commits_the_queued_writes_and_refuses_later_ones(
    redis_db: RedisServer,  # noqa: F811
) -> None:
    messages = [edoc("H38", doc=f"{n}/CV") for n in range(50)]

    async def body() -> None:
        store = RedisStore(redis_db.url)
        await store.open()
        accepts = [asyncio.create_task(store.accept(msg)) for msg in messages]
        await asyncio.sleep(0)  # every accept queued, none committed yet
        await store.close()
        outcomes = await asyncio.gather(*accepts)
        assert not any(outcome.duplicate for outcome in outcomes)
        with pytest.raises(RuntimeError, match="not open"):
            await store.accept(edoc("H38"))

    asyncio.run(body())

    async def read(store: Store) -> None:
        assert len(await _all_inbox(store, ["H38"])) == 50
        assert (await store.verify_audit()).checked == 50

    run_opened(RedisStore(redis_db.url), read)
