"""The webhook adapter against a real receiver on loopback that fails its first two pushes: the
third succeeds, the document is delivered exactly once, every push is signed, and a replayed or
altered push is refused by the receiver's check."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

import edxml
from adapters.webhook import WebhookAdapter
from adapters.webhook.endpoints import load, register
from adapters.webhook.pusher import RetryPolicy
from adapters.webhook.signature import SignatureRefused, verify
from axis.compose import letter
from axis.config import AxisConfig
from edxml import Organization
from tests.axis_server import RunningAxis
from tests.probes import poll


@dataclass
class Receiver:
    """An agency's endpoint: answers 500 to the first ``failures`` pushes, then 200."""

    failures: int
    attempts: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    delivered: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.attempts.append((dict(request.headers), body))
        if len(self.attempts) <= self.failures:
            return web.Response(status=500, text="đang bảo trì")
        self.delivered.append(request.headers["X-Axis-Message-Id"])
        return web.Response(status=204)


def test_a_failing_endpoint_gets_the_document_exactly_once_on_the_third_push(
    tmp_path: Path,
) -> None:
    receiver = Receiver(failures=2)
    home = tmp_path / "home"
    port_box: dict[str, int] = {}
    config = AxisConfig(home=home, intake_workers=1)
    adapter = WebhookAdapter(policy=RetryPolicy(base_seconds=0.05, max_seconds=0.2))

    async def serve_receiver() -> None:
        app = web.Application()
        app.router.add_post("/edoc", receiver.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port_box["port"] = int(runner.addresses[0][1])

    loop = asyncio.new_event_loop()
    import threading

    threading.Thread(target=loop.run_forever, daemon=True).start()
    asyncio.run_coroutine_threadsafe(serve_receiver(), loop).result(10)
    endpoint = register(home, "bnv-push", f"http://127.0.0.1:{port_box['port']}/edoc")
    with RunningAxis(config, adapters={"webhook": adapter}) as axis:
        sender = axis.add_system("tayninh", ("000.00.00.H53",))
        axis.add_system("bnv-push", ("000.00.00.G09",))
        data = edxml.build(
            letter(
                Organization("000.00.01.H53", organ_name="Văn phòng UBND tỉnh Tây Ninh"),
                [Organization("000.00.00.G09", organ_name="Bộ Nội vụ")],
                number="77",
                subject="Đẩy văn bản",
                day=dt.date(2025, 7, 20),
            )
        )
        reply = sender.send(data)
        assert reply.status == 202, reply.body
        message_id = reply.json()["message_id"]
        auditor = axis.add_system("kiem-toan", (), role="auditor")

        def done() -> bool:
            trace = auditor.trace(message_id).json()
            return bool(trace["deliveries"][0]["state"] == "done")

        assert poll(done, 30), receiver.attempts
        assert len(receiver.attempts) == 3
        assert receiver.delivered == [message_id]  # exactly once
        kinds = [e["kind"] for e in auditor.trace(message_id).json()["events"]]
        assert kinds.count("push.failed") == 2
        assert kinds.count("acked") == 1
    loop.call_soon_threadsafe(loop.stop)
    headers, body = receiver.attempts[-1]
    assert body == data
    now = time.time()
    assert verify(endpoint.secret, headers, body, now) == message_id
    with pytest.raises(SignatureRefused, match=r"webhook\.replayed"):
        verify(endpoint.secret, headers, body, now + 400)
    with pytest.raises(SignatureRefused, match=r"webhook\.bad_signature"):
        verify(endpoint.secret, headers, body.replace(b"77", b"78"), now)
    with pytest.raises(SignatureRefused, match=r"webhook\.bad_signature"):
        verify("another-secret", headers, body, now)


def test_endpoints_are_kept_owner_only_and_must_be_https(tmp_path: Path) -> None:
    endpoint = register(tmp_path, "s1", "https://qlvb.example.vn/axis")
    assert load(tmp_path)["s1"] == endpoint
    assert (tmp_path / "webhooks.json").stat().st_mode & 0o777 == 0o600
    from adapters.webhook.endpoints import EndpointError

    with pytest.raises(EndpointError, match=r"webhook\.insecure_url"):
        register(tmp_path, "s2", "http://qlvb.example.vn/axis")
