"""Sub-command groups of the ``axis`` CLI, one module per group.

A group is a name plus a ``register`` function that adds its sub-parser(s) and sets
``handler`` (a callable ``(argparse.Namespace) -> int`` returning the exit code) on each.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SubParsers = argparse._SubParsersAction  # the object argparse.add_subparsers returns
Handler = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class CommandGroup:
    """One top-level word of the CLI (``edxml``, ``registry``, ``pki`` ...)."""

    name: str
    register: Callable[[Any], None]
