"""The adapters together, as the issue's "Must show" tells it: a system speaking the VDXP
protocol of today's axis (its wire written from the specification, not our /v1 client) sends a
document to agency A; A's system, connected only through a drop folder, finds it in its inbox
folder; A's status package, dropped in its outbox, goes back and the VDXP system sees it in
``getReceivedEdocList(messagetype=status)``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from axis.cli import main as axis_main
from axis.config import AxisConfig
from edxml import Organization, StatusCode
from tests.axis_server import RunningAxis
from tests.test_adapter_client import answer, new_letter
from tests.vdxp_client import VdxpClient

VPCP = Organization("000.00.00.G22", organ_name="Văn phòng Chính phủ", organ_add="Hà Nội")
NOI_VU = Organization("000.00.00.G09", organ_name="Bộ Nội vụ", organ_add="Hà Nội")


@pytest.fixture(scope="module")
def axis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningAxis]:
    config = AxisConfig(home=tmp_path_factory.mktemp("together-home"), intake_workers=1)
    with RunningAxis(config) as running:
        yield running


def _dropfolder_once(axis: RunningAxis, system_id: str, secret: str, root: Path) -> int:
    os.environ["AXIS_CLIENT_SECRET"] = secret
    try:
        return axis_main(
            ["adapter", "dropfolder", "run", "--root", str(root), "--once", "--settle", "0",
             "--url", f"http://127.0.0.1:{axis.port}", "--system", system_id]
        )  # fmt: skip
    finally:
        del os.environ["AXIS_CLIENT_SECRET"]


def test_vdxp_to_drop_folder_and_the_status_back(axis: RunningAxis, tmp_path: Path) -> None:
    vpcp = axis.add_system("vpcp-sdkvxp", (VPCP.organ_id,))
    assert vpcp._auth_secret is not None
    home = str(axis.config.home)
    enable = ["adapter", "vdxp", "enable", "vpcp-sdkvxp", "--secret", vpcp._auth_secret]
    assert axis_main([*enable, "--home", home]) == 0
    sdk = VdxpClient(axis.port, "vpcp-sdkvxp", vpcp._auth_secret)
    noi_vu = axis.add_system("bnv-thu-muc", (NOI_VU.organ_id,))
    assert noi_vu._auth_secret is not None
    folder = tmp_path / "bnv"

    data, _document_id = new_letter(VPCP, NOI_VU, subject="Về việc tổ chức lại bộ máy")
    sent = sdk.send_edoc(
        {"from": VPCP.organ_id, "servicetype": "eDoc", "messagetype": "edoc"}, data
    )
    assert sent.ok, sent.body
    doc_id = str(sent.body["DocId"])

    assert _dropfolder_once(axis, "bnv-thu-muc", noi_vu._auth_secret, folder) == 0
    assert (folder / "inbox" / f"{doc_id}.edxml").read_bytes() == data

    status = answer(NOI_VU, data, StatusCode.ACCEPTED, "Đã tiếp nhận, vào sổ văn bản đến")
    (folder / "outbox").mkdir(exist_ok=True)
    (folder / "outbox" / "tra-loi.edxml").write_bytes(status)
    assert _dropfolder_once(axis, "bnv-thu-muc", noi_vu._auth_secret, folder) == 0
    receipt = json.loads((folder / "sent" / "tra-loi.edxml.receipt.json").read_text("utf-8"))

    listed = sdk.get_received_edoc_list("status")
    assert listed.ok, listed.body
    rows = [row for row in listed.body["data"] if row["docId"] == receipt["message_id"]]
    assert len(rows) == 1
    assert rows[0]["from"] == NOI_VU.organ_id
    documents = sdk.get_received_edoc_list("edoc")
    assert all(row["docId"] != receipt["message_id"] for row in documents.body["data"])
