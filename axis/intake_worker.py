"""The intake worker process: parse, XSD, rules and signature over one package at a time.

A worker is an app of its own: it builds its :class:`signing.Verifier` once, from the
configuration it was started with, and keeps it for its life (the path validator's cache and the
revocation data survive between documents). It talks to the serving process over two pipes,
one frame per package and one per answer (:mod:`axis.intake_pool` holds the other ends), and
ends when the request pipe closes: the serving process closed it, or died.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import multiprocessing.connection
import os
import pickle
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from axis.config import AxisConfig
from axis.facts import PackageFacts, facts_of
from axis.intake import Intake, IntakeContext, check_format, check_signature
from axis.logs import configure_logging
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


@dataclass(frozen=True, slots=True)
class WorkerFailure:
    """What a worker answers when the stages themselves raised (a bug, not a bad document):
    the serving process raises it again as an error of that one request."""

    error: str


def check_with(
    config: AxisConfig, verifier: Verifier, data: bytes, received_at: dt.datetime
) -> Checked:
    """The worker's stages with an explicit verifier (what a worker runs; tests call it inline)."""
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


def serve_requests(
    requests: multiprocessing.connection.Connection,
    answers: multiprocessing.connection.Connection,
    config: AxisConfig,
    log_level: str,
) -> None:
    """A worker process's whole life: one answer frame for every request frame, in order."""
    configure_logging(log_level)
    verifier = build_verifier(config)
    _die_with_parent()
    while True:
        try:
            frame = requests.recv_bytes()
        except (EOFError, OSError):  # the serving process closed the pipe, or is gone
            return
        # the pipe comes from the serving process that started this worker, no one else
        data, received_at = pickle.loads(frame)  # noqa: S301
        answer: Checked | WorkerFailure
        try:
            answer = check_with(config, verifier, data, received_at)
        except Exception as exc:  # the request fails; the worker and its caches live on
            _log.exception("intake.worker_error")
            answer = WorkerFailure(f"{type(exc).__name__}: {exc}")
        answers.send_bytes(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))


def _die_with_parent() -> None:
    """A worker busy with a long check ends when the server that started it ends, even by
    SIGKILL, rather than finish work nobody waits for under PID 1."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


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
