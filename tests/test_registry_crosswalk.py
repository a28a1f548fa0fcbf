"""The statistics office's crosswalk against the registry: every old commune reaches its new units.

The expectations are read straight from the official CSV with the csv module (not through the
project's reader), so a mistake in the reader cannot hide itself.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

import pytest

from axis.cli import main
from registry import sources, sync
from registry.model import CUTOVER_2025, VN_TZ, vn_midnight
from registry.registry import Registry
from registry.seed import load_seed, seed_records
from registry.sources.adminkeys import is_admin_key
from tests.conftest import shared_path
from tests.test_registry_cli import _seed

AFTER = vn_midnight(date(2025, 7, 2))


def _crosswalk_path() -> Path:
    return shared_path("adminunits", "official", "old_communes_to_new_nso.csv")


@pytest.fixture(scope="module")
def official() -> dict[str, set[str]]:
    """Old commune code -> the codes of its new units, as the office published them."""
    mapping: dict[str, set[str]] = defaultdict(set)
    with _crosswalk_path().open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["old_commune_code"]:
                mapping[row["old_commune_code"]].add(row["new_commune_code"])
    return dict(mapping)


@pytest.fixture(scope="module")
def seed() -> Registry:
    return load_seed()


def _without_crosswalk() -> Registry:
    """The seed minus what the crosswalk states: old units and their successions."""
    agencies, successions = seed_records()
    return Registry.build(
        [a for a in agencies if not (is_admin_key(a.code) and a.valid_until == CUTOVER_2025)],
        [s for s in successions if not is_admin_key(s.from_code)],
        created_at=CUTOVER_2025,
    )


def test_every_old_commune_maps_to_its_new_units(
    seed: Registry, official: dict[str, set[str]]
) -> None:
    assert len(official) == 10033
    ambiguous = reused_split = 0
    for old, news in official.items():
        key = f"XA-{old}"
        expected = {f"XA-{n}" for n in news}
        closing = [s for s in seed.successions_of(key) if s.effective == CUTOVER_2025]
        assert len(closing) == 1, key
        succession = closing[0]
        assert {s.code for s in succession.successors} == expected, key
        resolution = seed.resolve(key, AFTER)
        if seed.get(key, AFTER) is not None:
            # the code was re-used by one of its own successors: after the cut-over it names
            # that new unit (codes mean what they mean at the date asked)
            assert resolution.status == "active", key
            assert resolution.code in expected, key
            if len(expected) > 1:
                reused_split += 1
                assert not any(s.primary for s in succession.successors)
        elif len(expected) == 1:
            assert resolution.status == "redirected", key
            assert {resolution.code} == expected, key
        else:
            assert resolution.status == "ambiguous", key
            assert set(resolution.candidates) == expected, key
            ambiguous += 1
    # 441 old communes were split; each is a succession without a primary. Those whose code was
    # not re-used are reported ambiguous by resolve; 138 codes now name one of their parts.
    assert ambiguous + reused_split == 441
    assert reused_split == 138


def test_old_districts_lead_to_the_new_communes_of_their_territory(seed: Registry) -> None:
    path = shared_path("adminunits", "old_districts_to_new.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 696
    for row in rows:
        key = f"HUYEN-{row['old_district_code']}"
        (succession,) = seed.successions_of(key)
        expected = {f"XA-{c}" for c in row["new_commune_codes"].split(";")}
        assert {s.code for s in succession.successors} == expected, key


def test_import_of_the_official_crosswalk_plans_applies_once_then_is_a_noop() -> None:
    base = _without_crosswalk()
    batch = sources.read(_crosswalk_path())
    dry = sync.plan(base, batch)
    counts = dry.summary()
    assert counts["added"] == 63 + 696 + 10033
    assert counts["unchanged"] == 3321  # the new communes: the seed already has them
    assert counts["split"] >= 441
    assert counts["conflicts"] == 0
    assert counts["errors"] == 0
    assert base.version == 1  # dry run
    applied = sync.apply(base, dry, "ops", "official crosswalk")
    assert applied.version == 2
    seed = load_seed()
    assert set(applied.agencies()) == set(seed.agencies())  # the import rebuilds the seed
    assert set(applied.successions()) == set(seed.successions())
    again = sync.plan(applied, sources.read(_crosswalk_path()))
    assert again.is_noop
    assert sync.apply(applied, again, "ops", "official crosswalk") is applied
    # the office's sheet as stored, with its flaws, states the very same thing
    sheet = sources.read(shared_path("adminunits", "official", "nso_crosswalk_sheet_raw.csv"))
    assert sync.plan(applied, sheet).is_noop


def test_cli_import_prints_the_plan_in_dry_run_then_applies_then_does_nothing(
    axis_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _seed(_without_crosswalk())
    path = str(_crosswalk_path())
    assert main(["registry", "import", path, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "added 10792" in out
    assert "dry run: nothing applied" in out
    assert main(["registry", "import", path, "--author", "test"]) == 0
    assert "registry version 1 -> 2" in capsys.readouterr().out
    assert main(["registry", "import", path, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["version_before"] == report["version_after"] == 2
    assert report["summary"]["changes"] == 0


def test_reused_split_codes_keep_their_old_meaning_for_documents_addressed_before() -> None:
    """All 441 split communes are ambiguous for a document written before the cut-over, including
    the ones whose code a successor now holds (those answer with the new holder otherwise)."""
    registry = load_seed()
    after = datetime(2025, 7, 2, tzinfo=VN_TZ)
    before = datetime(2025, 6, 20, tzinfo=VN_TZ)
    splits = [
        s for s in registry.successions() if s.from_code.startswith("XA-") and len(s.successors) > 1
    ]
    assert len(splits) == 441
    reused = [s for s in splits if s.from_code in {x.code for x in s.successors}]
    assert reused, "the crosswalk re-uses some split communes' codes"
    for succession in splits:
        addressed = registry.resolve(succession.from_code, after, addressed_at=before)
        assert addressed.status == "ambiguous", succession.from_code
        assert set(addressed.candidates) == {x.code for x in succession.successors}
    holder = registry.resolve(reused[0].from_code, after)
    assert holder.status == "active"
    # Written after the change, the code means its new holder.
    later = registry.resolve(reused[0].from_code, after, addressed_at=after)
    assert later.status == "active"
