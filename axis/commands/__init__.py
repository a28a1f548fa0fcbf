"""Sub-command groups of the ``axis`` CLI, one module per group.

A group is a name plus a ``register`` function that adds its sub-parser(s) and sets
``handler`` (a callable ``(argparse.Namespace) -> int`` returning the exit code) on each.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from registry.sources.instants import InstantError, parse_instant

SubParsers = argparse._SubParsersAction  # the object argparse.add_subparsers returns
Handler = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class CommandGroup:
    """One top-level word of the CLI (``edxml``, ``registry``, ``pki`` ...)."""

    name: str
    register: Callable[[Any], None]


def parse_at(text: str) -> datetime:
    """Every command's ``--at``: a date (Vietnamese midnight), ISO 8601, or ``dd/MM/yyyy HH:mm``;
    a time written without an offset is Vietnam time (UTC+7), as an official's clock reads.

    Raises ``argparse.ArgumentTypeError`` so argparse names the option in its message.
    """
    try:
        return parse_instant(text, naive_is_local=True)
    except InstantError as exc:
        raise argparse.ArgumentTypeError(f"{exc.code}: {exc.message}") from None
