"""The drop-folder adapter between two agencies' folders and a real axis on loopback.

The commands run as an operator runs them (``axis adapter dropfolder run --once``, found by its
entry point); the loop runs as a task stopped by its event. Real files in temporary folders.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.client import AxisClient
from adapters.dropfolder import DropFolder, Settings, run_forever, run_once
from axis.cli import main as axis_main
from axis.config import AxisConfig
from edxml import Organization, StatusCode
from tests.axis_server import AxisHttp, RunningAxis
from tests.test_adapter_client import _logging_to_stderr, answer, new_letter, system, url

__all__ = ["_logging_to_stderr"]  # the autouse fixture, shared

G03 = Organization("000.00.00.G03", organ_name="Bộ Giáo dục và Đào tạo", organ_add="Hà Nội")
G12 = Organization("000.00.00.G12", organ_name="Bộ Tài chính", organ_add="Hà Nội")
G09 = Organization("000.00.00.G09", organ_name="Bộ Nội vụ", organ_add="Hà Nội")
G01 = Organization("000.00.00.G01", organ_name="Bộ Công an", organ_add="Hà Nội")
UNKNOWN = Organization("000.00.99.H99", organ_name="Không tồn tại", organ_add="Hà Nội")


@pytest.fixture(scope="module")
def axis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningAxis]:
    config = AxisConfig(home=tmp_path_factory.mktemp("axis-home"), intake_workers=1)
    with RunningAxis(config) as running:
        yield running


def run_folder(axis: RunningAxis, who: AxisHttp, root: Path, *extra: str, settle: str = "0") -> int:
    """``axis adapter dropfolder run --once`` for ``who`` (its secret from the environment)."""
    os.environ["AXIS_CLIENT_SECRET"] = str(who._auth_secret)
    try:
        return axis_main(
            [
                "adapter",
                "dropfolder",
                "run",
                "--root",
                str(root),
                "--once",
                "--settle",
                settle,
                "--url",
                url(axis),
                "--system",
                str(who.system_id),
                *extra,
            ]
        )
    finally:
        del os.environ["AXIS_CLIENT_SECRET"]


def drop(root: Path, name: str, data: bytes) -> Path:
    """As a careful writer drops a file: written under a temporary name, then renamed."""
    outbox = root / "outbox"
    outbox.mkdir(parents=True, exist_ok=True)
    temp = outbox / f"{name}.part"
    temp.write_bytes(data)
    return temp.replace(outbox / name)


def receipt(root: Path, name: str) -> dict[str, object]:
    found: dict[str, object] = json.loads(
        (root / "sent" / f"{name}.receipt.json").read_text("utf-8")
    )
    return found


def test_a_document_crosses_and_its_status_comes_back(
    axis: RunningAxis, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    giao_duc, tai_chinh = system(axis, "moet", G03), system(axis, "mof", G12)
    a, b = tmp_path / "moet", tmp_path / "mof"
    data, document_id = new_letter(G03, G12, subject="Về việc phân bổ ngân sách giáo dục năm 2026")
    drop(a, "cong-van-15.edxml", data)

    assert run_folder(axis, giao_duc, a) == 0
    assert not (a / "outbox" / "cong-van-15.edxml").exists()
    assert (a / "sent" / "cong-van-15.edxml").read_bytes() == data
    sent = receipt(a, "cong-van-15.edxml")
    message_id = str(sent["message_id"])
    assert sent["document_id"] == document_id
    assert [(r["requested"], r["code"]) for r in sent["recipients"]] == [(G12.organ_id,) * 2]  # type: ignore[attr-defined]
    assert f"sent\tcong-van-15.edxml\t{message_id}" in capsys.readouterr().out

    assert run_folder(axis, tai_chinh, b) == 0
    assert (b / "inbox" / f"{message_id}.edxml").read_bytes() == data
    assert f"received\tedoc\t{G03.organ_id}\t{message_id}\t" in capsys.readouterr().out
    assert run_folder(axis, tai_chinh, b) == 0  # acknowledged: nothing more arrives
    assert capsys.readouterr().out == ""

    status = answer(G12, data, StatusCode.ACCEPTED, "Đã tiếp nhận, vào sổ văn bản đến")
    drop(b, "tra-loi.edxml", status)
    assert run_folder(axis, tai_chinh, b) == 0
    status_id = str(receipt(b, "tra-loi.edxml")["message_id"])
    assert run_folder(axis, giao_duc, a) == 0
    assert (a / "inbox" / f"{status_id}.edxml").read_bytes() == status
    assert sorted(p.name for p in (a / "inbox").iterdir()) == [f"{status_id}.edxml"]

    async def lookup() -> str | None:
        assert giao_duc.system_id is not None
        async with AxisClient(url(axis), giao_duc.system_id, str(giao_duc._auth_secret)) as c:
            found = await c.status(document_id, G12.organ_id)
        return None if found.status is None else found.status.status_code

    assert asyncio.run(lookup()) == "03"


def test_a_bad_file_goes_to_failed_with_its_problem_and_temporaries_stay(
    axis: RunningAxis, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    giao_duc = system(axis, "moet", G03)
    root = tmp_path / "moet"
    drop(root, "khong-ai-nhan.edxml", new_letter(G03, UNKNOWN, subject="Không ai nhận")[0])
    drop(root, "hong.edxml", b"<edXMLEnvelope><chua-dong>")
    drop(root, "khong-phai-cua-toi.edxml", new_letter(G09, G12, subject="Của Bộ Nội vụ")[0])
    (root / "outbox" / "dang-ghi.edxml.part").write_bytes(b"<edXML")
    (root / "outbox" / ".an.edxml").write_bytes(b"<edXML")

    assert run_folder(axis, giao_duc, root) == 0
    failed = root / "failed"
    codes = {
        name: json.loads((failed / f"{name}.error.json").read_text("utf-8"))["code"]
        for name in ("khong-ai-nhan.edxml", "hong.edxml", "khong-phai-cua-toi.edxml")
    }
    assert codes["khong-ai-nhan.edxml"] == "route.unknown"
    assert codes["hong.edxml"].startswith("xml.")
    assert codes["khong-phai-cua-toi.edxml"] == "auth.not_sender"
    problem = json.loads((failed / "khong-ai-nhan.edxml.error.json").read_text("utf-8"))
    assert problem["status"] == 422
    assert problem["problems"][0]["requested"] == UNKNOWN.organ_id
    assert sorted(p.name for p in (root / "outbox").iterdir()) == [
        ".an.edxml",
        "dang-ghi.edxml.part",
    ]
    assert list((root / "sent").iterdir()) == []
    assert "failed\thong.edxml\txml." in capsys.readouterr().out


def test_a_file_still_growing_waits_until_it_settles(tmp_path: Path) -> None:
    folder = DropFolder(tmp_path, settle=60)
    folder.ensure()
    growing = tmp_path / "outbox" / "dang-ghi.edxml"
    growing.write_bytes(b"<edXML")
    now = time.monotonic()
    assert folder.settled(now) == ([], [growing])
    with growing.open("ab") as out:  # the writer goes on: its clock starts again
        out.write(b"Envelope>" * 100)
    assert folder.settled(now + 59) == ([], [growing])
    assert folder.settled(now + 59 + 60) == ([growing], [])
    old = tmp_path / "outbox" / "cu.edxml"
    old.write_bytes(b"<edXMLEnvelope/>")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))  # untouched for long: ready at first sight
    assert old in folder.settled(time.monotonic())[0]


def test_a_crash_between_write_and_ack_fetches_again_and_overwrites_the_same_file(
    axis: RunningAxis, tmp_path: Path
) -> None:
    giao_duc, noi_vu = system(axis, "moet", G03), system(axis, "moha", G09)
    data, _ = new_letter(G03, G09, subject="Về việc tinh gọn bộ máy")
    drop(tmp_path / "moet", "to-trinh.edxml", data)
    assert run_folder(axis, giao_duc, tmp_path / "moet") == 0
    message_id = str(receipt(tmp_path / "moet", "to-trinh.edxml")["message_id"])
    inbox = tmp_path / "moha" / "inbox"
    inbox.mkdir(parents=True)
    (inbox / f"{message_id}.edxml").write_bytes(b"half a file")  # written, never acknowledged

    async def fetched_not_acked() -> None:  # the crashed run: it had fetched
        async with AxisClient(url(axis), str(noi_vu.system_id), str(noi_vu._auth_secret)) as c:
            assert await c.fetch(message_id) == data

    asyncio.run(fetched_not_acked())
    assert run_folder(axis, noi_vu, tmp_path / "moha") == 0
    assert (inbox / f"{message_id}.edxml").read_bytes() == data
    assert sorted(p.name for p in inbox.iterdir()) == [f"{message_id}.edxml"]
    trace = noi_vu.trace(message_id).json()
    assert [d["state"] for d in trace["deliveries"]] == ["done"]


def test_the_same_name_twice_keeps_both_files_in_sent(axis: RunningAxis, tmp_path: Path) -> None:
    giao_duc = system(axis, "moet", G03)
    root = tmp_path / "moet"
    drop(root, "cong-van.edxml", new_letter(G03, G12, subject="Lần một")[0])
    assert run_folder(axis, giao_duc, root) == 0
    drop(root, "cong-van.edxml", new_letter(G03, G12, subject="Lần hai")[0])
    assert run_folder(axis, giao_duc, root) == 0
    second = list((root / "sent").glob("cong-van.*.edxml"))
    assert len(second) == 1
    assert (root / "sent" / "cong-van.edxml").exists()
    assert second[0].with_name(second[0].name + ".receipt.json").exists()


def test_without_the_axis_files_stay_in_the_outbox(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    said: list[str] = []
    folder = DropFolder(tmp_path, settle=0, say=said.append)
    folder.ensure()
    waiting = drop(tmp_path, "cho.edxml", new_letter(G03, G12, subject="Chờ trục")[0])

    async def once() -> int:
        async with AxisClient(f"http://127.0.0.1:{port}", "x", "y", retries=0) as client:
            return await run_once(folder, client, Settings())

    assert asyncio.run(once()) == 1
    assert said == ["later\tcho.edxml\tclient.network", "later\tinbox\tclient.network"]
    assert waiting.exists()
    assert list((tmp_path / "failed").iterdir()) == []


def test_the_loop_sends_and_receives_until_stopped(axis: RunningAxis, tmp_path: Path) -> None:
    giao_duc, cong_an = system(axis, "moet", G03), system(axis, "mps", G01)
    sender_root, receiver_root = tmp_path / "moet", tmp_path / "mps"
    data, _ = new_letter(G03, G01, subject="Về việc bảo đảm an ninh kỳ thi")

    async def scenario() -> Path:
        stop = asyncio.Event()
        sender = DropFolder(sender_root, settle=0, say=lambda _line: None)
        receiver = DropFolder(receiver_root, settle=0, say=lambda _line: None)
        settings = Settings(interval=0.2)
        async with (
            AxisClient(url(axis), str(giao_duc.system_id), str(giao_duc._auth_secret)) as a,
            AxisClient(url(axis), str(cong_an.system_id), str(cong_an._auth_secret)) as b,
        ):
            loops = [
                asyncio.create_task(run_forever(sender, a, settings, stop)),
                asyncio.create_task(run_forever(receiver, b, Settings(interval=5), stop)),
            ]
            drop(sender_root, "cong-van.edxml", data)
            deadline = time.monotonic() + 30
            arrived: list[Path] = []
            while not arrived and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
                if (receiver_root / "inbox").is_dir():
                    arrived = list((receiver_root / "inbox").glob("*.edxml"))
            stop.set()  # ends the receiver's long poll in flight too
            await asyncio.wait_for(asyncio.gather(*loops), 10)
        assert arrived
        return arrived[0]

    assert asyncio.run(scenario()).read_bytes() == data
    assert (sender_root / "sent" / "cong-van.edxml").exists()


def test_the_adapter_is_found_by_its_entry_point(capsys: pytest.CaptureFixture[str]) -> None:
    from axis.plugins import Adapter, discover

    found = discover()["dropfolder"]
    assert isinstance(found, Adapter)
    assert axis_main(["adapter", "list"]) == 0
    assert "dropfolder" in capsys.readouterr().out
