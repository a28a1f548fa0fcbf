"""The ``vdxp`` adapter over real HTTP: an SDK-shaped client (tests/vdxp_client.py) against a
real axis on loopback, with /v1 systems (tests/axis_server.AxisHttp) on the other side.

One axis for the module (store file, intake worker, aiohttp on a free port); each test sends its
own freshly numbered, signed documents, so the tests do not depend on each other's mail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import itertools
import json
import stat
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from structlog.testing import capture_logs

import edxml
from adapters.vdxp.agencies import agency_id
from adapters.vdxp.wire import Params, error_code, file_bytes, hash_matches
from axis.auth.sealed import SealedSecrets, Unsealed, hash_tag
from axis.cli import main as axis_main
from axis.compose import letter, status_answer
from axis.config import AxisConfig
from axis.errors import AxisError
from axis.store.records import AuditDraft
from edxml import Organization, StatusCode
from registry.sources import vdxp as vdxp_source
from signing.pki import TestPki
from tests.axis_server import AxisHttp, RunningAxis
from tests.broker_fixtures import Agency, agencies
from tests.vdxp_client import VdxpClient, sdk_hex, sdk_timestamp

DAY = dt.date(2025, 7, 15)
_numbers = itertools.count(500)


@dataclass
class System:
    """A connected system reachable both ways: over /v1 and (once enabled) over VDXP."""

    v1: AxisHttp
    vdxp: VdxpClient
    secret: str


@pytest.fixture(scope="module")
def cast(test_pki: TestPki) -> dict[str, Agency]:
    return agencies(test_pki)


@pytest.fixture(scope="module")
def axis(test_pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningAxis]:
    config = AxisConfig(
        home=tmp_path_factory.mktemp("vdxp-home"),
        trust_dir=test_pki.trust_dir,
        signature_mode="require",
        require_sender_binding=True,
        intake_workers=1,
        max_document_bytes=256 * 1024,
    )
    with RunningAxis(config) as running:
        yield running


def _enable(axis: RunningAxis, system_id: str, secret: str) -> int:
    """``axis adapter vdxp enable`` as an operator runs it, against the serving axis's home."""
    home = str(axis.config.home)
    return axis_main(["adapter", "vdxp", "enable", system_id, "--secret", secret, "--home", home])


def _system(axis: RunningAxis, system_id: str, code: str) -> System:
    v1 = axis.add_system(system_id, (code,))
    secret = v1._auth_secret
    assert secret is not None
    assert _enable(axis, system_id, secret) == 0
    return System(v1, VdxpClient(axis.port, system_id, secret), secret)


@pytest.fixture(scope="module")
def systems(axis: RunningAxis) -> dict[str, System]:
    return {
        "H38": _system(axis, "laocai-vdxp", "000.00.00.H38"),
        "G22": _system(axis, "vpcp-qlvb", "000.00.00.G22"),
        "G09": _system(axis, "bnv-vdxp", "000.00.00.G09"),
    }


def _letter(sender: Agency, *to: Organization, subject: str = "Về việc sáp nhập tỉnh") -> bytes:
    return sender.sign(letter(sender.org, to, number=str(next(_numbers)), subject=subject, day=DAY))


def _document(data: bytes) -> edxml.Document:
    package = edxml.parse(data)
    assert isinstance(package, edxml.Document)
    return package


def _send(system: System, sender: Agency, data: bytes, messagetype: str = "edoc") -> str:
    header = {"from": sender.code, "servicetype": "eDoc", "messagetype": messagetype}
    reply = system.vdxp.send_edoc(header, data)
    assert reply.http_status == 200
    assert reply.ok, reply.body
    assert set(reply.body) == {"status", "ErrorCode", "ErrorDesc", "DocId"}
    return str(reply.body["DocId"])


def _received(client: VdxpClient, messagetype: str = "edoc") -> dict[str, dict[str, str]]:
    reply = client.get_received_edoc_list(messagetype)
    assert reply.ok, reply.body
    return {row["docId"]: row for row in reply.body["data"]}


def _sent_rows(client: VdxpClient, doc_id: str) -> dict[str, dict[str, str]]:
    reply = client.get_sent_edoc_list("edoc")
    assert reply.ok, reply.body
    return {r["toCode"]: r for r in reply.body["data"] if r["senderDocId"] == doc_id}


def _stored(axis: RunningAxis, sender: str, data: bytes) -> tuple[object, ...]:
    """Every message the store holds for this package's DocumentId (either kind)."""
    assert axis.runtime is not None
    document_id = _document(data).header.document_id
    assert document_id is not None
    store = axis.runtime.store
    found = axis.call(store.find_messages(sender, document_id, "edoc"))
    return found + axis.call(store.find_messages(sender, document_id, "status"))


# --- the equivalence with /v1 -------------------------------------------------------------------


def test_a_vdxp_document_is_received_over_v1(
    cast: dict[str, Agency], systems: dict[str, System]
) -> None:
    data = _letter(cast["H38"], cast["G22"].org, subject="Công văn gửi qua VDXP")
    doc_id = _send(systems["H38"], cast["H38"], data)
    assert _send(systems["H38"], cast["H38"], data) == doc_id  # a resend: the first DocId
    items = {i["message_id"]: i for i in systems["G22"].v1.inbox().json()["items"]}
    assert items[doc_id]["sender_code"] == "000.00.00.H38"
    assert items[doc_id]["subject"] == "Công văn gửi qua VDXP"
    fetched = systems["G22"].v1.fetch(doc_id)
    assert fetched.status == 200
    assert fetched.body == data  # the SDK's CRLF is not part of the stored file
    assert systems["G22"].v1.ack(doc_id).status == 200
    assert _sent_rows(systems["H38"].vdxp, doc_id)["000.00.00.G22"]["receiveStatus"] == "done"


def test_a_v1_document_is_received_over_vdxp_and_done_clears_it(
    cast: dict[str, Agency], systems: dict[str, System], tmp_path: Path
) -> None:
    data = _letter(cast["G22"], cast["H38"].org)
    sent = systems["G22"].v1.send(data)
    assert sent.status == 202, sent.body
    doc_id = sent.json()["message_id"]
    client = systems["H38"].vdxp
    row = _received(client)[doc_id]
    assert row == {
        "docId": doc_id,
        "serviceType": "eDoc",
        "messageType": "edoc",
        "created_time": row["created_time"],
        "updated_time": row["updated_time"],
        "from": "000.00.00.G22",
        "to": "000.00.00.H38",
        "status": "initial",
        "status_desc": row["status_desc"],
    }
    dt.datetime.strptime(row["created_time"], "%d/%m/%Y %H:%M:%S")
    reply, saved = client.get_edoc(doc_id, tmp_path)
    assert reply.ok
    assert saved == data
    assert _received(client)[doc_id]["status"] == "processing"
    assert client.update_status(doc_id, "DONE", key="docid").ok
    assert doc_id not in _received(client)
    [mine] = [s for s in systems["G22"].v1.sent().json()["items"] if s["message_id"] == doc_id]
    assert [r["state"] for r in mine["recipients"]] == ["done"]


# --- status packages, updateStatus, the sent list -----------------------------------------------


def test_a_status_package_sent_back_is_listed_as_status(
    cast: dict[str, Agency], systems: dict[str, System], tmp_path: Path
) -> None:
    data = _letter(cast["H38"], cast["G09"].org)
    doc_id = _send(systems["H38"], cast["H38"], data)
    receiver = systems["G09"].vdxp
    assert receiver.get_edoc(doc_id, tmp_path)[1] == data
    assert receiver.update_status(doc_id, "done", key="docId").ok
    answer = cast["G09"].sign(
        status_answer(
            cast["G09"].org,
            _document(data),
            StatusCode.ACCEPTED,
            "Đã tiếp nhận, vào sổ văn bản đến",
            dt.datetime(2025, 7, 15, 10, 0, tzinfo=dt.UTC),
        )
    )
    status_id = _send(systems["G09"], cast["G09"], answer, messagetype="status")
    sender = systems["H38"].vdxp
    assert _received(sender, "status")[status_id]["messageType"] == "status"
    assert status_id not in _received(sender, "edoc")
    row = _sent_rows(sender, doc_id)["000.00.00.G09"]
    assert row["receiveStatus"] == "done"
    assert "business status 03" in row["receiveStatusDesc"]


def test_the_sent_list_shows_each_recipients_state(
    cast: dict[str, Agency], systems: dict[str, System], tmp_path: Path
) -> None:
    data = _letter(cast["H38"], cast["G22"].org, cast["G09"].org, subject="Gửi hai nơi")
    doc_id = _send(systems["H38"], cast["H38"], data)
    rows = _sent_rows(systems["H38"].vdxp, doc_id)
    assert {code: r["receiveStatus"] for code, r in rows.items()} == {
        "000.00.00.G22": "initial",
        "000.00.00.G09": "initial",
    }
    row = rows["000.00.00.G22"]
    assert (row["fromCode"], row["title"], row["messageType"], row["sendStatus"]) == (
        "000.00.00.H38",
        "Gửi hai nơi",
        "edoc",
        "done",
    )
    assert row["receivedTime"] == ""
    assert systems["G09"].vdxp.update_status(doc_id, "Processing").ok
    assert systems["G22"].v1.fetch(doc_id).status == 200
    assert systems["G22"].v1.ack(doc_id, "fail", "không đọc được tệp đính kèm").status == 200
    rows = _sent_rows(systems["H38"].vdxp, doc_id)
    assert {code: r["receiveStatus"] for code, r in rows.items()} == {
        "000.00.00.G22": "fail",
        "000.00.00.G09": "processing",
    }
    assert rows["000.00.00.G09"]["receivedTime"] != ""
    assert systems["G09"].vdxp.update_status(doc_id, "fail").ok
    assert _sent_rows(systems["H38"].vdxp, doc_id)["000.00.00.G09"]["receiveStatus"] == "fail"


def test_update_status_refuses_what_it_cannot_do(
    cast: dict[str, Agency], systems: dict[str, System]
) -> None:
    doc_id = _send(systems["H38"], cast["H38"], _letter(cast["H38"], cast["G22"].org))
    client = systems["G22"].vdxp
    for value, code in (("initial", "2"), ("archived", "2")):
        reply = client.update_status(doc_id, value)
        assert (reply.http_status, reply.body["status"], reply.body["ErrorCode"]) == (
            200,
            "FAIL",
            code,
        )
        assert reply.body["ErrorDesc"].startswith("vdxp.bad_param: ")
    stranger = systems["G09"].vdxp.update_status(doc_id, "done")
    assert (stranger.body["status"], stranger.body["ErrorCode"]) == ("FAIL", "5")
    assert stranger.body["ErrorDesc"].startswith("message.not_found: ")
    assert _received(client)[doc_id]["status"] == "initial"  # nothing changed


# --- the wire quirks ----------------------------------------------------------------------------


def test_the_client_speaks_like_the_sdk(
    cast: dict[str, Agency], systems: dict[str, System]
) -> None:
    """Leaked headers of earlier calls ride along; the timestamp is the instance's."""
    client = systems["H38"].vdxp
    _send(systems["H38"], cast["H38"], _letter(cast["H38"], cast["G22"].org))
    reply = client.get_received_edoc_list("status")
    assert reply.ok, reply.body
    names = {name for name, _ in reply.sent_headers}
    assert {"XroadVnpt-hash-file", "XroadVnpt-from", "XroadVnpt-messagetype"} <= names
    assert {"User-Agent", "XroadVnpt-version", "Content-Type", "XroadVnpt-Content-Type"} <= names
    signed = json.loads(dict(reply.sent_headers)["XroadVnpt-sign-header"])
    assert signed["XroadVnpt-timestamp"] == client.timestamp
    assert "XroadVnpt-hash-file" in signed
    moment = dt.datetime(2025, 7, 1, 8, 5, 9, 42_000)
    assert sdk_timestamp(moment) == "01072025T080509+0042"


def test_an_unpadded_hash_file_and_a_body_without_crlf_are_accepted(
    cast: dict[str, Agency], systems: dict[str, System], axis: RunningAxis
) -> None:
    data = _letter(cast["H38"], cast["G22"].org)
    while len(sdk_hex(hashlib.sha256(data).digest())) == 64:  # ~1 in 8 has no byte < 0x10
        data = _letter(cast["H38"], cast["G22"].org)
    assert _send(systems["H38"], cast["H38"], data)
    other = _letter(cast["H38"], cast["G22"].org)
    client = systems["H38"].vdxp
    header = {"messagetype": "edoc", "hash-file": hashlib.sha256(other).hexdigest()}
    reply = client._call("sendEdoc", header, other, "application/octet-stream")
    assert reply.ok, reply.body
    assert len(_stored(axis, "000.00.00.H38", other)) == 1


def test_a_wrong_hash_file_is_refused_and_nothing_is_stored(
    cast: dict[str, Agency], systems: dict[str, System], axis: RunningAxis
) -> None:
    data = _letter(cast["H38"], cast["G22"].org)
    header = {"messagetype": "edoc", "hash-file": hashlib.sha256(b"another file").hexdigest()}
    reply = systems["H38"].vdxp._call(
        "sendEdoc", header, data + b"\r\n", "application/octet-stream"
    )
    assert (reply.http_status, reply.body["status"], reply.body["ErrorCode"]) == (200, "FAIL", "3")
    assert reply.body["ErrorDesc"].startswith("vdxp.hash_mismatch: ")
    assert _stored(axis, "000.00.00.H38", data) == ()


def test_the_crlf_is_stripped_only_when_the_file_ends_before_it() -> None:
    xml = b"<edXML>...</edXML>"
    crlf_file = xml + b"\r\n"
    assert file_bytes(xml + b"\r\n", hashlib.sha256(xml).hexdigest()) == xml
    assert file_bytes(crlf_file + b"\r\n", sdk_hex(hashlib.sha256(crlf_file).digest())) == crlf_file
    assert file_bytes(crlf_file, hashlib.sha256(crlf_file).hexdigest()) == crlf_file
    assert file_bytes(xml + b"\r\n", None) == xml
    assert file_bytes(xml, None) == xml
    assert file_bytes(b"<a>text\r\n", None) == b"<a>text\r\n"  # not ended: left to the parser
    assert hash_matches(xml, hashlib.sha256(xml).hexdigest().upper())


def test_each_operation_prefers_its_own_spelling_of_a_leaked_key() -> None:
    """A Bkav-style map holds getEdoc's ``docId`` and updateStatus's ``docid`` at once."""
    params = Params(
        {"XroadVnpt-docId": "from-getEdoc", "XroadVnpt-docid": "from-updateStatus", "STATUS": "x"}
    )
    assert params.get("docid", "docId") == "from-updateStatus"
    assert params.get("docId", "docid") == "from-getEdoc"
    assert params.get("status") == "x"
    assert params.get("DOCID") in ("from-getEdoc", "from-updateStatus")
    assert params.get("to") is None
    assert [error_code(c) for c in ("auth.revoked", "route.unknown", "sig.invalid")] == [
        "1",
        "4",
        "3",
    ]


def test_header_names_and_signed_keys_match_in_any_case(
    cast: dict[str, Agency], systems: dict[str, System]
) -> None:
    doc_id = _send(systems["H38"], cast["H38"], _letter(cast["H38"], cast["G22"].org))
    system = systems["G22"]
    signed = json.dumps(
        {"XROADVNPT-SYSTEMID": "vpcp-qlvb", "xroadvnpt-MessageType": "edoc", "timestamp": "x"},
        separators=(",", ":"),
    )
    digest = hmac.new(system.secret.encode(), signed.encode(), hashlib.sha256).hexdigest()
    headers = [
        ("xroadvnpt-systemid", "vpcp-qlvb"),
        ("XROADVNPT-SIGN-HEADER", signed),
        ("xroadvnpt-hash-header", digest.upper()),
    ]
    reply = system.vdxp.post("/vdxp/getreceivededoclist", headers, b"")
    assert reply.ok, reply.body
    assert doc_id in {row["docId"] for row in reply.body["data"]}


# --- refusals -----------------------------------------------------------------------------------


def _refused(reply_body: dict[str, str]) -> None:
    assert reply_body["status"] == "FAIL"
    assert reply_body["ErrorCode"] == "1"
    assert reply_body["ErrorDesc"].startswith("auth.")


@pytest.mark.parametrize("how", ["wrong_hmac", "unknown_system", "tampered", "another_id"])
def test_a_bad_signature_is_refused_and_nothing_is_stored(
    how: str, cast: dict[str, Agency], systems: dict[str, System], axis: RunningAxis
) -> None:
    data = _letter(cast["H38"], cast["G22"].org)
    good = systems["H38"]
    client = VdxpClient(axis.port, "laocai-vdxp", good.secret)
    if how == "wrong_hmac":
        client.sign_key = good.secret + "x"
    elif how == "unknown_system":
        client = VdxpClient(axis.port, "khong-ton-tai", good.secret)
    elif how == "tampered":
        client.tamper = lambda text: text.replace('"edoc"', '"status"')
    else:  # a valid signature by laocai-vdxp over a JSON naming another system
        client = VdxpClient(axis.port, "vpcp-qlvb", good.secret)
    with capture_logs() as logs:
        reply = client.send_edoc({"from": cast["H38"].code, "messagetype": "edoc"}, data)
    if how == "another_id":  # the header names the signer, the signed JSON another system
        headers = [
            ("XroadVnpt-systemid", "laocai-vdxp") if n == "XroadVnpt-systemid" else (n, v)
            for n, v in reply.sent_headers
        ]
        reply = client.post("/vdxp/sendEdoc", headers, data + b"\r\n")
    assert reply.http_status == 200
    _refused(reply.body)
    expected = "the signed systemid is not the caller's" if how == "another_id" else "signature"
    assert expected in reply.body["ErrorDesc"]
    if how != "another_id":
        [failed] = [e for e in logs if e["event"] == "vdxp.auth_failed"]
        assert failed["code"] == "auth.bad_credentials"
        assert failed["operation"] == "sendEdoc"
        assert good.secret not in repr(logs)
    assert _stored(axis, "000.00.00.H38", data) == ()


def test_a_revoked_or_rotated_system_is_refused(cast: dict[str, Agency], axis: RunningAxis) -> None:
    system = _system(axis, "yenbai-cu", "000.00.00.H63")
    assert system.vdxp.get_received_edoc_list().ok
    assert axis.runtime is not None
    store = axis.runtime.store
    record = axis.call(store.system("yenbai-cu"))
    assert record is not None
    revoked = replace(record, revoked_at=axis.clock.now())
    axis.call(store.put_system(revoked, AuditDraft(kind="system.revoked", at=axis.clock.now())))
    reply = system.vdxp.get_received_edoc_list()
    _refused(reply.body)
    assert reply.body["ErrorDesc"].startswith("auth.revoked: ")
    rotated = replace(record, secret_hash=axis.call(store.system("laocai-vdxp")).secret_hash)  # type: ignore[union-attr]
    axis.call(store.put_system(rotated, AuditDraft(kind="system.added", at=axis.clock.now())))
    reply = system.vdxp.get_received_edoc_list()
    _refused(reply.body)
    assert "changed since it was enabled" in reply.body["ErrorDesc"]


def test_unknown_operations_and_methods_answer_the_envelope(
    systems: dict[str, System], axis: RunningAxis
) -> None:
    reply = systems["H38"].vdxp._call("sendKnobstick", {})
    assert (reply.http_status, reply.body["status"], reply.body["ErrorCode"]) == (200, "FAIL", "6")
    anonymous = AxisHttp(axis.port, None, None).request("GET", "/vdxp/getEdoc")
    assert anonymous.status == 200
    assert anonymous.json()["status"] == "FAIL"
    missing = systems["H38"].vdxp.post("/vdxp/getEdoc", [], b"")
    _refused(missing.body)


# --- agencies -----------------------------------------------------------------------------------


def test_agency_lists_come_from_the_registry_with_stable_ids(systems: dict[str, System]) -> None:
    client = systems["H38"].vdxp
    listed = client.get_agencies_list()
    assert listed.ok, listed.body
    rows = {r["code"]: r for r in listed.body["data"]}
    h38 = rows["000.00.00.H38"]
    assert set(h38) == {"id", "pid", "code", "name", "mail"}
    assert h38["id"] == agency_id("000.00.00.H38")
    assert len(h38["id"]) == 24
    assert int(h38["id"], 16) >= 0
    assert "000.00.00.H63" not in rows  # closed 2025-07-01, merged into Lào Cai
    units = client.get_synchronize_unit()
    assert units.ok, units.body
    by_code = {r["code"]: r for r in units.body["data"]}
    assert set(by_code["000.00.00.H38"]) == {
        "id",
        "pid",
        "code",
        "name",
        "mail",
        "version",
        "centerCode",
        "deleted",
        "modifyDate",
        "isAgency",
    }
    assert by_code["000.00.00.H63"]["deleted"] is True
    assert by_code["000.00.00.H38"]["deleted"] is False
    assert client.get_synchronize_unit().body == units.body  # the same ids every time
    children = [r for r in by_code.values() if r["pid"]]
    for child in children[:50]:
        assert child["pid"] in {r["id"] for r in by_code.values()}
    batch = vdxp_source.read_json(units.body, "getSynchronizeUnit")  # our importer reads it back
    assert not [i for i in batch.issues if i.severity == "error"]


def test_register_agency_makes_a_proposal_an_admin_approves_and_delete_is_refused(
    systems: dict[str, System], axis: RunningAxis
) -> None:
    client = systems["H38"].vdxp
    registered = client.register_agency(
        {
            "id": "",
            "pcode": agency_id("000.00.00.H38"),  # the parent as our lists name it
            "code": "000.00.98.H38",
            "name": "Trung tâm Phục vụ hành chính công tỉnh Lào Cai",
            "mail": "tthcc@laocai.gov.vn",
            "mobile": "0214 3840 888",
            "fax": "",
        }
    )
    assert registered.http_status == 200
    assert registered.ok, registered.body
    proposal = registered.body["data"]
    assert (proposal["state"], proposal["version"]) == ("pending", None)
    admin = axis.add_system("vdxp-admin", (), role="admin")
    listed = admin.request("GET", "/v1/registry/proposals", query={"state": "pending"}).json()
    mine = next(p for p in listed["items"] if p["id"] == proposal["proposalId"])
    assert mine["proposed_by"] == "laocai-vdxp"
    assert mine["agency"]["parent"] == "000.00.00.H38"
    assert mine["agency"]["contact"] == {
        "email": "tthcc@laocai.gov.vn",
        "phone": "0214 3840 888",
    }
    approved = admin.request(
        "POST",
        f"/v1/registry/proposals/{proposal['proposalId']}/approve",
        b"{}",
        content_type="application/json",
    )
    assert approved.status == 200, approved.body
    rows = {r["code"]: r for r in client.get_agencies_list().body["data"]}
    assert rows["000.00.98.H38"]["name"] == "Trung tâm Phục vụ hành chính công tỉnh Lào Cai"
    assert rows["000.00.98.H38"]["pid"] == agency_id("000.00.00.H38")

    outside = client.register_agency(
        {"id": "", "pcode": "laocai-vdxp", "code": "000.00.98.H63", "name": "Sở của tỉnh khác"}
    )
    assert (outside.body["status"], outside.body["ErrorCode"]) == ("FAIL", "5")
    assert outside.body["ErrorDesc"].startswith("auth.not_your_code:")
    unnamed = client.register_agency({"id": "", "pcode": "", "code": "000.00.97.H38"})
    assert (unnamed.body["status"], unnamed.body["ErrorCode"]) == ("FAIL", "2")
    deleted = client.delete_agency("000.00.98.H38")
    assert (deleted.http_status, deleted.body["status"], deleted.body["ErrorCode"]) == (
        200,
        "FAIL",
        "6",
    )
    assert "not in this version" in deleted.body["ErrorDesc"]


# --- the sealed keys ----------------------------------------------------------------------------


def test_keys_are_sealed_private_and_enable_checks_the_secret(
    systems: dict[str, System], axis: RunningAxis
) -> None:
    keys = axis.config.home / "keys"
    key_file, sealed_file = keys / "vdxp.key", keys / "vdxp.sealed.json"
    for path in (key_file, sealed_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    text = sealed_file.read_text()
    for system in systems.values():
        assert system.secret not in text
    assert _enable(axis, "vpcp-qlvb", "not-the-secret-of-this-system") == 1
    home = str(axis.config.home)
    assert axis_main(["adapter", "vdxp", "disable", "vpcp-qlvb", "--home", home]) == 0
    _refused(systems["G22"].vdxp.get_received_edoc_list().body)
    assert _enable(axis, "vpcp-qlvb", systems["G22"].secret) == 0
    assert systems["G22"].vdxp.get_received_edoc_list().ok


def test_a_sealed_token_moved_to_another_system_or_a_loose_file_is_refused(tmp_path: Path) -> None:
    sealed = SealedSecrets(tmp_path, "vdxp")
    at = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
    sealed.seal("a", "secret-of-a-0123456789", "scrypt$hash-a", at)
    sealed.seal("b", "secret-of-b-0123456789", "scrypt$hash-b", at)
    assert SealedSecrets(tmp_path, "vdxp").unseal("a") == Unsealed(
        "secret-of-a-0123456789", hash_tag("scrypt$hash-a")
    )
    document = json.loads(sealed.sealed_path.read_text())
    document["systems"]["b"]["token"] = document["systems"]["a"]["token"]
    sealed.sealed_path.write_text(json.dumps(document))
    assert SealedSecrets(tmp_path, "vdxp").unseal("b") is None
    sealed.key_path.chmod(0o644)
    with pytest.raises(AxisError, match="readable by others"):
        SealedSecrets(tmp_path, "vdxp").unseal("a")
