"""Registry.resolve: succession chains, hops, cycles, ambiguity, re-used codes, the cut-over.

Small registries are built in code; the real seed (R2's generated file) is used where present.
"""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta

import pytest
from structlog.testing import capture_logs

from registry.model import (
    CUTOVER_2025,
    QD09_2025,
    VN_TZ,
    Agency,
    Change,
    Succession,
    SuccessionKind,
    Successor,
    vn_midnight,
)
from registry.registry import Registry, RegistryError
from tests.conftest import shared_path

QD09 = "QĐ 09/2025/QĐ-TTg"
BEFORE = vn_midnight(date(2025, 6, 30))
AFTER = vn_midnight(date(2025, 7, 2))
MERGED = SuccessionKind.MERGED


def succ(
    frm: str, *to: str, when: datetime = CUTOVER_2025, primary: str | None = None
) -> Succession:
    kind = MERGED if len(to) == 1 else SuccessionKind.SPLIT
    return Succession(frm, tuple(Successor(c, kind, c == primary) for c in to), when, QD09)


def sample_registry() -> Registry:
    """A few provinces, ministries and units that exercise every resolve status."""
    agencies = [
        Agency("H38", "UBND tỉnh Lào Cai", kind="people_committee"),
        Agency("H63", "UBND tỉnh Yên Bái", kind="people_committee", valid_until=CUTOVER_2025),
        Agency("H44", "UBND tỉnh Phú Thọ", kind="people_committee"),
        Agency("H30", "UBND tỉnh Hòa Bình", kind="people_committee", valid_until=CUTOVER_2025),
        Agency("G17", "Bộ Xây dựng", kind="ministry"),
        Agency("G04", "Bộ Giao thông vận tải", kind="ministry", valid_until=QD09_2025),
        Agency("G24", "Bảo hiểm xã hội Việt Nam", valid_until=QD09_2025),
        Agency("TINH-15", "Tỉnh Yên Bái", kind="admin_unit", valid_until=CUTOVER_2025),
        Agency("TINH-15", "Tỉnh Lào Cai", kind="admin_unit", valid_from=CUTOVER_2025),
        Agency("XA-00004", "Phường Trúc Bạch", kind="admin_unit", valid_until=CUTOVER_2025),
        Agency("XA-00004", "Phường Ba Đình", kind="admin_unit", valid_from=CUTOVER_2025),
        Agency("XA-00001", "Phường Phúc Xá", kind="admin_unit", valid_until=CUTOVER_2025),
        Agency("XA-00002", "Phường A", kind="admin_unit", valid_from=CUTOVER_2025),
        Agency("XA-00003", "Phường B", kind="admin_unit", valid_from=CUTOVER_2025),
        Agency("XA-00005", "Phường Cũ", kind="admin_unit", valid_until=CUTOVER_2025),
        Agency("C1", "Cycle one", valid_until=CUTOVER_2025),
        Agency("C2", "Cycle two", valid_until=CUTOVER_2025),
        Agency("A1", "Chain start", valid_until=QD09_2025),
        Agency("A2", "Chain middle", valid_from=QD09_2025, valid_until=CUTOVER_2025),
        Agency("FUTURE", "Not yet", valid_from=vn_midnight(date(2030, 1, 1))),
    ]
    successions = [
        succ("H63", "H38"),
        succ("H30", "H44"),
        succ("G04", "G17", when=QD09_2025),
        succ("TINH-15", "TINH-15"),
        succ("XA-00004", "XA-00004"),
        succ("XA-00001", "XA-00002", "XA-00003"),
        succ("XA-00005", "XA-00002", "XA-00003", primary="XA-00003"),
        succ("C1", "C2"),
        succ("C2", "C1"),
        succ("A1", "A2", when=QD09_2025),
        succ("A2", "H38"),
    ]
    return Registry.build(agencies, successions, author="test", reason="sample")


@pytest.fixture(scope="module")
def reg() -> Registry:
    return sample_registry()


def test_active_code_resolves_to_itself_without_hops(reg: Registry) -> None:
    res = reg.resolve("H38", AFTER)
    assert res.status == "active"
    assert res.ok
    assert res.agency is not None
    assert res.agency.name == "UBND tỉnh Lào Cai"
    assert res.hops == ()
    assert res.requested == "H38"
    assert res.at == AFTER


def test_closed_province_redirects_after_the_cutover_and_is_itself_before(reg: Registry) -> None:
    after = reg.resolve("H63", AFTER)
    assert after.status == "redirected"
    assert after.code == "H38"
    assert len(after.hops) == 1
    hop = after.hops[0]
    assert (hop.from_code, hop.to_code, hop.kind) == ("H63", "H38", MERGED)
    assert hop.effective == CUTOVER_2025
    assert hop.legal_basis == QD09
    assert after.last_known is not None
    assert after.last_known.name == "UBND tỉnh Yên Bái"
    before = reg.resolve("H63", BEFORE)
    assert before.status == "active"
    assert before.code == "H63"


def test_the_cutover_instant_itself_is_the_new_state(reg: Registry) -> None:
    assert reg.resolve("H63", CUTOVER_2025).code == "H38"
    assert reg.resolve("H63", CUTOVER_2025 - timedelta(microseconds=1)).code == "H63"
    # the same instant written in Vietnam time
    assert reg.resolve("H63", datetime(2025, 7, 1, tzinfo=VN_TZ)).code == "H38"
    assert reg.resolve("H63", datetime(2025, 6, 30, 23, 59, tzinfo=VN_TZ)).code == "H63"


def test_ministry_merged_by_qd09_redirects_from_april_2025(reg: Registry) -> None:
    res = reg.resolve("G04", vn_midnight(date(2025, 4, 15)))
    assert res.status == "redirected"
    assert res.code == "G17"
    assert reg.resolve("G04", vn_midnight(date(2025, 4, 13))).code == "G04"


def test_chain_records_every_hop(reg: Registry) -> None:
    res = reg.resolve("A1", AFTER)
    assert res.status == "redirected"
    assert res.code == "H38"
    assert [(h.from_code, h.to_code) for h in res.hops] == [("A1", "A2"), ("A2", "H38")]
    mid = reg.resolve("A1", vn_midnight(date(2025, 5, 1)))
    assert mid.code == "A2"
    assert len(mid.hops) == 1


def test_reused_code_resolves_by_date(reg: Registry) -> None:
    assert reg.resolve("TINH-15", BEFORE).agency == reg.get("TINH-15", BEFORE)
    before = reg.resolve("TINH-15", BEFORE)
    after = reg.resolve("TINH-15", AFTER)
    assert before.agency is not None
    assert before.agency.name == "Tỉnh Yên Bái"
    assert after.agency is not None
    assert after.agency.name == "Tỉnh Lào Cai"
    assert after.status == "active"
    old = reg.resolve("XA-00004", BEFORE)
    new = reg.resolve("XA-00004", AFTER)
    assert old.agency is not None
    assert old.agency.name == "Phường Trúc Bạch"
    assert new.agency is not None
    assert new.agency.name == "Phường Ba Đình"


def test_split_without_primary_is_ambiguous_with_candidates(reg: Registry) -> None:
    res = reg.resolve("XA-00001", AFTER)
    assert res.status == "ambiguous"
    assert not res.ok
    assert res.agency is None
    assert res.candidates == ("XA-00002", "XA-00003")
    assert res.last_known is not None
    assert res.last_known.name == "Phường Phúc Xá"


def test_split_with_a_primary_follows_the_primary(reg: Registry) -> None:
    res = reg.resolve("XA-00005", AFTER)
    assert res.status == "redirected"
    assert res.code == "XA-00003"
    assert res.hops[0].kind == SuccessionKind.SPLIT


def test_cycle_is_detected_not_looped(reg: Registry) -> None:
    with capture_logs() as logs:
        res = reg.resolve("C1", AFTER)
    assert [e["event"] for e in logs] == ["registry.cycle"]
    assert logs[0]["log_level"] == "warning"
    assert res.status == "cycle"
    assert res.agency is None
    assert [(h.from_code, h.to_code) for h in res.hops] == [("C1", "C2"), ("C2", "C1")]


def test_self_succession_without_a_live_record_is_a_cycle() -> None:
    reg = Registry.build(
        [Agency("X", "X", valid_until=CUTOVER_2025)], [succ("X", "X")], author="t", reason="t"
    )
    with capture_logs():
        assert reg.resolve("X", AFTER).status == "cycle"


def test_closed_without_successor_unknown_and_not_yet_valid(reg: Registry) -> None:
    closed = reg.resolve("G24", AFTER)
    assert closed.status == "closed_no_successor"
    assert closed.last_known is not None
    assert closed.last_known.code == "G24"
    assert reg.resolve("NOPE", AFTER).status == "unknown"
    future = reg.resolve("FUTURE", AFTER)
    assert future.status == "not_yet_valid"
    assert future.agency is None
    assert reg.resolve("FUTURE", vn_midnight(date(2030, 1, 2))).status == "active"


def test_naive_instant_is_refused(reg: Registry) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        reg.resolve("H38", datetime(2025, 7, 2))


def test_fast_path_memo_never_returns_a_stale_instant(reg: Registry) -> None:
    first = reg.resolve("H38", AFTER)
    again = reg.resolve("H38", AFTER)
    assert again is first  # memoised: no allocation for a repeated instant
    later = AFTER + timedelta(seconds=1)
    other = reg.resolve("H38", later)
    assert other.at == later
    assert other == first.__class__("H38", later, "active", first.agency, (), (), first.last_known)
    in_vn = reg.resolve("H38", later.astimezone(VN_TZ))
    assert in_vn.at == later


def test_scheduled_change_takes_effect_at_its_instant_without_reload() -> None:
    """A version applied before the cut-over answers differently once the instant passes."""
    base = Registry.build(
        [Agency("H63", "UBND tỉnh Yên Bái"), Agency("H38", "UBND tỉnh Lào Cai")],
        author="t",
        reason="before the merger",
    )
    old = base.get_record(("H63", None))
    assert old is not None
    closed = Agency("H63", old.name, valid_until=CUTOVER_2025)
    scheduled = base.apply(
        [
            Change("close", "H63", old, closed),
            Change("succession", "H63", None, succ("H63", "H38")),
        ],
        author="operator",
        reason="QĐ 09/2025 merger",
        effective=CUTOVER_2025,
    )
    assert scheduled.version == base.version + 1
    assert scheduled.info.effective == CUTOVER_2025
    assert scheduled.resolve("H63", BEFORE).code == "H63"
    assert scheduled.resolve("H63", AFTER).code == "H38"
    assert scheduled.resolve("H63", CUTOVER_2025).status == "redirected"


def test_apply_refuses_overlapping_records_of_one_code(reg: Registry) -> None:
    with pytest.raises(RegistryError) as caught:
        reg.apply(
            [Change("add", "H38", None, Agency("H38", "dup", valid_from=CUTOVER_2025))],
            author="t",
            reason="t",
        )
    assert caught.value.code == "registry.overlap"


def test_apply_refuses_a_stale_before_and_an_existing_key(reg: Registry) -> None:
    current = reg.get("H38")
    assert current is not None
    stale = Agency("H38", "old name that never was")
    with pytest.raises(RegistryError) as caught:
        reg.apply([Change("update", "H38", stale, Agency("H38", "x"))], author="t", reason="t")
    assert caught.value.code == "registry.stale"
    assert caught.value.location is not None
    assert "change 0" in caught.value.location
    with pytest.raises(RegistryError) as exists:
        reg.apply([Change("add", "H38", None, Agency("H38", "other"))], author="t", reason="t")
    assert exists.value.code == "registry.exists"


def test_apply_is_all_or_nothing(reg: Registry) -> None:
    good = Change("add", "G99", None, Agency("G99", "Mới"))
    bad = Change("add", "H38", None, Agency("H38", "other"))
    with pytest.raises(RegistryError):
        reg.apply([good, bad], author="t", reason="t")
    assert reg.get("G99") is None
    assert reg.version == 1


def test_apply_without_effect_returns_the_same_object(reg: Registry) -> None:
    assert reg.apply([], author="t", reason="t") is reg
    current = reg.get("H38")
    assert current is not None
    again = reg.apply([Change("add", "H38", None, current)], author="t", reason="t")
    assert again is reg
    assert again.version == 1


def test_get_without_instant_prefers_the_record_in_force(reg: Registry) -> None:
    record = reg.get("TINH-15")
    assert record is not None
    assert record.name == "Tỉnh Lào Cai"
    closed = reg.get("G24")
    assert closed is not None
    assert closed.valid_until == QD09_2025
    assert reg.get("G24", AFTER) is None
    assert len(reg.records("TINH-15")) == 2


# --- the real seed (R2's generated file), where present -------------------------------------


def _seed() -> Registry:
    from registry.store import SEED_FILE, load_seed_file

    if not SEED_FILE.exists():
        pytest.skip(f"seed {SEED_FILE} not generated yet (scripts/build_seed.py)")
    return load_seed_file(SEED_FILE)


@pytest.fixture(scope="module")
def seed() -> Registry:
    return _seed()


def full(level1: str) -> str:
    """The stored QCVN form of a level-1 agency code."""
    return f"000.00.00.{level1}"


def _derived_rows() -> list[dict[str, str]]:
    path = shared_path("adminunits", "agency_level1_province_codes_DERIVED.csv")
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_seed_resolves_each_old_h_code_to_its_surviving_committee(seed: Registry) -> None:
    rows = _derived_rows()
    assert len(rows) == 63
    by_name = {}
    for row in rows:
        if row["status_after_2025-07-01"].startswith("ACTIVE"):
            by_name[row["new_province_name"]] = row["h_code"]
    assert len(by_name) == 34
    at_after = datetime(2025, 7, 2, tzinfo=VN_TZ)
    at_before = datetime(2025, 6, 30, tzinfo=VN_TZ)
    for row in rows:
        code = row["h_code"]
        expected = by_name[row["new_province_name"]]
        after = seed.resolve(code, at_after)
        assert after.ok, (code, after.status)
        assert after.code == full(expected), (code, row["old_province_name"])
        assert after.status == ("active" if code == expected else "redirected")
        before = seed.resolve(code, at_before)
        assert before.status == "active", code
        assert before.code == full(code)
        assert seed.resolve(full(code), at_after).code == full(expected)
    yen_bai = seed.resolve("H63", at_after)
    assert yen_bai.code == full("H38")
    assert yen_bai.agency is not None
    assert "Lào Cai" in yen_bai.agency.name
    assert yen_bai.requested == "H63"


@pytest.mark.parametrize(
    ("old", "new"), [("G04", "G17"), ("G05", "G12"), ("G07", "G09"), ("G13", "G10"), ("G14", "G06")]
)
def test_seed_ministries_merged_by_qd09(seed: Registry, old: str, new: str) -> None:
    res = seed.resolve(old, datetime(2025, 4, 15, tzinfo=VN_TZ))
    assert res.status == "redirected"
    assert res.code == full(new)
    assert seed.resolve(old, datetime(2025, 4, 13, tzinfo=VN_TZ)).code == full(old)


def test_seed_k_codes_follow_their_h_codes(seed: Registry) -> None:
    res = seed.resolve("K63", datetime(2025, 7, 2, tzinfo=VN_TZ))
    assert res.ok
    assert res.code == full("K38")
    assert seed.resolve("K54", datetime(2025, 7, 2, tzinfo=VN_TZ)).code == full("K31")


def test_seed_active_resolve_is_fast_enough_to_be_the_hot_path(seed: Registry) -> None:
    """Not a speed test (that is the benchmark): the fast path must not allocate per call."""
    at = datetime(2025, 7, 2, tzinfo=UTC)
    first = seed.resolve(full("H38"), at)
    assert first.status == "active"
    assert all(seed.resolve(full("H38"), at) is first for _ in range(100))


def test_redirect_memo_answers_each_instant_correctly(reg: Registry) -> None:
    first = reg.resolve("H30", AFTER)
    assert reg.resolve("H30", AFTER) is first
    assert reg.resolve("H30", BEFORE).status == "active"
    assert reg.resolve("H30", AFTER).code == "H44"
    assert reg.resolve("H30", AFTER).at == AFTER


def test_seed_reused_codes_resolve_by_date(seed: Registry) -> None:
    before = datetime(2025, 6, 30, tzinfo=VN_TZ)
    after = datetime(2025, 7, 2, tzinfo=VN_TZ)
    old_province, new_province = seed.resolve("TINH-15", before), seed.resolve("TINH-15", after)
    assert old_province.agency is not None
    assert "Yên Bái" in old_province.agency.name
    assert new_province.agency is not None
    assert "Lào Cai" in new_province.agency.name
    old_commune, new_commune = seed.resolve("XA-00004", before), seed.resolve("XA-00004", after)
    assert old_commune.agency is not None
    assert old_commune.agency.name == "Phường Trúc Bạch"
    assert new_commune.agency is not None
    assert new_commune.agency.name == "Phường Ba Đình"
    assert new_commune.status == "active"


def test_seed_search_finds_hoa_binh_without_diacritics(seed: Registry) -> None:
    hits = seed.search("hoa binh", limit=50)
    assert full("H30") in {a.code for a in hits}
    assert all("Hòa Bình" in a.name or "Hoà Bình" in a.name for a in hits)
