"""A serving process's long-lived objects, kept out of CPython's full garbage collections.

A registry version is about 250,000 objects (some 14,000 agencies with their names, timelines and
indexes) that live as long as the version. CPython's full collection walks every tracked object,
with the event loop stopped: measured under the benchmark's load, a full pass about every four
seconds, 90-150 ms each, the tail of both the event loop's lag and the send -> available p99 (after:
at most 14 ms). :func:`gc.freeze` moves the objects alive now into a permanent generation that
collections never walk. Frozen objects are still freed by reference counting when they are dropped,
and a registry version holds no reference cycle (``tests/test_heap.py``), so a replaced version's
memory comes back.

Young collections are made rarer too (:data:`YOUNG_THRESHOLD`): a request's objects die by
reference count when it ends, so the collector only needs to run when containers really pile
up. At the default (700 net new containers) it ran about 330 young passes in a ten-second
run of the benchmark, 250-420 ms in all; at 10,000 it ran once (measured with gc callbacks;
documents/s +5 to +14 % in two A/B pairs).

Only ``axis serve`` settles its heap: once its runtime is open, and after each registry version
it switches to. A freeze also keeps whatever else is alive at that instant (a request in flight);
what of that ends in a reference cycle is never collected, a few kilobytes per registry switch.
Tests and embedded uses (``axis demo``) keep the collector's defaults.
"""

from __future__ import annotations

import gc
from typing import Final

from aiohttp import web

from axis.http.keys import RUNTIME

YOUNG_THRESHOLD: Final = 10_000
"""Net new container objects between two young collections (CPython's default: 700)."""


def settle() -> None:
    """Collect what is garbage now, freeze everything still alive (at start-up: the imports,
    the registry, the configuration), and make young collections rarer."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


def settle_once_started(app: web.Application) -> None:
    """Settle the heap when ``app``'s runtime has opened (its registry loaded), and freeze each
    registry version the process switches to once its indexes are built."""

    async def on_started(app: web.Application) -> None:
        app[RUNTIME].registry.after_new_version = gc.freeze
        settle()

    app.on_startup.append(on_started)  # after the runtime's own start-up context
