"""The intake of the bench's documents alone, on one core, in the bench's own process.

Check and verify run as an intake worker runs them (:func:`axis.intake_worker.check_with`, one
parse shared), resolve as the serving process does (every recipient at the axis's clock, read
with the meaning its code had when it was written). Nothing else competes for the machine: this
is the figure the intake's aim (≤ 0.8 ms per 20 KB document on one core) speaks of. The stage
timings of the loaded server (``intake_ms_by_stage``) are the same work with two full cores
around it, which costs it about twice as much.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Sequence
from pathlib import Path

from axis.config import AxisConfig
from axis.intake_worker import check_with
from axis.resources import build_verifier, open_store
from registry.registry import Registry


async def intake_alone(
    home: Path, trust_dir: Path, store: str | None, documents: Sequence[bytes]
) -> dict[str, float]:
    """:func:`measure_intake` with the registry of the bench's store, in a thread."""
    config = AxisConfig(home=home, trust_dir=trust_dir, store=store or "", signature_mode="require")
    async with open_store(config) as opened:
        registry = await opened.load_registry()
    if registry is None:
        raise RuntimeError("the bench's store holds no registry")
    warm_up = min(50, len(documents) // 2)  # a small run (the tests') warms up on half
    return await asyncio.to_thread(measure_intake, config, registry, documents, warm_up=warm_up)


def measure_intake(
    config: AxisConfig, registry: Registry, documents: Sequence[bytes], *, warm_up: int = 50
) -> dict[str, float]:
    """Mean milliseconds per document of check, verify and resolve over ``documents`` after
    ``warm_up`` of them (the verifier's caches filled, as in a worker that has run a while).
    Blocking: call it outside the event loop."""
    if len(documents) <= warm_up:
        raise ValueError(f"need more than {warm_up} documents, got {len(documents)}")
    verifier = build_verifier(config)
    at = dt.datetime.now(dt.UTC)
    for data in documents[:warm_up]:
        check_with(config, verifier, data, at)
    spent = {"check": 0.0, "verify": 0.0, "resolve": 0.0}
    measured = documents[warm_up:]
    for data in measured:
        checked = check_with(config, verifier, data, at)
        if checked.facts is None:
            raise RuntimeError(f"the bench's own document was refused: {checked.refusal}")
        spent["check"] += checked.seconds["check"]
        spent["verify"] += checked.seconds["verify"]
        started = time.perf_counter()
        for code in checked.facts.recipients:
            registry.resolve(code, at, addressed_at=checked.facts.written_at)
        spent["resolve"] += time.perf_counter() - started
    per_document = {stage: 1000 * seconds / len(measured) for stage, seconds in spent.items()}
    per_document["total"] = sum(per_document.values())
    return {stage: round(ms, 3) for stage, ms in per_document.items()}
