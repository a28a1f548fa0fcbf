"""How the tests wait and where they listen: one free port, one deadline poll."""

from __future__ import annotations

import time
from collections.abc import Callable

from axis.bench.load import free_port


def poll(condition: Callable[[], bool], seconds: float = 20.0, step: float = 0.05) -> bool:
    """``condition()`` until true or the deadline: how a test waits, never a bare sleep."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


__all__ = ["free_port", "poll"]
