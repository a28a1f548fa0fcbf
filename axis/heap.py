"""A serving process's long-lived objects, kept out of CPython's full garbage collections.

A registry version is about 250,000 objects (some 14,000 agencies with their names, timelines
and indexes) that live as long as the version. CPython's full collection walks every tracked
object, with the event loop stopped: measured under the benchmark's load, eight full passes in
ten seconds, 90-140 ms each, which were the tail of both the event loop's lag and the
send -> available p99. :func:`gc.freeze` moves the objects alive now into a permanent generation
that collections never walk. Frozen objects are still freed by reference counting when they are
dropped, and a registry version holds no reference cycle (``tests/test_heap.py``), so a replaced
version's memory comes back.

Only ``axis serve`` settles its heap: once its runtime is open, and after each registry version
it switches to. A freeze also keeps whatever else is alive at that instant (a request in flight);
what of that ends in a reference cycle is never collected, a few kilobytes per registry switch.
Tests and embedded uses (``axis demo``) keep the collector's defaults.
"""

from __future__ import annotations

import gc

from aiohttp import web

from axis.http.keys import RUNTIME


def settle() -> None:
    """Collect what is garbage now, then freeze everything still alive (at start-up: the
    imports, the registry, the configuration)."""
    gc.collect()
    gc.freeze()


def settle_once_started(app: web.Application) -> None:
    """Settle the heap when ``app``'s runtime has opened (its registry loaded), and freeze each
    registry version the process switches to once its indexes are built."""

    async def on_started(app: web.Application) -> None:
        app[RUNTIME].registry.after_new_version = gc.freeze
        settle()

    app.on_startup.append(on_started)  # after the runtime's own start-up context
