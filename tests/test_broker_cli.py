"""The broker's commands: the demo (``make run``), dead letters, drains, the audit chain."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from axis.cli import main


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    home = tmp_path_factory.mktemp("demo")
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["demo", "--home", str(home)]) == 0
    return home, out.getvalue()


def test_the_demo_sends_receives_answers_and_prints_the_trace(demo_home: tuple[Path, str]) -> None:
    _home, printed = demo_home
    assert "202 Accepted" in printed
    assert "route: H28 → H13 from 2025-07-01, QĐ 09/2025/QĐ-TTg" in printed
    assert "identical to what was sent: True" in printed
    assert "delivery done, business status 03" in printed
    trace = printed.split("Trace of", 1)[1]
    for kind in ("received", "verified", "redirected", "stored", "fetched", "acked"):
        assert re.search(rf"\b{kind}\b", trace), kind


def test_audit_verify_passes_then_names_the_first_tampered_event(
    demo_home: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home, _ = demo_home
    copy = tmp_path / "home"
    copy.mkdir()
    for part in home.glob("axis.sqlite3*"):  # with the WAL, should a checkpoint be pending
        (copy / part.name).write_bytes(part.read_bytes())
    assert main(["audit", "verify", "--home", str(copy)]) == 0
    assert "audit chain intact" in capsys.readouterr().out
    with sqlite3.connect(copy / "axis.sqlite3") as conn:
        seq = conn.execute("SELECT seq FROM audit WHERE kind = 'stored' ORDER BY seq").fetchone()[0]
        conn.execute("UPDATE audit SET kind = 'dropped' WHERE seq = ?", (seq,))
    assert main(["audit", "verify", "--home", str(copy)]) == 1
    assert f"audit.chain_broken at event {seq}" in capsys.readouterr().out


def test_audit_trace_prints_every_event_of_a_message(
    demo_home: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    home, printed = demo_home
    message_id = re.search(r"202 Accepted, message (\w+)", printed).group(1)  # type: ignore[union-attr]
    assert main(["audit", "trace", message_id, "--home", str(home), "--json"]) == 0
    events = json.loads(capsys.readouterr().out)
    assert [e["kind"] for e in events][:2] == ["received", "verified"]
    assert all(e["message_id"] == message_id for e in events)
    assert main(["audit", "trace", "nope", "--home", str(home)]) == 1


def test_dead_letters_retry_cancel_and_drain(
    demo_home: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    home, _ = demo_home
    assert main(["deliveries", "dead", "--home", str(home)]) == 0
    assert "no dead letters" in capsys.readouterr().out
    assert main(["deliveries", "retry", "0" * 32, "000.00.00.H13", "--home", str(home)]) == 1
    assert "delivery.not_found" in capsys.readouterr().out
    assert main(["deliveries", "drain", "000.00.00.H63", "--home", str(home)]) == 0
    assert "stay for its own system" in capsys.readouterr().out


def test_the_data_directory_gets_its_own_trust_folder_on_first_use(tmp_path: Path) -> None:
    import asyncio

    from axis.config import AxisConfig
    from axis.resources import build_trust, open_store

    config = AxisConfig(home=tmp_path / "home")

    async def first_use() -> None:
        async with open_store(config):
            pass

    asyncio.run(first_use())
    trust = tmp_path / "home" / "trust"
    assert sorted(p.name for p in trust.glob("*.pem")) == ["vgca_root_g1.pem", "vgca_root_g2.pem"]
    assert len(build_trust(config).anchors) == 2
    (trust / "vgca_root_g1.pem").unlink()  # an admin's choice is kept: no re-copy on next use
    asyncio.run(first_use())
    assert len(build_trust(config).anchors) == 1
