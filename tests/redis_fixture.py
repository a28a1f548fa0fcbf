"""A real ``redis-server`` for the Redis store's tests: started once per test session on a free
port in a temporary directory (AOF on, no RDB snapshots), shut down at the end.

No fake: the store's atomicity (WATCH/MULTI/EXEC), pub/sub wake-ups and key layout are what the
tests check, and only a real server has them. Where the binary is missing the tests are skipped
with a reason (CI installs it: ``.ci/run``).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests.probes import free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
_START_DEADLINE = 20.0


@dataclass(frozen=True)
class RedisServer:
    """A running server: where it listens and a synchronous client for raw commands."""

    port: int
    directory: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, db=0, decode_responses=True)


def _wait_for_ping(process: subprocess.Popen[bytes], port: int) -> bool:
    """Poll PING until the server answers or the deadline passes (False: it never did)."""
    deadline = time.monotonic() + _START_DEADLINE
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
                if client.ping():
                    return True
        return False
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One ``redis-server`` for the session (a few tries: a free port may be taken between
    choosing it and the server binding it)."""
    if not Path(REDIS_SERVER).is_file():
        pytest.skip(f"redis-server is not installed ({REDIS_SERVER}): the Redis store is untested")
    directory = tmp_path_factory.mktemp("redis")
    for _ in range(5):
        port = free_port()
        command = [
            REDIS_SERVER,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--dir", str(directory),
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--save", "",
            "--enable-debug-command", "local",  # DEBUG LOADAOF: reload what the AOF kept
            "--daemonize", "no",
        ]  # fmt: skip
        log = (directory / f"redis-{port}.log").open("wb")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        if _wait_for_ping(process, port):
            break
        process.kill()
        process.wait()
        log.close()
    else:
        pytest.fail(f"redis-server did not start (logs in {directory})")
    try:
        yield RedisServer(port, directory)
    finally:
        process.terminate()
        try:
            process.wait(timeout=_START_DEADLINE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def redis_db(redis_server: RedisServer) -> RedisServer:
    """The session's server with an empty database 0 (FLUSHDB before the test)."""
    client = redis_server.client()
    try:
        client.flushdb()
    finally:
        client.close()
    return redis_server
