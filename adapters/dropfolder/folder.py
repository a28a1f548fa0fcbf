"""One agency system's drop folder: ``outbox/`` to send, ``sent/``, ``failed/``, ``inbox/``.

A document system that can only write and read files (many can) exchanges documents through
it: it drops ``*.edxml`` into ``outbox/``, finds each moved to ``sent/`` with
``<name>.receipt.json`` (the message id, each recipient's route) or to ``failed/`` with
``<name>.error.json`` (the axis's problem JSON, its stable ``code`` first), and reads what
arrives from ``inbox/<message_id>.edxml``.

A file is taken only when fully written: names starting with ``.`` or ending ``.part`` are the
writer's temporaries, and a file whose size or modification time changed within ``settle``
seconds is still being written. Each move is crash-safe in the order it is done: the receipt or
error is written durably first, then the file renamed; a crash in between sends the file again,
which the axis recognises by its DocumentId and answers with the same message id.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from adapters.client import AxisClient, AxisClientError, receive_one, write_atomic
from adapters.client.receiving import fsync_dir

_log = structlog.get_logger("adapters.dropfolder")

SUFFIX = ".edxml"
FOLDERS = ("outbox", "sent", "failed", "inbox")


class UnauthorisedError(Exception):
    """The axis refuses this system's credentials: no file can be sent or received, so the
    adapter stops rather than move every document to ``failed/``."""


@dataclass
class Watch:
    """When each outbox file was last seen to change (size, mtime), to tell settled files."""

    settle: float
    seen: dict[str, tuple[tuple[int, int], float]] = field(default_factory=dict)

    def ready(self, path: Path, now: float) -> bool:
        """True once ``path`` has not changed for ``settle`` seconds (by its mtime, or by
        having looked the same for that long: a clock skew on a network share cannot hold a
        file back forever)."""
        try:
            stat = path.stat()
        except FileNotFoundError:
            self.seen.pop(path.name, None)
            return False
        signature = (stat.st_size, stat.st_mtime_ns)
        known = self.seen.get(path.name)
        if known is None or known[0] != signature:
            self.seen[path.name] = (signature, now)
            known = self.seen[path.name]
        old_enough = time.time() - stat.st_mtime_ns / 1e9 >= self.settle
        return old_enough or now - known[1] >= self.settle

    def forget(self, name: str) -> None:
        self.seen.pop(name, None)


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


@dataclass
class DropFolder:
    """The four folders under ``root`` and what moves between them."""

    root: Path
    settle: float = 2.0
    partial: bool = False
    say: Callable[[str], None] = print
    watch: Watch = field(init=False)

    def __post_init__(self) -> None:
        self.watch = Watch(self.settle)

    def folder(self, name: str) -> Path:
        return self.root / name

    def ensure(self) -> None:
        """Create the folders that are missing."""
        for name in FOLDERS:
            self.folder(name).mkdir(parents=True, exist_ok=True)

    def candidates(self) -> list[Path]:
        """The outbox's ``*.edxml`` that are not a writer's temporaries, by name."""
        found = []
        for path in self.folder("outbox").iterdir():
            name = path.name
            if name.startswith(".") or name.endswith(".part"):
                continue
            if name.lower().endswith(SUFFIX) and path.is_file():
                found.append(path)
        return sorted(found)

    def settled(self, now: float) -> tuple[list[Path], list[Path]]:
        """The candidates split into (ready to send, still being written)."""
        ready: list[Path] = []
        waiting: list[Path] = []
        for path in self.candidates():
            (ready if self.watch.ready(path, now) else waiting).append(path)
        return ready, waiting

    async def send_file(self, client: AxisClient, path: Path) -> bool:
        """Send one file and move it; False when it stays for a later try (the axis did not
        answer, was busy, or refused for a reason that is not the document's)."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # taken away meanwhile by its writer
            self.watch.forget(path.name)
            return True
        try:
            result = await client.send(data, partial=self.partial)
        except AxisClientError as exc:
            if exc.status == 401:
                raise UnauthorisedError(str(exc)) from exc
            if exc.transient:
                _log.warning("dropfolder.send_later", file=path.name, code=exc.code)
                self.say(f"later\t{path.name}\t{exc.code}")
                return False
            target = self._free(self.folder("failed"), path.name, ".error.json", None)
            problem = {**exc.to_dict(), "file": path.name, "at": _utc_now()}
            self._move(path, target, ".error.json", problem)
            self.say(f"failed\t{path.name}\t{exc.code}\t{target}")
            return True
        receipt = {**result.raw, "file": path.name, "sent_at": _utc_now()}
        target = self._free(self.folder("sent"), path.name, ".receipt.json", result.message_id)
        self._move(path, target, ".receipt.json", receipt)
        self.say(f"sent\t{path.name}\t{result.message_id}\t{target}")
        return True

    def _move(self, path: Path, target: Path, sidecar: str, facts: dict[str, Any]) -> None:
        """The sidecar JSON durably first, then the file renamed beside it."""
        text = json.dumps(facts, ensure_ascii=False, indent=2, default=str) + "\n"
        write_atomic(target.with_name(target.name + sidecar), text.encode("utf-8"))
        os.replace(path, target)
        fsync_dir(target.parent)
        fsync_dir(path.parent)
        self.watch.forget(path.name)

    @staticmethod
    def _free(directory: Path, name: str, sidecar: str, message_id: str | None) -> Path:
        """``directory/name``, unless an earlier file of that name is there: then a name made
        unique by the message id (the same id again overwrites: a resend after a crash) or,
        for a failure, by the time."""
        target = directory / name
        if not target.exists():
            return target
        if message_id is not None:
            with_id = directory / f"{Path(name).stem}.{message_id}{SUFFIX}"
            previous = _read_json(target.with_name(target.name + sidecar))
            return target if previous.get("message_id") == message_id else with_id
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        return directory / f"{Path(name).stem}.{stamp}{SUFFIX}"

    async def send_ready(self, client: AxisClient, now: float) -> tuple[int, int]:
        """Send the settled files; (handled, left for later)."""
        handled = later = 0
        ready, _waiting = self.settled(now)
        for path in ready:
            if await self.send_file(client, path):
                handled += 1
            else:
                later += 1
        return handled, later

    async def receive(
        self, client: AxisClient, cursor: str | None, kind: str | None, wait: float
    ) -> tuple[int, str | None]:
        """Write what waits into ``inbox/`` (each acknowledged after its write is durable);
        with ``wait`` the first poll long-polls. Returns (count, cursor to continue from)."""
        count = 0
        while True:
            page = await client.inbox(after=cursor, kind=kind, wait=wait if count == 0 else 0)
            for item in page.items:
                done = await receive_one(client, item, self.folder("inbox"))
                count += 1
                where = done.path if done.path is not None else "(withdrawn)"
                self.say(f"received\t{item.kind}\t{item.sender_code}\t{item.message_id}\t{where}")
            cursor = page.cursor
            if not page.items or not page.more:
                return count, cursor
            wait = 0


def _read_json(path: Path) -> dict[str, Any]:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}
