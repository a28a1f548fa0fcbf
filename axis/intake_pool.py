"""The intake's worker processes, spoken to over pipes that the event loop reads itself.

The CPU work of a package (parse, XSD, rules, signature: :mod:`axis.intake_worker`) runs in
worker processes, off the event loop. A ``ProcessPoolExecutor`` did this before and cost the
serving process dearly under load: every document crossed two helper threads (the executor's
manager and its queue feeder), and each of their hand-overs had to win the GIL back from the
event loop and the store's writer, which made an intake of 2 ms of work take 20 ms. Here each
worker has a request pipe and an answer pipe, both in the event loop's own selector: a request
is one frame written by the loop (buffered by the transport, never blocking), an answer is one
frame the loop reads when it arrives. No thread takes part.

A worker answers its requests in order, so its pending futures are a FIFO queue; a package goes
to the worker with the fewest pending. A worker that dies (out of memory, a crash in a C
library) fails only its own pending packages, each of which is checked once more on another
worker while a new one starts: one bad worker never refuses a good document.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import multiprocessing
import multiprocessing.connection
import multiprocessing.process
import os
import pickle
import struct
from typing import Final

import structlog

from axis.config import AxisConfig
from axis.intake_worker import Checked, WorkerFailure, serve_requests
from axis.logs import configured_level

_log = structlog.get_logger("axis.intake")

_HEADER: Final = struct.Struct("!i")
"""A frame's length, as :meth:`multiprocessing.connection.Connection.send_bytes` writes it."""
_LONG_HEADER: Final = struct.Struct("!Q")
"""The length after a header of -1 (a frame of 2 GiB or more)."""
_RESTART_SECONDS: Final = 1.0
"""How long to wait before trying again to start a worker that failed to start."""
_JOIN_SECONDS: Final = 10.0
"""How long a closing pool waits for a worker to exit before it is terminated."""


class WorkerLostError(RuntimeError):
    """The worker died with the package pending (it is checked again elsewhere)."""


class _AnswerReader(asyncio.Protocol):
    """Splits the answer pipe's bytes into frames and hands each to its worker."""

    def __init__(self, worker: _Worker) -> None:
        self._worker = worker
        self._buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            frame = self._next_frame()
            if frame is None:
                return
            self._worker.answered(frame)

    def _next_frame(self) -> bytes | None:
        if len(self._buffer) < _HEADER.size:
            return None
        (size,) = _HEADER.unpack_from(self._buffer)
        start = _HEADER.size
        if size == -1:
            if len(self._buffer) < start + _LONG_HEADER.size:
                return None
            (size,) = _LONG_HEADER.unpack_from(self._buffer, start)
            start += _LONG_HEADER.size
        if len(self._buffer) < start + size:
            return None
        frame = bytes(self._buffer[start : start + size])
        del self._buffer[: start + size]
        return frame

    def connection_lost(self, exc: Exception | None) -> None:
        self._worker.lost()


class _Worker:
    """One worker process, its two pipe ends and its pending packages (in request order)."""

    def __init__(
        self,
        process: multiprocessing.process.BaseProcess,
        requests: asyncio.WriteTransport,
        pool: IntakePool,
    ) -> None:
        self.process = process
        self.pending: collections.deque[asyncio.Future[Checked | WorkerFailure]] = (
            collections.deque()
        )
        self.alive = True
        self._pool = pool
        self._requests = requests

    def submit(self, frame: bytes) -> asyncio.Future[Checked | WorkerFailure]:
        """Write one request frame; the future resolves with its answer."""
        if not self.alive or self._requests.is_closing():
            raise WorkerLostError(f"intake worker {self.process.pid} is gone")
        future: asyncio.Future[Checked | WorkerFailure] = asyncio.get_running_loop().create_future()
        self._requests.write(_HEADER.pack(len(frame)) + frame)
        self.pending.append(future)
        return future

    def answered(self, frame: bytes) -> None:
        if not self.pending:
            _log.error("intake.unexpected_answer", pid=self.process.pid)
            return
        future = self.pending.popleft()
        if not future.done():  # the caller may have been cancelled
            # a pipe between this process and its own worker: no one else writes to it
            future.set_result(pickle.loads(frame))  # noqa: S301

    def lost(self) -> None:
        """The answer pipe closed: the worker exited. Fail what it held; the pool replaces it."""
        if not self.alive:
            return
        self.alive = False
        self._requests.close()
        while self.pending:
            future = self.pending.popleft()
            if not future.done():
                future.set_exception(WorkerLostError(f"intake worker {self.process.pid} died"))
        self._pool.worker_lost(self)

    def close(self) -> None:
        """Close the request pipe: the worker finishes what it holds, then exits."""
        self._requests.close()


class IntakePool:
    """The worker processes of one serving process: started once, closed on shutdown."""

    def __init__(self, config: AxisConfig) -> None:
        self._config = config
        # forkserver: workers fork from a clean helper process, never from the serving process
        # with its threads (the store's writer) and its event loop.
        self._context = multiprocessing.get_context("forkserver")
        self._workers: list[_Worker] = []
        self._available = asyncio.Event()
        self._restarts: set[asyncio.Task[None]] = set()
        self._closing = False

    @classmethod
    async def start(cls, config: AxisConfig) -> IntakePool:
        """A pool with every worker started and answering (imports and trust store loaded now,
        not on the first document)."""
        pool = cls(config)
        try:
            for _ in range(config.intake_workers):
                await pool._add_worker()
            now = dt.datetime.now(dt.UTC)
            await asyncio.gather(*(pool._ask(worker, b"<warm/>", now) for worker in pool._workers))
        except BaseException:
            await pool.close()
            raise
        return pool

    async def check(self, data: bytes, received_at: dt.datetime) -> Checked:
        """The worker stages over one package, awaited without blocking the loop."""
        for attempt in (1, 2):
            worker = await self._least_busy()
            try:
                return await self._ask(worker, data, received_at)
            except WorkerLostError as exc:
                _log.error("intake.worker_lost", attempt=attempt, error=str(exc))
        raise RuntimeError("two intake workers died while checking one document")

    async def close(self) -> None:
        """Let pending checks finish, close the pipes, wait for the workers to exit."""
        self._closing = True
        for task in list(self._restarts):
            task.cancel()
        pending = [f for worker in self._workers for f in worker.pending]
        if pending:
            await asyncio.wait(pending, timeout=_JOIN_SECONDS)
        for worker in self._workers:
            worker.close()
        processes = [worker.process for worker in self._workers]
        self._workers.clear()
        await asyncio.to_thread(_join, processes)

    def worker_lost(self, worker: _Worker) -> None:
        """Called by a worker whose pipe closed: forget it and, unless closing, start another."""
        if worker in self._workers:
            self._workers.remove(worker)
        if not self._workers:
            self._available.clear()
        if self._closing:
            return
        _log.error("intake.worker_died", pid=worker.process.pid, exitcode=worker.process.exitcode)
        task = asyncio.get_running_loop().create_task(self._replace())
        self._restarts.add(task)
        task.add_done_callback(self._restarts.discard)

    async def _replace(self) -> None:
        """Start a worker in place of a dead one, trying again each second while it fails (a
        full process table, memory): documents wait for it rather than being refused."""
        while not self._closing:
            try:
                await self._add_worker()
            except Exception as exc:
                _log.error("intake.worker_start_failed", error=repr(exc))
                await asyncio.sleep(_RESTART_SECONDS)
            else:
                return

    async def _ask(self, worker: _Worker, data: bytes, received_at: dt.datetime) -> Checked:
        frame = pickle.dumps((data, received_at), protocol=pickle.HIGHEST_PROTOCOL)
        answer = await worker.submit(frame)
        if isinstance(answer, WorkerFailure):
            raise RuntimeError(f"the intake worker failed: {answer.error}")
        return answer

    async def _least_busy(self) -> _Worker:
        while not self._workers:
            if self._closing:
                raise RuntimeError("the intake pool is closed")
            await self._available.wait()
        return min(self._workers, key=lambda worker: len(worker.pending))

    async def _add_worker(self) -> None:
        """Start one worker (the fork server's round trip runs in a thread) and connect its
        pipes to the loop."""
        loop = asyncio.get_running_loop()
        process, requests_fd, answers_fd = await asyncio.to_thread(self._spawn)
        try:
            requests, _ = await loop.connect_write_pipe(
                asyncio.Protocol, os.fdopen(requests_fd, "wb", buffering=0)
            )
            worker = _Worker(process, requests, self)
            await loop.connect_read_pipe(
                lambda: _AnswerReader(worker), os.fdopen(answers_fd, "rb", buffering=0)
            )
        except BaseException:
            process.kill()
            raise
        if self._closing:
            worker.close()
            return
        self._workers.append(worker)
        self._available.set()

    def _spawn(self) -> tuple[multiprocessing.process.BaseProcess, int, int]:
        """A started worker process and this process's ends of its two pipes (raw fds)."""
        requests_in, requests_out = self._context.Pipe(duplex=False)
        answers_in, answers_out = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=serve_requests,
            args=(requests_in, answers_out, self._config, configured_level()),
            name="axis-intake",
            daemon=True,
        )
        try:
            process.start()
        finally:
            requests_in.close()  # the worker holds its own copies now
            answers_out.close()
        requests_fd, answers_fd = os.dup(requests_out.fileno()), os.dup(answers_in.fileno())
        requests_out.close()
        answers_in.close()
        return process, requests_fd, answers_fd


def _join(processes: list[multiprocessing.process.BaseProcess]) -> None:
    for process in processes:
        process.join(_JOIN_SECONDS)
        if process.is_alive():
            _log.warning("intake.worker_terminated", pid=process.pid)
            with contextlib.suppress(OSError):
                process.terminate()
            process.join(_JOIN_SECONDS)
