"""A real 3-master Redis Cluster for the Redis store's tests: three ``redis-server
--cluster-enabled yes`` on free ports in a temporary directory (AOF on, ``appendfsync always``),
the 16384 slots split in three with ``CLUSTER ADDSLOTSRANGE``, joined by ``CLUSTER MEET``,
then polled until every node says ``cluster_state:ok``; shut down at the end of the session.

No replicas: the tests prove what shards (which master holds which key), and a replica holds
nothing a master does not. Started with server commands only (no ``redis-cli --cluster``,
which CI would need from another package). Where ``redis-server`` is missing, or was built
without cluster support, the tests are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

import pytest
import redis

from tests.probes import free_port, poll
from tests.redis_fixture import REDIS_SERVER

MASTERS: Final = 3
SLOTS: Final = 16384
_DEADLINE: Final = 30.0


@dataclass(frozen=True)
class ClusterNodeInfo:
    """One master: its client port and the slots ``[first, last]`` it was given."""

    port: int
    first_slot: int
    last_slot: int

    def client(self) -> redis.Redis:
        """A plain (not cluster-aware) client of this node alone: what it holds itself."""
        return redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True)


@dataclass(frozen=True)
class RedisClusterServer:
    """A running cluster: its masters and the store URL that names it."""

    nodes: tuple[ClusterNodeInfo, ...]
    directory: Path

    @property
    def url(self) -> str:
        """The cluster store URL, naming every master as a seed node."""
        seeds = ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)
        return f"redis://{seeds}/0?cluster=true"


@dataclass
class _Process:
    port: int
    bus: int
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    directory: Path


def _start(directory: Path, index: int) -> _Process:
    """One cluster-enabled server on a free client port and a free bus port (a few tries: a
    port may be taken between choosing it and the server binding it)."""
    for _ in range(5):
        port, bus = free_port(), free_port()
        if port == bus:
            continue
        home = directory / f"node-{index}-{port}"
        home.mkdir()
        command = [
            REDIS_SERVER,
            "--port", str(port),
            "--cluster-port", str(bus),
            "--bind", "127.0.0.1",
            "--dir", str(home),
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", "5000",
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--save", "",
            "--daemonize", "no",
        ]  # fmt: skip
        log = (home / "redis.log").open("wb")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        if _answers(process, port):
            return _Process(port, bus, process, log, home)
        process.kill()
        process.wait()
        log.close()
    pytest.fail(f"a cluster node did not start (logs in {directory})")


def _answers(process: subprocess.Popen[bytes], port: int) -> bool:
    """Poll PING until the server answers, dies, or the deadline passes."""
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)

    def ready() -> bool:
        if process.poll() is not None:
            return True  # dead: stop polling, the caller sees it did not answer
        with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
            return bool(client.ping())
        return False

    try:
        return poll(ready, _DEADLINE) and process.poll() is None
    finally:
        client.close()


def _cluster_ok(ports: list[int]) -> bool:
    """Every node sees the cluster up (all slots covered) and knows every other node."""
    for port in ports:
        client = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
        try:
            info = client.execute_command("CLUSTER", "INFO")
            text = info if isinstance(info, str) else str(info)
            if "cluster_state:ok" not in text or f"cluster_known_nodes:{len(ports)}" not in text:
                return False
        except redis.RedisError:
            return False
        finally:
            client.close()
    return True


def _supports_cluster() -> str | None:
    """Why cluster mode cannot be tested here, or None."""
    if not Path(REDIS_SERVER).is_file():
        return f"redis-server is not installed ({REDIS_SERVER}): the Redis cluster is untested"
    version = subprocess.run(
        [REDIS_SERVER, "--version"], capture_output=True, text=True, check=False
    ).stdout
    # CLUSTER ADDSLOTSRANGE and --cluster-port need Redis 7
    digits = version.partition(" v=")[2].split(".")[0]
    if not digits.isdigit() or int(digits) < 7:
        return f"redis-server is older than 7 ({version.strip()!r}): no ADDSLOTSRANGE"
    return None


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterServer]:
    """Three masters, each with a third of the slots, for the whole session."""
    reason = _supports_cluster()
    if reason is not None:
        pytest.skip(reason)
    directory = tmp_path_factory.mktemp("redis-cluster")
    started: list[_Process] = []
    try:
        for index in range(MASTERS):
            started.append(_start(directory, index))
        nodes: list[ClusterNodeInfo] = []
        share = SLOTS // MASTERS
        for index, server in enumerate(started):
            first = index * share
            last = SLOTS - 1 if index == MASTERS - 1 else first + share - 1
            client = redis.Redis(host="127.0.0.1", port=server.port)
            try:
                client.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)
                if index:  # each meets the first node (on its bus port); gossip tells the rest
                    first_node = started[0]
                    client.execute_command(
                        "CLUSTER", "MEET", "127.0.0.1", first_node.port, first_node.bus
                    )
            except redis.ResponseError as exc:
                if "unknown command" in str(exc).lower() or "cluster support" in str(exc):
                    pytest.skip(f"redis-server has no cluster support: {exc}")
                raise
            finally:
                client.close()
            nodes.append(ClusterNodeInfo(server.port, first, last))
        ports = [node.port for node in nodes]
        if not poll(lambda: _cluster_ok(ports), _DEADLINE, 0.1):
            pytest.fail(f"the cluster did not reach cluster_state:ok (logs in {directory})")
        yield RedisClusterServer(tuple(nodes), directory)
    finally:
        for server in started:
            server.process.terminate()
        for server in started:
            try:
                server.process.wait(timeout=_DEADLINE)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()
            server.log.close()


@pytest.fixture
def redis_cluster_db(redis_cluster: RedisClusterServer) -> RedisClusterServer:
    """The session's cluster, every master emptied (FLUSHALL) before the test."""
    for node in redis_cluster.nodes:
        client = node.client()
        try:
            client.flushall()
        finally:
            client.close()
    return redis_cluster
