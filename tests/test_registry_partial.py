"""registry.partial.load_for: a lookup loads only the records it needs, and answers the same.

For every code asked for, the partial registry must give exactly the Resolution the full registry
gives (active, redirected through several hops, ambiguous, cycle, re-used codes, unknown), at
instants before, at and after the cut-over, with and without the date the code was written.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest

from registry.model import CUTOVER_2025, QD09_2025, vn_midnight
from registry.partial import closure, load_for, lookup_codes
from registry.registry import Registry
from registry.store import MemoryRegistryStore, StoreError
from tests.test_registry_resolve import sample_registry

INSTANTS = (
    vn_midnight(date(2025, 1, 1)),
    QD09_2025,
    vn_midnight(date(2025, 6, 30)),
    CUTOVER_2025,
    vn_midnight(date(2025, 7, 2)),
    datetime(2031, 1, 1, tzinfo=UTC),
)


def _partial(full: Registry, codes: list[str]) -> Registry:
    loaded = asyncio.run(load_for(MemoryRegistryStore(full), codes))
    assert loaded is not None
    return loaded


def _assert_same_answers(full: Registry, code: str) -> Registry:
    """Loads ``code`` alone and compares every answer with the full registry's."""
    part = _partial(full, [code])
    for at in INSTANTS:
        assert part.resolve(code, at) == full.resolve(code, at), (code, at)
        for written in INSTANTS:
            assert part.resolve(code, at, addressed_at=written) == full.resolve(
                code, at, addressed_at=written
            ), (code, at, written)
    assert part.records(code) == full.records(code)
    assert part.successions_of(code) == full.successions_of(code)
    assert part.predecessors_of(code) == full.predecessors_of(code)
    return part


@pytest.mark.parametrize(
    "code",
    [
        "H38",
        "H63",
        "G04",
        "TINH-15",
        "XA-00004",
        "XA-00001",
        "XA-00005",
        "C1",
        "A1",
        "FUTURE",
        "NOPE",
    ],
)
def test_partial_answers_like_the_full_sample(code: str) -> None:
    _assert_same_answers(sample_registry(), code)


def test_the_closure_follows_chains_and_stays_small() -> None:
    full = sample_registry()
    part = _partial(full, ["A1"])  # A1 -> A2 -> H38
    assert {a.code for a in part.agencies()} == {"A1", "A2", "H38"}
    assert part.resolve("A1", vn_midnight(date(2025, 7, 2))).code == "H38"
    assert len(_partial(full, ["NOPE"])) == 0
    assert part.version == full.version
    many = _partial(full, ["H63", "XA-00001"])
    assert many.resolve("H63", CUTOVER_2025) == full.resolve("H63", CUTOVER_2025)
    assert many.resolve("XA-00001", CUTOVER_2025).candidates == ("XA-00002", "XA-00003")


def test_an_unseeded_store_has_no_partial_registry_and_is_not_seeded() -> None:
    store = MemoryRegistryStore()
    assert asyncio.run(load_for(store, ["H63"])) is None
    assert store.saves == 0


def test_a_partial_registry_cannot_be_saved_over_the_full_one() -> None:
    full = sample_registry()
    store = MemoryRegistryStore(full)
    part = asyncio.run(load_for(store, ["H63"]))
    assert part is not None
    with pytest.raises(StoreError) as refused:
        asyncio.run(store.save_registry(part))
    assert refused.value.code == "store.diverged"


def test_a_bare_level1_body_also_fetches_its_stored_form() -> None:
    assert lookup_codes(["H63", "XA-00001", "H63"]) == ["H63", "000.00.00.H63", "XA-00001"]


def test_a_save_between_reads_restarts_the_load() -> None:
    """The version is read before and after the records: a partial load is one version."""
    full = sample_registry()
    record = full.get("H38")
    assert record is not None
    from registry.model import Agency, Change

    renamed = full.apply(
        [Change("update", "H38", record, Agency("H38", "UBND tỉnh Lào Cai (mới)"))],
        author="t",
        reason="t",
    )

    class SavingMidway(MemoryRegistryStore):
        async def registry_records(self, codes):  # type: ignore[no-untyped-def]
            answer = await super().registry_records(codes)
            if (await self.registry_version()) == 1:
                await self.save_registry(renamed)
            return answer

    part = asyncio.run(load_for(SavingMidway(full), ["H63"]))
    assert part is not None
    assert part.version == 2
    assert part.resolve("H63", CUTOVER_2025) == renamed.resolve("H63", CUTOVER_2025)


# --- the real seed -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed() -> Registry:
    from tests.test_registry_resolve import _seed

    return _seed()


SEED_CODES = [
    "000.00.00.H38",  # active
    "000.00.00.H63",  # redirected to H38 at the cut-over
    "H63",  # the same, typed as people do
    "000.00.00.G04",  # redirected to G17 at QĐ 09
    "XA-00001",  # a commune merged
    "XA-00016",  # a commune split without a primary successor: ambiguous
    "XA-00004",  # a re-used code
    "TINH-15",  # a re-used province code
    "000.00.00.Z99",  # unknown
]


@pytest.mark.parametrize("code", SEED_CODES)
def test_partial_answers_like_the_full_seed(seed: Registry, code: str) -> None:
    part = _assert_same_answers(seed, code)
    assert len(part) < 40  # a handful of records, not the seed's 14,387


def test_the_seed_examples_of_the_brief(seed: Registry) -> None:
    at = vn_midnight(date(2025, 7, 2))
    part = _partial(seed, SEED_CODES)
    for code in SEED_CODES:
        assert part.resolve(code, at) == seed.resolve(code, at)
    assert part.resolve("000.00.00.H63", at).code == "000.00.00.H38"
    assert part.resolve("XA-00016", at).status == "ambiguous"
    assert part.resolve("000.00.00.Z99", at).status == "unknown"
    agencies, successions = asyncio.run(closure(MemoryRegistryStore(seed), ["XA-00016"]))
    assert {a.code for a in agencies} >= {"XA-00016", "XA-00004", "XA-00008"}
    assert any(s.from_code == "XA-00016" for s in successions)
