"""RedisStore: the store contract on a real redis-server, plus what only Redis has (raw keys to
tamper with, several nodes on one database, pub/sub wake-ups, the AOF, the store URL).

Every contract test runs unchanged (none reaches into SQLite). The SQLite module's own tamper
test edits a table row; its Redis counterpart here edits the stored event with a raw command.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from redis.crc import key_slot

from axis.config import AxisConfig
from axis.resources import build_store, open_store
from axis.store import open_store_url, redis_wake
from axis.store import redis_admin as admin
from axis.store import redis_keys as keys
from axis.store import redis_payloads as payloads
from axis.store.errors import StoreError
from axis.store.protocol import Store
from axis.store.records import AuditEvent, AuditFilter
from axis.store.redis_client import is_cluster
from axis.store.redis_payloads import PayloadRef
from axis.store.redis_store import RedisStore
from axis.store.redis_tx import Tx
from axis.store.sqlite import SqliteStore
from registry.model import Agency, Change
from tests.redis_fixture import RedisServer, redis_db, redis_server  # noqa: F401
from tests.store_contract import *  # noqa: F403 - the contract's tests run against this backend
from tests.store_contract import PAYLOAD, at, draft, edoc, run_opened, status
from tests.test_registry_resolve import sample_registry


@pytest.fixture(params=[payloads.INLINE_MAX, 0], ids=["inline", "payload-first"])
def inline_max(request: pytest.FixtureRequest) -> int:
    """Both ways an accept stores its payload on one server: inside the commit (small ones, by
    default) and written first (bigger ones; always on a cluster)."""
    return int(request.param)


@pytest.fixture
def store_factory(redis_db: RedisServer, inline_max: int) -> Callable[[], Store]:  # noqa: F811
    """Each call: a new, unopened RedisStore over this test's (flushed) database."""
    return lambda: RedisStore(redis_db.url, inline_max=inline_max)


def test_tampering_with_a_stored_event_names_the_first_broken_seq(
    redis_db: RedisServer,  # noqa: F811
) -> None:
    async def fill(store: Store) -> None:
        for n in range(5):
            await store.accept(edoc("H38", doc=f"{n}"))
        assert (await store.verify_audit()).checked == 5

    run_opened(RedisStore(redis_db.url), fill)
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

    run_opened(RedisStore(redis_db.url), forged)
    raw.hset(keys.AUDIT, "3", stored)
    raw.hdel(keys.AUDIT, "2")

    async def gap(store: Store) -> None:
        verdict = await store.verify_audit()
        assert verdict.first_broken == 3
        assert verdict.reason is not None
        assert "missing" in verdict.reason

    run_opened(RedisStore(redis_db.url), gap)
    raw.flushdb()
    run_opened(RedisStore(redis_db.url), fill)
    raw.hdel(keys.AUDIT, "5")  # the newest event: no later link notices, the head does

    async def tail(store: Store) -> None:
        verdict = await store.verify_audit()
        assert (verdict.ok, verdict.first_broken, verdict.checked) == (False, 5, 4)

    run_opened(RedisStore(redis_db.url), tail)
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

    run_opened(RedisStore(redis_db.url), body)
    run_opened(SqliteStore(tmp_path / "axis.sqlite3"), body)
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

    run_opened(RedisStore(redis_db.url), body)


def test_any_bytes_and_any_text_survive_the_commit_whole(
    redis_db: RedisServer,  # noqa: F811
) -> None:
    """The commit carries its commands as one JSON text and bytes beside it: a payload that is
    not UTF-8 (inline, so inside the commit), Vietnamese text and JSON's own quotes and
    backslashes in a subject must all come back as they went in."""
    binary = bytes(range(256)) * 40 + b"\xff\xfe\x00"
    subject = 'Về việc "sáp nhập" tỉnh Yên Bái \\ Lào Cai [1] {2}'

    async def body(store: Store) -> None:
        msg = dataclasses.replace(edoc("H38", payload=binary), subject=subject)
        outcome = await store.accept(msg)
        assert await store.payload(outcome.message_id) == binary
        info = await store.message(outcome.message_id)
        assert info is not None
        assert info.subject == subject
        verdict = await store.verify_audit()
        assert verdict.ok

    run_opened(RedisStore(redis_db.url), body)


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

    run_opened(RedisStore(redis_db.url), reads)
    raw = redis_db.client()
    assert raw.dbsize() == 0
    raw.close()


def test_what_was_acknowledged_is_in_the_append_only_file(
    redis_db: RedisServer,  # noqa: F811
    inline_max: int,
) -> None:
    """DEBUG LOADAOF empties the memory and reloads the AOF: what an accept returned survives."""
    msg = edoc("H38", payload=PAYLOAD * 3)

    async def write(store: Store) -> None:
        await store.accept(msg)

    run_opened(RedisStore(redis_db.url, inline_max=inline_max), write)
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

    run_opened(RedisStore(redis_db.url, inline_max=inline_max), read)


def test_ordered_keys_share_one_slot_and_payloads_go_to_their_shards(
    redis_db: RedisServer,  # noqa: F811
    inline_max: int,
) -> None:
    """What a cluster needs: every key the commit script touches hashes to the head's slot
    (a script may not reach another), and payloads carry a bucket tag of their own."""
    msg = edoc("H38", "000.01.02.H38", payload=PAYLOAD * 2)

    async def write(store: Store) -> None:
        await store.accept(msg)
        await store.accept(status("H38", "G17", msg.document_id, "01", when=at(1)))
        await store.mark_fetched(msg.message_id, ["H38"], at(2), draft("fetched"))

    run_opened(RedisStore(redis_db.url, inline_max=inline_max), write)
    raw = redis_db.client()
    names = set(raw.scan_iter("*"))
    raw.close()
    head_slot = key_slot(keys.HEAD.encode())
    payload_keys = {name for name in names if ":payload:" in name}
    ordered = names - payload_keys
    assert {keys.inbox_key("000.01.02.H38"), keys.sent_key("G17"), keys.LEASES} <= ordered
    assert {key_slot(name.encode()) for name in ordered} == {head_slot}
    assert len(payload_keys) == 2
    assert all(
        re.fullmatch(r"axis:\{p\d+\}:payload:[0-9a-f]+\.[0-9a-f]{16}", n) for n in payload_keys
    )
    assert not any(name.endswith(":written") for name in names)  # settled once committed


def test_a_resend_or_a_reused_id_leaves_no_payload_behind(
    redis_db: RedisServer,  # noqa: F811
    inline_max: int,
) -> None:
    """An accept that stores nothing leaves no payload (written first: it deletes its own),
    and never touches the stored message's (its key has another nonce)."""
    first = edoc("H38", key="một-lần", payload=b"<first/>")
    resend = dataclasses.replace(edoc("H38", key="một-lần"), payload=b"<resent/>")
    clash = dataclasses.replace(edoc("G09"), message_id=first.message_id, payload=b"<clash/>")

    async def body(store: Store) -> None:
        await store.accept(first)
        assert (await store.accept(resend)).duplicate
        with pytest.raises(StoreError) as refused:
            await store.accept(clash)
        assert refused.value.code == "store.conflict"
        assert await store.payload(first.message_id) == b"<first/>"

    run_opened(RedisStore(redis_db.url, inline_max=inline_max), body)
    raw = redis_db.client()
    names = set(raw.scan_iter("*"))
    raw.close()
    assert len([name for name in names if ":payload:" in name]) == 1
    assert not any(name.endswith(":written") for name in names)


def test_a_commit_whose_reply_was_lost_keeps_its_payload(
    redis_db: RedisServer,  # noqa: F811
    inline_max: int,
) -> None:
    """The commit applied but its reply was lost: redis-py sends it again, the epoch has
    moved, the accept re-runs and finds its own message as a duplicate. The payload it wrote
    is the one that message names: it must stay."""
    msg = edoc("H38")

    async def body(store: Store) -> None:
        assert isinstance(store, RedisStore)
        script = store._commit
        assert script is not None
        calls: list[int] = []

        async def applied_but_answered_late(**kwargs: Any) -> int:
            calls.append(await script(**kwargs))
            return 0 if len(calls) == 1 else calls[-1]  # the first answer is "another came first"

        store._commit = applied_but_answered_late  # type: ignore[assignment]
        outcome = await store.accept(msg)
        assert (outcome.message_id, outcome.duplicate, calls) == (msg.message_id, True, [1])
        assert await store.payload(msg.message_id) == PAYLOAD

    run_opened(RedisStore(redis_db.url, inline_max=inline_max), body)
    assert len(_payload_keys(redis_db)) == 1


def _payload_keys(server: RedisServer) -> set[str]:
    raw = server.client()
    try:
        return {str(name) for name in raw.scan_iter("axis:{p*}:payload:*")}
    finally:
        raw.close()


def test_a_crash_between_payload_and_commit_leaves_an_orphan_the_purge_sweeps(
    redis_db: RedisServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The payload is written, the process dies before its commit: nothing names it. A
    purge within the grace keeps it (its accept may still be committing), after it drops it;
    committed payloads are never taken."""
    kept = edoc("H38")
    orphan = PayloadRef.new("crashed")

    async def crash(store: Store) -> None:
        assert isinstance(store, RedisStore)
        await store.accept(kept)
        await payloads.put(store._bytes_db(), orphan, b"<never committed/>")

    async def purge(store: Store) -> None:
        await store.purge(at(-60 * 24), at(1))
        assert await store.payload(kept.message_id) == PAYLOAD

    run_opened(RedisStore(redis_db.url, inline_max=0), crash)
    assert len(_payload_keys(redis_db)) == 2
    run_opened(RedisStore(redis_db.url, inline_max=0), purge)
    assert orphan.key in _payload_keys(redis_db)  # younger than GRACE: left alone
    monkeypatch.setattr(payloads, "GRACE", 0.0)
    run_opened(RedisStore(redis_db.url, inline_max=0), purge)
    assert orphan.key not in _payload_keys(redis_db)
    assert len(_payload_keys(redis_db)) == 1


def test_a_crash_after_a_purge_commit_still_deletes_its_payloads(
    redis_db: RedisServer,  # noqa: F811
) -> None:
    """The purge's commit names the payloads (``doomed``); a crash before they are deleted
    leaves them named, and the next purge deletes them."""
    old = edoc("H38", when=at(-60 * 48))

    async def commit_only(store: Store) -> None:
        assert isinstance(store, RedisStore)
        await store.accept(old)
        await store._transact(lambda tx: admin.purge(tx, at(-60 * 24), at(1)))  # then "dies"
        assert await store.payload(old.message_id) is None  # the message is gone already

    async def next_purge(store: Store) -> None:
        await store.purge(at(-60 * 24), at(2))

    run_opened(RedisStore(redis_db.url, inline_max=0), commit_only)
    raw = redis_db.client()
    assert raw.scard(keys.DOOMED) == 1
    assert len(_payload_keys(redis_db)) == 1
    run_opened(RedisStore(redis_db.url, inline_max=0), next_purge)
    assert raw.scard(keys.DOOMED) == 0
    raw.close()
    assert _payload_keys(redis_db) == set()


def test_sweeps_racing_accepts_never_take_a_committed_payload(
    redis_db: RedisServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With no grace at all every payload in flight looks like an orphan to a sweep: the
    sweep's check-and-delete and the accept's re-write must still leave every accepted
    message with its payload."""
    monkeypatch.setattr(payloads, "GRACE", 0.0)
    messages = [edoc("H38", doc=f"{n}/CV", payload=PAYLOAD + bytes([n])) for n in range(40)]

    async def body() -> None:
        writer, sweeper = (
            RedisStore(redis_db.url, inline_max=0),
            RedisStore(redis_db.url, inline_max=0),
        )
        await writer.open()
        await sweeper.open()
        try:
            accepts = asyncio.gather(*(writer.accept(msg) for msg in messages))
            while not accepts.done():
                await sweeper.purge(at(-60 * 24), at(1))
            await accepts
            for n, msg in enumerate(messages):
                assert await sweeper.payload(msg.message_id) == PAYLOAD + bytes([n])
        finally:
            await sweeper.close()
            await writer.close()

    asyncio.run(body())
    assert len(_payload_keys(redis_db)) == len(messages)


def test_a_store_of_the_old_key_layout_is_refused_not_read_as_empty(
    redis_db: RedisServer,  # noqa: F811
) -> None:
    raw = redis_db.client()
    raw.hset(keys.HEAD, mapping={"epoch": "7", "seq": "3"})  # as layout 1 left it: no layout
    raw.close()
    with pytest.raises(StoreError) as refused:
        run_opened(RedisStore(redis_db.url), lambda store: store.ping())
    assert refused.value.code == "store.layout"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis://a:1,b:2/0", "several hosts name a cluster"),
        ("redis://a:1/0?cluster=maybe", "cluster= is true or false"),
        ("redis://a:1,b/0?cluster=true", "a seed node is HOST:PORT"),
    ],
)
def test_a_bad_redis_url_is_refused_when_the_store_is_made(url: str, problem: str) -> None:
    with pytest.raises(StoreError) as refused:
        open_store_url(url)
    assert refused.value.code == "store.bad_url"
    assert problem in refused.value.message


def test_cluster_urls_name_a_cluster_and_plain_ones_a_server() -> None:
    assert isinstance(open_store_url("redis://a:1,b:2/0?cluster=true"), RedisStore)
    assert is_cluster("rediss://:pw@a:1/0?cluster=yes&socket_timeout=3")
    assert not is_cluster("redis://a:1/0?cluster=false")
    assert not is_cluster("redis://a:1/0")


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
