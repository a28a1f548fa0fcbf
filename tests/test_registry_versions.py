"""Versions: the change log (who, when, why, what), diffs between versions, deltas for sync."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from registry.model import CUTOVER_2025, Agency, Change, Succession, SuccessionKind, Successor
from registry.registry import Registry
from registry.versions import VersionError, VersionLog, diff, registry_at_version, replay

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _history() -> list[Registry]:
    """v1 seed, v2 rename, v3 close + succession, v4 add."""
    v1 = Registry.build(
        [Agency("H63", "UBND tỉnh Yên Bái"), Agency("H38", "UBND tỉnh Lào Cai")],
        author="seed",
        reason="seed",
        created_at=T0,
    )
    old = v1.get_record(("H38", None))
    assert old is not None
    renamed = Agency("H38", "Ủy ban nhân dân tỉnh Lào Cai", short_name="Lào Cai")
    v2 = v1.apply([Change("update", "H38", old, renamed)], author="alice", reason="official name")
    yb = v2.get_record(("H63", None))
    assert yb is not None
    succession = Succession(
        "H63", (Successor("H38", SuccessionKind.MERGED),), CUTOVER_2025, "QĐ 09/2025/QĐ-TTg"
    )
    v3 = v2.apply(
        [
            Change("close", "H63", yb, Agency("H63", yb.name, valid_until=CUTOVER_2025)),
            Change("succession", "H63", None, succession),
        ],
        author="bob",
        reason="merger",
        effective=CUTOVER_2025,
    )
    v4 = v3.apply(
        [Change("add", "G22", None, Agency("G22", "Văn phòng Chính phủ"))], author="c", reason="add"
    )
    return [v1, v2, v3, v4]


def test_every_change_makes_a_new_version_with_its_log() -> None:
    v1, v2, v3, v4 = _history()
    assert [r.version for r in (v1, v2, v3, v4)] == [1, 2, 3, 4]
    info = v3.info
    assert info.number == 3
    assert info.author == "bob"
    assert info.reason == "merger"
    assert info.effective == CUTOVER_2025
    assert info.created_at.tzinfo is not None
    assert [c.op for c in info.changes] == ["close", "succession"]
    # older versions are untouched snapshots
    first, latest = v1.get("H38"), v4.get("H38")
    assert first is not None
    assert first.name == "UBND tỉnh Lào Cai"
    assert latest is not None
    assert latest.short_name == "Lào Cai"
    assert v2.get("G22") is None
    assert len(v4.log) == 5  # versions 0..4
    assert v4.log.get(2).author == "alice"


def test_diff_between_versions() -> None:
    v1, _, v3, v4 = _history()
    d = diff(v1, v4)
    assert (d.from_version, d.to_version) == (1, 4)
    assert [a.code for a in d.added] == ["G22"]
    assert d.removed == ()
    assert {after.code for _, after in d.changed} == {"H38", "H63"}
    assert [s.from_code for s in d.successions_added] == ["H63"]
    assert d.counts()["changed"] == 2
    back = diff(v4, v1)
    assert [a.code for a in back.removed] == ["G22"]
    assert [s.from_code for s in back.successions_removed] == ["H63"]
    assert diff(v3, v3).is_empty
    as_json = d.to_dict()
    assert as_json["counts"]["added"] == 1
    assert as_json["added"][0]["name"] == "Văn phòng Chính phủ"


def test_delta_replayed_on_an_old_version_reaches_the_latest_state() -> None:
    _v1, v2, _, v4 = _history()
    changes = v4.log.delta(2)
    assert [c.op for c in changes] == ["close", "succession", "add"]
    synced = v2.apply(changes, author="consumer", reason="delta since 2")
    assert diff(synced, v4).is_empty
    assert v4.log.delta(4) == ()
    assert len(v4.log.delta(0)) == 2 + 1 + 2 + 1


def test_delta_refuses_versions_it_cannot_answer_for() -> None:
    v4 = _history()[3]
    with pytest.raises(VersionError) as caught:
        v4.log.delta(9)
    assert caught.value.code == "version.future"
    trimmed = VersionLog(v4.log.versions[2:])
    with pytest.raises(VersionError) as gone:
        trimmed.delta(0)
    assert gone.value.code == "version.trimmed"
    with pytest.raises(VersionError) as unknown:
        v4.log.get(7)
    assert unknown.value.code == "version.unknown"


def test_an_older_version_is_rebuilt_from_the_log() -> None:
    v1, v2, v3, v4 = _history()
    rebuilt = registry_at_version(v4, 2)
    assert rebuilt.version == 2
    assert diff(rebuilt, v2).is_empty
    assert rebuilt.info.author == "alice"
    assert registry_at_version(v4, 4) is v4
    assert diff(registry_at_version(v4, 1), v1).is_empty
    again = replay(Registry.empty(created_at=T0), v4.log.versions[1:])
    assert diff(again, v4).is_empty
    assert again.info.created_at == v4.info.created_at
    assert v3.resolve("H63", datetime(2025, 7, 2, tzinfo=UTC)).code == "H38"


def test_version_log_must_be_contiguous() -> None:
    v4 = _history()[3]
    with pytest.raises(ValueError, match="does not follow"):
        VersionLog((v4.log.versions[0], v4.log.versions[2]))
