"""FileRegistryStore: one SQLite file under $AXIS_HOME, seeded on first use, atomic per save."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

import registry.store as store_module
from registry.model import CUTOVER_2025, Agency, Change
from registry.registry import Registry
from registry.store import DB_NAME, FileRegistryStore, RegistryStore, StoreError, load_seed_file
from registry.versions import diff
from tests.test_registry_resolve import sample_registry

AFTER = datetime(2025, 7, 2, tzinfo=UTC)


def _store(home: Path) -> FileRegistryStore:
    return FileRegistryStore(home, seed=sample_registry)


def test_first_use_creates_the_file_with_the_seed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = _store(home)
    assert store.stored_version() is None
    reg = store.load_latest()
    assert (home / DB_NAME).is_file()
    assert reg.version == 1
    assert store.stored_version() == 1
    assert reg.resolve("H63", AFTER).code == "H38"


def test_round_trip_keeps_every_record_succession_and_version(tmp_path: Path) -> None:
    store = _store(tmp_path)
    seeded = store.load_latest()
    record = seeded.get("H38")
    assert record is not None
    updated = seeded.apply(
        [
            Change(
                "update",
                "H38",
                record,
                Agency(
                    "H38",
                    "Ủy ban nhân dân tỉnh Lào Cai",
                    contact={"email": "vanthu@laocai.gov.vn"},
                    delivery={"channel": "pull"},
                ),
            )
        ],
        author="người vận hành",
        reason="tên chính thức",
        effective=CUTOVER_2025,
    )
    assert store.save(updated) == 1
    assert store.save(updated) == 0  # already stored
    loaded = FileRegistryStore(tmp_path, seed=None).load_latest()
    assert loaded.version == 2
    assert diff(loaded, updated).is_empty
    assert list(loaded.successions()) == list(updated.successions())
    assert loaded.info == updated.info
    assert loaded.info.author == "người vận hành"
    h38 = loaded.get("H38")
    assert h38 is not None
    assert h38.contact["email"] == "vanthu@laocai.gov.vn"
    assert loaded.resolve("XA-00001", AFTER).status == "ambiguous"
    assert loaded.log.delta(1) == updated.log.delta(1)
    assert store.history().latest.number == 2


def test_a_crash_mid_write_leaves_the_previous_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(tmp_path)
    seeded = store.load_latest()
    changes = [Change("add", f"G{n}", None, Agency(f"G{n}", f"Cơ quan {n}")) for n in range(40, 50)]
    updated = seeded.apply(changes, author="t", reason="t")
    real = store_module._write_change
    calls = {"n": 0}

    def crash_after_five(conn: sqlite3.Connection, change: Change) -> None:
        calls["n"] += 1
        if calls["n"] > 5:
            raise OSError("disk pulled out mid-write")
        real(conn, change)

    monkeypatch.setattr(store_module, "_write_change", crash_after_five)
    with pytest.raises(OSError, match="mid-write"):
        store.save(updated)
    assert calls["n"] == 6
    monkeypatch.setattr(store_module, "_write_change", real)
    after_crash = FileRegistryStore(tmp_path, seed=None).load_latest()
    assert after_crash.version == 1
    assert after_crash.get("G40") is None
    assert diff(after_crash, seeded).is_empty
    assert store.save(updated) == 1
    assert FileRegistryStore(tmp_path, seed=None).load_latest().get("G49") is not None


def test_saving_a_diverged_or_older_registry_is_refused(tmp_path: Path) -> None:
    store = _store(tmp_path)
    seeded = store.load_latest()
    mine = seeded.apply([Change("add", "G40", None, Agency("G40", "a"))], author="a", reason="a")
    theirs = seeded.apply([Change("add", "G41", None, Agency("G41", "b"))], author="b", reason="b")
    assert store.save(mine) == 1
    with pytest.raises(StoreError) as diverged:
        store.save(theirs)
    assert diverged.value.code == "store.diverged"
    with pytest.raises(StoreError) as older:
        store.save(seeded)
    assert older.value.code == "store.newer"


def test_store_without_seed_starts_empty_and_satisfies_the_protocol(tmp_path: Path) -> None:
    store: RegistryStore = FileRegistryStore(tmp_path, seed=None)
    reg = store.load_latest()
    assert reg.version == 0
    assert len(reg) == 0
    assert len(store.history()) == 1


def test_seed_file_loader_reads_the_json_shape(tmp_path: Path) -> None:
    import gzip
    import json

    from registry.model import agency_to_dict, succession_to_dict

    sample = sample_registry()
    data = {
        "author": "build_seed",
        "reason": "seed",
        "generated_at": "2025-01-01T00:00:00+00:00",
        "agencies": [agency_to_dict(a) for a in sample.agencies()],
        "successions": [succession_to_dict(s) for s in sample.successions()],
    }
    path = tmp_path / "seed.json.gz"
    path.write_bytes(gzip.compress(json.dumps(data, ensure_ascii=False).encode("utf-8")))
    loaded = load_seed_file(path)
    assert loaded.version == 1
    assert loaded.info.author == "build_seed"
    assert diff(loaded, sample).is_empty


def test_packaged_seed_when_present_seeds_a_new_home(tmp_path: Path) -> None:
    if not store_module.SEED_FILE.exists():
        pytest.skip("seed not generated yet (scripts/build_seed.py)")
    reg = FileRegistryStore(tmp_path).load_latest()
    assert reg.version >= 1
    assert reg.resolve("H63", AFTER).code == "000.00.00.H38"
    again = FileRegistryStore(tmp_path).load_latest()
    assert again.version == reg.version
    assert isinstance(again, Registry)
