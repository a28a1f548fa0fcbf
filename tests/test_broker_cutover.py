"""The 1 July 2025 cut-over, live: senders address Yên Bái (H63) without pause from 23:59:50 to
00:00:10 Vietnam time on an injected clock (running 4x faster than real time). Before midnight
the documents go to H63, after it to Lào Cai (H38); none is refused, none lost, no restart; the
copies H63 had not fetched by midnight follow the work to H38 and the trace records the move.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator

import pytest

from axis.clock import VN_TZ, Clock
from axis.compose import letter
from axis.config import AxisConfig
from signing.pki import TestPki
from tests.axis_server import AxisHttp, RunningAxis
from tests.broker_fixtures import Agency, agencies
from tests.probes import poll

START = dt.datetime(2025, 6, 30, 23, 59, 50, tzinfo=VN_TZ)
MIDNIGHT = dt.datetime(2025, 7, 1, 0, 0, tzinfo=VN_TZ)
END = dt.datetime(2025, 7, 1, 0, 0, 10, tzinfo=VN_TZ)
RATE = 4.0


@pytest.fixture(scope="module")
def running(test_pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningAxis]:
    config = AxisConfig(
        home=tmp_path_factory.mktemp("cutover-home"),
        trust_dir=test_pki.trust_dir,
        signature_mode="require",
        require_sender_binding=True,
        intake_workers=1,
    )
    # an hour early: the server starts well before midnight; the test jumps to 23:59:50
    with RunningAxis(config, Clock.at(START - dt.timedelta(hours=1), rate=RATE)) as axis:
        yield axis


def test_documents_follow_the_succession_at_midnight_without_a_refusal(
    running: RunningAxis, test_pki: TestPki
) -> None:
    cast: dict[str, Agency] = agencies(test_pki)
    vpcp = running.add_system("vpcp", ("000.00.00.G22",))
    yen_bai = running.add_system("yenbai", ("000.00.00.H63",))
    lao_cai = running.add_system("laocai", ("000.00.00.H38",))
    numbers = itertools.count(1)
    running.clock.set(START)  # the server is up: start the rehearsal ten seconds before midnight
    sent: list[tuple[dt.datetime, str, str]] = []  # (axis time, message id, routed code)
    fetched_by_h63: set[str] = set()
    while running.clock.now() < END:
        day = running.clock.now().astimezone(VN_TZ).date()
        package = letter(
            cast["G22"].org,
            [cast["H63"].org],
            number=str(next(numbers)),
            subject="Văn bản gửi tỉnh Yên Bái",
            day=day,
        )
        reply = vpcp.send(cast["G22"].sign(package))
        assert reply.status == 202, reply.body  # none refused, before or after midnight
        body = reply.json()
        sent.append((running.clock.now(), body["message_id"], body["recipients"][0]["code"]))
        # Yên Bái's system fetches every other document sent to it (the odd ones stay pending,
        # whatever the machine's speed, so some are always left to move at midnight)
        early = running.clock.now() < MIDNIGHT - dt.timedelta(seconds=1)
        if len(sent) % 2 == 0 and early and body["recipients"][0]["code"] == "000.00.00.H63":
            assert yen_bai.fetch(body["message_id"]).status == 200
            fetched_by_h63.add(body["message_id"])
    before = [s for s in sent if s[0] < MIDNIGHT - dt.timedelta(seconds=1)]
    after = [s for s in sent if s[0] > MIDNIGHT + dt.timedelta(seconds=1)]
    assert len(before) >= 3
    assert len(after) >= 3
    assert {code for _, _, code in before} == {"000.00.00.H63"}
    assert {code for _, _, code in after} == {"000.00.00.H38"}

    # None lost: every document is in exactly one inbox or was fetched by H63 before midnight.
    ids = {message_id for _, message_id, _ in sent}

    def settled() -> bool:
        h38 = {i["message_id"] for i in lao_cai.inbox(limit=1000).json()["items"]}
        h63 = {i["message_id"] for i in yen_bai.inbox(limit=1000).json()["items"]}
        pending_h63 = {
            i["message_id"]
            for i in yen_bai.inbox(limit=1000).json()["items"]
            if i["state"] == "pending"
        }
        return not pending_h63 and (h38 | h63) == ids and not (h38 & h63)

    assert poll(settled, 30), "the pending H63 copies did not move to H38"
    moved = ids - fetched_by_h63 - {m for _, m, code in sent if code == "000.00.00.H38"}
    assert moved, "some documents to H63 were still unfetched at midnight"
    auditor = running.add_system("auditor", (), role="auditor")
    one = next(iter(moved))
    trace = auditor.trace(one).json()
    move = next(e for e in trace["events"] if e["kind"] == "moved")
    assert move["data"]["from"] == "000.00.00.H63"
    assert move["data"]["to"] == "000.00.00.H38"
    assert trace["deliveries"][0]["code"] == "000.00.00.H38"
    assert trace["deliveries"][0]["requested"] == "000.00.00.H63"
    # the closed agency's system still reads what it had fetched
    kept = next(iter(fetched_by_h63))
    assert yen_bai.fetch(kept).status == 200
    assert isinstance(lao_cai, AxisHttp)
