"""Prometheus metrics of one axis process, in a registry the app owns (no global collectors).

What an operator watches: documents accepted and refused (by reason), delivery transitions,
the intake's stage latencies, documents in the intake right now, the event loop's lag (a health
signal: CPU work leaking onto the loop shows here first).
"""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_STAGE_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
_LAG_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
LAG_INTERVAL = 0.1
"""Seconds between two samples of the loop's lag: often enough for a distribution over a
benchmark's few seconds, rare enough to cost nothing (ten timers a second)."""


class Metrics:
    """Every collector of the process, registered in its own :class:`CollectorRegistry`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.accepted = Counter(
            "axis_accepted", "Packages accepted", ["kind"], registry=self.registry
        )
        self.duplicates = Counter(
            "axis_duplicates", "Resends answered with the first message", registry=self.registry
        )
        self.rejected = Counter(
            "axis_rejected", "Packages refused, by reason code", ["reason"], registry=self.registry
        )
        self.deliveries = Counter(
            "axis_delivery_transitions",
            "Delivery state changes, by the state entered",
            ["state"],
            registry=self.registry,
        )
        self.stage_seconds = Histogram(
            "axis_intake_stage_seconds",
            "Time spent in each intake stage",
            ["stage"],
            buckets=_STAGE_BUCKETS,
            registry=self.registry,
        )
        self.intake_inflight = Gauge(
            "axis_intake_inflight", "Packages being checked right now", registry=self.registry
        )
        self.deliveries_by_state = Gauge(
            "axis_deliveries",
            "Deliveries in each state at the last sample (pending = the inbox queues' depth)",
            ["state"],
            registry=self.registry,
        )
        self.loop_lag = Gauge(
            "axis_event_loop_lag_seconds",
            "How late the event loop ran a timer at the last sample",
            registry=self.registry,
        )
        self.loop_delay = Histogram(
            "axis_event_loop_delay_seconds",
            f"How late the event loop ran each lag sample's timer (one every {LAG_INTERVAL} s)",
            buckets=_LAG_BUCKETS,
            registry=self.registry,
        )
        self.inbox_waiting = Gauge(
            "axis_inbox_waiting", "Long polls waiting for a delivery", registry=self.registry
        )
        self.last_loop_lag = 0.0
        self.auth_failures = Counter(
            "axis_auth_failures",
            "Refused authentications, by code",
            ["code"],
            registry=self.registry,
        )
        # one child per CRL held, set by axis.crl_refresh (computed at scrape time)
        self.crl_age = Gauge(
            "axis_crl_age_seconds",
            "Age of each held CRL (now - thisUpdate), by issuer",
            ["issuer"],
            registry=self.registry,
        )
        self.crl_next_update = Gauge(
            "axis_crl_next_update_seconds",
            "Seconds until each held CRL's nextUpdate, by issuer (negative: past it, stale)",
            ["issuer"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The text exposition format of every collector."""
        return generate_latest(self.registry)

    async def sample_loop_lag(self, interval: float = LAG_INTERVAL) -> None:
        """Measure the loop's lag forever (a background task): the last sample as a gauge,
        every sample in a histogram (what a benchmark or a dashboard reads as a distribution)."""
        loop = asyncio.get_running_loop()
        while True:
            expected = loop.time() + interval
            await asyncio.sleep(interval)
            self.last_loop_lag = max(0.0, loop.time() - expected)
            self.loop_lag.set(self.last_loop_lag)
            self.loop_delay.observe(self.last_loop_lag)
