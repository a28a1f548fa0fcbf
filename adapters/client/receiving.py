"""Receiving into a directory: fetch, write durably, and only then acknowledge.

The order is the whole point. The package is written to a temporary name in the target
directory, fsynced, renamed over ``<message_id>.edxml`` and the directory fsynced; only then is
the axis told ``done``. A crash before the ack leaves the delivery open, so the next run fetches
it again and the rename overwrites the same file with the same bytes: receiving is idempotent by
message id, and nothing acknowledged is ever missing from the directory. Shared by
``axis receive`` and the drop-folder adapter.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from adapters.client.client import AxisClient
from adapters.client.errors import AxisClientError
from adapters.client.models import InboxItem

#: A message id that is safe as a file name (the axis's own ids are; a hostile or broken server
#: must not make the client write outside the directory).
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def write_atomic(path: Path, data: bytes) -> None:
    """``path`` holds ``data`` entirely or is untouched, even across a power cut."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (where the platform allows opening a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open a directory
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def target_for(directory: Path, message_id: str) -> Path:
    """``directory/<message_id>.edxml``, refusing an id that is no plain file name."""
    if not _SAFE_ID.fullmatch(message_id):
        raise AxisClientError(
            "client.unsafe_message_id",
            f"the axis gave a message id that is not a safe file name: {message_id!r}",
            "message_id",
        )
    return directory / f"{message_id}.edxml"


@dataclass(frozen=True)
class Received:
    """One package handled: where it was written (``None`` when it was withdrawn meanwhile)."""

    item: InboxItem
    path: Path | None
    acked: bool


async def receive_one(
    client: AxisClient, item: InboxItem, directory: Path, *, ack: bool = True
) -> Received:
    """Fetch ``item``, write it durably into ``directory``, then (if ``ack``) acknowledge it.

    A copy the sender revoked between the listing and the fetch (``410 message.withdrawn``) is
    skipped: there is nothing to write and nothing to acknowledge."""
    path = target_for(directory, item.message_id)
    try:
        data = await client.fetch(item.message_id)
    except AxisClientError as exc:
        if exc.code == "message.withdrawn":
            return Received(item, None, False)
        raise
    write_atomic(path, data)
    if ack:
        await client.ack(item.message_id, code=item.code or None)
    return Received(item, path, ack)
