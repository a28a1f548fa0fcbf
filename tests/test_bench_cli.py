"""``axis bench`` runs end to end on a small load: every phase delivers every document and the
result carries each figure the benchmark promises (speed goals live in the benchmark's own
committed results, never here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from axis.cli import main


def test_a_small_bench_delivers_everything_and_reports_each_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench.json"
    options = ["--agencies", "3", "--documents", "24", "--senders", "4", "--intake-workers", "1"]
    assert main(["bench", *options, "--out", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["full_load"]["delivered"] == 24 - 8  # the first 2 x senders warm up
    assert result["half_rate"]["delivered"] == 24
    assert result["full_load"]["accepted_per_second"] > 0
    assert result["ceiling_per_second"] > 0
    floor = result["floor"]
    assert floor["accepted_per_second"] > 0
    assert floor["cpu_ms_per_document"]["server"] > 0
    assert floor["cpu_ms_per_document"]["total"] >= floor["cpu_ms_per_document"]["server"]
    assert result["document_bytes"] > 15_000
    assert {"check", "verify", "resolve", "store"} <= set(result["intake_ms_by_stage"])
    alone = result["intake_alone_ms"]
    assert alone["check"] > 0
    assert alone["verify"] > 0
    assert alone["total"] >= alone["check"] + alone["verify"]
    assert result["server_rss_mib"] > 0
    cpu = result["cpu_ms_per_document"]
    assert cpu["serving"] > 0
    assert cpu["stolen"] >= 0
    for phase in ("full_load", "half_rate"):
        lag = result["event_loop_lag"][phase]
        assert lag["samples"] > 0
        assert lag["mean_ms"] >= 0
    printed = capsys.readouterr()
    assert "accepted:" in printed.out
    assert "floor (the same exchange" in printed.out
    assert "event loop lag: mean" in printed.out
    assert "bench: full load" in printed.err
