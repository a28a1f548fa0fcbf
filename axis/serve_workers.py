"""``axis serve --workers N``: N server processes on one port, under one supervising parent.

Why re-exec rather than ``multiprocessing``: each child is a fresh ``python -m axis.cli serve``
with the parent's resolved flags and the internal ``--serve-child PARENT_PID``, so a child is
exactly the single-process server (same config path, same runtime, same intake worker pool,
nothing pickled, no state inherited from the parent), plus ``reuse_port=True`` (SO_REUSEPORT):
the kernel spreads new connections over the children's listening sockets.

The parent serves nothing. It:

* prepares the deployment once (``$AXIS_HOME``, the trust copy, the store's schema, the registry
  seed) before any child starts, so N children never race on a first start;
* starts the children each in its own process group, so a terminal's Ctrl-C or ``docker stop``
  reaches the parent only, and each child gets exactly one signal, from the parent (aiohttp
  aborts its graceful shutdown on a second one);
* forwards SIGTERM/SIGINT as SIGTERM and waits for every child (their ``--shutdown-timeout``
  plus :data:`CLOSE_MARGIN` for closing the runtime, then SIGKILL); a second Ctrl-C kills
  them, a repeated SIGTERM is ignored;
* does NOT restart a child that died on its own: it logs ``serve.worker_died``, stops the others
  gracefully and exits 1, so the supervisor above (systemd, Docker's restart policy, Kubernetes)
  restarts the whole node with its own back-off and the failure is visible. A node quietly
  running on fewer processes than it was given would hide a recurring crash (a full disk, a
  C-library fault) behind a load balancer that still sees a healthy port.

Each child watches its parent: if the parent is killed outright (SIGKILL, the OOM killer) the
child stops gracefully instead of serving an orphaned port.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import ssl
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import structlog
from aiohttp import web

from axis.config import AxisConfig
from axis.resources import open_store, seed_if_empty

_log = structlog.get_logger("axis.serve")

CLOSE_MARGIN: Final = 30.0
"""Seconds a child gets, beyond ``--shutdown-timeout``, to close its runtime (intake workers,
store) before the parent kills it."""

PARENT_WATCH_EVERY: Final = 1.0
"""How often a child checks that its parent is still there (seconds)."""

NODE_HEADER: Final = "X-Axis-Node"


def node_name() -> str:
    """``hostname/pid`` of this serving process: which node and which of its processes
    answered (behind a load balancer, or among ``--workers`` children on one port)."""
    return f"{socket.gethostname()}/{os.getpid()}"


def add_node_header(app: web.Application) -> None:
    """Every response of ``app`` carries :data:`NODE_HEADER` (operators tell processes apart
    when chasing one slow or failing node; the test proves both children answer)."""
    name = node_name()

    async def stamp(_request: web.Request, response: web.StreamResponse) -> None:
        response.headers[NODE_HEADER] = name

    app.on_response_prepare.append(stamp)


@dataclass(frozen=True, slots=True)
class ChildOptions:
    """What a child is started with: the parent's resolved settings, as ``axis serve`` flags."""

    config_file: Path | None
    home: Path | None
    host: str
    port: int
    store: str | None
    intake_workers: int
    tls_cert: Path | None
    tls_key: Path | None
    client_ca: Path | None
    shutdown_timeout: float
    log_level: str


def child_command(options: ChildOptions, parent_pid: int) -> list[str]:
    """The argv of one child: ``axis serve`` with the parent's resolved host, port and intake
    workers (so every child binds the same address, whatever the environment says later), the
    rest as given (the children inherit the environment and resolve it identically)."""
    argv = [sys.executable, "-m", "axis.cli", "--log-level", options.log_level, "serve"]
    argv += ["--host", options.host, "--port", str(options.port)]
    argv += ["--intake-workers", str(options.intake_workers)]
    argv += ["--shutdown-timeout", str(options.shutdown_timeout)]
    optional = {
        "--config": options.config_file,
        "--home": options.home,
        "--store": options.store,
        "--tls-cert": options.tls_cert,
        "--tls-key": options.tls_key,
        "--client-ca": options.client_ca,
    }
    for flag, value in optional.items():
        if value is not None:
            argv += [flag, str(value)]
    return [*argv, "--serve-child", str(parent_pid)]


async def prepare_deployment(config: AxisConfig) -> None:
    """Open the store once (home and trust folder created, schema created or migrated, registry
    seeded if empty) and close it, before the children open it concurrently."""
    async with open_store(config) as store:
        await seed_if_empty(store)


class Supervisor:
    """The parent of ``--workers N``: starts the children, forwards signals, reports deaths."""

    def __init__(self, commands: Sequence[Sequence[str]], grace: float) -> None:
        self._commands = [list(command) for command in commands]
        self._grace = grace
        self._children: list[asyncio.subprocess.Process] = []
        self._stopping = asyncio.Event()
        self._signals = 0

    def _on_signal(self, signum: int) -> None:
        """First signal: stop every child gracefully. A repeated SIGTERM is ignored (``timeout``
        and systemd's ``KillMode=control-group`` deliver it twice within milliseconds); a
        repeated SIGINT is an operator's second Ctrl-C and kills the children."""
        self._signals += 1
        name = signal.Signals(signum).name
        if self._signals == 1:
            _log.info("serve.stopping", signal=name, children=self._pids())
            self._stopping.set()
            self._send_all(signal.SIGTERM)
        elif signum == signal.SIGINT:
            _log.warning("serve.killing", signal=name, children=self._pids())
            self._send_all(signal.SIGKILL)
        else:
            _log.info("serve.already_stopping", signal=name)

    def _pids(self) -> list[int]:
        return [child.pid for child in self._children]

    def _send_all(self, signum: int) -> None:
        for child in self._children:
            if child.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    child.send_signal(signum)

    async def run(self) -> int:
        """Serve until a signal (0 if every child then stopped cleanly) or until a child dies
        on its own (1, the others stopped first)."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._on_signal, signum)
        try:
            return await self._run()
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)

    async def _run(self) -> int:
        for command in self._commands:
            if self._stopping.is_set():
                break
            # process_group=0: a terminal's Ctrl-C (sent to the foreground group) reaches only
            # the parent, which forwards it once
            self._children.append(await asyncio.create_subprocess_exec(*command, process_group=0))
        _log.info("serve.started", children=self._pids())
        if self._stopping.is_set():  # a signal came while starting: reach the late ones too
            self._send_all(signal.SIGTERM)
        exits = {asyncio.ensure_future(child.wait()): child for child in self._children}
        stop = asyncio.ensure_future(self._stopping.wait())
        done, _ = await asyncio.wait([*exits, stop], return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        # a child that exits together with a signal is judged by its exit code, in _wait_all
        died = [] if self._stopping.is_set() else [exits[task] for task in done if task in exits]
        if died:
            for child in died:
                _log.error(
                    "serve.worker_died",
                    pid=child.pid,
                    exit_code=child.returncode,
                    action="stopping the node; not restarted (the supervisor above restarts it)",
                )
            self._stopping.set()
            self._send_all(signal.SIGTERM)
        clean = await self._wait_all(reported={child.pid for child in died})
        return 0 if clean and not died else 1

    async def _wait_all(self, reported: set[int]) -> bool:
        """Every child waited for, killed past the grace period; True if all exited 0. A
        failure is logged unless ``reported`` (as died) already."""
        waits = [child.wait() for child in self._children]
        try:
            codes = await asyncio.wait_for(asyncio.gather(*waits), self._grace)
        except TimeoutError:
            late = [child.pid for child in self._children if child.returncode is None]
            _log.error("serve.worker_timeout", pids=late, grace_seconds=self._grace)
            self._send_all(signal.SIGKILL)
            await asyncio.gather(*(child.wait() for child in self._children))
            return False
        for child, code in zip(self._children, codes, strict=True):
            if code != 0 and child.pid not in reported:
                _log.error("serve.worker_failed", pid=child.pid, exit_code=code)
        return all(code == 0 for code in codes)


def supervise(config: AxisConfig, options: ChildOptions, workers: int) -> int:
    """The parent's whole life: prepare the deployment, run ``workers`` children, exit code."""
    asyncio.run(prepare_deployment(config))
    commands = [child_command(options, os.getpid()) for _ in range(workers)]
    supervisor = Supervisor(commands, grace=options.shutdown_timeout + CLOSE_MARGIN)
    return asyncio.run(supervisor.run())


def run_child(
    app: web.Application,
    parent_pid: int,
    *,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None,
    shutdown_timeout: float,
    announce: Callable[[str], None],
) -> None:
    """Serve ``app`` as one child: SO_REUSEPORT, one graceful stop however many signals
    arrive (systemd's default ``KillMode=control-group`` signals every process besides the
    parent's forwarding), and a stop of our own if the parent disappears."""
    loop = asyncio.new_event_loop()
    stopping = False

    def graceful_exit() -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        raise web.GracefulExit()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, graceful_exit)

    async def watch_parent() -> None:
        while os.getppid() == parent_pid:
            await asyncio.sleep(PARENT_WATCH_EVERY)
        _log.error("serve.parent_gone", parent_pid=parent_pid)
        os.kill(os.getpid(), signal.SIGTERM)

    # a strong reference (the loop keeps only weak ones); run_app cancels it on the way out
    watcher = loop.create_task(watch_parent())
    try:
        web.run_app(
            app,
            host=host,
            port=port,
            ssl_context=ssl_context,
            shutdown_timeout=shutdown_timeout,
            print=announce,
            access_log=None,
            handle_signals=False,
            reuse_port=True,
            loop=loop,
        )
    finally:
        watcher.cancel()
