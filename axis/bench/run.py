"""One whole benchmark run: a real ``axis serve`` under full load, at half that rate, then the
ceiling on the same store and the floor (the exchange alone); the result as JSON and a chart."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from axis.bench.intake_alone import intake_alone
from axis.bench.load import (
    CpuSnapshot,
    free_port,
    intake_stages,
    loop_lag,
    metrics_text,
    run_ceiling,
    run_floor,
    run_load,
    tree_rss_mib,
    wait_healthy,
)
from axis.bench.workload import prepare


@dataclass(frozen=True)
class BenchSettings:
    """How big a run is: agencies, documents per phase, concurrent senders, serving processes
    (``axis serve --workers``), intake workers per serving process, store URL (None: the
    embedded SQLite store)."""

    agencies: int = 20
    documents: int = 1500
    senders: int = 32
    intake_workers: int = 2
    store: str | None = None
    serve_workers: int = 1


async def run_bench(settings: BenchSettings, say: Any = print) -> dict[str, Any]:
    """Run the benchmark and return its result; ``say`` hears each phase as it starts (a
    run takes a minute or more: the user sees where it is)."""
    with tempfile.TemporaryDirectory(prefix="axis-bench-") as folder:
        home = Path(folder) / "home"
        say(f"preparing {settings.agencies} agencies and {2 * settings.documents} signed letters")
        workload = await prepare(home, settings.agencies, settings.documents * 2, settings.store)
        full = workload.documents[: settings.documents]
        half = workload.documents[settings.documents :]
        warm_count = settings.senders * 2
        say("the intake alone, on one core")
        alone = await intake_alone(
            home, workload.trust_dir, settings.store, [data for _, data in full[:400]]
        )
        port = free_port()
        env = {
            **os.environ,
            "AXIS_HOME": str(home),
            "AXIS_TRUST_DIR": str(workload.trust_dir),
            "AXIS_SIGNATURE_MODE": "require",
            "AXIS_REQUIRE_SENDER_BINDING": "true",
            "AXIS_INTAKE_WORKERS": str(settings.intake_workers),
            "AXIS_PORT": str(port),
            **({"AXIS_STORE": settings.store} if settings.store else {}),
        }
        command = [sys.executable, "-m", "axis.cli", "serve"]
        if settings.serve_workers > 1:
            command += ["--workers", str(settings.serve_workers)]
        server = subprocess.Popen(command, env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            await wait_healthy(base)
            say(f"warming up with {warm_count} documents")
            warm = await run_load(base, workload, full[:warm_count], settings.senders, None)
            say(f"full load: {len(full) - warm_count} documents, {settings.senders} senders")
            scrapes = [await metrics_text(base, workload.auditor)]
            before = CpuSnapshot.now(server.pid)
            result = await run_load(base, workload, full[warm_count:], settings.senders, None)
            after = CpuSnapshot.now(server.pid)
            scrapes.append(await metrics_text(base, workload.auditor))
            target = result["accepted_per_second"] / 2
            say(f"half rate: {len(half)} documents at {target:.0f}/s")
            half_rate = await run_load(base, workload, half, settings.senders, target)
            scrapes.append(await metrics_text(base, workload.auditor))
            rss = tree_rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait()
        say("ceiling: a bare server writing the same documents to the same kind of store")
        ceiling = await run_ceiling(
            Path(folder) / "ceiling-home", full, settings.senders, settings.store
        )
        say("floor: the same exchange against a server that keeps documents in memory")
        floor = await run_floor(workload, full, settings.senders)
    return {
        "benchmark": "axis end to end: signed 20 KB documents over HTTP",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        ),
        "store": settings.store or "sqlite (embedded, WAL, synchronous=FULL, group commit)",
        "agencies": settings.agencies,
        "senders": settings.senders,
        "serve_workers": settings.serve_workers,
        "intake_workers": settings.intake_workers,
        "document_bytes": len(full[0][1]),
        "warm_up": warm["documents"],
        "full_load": result,
        "half_rate": {**half_rate, "target_per_second": round(target, 1)},
        "ceiling_per_second": ceiling,
        "share_of_ceiling": round(result["accepted_per_second"] / ceiling, 2),
        "floor": floor,
        "machine_cpu_busy_percent": busy_percent(before, after),
        "server_rss_mib": round(rss, 1),  # every serving process and intake worker
        "intake_alone_ms": alone,  # one core, nothing else running: the aim's figure
        "intake_ms_by_stage": intake_stages(scrapes[-1]),  # in the loaded server
        "event_loop_lag": {  # of the serving process that answered the scrapes
            "full_load": loop_lag(scrapes[0], scrapes[1]),
            "half_rate": loop_lag(scrapes[1], scrapes[2]),
        },
        "cpu_ms_per_document": cpu_per_document(before, after, result["documents"]),
    }


def busy_percent(before: CpuSnapshot, after: CpuSnapshot) -> float:
    """The machine's CPU share busy between two snapshots."""
    total = after.total - before.total
    return round(100 * (after.busy - before.busy) / total, 1) if total > 0 else 0.0


def cpu_per_document(before: CpuSnapshot, after: CpuSnapshot, documents: int) -> dict[str, float]:
    """Milliseconds of CPU per accepted document between two snapshots, by who spent them;
    ``stolen`` is what the hypervisor gave other guests, ``other`` the rest of the machine's
    busy time (a Redis server, the kernel's own work)."""
    spent = {name: after.server[name] - before.server[name] for name in before.server}
    spent["load_generator"] = after.load_generator - before.load_generator
    spent["stolen"] = after.stolen - before.stolen
    shares = {name: 1000 * seconds / documents for name, seconds in spent.items()}
    machine = 1000 * (after.busy - before.busy) / documents
    shares["other"] = max(0.0, machine - sum(shares.values()))
    shares["total"] = machine
    return {name: round(ms, 2) for name, ms in shares.items()}


def summary(result: dict[str, Any]) -> str:
    """The figures a person reads first, one line each."""
    full, half = result["full_load"], result["half_rate"]
    return "\n".join(
        [
            f"accepted: {full['accepted_per_second']} documents/s "
            f"({result['share_of_ceiling']:.0%} of the ceiling, {result['ceiling_per_second']}/s)",
            f"send -> available at full load: p50 {full['latency_ms_p50']} ms, "
            f"p99 {full['latency_ms_p99']} ms",
            f"at half rate ({half['target_per_second']}/s): p50 {half['latency_ms_p50']} ms, "
            f"p99 {half['latency_ms_p99']} ms",
            f"machine CPU busy {result['machine_cpu_busy_percent']} %, "
            f"server RSS {result['server_rss_mib']} MiB",
            "intake alone on one core, ms: "
            + ", ".join(f"{k} {v}" for k, v in result.get("intake_alone_ms", {}).items()),
            "intake ms by stage in the loaded server: "
            + ", ".join(f"{k} {v}" for k, v in result["intake_ms_by_stage"].items()),
            "CPU ms per document: "
            + ", ".join(f"{k} {v}" for k, v in result.get("cpu_ms_per_document", {}).items()),
            *_lag_line(result.get("event_loop_lag")),
            *_floor_line(result.get("floor")),
        ]
    )


def _lag_line(lag: dict[str, Any] | None) -> list[str]:
    if not lag:
        return []
    full, half = lag["full_load"], lag["half_rate"]
    return [
        f"event loop lag: mean {full['mean_ms']} ms, p99 <= {full['p99_ms_at_most']} ms at full"
        f" load; mean {half['mean_ms']} ms, p99 <= {half['p99_ms_at_most']} ms at half rate"
    ]


def _floor_line(floor: dict[str, Any] | None) -> list[str]:
    if not floor:
        return []
    cpu = floor["cpu_ms_per_document"]
    return [
        f"floor (the same exchange, documents kept in memory): {floor['accepted_per_second']}"
        f" documents/s, CPU ms per document: server {cpu['server']}, load generator "
        f"{cpu['load_generator']}, machine {cpu['total']}"
    ]


def chart(result: dict[str, Any], path: Path) -> bool:
    """A PNG of throughput against the ceiling and the latencies; False without matplotlib
    (a development extra: the figures are in the JSON either way)."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    bars = {
        "axis": result["full_load"]["accepted_per_second"],
        "ceiling": result["ceiling_per_second"],
        **({"floor": result["floor"]["accepted_per_second"]} if "floor" in result else {}),
    }
    left.bar(list(bars), list(bars.values()), color=["#2b6cb0", "#a0aec0", "#cbd5e0"][: len(bars)])
    left.set_title("signed 20 KB documents / s")
    for name, run in (("full load", result["full_load"]), ("half rate", result["half_rate"])):
        right.bar([f"{name}\np50", f"{name}\np99"], [run["latency_ms_p50"], run["latency_ms_p99"]])
    right.set_title("send → available (ms)")
    fig.suptitle(f"axis on {result['machine']}; {result['store'].split(' ')[0]} store")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
