"""SqliteStore: the store contract on a fresh file, plus what only SQLite has (the file itself:
pragmas, tampering with a stored row, the legacy registry import, the group commit)."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from axis.store import open_store_url
from axis.store.errors import StoreError
from axis.store.protocol import Store
from axis.store.records import AuditFilter, new_message_id
from axis.store.sqlite import SqliteStore
from registry.sql import SCHEMA, write_version
from tests.store_contract import *  # noqa: F403 - the contract's tests run against this backend
from tests.store_contract import PAYLOAD, at, draft, edoc, run_opened
from tests.test_registry_resolve import sample_registry


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "axis.sqlite3"


@pytest.fixture
def store_factory(store_path: Path) -> Callable[[], Store]:
    """Each call: a new, unopened SqliteStore over this test's one file."""
    return lambda: SqliteStore(store_path)


def test_the_file_is_wal_with_full_sync(store_path: Path) -> None:
    async def body(store: Store) -> None:
        await store.ping()

    run_opened(SqliteStore(store_path), body)
    conn = sqlite3.connect(store_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_tampering_with_a_stored_event_names_the_first_broken_seq(store_path: Path) -> None:
    async def fill(store: Store) -> None:
        for n in range(5):
            await store.accept(edoc("H38", doc=f"{n}"))

    run_opened(SqliteStore(store_path), fill)
    conn = sqlite3.connect(store_path)
    conn.execute("""UPDATE audit SET data = '{"forged":true}' WHERE seq = 3""")
    conn.commit()
    conn.close()

    async def check(store: Store) -> None:
        verdict = await store.verify_audit()
        assert not verdict.ok
        assert verdict.first_broken == 3
        assert verdict.checked == 2

    run_opened(SqliteStore(store_path), check)
    conn = sqlite3.connect(store_path)
    conn.execute("DELETE FROM audit WHERE seq = 2")
    conn.commit()
    conn.close()

    async def gap(store: Store) -> None:
        verdict = await store.verify_audit()
        assert verdict.first_broken == 3
        assert verdict.reason is not None
        assert "missing" in verdict.reason

    run_opened(SqliteStore(store_path), gap)


def test_a_failing_op_in_a_batch_fails_alone(store_path: Path) -> None:
    async def body(store: Store) -> None:
        good = edoc("H38")
        clash = dataclasses.replace(edoc("H44"), message_id=good.message_id)  # same id, new key
        other = edoc("H44")
        results = await asyncio.gather(
            store.accept(good), store.accept(clash), store.accept(other), return_exceptions=True
        )
        assert isinstance(results[1], StoreError)
        assert results[1].code == "store.conflict"
        assert not isinstance(results[0], BaseException)
        assert not isinstance(results[2], BaseException)
        assert [i.message.message_id for i in (await store.inbox(["H44"])).items] == [
            other.message_id
        ]
        verdict = await store.verify_audit()
        assert verdict.ok
        assert verdict.checked == 2

    run_opened(SqliteStore(store_path), body)


def test_the_legacy_registry_file_is_imported_on_first_open(tmp_path: Path) -> None:
    legacy = tmp_path / "home" / "registry.sqlite3"  # the file of the registry-only releases
    legacy.parent.mkdir()
    seeded = sample_registry()
    conn = sqlite3.connect(legacy)
    conn.executescript(SCHEMA)
    for info in seeded.log:
        write_version(conn, info)
    conn.commit()
    conn.close()
    path = tmp_path / "axis.sqlite3"

    async def body(store: Store) -> None:
        loaded = await store.load_registry()
        assert loaded is not None
        assert loaded.version == seeded.version
        assert loaded.get("H63") == seeded.get("H63")
        events = await store.audit_events(AuditFilter(kind="registry.version"))
        assert [e.data["version"] for e in events.items] == [v.number for v in seeded.log]

    run_opened(SqliteStore(path, legacy_registry=legacy), body)

    async def again(store: Store) -> None:
        assert (await store.verify_audit()).checked == len(seeded.log)

    run_opened(SqliteStore(path, legacy_registry=legacy), again)  # imported once only


def test_a_missing_legacy_file_is_no_error(tmp_path: Path) -> None:
    async def body(store: Store) -> None:
        assert await store.load_registry() is None

    run_opened(SqliteStore(tmp_path / "s.sqlite3", legacy_registry=tmp_path / "none.sqlite3"), body)


def test_open_store_url_knows_sqlite_paths(tmp_path: Path) -> None:
    store = open_store_url(f"sqlite://{tmp_path}/x.sqlite3")
    assert isinstance(store, SqliteStore)
    assert store.path == tmp_path / "x.sqlite3"
    for bad in ("sqlite://host/x", "sqlite:relative.db", "postgres:///x", "sqlite:///x?mode=ro"):
        with pytest.raises(StoreError) as refused:
            open_store_url(bad)
        assert refused.value.code == "store.bad_url"


def test_reads_on_an_unseeded_store_leave_the_file_unchanged(store_path: Path) -> None:
    async def open_only(store: Store) -> None:
        await store.ping()

    run_opened(SqliteStore(store_path), open_only)

    def snapshot() -> list[object]:
        conn = sqlite3.connect(store_path)
        counts = [
            conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("versions", "agencies", "successions", "audit", "messages")
        ]
        conn.close()
        return counts

    before = snapshot()

    async def reads(store: Store) -> None:
        assert await store.load_registry() is None
        assert await store.registry_version() is None
        assert await store.payload(new_message_id()) is None

    run_opened(SqliteStore(store_path), reads)
    assert snapshot() == before == [0, 0, 0, 0, 0]


def test_payload_bytes_survive_as_blobs(store_path: Path) -> None:
    async def body(store: Store) -> None:
        msg = edoc("H38", payload=PAYLOAD * 3)
        await store.accept(msg)
        assert await store.payload(msg.message_id) == PAYLOAD * 3
        await store.append_audit([draft("x", at(1))])

    run_opened(SqliteStore(store_path), body)


def test_two_processes_on_one_file_keep_one_chain(store_path: Path) -> None:
    """The CLI writes to the server's file: the writer re-reads the chain's tail per batch."""

    async def body() -> None:
        server, cli = SqliteStore(store_path), SqliteStore(store_path)
        await server.open()
        await cli.open()
        try:
            await server.append_audit([draft("one", at(0))])
            await cli.append_audit([draft("two", at(1))])
            await server.accept(edoc("H38"))
            await cli.append_audit([draft("three", at(2))])
            verdict = await server.verify_audit()
            assert verdict.ok, verdict
            assert verdict.checked == 4
        finally:
            await cli.close()
            await server.close()

    asyncio.run(body())


def test_closing_the_store_releases_its_long_polls(store_path: Path) -> None:
    async def body() -> None:
        store = SqliteStore(store_path)
        await store.open()
        polls = [
            asyncio.create_task(store.wait_for_delivery(["H38"], None, 60)),
            asyncio.create_task(store.wait_registry_change(None, 60)),
        ]
        await asyncio.sleep(0.05)
        await store.close()
        done = await asyncio.wait_for(asyncio.gather(*polls), 10)
        assert done == [False, None]

    asyncio.run(body())


def test_a_failed_commit_fails_its_batch_and_the_store_carries_on(store_path: Path) -> None:
    """An op that wrecks the transaction (here: rolls it back itself) fails the whole batch;
    the chain's tail is re-read, so the next writes link onto what was really committed."""

    async def body() -> None:
        store = SqliteStore(store_path)
        await store.open()
        try:
            await store.append_audit([draft("before", at(0))])
            results = await asyncio.gather(
                store.append_audit([draft("maybe", at(1))]),
                store._write(lambda conn: conn.execute("ROLLBACK")),
                return_exceptions=True,
            )
            assert isinstance(results[1], sqlite3.Error)
            await store.append_audit([draft("after", at(2))])
            verdict = await store.verify_audit()
            assert verdict.ok, verdict
            survived = 0 if isinstance(results[0], BaseException) else 1
            assert verdict.checked == 2 + survived
        finally:
            await store.close()

    asyncio.run(body())
