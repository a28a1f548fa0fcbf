"""The client SDK and ``axis send|receive|status`` against a real axis on loopback.

One axis per module (store file, intake worker process, aiohttp on a free port) under the
default ``verify-if-present``, so the documents are unsigned edXML built as a document system
would build them; every agency has its own system with a fresh secret.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import structlog

import edxml
from adapters.client import (
    AxisClient,
    AxisClientError,
    InboxItem,
    SyncAxisClient,
)
from axis.commands import client_cmd
from axis.compose import letter, status_answer
from axis.config import AxisConfig
from axis.logs import configure_logging
from edxml import Organization, StatusCode
from tests.axis_server import AxisHttp, RunningAxis

DAY = dt.date(2025, 7, 15)
H38 = Organization("000.00.00.H38", organ_name="Ủy ban nhân dân tỉnh Lào Cai", organ_add="Lào Cai")
G22 = Organization("000.00.00.G22", organ_name="Văn phòng Chính phủ", organ_add="Hà Nội")
G09 = Organization("000.00.00.G09", organ_name="Bộ Nội vụ", organ_add="Hà Nội")
G12 = Organization("000.00.00.G12", organ_name="Bộ Tài chính", organ_add="Hà Nội")
G01 = Organization("000.00.00.G01", organ_name="Bộ Công an", organ_add="Hà Nội")
UNKNOWN = Organization("000.00.99.H99", organ_name="Không tồn tại", organ_add="Hà Nội")
_numbers = itertools.count(100)


@pytest.fixture(scope="module")
def axis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningAxis]:
    config = AxisConfig(home=tmp_path_factory.mktemp("axis-home"), intake_workers=1)
    with RunningAxis(config) as running:
        yield running


@pytest.fixture(autouse=True)
def _logging_to_stderr() -> Iterator[None]:
    """As ``axis.cli.main`` does: log lines on stderr, stdout for the command's output."""
    configure_logging("warning")
    yield
    structlog.reset_defaults()


def system(axis: RunningAxis, name: str, org: Organization) -> AxisHttp:
    """A new connected system for ``org`` (a fresh id per test keeps the tests apart)."""
    return axis.add_system(f"{name}-{next(_numbers)}", (org.organ_id,))


def url(axis: RunningAxis) -> str:
    return f"http://127.0.0.1:{axis.port}"


def client(axis: RunningAxis, who: AxisHttp) -> AxisClient:
    assert who.system_id is not None
    assert who._auth_secret is not None
    return AxisClient(url(axis), who.system_id, who._auth_secret, retries=1, backoff=0.05)


def new_letter(sender: Organization, *to: Organization, subject: str) -> tuple[bytes, str]:
    """An unsigned Công văn and its DocumentId."""
    document = letter(sender, to, number=str(next(_numbers)), subject=subject, day=DAY)
    assert document.header.document_id is not None
    return edxml.build(document), document.header.document_id


def answer(responder: Organization, original: bytes, code: StatusCode, text: str) -> bytes:
    """The unsigned status package ``responder`` sends back about ``original``."""
    package = edxml.parse(original)
    assert isinstance(package, edxml.Document)
    at = dt.datetime(2025, 7, 15, 10, next(_numbers) % 60, tzinfo=dt.UTC)
    return edxml.build(status_answer(responder, package, code, text, at))


def test_round_trip_send_inbox_fetch_ack_status_back_and_lookup(axis: RunningAxis) -> None:
    lao_cai, vpcp = system(axis, "laocai", H38), system(axis, "vpcp", G22)
    subject = "Về việc sáp nhập tỉnh Lào Cai và Yên Bái — đề nghị ý kiến"
    data, document_id = new_letter(H38, G22, subject=subject)

    async def scenario() -> None:
        async with client(axis, lao_cai) as sender, client(axis, vpcp) as receiver:
            sent = await sender.send(data)
            assert (sent.duplicate, sent.kind, sent.document_id) == (False, "edoc", document_id)
            assert [(r.requested, r.status, r.code) for r in sent.recipients] == [
                ("000.00.00.G22", "active", "000.00.00.G22")
            ]
            again = await sender.send(data)  # the same DocumentId: the first message, no copy
            assert (again.message_id, again.duplicate) == (sent.message_id, True)

            page = await receiver.inbox(kind="edoc")
            [item] = [i for i in page.items if i.message_id == sent.message_id]
            assert item.subject == subject  # Vietnamese intact through store and JSON
            assert (item.sender_code, item.code, item.state) == (
                H38.organ_id,
                G22.organ_id,
                "pending",
            )
            assert page.cursor == item.cursor
            later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
            assert (await receiver.inbox(since=later)).items == ()
            assert await receiver.fetch(sent.message_id) == data  # byte-identical
            [done] = await receiver.ack(sent.message_id)
            assert (done.code, done.state) == (G22.organ_id, "done")
            assert await receiver.ack(sent.message_id)  # repeating changes nothing, no error

            before = await sender.status(document_id, G22.organ_id)
            assert (before.state, before.status) == ("done", None)

            status = answer(G22, data, StatusCode.ACCEPTED, "Đã tiếp nhận, vào sổ văn bản đến")
            back = await receiver.send(status)
            assert back.kind == "status"
            inbox = await sender.inbox(kind="status")
            assert back.message_id in [i.message_id for i in inbox.items]

            after = await sender.status(document_id, G22.organ_id)
            assert after.message_id == sent.message_id
            assert after.status is not None
            assert after.status.status_code == "03"
            assert after.status.status_message_id == back.message_id

            trace = await sender.trace(sent.message_id)
            assert trace.message.subject == subject
            assert [d.state for d in trace.deliveries] == ["done"]
            assert "acked" in [e["kind"] for e in trace.events]
            assert (await sender.health()).ok

    asyncio.run(scenario())


def test_problems_are_axis_client_errors_with_their_code(axis: RunningAxis) -> None:
    lao_cai = system(axis, "laocai", H38)
    unresolved, _ = new_letter(H38, G01, UNKNOWN, subject="Gửi hai nơi")
    not_mine, _ = new_letter(G09, G22, subject="Không phải của tôi")

    async def scenario() -> None:
        async with client(axis, lao_cai) as sender:
            with pytest.raises(AxisClientError) as refused:
                await sender.send(unresolved)
            error = refused.value
            assert isinstance(error, edxml.CodedError)
            assert (error.code, error.status, error.location) == (
                "route.unknown",
                422,
                "recipient[2]",
            )
            assert [(p["code"], p["requested"]) for p in error.problems] == [
                ("route.unknown", UNKNOWN.organ_id)
            ]
            assert not error.transient

            partial = await sender.send(unresolved, partial=True)
            assert [r.code for r in partial.recipients] == [G01.organ_id]
            assert [u["requested"] for u in partial.unresolved] == [UNKNOWN.organ_id]

            with pytest.raises(AxisClientError) as forbidden:
                await sender.send(not_mine)
            assert (forbidden.value.code, forbidden.value.status) == ("auth.not_sender", 403)
            with pytest.raises(AxisClientError) as missing:
                await sender.fetch("no-such-message")
            assert (missing.value.code, missing.value.status) == ("message.not_found", 404)
            with pytest.raises(AxisClientError) as unknown:
                await sender.status("000.00.00.H38,2025/07/15,0/none", G22.organ_id)
            assert unknown.value.code == "status.not_found"

        async with AxisClient(url(axis), lao_cai.system_id or "", "wrong-secret") as stranger:
            with pytest.raises(AxisClientError) as denied:
                await stranger.inbox()
            assert (denied.value.code, denied.value.status) == ("auth.bad_credentials", 401)
            assert "wrong-secret" not in repr(stranger)
            assert "wrong-secret" not in str(denied.value)

    asyncio.run(scenario())


def test_an_unreachable_axis_is_a_network_error_after_the_retries(axis: RunningAxis) -> None:
    async def scenario() -> None:
        # a port nobody listens on: the one the OS gave a closed socket
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        async with AxisClient(f"http://127.0.0.1:{port}", "x", "y", retries=2, backoff=0.01) as c:
            with pytest.raises(AxisClientError) as failed:
                await c.health()
        assert (failed.value.code, failed.value.status) == ("client.network", 0)
        assert failed.value.transient
        assert "3 attempt(s)" in failed.value.message

    asyncio.run(scenario())


def test_iter_inbox_long_polls_and_stops_on_the_event(axis: RunningAxis) -> None:
    lao_cai, vpcp = system(axis, "laocai", H38), system(axis, "vpcp", G22)
    first, _ = new_letter(H38, G22, subject="Thứ nhất")
    second, _ = new_letter(H38, G22, subject="Thứ hai")

    async def scenario() -> list[str]:
        seen: list[InboxItem] = []
        stop = asyncio.Event()
        async with client(axis, lao_cai) as sender, client(axis, vpcp) as receiver:
            wanted = {(await sender.send(first)).message_id}

            async def consume() -> None:
                async for item in receiver.iter_inbox(kind="edoc", wait=20, stop=stop):
                    if item.message_id in wanted:
                        seen.append(item)
                        await receiver.fetch(item.message_id)
                        await receiver.ack(item.message_id)
                    if len(seen) == 2:
                        stop.set()

            consumer = asyncio.create_task(consume())
            deadline = asyncio.get_running_loop().time() + 30
            while not seen and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.02)
            wanted.add((await sender.send(second)).message_id)  # arrives during a long poll
            await asyncio.wait_for(consumer, 30)
        return [item.subject or "" for item in seen]

    assert asyncio.run(scenario()) == ["Thứ nhất", "Thứ hai"]


def test_a_stop_event_ends_a_long_poll_in_flight(axis: RunningAxis) -> None:
    vpcp = system(axis, "vpcp", G09)

    async def scenario() -> float:
        stop = asyncio.Event()
        async with client(axis, vpcp) as receiver:
            loop = asyncio.get_running_loop()
            loop.call_later(0.3, stop.set)
            start = loop.time()
            async for _item in receiver.iter_inbox(wait=30, stop=stop):
                pass
            return loop.time() - start

    assert asyncio.run(scenario()) < 10


def test_the_sync_client_in_a_plain_script(axis: RunningAxis) -> None:
    lao_cai, bnv = system(axis, "laocai", H38), system(axis, "bnv", G09)
    data, document_id = new_letter(H38, G09, subject="Báo cáo tình hình tổ chức bộ máy")
    assert lao_cai.system_id
    assert lao_cai._auth_secret
    assert bnv.system_id
    assert bnv._auth_secret
    with (
        SyncAxisClient(url(axis), lao_cai.system_id, lao_cai._auth_secret) as sender,
        SyncAxisClient(url(axis), bnv.system_id, bnv._auth_secret) as receiver,
    ):
        sent = sender.send(data)
        item = next(i for i in receiver.iter_inbox(wait=5) if i.message_id == sent.message_id)
        assert receiver.fetch(item.message_id) == data
        receiver.ack(item.message_id)
        receiver.send(answer(G09, data, StatusCode.ARRIVED, "Đã đến"))
        found = sender.status(document_id, G09.organ_id)
        assert found.state == "done"
        assert found.status is not None
        assert found.status.status_code == "01"
        assert next(m.message_id for m in sender.sent().items) == sent.message_id
        assert sender.health().ok
        with pytest.raises(AxisClientError) as missing:
            receiver.trace("no-such-message")
        assert missing.value.code == "message.not_found"
    assert "Sync" in repr(sender)
    assert lao_cai._auth_secret not in repr(sender)


# -- the CLI --------------------------------------------------------------------------------


def cli(argv: Sequence[str]) -> int:
    """The ``client`` group alone under a parser shaped like ``axis.cli``'s."""
    parser = argparse.ArgumentParser(prog="axis")
    sub = parser.add_subparsers(dest="command", required=True)
    client_cmd.GROUP.register(sub)
    args = parser.parse_args(list(argv))
    code: int = args.handler(args)
    return code


def credentials(axis: RunningAxis, who: AxisHttp, tmp_path: Path) -> list[str]:
    """``--url --system --secret-file`` of ``who`` (the secret in a file, never on argv)."""
    secret = tmp_path / f"{who.system_id}.secret"
    secret.write_text(f"{who._auth_secret}\n", encoding="utf-8")
    return ["--url", url(axis), "--system", str(who.system_id), "--secret-file", str(secret)]


def test_cli_send_receive_and_status(
    axis: RunningAxis, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lao_cai, btc = system(axis, "laocai", H38), system(axis, "btc", G12)
    data, document_id = new_letter(H38, G12, subject="Giấy mời họp trực tuyến")
    letter_file = tmp_path / "giay-moi.edxml"
    letter_file.write_bytes(data)
    as_h38, as_g22 = credentials(axis, lao_cai, tmp_path), credentials(axis, btc, tmp_path)

    assert cli(["send", str(letter_file), *as_h38]) == 0
    [line] = capsys.readouterr().out.splitlines()
    path, message_id, state, routes = line.split("\t")
    assert (path, state, routes) == (str(letter_file), "accepted", G12.organ_id)

    out = tmp_path / "den"
    assert cli(["receive", "--out", str(out), "--kind", "edoc", "--no-ack", *as_g22]) == 0
    assert (out / f"{message_id}.edxml").read_bytes() == data
    capsys.readouterr()
    assert cli(["receive", "--out", str(out), *as_g22]) == 0  # not acked: offered again
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{out / f'{message_id}.edxml'}\tedoc\t{H38.organ_id}\t{document_id}\tGiấy mời họp trực tuyến"
    ]
    assert sorted(p.name for p in out.iterdir()) == [f"{message_id}.edxml"]  # no temp left
    assert cli(["receive", "--out", str(out), *as_g22]) == 0
    assert capsys.readouterr().out == ""  # acknowledged: nothing more

    status_file = tmp_path / "tra-loi.edxml"
    status_file.write_bytes(answer(G12, data, StatusCode.ASSIGNED, "Đã phân công xử lý"))
    assert cli(["send", str(status_file), *as_g22]) == 0
    capsys.readouterr()
    assert cli(["status", document_id, G12.organ_id, "--json", *as_h38]) == 0
    found = json.loads(capsys.readouterr().out)
    assert (found["message_id"], found["state"]) == (message_id, "done")
    assert found["status"]["status_code"] == "04"
    assert cli(["status", document_id, G12.organ_id, *as_h38]) == 0
    assert "\tdone\tstatus 04 at " in capsys.readouterr().out


def test_cli_errors_print_code_location_message_and_exit_1(
    axis: RunningAxis,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lao_cai = system(axis, "laocai", H38)
    bad = tmp_path / "bad.edxml"
    bad.write_bytes(new_letter(H38, UNKNOWN, subject="Không ai nhận")[0])
    good = tmp_path / "good.edxml"
    good.write_bytes(new_letter(H38, G22, subject="Có người nhận")[0])
    monkeypatch.setenv("AXIS_CLIENT_SYSTEM", str(lao_cai.system_id))
    monkeypatch.setenv("AXIS_CLIENT_SECRET", str(lao_cai._auth_secret))

    assert cli(["send", str(bad), str(good), "--url", url(axis)]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith(f"{bad}: route.unknown at recipient[1]: ")
    assert captured.out.startswith(f"{good}\t")  # the others are still sent

    assert cli(["status", "000.00.00.H38,2025/07/15,1/x", G22.organ_id, "--url", url(axis)]) == 1
    assert capsys.readouterr().err.startswith("status.not_found at document_id: ")

    monkeypatch.delenv("AXIS_CLIENT_SECRET")
    assert cli(["status", "d", G22.organ_id, "--url", url(axis)]) == 2
    assert capsys.readouterr().err.startswith("client.no_credentials at --secret: ")

    secret = tmp_path / "wrong"
    secret.write_text("not-the-secret", encoding="utf-8")
    assert (
        cli(
            [
                "receive",
                "--out",
                str(tmp_path / "x"),
                "--url",
                url(axis),
                "--secret-file",
                str(secret),
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert err.startswith("auth.bad_credentials")
    assert "not-the-secret" not in err


def test_busy_answers_are_retried_and_a_lockout_is_not() -> None:
    """Against a stand-in on loopback that answers as a busy axis and a proxy would (the real
    axis cannot be made busy on cue): 503 with Retry-After is retried, a send included; a 429
    is raised at once; an HTML 502 still gives a code."""
    from aiohttp import web

    calls: list[str] = []

    async def busy_then_accept(request: web.Request) -> web.Response:
        calls.append(request.path)
        if len(calls) == 1:
            problem = {"code": "intake.busy", "message": "busy", "status": 503}
            return web.json_response(problem, status=503, headers={"Retry-After": "0"})
        return web.json_response(
            {"message_id": "m1", "duplicate": True, "kind": "edoc", "recipients": []}, status=200
        )

    async def locked_out(request: web.Request) -> web.Response:
        calls.append(request.path)
        problem = {"code": "auth.rate_limited", "message": "slow down", "status": 429}
        return web.json_response(problem, status=429, headers={"Retry-After": "60"})

    async def proxy_error(request: web.Request) -> web.Response:
        calls.append(request.path)
        return web.Response(status=502, text="<html>Bad gateway</html>", content_type="text/html")

    async def scenario() -> None:
        app = web.Application()
        app.router.add_post("/v1/messages", busy_then_accept)
        app.router.add_get("/v1/inbox", locked_out)
        app.router.add_get("/v1/sent", proxy_error)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            async with AxisClient(
                f"http://127.0.0.1:{port}", "s", "t", retries=2, backoff=0.01
            ) as c:
                result = await c.send(b"<edXMLEnvelope/>")
                assert (result.message_id, result.duplicate) == ("m1", True)
                assert calls == ["/v1/messages", "/v1/messages"]
                calls.clear()
                with pytest.raises(AxisClientError) as limited:
                    await c.inbox()
                assert (limited.value.code, limited.value.status) == ("auth.rate_limited", 429)
                assert calls == ["/v1/inbox"]
                calls.clear()
                with pytest.raises(AxisClientError) as gateway:
                    await c.sent()
                assert (gateway.value.code, gateway.value.location) == ("http.502", "/v1/sent")
                assert calls == ["/v1/sent"] * 3
        finally:
            await runner.cleanup()

    asyncio.run(scenario())


def test_cli_receive_follow_writes_as_documents_arrive_until_ctrl_c(
    axis: RunningAxis, tmp_path: Path
) -> None:
    """``axis receive --follow`` as a process: a document sent while it long-polls is written
    and acknowledged at once; SIGINT (Ctrl-C) ends it with exit code 0."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from axis.paths import PROJECT_ROOT

    lao_cai, btc = system(axis, "laocai", H38), system(axis, "btc", G12)
    out = tmp_path / "den"
    script = "import sys; from tests.test_adapter_client import cli; sys.exit(cli(sys.argv[1:]))"
    env = {**os.environ, "AXIS_CLIENT_SECRET": str(btc._auth_secret)}
    argv = ["receive", "--follow", "--out", str(out), "--wait", "20", "--url", url(axis)]
    follower = subprocess.Popen(
        [sys.executable, "-c", script, *argv, "--system", str(btc.system_id)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        data, _ = new_letter(H38, G12, subject="Khẩn: họp giao ban")
        lao_cai_reply = lao_cai.send(data)
        assert lao_cai_reply.status == 202
        message_id = lao_cai_reply.json()["message_id"]
        target = out / f"{message_id}.edxml"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not _acked(btc, message_id):
            time.sleep(0.05)
        assert target.read_bytes() == data
    finally:
        follower.send_signal(signal.SIGINT)
        stdout, stderr = follower.communicate(timeout=30)
    assert follower.returncode == 0, stderr
    assert stdout.splitlines()[0].startswith(f"{target}\tedoc\t{H38.organ_id}\t")


def _acked(receiver: AxisHttp, message_id: str) -> bool:
    trace = receiver.trace(message_id)
    return trace.status == 200 and [d["state"] for d in trace.json()["deliveries"]] == ["done"]
