"""CLI group ``edxml``: being written by the lead (check, show)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from axis.commands import CommandGroup


def check_files(files: Sequence[Path], *, strict: bool) -> list[Any]:
    """Placeholder."""
    return []


def print_table(results: Sequence[Any]) -> None:
    """Placeholder."""


def register(sub: Any) -> None:
    """Placeholder."""


GROUP = CommandGroup(name="edxml", register=register)
