"""The intake's worker processes over their pipes: answers match requests, a killed worker
loses no document, a failing check fails only itself, closing waits for pending checks."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

import edxml
from axis.compose import letter
from axis.config import AxisConfig
from axis.intake_pool import IntakePool
from edxml import Organization

NOW = dt.datetime(2025, 7, 20, 3, 0, tzinfo=dt.UTC)
SENDER = Organization("000.00.00.G22", organ_name="Văn phòng Chính phủ")


def _letter(number: int) -> bytes:
    package = letter(
        SENDER, [Organization("000.00.00.G09")], number=str(number), subject="Thử", day=NOW.date()
    )
    return edxml.build(package)


def _document_id(number: int) -> str:
    return f"000.00.00.G22,2025/07/20,{number}/UBND-VP"


def run(tmp_path: Path, body: Callable[[IntakePool], Awaitable[None]]) -> None:
    async def main() -> None:
        pool = await IntakePool.start(AxisConfig(home=tmp_path, intake_workers=2))
        try:
            await body(pool)
        finally:
            await pool.close()

    asyncio.run(main())


async def _until(condition: Callable[[], bool], seconds: float = 30) -> None:
    """Yield to the loop until ``condition`` holds (every turn: a pipe's answer is quick)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        await asyncio.sleep(0)


def test_every_answer_belongs_to_its_own_request(tmp_path: Path) -> None:
    async def body(pool: IntakePool) -> None:
        answers = await asyncio.gather(*(pool.check(_letter(n), NOW) for n in range(1, 41)))
        found = [None if a.facts is None else a.facts.document_id for a in answers]
        assert found == [_document_id(n) for n in range(1, 41)]
        assert all(a.refusal is None for a in answers)
        assert {len(w.pending) for w in pool._workers} == {0}

    run(tmp_path, body)


def test_a_worker_killed_mid_load_loses_no_document_and_is_replaced(tmp_path: Path) -> None:
    async def body(pool: IntakePool) -> None:
        victim = pool._workers[0].process
        checks = [asyncio.create_task(pool.check(_letter(n), NOW)) for n in range(1, 201)]
        await _until(lambda: len(pool._workers[0].pending) > 50)
        assert victim.pid is not None
        os.kill(victim.pid, signal.SIGKILL)
        answers = await asyncio.gather(*checks)
        assert [a.facts.document_id if a.facts else None for a in answers] == [
            _document_id(n) for n in range(1, 201)
        ]
        await _until(
            lambda: (
                len(pool._workers) == 2
                and victim not in [worker.process for worker in pool._workers]
            )
        )
        again = await pool.check(_letter(99), NOW)
        assert again.facts is not None
        assert again.facts.document_id == _document_id(99)

    run(tmp_path, body)


def test_a_check_that_raises_fails_alone_and_the_worker_lives_on(tmp_path: Path) -> None:
    async def body(pool: IntakePool) -> None:
        pids = sorted(worker.process.pid or 0 for worker in pool._workers)
        with pytest.raises(RuntimeError, match="the intake worker failed: AttributeError"):
            await pool.check(_letter(1), None)  # type: ignore[arg-type]
        answer = await pool.check(_letter(2), NOW)
        assert answer.facts is not None
        assert answer.facts.document_id == _document_id(2)
        assert sorted(worker.process.pid or 0 for worker in pool._workers) == pids

    run(tmp_path, body)


def test_closing_waits_for_pending_checks_then_the_workers_exit(tmp_path: Path) -> None:
    async def main() -> None:
        pool = await IntakePool.start(AxisConfig(home=tmp_path, intake_workers=2))
        processes = [worker.process for worker in pool._workers]
        checks = [asyncio.create_task(pool.check(_letter(n), NOW)) for n in range(1, 101)]
        await _until(lambda: sum(len(worker.pending) for worker in pool._workers) > 50)
        await pool.close()
        answers = await asyncio.gather(*checks)
        assert all(a.facts is not None for a in answers)
        assert [p.is_alive() for p in processes] == [False, False]
        assert [p.exitcode for p in processes] == [0, 0]
        with pytest.raises(RuntimeError, match="closed"):
            await pool.check(_letter(99), NOW)

    asyncio.run(main())
