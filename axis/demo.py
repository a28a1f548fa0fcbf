"""``axis demo``: the way of one document through a real axis, told step by step.

On the embedded store in a fresh data directory: a test PKI is built, two agencies get signing
certificates and connected systems, the axis serves on a loopback port, and over real HTTP
Lào Cai (000.00.00.H38, which took over the closed Yên Bái) sends a signed letter addressed to
the closed Hậu Giang code 000.00.00.H28; the axis redirects it to Cần Thơ (000.00.00.H13), whose
system receives, acknowledges and answers with a status package that travels back. The trace of
the letter is printed at the end.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from cryptography import x509

from axis.auth.secrets import generate_secret, hash_secret
from axis.clock import VN_TZ
from axis.compose import agency_certificate, letter, signed, small_ca, status_answer
from axis.config import AxisConfig
from axis.http.app import create_app
from axis.runtime import Runtime, open_runtime
from axis.store.records import AuditDraft, SystemRecord
from edxml import Organization, StatusCode

Say = Callable[[str], None]

LAO_CAI = Organization(
    "000.00.00.H38",
    organ_name="Ủy ban nhân dân tỉnh Lào Cai",
    organ_add="Đường Hoàng Liên, phường Lào Cai, tỉnh Lào Cai",
)
CAN_THO = Organization("000.00.00.H13", organ_name="Ủy ban nhân dân thành phố Cần Thơ")
HAU_GIANG_OLD = Organization("000.00.00.H28", organ_name="Ủy ban nhân dân tỉnh Hậu Giang")


async def _add_system(runtime: Runtime, system_id: str, code: str) -> dict[str, str]:
    secret = generate_secret()
    now = runtime.now()
    await runtime.store.put_system(
        SystemRecord(system_id, "agency", (code,), hash_secret(secret), None, now),
        AuditDraft(kind="system.added", at=now, system_id=system_id, codes=(code,)),
    )
    return {"Authorization": aiohttp.encode_basic_auth(system_id, secret)}


async def run_demo(home: Path, say: Say) -> int:
    """The demo in ``home`` (created); returns the exit code."""
    say(f"axis demo: data directory {home}")
    root, sub_ca, trust_dir = small_ca(home / "demo-ca")
    say(f"  a test CA (root and sub CA, in the VGCA style) in {trust_dir}")
    config = AxisConfig(
        home=home,
        trust_dir=trust_dir,
        signature_mode="require",
        require_sender_binding=True,
        intake_workers=1,
    )
    async with open_runtime(config) as runtime:
        say(
            f"  store {config.store_url}, registry version {runtime.registry.version} "
            f"({len(runtime.registry.current)} agencies), 1 intake worker"
        )
        now = runtime.now()
        certificates = {
            org.organ_id: agency_certificate(
                sub_ca.cert,
                sub_ca.key,
                org.organ_id,
                org.organ_name or org.organ_id,
                not_before=now - dt.timedelta(days=1),
            )
            for org in (LAO_CAI, CAN_THO)
        }
        laocai = await _add_system(runtime, "laocai-qlvb", LAO_CAI.organ_id)
        cantho = await _add_system(runtime, "cantho-qlvb", CAN_THO.organ_id)
        say("  systems laocai-qlvb (000.00.00.H38) and cantho-qlvb (000.00.00.H13) connected")
        runner = web.AppRunner(create_app(config, runtime=runtime))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        say(f"  axis serving on {base}\n")
        try:
            async with aiohttp.ClientSession(base) as http:
                return await _journey(
                    http, laocai, cantho, certificates, (sub_ca.cert, root.cert), now, say
                )
        finally:
            await runner.cleanup()


async def _journey(
    http: aiohttp.ClientSession,
    laocai: dict[str, str],
    cantho: dict[str, str],
    certificates: dict[str, Any],
    chain: tuple[x509.Certificate, ...],
    now: dt.datetime,
    say: Say,
) -> int:
    day = now.astimezone(VN_TZ).date()
    document = letter(
        LAO_CAI,
        [HAU_GIANG_OLD],
        number="15",
        notation="UBND-VP",
        subject="Về việc bàn giao hồ sơ sau sắp xếp đơn vị hành chính",
        day=day,
        attachment=("bien-ban-ban-giao.txt", "Biên bản bàn giao hồ sơ, tài liệu.\n".encode()),
    )
    key, cert = certificates[LAO_CAI.organ_id]
    data = signed(document, key, [cert, chain[0]])
    say(f"1. Lào Cai sends {document.header.document_id!r} to 000.00.00.H28 (Hậu Giang, closed)")
    async with http.post("/v1/messages", data=data, headers=laocai) as response:
        body = await response.json()
        if response.status != 202:
            say(f"   refused {response.status}: {json.dumps(body, ensure_ascii=False)}")
            return 1
    message_id = body["message_id"]
    [route] = body["recipients"]
    hop = route["hops"][0]
    say(f"   202 Accepted, message {message_id}; signature {body['signature'].get('status')}")
    effective = dt.datetime.fromisoformat(hop["effective"]).astimezone(VN_TZ).date()
    say(
        f"   route: {hop['from'][-3:]} → {hop['to'][-3:]} from {effective}, "
        f"{hop['legal_basis']} ({route['name']})"
    )
    async with http.get("/v1/inbox", headers=cantho) as response:
        items = (await response.json())["items"]
    say(f"2. Cần Thơ's inbox: {len(items)} document(s): {items[0]['subject']}")
    async with http.get(f"/v1/messages/{message_id}", headers=cantho) as response:
        received = await response.read()
    say(f"   fetched {len(received)} bytes, identical to what was sent: {received == data}")
    async with http.post(
        f"/v1/messages/{message_id}/ack", json={"outcome": "done"}, headers=cantho
    ):
        pass
    say("   acknowledged: done")
    answer = status_answer(
        CAN_THO, document, StatusCode.ACCEPTED, "Đã tiếp nhận, vào sổ văn bản đến", now
    )
    key, cert = certificates[CAN_THO.organ_id]
    async with http.post(
        "/v1/messages", data=signed(answer, key, [cert]), headers=cantho
    ) as response:
        status_id = (await response.json())["message_id"]
    say(f"3. Cần Thơ answers with status 03 (đã tiếp nhận): message {status_id}")
    async with http.get("/v1/inbox", params={"kind": "status"}, headers=laocai) as response:
        statuses = (await response.json())["items"]
    say(f"   Lào Cai's inbox holds the status from {statuses[0]['sender_code']}")
    async with http.get(f"/v1/messages/{status_id}", headers=laocai):
        pass
    async with http.post(f"/v1/messages/{status_id}/ack", json={"outcome": "done"}, headers=laocai):
        pass
    async with http.get("/v1/sent", headers=laocai) as response:
        sent = (await response.json())["items"][0]
    recipient = sent["recipients"][0]
    say(
        f"   Lào Cai's sent box: {recipient['requested']} → {recipient['code']}: delivery "
        f"{recipient['state']}, business status {recipient['status']['status_code']}"
    )
    async with http.get(f"/v1/messages/{message_id}/trace", headers=laocai) as response:
        trace = await response.json()
    say(f"\n4. Trace of {message_id}:")
    for event in trace["events"]:
        at = dt.datetime.fromisoformat(event["at"]).astimezone(VN_TZ).strftime("%H:%M:%S")
        say(f"   {at} {event['kind']:<10} {_describe(event)}")
    return 0


def _describe(event: dict[str, Any]) -> str:
    data = event["data"]
    kind = event["kind"]
    if kind == "received":
        return f"from {event['codes'][0]} by {event['system_id']} ({data['size']} bytes)"
    if kind == "verified":
        return f"signature {data.get('status')}: {data.get('signer_subject', '')[:60]}"
    if kind in ("redirected", "resolved"):
        hops = " ".join(f"→ {h['to']} ({h['legal_basis']})" for h in data.get("hops", []))
        return f"{data['requested']} {hops}".strip()
    if kind == "stored":
        return f"{data['deliveries']} delivery(ies) durable"
    if kind in ("fetched", "acked"):
        outcome = f" {data['outcome']}" if "outcome" in data else ""
        return f"by {event['system_id']} for {', '.join(event['codes'])}{outcome}"
    if kind == "status":
        return f"status {data.get('status_code')} from {', '.join(event['codes'])}"
    return json.dumps(data, ensure_ascii=False)[:80]
