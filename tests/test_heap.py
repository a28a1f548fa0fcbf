"""``axis serve`` freezes its long-lived objects out of the collector's full passes
(:mod:`axis.heap`); that is only safe because a registry version holds no reference cycle, so
a frozen version that is replaced is still freed. Both are checked here, on the real seed."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
from pathlib import Path

from aiohttp.test_utils import TestServer

from axis.config import AxisConfig
from axis.heap import YOUNG_THRESHOLD, settle_once_started
from axis.http.app import create_app
from axis.http.keys import RUNTIME
from axis.registry_view import RegistryView
from axis.resources import ensure_registry, open_store
from registry.descendants import Descendants
from registry.model import Agency, Change

REDIRECTED = "000.00.00.H63"  # a province merged in 2025: resolving it walks its successions


def test_a_registry_version_and_its_index_hold_no_reference_cycle(tmp_path: Path) -> None:
    async def body() -> int:
        async with open_store(AxisConfig(home=tmp_path)) as store:
            await ensure_registry(store)
            registry = await store.load_registry()
            assert registry is not None
            at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
            statuses = {registry.resolve(a.code, at).status for a in registry.agencies()}
            assert registry.resolve(REDIRECTED, at).status == "redirected"
            assert {"active", "redirected"} <= statuses  # the lazy parts were all built
            index = Descendants(agency.code for agency in registry.agencies())
            assert index.of({"000.00.00.H38"})
            gc.collect()  # whatever the loading left as garbage goes first
            del registry, index
            return gc.collect()  # what only a cycle kept alive

    assert asyncio.run(body()) == 0


def test_serve_freezes_its_heap_once_started_and_each_new_version(tmp_path: Path) -> None:
    config = AxisConfig(home=tmp_path, intake_workers=1)

    thresholds = gc.get_threshold()

    async def body() -> None:
        app = create_app(config, background=False)
        settle_once_started(app)
        server = TestServer(app)
        await server.start_server()
        try:
            assert gc.get_freeze_count() > 100_000  # the registry and everything loaded
            view: RegistryView = app[RUNTIME].registry
            assert view.after_new_version is gc.freeze
            assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        finally:
            await server.close()
            gc.unfreeze()  # the rest of the test session collects as usual
            gc.set_threshold(*thresholds)

    asyncio.run(body())


def test_a_view_reports_each_new_version_and_its_index_once(tmp_path: Path) -> None:
    heard: list[int] = []

    async def body() -> None:
        async with open_store(AxisConfig(home=tmp_path)) as store:
            registry = await ensure_registry(store)
            view = RegistryView(store, registry)
            view.after_new_version = lambda: heard.append(view.version)
            await view.codes_for({"000.00.00.H38"}, exact=False)  # the index of the version
            await view.codes_for({"000.00.00.H40"}, exact=False)  # the same index again
            assert heard == [registry.version]
            ministry = Agency("000.00.00.G98", "Bộ Thử nghiệm")
            newer = registry.apply(
                [Change("add", ministry.code, None, ministry)], author="t", reason="t"
            )
            view.replace(newer)
            assert heard == [registry.version, newer.version]
            view.replace(newer)  # the same version again is not new
            assert heard == [registry.version, newer.version]

    asyncio.run(body())
