"""Failed logins per client address in a sliding one-minute window.

Guessing a secret, or probing which system ids exist, costs the attacker one failure per try;
past ``limit`` failures within the last minute an address is refused outright (429), correct
credentials included, until enough failures have aged out of the window. A sliding window (the
failures' own times, not a counter reset each minute) gives no burst at a minute's boundary.

Memory is bounded: an address's entry disappears once its failures have aged out, and the table
is swept when it grows past ``max_addresses`` (the oldest addresses go first), so a flood from
many addresses cannot grow it without end.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Final

from axis.clock import Clock

WINDOW_SECONDS: Final = 60.0


class FailureLimiter:
    """Counts failures per address; :meth:`retry_after` says how long an address must wait."""

    def __init__(
        self,
        clock: Clock,
        limit: int,
        *,
        window: float = WINDOW_SECONDS,
        max_addresses: int = 100_000,
    ) -> None:
        if limit <= 0:
            raise ValueError("the failure limit must be positive")
        self._clock = clock
        self._limit = limit
        self._window = window
        self._max_addresses = max_addresses
        self._failures: dict[str, deque[float]] = {}

    @property
    def limit(self) -> int:
        return self._limit

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def _recent(self, address: str, now: float) -> deque[float] | None:
        """The address's failures still inside the window (older ones dropped)."""
        times = self._failures.get(address)
        if times is None:
            return None
        horizon = now - self._window
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            del self._failures[address]
            return None
        return times

    def retry_after(self, address: str) -> int:
        """Whole seconds until ``address`` may try again; 0 when it is not blocked."""
        now = self._now()
        times = self._recent(address, now)
        if times is None or len(times) < self._limit:
            return 0
        # Blocked until enough failures leave the window to bring the count under the limit.
        release = times[len(times) - self._limit] + self._window
        return max(1, math.ceil(release - now))

    def record_failure(self, address: str) -> None:
        """Count one failed attempt from ``address``."""
        now = self._now()
        times = self._recent(address, now)
        if times is None:
            if len(self._failures) >= self._max_addresses:
                self._sweep(now)
            times = self._failures[address] = deque()
        times.append(now)
        # Only the newest ``limit`` failures matter for the decision; older ones need no memory.
        while len(times) > self._limit:
            times.popleft()

    def _sweep(self, now: float) -> None:
        """Drop aged-out addresses; if still full, the least recently added ones."""
        for address in list(self._failures):
            self._recent(address, now)
        excess = len(self._failures) - self._max_addresses + 1
        for address in list(self._failures)[: max(0, excess)]:
            del self._failures[address]

    def __len__(self) -> int:
        return len(self._failures)
