"""What the axis promises survives a crash: ``axis serve`` killed with SIGKILL in the middle of
a load of signed documents (and, on Redis, redis-server itself killed), then restarted on the
same store.

Every document that was answered 202 is delivered to each of its recipients exactly once; a
document that got no answer is resent and either accepted then or recognised as a duplicate of
what the killed server had already stored (200, the same id); acks are idempotent; the audit
chain verifies. Everything is real: ``axis serve`` and ``axis systems add`` as processes, the
intake worker processes, a redis-server with an append-only file, HTTP on loopback.

The helpers here (a server process, a restartable redis-server, a load of senders) are shared
with ``tests/test_two_nodes.py``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from axis.compose import letter
from signing.pki import TestPki
from tests.axis_server import AxisHttp, Reply
from tests.broker_fixtures import Agency, agencies
from tests.probes import free_port, poll
from tests.redis_fixture import REDIS_SERVER

AXIS = [sys.executable, "-m", "axis.cli"]
DAY = dt.date(2025, 7, 15)
SENDERS = ("H38", "G22", "G09")
SYSTEM_IDS = {"H38": "laocai-ioffice", "G22": "vpcp-qlvb", "G09": "bnv-edoc"}
AUDITOR = "kiem-toan"
_numbers = itertools.count(1000)


# --- processes ----------------------------------------------------------------------------------


def _parents() -> dict[int, int]:
    """Every live process's parent, from /proc (no psutil in the venv)."""
    found: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{entry}/stat").read_text()
            found[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    return found


def descendants(pid: int) -> set[int]:
    """The processes below ``pid`` (its forkserver, its intake workers, their helpers)."""
    parents = _parents()
    below: set[int] = set()
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        children = {child for child, of in parents.items() if of == parent}
        frontier.extend(children - below)
        below |= children
    return below


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for its reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def kill_all(pids: set[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def add_system(env: dict[str, str], system_id: str, *options: str) -> str:
    """``axis systems add`` in its own process, as an operator runs it; the secret it prints."""
    return add_systems(env, {system_id: options})[system_id]


def add_systems(env: dict[str, str], systems: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """Several ``axis systems add`` processes; the first alone (it creates the store), the
    others at once (each spends a second starting Python and hashing its secret)."""
    secrets: dict[str, str] = {}
    ordered = list(systems.items())
    for batch in (ordered[:1], ordered[1:]):
        running = [
            (
                system_id,
                subprocess.Popen(
                    [*AXIS, "systems", "add", system_id, *options],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
            )
            for system_id, options in batch
        ]
        for system_id, process in running:
            out, err = process.communicate(timeout=60)
            assert process.returncode == 0, f"axis systems add {system_id}: {err}"
            secrets[system_id] = next(
                line.split(":", 1)[1].strip()
                for line in out.splitlines()
                if line.startswith("secret:")
            )
    return secrets


def axis_env(home: Path, pki: TestPki, store: str | None) -> dict[str, str]:
    """The environment of every ``axis`` process of a deployment (server and CLI alike)."""
    env = {
        **os.environ,
        "AXIS_HOME": str(home),
        "AXIS_TRUST_DIR": str(pki.trust_dir),
        "AXIS_SIGNATURE_MODE": "require",
        "AXIS_REQUIRE_SENDER_BINDING": "true",
        "AXIS_INTAKE_WORKERS": "1",
    }
    env.pop("AXIS_CONFIG", None)
    env.pop("AXIS_STORE", None)
    if store is not None:
        env["AXIS_STORE"] = store
    return env


class AxisProcess:
    """One ``axis serve`` on a fixed port, which may be killed and started again on it."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env = {**env, "AXIS_PORT": str(port)}
        self.port = port
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.lingering: set[int] = set()

    def start(self, seconds: float = 60.0) -> None:
        """Serve, and return once ``/v1/health`` answers 200."""
        self.launch()
        self.wait_healthy(seconds)

    def launch(self) -> None:
        """Start the process (its log goes to a file: a pipe nobody reads would block the
        server once full)."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*AXIS, "serve"], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    def wait_healthy(self, seconds: float = 60.0) -> None:
        probe = AxisHttp(self.port, None, None)

        def healthy() -> bool:
            assert self.process is not None
            assert self.process.poll() is None, self.tail()
            try:
                return probe.request("GET", "/v1/health", timeout=2).status == 200
            except (OSError, http.client.HTTPException):
                return False

        assert poll(healthy, seconds, 0.1), f"axis serve did not become healthy\n{self.tail()}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def kill(self) -> set[int]:
        """SIGKILL the server, as a power cut or the OOM killer would; the processes that were
        below it (they must follow it: see :meth:`orphans`)."""
        assert self.process is not None
        below = descendants(self.process.pid)
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.lingering |= below
        return below

    def terminate(self, seconds: float = 60.0) -> int:
        """SIGTERM, and the exit status once it stopped."""
        assert self.process is not None
        below = descendants(self.process.pid)
        self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(timeout=seconds)
        self.lingering |= below
        return status

    def orphans(self, seconds: float) -> set[int]:
        """The processes of killed or stopped servers still running after ``seconds``."""
        poll(lambda: not any(alive(pid) for pid in self.lingering), seconds, 0.1)
        return {pid for pid in self.lingering if alive(pid)}

    def close(self) -> None:
        """End this test's processes, whatever happened (only the ones this object started)."""
        if self.process is not None and self.process.poll() is None:
            self.lingering |= descendants(self.process.pid)
            self.process.kill()
            self.process.wait(timeout=10)
        kill_all({pid for pid in self.lingering if alive(pid)})


class OwnRedis:
    """A redis-server of this test alone, started the way ``tests/redis_fixture.py`` starts the
    session's (AOF, fsync always, no RDB), which the test may SIGKILL and start again on the
    same port and directory: the session's server cannot be restarted under other tests."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            REDIS_SERVER,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--save", "",
            "--daemonize", "no",
        ]  # fmt: skip
        with (self.directory / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        assert poll(self._answers, 20, 0.05), (self.directory / "redis.log").read_text()

    def _answers(self) -> bool:
        assert self.process is not None
        assert self.process.poll() is None, (self.directory / "redis.log").read_text()
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    if not Path(REDIS_SERVER).is_file():
        pytest.skip(f"redis-server is not installed ({REDIS_SERVER}): the Redis store is untested")
    directory = tmp_path / "redis"
    directory.mkdir()
    server = OwnRedis(directory)
    server.start()
    try:
        yield server
    finally:
        server.close()


# --- a deployment -------------------------------------------------------------------------------


@dataclass
class Deployment:
    """The agencies, their systems' secrets and an auditor's, on one store."""

    env: dict[str, str]
    cast: dict[str, Agency]
    secrets: dict[str, str]

    def client(self, port: int, key: str) -> AxisHttp:
        system_id = AUDITOR if key == AUDITOR else SYSTEM_IDS[key]
        return AxisHttp(port, system_id, self.secrets[key])


def deploy(env: dict[str, str], pki: TestPki) -> Deployment:
    """Systems added with ``axis systems add`` before any server runs."""
    cast = agencies(pki)
    wanted = {SYSTEM_IDS[key]: ("--codes", cast[key].code) for key in SENDERS}
    wanted[AUDITOR] = ("--role", "auditor")
    added = add_systems(env, wanted)
    secrets = {key: added[SYSTEM_IDS[key]] for key in SENDERS}
    secrets[AUDITOR] = added[AUDITOR]
    return Deployment(env, cast, secrets)


def signed_letter(cast: dict[str, Agency], sender: str, subject: str = "Báo cáo") -> bytes:
    """A signed Công văn from ``sender`` to the two other agencies."""
    others = [cast[key].org for key in SENDERS if key != sender]
    number = str(next(_numbers))
    return cast[sender].sign(
        letter(cast[sender].org, others, number=number, subject=f"{subject} số {number}", day=DAY)
    )


# --- the load -----------------------------------------------------------------------------------


@dataclass
class Sender:
    """One agency's system sending its documents, one try each, remembering the answers."""

    key: str
    client: AxisHttp
    documents: list[bytes]
    accepted: dict[int, str] = field(default_factory=dict)  # document index -> message id
    first_answer: dict[int, int] = field(default_factory=dict)  # document index -> status
    refused: list[str] = field(default_factory=list)

    def try_send(self, index: int) -> Reply | None:
        """One POST; None when no answer came (the connection failed or was cut)."""
        try:
            return self.client.request("POST", "/v1/messages", self.documents[index], timeout=30)
        except (OSError, http.client.HTTPException):
            return None

    def record(self, index: int, reply: Reply | None) -> bool:
        """Keep what an answer says; False when the document must be sent again."""
        if reply is None or reply.status >= 500:
            return False  # no answer, or the axis could not store it now (503 busy, a 500)
        if reply.status not in (200, 202):
            self.refused.append(f"{self.key}[{index}]: {reply.status} {reply.body[:300]!r}")
            return True
        message_id = str(reply.json()["message_id"])
        earlier = self.accepted.setdefault(index, message_id)
        if earlier != message_id:
            self.refused.append(f"{self.key}[{index}]: {earlier} then {message_id}")
        self.first_answer.setdefault(index, reply.status)
        return True

    def unanswered(self) -> list[int]:
        return [i for i in range(len(self.documents)) if i not in self.accepted]

    def first_pass(self) -> None:
        """Every document once, as fast as the axis answers (failures are left for later)."""
        for index in range(len(self.documents)):
            self.record(index, self.try_send(index))

    def resend(self, seconds: float) -> None:
        """What got no answer, until each has one; then everything accepted once more, which
        must answer 200 with the first id (the idempotency an agency's retry relies on)."""
        before = dict(self.accepted)
        deadline = time.monotonic() + seconds
        while (todo := self.unanswered()) and time.monotonic() < deadline:
            for index in todo:
                self.record(index, self.try_send(index))
            if self.unanswered():
                time.sleep(0.05)  # the axis answered 5xx: a client's backoff, not a wait
        for index, message_id in before.items():
            reply = self.try_send(index)
            if reply is None or reply.status != 200 or reply.json()["message_id"] != message_id:
                status = None if reply is None else (reply.status, reply.body[:300])
                self.refused.append(f"{self.key}[{index}] resent: {status}, not 200 {message_id}")


def run_all(senders: list[Sender], job: Callable[[Sender], Any]) -> None:
    """``job`` on every sender at once, each in its own thread; an exception fails the test."""
    failures: list[BaseException] = []

    def run(sender: Sender) -> None:
        try:
            job(sender)
        except BaseException as exc:  # re-raised in the test's thread below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(s,), daemon=True) for s in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a sender hung"
    if failures:
        raise failures[0]


def load(deployment: Deployment, port: int, per_sender: int) -> list[Sender]:
    """Documents signed in advance (signing is not what is measured), one sender per agency."""
    return [
        Sender(
            key,
            deployment.client(port, key),
            [signed_letter(deployment.cast, key) for _ in range(per_sender)],
        )
        for key in SENDERS
    ]


def load_until_accepted(
    deployment: Deployment, server: AxisProcess
) -> tuple[list[Sender], threading.Thread]:
    """Start every agency sending its letters in a background thread; return once
    :data:`KILL_AFTER` of them were accepted, the moment each crash test strikes."""
    senders = load(deployment, server.port, PER_SENDER)
    loader = threading.Thread(target=run_all, args=(senders, Sender.first_pass), daemon=True)
    loader.start()
    assert poll(lambda: accepted_count(senders) >= KILL_AFTER, 60, 0.005), server.tail()
    return senders, loader


def accepted_count(senders: list[Sender]) -> int:
    return sum(len(s.accepted) for s in senders)


def stored_unanswered(senders: list[Sender]) -> int:
    """Documents whose first answer was a 200 duplicate: stored by a server that stopped
    before it could answer (each sender has at most one of them: its request in flight)."""
    return sum(status == 200 for s in senders for status in s.first_answer.values())


def inbox_pages(client: AxisHttp) -> list[str]:
    """Every message id of the caller's inbox, across pages of 10 (small, so that several
    pages are read and a message repeated across two of them would be seen)."""
    ids: list[str] = []
    cursor: str | None = None
    while True:
        reply = client.inbox(limit=10, after=cursor)
        assert reply.status == 200, reply.body
        page = reply.json()
        ids.extend(item["message_id"] for item in page["items"])
        cursor = page["cursor"]
        if not page["more"]:
            return ids


def drain_and_check(deployment: Deployment, port: int, senders: list[Sender]) -> int:
    """Each recipient reads its inbox, fetches, acks and acks again; then every accepted
    message shows one ``acked`` event per recipient, and the inboxes are empty. Returns the
    number of deliveries checked."""
    for sender in senders:
        assert not sender.refused, sender.refused
        assert not sender.unanswered(), f"{sender.key}: never accepted {sender.unanswered()}"
    expected: dict[str, set[str]] = {key: set() for key in SENDERS}  # recipient -> message ids
    payloads: dict[str, bytes] = {}
    for sender in senders:
        ids = list(sender.accepted.values())
        assert len(set(ids)) == len(ids), f"{sender.key}: two documents share an id"
        for index, message_id in sender.accepted.items():
            payloads[message_id] = sender.documents[index]
            for key in SENDERS:
                if key != sender.key:
                    expected[key].add(message_id)
    for key in SENDERS:
        client = deployment.client(port, key)
        listed = inbox_pages(client)
        repeated = {m: n for m, n in Counter(listed).items() if n > 1}
        assert not repeated, f"{key}: listed more than once: {repeated}"
        assert set(listed) == expected[key], (
            f"{key}: lost {sorted(expected[key] - set(listed))}, "
            f"unexpected {sorted(set(listed) - expected[key])}"
        )
        for message_id in listed:
            fetched = client.fetch(message_id)
            assert fetched.status == 200, fetched.body
            assert fetched.body == payloads[message_id]  # byte-identical after the crash
            first, again = client.ack(message_id), client.ack(message_id)
            assert (first.status, again.status) == (200, 200), (first.body, again.body)
        assert inbox_pages(client) == [], f"{key}: acked messages still offered"
    auditor = deployment.client(port, AUDITOR)
    checked = 0
    for sender in senders:
        recipients = [deployment.cast[k].code for k in SENDERS if k != sender.key]
        for message_id in sender.accepted.values():
            trace = auditor.trace(message_id)
            assert trace.status == 200, trace.body
            body = trace.json()
            acked = Counter(
                code for e in body["events"] if e["kind"] == "acked" for code in e["codes"]
            )
            assert acked == Counter(recipients), f"{message_id}: acked events {acked}"
            states = sorted((d["code"], d["state"]) for d in body["deliveries"])
            assert states == sorted((code, "done") for code in recipients), states
            checked += len(recipients)
    return checked


def audit_verifies(env: dict[str, str]) -> None:
    verified = subprocess.run(
        [*AXIS, "audit", "verify"], env=env, capture_output=True, text=True, timeout=60
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "audit chain intact" in verified.stdout


# --- the tests ----------------------------------------------------------------------------------

PER_SENDER = 40
KILL_AFTER = 30  # accepted documents before the kill: a quarter of the load, well under way


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest) -> str | None:
    """The store URL of the test (None: the SQLite file under AXIS_HOME)."""
    if request.param == "sqlite":
        return None
    server: OwnRedis = request.getfixturevalue("own_redis")
    return server.url


def test_sigkill_mid_load_loses_nothing_and_duplicates_nothing(
    store: str | None, test_pki: TestPki, tmp_path: Path
) -> None:
    """Three agencies send 40 signed letters each at once; after 30 are accepted the server
    is SIGKILLed (its intake workers are killed at the end if they outlived it), started
    again on the same store, and each agency resends what got no answer, then everything
    once more. Each of the 120 letters ends with one id, each recipient lists, fetches and
    acks it once (the second ack changes nothing), and the chain verifies."""
    env = axis_env(tmp_path / "home", test_pki, store)
    deployment = deploy(env, test_pki)
    server = AxisProcess(env, free_port(), tmp_path / "serve.log")
    try:
        server.start()
        senders, loader = load_until_accepted(deployment, server)
        below = server.kill()
        assert below, "axis serve had no intake worker process"
        loader.join(timeout=120)
        assert not loader.is_alive()
        total = sum(len(s.documents) for s in senders)
        assert KILL_AFTER <= accepted_count(senders) < total, "the kill came after the load"
        server.start()
        run_all(senders, lambda s: s.resend(60))
        assert stored_unanswered(senders) <= len(senders)  # only what was in flight
        deliveries = drain_and_check(deployment, server.port, senders)
        assert deliveries == 2 * total
        assert server.terminate() == 0
    finally:  # the killed server's workers, if they outlived it (see the test below), too
        server.close()
    audit_verifies(env)


def test_intake_workers_end_with_a_killed_server(test_pki: TestPki, tmp_path: Path) -> None:
    """A SIGKILLed server's intake workers (and their forkserver) must not outlive it: nobody
    would ever stop them, and each keeps a verifier and its memory."""
    env = axis_env(tmp_path / "home", test_pki, None)
    server = AxisProcess(env, free_port(), tmp_path / "serve.log")
    try:
        server.start()
        below = server.kill()
        assert below, "axis serve had no intake worker process"
        orphans = server.orphans(6)
        described = {pid: Path(f"/proc/{pid}/cmdline").read_bytes()[:100] for pid in orphans}
        assert not orphans, f"still running 6 s after the server was killed: {described}"
    finally:
        server.close()


def test_redis_killed_mid_load_keeps_every_accepted_document(
    own_redis: OwnRedis, test_pki: TestPki, tmp_path: Path
) -> None:
    """redis-server SIGKILLed under load and started again on its AOF, the axis left running:
    requests during the outage fail (a 500 today, see the report) and are resent; what had a
    202 is all there, delivered once, and the axis's connections recover by themselves."""
    env = axis_env(tmp_path / "home", test_pki, own_redis.url)
    deployment = deploy(env, test_pki)
    server = AxisProcess(env, free_port(), tmp_path / "serve.log")
    try:
        server.start()
        senders, loader = load_until_accepted(deployment, server)
        own_redis.kill()
        at_kill = accepted_count(senders)
        own_redis.start()  # same port, same directory: it reloads its append-only file
        loader.join(timeout=120)
        assert not loader.is_alive()
        total = sum(len(s.documents) for s in senders)
        assert at_kill < total, "Redis was killed after the load"
        # every 202 of before the kill is resent and must answer 200 with its first id: the
        # idempotency keys survived with the messages (the drain then finds each message)
        run_all(senders, lambda s: s.resend(60))
        assert stored_unanswered(senders) <= len(senders)  # only what was in flight
        assert drain_and_check(deployment, server.port, senders) == 2 * total
        assert server.terminate() == 0
    finally:
        server.close()
    audit_verifies(env)


def test_sigterm_mid_load_loses_nothing(test_pki: TestPki, tmp_path: Path) -> None:
    """SIGTERM while documents arrive: what is in flight is answered, what comes after finds
    the door shut (no answer), and nothing answered 202 is lost after the restart. On SQLite
    only, to keep the file's time: its shutdown has the more to finish (the writer thread's
    group commits, the WAL), while a Redis write is Redis's own to keep, which the SIGKILL
    tests above already prove."""
    env = axis_env(tmp_path / "home", test_pki, None)
    deployment = deploy(env, test_pki)
    server = AxisProcess(env, free_port(), tmp_path / "serve.log")
    try:
        server.start()
        senders, loader = load_until_accepted(deployment, server)
        assert server.terminate() == 0, server.tail()
        loader.join(timeout=120)
        assert not loader.is_alive()
        assert not server.orphans(15), "intake workers outlived a graceful stop"
        server.start()
        run_all(senders, lambda s: s.resend(60))
        assert stored_unanswered(senders) == 0  # a graceful stop answers what it stored
        total = sum(len(s.documents) for s in senders)
        assert drain_and_check(deployment, server.port, senders) == 2 * total
        assert server.terminate() == 0
    finally:
        server.close()
    audit_verifies(env)
