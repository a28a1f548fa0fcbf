"""CLI group `sign/verify`: filled in by its issue."""

from __future__ import annotations

from typing import Any

from axis.commands import CommandGroup


def register(sub: Any) -> None:
    """Adds nothing yet."""


GROUP = CommandGroup(name="sign/verify", register=register)
