"""RedisStore on a real 3-master Redis Cluster: the whole store contract, unchanged, and proof
that the payloads shard over every master while the ordered state stays in one slot.

The cluster is three ``redis-server --cluster-enabled yes`` (``tests/redis_cluster_fixture.py``);
each master is then asked, with a plain connection to it alone, which keys it holds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from redis.crc import key_slot

from axis.compose import letter
from axis.config import AxisConfig
from axis.store import redis_keys as keys
from axis.store import redis_payloads, redis_wake
from axis.store.protocol import Store
from axis.store.redis_store import RedisStore
from edxml import Organization
from signing.pki import TestPki
from tests.axis_server import RunningAxis
from tests.broker_fixtures import agencies
from tests.redis_cluster_fixture import (
    ClusterNodeInfo,
    RedisClusterServer,
    redis_cluster,  # noqa: F401
    redis_cluster_db,  # noqa: F401
)
from tests.store_contract import *  # noqa: F403 - the contract's tests run against the cluster
from tests.store_contract import PAYLOAD, at, edoc, run_opened

_DOCUMENTS = 60
"""Accepts in the sharding test: the chance that a random bucket choice misses one of three
masters 60 times running is (2/3)^60, about 3e-11."""


@pytest.fixture
def store_factory(redis_cluster_db: RedisClusterServer) -> Callable[[], Store]:  # noqa: F811
    """Each call: a new, unopened RedisStore over this test's (flushed) cluster."""
    return lambda: RedisStore(redis_cluster_db.url)


def _held(node: ClusterNodeInfo) -> set[str]:
    """Every key one master holds itself (SCAN on a plain connection: no redirection)."""
    client = node.client()
    try:
        return {str(name) for name in client.scan_iter("*", count=1000)}
    finally:
        client.close()


def _owner(cluster: RedisClusterServer, key: str) -> ClusterNodeInfo:
    slot = key_slot(key.encode())
    return next(node for node in cluster.nodes if node.first_slot <= slot <= node.last_slot)


def test_payloads_shard_over_every_master_and_the_ordered_state_stays_on_one(
    redis_cluster_db: RedisClusterServer,  # noqa: F811
) -> None:
    """After 60 accepts every master holds payloads (its own slots' buckets), every payload
    is stored once and reads back, and all the rest (head, messages, inboxes, audit) is on the
    master of the ``{axis}`` slot alone."""
    messages = [
        edoc("H38", "G09", doc=f"{n}/UBND", payload=PAYLOAD + bytes([n])) for n in range(_DOCUMENTS)
    ]

    async def body(store: Store) -> None:
        for msg in messages:
            await store.accept(msg)
        for n, msg in enumerate(messages):
            assert await store.payload(msg.message_id) == PAYLOAD + bytes([n])
        assert len((await store.inbox(["H38"], limit=1000)).items) == _DOCUMENTS
        assert (await store.verify_audit()).checked == _DOCUMENTS

    run_opened(RedisStore(redis_cluster_db.url), body)
    coordinator = _owner(redis_cluster_db, keys.HEAD)
    payload_keys: dict[int, set[str]] = {}
    for node in redis_cluster_db.nodes:
        held = _held(node)
        payload_keys[node.port] = {name for name in held if ":payload:" in name}
        # nothing but payload shards (and their sweep lists) off the coordinating master
        others = held - payload_keys[node.port]
        if node is coordinator:
            assert keys.HEAD in others
            assert all(name.startswith("axis:{axis}:") or ":written" in name for name in others)
        else:
            assert all(name.startswith("axis:{p") and name.endswith(":written") for name in others)
            assert not any(name.startswith("axis:{axis}") for name in held)
        assert all(_owner(redis_cluster_db, name) is node for name in held)
    assert all(payload_keys.values()), {port: len(found) for port, found in payload_keys.items()}
    assert sum(len(found) for found in payload_keys.values()) == _DOCUMENTS


def test_an_orphan_payload_on_another_master_is_swept(
    redis_cluster_db: RedisClusterServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A crash between payload and commit, on a cluster: the sweep finds the orphan in its
    shard, asks the coordinating master, and deletes it; the committed payloads stay."""
    kept = [edoc("H38", doc=f"{n}/CV") for n in range(10)]

    async def body(store: Store) -> None:
        assert isinstance(store, RedisStore)
        for msg in kept:
            await store.accept(msg)
        for n in range(10):
            ref = redis_payloads.PayloadRef.new(f"crashed-{n}")
            await redis_payloads.put(store._bytes_db(), ref, b"<never committed/>")
        monkeypatch.setattr(redis_payloads, "GRACE", 0.0)
        await store.purge(at(-60 * 24), at(1))
        for msg in kept:
            assert await store.payload(msg.message_id) == PAYLOAD

    run_opened(RedisStore(redis_cluster_db.url), body)
    held = set().union(*(_held(node) for node in redis_cluster_db.nodes))
    assert sum(":payload:" in name for name in held) == len(kept)
    assert not any(name.endswith(":written") for name in held)  # nothing left to judge
    assert not any("crashed-" in name for name in held)


def test_a_commit_on_another_node_wakes_a_long_poll_through_cluster_pubsub(
    redis_cluster_db: RedisClusterServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Classic PUBLISH (from the commit script) reaches subscribers on any node; with the
    re-check pushed out of reach only that message can wake the poll."""
    monkeypatch.setattr(redis_wake, "RECHECK", 300.0)

    async def body() -> None:
        sender, reader = RedisStore(redis_cluster_db.url), RedisStore(redis_cluster_db.url)
        await sender.open()
        await reader.open()
        try:
            poll = asyncio.create_task(reader.wait_for_delivery(["H38"], None, 120))
            await asyncio.sleep(0)  # registered before the commit
            await sender.accept(edoc("H38"))
            assert await asyncio.wait_for(poll, 10) is True
        finally:
            await reader.close()
            await sender.close()

    asyncio.run(body())


def test_every_master_is_asked_about_durability(
    redis_cluster_db: RedisClusterServer,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    """One master set to ``everysec``: the store's warning names it at open."""
    weak = redis_cluster_db.nodes[-1].client()
    try:
        weak.config_set("appendfsync", "everysec")

        async def nothing(store: Store) -> None:
            await store.ping()

        run_opened(RedisStore(redis_cluster_db.url), nothing)
        out = capsys.readouterr().out
        assert "store.redis_durability" in out
        assert f"127.0.0.1:{redis_cluster_db.nodes[-1].port}" in out
    finally:
        weak.config_set("appendfsync", "always")
        weak.close()


@pytest.fixture
def cluster_axis(
    redis_cluster_db: RedisClusterServer,  # noqa: F811
    test_pki: TestPki,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningAxis]:
    config = AxisConfig(
        home=tmp_path_factory.mktemp("axis-cluster-home"),
        store=redis_cluster_db.url,
        trust_dir=test_pki.trust_dir,
        signature_mode="require",
        require_sender_binding=True,
        intake_workers=1,
    )
    with RunningAxis(config) as running:
        yield running


def test_send_and_receive_through_an_axis_on_the_cluster(
    cluster_axis: RunningAxis,
    redis_cluster_db: RedisClusterServer,  # noqa: F811
    test_pki: TestPki,
) -> None:
    """HTTP in, the signed package byte-identical out, ack, and the payload on a shard."""
    cast = agencies(test_pki)
    h38, g22 = cast["H38"], cast["G22"]
    sender = cluster_axis.add_system("laocai-ioffice", (h38.code,))
    reader = cluster_axis.add_system("vpcp-qlvb", (g22.code,))
    to: tuple[Organization, ...] = (g22.org,)
    data = h38.sign(
        letter(h38.org, to, number="7", subject="Về việc sáp nhập", day=dt.date(2025, 7, 15))
    )
    sent = sender.send(data)
    assert sent.status == 202, sent.body
    message_id = sent.json()["message_id"]
    items = reader.inbox().json()["items"]
    assert [item["message_id"] for item in items] == [message_id]
    fetched = reader.fetch(message_id)
    assert fetched.status == 200
    assert fetched.body == data
    assert reader.ack(message_id).status == 200
    assert reader.inbox().json()["items"] == []
    held = set().union(*(_held(node) for node in redis_cluster_db.nodes))
    assert [name for name in held if f":payload:{message_id}." in name]
