"""Running a drop folder: one pass (``--once``, for cron and tests) or a loop until stopped.

Each round sends the settled files of ``outbox/``, then receives into ``inbox/``. In the loop
the receive long-polls for up to ``interval`` seconds, so a document arriving is written at once
while a file dropped waits at most one interval. The inbox cursor is kept in memory only: a new
run starts from the oldest open delivery, so whatever was written but not acknowledged before a
crash is fetched again and the same file overwritten.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from dataclasses import dataclass

import structlog

from adapters.client import AxisClient, AxisClientError
from adapters.dropfolder.folder import DropFolder, UnauthorisedError

_log = structlog.get_logger("adapters.dropfolder")


@dataclass(frozen=True)
class Settings:
    """How often and what: ``interval`` seconds per round, ``kind`` to receive (all if None)."""

    interval: float = 5.0
    kind: str | None = None


async def run_once(folder: DropFolder, client: AxisClient, settings: Settings) -> int:
    """Everything there now: settled files sent (a file still being written is waited for up to
    ``settle`` seconds, once), then the inbox emptied. 0, or 1 when something is left over."""
    folder.ensure()
    left = 0
    start = time.monotonic()
    _handled, later = await folder.send_ready(client, start)
    left += later
    _ready, waiting = folder.settled(start)
    if waiting:  # dropped moments ago: look again once they could have settled
        await asyncio.sleep(folder.settle)
        _handled, later = await folder.send_ready(client, time.monotonic())
        left += later + len(folder.settled(time.monotonic())[1])
    try:
        await folder.receive(client, None, settings.kind, 0)
    except AxisClientError as exc:
        if exc.status == 401:
            raise UnauthorisedError(str(exc)) from exc
        if not exc.transient:
            raise
        _log.warning("dropfolder.receive_later", code=exc.code, message=exc.message)
        folder.say(f"later\tinbox\t{exc.code}")
        left += 1
    return 1 if left else 0


async def run_forever(
    folder: DropFolder, client: AxisClient, settings: Settings, stop: asyncio.Event
) -> None:
    """Rounds until ``stop`` is set; a round that fails for want of the axis or of the disk is
    logged and the next one, an interval later, tries again (files stay where they are,
    deliveries stay open)."""
    folder.ensure()
    cursor: str | None = None
    while not stop.is_set():
        try:
            await folder.send_ready(client, time.monotonic())
            receiving = asyncio.ensure_future(
                folder.receive(client, cursor, settings.kind, settings.interval)
            )
            stopped = asyncio.ensure_future(stop.wait())
            await asyncio.wait({receiving, stopped}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            if not receiving.done():
                receiving.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await receiving
                return
            _count, cursor = receiving.result()
        except AxisClientError as exc:
            if exc.status == 401:
                raise UnauthorisedError(str(exc)) from exc
            _log.warning("dropfolder.round_failed", code=exc.code, message=exc.message)
        except OSError as exc:  # a share gone away, a full disk: the next round tries again
            _log.warning("dropfolder.round_failed", error=str(exc))
        else:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.interval)


async def run(folder: DropFolder, client: AxisClient, settings: Settings, once: bool) -> int:
    """The command's body: the client opened, SIGTERM/SIGINT stop the loop between files."""
    async with client:
        if once:
            return await run_once(folder, client, settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.set)
        await run_forever(folder, client, settings, stop)
        return 0
