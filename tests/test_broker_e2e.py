"""The way of a document over real HTTP on loopback: send, receive, ack, status back, revoke,
resend, a closed code's successor, every refusal, and who may see what.

One real axis for the module (store file, intake worker process, aiohttp on a free port); the
agencies sign with certificates of the project's test PKI that name their codes.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from axis.compose import letter, status_answer
from axis.config import AxisConfig
from edxml import BusinessDocType, Document, Organization, StatusCode
from signing.pki import TestPki
from tests.axis_server import AxisHttp, RunningAxis
from tests.broker_fixtures import Agency, agencies

DAY = dt.date(2025, 7, 15)
_numbers = itertools.count(100)


@pytest.fixture(scope="module")
def cast(test_pki: TestPki) -> dict[str, Agency]:
    return agencies(test_pki)


@pytest.fixture(scope="module")
def axis(test_pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningAxis]:
    home = tmp_path_factory.mktemp("axis-home")
    config = AxisConfig(
        home=home,
        trust_dir=test_pki.trust_dir,
        signature_mode="require",
        require_sender_binding=True,
        intake_workers=1,
        max_document_bytes=256 * 1024,
    )
    with RunningAxis(config) as running:
        yield running


@pytest.fixture(scope="module")
def systems(axis: RunningAxis) -> dict[str, AxisHttp]:
    return {
        "H38": axis.add_system("laocai-ioffice", ("000.00.00.H38",)),
        "G22": axis.add_system("vpcp-qlvb", ("000.00.00.G22",)),
        "G09": axis.add_system("bnv-edoc", ("000.00.00.G09",)),
        "auditor": axis.add_system("kiem-toan", (), role="auditor"),
    }


def _letter(sender: Agency, *to: Organization, subject: str = "Về việc sáp nhập tỉnh") -> bytes:
    return sender.sign(letter(sender.org, to, number=str(next(_numbers)), subject=subject, day=DAY))


def _follow_up(
    sender: Agency, original: Document, kind: BusinessDocType, *to: Organization
) -> bytes:
    """A signed revoke/update/replace of ``original`` (it names the earlier DocumentId)."""
    package = letter(
        sender.org,
        to,
        number=str(next(_numbers)),
        subject=f"Về việc {kind.name.lower()} văn bản",
        day=DAY,
        business=kind,
        refers_to=original.header.document_id,
    )
    return sender.sign(package)


def _inbox_ids(client: AxisHttp, **query: object) -> list[str]:
    reply = client.inbox(**query)
    assert reply.status == 200, reply.body
    return [item["message_id"] for item in reply.json()["items"]]


def test_send_receive_ack_and_status_back(
    cast: dict[str, Agency], systems: dict[str, AxisHttp]
) -> None:
    subject = "Công văn về việc sáp nhập tỉnh Lào Cai và Yên Bái"
    data = _letter(cast["H38"], cast["G22"].org, subject=subject)
    sent = systems["H38"].send(data)
    assert sent.status == 202, sent.body
    body = sent.json()
    message_id = body["message_id"]
    assert body["duplicate"] is False
    assert [(r["requested"], r["status"], r["code"]) for r in body["recipients"]] == [
        ("000.00.00.G22", "active", "000.00.00.G22")
    ]
    item = next(i for i in systems["G22"].inbox().json()["items"] if i["message_id"] == message_id)
    assert item["subject"] == subject  # Vietnamese survives the store and the JSON
    assert item["sender_code"] == "000.00.00.H38"
    fetched = systems["G22"].fetch(message_id)
    assert fetched.status == 200
    assert fetched.body == data  # byte-identical
    assert systems["G22"].ack(message_id).status == 200
    assert message_id not in _inbox_ids(systems["G22"])
    answer = cast["G22"].sign(
        status_answer(
            cast["G22"].org,
            _parsed(data),
            StatusCode.ACCEPTED,
            "Đã tiếp nhận, vào sổ văn bản đến",
            dt.datetime(2025, 7, 15, 10, 0, tzinfo=dt.UTC),
        )
    )
    status_reply = systems["G22"].send(answer)
    assert status_reply.status == 202, status_reply.body
    status_id = status_reply.json()["message_id"]
    assert status_id in _inbox_ids(systems["H38"], kind="status")
    assert status_id not in _inbox_ids(systems["H38"], kind="edoc")
    mine = next(s for s in systems["H38"].sent().json()["items"] if s["message_id"] == message_id)
    [recipient] = mine["recipients"]
    assert recipient["code"] == "000.00.00.G22"
    assert recipient["state"] == "done"
    assert recipient["status"]["status_code"] == "03"
    trace = systems["H38"].trace(message_id).json()
    answered = [e for e in trace["events"] if e["kind"] == "status"]
    assert [(e["data"]["status_code"], e["codes"]) for e in answered] == [("03", ["000.00.00.G22"])]


def _parsed(data: bytes) -> object:
    import edxml

    package = edxml.parse(data)
    assert isinstance(package, edxml.Document)
    return package


def test_a_resend_returns_the_first_message(
    cast: dict[str, Agency], systems: dict[str, AxisHttp]
) -> None:
    data = _letter(cast["H38"], cast["G09"].org)
    first = systems["H38"].send(data)
    again = systems["H38"].send(data)
    assert (first.status, again.status) == (202, 200)
    assert again.json()["message_id"] == first.json()["message_id"]
    assert again.json()["duplicate"] is True
    assert _inbox_ids(systems["G09"]).count(first.json()["message_id"]) == 1


def test_a_document_to_a_closed_code_reaches_the_successor_with_the_redirect_traced(
    cast: dict[str, Agency], systems: dict[str, AxisHttp]
) -> None:
    data = _letter(cast["G22"], cast["H63"].org)
    reply = systems["G22"].send(data)
    assert reply.status == 202, reply.body
    [route] = reply.json()["recipients"]
    assert (route["requested"], route["status"], route["code"]) == (
        "000.00.00.H63",
        "redirected",
        "000.00.00.H38",
    )
    assert route["hops"][0]["legal_basis"].startswith("QĐ 09/2025")
    message_id = reply.json()["message_id"]
    assert message_id in _inbox_ids(systems["H38"])
    trace = systems["auditor"].trace(message_id).json()
    kinds = [e["kind"] for e in trace["events"]]
    assert kinds[:2] == ["received", "verified"]
    assert "redirected" in kinds
    redirect = next(e for e in trace["events"] if e["kind"] == "redirected")
    assert redirect["data"]["requested"] == "000.00.00.H63"
    assert redirect["data"]["code"] == "000.00.00.H38"
    assert trace["deliveries"][0]["requested"] == "000.00.00.H63"


def test_a_revoke_withdraws_undelivered_copies_and_reaches_those_who_fetched(
    cast: dict[str, Agency], systems: dict[str, AxisHttp]
) -> None:
    sender = cast["H38"]
    number = str(next(_numbers))
    original = letter(
        sender.org, [cast["G22"].org, cast["G09"].org], number=number, subject="Gốc", day=DAY
    )
    first = systems["H38"].send(sender.sign(original))
    original_id = first.json()["message_id"]
    assert systems["G22"].fetch(original_id).status == 200  # G22 has seen it; G09 has not
    reply = systems["H38"].send(
        _follow_up(sender, original, BusinessDocType.REVOKE, cast["G22"].org, cast["G09"].org)
    )
    assert reply.status == 202, reply.body
    revoke_id = reply.json()["message_id"]
    assert reply.json()["withdrawn"] == ["000.00.00.G09"]
    assert original_id not in _inbox_ids(systems["G09"])
    assert revoke_id not in _inbox_ids(systems["G09"])
    assert revoke_id in _inbox_ids(systems["G22"])
    gone = systems["G09"].fetch(original_id)
    assert gone.status == 410
    assert gone.json()["code"] == "message.withdrawn"


@pytest.mark.parametrize(
    ("mangle", "status", "code"),
    [
        (lambda d: b"", 400, "xml.empty"),
        (lambda d: b"<edXML><unclosed>", 400, "xml.malformed"),
        (lambda d: b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', 400, "xml.dtd_forbidden"),
        (
            lambda d: d.replace("Bộ Nội vụ".encode(), "Bộ Ngoại giao".encode()),
            422,
            "sig.digest_mismatch",
        ),
        (lambda d: d + b" " * (300 * 1024), 413, "xml.too_large"),
    ],
    ids=["empty", "malformed", "dtd", "tampered", "too-large"],
)
def test_a_bad_package_is_refused_with_a_precise_problem_and_nothing_stored(
    cast: dict[str, Agency],
    systems: dict[str, AxisHttp],
    axis: RunningAxis,
    mangle: object,
    status: int,
    code: str,
) -> None:
    data = mangle(_letter(cast["H38"], cast["G09"].org))  # type: ignore[operator]
    before = _inbox_ids(systems["G09"])
    reply = systems["H38"].send(data)
    assert reply.status == status, reply.body
    problem = reply.json()
    assert reply.headers["Content-Type"].startswith("application/problem+json")
    assert problem["code"].startswith(code.split(".")[0])
    assert problem["code"] == code or code in ("xml.malformed",)
    assert problem["status"] == status
    assert "location" in problem
    assert problem["detail"]
    assert _inbox_ids(systems["G09"]) == before


def test_an_unsigned_document_is_refused_under_require(
    cast: dict[str, Agency], systems: dict[str, AxisHttp]
) -> None:
    import edxml

    package = letter(cast["H38"].org, [cast["G09"].org], number="1", subject="x", day=DAY)
    reply = systems["H38"].send(edxml.build(package))
    assert reply.status == 422
    assert reply.json()["code"].startswith("sig.")


def test_unknown_recipients_are_each_named_and_partial_allow_accepts_the_others(
    cast: dict[str, Agency], systems: dict[str, AxisHttp]
) -> None:
    unknown = [Organization("000.00.99.H38"), Organization("000.00.98.G22")]
    data = _letter(cast["H38"], cast["G09"].org, *unknown)
    refused = systems["H38"].send(data)
    assert refused.status == 422
    body = refused.json()
    assert body["code"] == "route.unresolved"
    assert [p["requested"] for p in body["problems"]] == ["000.00.99.H38", "000.00.98.G22"]
    assert [p["location"] for p in body["problems"]] == ["recipient[2]", "recipient[3]"]
    accepted = systems["H38"].send(data, partial=True)
    assert accepted.status == 202, accepted.body
    assert [r["code"] for r in accepted.json()["recipients"]] == ["000.00.00.G09"]
    assert [u["requested"] for u in accepted.json()["unresolved"]] == [
        "000.00.99.H38",
        "000.00.98.G22",
    ]


def test_a_system_may_not_send_for_another_agency(
    cast: dict[str, Agency], systems: dict[str, AxisHttp]
) -> None:
    reply = systems["G09"].send(_letter(cast["H38"], cast["G22"].org))
    assert reply.status == 403
    assert reply.json()["code"] == "auth.not_sender"
    assert "000.00.00.H38" in reply.json()["detail"]


def test_a_system_never_sees_another_systems_documents(
    cast: dict[str, Agency], systems: dict[str, AxisHttp], axis: RunningAxis
) -> None:
    reply = systems["H38"].send(_letter(cast["H38"], cast["G22"].org))
    message_id = reply.json()["message_id"]
    assert message_id not in _inbox_ids(systems["G09"])
    for attempt in (systems["G09"].fetch(message_id), systems["G09"].trace(message_id)):
        assert attempt.status == 404
        assert attempt.json()["code"] == "message.not_found"
    forbidden = systems["G09"].inbox(code="000.00.00.G22")
    assert forbidden.status == 403
    trace = systems["auditor"].trace(message_id).json()
    refused = [e for e in trace["events"] if e["kind"] == "read.refused"]
    assert {e["system_id"] for e in refused} == {"bnv-edoc"}
    assert all(e["address"] == "127.0.0.1" for e in refused)


def test_every_call_needs_credentials(axis: RunningAxis) -> None:
    anonymous = AxisHttp(axis.port, None, None)
    for method, path in [("GET", "/v1/inbox"), ("POST", "/v1/messages"), ("GET", "/v1/sent")]:
        reply = anonymous.request(method, path)
        assert reply.status == 401, path
        assert reply.json()["code"] == "auth.missing"
    wrong = AxisHttp(axis.port, "vpcp-qlvb", "not-the-secret")
    assert wrong.inbox().json()["code"] == "auth.bad_credentials"
    assert anonymous.request("GET", "/v1/health").status == 200
    spec = anonymous.request("GET", "/v1/openapi.json").json()
    assert "/v1/messages" in spec["paths"]


def test_long_poll_returns_when_a_document_arrives(
    cast: dict[str, Agency], systems: dict[str, AxisHttp]
) -> None:
    import threading

    cursor = systems["G09"].inbox(limit=1000).json()["cursor"]
    result: dict[str, object] = {}

    def poll() -> None:
        result["reply"] = systems["G09"].inbox(wait=20, after=cursor)

    poller = threading.Thread(target=poll)
    poller.start()
    reply = systems["H38"].send(_letter(cast["H38"], cast["G09"].org))
    poller.join(timeout=25)
    assert not poller.is_alive()
    items = result["reply"].json()["items"]  # type: ignore[attr-defined]
    assert reply.json()["message_id"] in [i["message_id"] for i in items]


def test_metrics_are_for_admins_and_auditors(
    systems: dict[str, AxisHttp], axis: RunningAxis
) -> None:
    assert systems["G22"].request("GET", "/metrics").status == 403
    assert AxisHttp(axis.port, "vpcp-qlvb", "sai-mat-khau").inbox().status == 401
    text = systems["auditor"].request("GET", "/metrics").body.decode()
    assert "axis_accepted_total" in text
    assert "axis_rejected_total" in text
    assert 'axis_auth_failures_total{code="auth.bad_credentials"}' in text


def test_a_split_code_is_refused_with_its_candidates(
    cast: dict[str, Agency], systems: dict[str, AxisHttp]
) -> None:
    reply = systems["H38"].send(_letter(cast["H38"], Organization("XA-00016")))
    assert reply.status == 422
    body = reply.json()
    assert body["code"] == "route.ambiguous"
    assert body["location"] == "recipient[1]"
    assert "XA-00004" in body["detail"]
    assert "XA-00008" in body["detail"]


def test_an_update_links_to_the_earlier_document(
    cast: dict[str, Agency], systems: dict[str, AxisHttp]
) -> None:
    sender = cast["H38"]
    original = letter(
        sender.org, [cast["G09"].org], number=str(next(_numbers)), subject="Gốc", day=DAY
    )
    systems["H38"].send(sender.sign(original))
    reply = systems["H38"].send(
        _follow_up(sender, original, BusinessDocType.UPDATE, cast["G09"].org)
    )
    assert reply.status == 202, reply.body
    item = next(
        i
        for i in systems["G09"].inbox().json()["items"]
        if i["message_id"] == reply.json()["message_id"]
    )
    assert item["business_type"] == 2
    assert item["refers_to"] == original.header.document_id


def test_a_failed_delivery_is_a_dead_letter_an_admin_puts_back(
    cast: dict[str, Agency], systems: dict[str, AxisHttp], axis: RunningAxis
) -> None:
    admin = axis.add_system("quan-tri", (), role="admin")
    message_id = systems["H38"].send(_letter(cast["H38"], cast["G22"].org)).json()["message_id"]
    assert systems["G22"].fetch(message_id).status == 200
    failed = systems["G22"].ack(message_id, "fail", "tệp đính kèm hỏng")
    assert failed.json()["deliveries"][0]["state"] == "fail"
    assert message_id not in _inbox_ids(systems["G22"])
    dead = admin.request("GET", "/v1/deliveries/dead").json()["items"]
    assert any(d["message_id"] == message_id and d["reason"] == "tệp đính kèm hỏng" for d in dead)
    assert systems["G22"].request("GET", "/v1/deliveries/dead").status == 403
    assert (
        systems["auditor"]
        .request("POST", f"/v1/deliveries/{message_id}/000.00.00.G22/retry")
        .status
        == 403
    )
    retried = admin.request("POST", f"/v1/deliveries/{message_id}/000.00.00.G22/retry")
    assert retried.status == 200
    assert retried.json()["state"] == "pending"
    assert message_id in _inbox_ids(systems["G22"])
    again = admin.request("POST", f"/v1/deliveries/{message_id}/000.00.00.G22/retry")
    assert again.status == 404  # no longer a dead letter: nothing to retry
    assert again.json()["code"] == "delivery.not_found"


def test_repeated_bad_logins_from_one_address_are_slowed_to_429(
    test_pki: TestPki, tmp_path: Path
) -> None:
    config = AxisConfig(home=tmp_path / "home", intake_workers=1, auth_failures_per_minute=3)
    with RunningAxis(config) as other:
        good = other.add_system("vpcp", ("000.00.00.G22",))
        bad = AxisHttp(other.port, "vpcp", "sai-mat-khau")
        codes = [bad.inbox().status for _ in range(4)]
        assert codes[:3] == [401, 401, 401]
        assert codes[3] == 429
        blocked = good.inbox()
        assert blocked.status == 429  # even the right secret waits out the minute
        assert int(blocked.headers["Retry-After"]) >= 1
