"""The serving process's registry view answers a grant's codes from the version it holds, even
when the version changes while the grant's index is being built."""

from __future__ import annotations

import asyncio
from pathlib import Path

from axis.config import AxisConfig
from axis.registry_view import RegistryView
from axis.resources import ensure_registry, open_store
from registry.model import Agency, Change

NEW_UNIT = "001.05.13.H38"  # not in the seed; under Lào Cai by the zeroing rule


def test_codes_built_for_a_version_replaced_meanwhile_are_not_kept(tmp_path: Path) -> None:
    async def body() -> tuple[tuple[str, ...], tuple[str, ...]]:
        async with open_store(AxisConfig(home=tmp_path)) as store:
            registry = await ensure_registry(store)
            assert registry.get(NEW_UNIT) is None
            unit = Agency(NEW_UNIT, "Trường Tiểu học thử nghiệm")
            newer = registry.apply([Change("add", NEW_UNIT, None, unit)], author="t", reason="t")
            view = RegistryView(store, registry)

            def switch_while_indexing() -> None:
                if view.version == registry.version:  # the first index is built: switch now
                    view.replace(newer)

            view.after_new_version = switch_while_indexing
            during = await view.codes_for({"000.00.00.H38"}, exact=False)
            after = await view.codes_for({"000.00.00.H38"}, exact=False)
            return during, after

    during, after = asyncio.run(body())
    assert NEW_UNIT not in during  # answered from the version the request began with
    assert NEW_UNIT in after  # and not remembered for the newer one
