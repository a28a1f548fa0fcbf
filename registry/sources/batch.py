"""What every reader returns: the records an official list states, and what was wrong with it.

A reader never touches a registry; it only says what the file states. Comparing that with a
registry is :mod:`registry.sync`'s job, so the same batch can be planned against any version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from registry.model import Agency, Succession

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class ImportIssue:
    """One problem in one row of a source file, precise enough to find and fix it.

    ``code`` is stable and machine-readable (``row.bad_code``, ``row.missing_field``,
    ``row.corrected``, ...); ``line`` is the 1-based physical line (CSV) or the 1-based item
    index (JSON, with ``field`` naming the key). A ``warning`` row was still imported (perhaps
    after a documented correction); an ``error`` row was skipped.
    """

    code: str
    message: str
    line: int | None = None
    field: str | None = None
    severity: Severity = "error"

    def format(self) -> str:
        """One human line: ``line 12 [row.bad_code] message``."""
        where = f"line {self.line}" if self.line is not None else "file"
        column = f" ({self.field})" if self.field else ""
        return f"{where}{column}: {self.severity} [{self.code}] {self.message}"


class RowError(Exception):
    """A reader's refusal of one row; the reader turns it into an :class:`ImportIssue`."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True, slots=True)
class ImportBatch:
    """The records one source file states, in file order, with the issues found reading it.

    ``closes`` are codes the source says are gone (a VDXP ``deleted`` row, a native ``close``
    row), each with the instant of closing (None: the import's effective instant, or now). A
    code absent from a source is never closed: lists are often partial (one province, one
    ministry), and silence is not a legal act.
    """

    source: str
    format: str
    agencies: tuple[Agency, ...] = ()
    successions: tuple[Succession, ...] = ()
    closes: tuple[tuple[str, datetime | None], ...] = ()
    issues: tuple[ImportIssue, ...] = ()
    rows: int = 0
    agency_lines: tuple[int | None, ...] = ()
    """The source line (CSV) or item number (JSON) of each of ``agencies``, when the reader
    knows it (empty: unknown), so a plan's conflicts name their lines."""
    succession_lines: tuple[int | None, ...] = ()
    close_lines: tuple[int | None, ...] = ()

    def line_of(self, what: Literal["agency", "succession", "close"], index: int) -> int | None:
        """The source line of the ``index``-th statement of that kind, None when unknown."""
        lines = {
            "agency": self.agency_lines,
            "succession": self.succession_lines,
            "close": self.close_lines,
        }[what]
        return lines[index] if index < len(lines) else None

    @property
    def errors(self) -> tuple[ImportIssue, ...]:
        """The rows that were skipped."""
        return tuple(i for i in self.issues if i.severity == "error")

    @property
    def warnings(self) -> tuple[ImportIssue, ...]:
        """The rows imported with a remark (a correction applied, a duplicate ignored ...)."""
        return tuple(i for i in self.issues if i.severity == "warning")
