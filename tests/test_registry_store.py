"""The RegistryStore protocol through MemoryRegistryStore (no I/O), and the registry's SQL rows.

The store is driven through the async protocol the broker's store implements: a read never writes
(seeding is explicit), a save must continue the stored history, a change wakes waiters. The
broker's SQLite store runs the same scenarios in its own contract suite; here the SQL row helpers
it shares (:mod:`registry.sql`) are checked on a bare connection.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

import registry.sql as sql_module
from registry.model import CUTOVER_2025, Agency, Change
from registry.registry import Registry
from registry.store import MemoryRegistryStore, RegistryStore, StoreError, load_seed_file
from registry.versions import VersionLog, diff
from tests.test_registry_resolve import sample_registry

AFTER = datetime(2025, 7, 2, tzinfo=UTC)


@pytest.fixture
def store() -> MemoryRegistryStore:
    return MemoryRegistryStore()


def _h38_contact(reg: Registry) -> Registry:
    record = reg.get("H38")
    assert record is not None
    after = Agency(
        "H38",
        "Ủy ban nhân dân tỉnh Lào Cai",
        contact={"email": "vanthu@laocai.gov.vn"},
        delivery={"channel": "pull"},
    )
    return reg.apply(
        [Change("update", "H38", record, after)],
        author="người vận hành",
        reason="tên chính thức",
        effective=CUTOVER_2025,
    )


def test_a_new_store_is_unseeded_and_reading_it_writes_nothing(
    store: MemoryRegistryStore,
) -> None:
    async def scenario() -> None:
        assert await store.registry_version() is None
        assert await store.load_registry() is None
        assert await store.registry_records(["H63"]) == ([], [])
        assert (await store.registry_history()).latest.number == 0
        assert await store.wait_registry_change(None, 0.01) is None

    asyncio.run(scenario())
    assert store.saves == 0


def test_seeding_is_explicit_and_happens_once(store: RegistryStore) -> None:
    async def scenario() -> None:
        assert await store.seed_registry(sample_registry())
        assert await store.registry_version() == 1
        assert not await store.seed_registry(Registry.empty())
        loaded = await store.load_registry()
        assert loaded is not None
        assert loaded.version == 1
        assert loaded.resolve("H63", AFTER).code == "H38"

    asyncio.run(scenario())


def test_round_trip_keeps_every_record_succession_and_version(store: RegistryStore) -> None:
    async def scenario() -> None:
        seeded = sample_registry()
        await store.seed_registry(seeded)
        updated = _h38_contact(seeded)
        assert await store.save_registry(updated) == 1
        assert await store.save_registry(updated) == 0  # already stored
        loaded = await store.load_registry()
        assert loaded is not None
        assert loaded.version == 2
        assert diff(loaded, updated).is_empty
        assert list(loaded.successions()) == list(updated.successions())
        assert loaded.info == updated.info
        h38 = loaded.get("H38")
        assert h38 is not None
        assert h38.contact["email"] == "vanthu@laocai.gov.vn"
        assert loaded.resolve("XA-00001", AFTER).status == "ambiguous"
        assert loaded.log.delta(1) == updated.log.delta(1)
        assert (await store.registry_history()).latest.number == 2

    asyncio.run(scenario())


def test_saving_a_diverged_or_older_registry_is_refused(store: RegistryStore) -> None:
    async def scenario() -> None:
        seeded = sample_registry()
        await store.seed_registry(seeded)
        mine = seeded.apply(
            [Change("add", "G40", None, Agency("G40", "a"))], author="a", reason="a"
        )
        theirs = seeded.apply(
            [Change("add", "G41", None, Agency("G41", "b"))], author="b", reason="b"
        )
        assert await store.save_registry(mine) == 1
        with pytest.raises(StoreError) as diverged:
            await store.save_registry(theirs)
        assert diverged.value.code == "store.diverged"
        assert diverged.value.to_dict()["code"] == "store.diverged"
        with pytest.raises(StoreError) as older:
            await store.save_registry(seeded)
        assert older.value.code == "store.newer"

    asyncio.run(scenario())


def test_registry_records_are_the_codes_records_and_their_successions(
    store: RegistryStore,
) -> None:
    async def scenario() -> None:
        await store.seed_registry(sample_registry())
        agencies, successions = await store.registry_records(["H38", "TINH-15"])
        assert sorted((a.code, a.name) for a in agencies) == [
            ("H38", "UBND tỉnh Lào Cai"),
            ("TINH-15", "Tỉnh Lào Cai"),
            ("TINH-15", "Tỉnh Yên Bái"),
        ]
        # closing TINH-15, and naming H38 (from H63 and A2) or TINH-15 as a successor
        assert sorted(s.from_code for s in successions) == ["A2", "H63", "TINH-15"]

    asyncio.run(scenario())


def test_a_save_wakes_a_waiter(store: RegistryStore) -> None:
    async def scenario() -> None:
        seeded = sample_registry()
        await store.seed_registry(seeded)
        assert await store.wait_registry_change(0, 5.0) == 1  # already different: no wait
        waiting = asyncio.create_task(store.wait_registry_change(1, 5.0))
        await asyncio.sleep(0.01)
        assert not waiting.done()
        await store.save_registry(_h38_contact(seeded))
        assert await asyncio.wait_for(waiting, 5.0) == 2
        assert await store.wait_registry_change(2, 0.05) is None

    asyncio.run(scenario())


def test_memory_store_wakes_a_waiter_on_another_event_loop() -> None:
    """A node's watcher may run on its own loop (thread): the save wakes it on that loop."""
    import threading

    seeded = sample_registry()
    store = MemoryRegistryStore(seeded)
    assert store.saves == 1
    assert asyncio.run(store.wait_registry_change(1, 0.01)) is None  # its loop is closed now
    seen: list[int | None] = []
    watcher = threading.Thread(
        target=lambda: seen.append(asyncio.run(store.wait_registry_change(1, 10.0)))
    )
    watcher.start()
    for _ in range(2000):  # until the watcher waits (at most 10 s)
        if store._waiters:
            break
        watcher.join(0.005)
    assert asyncio.run(store.save_registry(_h38_contact(seeded))) == 1
    watcher.join(10.0)
    assert seen == [2]


def _sql_state(conn: sqlite3.Connection) -> Registry:
    interner = sql_module.Interner()
    agencies = [interner.agency(d) for d in sql_module.json_array(conn, "agencies")]
    successions = [interner.succession(d) for d in sql_module.json_array(conn, "successions")]
    rows = conn.execute(
        "SELECT number, created_at, author, reason, effective, changes FROM versions ORDER BY number"
    ).fetchall()
    log = VersionLog(tuple(sql_module.read_version(r, interner) for r in rows))
    return Registry.from_snapshot(agencies, successions, log)


def test_sql_rows_round_trip_and_a_rolled_back_write_leaves_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.executescript(sql_module.SCHEMA)
    seeded = sample_registry()
    for info in seeded.log:
        sql_module.write_version(conn, info)
    loaded = _sql_state(conn)
    assert diff(loaded, seeded).is_empty
    assert loaded.log == seeded.log
    assert loaded.resolve("H63", AFTER) == seeded.resolve("H63", AFTER)
    changes = [Change("add", f"G{n}", None, Agency(f"G{n}", f"Cơ quan {n}")) for n in range(40, 50)]
    updated = seeded.apply(changes, author="t", reason="t")
    real = sql_module.write_change
    calls = {"n": 0}

    def crash_after_five(conn: sqlite3.Connection, change: Change) -> None:
        calls["n"] += 1
        if calls["n"] > 5:
            raise OSError("disk pulled out mid-write")
        real(conn, change)

    monkeypatch.setattr(sql_module, "write_change", crash_after_five)
    conn.execute("BEGIN IMMEDIATE")
    with pytest.raises(OSError, match="mid-write"):
        sql_module.write_version(conn, updated.info)
    conn.execute("ROLLBACK")
    assert calls["n"] == 6
    assert diff(_sql_state(conn), seeded).is_empty


def test_old_sql_helper_names_still_resolve_from_registry_store() -> None:
    import registry.store as store_module

    assert store_module._write_change is sql_module.write_change
    assert "CREATE TABLE IF NOT EXISTS versions" in store_module._SCHEMA
    with pytest.raises(AttributeError):
        _ = store_module.FileRegistryStore  # type: ignore[attr-defined]


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
