"""The axis's one clock: every timestamp it writes and every instant it resolves comes from here.

Injectable, so a test (or a rehearsal of a midnight cut-over) runs the whole server "at"
2025-06-30 23:59:50 Vietnam time and watches a scheduled succession take effect at 00:00 while
documents keep flowing: :meth:`Clock.at` pins the clock's reading to an instant that then moves on
with real time. ``AXIS_CLOCK_OFFSET`` does the same for a server started from the command line.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Final

VN_TZ: Final = dt.timezone(dt.timedelta(hours=7), "ICT")


class Clock:
    """Real time plus an offset, optionally running ``rate`` times faster; aware UTC datetimes.

    A rate above 1 is for tests only: twenty seconds around a midnight cut-over pass in two.
    """

    def __init__(self, offset_seconds: float = 0.0, *, rate: float = 1.0) -> None:
        if rate <= 0:
            raise ValueError("the clock's rate must be positive")
        self._offset = offset_seconds
        self._rate = rate
        self._origin = time.time()

    @classmethod
    def at(cls, instant: dt.datetime, *, rate: float = 1.0) -> Clock:
        """A clock that reads ``instant`` now and then runs on (at ``rate`` x real speed)."""
        if instant.tzinfo is None:
            raise ValueError("the clock's instant must be aware (UTC or with an offset)")
        return cls(instant.timestamp() - time.time(), rate=rate)

    def set(self, instant: dt.datetime) -> None:
        """Make the clock read ``instant`` now (a rehearsal jumps to 23:59:50 when it is ready)."""
        if instant.tzinfo is None:
            raise ValueError("the clock's instant must be aware (UTC or with an offset)")
        self._origin = time.time()
        self._offset = instant.timestamp() - self._origin

    def now(self) -> dt.datetime:
        """The axis's present, in UTC."""
        real = time.time()
        moment = self._origin + (real - self._origin) * self._rate + self._offset
        return dt.datetime.fromtimestamp(moment, dt.UTC)

    def seconds_until(self, instant: dt.datetime) -> float:
        """How long, in real seconds, until this clock reads ``instant`` (negative if past)."""
        return (instant - self.now()).total_seconds() / self._rate


def iso(moment: dt.datetime) -> str:
    """The one way the axis writes an instant: UTC ISO-8601 with its offset."""
    return moment.astimezone(dt.UTC).isoformat()
