"""edXML parse + validate: throughput (documents/s) and peak memory at 20 KB, 1 MB and 20 MB.

Run: ``.venv/bin/python benchmarks/bench_edxml.py`` (or ``make bench``). Prints a table and writes
``benchmarks/results/edxml.json``. Each document is the project's example letter with one PDF
attachment of random bytes, sized so the whole package has the target size.

Throughput is measured on one core, in-process, as the best of several rounds (the least disturbed
by other work on the machine). Peak memory is measured in a fresh child process per size, after a
warm-up check: the kernel's peak-RSS counter is reset (``/proc/self/clear_refs``), the file is read
and checked, and the peak minus the resident size before reading is divided by the document size;
the figure therefore includes the input bytes themselves.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import lxml.etree
import xmlschema

import edxml
from edxml.reader import read_tree
from edxml.rules import check_rules
from edxml.schema import compiled_schema, schema_problems, schema_text
from edxml.xmlsafe import parse_xml

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "edxml.json"
SIZES = {"20KB": 20 * 1024, "1MB": 1024 * 1024, "20MB": 20 * 1024 * 1024}


def make_document(size: int) -> bytes:
    """The example letter with one PDF attachment, padded to about ``size`` bytes in total."""
    base = edxml.parse((ROOT / "examples" / "edoc_new_two-attachments.edxml").read_bytes())
    assert isinstance(base, edxml.Document)
    head = edxml.build(dataclasses.replace(base, attachments=(), manifest=()))
    payload_bytes = max(0, (size - len(head) - 600) * 3 // 4)
    pdf = b"%PDF-1.4\n" + os.urandom(payload_bytes)
    attachment = edxml.attachment_from_file("van-ban.pdf", pdf, content_id="att-1")
    document = dataclasses.replace(
        base,
        attachments=(attachment,),
        manifest=(
            edxml.ManifestReference("att-1", attachment.content_type, None, attachment.name),
        ),
    )
    return edxml.build(document)


def best_seconds(action: Callable[[], object], budget: float) -> tuple[float, int]:
    """Best mean seconds per call over rounds that together take about ``budget`` seconds."""
    started = time.perf_counter()
    action()
    once = max(time.perf_counter() - started, 1e-7)
    per_round = max(1, int(budget / 5 / once))
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(per_round):
            action()
        best = min(best, (time.perf_counter() - started) / per_round)
    return best, per_round * 5


def measure_memory(path: Path) -> dict[str, float]:
    """Peak RSS growth of a child process that reads the file and checks it."""
    code = (
        "import sys, edxml\n"
        "def status(key):\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith(key): return int(line.split()[1]) * 1024\n"
        "edxml.check(open(sys.argv[2], 'rb').read())  # warm up: compile the schema once\n"
        "open('/proc/self/clear_refs', 'w').write('5')  # reset the peak (VmHWM) to now\n"
        "before = status('VmRSS:')\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "result = edxml.check(data)\n"
        "assert result.package is not None\n"
        "print(before, status('VmHWM:'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path), str(ROOT / "examples" / "status_01_inbox.edxml")],
        capture_output=True,
        text=True,
        check=True,
    )
    before, peak = map(int, done.stdout.split())
    size = path.stat().st_size
    return {"peak_growth_bytes": peak - before, "peak_growth_x_size": (peak - before) / size}


def stage_breakdown(data: bytes) -> dict[str, float]:
    """Microseconds per stage of ``edxml.check``, for the smallest document."""
    tree = parse_xml(data)
    result = read_tree(tree)
    assert result.package is not None
    package = result.package
    stages = {
        "parse_xml": lambda: parse_xml(data),
        "xsd_lxml": lambda: schema_problems(tree),
        "read_model": lambda: read_tree(tree),
        "rules": lambda: check_rules(package),
    }
    return {name: round(best_seconds(fn, 1.0)[0] * 1e6, 1) for name, fn in stages.items()}


def xsd_engines(data: bytes) -> dict[str, float]:
    """The same XSD in lxml (libxml2) and in xmlschema (pure Python), microseconds per document."""
    tree = parse_xml(data)
    schema = compiled_schema()
    reference = xmlschema.XMLSchema10(schema_text().decode("utf-8"))
    lxml_s, _ = best_seconds(lambda: schema.validate(tree), 1.0)
    xmlschema_s, _ = best_seconds(lambda: reference.is_valid(tree), 2.0)
    return {
        "lxml_us": round(lxml_s * 1e6, 1),
        "xmlschema_us": round(xmlschema_s * 1e6, 1),
        "ratio": round(xmlschema_s / lxml_s, 1),
    }


def main() -> None:
    rows = {}
    with tempfile.TemporaryDirectory() as scratch:
        for label, size in SIZES.items():
            data = make_document(size)
            problems = edxml.check(data)
            assert problems.ok, problems.problems
            seconds, runs = best_seconds(lambda data=data: edxml.check(data), 3.0)
            path = Path(scratch) / f"{label}.edxml"
            path.write_bytes(data)
            rows[label] = {
                "bytes": len(data),
                "check_us": round(seconds * 1e6, 1),
                "documents_per_s": round(1 / seconds, 1),
                "mb_per_s": round(len(data) / seconds / 1e6, 1),
                "runs": runs,
                **measure_memory(path),
            }
            row = rows[label]
            print(
                f"{label:>5}: {row['check_us']:>10.1f} µs/doc  {row['documents_per_s']:>9.1f} doc/s  "
                f"peak +{row['peak_growth_bytes'] / 1e6:.1f} MB = {row['peak_growth_x_size']:.2f}x size"
            )
        small = make_document(SIZES["20KB"])
        stages = stage_breakdown(small)
        engines = xsd_engines(small)
    print(f"20KB stages (µs): {stages}")
    print(f"XSD engines on 20KB (µs): {engines}")
    report = {
        "benchmark": "edxml.check = parse (hardened) + XSD + read model + rules incl. attachment decode",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpu": _cpu(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "lxml": ".".join(map(str, lxml.etree.LXML_VERSION)),
            "libxml2": ".".join(map(str, lxml.etree.LIBXML_VERSION)),
        },
        "sizes": rows,
        "stages_20KB_us": stages,
        "xsd_engines_20KB": engines,
        "aims": {"20KB_check_us": 300, "20MB_peak_x_size": 3.0},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


if __name__ == "__main__":
    main()
