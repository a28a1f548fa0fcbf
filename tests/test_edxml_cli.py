"""``axis edxml check|show`` and ``axis run`` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from axis.cli import main
from axis.paths import default_corpus
from tests.edxml_helpers import NEW_DOCUMENT, example, example_paths


def test_check_examples_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["edxml", "check", *map(str, example_paths())]) == 0
    out = capsys.readouterr().out
    assert out.count(": ok (") == len(example_paths())


def test_check_broken_manifest_exits_one_with_codes_and_locations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.edxml"
    broken.write_bytes(
        example(NEW_DOCUMENT).replace(b"<ContentId>cid:att-2<", b"<ContentId>cid:att-X<")
    )
    assert main(["edxml", "check", str(broken)]) == 1
    out = capsys.readouterr().out
    assert (
        "error manifest.missing_attachment at /edXML/edXMLEnvelope/edXMLBody/edXMLManifest/Reference[2]/ContentId"
        in out
    )
    assert (
        "error attachment.not_in_manifest at /edXML/AttachmentEncoded/Attachment[2]/ContentId"
        in out
    )


def test_check_json_and_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.edxml"
    assert main(["edxml", "check", "--json", str(missing), str(example_paths()[0])]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report[0]["verdict"] == "unreadable"
    assert report[1]["verdict"] == "ok"


def test_show_prints_vietnamese_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["edxml", "show", str(example_paths()[0])]) == 0
    out = capsys.readouterr().out
    assert "Văn phòng UBND tỉnh Tây Ninh" in out
    assert "attached  dau-moi.txt  application/zip" in out


def test_show_json_is_the_model(capsys: pytest.CaptureFixture[str]) -> None:
    status = next(p for p in example_paths() if p.name.startswith("status_03"))
    assert main(["edxml", "show", "--json", str(status)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status_code"] == "03"
    assert data["from"]["organ_name"] == "Văn phòng Chính phủ"


def test_run_takes_the_default_corpus(axis_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert str(default_corpus()) in lines[0]
    assert lines[2].startswith("file")
    assert " accepted" in lines[-1]


def test_console_script_runs_in_a_subprocess() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "axis.cli", "edxml", "check", str(example_paths()[0])],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert ": ok (document)" in done.stdout
