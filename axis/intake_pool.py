"""The intake's CPU work (parse, XSD, rules, signature) in worker processes, off the event loop.

Each worker builds its own :class:`signing.Verifier` once, from the configuration it was started
with, and keeps it for its life: the path validator's cache and the revocation data survive
between documents. The serving process only awaits the result, a small picklable
:class:`Checked`, and resolves the routes itself against the registry version it holds.

A worker that dies (out of memory, a crash in a C library) breaks the pool; the pool is rebuilt
and the document is checked once more, so one bad worker never refuses a good document.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import multiprocessing
import multiprocessing.connection
import os
import threading
import time
from collections.abc import Mapping
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

import structlog

from axis.config import AxisConfig
from axis.facts import PackageFacts, facts_of
from axis.intake import Intake, IntakeContext, check_format, check_signature
from axis.logs import configure_logging, configured_level
from axis.resources import build_verifier
from edxml import Problem, Severity
from signing import Verifier

_log = structlog.get_logger("axis.intake")


@dataclass(frozen=True, slots=True)
class Checked:
    """A package after the worker's stages: its facts, or the refusal; with stage timings."""

    facts: PackageFacts | None
    refusal: Problem | None
    warnings: tuple[Problem, ...] = ()
    signature: dict[str, Any] = field(default_factory=dict)  # signature_summary() of the report
    seconds: dict[str, float] = field(default_factory=dict)


class _WorkerState:
    """What one worker process keeps between documents (built by the pool's initializer)."""

    def __init__(self, config: AxisConfig) -> None:
        self.config = config
        # a worker is an app of its own: its verifier (and, with network revocation, its one
        # ClientSession) lives as long as the worker
        self.verifier = build_verifier(config)


# The worker process's own state: set once by the initializer in THAT process, never in the
# serving process (a ProcessPoolExecutor hands work only to module-level functions).
_STATE: _WorkerState | None = None


def _init_worker(config: AxisConfig, log_level: str) -> None:
    global _STATE
    configure_logging(log_level)
    _STATE = _WorkerState(config)
    _die_with_parent()


def _die_with_parent() -> None:
    """A worker ends when the server that started it ends, even by SIGKILL: under forkserver
    nothing else tells it (it would wait on its queue under PID 1 forever)."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def check_package(data: bytes, received_at: dt.datetime) -> Checked:
    """Format and signature stages over one package (runs in a worker, or inline in tests)."""
    state = _STATE
    if state is None:
        raise RuntimeError("check_package runs in an intake worker (the pool's initializer)")
    return check_with(state.config, state.verifier, data, received_at)


def check_with(
    config: AxisConfig, verifier: Verifier, data: bytes, received_at: dt.datetime
) -> Checked:
    """The worker's stages with an explicit verifier (what ``check_package`` runs)."""
    ctx = IntakeContext(config, None, verifier, received_at)
    started = time.perf_counter()
    intake = check_format(Intake(data), ctx)
    checked_at = time.perf_counter()
    if intake.accepted:
        intake = check_signature(intake, ctx)
    verified_at = time.perf_counter()
    seconds = {"check": checked_at - started, "verify": verified_at - checked_at}
    warnings = tuple(
        p for p in (intake.check.problems if intake.check else ()) if p.severity is Severity.WARNING
    )
    signature = signature_summary(intake.signature.as_dict()) if intake.signature else {}
    if intake.refusal is not None or intake.package is None:
        refusal = intake.refusal or Problem("edxml.unreadable", "not an edXML package", "/")
        return Checked(None, refusal, warnings, signature, seconds)
    return Checked(facts_of(intake.package, data), None, warnings, signature, seconds)


class IntakePool:
    """A pool of worker processes owned by the app: started once, closed on shutdown."""

    def __init__(self, config: AxisConfig) -> None:
        self._config = config
        self._pool = self._start()

    def _start(self) -> concurrent.futures.ProcessPoolExecutor:
        # forkserver: workers fork from a clean helper process, never from the serving process
        # with its threads (the store's writer) and its event loop.
        return concurrent.futures.ProcessPoolExecutor(
            max_workers=self._config.intake_workers,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=_init_worker,
            initargs=(self._config, configured_level()),
        )

    async def check(self, data: bytes, received_at: dt.datetime) -> Checked:
        """The worker stages over one package, awaited without blocking the loop."""
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            try:
                return await loop.run_in_executor(self._pool, check_package, data, received_at)
            except BrokenProcessPool:
                _log.error("intake.pool_broken", attempt=attempt)
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._start()
        raise RuntimeError("the intake's worker pool broke twice on one document")

    async def warm_up(self) -> None:
        """Start every worker now (imports, trust store) rather than on the first document."""
        loop = asyncio.get_running_loop()
        now = dt.datetime.now(dt.UTC)
        await asyncio.gather(
            *(
                loop.run_in_executor(self._pool, check_package, b"<warm/>", now)
                for _ in range(self._config.intake_workers)
            )
        )

    def close(self) -> None:
        """Stop the workers (in-flight checks finish first)."""
        self._pool.shutdown(wait=True, cancel_futures=False)


_SIGNER_KEYS = (
    "signer_subject",
    "signer_serial",
    # what the serving process binds the signer to the sender with (axis.signer_check)
    "signer_sha256",
    "signer_issuer",
    "signer_issuer_serial",
    "signer_agency",
    "signer_codes",
)


def signature_summary(report: Mapping[str, Any]) -> dict[str, Any]:
    """The signature facts worth keeping with the message and in the trace (made in the worker:
    the full report, every certificate's details, need not cross the process boundary)."""
    keep = ("status", "valid", "accepted", "reason", "message", "profile")
    summary = {k: report[k] for k in keep if k in report}
    signatures = report.get("signatures") or []
    if signatures:
        first = signatures[0]
        for key in (*_SIGNER_KEYS, "coverage", "revocation_status"):
            if key in first:
                summary[key] = first[key]
    return summary
