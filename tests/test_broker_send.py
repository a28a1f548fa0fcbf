"""The accepting half alone (no HTTP, no worker processes): the checks run inline through the
same function the workers run, against a real SQLite store and the seed registry."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

import edxml
from axis.auth.principal import Principal
from axis.compose import letter
from axis.config import AxisConfig
from axis.errors import AxisError
from axis.intake_worker import Checked, check_with
from axis.metrics import Metrics
from axis.registry_view import RegistryView
from axis.resources import ensure_registry
from axis.send import Sender
from axis.store.records import AuditFilter
from axis.store.sqlite import SqliteStore
from edxml import Organization
from signing import TrustStore, Verifier

NOW = dt.datetime(2025, 7, 20, 3, 0, tzinfo=dt.UTC)
SENDER = Organization("000.00.00.G22", organ_name="Văn phòng Chính phủ")
CALLER = Principal("vpcp", "agency", ("000.00.00.G22",))


class InlineChecker:
    """The worker's stages in a thread of this process (never on the loop: the verifier
    refuses that), optionally held until released."""

    def __init__(self, config: AxisConfig) -> None:
        self.config = config
        self.verifier = Verifier(TrustStore.default(), config.signature_policy())
        self.gate: asyncio.Event | None = None

    async def check(self, data: bytes, received_at: dt.datetime) -> Checked:
        if self.gate is not None:
            await self.gate.wait()
        return await asyncio.to_thread(check_with, self.config, self.verifier, data, received_at)


Body = Callable[[Sender, SqliteStore, InlineChecker], Awaitable[None]]


def run(tmp_path: Path, body: Body, **settings: object) -> None:
    async def main() -> None:
        config = AxisConfig(home=tmp_path, **settings)  # type: ignore[arg-type]
        store = SqliteStore(tmp_path / "axis.sqlite3")
        await store.open()
        try:
            registry = RegistryView(store, await ensure_registry(store))
            checker = InlineChecker(config)
            sender = Sender(store, registry, checker, Metrics(), lambda: NOW, max_inflight=1)
            await body(sender, store, checker)
        finally:
            await store.close()

    asyncio.run(main())


def _letter(*codes: str, number: str = "1") -> bytes:
    return edxml.build(
        letter(
            SENDER, [Organization(c) for c in codes], number=number, subject="Thử", day=NOW.date()
        )
    )


def test_an_old_code_and_its_successor_named_together_make_one_copy(tmp_path: Path) -> None:
    async def body(sender: Sender, store: SqliteStore, _: InlineChecker) -> None:
        result = await sender.send(CALLER, _letter("000.00.00.H63", "000.00.00.H38"), address=None)
        assert [r["code"] for r in result.recipients] == ["000.00.00.H38"]
        assert [d.code for d in await store.deliveries(result.message_id)] == ["000.00.00.H38"]

    run(tmp_path, body)


def test_a_surge_past_the_inflight_limit_is_answered_503_at_once(tmp_path: Path) -> None:
    async def body(sender: Sender, store: SqliteStore, checker: InlineChecker) -> None:
        checker.gate = asyncio.Event()
        first = asyncio.create_task(sender.send(CALLER, _letter("000.00.00.G09"), address=None))
        while sender._inflight == 0:  # the first send is inside the intake
            await asyncio.sleep(0)
        with pytest.raises(AxisError) as refused:
            await sender.send(CALLER, _letter("000.00.00.G09", number="2"), address=None)
        assert (refused.value.code, refused.value.status) == ("intake.busy", 503)
        checker.gate.set()
        assert (await first).duplicate is False

    run(tmp_path, body)


def test_a_refusal_stores_nothing_but_its_audit_event(tmp_path: Path) -> None:
    async def body(sender: Sender, store: SqliteStore, _: InlineChecker) -> None:
        with pytest.raises(AxisError) as refused:
            await sender.send(CALLER, _letter("000.00.77.H38"), address="10.0.0.9")
        assert refused.value.code == "route.unknown"
        found = await store.find_messages("000.00.00.G22", "000.00.00.G22,2025/07/20,1/UBND-VP")
        assert found == ()
        page = await store.audit_events(AuditFilter(kind="rejected"))
        [event] = page.items
        assert (event.system_id, event.address, event.data["code"]) == (
            "vpcp",
            "10.0.0.9",
            "route.unknown",
        )

    run(tmp_path, body)
