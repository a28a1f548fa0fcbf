"""The registry version a serving process routes with, kept current from the store.

Every node holds the newest version in memory (resolving is a dictionary walk, microseconds) and
listens for the store's change notification: an admin's change or an import on any node switches
every node to the new version without a restart. Scheduled successions need no new version: they
are already in the registry with their effective instant, and resolving at the axis's clock picks
them up at that instant.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

import structlog

from axis.store.protocol import Store
from registry.descendants import Descendants
from registry.registry import Registry

_log = structlog.get_logger("axis.registry")

_MAX_CODE_SETS = 1024


class RegistryView:
    """The current :class:`Registry` of this process, replaced whole on every change."""

    def __init__(self, store: Store, registry: Registry) -> None:
        self._store = store
        self._registry = registry
        self._code_sets: dict[tuple[frozenset[str], bool], tuple[str, ...]] = {}
        self._descendants: tuple[int, Descendants] | None = None  # for which version
        self._indexing = asyncio.Lock()
        self.after_new_version: Callable[[], None] | None = None
        """Called when a new version is in place, and again when its descendant index is
        built (``axis serve`` freezes each out of the garbage collector's full passes:
        :mod:`axis.heap`)."""

    @property
    def current(self) -> Registry:
        return self._registry

    @property
    def version(self) -> int:
        return self._registry.version

    def replace(self, registry: Registry) -> None:
        """Switch to another version (the watcher does this; tests may too)."""
        new = registry.version != self._registry.version
        if new:
            _log.info("registry.switched", old=self._registry.version, new=registry.version)
        self._registry = registry
        self._code_sets.clear()
        if new and self.after_new_version is not None:
            self.after_new_version()

    async def codes_for(self, granted: Iterable[str], exact: bool) -> tuple[str, ...]:
        """Every registry code a system granted ``granted`` acts for (with children unless
        ``exact``), remembered per version and grant. The children come from an index of the
        version (:class:`registry.descendants.Descendants`), built once in a thread: built on
        the loop it held every request for a tenth of a second."""
        key = (frozenset(c.upper() for c in granted), exact)
        known = self._code_sets.get(key)
        if known is not None:
            return known
        if exact:
            codes = tuple(sorted(key[0]))
        else:
            version, descendants = await self._index()
            codes = tuple(sorted(descendants.of(key[0]) | key[0]))
            if version != self.version:  # replaced while indexing: not the current version's
                return codes
        if len(self._code_sets) >= _MAX_CODE_SETS:
            self._code_sets.clear()
        self._code_sets[key] = codes
        return codes

    async def _index(self) -> tuple[int, Descendants]:
        """The descendant index of the current version, with that version (single-flight)."""
        async with self._indexing:
            registry = self._registry
            if self._descendants is None or self._descendants[0] != registry.version:
                codes = [agency.code for agency in registry.agencies()]
                built = await asyncio.to_thread(Descendants, codes)
                self._descendants = (registry.version, built)
                if self.after_new_version is not None:
                    self.after_new_version()
            return self._descendants

    async def watch(self, poll_seconds: float = 30.0) -> None:
        """Follow the store's change notification forever (run as a background task)."""
        while True:
            try:
                newest = await self._store.wait_registry_change(self.version, poll_seconds)
                if newest is not None and newest != self.version:
                    registry = await self._store.load_registry()
                    if registry is not None:
                        self.replace(registry)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a store hiccup must not end the watch
                _log.error("registry.watch_failed", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(min(poll_seconds, 5.0))
