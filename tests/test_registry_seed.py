"""The packaged seed: ministries, the 63 provinces' H/K codes, new units, reproducible bytes."""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from registry import sources, sync
from registry.model import CUTOVER_2025, QD09_2025, vn_midnight
from registry.registry import Registry
from registry.seed import load_seed, seed_bytes
from registry.store import SEED_FILE
from tests.conftest import shared_path

BEFORE = vn_midnight(date(2025, 6, 30))
AFTER = vn_midnight(date(2025, 7, 2))
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def seed() -> Registry:
    return load_seed()


def _derived_rows() -> list[dict[str, str]]:
    path = shared_path("adminunits", "agency_level1_province_codes_DERIVED.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_each_old_province_code_resolves_to_its_survivor_after_the_cutover(seed: Registry) -> None:
    rows = _derived_rows()
    assert len(rows) == 63
    survivor = {
        r["new_gso_province_code"]: r["h_code"][1:]
        for r in rows
        if r["status_after_2025-07-01"].startswith("ACTIVE")
    }
    assert len(survivor) == 34
    for row in rows:
        number = row["h_code"][1:]
        for letter in ("H", "K"):
            code = f"000.00.00.{letter}{number}"
            before = seed.resolve(code, BEFORE)
            assert before.status == "active", code
            assert before.code == code
            after = seed.resolve(code, AFTER)
            expected = f"000.00.00.{letter}{survivor[row['new_gso_province_code']]}"
            assert after.code == expected, (code, after)
            closed = not row["status_after_2025-07-01"].startswith("ACTIVE")
            assert after.status == ("redirected" if closed else "active")
            if closed:
                assert after.hops[0].legal_basis == "QĐ 09/2025/QĐ-TTg"
                assert after.hops[0].effective == CUTOVER_2025


def test_yen_bai_goes_to_lao_cai_and_names_follow_the_same_name_rule(seed: Registry) -> None:
    resolution = seed.resolve("000.00.00.H63", AFTER)
    assert resolution.code == "000.00.00.H38"
    assert resolution.agency is not None
    assert resolution.agency.name == "Ủy ban nhân dân tỉnh Lào Cai"
    assert resolution.agency.admin_unit == "15"  # statistics code 15: Lào Cai since 1/7/2025
    before = seed.get("000.00.00.H38", BEFORE)
    assert before is not None
    assert before.admin_unit == "10"
    hue = seed.get("000.00.00.H57", vn_midnight(date(2024, 12, 1)))
    assert hue is not None
    assert hue.name == "Ủy ban nhân dân tỉnh Thừa Thiên Huế"
    assert seed.get("000.00.00.H57", AFTER).name == "Ủy ban nhân dân thành phố Huế"  # type: ignore[union-attr]


def test_inferred_codes_are_marked_and_confirmed_ones_are_not(seed: Registry) -> None:
    assert seed.get("000.00.00.H01", AFTER).inferred  # type: ignore[union-attr]
    assert not seed.get("000.00.00.H38", AFTER).inferred  # type: ignore[union-attr]
    assert not seed.get("000.00.00.K41", AFTER).inferred  # type: ignore[union-attr]
    # Đồng Nai's evidence cites its council's code K19, not its committee's H19
    assert not seed.get("000.00.00.K19", AFTER).inferred  # type: ignore[union-attr]
    assert seed.get("000.00.00.H19", AFTER).inferred  # type: ignore[union-attr]
    assert seed.get("000.00.00.H30", BEFORE).inferred  # type: ignore[union-attr]  # conflicting evidence


@pytest.mark.parametrize(
    ("old", "new"),
    [("G04", "G17"), ("G05", "G12"), ("G07", "G09"), ("G13", "G10"), ("G14", "G06")],
)
def test_merged_ministries_redirect_from_qd09(seed: Registry, old: str, new: str) -> None:
    code = f"000.00.00.{old}"
    assert seed.resolve(code, vn_midnight(date(2025, 4, 13))).status == "active"
    after = seed.resolve(code, QD09_2025)
    assert after.status == "redirected"
    assert after.code == f"000.00.00.{new}"


def test_ministry_renames_and_the_closed_social_insurance_code(seed: Registry) -> None:
    assert seed.get("000.00.00.G10", AFTER).name == "Bộ Nông nghiệp và Môi trường"  # type: ignore[union-attr]
    assert seed.get("000.00.00.G21", AFTER).name == "Bộ Dân tộc và Tôn giáo"  # type: ignore[union-attr]
    assert seed.resolve("000.00.00.G24", AFTER).status == "closed_no_successor"


def test_new_units_link_to_provinces_in_force(seed: Registry) -> None:
    communes = [a for a in seed.agencies() if a.code.startswith("XA-") and a.valid_from is not None]
    assert len({a.code for a in communes}) == 3321
    provinces = {
        a.code for a in seed.agencies() if a.code.startswith("TINH-") and a.valid_from is not None
    }
    assert len(provinces) == 34
    for commune in communes:
        assert commune.valid_from is not None
        assert commune.valid_from >= CUTOVER_2025
        assert commune.parent in provinces
        assert commune.kind == "admin_unit"


def test_reused_codes_mean_different_units_by_date(seed: Registry) -> None:
    assert seed.resolve("TINH-15", BEFORE).agency.name == "Tỉnh Yên Bái"  # type: ignore[union-attr]
    assert seed.resolve("TINH-15", AFTER).agency.name == "Tỉnh Lào Cai"  # type: ignore[union-attr]
    assert seed.resolve("XA-00004", BEFORE).agency.name == "Phường Trúc Bạch"  # type: ignore[union-attr]
    assert seed.resolve("XA-00004", AFTER).agency.name == "Phường Ba Đình"  # type: ignore[union-attr]
    # Lào Cai's old statistics code 10 now leads to the new province 15
    moved = seed.resolve("TINH-10", AFTER)
    assert moved.status == "redirected"
    assert moved.code == "TINH-15"


def test_later_changes_are_dated_records(seed: Registry) -> None:
    when = vn_midnight(date(2026, 4, 30))
    assert seed.get("TINH-75", AFTER).name == "Tỉnh Đồng Nai"  # type: ignore[union-attr]
    assert seed.get("TINH-75", when).name == "Thành phố Đồng Nai"  # type: ignore[union-attr]
    assert seed.get("XA-25270", when).name == "Phường Lộc Ninh"  # type: ignore[union-attr]


def test_the_seed_is_packaged_and_rebuilds_to_the_same_bytes(tmp_path: Path) -> None:
    shared = shared_path("adminunits").parent
    out = tmp_path / "seed.json.gz"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "build_seed.py"),
            "--shared",
            str(shared),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    # a fresh build in another place gives exactly the committed bytes: the build is
    # deterministic and the committed seed is up to date with ../shared/data
    assert out.read_bytes() == seed_bytes()


def test_the_seed_file_is_our_own_format_and_imports_into_itself_as_a_noop(
    seed: Registry,
) -> None:
    batch = sources.read(SEED_FILE)
    assert batch.format == "native"
    assert not batch.issues
    result = sync.plan(seed, batch)
    assert result.is_noop
    assert result.summary()["unchanged"] == len(batch.agencies) + len(batch.successions)
