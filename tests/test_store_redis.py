"""RedisStore: the store contract on a real redis-server, plus what only Redis has (raw keys to
tamper with, several nodes on one database, pub/sub wake-ups, the AOF, the store URL).

Every contract test runs unchanged (none reaches into SQLite). The SQLite module's own tamper
test edits a table row; its Redis counterpart here edits the stored event with a raw command.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from axis.config import AxisConfig
from axis.resources import build_store, open_store
from axis.store import redis_keys as keys
from axis.store import redis_wake
from axis.store.errors import StoreError
from axis.store.protocol import Store
from axis.store.records import AuditEvent, AuditFilter
from axis.store.redis_store import RedisStore
from axis.store.redis_tx import Tx
from axis.store.sqlite import SqliteStore
from registry.model import Agency, Change
from tests.redis_fixture import RedisServer, redis_db, redis_server  # noqa: F401
from tests.store_contract import *  # noqa: F403 - the contract's tests run against this backend
from tests.store_contract import PAYLOAD, at, draft, edoc, status
from tests.test_registry_resolve import sample_registry


@pytest.fixture
def store_factory(redis_db: RedisServer) -> Callable[[], Store]:  # noqa: F811
    """Each call: a new, unopened RedisStore over this test's (flushed) database."""
    return lambda: RedisStore(redis_db.url)


def _run(store: Store, body: Callable[[Store], Awaitable[None]]) -> None:
    async def main() -> None:
        await store.open()
        try:
            await body(store)
        finally:
            await store.close()

    asyncio.run(main())


def test_tampering_with_a_stored_event_names_the_first_broken_seq(
    redis_db: RedisServer,  # noqa: F811
) -> None:
    async def fill(store: Store) -> None:
        for n in range(5):
            await store.accept(edoc("H38", doc=f"{n}"))
        assert (await store.verify_audit()).checked == 5

    _run(RedisStore(redis_db.url), fill)
    raw = redis_db.client()
    stored = raw.hget(keys.AUDIT, "3")
    assert isinstance(stored, str)
    event = json.loads(stored)
    raw.hset(keys.AUDIT, "3", json.dumps({**event, "data": {"forged": True}}))

    async def forged(store: Store) -> None:
        verdict = await store.verify_audit()
        assert not verdict.ok
        assert verdict.first_broken == 3
        assert verdict.checked == 2
        assert verdict.reason == "the stored hash does not match the event's content"

    _run(RedisStore(redis_db.url), forged)
    raw.hset(keys.AUDIT, "3", stored)
    raw.hdel(keys.AUDIT, "2")

    async def gap(store: Store) -> None:
        verdict = await store.verify_audit()
        assert verdict.first_broken == 3
        assert verdict.reason is not None
        assert "missing" in verdict.reason

    _run(RedisStore(redis_db.url), gap)
    raw.flushdb()
    _run(RedisStore(redis_db.url), fill)
    raw.hdel(keys.AUDIT, "5")  # the newest event: no later link notices, the head does

    async def tail(store: Store) -> None:
        verdict = await store.verify_audit()
        assert (verdict.ok, verdict.first_broken, verdict.checked) == (False, 5, 4)

    _run(RedisStore(redis_db.url), tail)
    raw.close()


def test_the_chain_holds_the_same_hashes_as_the_sqlite_store(
    redis_db: RedisServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    """One export format, one verifier: the same events hash the same in either backend."""
    original = edoc("H38", "H44", doc="55/CV", when=at(0))
    answer = status("H38", "G17", "55/CV", "03", when=at(1))
    seed = sample_registry()  # once: its versions carry the instant they were made
    chains: list[list[tuple[int, str, str]]] = []

    async def body(store: Store) -> None:
        await store.accept(original)
        await store.accept(answer)
        await store.mark_fetched(original.message_id, ["H44"], at(2), draft("message.fetched"))
        await store.append_audit([draft("auth.refused", at(3), data={"lý_do": "hết hạn"})])
        await store.seed_registry(seed)
        page = await store.audit_events(AuditFilter(), limit=1000)
        chains.append([(e.seq, e.kind, e.hash) for e in page.items])

    _run(RedisStore(redis_db.url), body)
    _run(SqliteStore(tmp_path / "axis.sqlite3"), body)
    assert chains[0] == chains[1]
    assert len(chains[0]) > 5


def test_two_nodes_on_one_database_keep_one_chain(redis_db: RedisServer) -> None:  # noqa: F811
    """Two axis processes: their writes interleave, conflict, re-run, and never fork."""

    async def body() -> None:
        one, two = RedisStore(redis_db.url), RedisStore(redis_db.url)
        await one.open()
        await two.open()
        try:
            messages = [edoc("H38", doc=f"{n}/CV") for n in range(60)]
            resends = [edoc("H44", key="gửi-lại") for _ in range(10)]
            writes: list[Awaitable[object]] = [
                (one if n % 2 else two).accept(msg) for n, msg in enumerate([*messages, *resends])
            ]
            writes.append(two.append_audit([draft("auth.refused", at(1))]))
            await asyncio.gather(*writes)
            inbox = await one.inbox(["H38", "H44"], limit=1000)
            assert len(inbox.items) == 61
            seqs = [item.delivery.seq for item in inbox.items]
            assert seqs == sorted(set(seqs))
            verdict = await two.verify_audit()
            assert verdict.ok, verdict
            assert verdict.checked == 62
        finally:
            await two.close()
            await one.close()

    asyncio.run(body())


def test_a_reused_message_id_fails_alone_and_writes_nothing(
    redis_db: RedisServer,  # noqa: F811
) -> None:
    async def body(store: Store) -> None:
        good = edoc("H38")
        clash = dataclasses.replace(edoc("H44"), message_id=good.message_id)  # same id, new key
        other = edoc("H44")
        results = await asyncio.gather(
            store.accept(good), store.accept(clash), store.accept(other), return_exceptions=True
        )
        assert isinstance(results[1], StoreError)
        assert results[1].code == "store.conflict"
        assert [i.message.message_id for i in (await store.inbox(["H44"])).items] == [
            other.message_id
        ]
        verdict = await store.verify_audit()
        assert (verdict.ok, verdict.checked) == (True, 2)

    _run(RedisStore(redis_db.url), body)


def test_a_commit_on_another_node_wakes_a_long_poll_through_pubsub(
    redis_db: RedisServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the periodic re-check pushed out of reach, only the pub/sub message can wake."""
    monkeypatch.setattr(redis_wake, "RECHECK", 300.0)

    async def body() -> None:
        sender, reader = RedisStore(redis_db.url), RedisStore(redis_db.url)
        await sender.open()
        await reader.open()
        try:
            seed = sample_registry()
            await reader.seed_registry(seed)
            deliveries = asyncio.create_task(reader.wait_for_delivery(["H38"], None, 120))
            registry = asyncio.create_task(reader.wait_registry_change(seed.version, 120))
            await asyncio.sleep(0)  # both register before the commits
            await sender.accept(edoc("H38"))
            assert await asyncio.wait_for(deliveries, 10) is True
            v2 = seed.apply(
                [Change("add", "G40", None, Agency("G40", "Bộ mới"))], author="a", reason="b"
            )
            assert await sender.save_registry(v2) == 1
            assert await asyncio.wait_for(registry, 10) == v2.version
        finally:
            await reader.close()
            await sender.close()

    asyncio.run(body())


def test_closing_the_store_releases_its_long_polls(redis_db: RedisServer) -> None:  # noqa: F811
    async def body() -> None:
        store = RedisStore(redis_db.url)
        await store.open()
        polls = [
            asyncio.create_task(store.wait_for_delivery(["H38"], None, 60)),
            asyncio.create_task(store.wait_registry_change(None, 60)),
        ]
        await asyncio.sleep(0.05)
        await store.close()
        done = await asyncio.wait_for(asyncio.gather(*polls), 10)
        assert done == [False, None]

    asyncio.run(body())


def test_reads_on_an_unseeded_store_write_nothing(redis_db: RedisServer) -> None:  # noqa: F811
    async def reads(store: Store) -> None:
        await store.ping()
        assert await store.load_registry() is None
        assert await store.registry_version() is None
        assert await store.payload("nope") is None
        assert (await store.inbox(["H38"])).items == ()
        assert (await store.verify_audit()).ok

    _run(RedisStore(redis_db.url), reads)
    raw = redis_db.client()
    assert raw.dbsize() == 0
    raw.close()


def test_what_was_acknowledged_is_in_the_append_only_file(
    redis_db: RedisServer,  # noqa: F811
) -> None:
    """DEBUG LOADAOF empties the memory and reloads the AOF: what an accept returned survives."""
    msg = edoc("H38", payload=PAYLOAD * 3)

    async def write(store: Store) -> None:
        await store.accept(msg)

    _run(RedisStore(redis_db.url), write)
    raw = redis_db.client()
    assert raw.config_get("appendonly")["appendonly"] == "yes"
    raw.execute_command("DEBUG", "LOADAOF")  # type: ignore[no-untyped-call]
    raw.close()

    async def read(store: Store) -> None:
        assert await store.payload(msg.message_id) == PAYLOAD * 3
        assert [i.message.message_id for i in (await store.inbox(["H38"])).items] == [
            msg.message_id
        ]
        assert (await store.verify_audit()).checked == 1

    _run(RedisStore(redis_db.url), read)


def test_keys_are_hash_tagged_by_agency_and_message(redis_db: RedisServer) -> None:  # noqa: F811
    msg = edoc("H38", "000.01.02.H38")

    async def write(store: Store) -> None:
        await store.accept(msg)

    _run(RedisStore(redis_db.url), write)
    raw = redis_db.client()
    names = set(raw.scan_iter("*"))
    raw.close()
    assert {"axis:{H38}:inbox", "axis:{000.01.02.H38}:inbox", "axis:{G17}:sent"} <= names
    assert keys.deliveries_key(msg.message_id) in names
    assert all(name.startswith("axis:") and "{" in name and "}" in name for name in names)


def test_build_store_opens_a_redis_url_that_accepts_and_serves(
    redis_db: RedisServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The composition root: AXIS_STORE=redis://... gives a RedisStore, opened by open_store."""
    config = AxisConfig(home=tmp_path / "home", store=redis_db.url)
    assert isinstance(build_store(config), RedisStore)
    msg = edoc("H38")

    async def serve() -> None:
        async with open_store(config) as store:
            assert isinstance(store, RedisStore)
            await store.accept(msg)
            (item,) = (await store.inbox(["H38"])).items
            assert item.message.subject == msg.subject
            assert await store.payload(msg.message_id) == PAYLOAD
            fetched = await store.mark_fetched(msg.message_id, ["H38"], at(1), draft("fetched"))
            assert fetched[0].state == "fetched"
            done = await store.ack(msg.message_id, ["H38"], "done", None, at(2), draft("acked"))
            assert done[0].state == "done"
            assert (await store.verify_audit()).checked == 3

    asyncio.run(serve())


def test_a_write_that_loses_the_race_runs_again_on_the_new_head(
    redis_db: RedisServer,  # noqa: F811
) -> None:
    """The optimistic commit itself: another node commits between this write's read of the
    head and its commit, so the commit applies nothing and the write re-runs, linking onto
    the other node's event instead of forking the chain."""

    async def body() -> None:
        mine, other = RedisStore(redis_db.url), RedisStore(redis_db.url)
        await mine.open()
        await other.open()
        runs: list[int] = []

        async def op(tx: Tx) -> AuditEvent:
            runs.append(tx.seq)
            if len(runs) == 1:
                await other.append_audit([draft("meanwhile", at(0))])
            return tx.audit(draft("mine", at(1)))

        try:
            event = await mine._transact(op)
            assert runs == [0, 1]
            assert (event.seq, event.kind) == (2, "mine")
            verdict = await mine.verify_audit()
            assert (verdict.ok, verdict.checked) == (True, 2)
        finally:
            await other.close()
            await mine.close()

    asyncio.run(body())
