"""The serving process's composition root: every resource built once, handed down, closed.

``open_runtime(config)`` opens the store, loads (or explicitly seeds) the registry, starts the
intake's worker processes, the authenticator, the metrics and the background tasks (registry
watch, succession mover, delivery leases, retention, loop lag, CRL refresh), and closes all of it in
reverse order on the way out. ``axis serve`` wraps it in the aiohttp app's cleanup context;
``axis demo`` and the tests use the same function, so what is tested is what runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import structlog

from axis.auth.authenticator import Authenticator
from axis.clock import Clock
from axis.config import AxisConfig
from axis.continuity import SuccessionMover
from axis.crl_refresh import CRL_REFRESH_EVERY, CrlRefresher, open_crl_refresher
from axis.delivery import Deliveries
from axis.intake_pool import IntakePool
from axis.metrics import Metrics
from axis.registry_view import RegistryView
from axis.resources import build_trust, ensure_registry, open_store
from axis.send import Checker, Sender
from axis.signer_check import SignerBindings
from axis.store.protocol import Store
from axis.store.records import DELIVERY_STATES
from signing import TrustStore

_log = structlog.get_logger("axis.runtime")

RETENTION_EVERY = 3600.0
DELIVERY_SAMPLE_EVERY = 15.0


@dataclass
class Runtime:
    """Everything a serving process owns."""

    config: AxisConfig
    clock: Clock
    store: Store
    registry: RegistryView
    trust: TrustStore  # the serving process's view (health); each worker loads its own
    auth: Authenticator
    metrics: Metrics
    sender: Sender
    signers: SignerBindings  # this node's view of the signer bindings (the sender reads it)
    deliveries: Deliveries
    mover: SuccessionMover
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    crl: CrlRefresher | None = None  # keeps the held CRLs fresh; its states feed /v1/health

    def now(self) -> dt.datetime:
        return self.clock.now()


async def _every(seconds: float, job: Callable[[], Awaitable[object]], name: str) -> None:
    """Run ``job`` forever with a pause between runs; a failure is logged, not fatal."""
    while True:
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            _log.error("task.failed", task=name, error=f"{type(exc).__name__}: {exc}")
        await asyncio.sleep(seconds)


@contextlib.asynccontextmanager
async def open_runtime(
    config: AxisConfig,
    *,
    clock: Clock | None = None,
    checker: Checker | None = None,
    background: bool = True,
) -> AsyncIterator[Runtime]:
    """Build every resource of a serving process; ``checker`` replaces the worker pool (tests
    that must not start processes), ``background=False`` starts no background task."""
    clock = clock or Clock(config.clock_offset)
    async with contextlib.AsyncExitStack() as stack:
        store: Store = await stack.enter_async_context(open_store(config))
        registry = RegistryView(store, await ensure_registry(store))
        if checker is None:
            pool = await IntakePool.start(config)
            stack.push_async_callback(pool.close)
            checker = pool
        metrics = Metrics()
        signers = SignerBindings(store, required=config.require_sender_binding)
        trust = build_trust(config)
        crl = await stack.enter_async_context(open_crl_refresher(config, trust, metrics, clock.now))
        runtime = Runtime(
            config=config,
            clock=clock,
            store=store,
            registry=registry,
            trust=trust,
            auth=Authenticator(
                store,
                clock,
                failures_per_minute=config.auth_failures_per_minute,
                on_failure=lambda code: metrics.auth_failures.labels(code).inc(),
            ),
            metrics=metrics,
            sender=Sender(
                store,
                registry,
                checker,
                metrics,
                clock.now,
                max_inflight=config.max_inflight_intake or 32 * config.intake_workers,
                signers=signers,
            ),
            signers=signers,
            deliveries=Deliveries(
                store, registry, metrics, clock.now, inbox_wait_max=config.inbox_wait_max
            ),
            mover=SuccessionMover(store, registry, clock),
            crl=crl,
        )
        if background:
            _start_background(runtime)
        stack.push_async_callback(_stop_background, runtime)
        _log.info(
            "axis.started",
            store=config.store_url,
            registry_version=registry.version,
            workers=config.intake_workers,
        )
        yield runtime


def _start_background(runtime: Runtime) -> None:
    config = runtime.config

    async def requeue() -> None:
        now = runtime.clock.now()
        lease = dt.timedelta(seconds=config.delivery_lease)
        changed = await runtime.store.requeue_expired(now - lease, config.max_attempts, now)
        for delivery in changed:
            runtime.metrics.deliveries.labels(delivery.state).inc()

    async def retention() -> None:
        now = runtime.clock.now()
        outcome = await runtime.store.purge(now - dt.timedelta(days=config.retention_days), now)
        if outcome.messages or outcome.audit_events:
            _log.info(
                "retention.purged", messages=outcome.messages, audit_events=outcome.audit_events
            )

    async def sample_deliveries() -> None:
        counts = await runtime.store.delivery_counts()
        for state in DELIVERY_STATES:
            runtime.metrics.deliveries_by_state.labels(state).set(counts.get(state, 0))

    jobs: list[tuple[str, Awaitable[None]]] = [
        ("delivery-counts", _every(DELIVERY_SAMPLE_EVERY, sample_deliveries, "counts")),
        ("registry-watch", runtime.registry.watch()),
        ("delivery-leases", _every(max(1.0, config.delivery_lease / 4), requeue, "leases")),
        ("retention", _every(RETENTION_EVERY, retention, "retention")),
        ("loop-lag", runtime.metrics.sample_loop_lag()),
    ]
    if config.move_on_succession:
        jobs.append(("succession-mover", runtime.mover.run()))
    if runtime.crl is not None:
        crl_job = _every(CRL_REFRESH_EVERY, runtime.crl.refresh_once, "crl-refresh")
        jobs.append(("crl-refresh", crl_job))
    for name, job in jobs:
        runtime.tasks.append(asyncio.create_task(job, name=name))  # type: ignore[arg-type]


async def _stop_background(runtime: Runtime) -> None:
    for task in runtime.tasks:
        task.cancel()
    for task in runtime.tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    runtime.tasks.clear()
