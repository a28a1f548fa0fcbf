"""Two ``axis serve`` processes on two ports, sharing one Redis, are one axis.

A deployment scales out by starting more nodes on the same Redis; nothing may depend on which
node an agency's system happens to reach. Each node here has its own ``AXIS_HOME`` (so nothing
is shared through files): only the store joins them. A document sent through node A is read,
fetched and acknowledged through node B; a long poll held by B is woken by A's commit through
Redis pub/sub; a system added once with the CLI is known by both; both show the same trace;
the same document sent to both at once is stored once. Last, Redis is restarted under them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from signing.pki import TestPki
from tests.axis_server import AxisHttp, Reply
from tests.probes import free_port, poll
from tests.redis_fixture import REDIS_SERVER
from tests.test_crash import (
    AUDITOR,
    AxisProcess,
    Deployment,
    OwnRedis,
    add_system,
    axis_env,
    deploy,
    signed_letter,
)

WAKE_WITHIN = 0.5
"""Seconds between A's 202 and B's long poll answering. A node without the pub/sub wake-up
would only notice at its next re-check, a full second (``redis_wake.RECHECK``) after the poll
began waiting, which this test starts right after it sees B waiting: about 0.8-0.9 s later."""


@dataclass
class TwoNodes:
    deployment: Deployment
    a: AxisProcess
    b: AxisProcess
    redis: OwnRedis

    def client(self, node: AxisProcess, key: str) -> AxisHttp:
        return self.deployment.client(node.port, key)


@pytest.fixture(scope="module")
def nodes(test_pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoNodes]:
    """A redis-server of this module, the systems added once by the CLI, then two nodes
    started side by side (each start is a few seconds of imports and worker warm-up)."""
    if not Path(REDIS_SERVER).is_file():
        pytest.skip(f"redis-server is not installed ({REDIS_SERVER}): the Redis store is untested")
    root = tmp_path_factory.mktemp("two-nodes")
    (root / "redis").mkdir()
    redis = OwnRedis(root / "redis")
    redis.start()
    a = b = None
    try:
        deployment = deploy(axis_env(root / "cli-home", test_pki, redis.url), test_pki)
        a = AxisProcess(axis_env(root / "home-a", test_pki, redis.url), free_port(), root / "a.log")
        b = AxisProcess(axis_env(root / "home-b", test_pki, redis.url), free_port(), root / "b.log")
        a.launch()
        b.launch()
        a.wait_healthy()
        b.wait_healthy()
        yield TwoNodes(deployment, a, b, redis)
        assert a.terminate() == 0, a.tail()
        assert b.terminate() == 0, b.tail()
    finally:
        for node in (a, b):
            if node is not None:
                node.close()
        redis.close()


def _sent(reply: Reply) -> str:
    assert reply.status == 202, reply.body
    return str(reply.json()["message_id"])


def _cursor(client: AxisHttp) -> str | None:
    """Where a poller stands now: the inbox's cursor after whatever is already there (None
    while the inbox has never held anything: the poll then waits for the first delivery)."""
    cursor: str | None = None
    while True:
        page = client.inbox(after=cursor, limit=100).json()
        cursor = page["cursor"]
        if not page["more"]:
            return cursor


def test_sent_through_a_received_fetched_and_acked_through_b(nodes: TwoNodes) -> None:
    cast = nodes.deployment.cast
    data = signed_letter(cast, "H38", "Gửi qua nút A")
    message_id = _sent(nodes.client(nodes.a, "H38").send(data))
    g22_b, g09_b = nodes.client(nodes.b, "G22"), nodes.client(nodes.b, "G09")
    listed = [item["message_id"] for item in g22_b.inbox().json()["items"]]
    assert message_id in listed
    fetched = g22_b.fetch(message_id)
    assert (fetched.status, fetched.body) == (200, data)
    assert g22_b.ack(message_id).status == 200
    assert g09_b.fetch(message_id).status == 200
    assert g09_b.ack(message_id).status == 200
    for node in (nodes.a, nodes.b):  # gone from both nodes' inboxes, not only B's
        for key in ("G22", "G09"):
            items = nodes.client(node, key).inbox().json()["items"]
            assert message_id not in [item["message_id"] for item in items]
    trace = nodes.client(nodes.a, "H38").trace(message_id).json()
    assert sorted((d["code"], d["state"]) for d in trace["deliveries"]) == [
        (cast["G09"].code, "done"),
        (cast["G22"].code, "done"),
    ]
    acked = sorted(
        (e["system_id"], tuple(e["codes"])) for e in trace["events"] if e["kind"] == "acked"
    )
    assert acked == [("bnv-edoc", (cast["G09"].code,)), ("vpcp-qlvb", (cast["G22"].code,))]


def _wake_round(nodes: TwoNodes) -> float:
    """One long poll of G22 on B, a letter accepted by A as soon as B is seen waiting; the
    seconds from A's 202 to B's answer (negative: B answered before the 202 reached us)."""
    g22_b = nodes.client(nodes.b, "G22")
    auditor_b = nodes.client(nodes.b, AUDITOR)
    cursor = _cursor(g22_b)
    answered: list[tuple[float, Reply]] = []

    def long_poll() -> None:
        reply = g22_b.inbox(after=cursor, wait=30)
        answered.append((time.monotonic(), reply))

    poller = threading.Thread(target=long_poll, daemon=True)
    poller.start()
    assert poll(
        lambda: b"axis_inbox_waiting 1.0" in auditor_b.request("GET", "/metrics").body, 20, 0.02
    ), "the long poll never waited on B"
    data = signed_letter(nodes.deployment.cast, "H38")
    message_id = _sent(nodes.client(nodes.a, "H38").send(data))
    accepted_at = time.monotonic()
    poller.join(timeout=35)
    assert not poller.is_alive()
    [(answered_at, reply)] = answered
    assert reply.status == 200, reply.body
    assert [item["message_id"] for item in reply.json()["items"]] == [message_id]
    for key in ("G22", "G09"):  # leave nothing open for the other tests
        assert nodes.client(nodes.a, key).ack(message_id).status == 200
    return answered_at - accepted_at


def test_a_long_poll_on_b_wakes_when_a_accepts(nodes: TwoNodes) -> None:
    for round_ in range(2):
        waited = _wake_round(nodes)
        assert waited < WAKE_WITHIN, f"round {round_}: B answered {waited:.2f} s after A's 202"


def test_the_same_document_sent_to_both_at_once_is_stored_once(nodes: TwoNodes) -> None:
    """An agency's retry may reach another node while the first try is still in flight: the
    two nodes race on the same idempotency key, and one message must come out of it."""
    cast = nodes.deployment.cast
    for _ in range(4):
        data = signed_letter(cast, "G22", "Gửi hai lần")
        gate = threading.Barrier(2)
        replies: list[Reply] = []

        def send(
            node: AxisProcess,
            data: bytes = data,
            gate: threading.Barrier = gate,
            into: list[Reply] = replies,
        ) -> None:
            client = nodes.client(node, "G22")
            gate.wait(timeout=10)
            into.append(client.send(data))

        racers = [threading.Thread(target=send, args=(n,)) for n in (nodes.a, nodes.b)]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join(timeout=30)
        assert sorted(r.status for r in replies) == [200, 202], [r.body for r in replies]
        [message_id] = {r.json()["message_id"] for r in replies}
        for key in ("H38", "G09"):
            client = nodes.client(nodes.b, key)
            listed = [item["message_id"] for item in client.inbox(limit=100).json()["items"]]
            assert listed.count(message_id) == 1
            assert client.ack(message_id).status == 200


def test_a_system_added_once_is_known_by_both(nodes: TwoNodes) -> None:
    """Added by the CLI while both nodes serve: neither was told, both find it in Redis (an
    unknown system is never cached, so its first call succeeds on each node)."""
    secret = add_system(nodes.deployment.env, "thanh-tra", "--role", "auditor")
    for node in (nodes.a, nodes.b):
        reply = AxisHttp(node.port, "thanh-tra", secret).request("GET", "/metrics")
        assert reply.status == 200, (node.port, reply.body)
    wrong = AxisHttp(nodes.b.port, "thanh-tra", secret + "x").request("GET", "/metrics")
    assert wrong.status == 401


def test_the_trace_is_the_same_from_both(nodes: TwoNodes) -> None:
    cast = nodes.deployment.cast
    message_id = _sent(nodes.client(nodes.b, "G09").send(signed_letter(cast, "G09")))
    assert nodes.client(nodes.a, "H38").fetch(message_id).status == 200
    assert nodes.client(nodes.b, "H38").ack(message_id).status == 200
    traces = [
        nodes.client(node, key).trace(message_id)
        for node in (nodes.a, nodes.b)
        for key in (AUDITOR, "G09", "H38")
    ]
    assert all(t.status == 200 for t in traces), [t.body for t in traces]
    first = traces[0].json()
    assert all(t.json() == first for t in traces[1:])
    kinds = [e["kind"] for e in first["events"]]
    assert kinds[:2] == ["received", "verified"]
    assert {"stored", "fetched", "acked"} <= set(kinds)


def _first_try_statuses(nodes: TwoNodes, message_id: str) -> list[int]:
    """A fetch and a trace through each node, each tried once (as an agency's client would
    report them, a 500 counting as a failure)."""
    statuses: list[int] = []
    for node in (nodes.a, nodes.b):
        statuses.append(nodes.client(node, "G22").fetch(message_id).status)
        statuses.append(nodes.client(node, AUDITOR).trace(message_id).status)
    return statuses


def test_the_first_calls_after_redis_restarts_succeed(nodes: TwoNodes) -> None:
    """Redis back (it answers PING, its AOF reloaded): the next calls on both nodes should
    succeed, not fail once per connection each node had pooled before the restart."""
    cast = nodes.deployment.cast
    message_id = _sent(nodes.client(nodes.a, "H38").send(signed_letter(cast, "H38")))
    assert _first_try_statuses(nodes, message_id) == [200] * 4  # the pools hold connections
    nodes.redis.kill()
    nodes.redis.start()
    try:
        assert _first_try_statuses(nodes, message_id) == [200] * 4
    finally:
        _recover(nodes, message_id)
        for key in ("G22", "G09"):
            assert nodes.client(nodes.a, key).ack(message_id).status == 200


def _recover(nodes: TwoNodes, message_id: str) -> None:
    """Call both nodes, 16 calls at once (more than either ever had in flight, so every
    pooled connection is taken), until two such bursts answer 200 throughout: each stale
    connection fails its one call and reconnects."""
    clean = 0
    deadline = time.monotonic() + 20
    while clean < 2:
        assert time.monotonic() < deadline, "the nodes never recovered from the restart"
        statuses: list[int] = []

        def calls(into: list[int] = statuses) -> None:
            into.extend(_first_try_statuses(nodes, message_id))

        burst = [threading.Thread(target=calls) for _ in range(4)]
        for thread in burst:
            thread.start()
        for thread in burst:
            thread.join(timeout=30)
        clean = clean + 1 if statuses == [200] * 16 else 0


def test_b_still_wakes_at_once_after_redis_restarts(nodes: TwoNodes) -> None:
    """Last in the module: redis-server SIGKILLed and started again on its AOF under both
    nodes. What was stored is there; B's pub/sub listener reconnects and resubscribes by
    itself, so its long polls wake at once again (not only at the once-a-second re-check)."""
    cast = nodes.deployment.cast
    message_id = _sent(nodes.client(nodes.a, "H38").send(signed_letter(cast, "H38")))
    nodes.redis.kill()
    nodes.redis.start()
    _recover(nodes, message_id)  # past the 500s of the stale connections: the test above
    g22_b = nodes.client(nodes.b, "G22")
    fetched = g22_b.fetch(message_id)
    assert fetched.status == 200, fetched.body
    for key in ("G22", "G09"):
        assert nodes.client(nodes.b, key).ack(message_id).status == 200
    deadline = time.monotonic() + 20
    rounds: list[float] = []
    while time.monotonic() < deadline:  # the listener retries after a second: a few rounds
        rounds.append(_wake_round(nodes))
        if rounds[-1] < WAKE_WITHIN:
            break
    assert rounds[-1] < WAKE_WITHIN, f"B woke {rounds} s after A's 202s"
