"""``axis serve --workers 2`` as an operator runs it: one port, two server processes that both
answer (told apart by ``X-Axis-Node`` and seen listening in /proc), a document sent and received
through them over the shared SQLite store, then SIGTERM: exit 0 and no process of the tree left.
A child that dies on its own stops the node with a non-zero exit (no silent restart)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from axis.serve_workers import NODE_HEADER, ChildOptions, child_command
from tests.axis_server import AxisHttp
from tests.edxml_helpers import NEW_DOCUMENT, example
from tests.probes import free_port, poll

AXIS = [sys.executable, "-m", "axis.cli"]

pytestmark = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc")


def _add_system(env: dict[str, str], system_id: str, *options: str) -> str:
    """``axis systems add`` in its own process; the secret it prints once."""
    added = subprocess.run(
        [*AXIS, "systems", "add", system_id, *options],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return next(
        line.split(":", 1)[1].strip()
        for line in added.stdout.splitlines()
        if line.startswith("secret:")
    )


def _children(pid: int) -> list[int]:
    """The direct children of ``pid`` (every thread's list; empty once it is gone)."""
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(p) for p in (task / "children").read_text().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []
    return found


def _descendants(pid: int) -> set[int]:
    seen: set[int] = set()
    todo = _children(pid)
    while todo:
        child = todo.pop()
        if child not in seen:
            seen.add(child)
            todo += _children(child)
    return seen


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper that is not ours counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on ``port`` (TCP state 0A), from this namespace's tables."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def _listens(pid: int, port: int) -> bool:
    """``pid`` holds a socket listening on ``port``."""
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    try:
        links = {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()}
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    return bool(links & wanted)


def _node_of(client: AxisHttp) -> str | None:
    try:
        reply = client.request("GET", "/v1/health", timeout=5)
    except OSError:
        return None
    return reply.headers.get(NODE_HEADER) if reply.status == 200 else None


@contextmanager
def _serving(
    tmp_path: Path, *flags: str
) -> Iterator[tuple[subprocess.Popen[bytes], int, dict[str, str]]]:
    """``axis serve --workers 2`` on a free port; killed (with its tree) if the test fails."""
    port = free_port()
    config = tmp_path / "axis.toml"
    config.write_text(f'[axis]\nport = {port}\nintake_workers = 1\nhome = "{tmp_path / "home"}"\n')
    env = {**os.environ, "AXIS_CONFIG": str(config), "AXIS_SIGNATURE_MODE": "verify-if-present"}
    server = subprocess.Popen([*AXIS, "serve", "--workers", "2", *flags], env=env)
    tree: set[int] = set()
    try:
        yield server, port, env
    finally:
        if server.poll() is None:
            tree = _descendants(server.pid)
            server.kill()
            server.wait()
        for pid in tree:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_child_command_carries_the_resolved_settings() -> None:
    options = ChildOptions(
        config_file=Path("/etc/axis.toml"),
        home=None,
        host="0.0.0.0",
        port=8080,
        store=None,
        intake_workers=3,
        tls_cert=None,
        tls_key=None,
        client_ca=None,
        shutdown_timeout=12.5,
        log_level="info",
    )
    argv = child_command(options, 4242)
    assert argv[:6] == [sys.executable, "-m", "axis.cli", "--log-level", "info", "serve"]
    joined = " ".join(argv[6:])
    assert "--host 0.0.0.0 --port 8080 --intake-workers 3 --shutdown-timeout 12.5" in joined
    assert "--config /etc/axis.toml" in joined
    for absent in ("--workers", "--home", "--store", "--tls-cert"):
        assert absent not in argv
    assert argv[-2:] == ["--serve-child", "4242"]


def test_two_processes_share_the_port_and_stop_together(tmp_path: Path) -> None:
    with _serving(tmp_path) as (server, port, env):
        sender = AxisHttp(
            port, "tayninh-vp", _add_system(env, "tayninh-vp", "--codes", "000.00.00.H53")
        )
        receiver = AxisHttp(
            port, "vpcp-qlvb", _add_system(env, "vpcp-qlvb", "--codes", "000.00.00.G22")
        )
        nodes: set[str] = set()

        def both_answer() -> bool:
            assert server.poll() is None, "axis serve --workers 2 exited"
            node = _node_of(AxisHttp(port, None, None))
            if node is not None:
                nodes.add(node)
            return len(nodes) == 2

        assert poll(both_answer, 120), f"only {nodes} answered"
        answering = {int(node.rsplit("/", 1)[1]) for node in nodes}
        children = set(_children(server.pid))
        assert children == answering  # the parent's two children, nothing else
        assert all(_listens(pid, port) for pid in children)
        assert not _listens(server.pid, port)  # the parent serves nothing

        sent = sender.send(example(NEW_DOCUMENT))
        assert sent.status == 202, sent.body
        message_id = sent.json()["message_id"]
        inbox = receiver.inbox(wait=10)
        assert message_id in [item["message_id"] for item in inbox.json()["items"]]
        fetched = receiver.fetch(message_id)
        assert fetched.status == 200
        assert fetched.body == example(NEW_DOCUMENT)
        assert receiver.ack(message_id).status == 200

        tree = _descendants(server.pid)  # the children, their forkservers and intake workers
        assert len(tree) > 2
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=90) == 0
        assert poll(lambda: not any(_alive(pid) for pid in tree), 20), [
            pid for pid in tree if _alive(pid)
        ]


def test_a_child_that_dies_stops_the_node(tmp_path: Path) -> None:
    with _serving(tmp_path) as (server, port, _env):
        assert poll(lambda: len(_children(server.pid)) == 2, 60)
        first, second = _children(server.pid)
        assert poll(lambda: _listens(first, port) and _listens(second, port), 120)
        os.kill(first, signal.SIGKILL)
        assert server.wait(timeout=90) == 1  # not restarted, not hidden
        assert poll(lambda: not _alive(second), 20)
