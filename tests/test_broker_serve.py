"""``axis serve`` as an operator runs it: a real process configured by a TOML file and the
environment, a system added from the CLI beside it, a document accepted, then SIGTERM: the long
poll in flight is answered, the process exits 0, and what it accepted is in the store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.axis_server import AxisHttp, Reply
from tests.edxml_helpers import NEW_DOCUMENT, example
from tests.probes import free_port, poll

AXIS = [sys.executable, "-m", "axis.cli"]


def _wait_healthy(client: AxisHttp, server: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stderr.read() if server.stderr else ""
        try:
            if client.request("GET", "/v1/health", timeout=2).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("axis serve did not become healthy")


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


def test_serve_accepts_and_stops_gracefully(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "axis.toml"
    config.write_text(f'[axis]\nport = {port}\nintake_workers = 1\nhome = "{tmp_path / "home"}"\n')
    env = {**os.environ, "AXIS_CONFIG": str(config), "AXIS_SIGNATURE_MODE": "verify-if-present"}
    secret = _add_system(env, "tayninh-vp", "--codes", "000.00.00.H53")
    watcher_secret = _add_system(env, "giam-sat", "--role", "auditor")
    server = subprocess.Popen([*AXIS, "serve"], env=env, stderr=subprocess.PIPE)
    try:
        client = AxisHttp(port, "tayninh-vp", secret)
        _wait_healthy(client, server, 60)
        sent = client.send(example(NEW_DOCUMENT))
        assert sent.status == 202, sent.body
        message_id = sent.json()["message_id"]
        polled: dict[str, Reply] = {}
        poller = threading.Thread(
            target=lambda: polled.update(reply=client.inbox(wait=60, timeout=90))
        )
        poller.start()
        auditor = AxisHttp(port, "giam-sat", watcher_secret)
        assert poll(lambda: b"axis_inbox_waiting 1.0" in auditor.request("GET", "/metrics").body)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
        poller.join(timeout=5)
        assert polled["reply"].status == 200  # answered, not cut
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    trace = subprocess.run(
        [*AXIS, "audit", "trace", message_id, "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    kinds = [event["kind"] for event in json.loads(trace.stdout)]
    assert kinds[:2] == ["received", "verified"]
    assert "stored" in kinds
