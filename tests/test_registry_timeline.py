"""The per-code timeline behind resolve: any instant, in any order, gives the walk's own answer.

``Registry.resolve`` answers a code not in force from a timeline of constant intervals (built on
first use, one answer cached per interval, re-stamped with each new instant). These tests ask
instants on, just before and just after every boundary, shuffled, and compare with an uncached
registry and with the walk itself.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from registry.model import vn_midnight
from registry.registry import Registry
from registry.resolution import Resolution, boundaries, follow
from tests.test_registry_resolve import sample_registry

TICK = timedelta(microseconds=1)


def _fresh(reg: Registry) -> Registry:
    """The same version with empty caches."""
    return Registry.from_snapshot(reg.agencies(), reg.successions(), reg.log)


def _instants(reg: Registry, code: str) -> list[datetime]:
    bounds = boundaries(reg._by_code, reg._succ_by_code, reg.canonical(code), 256) or []
    around = [b + d for b in bounds for d in (-TICK, timedelta(0), TICK)]
    return [datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC), *around]


def _walk(reg: Registry, code: str, at: datetime) -> Resolution:
    return follow(reg._by_code, reg._succ_by_code, code, reg.canonical(code), at)


@pytest.mark.parametrize(
    "code", ["H63", "G04", "TINH-15", "XA-00004", "XA-00001", "XA-00005", "C1", "A1", "NOPE"]
)
def test_any_instant_in_any_order_gives_the_walks_answer(code: str) -> None:
    reg = sample_registry()
    instants = _instants(reg, code) * 2  # each instant twice: the cached answer is re-used
    random.Random(code).shuffle(instants)
    for at in instants:
        got = reg.resolve(code, at)
        assert got == _fresh(reg).resolve(code, at), (code, at)
        assert got == _walk(reg, code, at), (code, at)
        assert got.at == at
        assert got.requested == code


def test_a_repeated_instant_returns_the_same_object() -> None:
    reg = sample_registry()
    at = vn_midnight(datetime(2025, 7, 2).date())
    assert reg.resolve("H63", at) is reg.resolve("H63", at)
    later = reg.resolve("H63", at + TICK)
    assert later.at == at + TICK
    assert later.hops == reg.resolve("H63", at).hops


def test_the_seed_at_random_instants_matches_the_walk() -> None:
    from tests.test_registry_resolve import _seed

    seed = _seed()
    rng = random.Random(7)
    codes = rng.sample(sorted({a.code for a in seed.agencies()}), 400)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for code in codes:
        for _ in range(3):
            at = start + timedelta(seconds=rng.randrange(365 * 86400))
            assert seed.resolve(code, at) == _walk(seed, code, at), (code, at)
