"""``axis registry ...`` through axis.cli.main (and once as a real subprocess), against the
deployment's store under a temporary ``$AXIS_HOME``."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from axis.cli import main
from axis.commands.registry_shared import open_registry_store
from axis.config import AxisConfig
from registry.registry import Registry
from tests.test_registry_resolve import sample_registry


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """main() points structlog at the (captured, later closed) stderr of this test: undo it."""
    yield
    structlog.reset_defaults()


def _seed(registry: Registry) -> bool:
    async def seed() -> bool:
        async with open_registry_store(AxisConfig.from_env()) as store:
            return await store.seed_registry(registry)

    return asyncio.run(seed())


def _stored() -> Registry:
    """The newest registry in the store of $AXIS_HOME (loading never seeds)."""

    async def load() -> Registry | None:
        async with open_registry_store(AxisConfig.from_env()) as store:
            return await store.load_registry()

    registry = asyncio.run(load())
    assert registry is not None
    return registry


@pytest.fixture
def home(axis_home: Path) -> Path:
    """$AXIS_HOME holding the sample registry as version 1."""
    assert _seed(sample_registry())
    return axis_home


def _json(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    data: dict[str, object] = json.loads(capsys.readouterr().out)
    return data


def test_resolve_prints_the_hop_and_the_successor(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["registry", "resolve", "H63", "--at", "2025-07-02"]) == 0
    out = capsys.readouterr().out
    assert "redirected" in out
    assert "H63 -> H38" in out
    assert "UBND tỉnh Lào Cai" in out
    assert "QĐ 09/2025/QĐ-TTg" in out
    assert main(["registry", "resolve", "H63", "--at", "2025-06-30"]) == 0
    assert "UBND tỉnh Yên Bái" in capsys.readouterr().out


def test_resolve_json_and_exit_code_of_an_ambiguous_split(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["registry", "resolve", "XA-00001", "--at", "2025-07-02", "--json"]) == 1
    data = _json(capsys)
    assert data["status"] == "ambiguous"
    assert data["candidates"] == ["XA-00002", "XA-00003"]
    assert data["agency"] is None
    assert main(["registry", "resolve", "TINH-15", "--at", "2025-07-01T00:00+07:00", "--json"]) == 0
    data = _json(capsys)
    assert data["status"] == "active"
    agency = data["agency"]
    assert isinstance(agency, dict)
    assert agency["name"] == "Tỉnh Lào Cai"


def test_resolve_refuses_a_bad_date(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["registry", "resolve", "H63", "--at", "yesterday"])
    assert caught.value.code == 2
    assert "time.bad" in capsys.readouterr().err


def test_show_lists_every_record_of_a_reused_code(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["registry", "show", "XA-00004"]) == 0
    out = capsys.readouterr().out
    assert "Phường Trúc Bạch" in out
    assert "Phường Ba Đình" in out
    assert main(["registry", "show", "H38", "--json"]) == 0
    data = _json(capsys)
    preds = data["predecessors"]
    assert isinstance(preds, list)
    assert {p["from_code"] for p in preds} == {"H63", "A2"}
    assert main(["registry", "show", "NOPE"]) == 1


def test_search_without_diacritics(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["registry", "search", "hoa binh"]) == 0
    assert "UBND tỉnh Hòa Bình" in capsys.readouterr().out
    assert main(["registry", "search", "HOÀ BÌNH", "--json"]) == 0
    results = _json(capsys)["results"]
    assert isinstance(results, list)
    assert [r["code"] for r in results] == ["H30"]


def test_diff_and_export_since(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["registry", "diff", "0", "1", "--json"]) == 0
    data = _json(capsys)
    counts = data["counts"]
    assert isinstance(counts, dict)
    assert counts["added"] == 20
    assert counts["successions_added"] == 11
    assert main(["registry", "diff", "0", "7"]) == 1
    assert "version.unknown" in capsys.readouterr().err
    assert main(["registry", "export", "--since", "0", "--json"]) == 0
    delta = _json(capsys)
    changes = delta["changes"]
    assert isinstance(changes, list)
    assert len(changes) == 31
    assert main(["registry", "export", "--since", "1", "--json"]) == 0
    assert _json(capsys)["changes"] == []
    assert main(["registry", "export", "--json"]) == 0
    full = _json(capsys)
    assert full["format"] == "axis-registry/1"
    agencies = full["agencies"]
    assert isinstance(agencies, list)
    assert len(agencies) == 20


def test_import_dry_run_then_apply_then_noop(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("registry.sync")
    source = tmp_path / "list.json"
    source.write_text(
        json.dumps(
            {
                "format": "axis-registry/1",
                "agencies": [
                    {"code": "G30", "name": "Thông tấn xã Việt Nam", "valid_from": "2025-04-14"}
                ],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    assert main(["registry", "import", str(source), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run" in out
    assert _stored().version == 1
    assert main(["registry", "import", str(source), "--author", "tester", "--json"]) == 0
    report = _json(capsys)
    assert report["version_before"] == 1
    assert report["version_after"] == 2
    stored = _stored()
    assert stored.version == 2
    assert stored.info.author == "tester"
    g30 = stored.get("G30")
    assert g30 is not None
    assert g30.name == "Thông tấn xã Việt Nam"
    assert main(["registry", "import", str(source)]) == 0
    assert "version stays 2" in capsys.readouterr().out
    assert _stored().version == 2


def test_subprocess_prints_vietnamese_names_in_utf8(home: Path) -> None:
    env = {**os.environ, "AXIS_HOME": str(home), "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run(
        [sys.executable, "-m", "axis.cli", "registry", "resolve", "H30", "--at", "2025-07-02"],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    out = proc.stdout.decode("utf-8")
    assert "H30 -> H44" in out
    assert "UBND tỉnh Phú Thọ" in out


def test_progress_bar_appears_only_after_the_threshold(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from axis.commands import registry_import

    quiet = registry_import.LazyProgress("quick")
    quiet(10, 100)
    quiet.close()
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(registry_import, "PROGRESS_AFTER_SECONDS", 0.0)
    slow = registry_import.LazyProgress("slow import")
    slow(50, 100)
    slow(100, 100)
    slow.close()
    err = capsys.readouterr().err
    assert "slow import" in err
    assert "100/100" in err


def test_the_first_command_seeds_an_empty_store_and_says_so(
    axis_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["registry", "resolve", "000.00.00.H63", "--at", "2025-07-02", "--json"]) == 0
    captured = capsys.readouterr()
    assert "seeded" in captured.err
    assert json.loads(captured.out)["agency"]["code"] == "000.00.00.H38"
    assert main(["registry", "show", "H63"]) == 0  # a bare level-1 body, as people type it
    captured = capsys.readouterr()
    assert "seeded" not in captured.err
    assert "000.00.00.H63 -> 000.00.00.H38" in captured.out


def test_home_option_overrides_the_environment(
    axis_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other-home"
    assert (
        main(["registry", "resolve", "XA-00016", "--at", "2025-07-02", "--home", str(other)]) == 1
    )
    assert "AMBIGUOUS" in capsys.readouterr().out
    assert other.is_dir()
    assert not axis_home.exists()


def test_at_without_offset_is_vietnam_time(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["registry", "resolve", "H63", "--at", "2025-07-01T00:00", "--json"]) == 0
    assert _json(capsys)["status"] == "redirected"
    assert main(["registry", "resolve", "H63", "--at", "2025-06-30T23:59", "--json"]) == 0
    assert _json(capsys)["status"] == "active"


def test_a_lookup_does_not_load_the_whole_registry(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from axis.commands import registry_cmd

    async def refuse(store: object) -> Registry:
        raise AssertionError("a lookup loaded the whole registry")

    monkeypatch.setattr(registry_cmd, "load_all", refuse)
    started = time.perf_counter()
    assert main(["registry", "resolve", "A1", "--at", "2025-07-02"]) == 0
    assert "=> H38" in capsys.readouterr().out
    assert main(["registry", "show", "H38", "--json"]) == 0
    assert {p["from_code"] for p in _json(capsys)["predecessors"]} == {"H63", "A2"}  # type: ignore[union-attr]
    assert time.perf_counter() - started < 5
