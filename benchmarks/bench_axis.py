"""The broker end to end: signed 20 KB documents over HTTP, against its ceiling.

An ``axis serve`` process (embedded SQLite store unless ``--store``, ``--intake-workers`` worker
processes) serves N agencies; S concurrent senders post pre-signed 20 KB documents, each agency's
system long-polls its inbox, fetches and acknowledges. Measured:

* accepted documents/s at full load, and send -> available latency (p50/p99: from the start of
  the POST to the moment the recipient's long poll returns it);
* the same latency at half that rate (the service level under a normal day's load);
* CPU of the whole machine during the run (it includes this load generator), the server's RSS,
  the event loop's worst lag (from its /metrics), and the intake by stage (from the histograms);
* the ceiling: a bare aiohttp server that only reads the body and writes it to the same store
  (``benchmarks/ceiling_server.py``), at the same concurrency.

Results go to ``benchmarks/results/axis.json`` and a chart to ``benchmarks/results/axis.png``.
Run: ``.venv/bin/python benchmarks/bench_axis.py`` (about a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from axis.auth.secrets import generate_secret, hash_secret
from axis.compose import agency_certificate, letter, signed, small_ca
from axis.config import AxisConfig
from axis.resources import ensure_registry, open_store
from axis.store.records import AuditDraft, SystemRecord
from edxml import Organization

RESULTS = Path(__file__).parent / "results"


def _attachment(n: int) -> bytes:
    """A 13 KB PDF-shaped attachment that does not compress (random body): with the envelope
    and the signature the package is about 20 KB, the size the aims speak of."""
    return b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + os.urandom(13_000) + b"\n%%EOF\n"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cpu_busy() -> tuple[int, int]:
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _prepare(home: Path, agencies: int, documents: int, store: str | None) -> dict[str, Any]:
    """Agencies with certificates and systems, and the signed documents they will send."""
    _root, sub_ca, trust = small_ca(home / "ca")
    config = AxisConfig(home=home, trust_dir=trust, store=store or "")
    async with open_store(config) as store:
        registry = await ensure_registry(store)
        now = dt.datetime.now(dt.UTC)
        codes = sorted(
            a.code
            for a in registry.agencies()
            if a.code.startswith("000.00.00.H") and registry.resolve(a.code, now).status == "active"
        )[:agencies]
        secrets: dict[str, str] = {}
        keys: dict[str, Any] = {}
        for code in codes:
            system_id = f"sys-{code[-3:]}"
            secret = generate_secret()
            secrets[code] = f"{system_id}:{secret}"
            keys[code] = agency_certificate(
                sub_ca.cert, sub_ca.key, code, f"UBND {code}", not_before=now - dt.timedelta(days=1)
            )
            await store.put_system(
                SystemRecord(system_id, "agency", (code,), hash_secret(secret), None, now),
                AuditDraft("system.added", now, system_id=system_id),
            )
        auditor = generate_secret()
        await store.put_system(
            SystemRecord("bench-auditor", "auditor", (), hash_secret(auditor), None, now),
            AuditDraft("system.added", now, system_id="bench-auditor"),
        )
    docs: list[tuple[str, bytes]] = []
    day = now.astimezone(dt.timezone(dt.timedelta(hours=7))).date()
    for n in range(documents):
        sender, recipient = codes[n % len(codes)], codes[(n + 1) % len(codes)]
        package = letter(
            Organization(sender, organ_name=f"UBND {sender}"),
            [Organization(recipient, organ_name=f"UBND {recipient}")],
            number=str(n + 1),
            subject="Về việc báo cáo kết quả sắp xếp đơn vị hành chính",
            day=day,
            attachment=("bao-cao.pdf", _attachment(n)),
        )
        key, cert = keys[sender]
        docs.append((sender, signed(package, key, [cert, sub_ca.cert])))
    return {
        "codes": codes,
        "secrets": secrets,
        "auditor": f"bench-auditor:{auditor}",
        "docs": docs,
        "trust": trust,
    }


def _auth(pair: str) -> dict[str, str]:
    system, secret = pair.split(":", 1)
    return {"Authorization": aiohttp.encode_basic_auth(system, secret)}


async def _wait_healthy(base: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(f"{base}/v1/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{base} did not become healthy")


async def _load(
    base: str,
    setup: dict[str, Any],
    docs: list[tuple[str, bytes]],
    senders: int,
    rate: float | None,
) -> dict[str, Any]:
    """Send ``docs`` with ``senders`` concurrent posts (paced at ``rate``/s if given) while every
    agency's system long-polls, fetches and acknowledges; returns throughput and latencies."""
    started_at: dict[str, float] = {}
    seen_at: dict[str, float] = {}
    expected = len(docs)
    done = asyncio.Event()
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    for item in docs:
        queue.put_nowait(item)
    connector = aiohttp.TCPConnector(limit=senders + len(setup["codes"]) + 8)
    async with aiohttp.ClientSession(base, connector=connector) as http:

        async def receive(code: str) -> None:
            headers = _auth(setup["secrets"][code])
            cursor: str | None = None
            while not done.is_set():
                params = {"wait": "2", "limit": "200", **({"after": cursor} if cursor else {})}
                async with http.get("/v1/inbox", params=params, headers=headers) as response:
                    page = await response.json()
                now = time.perf_counter()
                cursor = page.get("cursor") or cursor
                for item in page["items"]:
                    seen_at.setdefault(item["message_id"], now)
                    async with http.get(f"/v1/messages/{item['message_id']}", headers=headers) as r:
                        await r.read()
                    async with http.post(
                        f"/v1/messages/{item['message_id']}/ack",
                        json={"outcome": "done"},
                        headers=headers,
                    ) as r:
                        await r.read()
                if len(seen_at) >= expected:
                    done.set()

        pace = asyncio.Semaphore(senders)
        t0 = time.perf_counter()
        sent = 0

        async def send() -> None:
            nonlocal sent
            while not queue.empty():
                sender, data = queue.get_nowait()
                if rate:
                    target = t0 + sent / rate
                    sent += 1
                    await asyncio.sleep(max(0.0, target - time.perf_counter()))
                async with pace:
                    begun = time.perf_counter()
                    async with http.post(
                        "/v1/messages", data=data, headers=_auth(setup["secrets"][sender])
                    ) as response:
                        body = await response.json()
                        if response.status not in (200, 202):
                            raise RuntimeError(f"refused: {body}")
                    started_at[body["message_id"]] = begun

        receivers = [asyncio.create_task(receive(code)) for code in setup["codes"]]
        await asyncio.gather(*(send() for _ in range(senders)))
        sending = time.perf_counter() - t0
        try:
            await asyncio.wait_for(done.wait(), 60)
        finally:
            done.set()
            await asyncio.gather(*receivers, return_exceptions=True)
    latencies = sorted(1000 * (seen_at[m] - started_at[m]) for m in started_at if m in seen_at)
    return {
        "documents": expected,
        "accepted_per_second": round(expected / sending, 1),
        "latency_ms_p50": round(statistics.median(latencies), 1),
        "latency_ms_p99": round(latencies[int(0.99 * (len(latencies) - 1))], 1),
        "delivered": len(latencies),
    }


async def _ceiling(
    home: Path, docs: list[tuple[str, bytes]], senders: int, store: str | None
) -> float:
    port = _free_port()
    script = str(Path(__file__).parent / "ceiling_server.py")
    command = [sys.executable, script, "--home", str(home), "--port", str(port)]
    server = subprocess.Popen([*command, "--store", store] if store else command)
    try:
        base = f"http://127.0.0.1:{port}"
        await _wait_healthy(base)
        queue = list(docs)
        async with aiohttp.ClientSession(base) as http:
            t0 = time.perf_counter()

            async def send() -> None:
                while queue:
                    _sender, data = queue.pop()
                    async with http.post("/v1/messages", data=data) as response:
                        await response.read()

            await asyncio.gather(*(send() for _ in range(senders)))
            return round(len(docs) / (time.perf_counter() - t0), 1)
    finally:
        server.terminate()
        server.wait()


async def _metrics(base: str, auditor: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{base}/metrics", headers=_auth(auditor)) as response,
    ):
        text = await response.text()
    stages: dict[str, float] = {}
    for stage in ("check", "verify", "worker", "resolve", "store"):
        total = re.search(rf'axis_intake_stage_seconds_sum{{stage="{stage}"}} ([0-9.e+-]+)', text)
        count = re.search(rf'axis_intake_stage_seconds_count{{stage="{stage}"}} ([0-9.e+-]+)', text)
        if total and count and float(count.group(1)):
            stages[stage] = round(1000 * float(total.group(1)) / float(count.group(1)), 3)
    return {"intake_ms_by_stage": stages}


async def main(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="axis-bench-") as folder:
        home = Path(folder) / "home"
        setup = await _prepare(home, args.agencies, args.documents * 2, args.store)
        full, half = setup["docs"][: args.documents], setup["docs"][args.documents :]
        port = _free_port()
        env = {
            **os.environ,
            "AXIS_HOME": str(home),
            "AXIS_TRUST_DIR": str(setup["trust"]),
            "AXIS_SIGNATURE_MODE": "require",
            "AXIS_REQUIRE_SENDER_BINDING": "true",
            "AXIS_INTAKE_WORKERS": str(args.intake_workers),
            "AXIS_PORT": str(port),
            **({"AXIS_STORE": args.store} if args.store else {}),
        }
        server = subprocess.Popen([sys.executable, "-m", "axis.cli", "serve"], env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            await _wait_healthy(base)
            warm = await _load(base, setup, full[: args.senders * 2], args.senders, None)
            busy0, total0 = _cpu_busy()
            result = await _load(base, setup, full[args.senders * 2 :], args.senders, None)
            busy1, total1 = _cpu_busy()
            half_rate = await _load(
                base, setup, half, args.senders, result["accepted_per_second"] / 2
            )
            metrics = await _metrics(base, setup["auditor"])
            rss = _rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait()
        ceiling = await _ceiling(Path(folder) / "ceiling-home", full, args.senders, args.store)
    return {
        "benchmark": "axis end to end: signed 20 KB documents over HTTP",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "store": args.store or "sqlite (embedded, WAL, synchronous=FULL, group commit)",
        "agencies": args.agencies,
        "senders": args.senders,
        "intake_workers": args.intake_workers,
        "document_bytes": len(full[0][1]),
        "warm_up": warm["documents"],
        "full_load": result,
        "half_rate": {
            **half_rate,
            "target_per_second": round(result["accepted_per_second"] / 2, 1),
        },
        "ceiling_per_second": ceiling,
        "share_of_ceiling": round(result["accepted_per_second"] / ceiling, 2),
        "machine_cpu_busy_percent": round(100 * (busy1 - busy0) / max(1, total1 - total0), 1),
        "server_rss_mib": round(rss, 1),
        **metrics,
    }


def _chart(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    left.bar(
        ["axis", "ceiling"],
        [result["full_load"]["accepted_per_second"], result["ceiling_per_second"]],
        color=["#2b6cb0", "#a0aec0"],
    )
    left.set_title("signed 20 KB documents / s")
    for name, run in (("full load", result["full_load"]), ("half rate", result["half_rate"])):
        right.bar([f"{name}\np50", f"{name}\np99"], [run["latency_ms_p50"], run["latency_ms_p99"]])
    right.set_title("send → available (ms)")
    fig.suptitle(f"axis on {result['machine']}; {result['store'].split(' ')[0]} store")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agencies", type=int, default=20)
    parser.add_argument("--documents", type=int, default=1500)
    parser.add_argument("--senders", type=int, default=32)
    parser.add_argument("--intake-workers", type=int, default=2)
    parser.add_argument("--store", default=None, help="redis://… (default: embedded sqlite)")
    parser.add_argument("--out", type=Path, default=RESULTS / "axis.json")
    args = parser.parse_args()
    outcome = asyncio.run(main(args))
    print(json.dumps(outcome, ensure_ascii=False, indent=2))
    args.out.write_text(json.dumps(outcome, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    _chart(outcome, args.out.with_suffix(".png"))
