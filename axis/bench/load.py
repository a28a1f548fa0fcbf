"""The load of a benchmark run and what is measured while it runs.

Senders post documents (as fast as ``senders`` concurrent posts allow, or paced at a rate)
while every agency's system long-polls its inbox, fetches and acknowledges, as a real
document-management system does; the latency of a document is from the start of its POST to
the moment the recipient's long poll returns it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aiohttp

from axis.bench.workload import Workload

_TICKS: Final = os.sysconf("SC_CLK_TCK")
"""The unit of ``/proc``'s CPU counters."""

_TAKES_PER_AGENCY = 4
"""Fetch-and-acknowledge exchanges a recipient's system runs at once beside its long poll."""


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds so far, read off ``/proc``: the machine's busy, total and stolen time (what
    the hypervisor gave other guests while this one wanted to run: on a shared virtual machine,
    part of why runs of the same code differ), the server's processes by kind
    (:func:`tree_cpu_seconds`) and this process, the load generator. A phase's figures are the
    difference of two."""

    busy: float
    total: float
    stolen: float
    server: dict[str, float]
    load_generator: float

    @classmethod
    def now(cls, server_pid: int) -> CpuSnapshot:
        # the machine's cpu line: user, nice, system, idle, iowait, irq, softirq, steal, ...
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        idle = fields[3] + fields[4]
        return cls(
            busy=(sum(fields) - idle) / _TICKS,
            total=sum(fields) / _TICKS,
            stolen=fields[7] / _TICKS,
            server=tree_cpu_seconds(server_pid),
            load_generator=cpu_seconds(os.getpid()),
        )


def tree_rss_mib(pid: int) -> float:
    """Resident memory in MiB of a process and all its descendants (the serving processes and
    their intake workers)."""
    return sum(rss_mib(each) for each in _tree(pid))


def _tree(pid: int) -> list[int]:
    """A process and all its descendants, as they are now."""
    found: list[int] = []
    pending = [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                pending.extend(int(child) for child in task.read_text().split())
            except OSError:
                continue
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a living process (all its threads) has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def tree_cpu_seconds(pid: int) -> dict[str, float]:
    """CPU seconds so far of the serving processes and of the intake workers under ``pid``
    (the workers run from the fork server: its command line names it)."""
    split = {"serving": 0.0, "intake_workers": 0.0}
    for each in _tree(pid):
        try:
            command = Path(f"/proc/{each}/cmdline").read_bytes()
        except OSError:
            continue
        split["intake_workers" if b"forkserver" in command else "serving"] += cpu_seconds(each)
    return split


def rss_mib(pid: int) -> float:
    """A process's resident memory in MiB (0 once it is gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0.0
    for line in lines:
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def basic_auth(pair: str) -> dict[str, str]:
    system, secret = pair.split(":", 1)
    return {"Authorization": aiohttp.encode_basic_auth(system, secret)}


async def wait_healthy(base: str, seconds: float = 90) -> None:
    """Poll ``/v1/health`` until it answers 200, with a deadline."""
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
    raise RuntimeError(f"{base} did not become healthy within {seconds:.0f} s")


def _percentile(ordered: Sequence[float], share: float) -> float:
    return ordered[int(share * (len(ordered) - 1))] if ordered else float("nan")


async def run_load(
    base: str,
    workload: Workload,
    documents: Sequence[tuple[str, bytes]],
    senders: int,
    rate: float | None,
) -> dict[str, Any]:
    """Send ``documents`` with ``senders`` concurrent posts (paced at ``rate``/s if given) while
    every agency's system long-polls, fetches and acknowledges; throughput and latencies."""
    started_at: dict[str, float] = {}
    seen_at: dict[str, float] = {}
    expected = len(documents)
    done = asyncio.Event()
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    for item in documents:
        queue.put_nowait(item)
    connector = aiohttp.TCPConnector(
        limit=senders + len(workload.codes) * (1 + _TAKES_PER_AGENCY) + 8
    )
    async with aiohttp.ClientSession(base, connector=connector) as http:

        async def take(message_id: str, headers: dict[str, str], slots: asyncio.Semaphore) -> None:
            async with slots:
                async with http.get(f"/v1/messages/{message_id}", headers=headers) as r:
                    await r.read()
                async with http.post(
                    f"/v1/messages/{message_id}/ack", json={"outcome": "done"}, headers=headers
                ) as r:
                    await r.read()

        async def receive(code: str) -> None:
            # The long poll only lists (that is when a document is available); fetching and
            # acknowledging run beside it, a few at a time, as a busy recipient's system does.
            headers = basic_auth(workload.secrets[code])
            slots = asyncio.Semaphore(_TAKES_PER_AGENCY)
            taking: set[asyncio.Task[None]] = set()
            cursor: str | None = None
            while not done.is_set():
                params = {"wait": "2", "limit": "200", **({"after": cursor} if cursor else {})}
                async with http.get("/v1/inbox", params=params, headers=headers) as response:
                    page = await response.json()
                now = time.perf_counter()
                cursor = page.get("cursor") or cursor
                for item in page["items"]:
                    seen_at.setdefault(item["message_id"], now)
                    task = asyncio.create_task(take(item["message_id"], headers, slots))
                    taking.add(task)
                    task.add_done_callback(taking.discard)
                if len(seen_at) >= expected:
                    done.set()
            await asyncio.gather(*taking)

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
                        "/v1/messages", data=data, headers=basic_auth(workload.secrets[sender])
                    ) as response:
                        body = await response.json()
                        if response.status not in (200, 202):
                            raise RuntimeError(f"refused: {body}")
                    started_at[body["message_id"]] = begun

        receivers = [asyncio.create_task(receive(code)) for code in workload.codes]
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
        "latency_ms_p50": round(statistics.median(latencies), 1) if latencies else None,
        "latency_ms_p99": round(_percentile(latencies, 0.99), 1) if latencies else None,
        "delivered": len(latencies),
    }


@contextlib.asynccontextmanager
async def bare_server(module: str, *options: str) -> AsyncIterator[tuple[str, int]]:
    """A bench server (``python -m module``) on a free loopback port, healthy: its base URL
    and process id; stopped on leaving."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", module, "--port", str(port), *options])
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_healthy(base)
        yield base, server.pid
    finally:
        server.terminate()
        server.wait()


async def run_ceiling(
    home: Path, documents: Sequence[tuple[str, bytes]], senders: int, store: str | None
) -> float:
    """Documents/s that the bare server (:mod:`axis.bench.ceiling`) accepts on the same store."""
    options = ["--home", str(home), *(["--store", store] if store else [])]
    async with bare_server("axis.bench.ceiling", *options) as (base, _pid):
        queue = list(documents)
        async with aiohttp.ClientSession(base) as http:
            t0 = time.perf_counter()

            async def send() -> None:
                while queue:
                    _sender, data = queue.pop()
                    async with http.post("/v1/messages", data=data) as response:
                        await response.read()

            await asyncio.gather(*(send() for _ in range(senders)))
            return round(len(documents) / (time.perf_counter() - t0), 1)


async def run_floor(
    workload: Workload, documents: Sequence[tuple[str, bytes]], senders: int
) -> dict[str, Any]:
    """The same load against the in-memory server (:mod:`axis.bench.floor`): documents/s and
    CPU milliseconds per document of the server, of the load generator and of the machine."""
    codes = workload.codes
    system = {code: workload.secrets[code].split(":", 1)[0] for code in codes}
    routes = {system[code]: system[codes[(n + 1) % len(codes)]] for n, code in enumerate(codes)}
    async with bare_server("axis.bench.floor", "--routes", json.dumps(routes)) as (base, pid):
        warm = senders * 2
        await run_load(base, workload, documents[:warm], senders, None)
        before = CpuSnapshot.now(pid)
        result = await run_load(base, workload, documents[warm:], senders, None)
        after = CpuSnapshot.now(pid)
    per_document = 1000 / result["documents"]
    server = sum(after.server.values()) - sum(before.server.values())
    return {
        "accepted_per_second": result["accepted_per_second"],
        "cpu_ms_per_document": {
            "server": round(server * per_document, 2),
            "load_generator": round(
                (after.load_generator - before.load_generator) * per_document, 2
            ),
            "total": round((after.busy - before.busy) * per_document, 2),
        },
    }


async def metrics_text(base: str, auditor: str) -> str:
    """The server's Prometheus exposition (of one serving process, the one that answers)."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{base}/metrics", headers=basic_auth(auditor)) as response,
    ):
        return await response.text()


def intake_stages(text: str) -> dict[str, float]:
    """The intake's mean milliseconds per stage, from the server's Prometheus histograms."""
    stages: dict[str, float] = {}
    for stage in ("check", "verify", "worker", "resolve", "store"):
        total = re.search(rf'axis_intake_stage_seconds_sum{{stage="{stage}"}} ([0-9.e+-]+)', text)
        count = re.search(rf'axis_intake_stage_seconds_count{{stage="{stage}"}} ([0-9.e+-]+)', text)
        if total and count and float(count.group(1)):
            stages[stage] = round(1000 * float(total.group(1)) / float(count.group(1)), 3)
    return stages


_LAG_BUCKET = re.compile(r'axis_event_loop_delay_seconds_bucket\{le="([^"]+)"\} ([0-9.e+-]+)')
_LAG_SUM = re.compile(r"axis_event_loop_delay_seconds_sum ([0-9.e+-]+)")


def loop_lag(before: str, after: str) -> dict[str, float | int | None]:
    """The event loop's lag between two scrapes of the server's metrics: how many samples
    (one every 0.1 s), their mean, and the bucket bound that 99 % of them stayed under."""
    buckets = [
        (float(bound), float(n1) - float(n0))
        for (bound, n1), (_, n0) in zip(
            _LAG_BUCKET.findall(after), _LAG_BUCKET.findall(before), strict=True
        )
    ]
    samples = int(buckets[-1][1]) if buckets else 0  # the +Inf bucket counts them all
    if not samples:
        return {"samples": 0, "mean_ms": None, "p99_ms_at_most": None}
    total = float(_LAG_SUM.findall(after)[0]) - float(_LAG_SUM.findall(before)[0])
    p99 = next(bound for bound, n in buckets if n >= 0.99 * samples)
    return {
        "samples": samples,
        "mean_ms": round(1000 * total / samples, 2),
        "p99_ms_at_most": None if p99 == float("inf") else round(1000 * p99, 1),
    }
