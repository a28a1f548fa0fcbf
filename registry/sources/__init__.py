"""Readers of official lists: one per format, each returning an :class:`ImportBatch`.

``read(path, format=None, progress=None)`` is the one entry point (the CLI's ``axis registry
import``): it reads the file (this function's name says it does disk I/O; ``*.gz`` is
decompressed), picks the format from the content when none is given, and hands the text to the
reader of that format:

* ``native``: our own JSON or CSV (docs/registry-sync.md), also the shape of the seed and export;
* ``vdxp``: a ``getSynchronizeUnit`` (or ``getAgenciesList``) response of the national axis;
* ``nso_crosswalk``: the statistics office's old -> new crosswalk, as normalised or as the raw
  sheet with its flaws.

``progress(done, total)`` is called now and then with rows read so far (``total`` may grow while
a CSV is read), then once with ``done == total`` at the end.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Final

from registry.errors import RegistryError
from registry.sources import native, nso_crosswalk, vdxp
from registry.sources.batch import ImportBatch, ImportIssue

FORMATS: Final = ("native", "vdxp", "nso_crosswalk")

Progress = Callable[[int, int], None]

__all__ = [
    "FORMATS",
    "ImportBatch",
    "ImportIssue",
    "Progress",
    "SourceError",
    "detect",
    "read",
    "read_text",
]


class SourceError(RegistryError, ValueError):
    """A file no reader can take at all; ``code`` is stable (``source.unreadable``,
    ``source.unknown_format``, ``source.bad_json``, ``source.not_utf8``); ``location`` the file."""


def detect(text: str) -> str:
    """The format of ``text`` from its content (never from the file name, which lies)."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith(("{", "[")):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError:
            return "native"
        if vdxp.looks_vdxp(data):
            return "vdxp"
        return "native"
    if nso_crosswalk.detect(text) is not None:
        return "nso_crosswalk"
    return "native"


def read_text(
    text: str,
    source: str = "<text>",
    format: str | None = None,
    progress: Progress | None = None,
) -> ImportBatch:
    """The batch ``text`` states, in ``format`` (detected when None)."""
    chosen = format or detect(text)
    if chosen not in FORMATS:
        raise SourceError(
            "source.unknown_format", f"format {chosen!r} is not one of {', '.join(FORMATS)}", source
        )
    if chosen == "nso_crosswalk":
        batch = nso_crosswalk.read_text(text, source, progress=progress)
    elif text.lstrip("\ufeff \t\r\n").startswith(("{", "[")):
        try:
            data = json.loads(text.lstrip("\ufeff"))
        except json.JSONDecodeError as exc:
            raise SourceError("source.bad_json", f"line {exc.lineno}: {exc.msg}", source) from None
        if chosen == "vdxp":
            batch = vdxp.read_json(data, source)
        elif not native.looks_native_json(data):
            raise SourceError(
                "source.unknown_format",
                "JSON is neither our own format nor a VDXP unit list",
                source,
            )
        else:
            batch = native.read_json(data, source)
    elif chosen == "vdxp":
        raise SourceError("source.unknown_format", "a VDXP unit list is JSON", source)
    else:
        batch = native.read_csv(text, source, progress)
    if progress is not None:
        progress(batch.rows, batch.rows)
    return batch


def read(
    path: str | Path,
    format: str | None = None,
    progress: Progress | None = None,
) -> ImportBatch:
    """The batch the file at ``path`` states (see the module docstring)."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise SourceError("source.unreadable", exc.strerror or str(exc), str(file)) from None
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError("source.not_utf8", f"byte {exc.start} is not UTF-8", str(file)) from None
    return read_text(text, str(file), format, progress)
