"""Sync plans: what an import would change (dry run), applied as one version, idempotent."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from registry.model import (
    CUTOVER_2025,
    Agency,
    Succession,
    SuccessionKind,
    Successor,
    vn_midnight,
)
from registry.registry import Registry, RegistryError
from registry.sources import read_text
from registry.sources.batch import ImportBatch
from registry.sync import SUMMARY_KEYS, SyncError, apply, plan

T0 = datetime(2025, 1, 1, tzinfo=UTC)
BEFORE = vn_midnight(date(2025, 6, 30))
AFTER = vn_midnight(date(2025, 7, 2))
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _registry() -> Registry:
    return Registry.build(
        [
            Agency("000.00.00.H38", "UBND tỉnh Lào Cai", kind="people_committee", inferred=True),
            Agency("000.00.00.H63", "UBND tỉnh Yên Bái", kind="people_committee", inferred=True),
            Agency(
                "000.00.01.H38",
                "Văn phòng UBND",
                parent="000.00.00.H38",
                contact={"email": "vp@laocai.gov.vn"},
            ),
        ],
        created_at=T0,
    )


def _csv(*rows: str) -> ImportBatch:
    header = "op,code,name,parent,valid_from,valid_until,successors,effective,legal_basis\n"
    return read_text(header + "\n".join(rows) + "\n", "list.csv")


def test_plan_reports_each_kind_of_change_without_changing_anything() -> None:
    registry = _registry()
    batch = _csv(
        "agency,000.00.00.H38,Ủy ban nhân dân tỉnh Lào Cai,,,,,,",  # official: replaces inferred
        "agency,000.00.01.H38,Văn phòng UBND tỉnh,000.00.00.H63,,,,,",  # renamed and moved
        "agency,000.00.02.H38,Sở Nội vụ,000.00.00.H38,,,,,",  # added
        "close,000.00.00.H63,,,,2025-07-01,,,",
        "succession,000.00.00.H63,,,,,000.00.00.H38:merged,2025-07-01,QĐ 09/2025/QĐ-TTg",
        "succession,000.00.00.H22,,,,,000.00.00.H60:merged,2025-07-01,QĐ 09/2025/QĐ-TTg",
    )
    result = plan(registry, batch, now=NOW)
    counts = result.summary()
    assert list(counts) == list(SUMMARY_KEYS)
    assert counts["added"] == 1
    assert counts["renamed"] == 2
    assert counts["moved"] == 1
    assert counts["replaced_inferred"] == 1
    assert counts["closed"] == 1
    assert counts["merged"] == 1
    assert counts["conflicts"] == 1
    assert result.conflicts[0].code == "succession.unknown_code"
    assert registry.version == 1  # a plan is a dry run
    text = result.format()
    assert "renamed" in text
    assert "'Văn phòng UBND' -> 'Văn phòng UBND tỉnh'" in text
    assert "line 7: [succession.unknown_code] 000.00.00.H22" in text

    # all or nothing: a conflict refuses the whole list, naming its line
    with pytest.raises(SyncError) as refused:
        apply(registry, result, "ops", "official list")
    assert refused.value.code == "sync.refused"
    assert "line 7" in refused.value.message
    assert [p.lines for p in result.problems()] == [(7,)]
    updated = apply(registry, result, "ops", "official list", partial=True)
    assert updated.version == 2
    assert updated.info.author == "ops"
    office = updated.get("000.00.01.H38", NOW)
    assert office is not None
    assert office.contact == {"email": "vp@laocai.gov.vn"}  # an empty cell erases nothing
    assert not updated.get("000.00.00.H38", NOW).inferred  # type: ignore[union-attr]
    assert updated.resolve("000.00.00.H63", AFTER).code == "000.00.00.H38"
    assert updated.resolve("000.00.00.H63", BEFORE).status == "active"

    again = plan(updated, batch, now=NOW)
    assert again.is_noop
    assert again.summary()["changes"] == 0
    assert apply(updated, again, "ops", "official list", partial=True) is updated


def test_scheduled_rename_keeps_history_and_takes_effect_at_the_instant() -> None:
    registry = _registry()
    batch = _csv("agency,000.00.01.H38,Văn phòng UBND tỉnh Lào Cai,,,,,,")
    result = plan(registry, batch, effective=CUTOVER_2025)
    counts = result.summary()
    assert (counts["superseded"], counts["renamed"], counts["closed"], counts["updated"]) == (
        1,
        1,
        0,
        0,
    )
    updated = apply(registry, result, "ops", "rename", effective=CUTOVER_2025)
    assert updated.info.effective == CUTOVER_2025
    assert updated.get("000.00.01.H38", BEFORE).name == "Văn phòng UBND"  # type: ignore[union-attr]
    assert updated.get("000.00.01.H38", AFTER).name == "Văn phòng UBND tỉnh Lào Cai"  # type: ignore[union-attr]
    assert len(updated.records("000.00.01.H38")) == 2
    # the same list again, same instant: nothing to do
    assert plan(updated, batch, effective=CUTOVER_2025).is_noop


def test_apply_with_another_effective_instant_plans_again() -> None:
    registry = _registry()
    batch = _csv("agency,000.00.09.H38,Sở mới,,,,,,")
    dry = plan(registry, batch, now=NOW)
    assert dry.changes[0].after.valid_from is None  # type: ignore[union-attr]
    updated = apply(registry, dry, "ops", "new body", effective=CUTOVER_2025)
    record = updated.get("000.00.09.H38", AFTER)
    assert record is not None
    assert record.valid_from == CUTOVER_2025
    assert updated.resolve("000.00.09.H38", BEFORE).status == "not_yet_valid"


def test_stale_plan_is_refused() -> None:
    registry = _registry()
    result = plan(registry, _csv("agency,000.00.02.H38,Sở Nội vụ,,,,,,"), now=NOW)
    moved_on = apply(registry, result, "ops", "first")
    with pytest.raises(SyncError) as info:
        apply(moved_on, result, "ops", "again")
    assert info.value.code == "sync.stale_plan"


def test_overlapping_dated_record_is_a_conflict_not_a_guess() -> None:
    registry = Registry.build(
        [Agency("XA-00004", "Phường Trúc Bạch", kind="admin_unit", valid_until=CUTOVER_2025)],
        created_at=T0,
    )
    batch = _csv(
        "agency,XA-00004,Phường Ba Đình,,2025-06-01,,,,",  # overlaps Trúc Bạch's last month
        "agency,XA-00004,Phường Ba Đình,,2025-07-01,,,,",  # the re-used code: fine
    )
    result = plan(registry, batch)
    assert [c.code for c in result.conflicts] == ["agency.overlap"]
    assert result.summary()["added"] == 1
    updated = apply(registry, result, "ops", "re-use", partial=True)
    assert updated.resolve("XA-00004", BEFORE).agency.name == "Phường Trúc Bạch"  # type: ignore[union-attr]
    assert updated.resolve("XA-00004", AFTER).agency.name == "Phường Ba Đình"  # type: ignore[union-attr]


def test_a_closed_code_named_again_is_a_conflict() -> None:
    registry = Registry.build(
        [Agency("000.00.00.G24", "BHXH", valid_until=CUTOVER_2025)], created_at=T0
    )
    result = plan(registry, _csv("agency,000.00.00.G24,BHXH Việt Nam,,,,,,"), now=NOW)
    assert [c.code for c in result.conflicts] == ["agency.closed"]
    assert result.is_noop


def test_setting_a_primary_successor_resolves_a_split() -> None:
    registry = Registry.build(
        [
            Agency("XA-00016", "Phường Ngọc Hà", kind="admin_unit", valid_until=CUTOVER_2025),
            Agency("XA-00004", "Phường Ba Đình", kind="admin_unit", valid_from=CUTOVER_2025),
            Agency("XA-00008", "Phường Ngọc Hà", kind="admin_unit", valid_from=CUTOVER_2025),
        ],
        [
            Succession(
                "XA-00016",
                (
                    Successor("XA-00004", SuccessionKind.SPLIT),
                    Successor("XA-00008", SuccessionKind.SPLIT),
                ),
                CUTOVER_2025,
            )
        ],
        created_at=T0,
    )
    assert registry.resolve("XA-00016", AFTER).status == "ambiguous"
    batch = _csv("succession,XA-00016,,,,,XA-00004:split;XA-00008:split:primary,2025-07-01,")
    result = plan(registry, batch)
    assert result.summary()["split"] == 1
    assert result.items[0].change.before is not None  # replaces the stored succession
    updated = apply(registry, result, "ops", "primary for Ngọc Hà")
    resolution = updated.resolve("XA-00016", AFTER)
    assert resolution.status == "redirected"
    assert resolution.code == "XA-00008"


def test_vdxp_deletion_closes_at_its_date_and_duplicates_conflict() -> None:
    registry = _registry()
    text = (
        '{"status":"OK","ErrorCode":"0","data":['
        '{"id":"1","pid":"","code":"000.00.00.H63","name":"UBND Yên Bái","mail":"",'
        '"deleted":true,"modifyDate":"01/07/2025 00:00:00"},'
        '{"id":"2","pid":"","code":"000.00.03.H38","name":"Sở A","mail":""},'
        '{"id":"3","pid":"","code":"000.00.03.H38","name":"Sở B","mail":""}]}'
    )
    result = plan(registry, read_text(text, "units.json"), now=NOW)
    assert result.summary()["closed"] == 1
    assert [c.code for c in result.conflicts] == ["agency.duplicate"]
    assert result.conflicts[0].lines == (2, 3)  # the items, both named
    assert result.summary()["added"] == 0  # neither of the two names is applied
    updated = apply(registry, result, "ops", "axis sync", partial=True)
    assert updated.resolve("000.00.00.H63", AFTER).status == "closed_no_successor"
    assert updated.resolve("000.00.00.H63", BEFORE).status == "active"


def test_registry_refuses_a_tampered_plan_atomically() -> None:
    registry = _registry()
    result = plan(registry, _csv("agency,000.00.01.H38,Tên mới,,,,,,"), now=NOW)
    other = registry.apply(
        plan(registry, _csv("agency,000.00.01.H38,Tên khác,,,,,,"), now=NOW).changes,
        author="someone",
        reason="raced",
    )
    # the plan was made against version 1; version 2 has another name: nothing half-applied
    with pytest.raises(SyncError):
        apply(other, result, "ops", "late")
    with pytest.raises(RegistryError):
        other.apply(result.changes, author="ops", reason="forced")
    assert other.get("000.00.01.H38", NOW).name == "Tên khác"  # type: ignore[union-attr]


def test_an_official_name_on_another_code_flags_the_inferred_namesake() -> None:
    registry = Registry.build(
        [
            Agency("000.00.00.H24", "Ủy ban nhân dân thành phố Hà Nội", inferred=True),
            Agency("000.00.00.H26", "Ủy ban nhân dân tỉnh Hải Dương", inferred=True),
        ],
        created_at=T0,
    )
    # the other collation of AGENCY_CODES.md §4.4: Hà Nội is H26
    result = plan(registry, _csv("agency,000.00.00.H26,Ủy Ban Nhân Dân Thành Phố Hà Nội,,,,,,"))
    assert result.summary()["replaced_inferred"] == 1
    assert [(n.code, n.subject) for n in result.notices] == [("inferred.namesake", "000.00.00.H24")]
    assert result.summary()["notices"] == 1
    assert "inferred.namesake" in result.format()
