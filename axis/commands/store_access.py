"""What every command that works on the deployment's store shares: the config, the store."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from axis.config import AxisConfig, ConfigError
from axis.resources import open_store
from axis.store.protocol import Store
from edxml import CodedError

T = TypeVar("T")


def add_store_options(parser: argparse.ArgumentParser) -> None:
    """``--config FILE`` and ``--home DIR``."""
    parser.add_argument("--config", type=Path, default=None, help="TOML file of AXIS_* parameters")
    parser.add_argument("--home", type=Path, default=None, help="data directory (AXIS_HOME)")


def config_of(args: argparse.Namespace) -> AxisConfig:
    """The command's config: file and environment, ``--home`` over both."""
    config = AxisConfig.from_env(file=getattr(args, "config", None))
    return config.with_overrides(home=getattr(args, "home", None))


def with_store(args: argparse.Namespace, job: Callable[[Store, AxisConfig], Awaitable[int]]) -> int:
    """Run ``job`` against the opened store; a coded error is printed and exits 1 (2 for a bad
    configuration)."""
    try:
        config = config_of(args)
    except ConfigError as exc:
        print(f"{exc.code}: {exc.location}: {exc.message}", file=sys.stderr)
        return 2

    async def run() -> int:
        async with open_store(config) as store:
            return await job(store, config)

    try:
        return asyncio.run(run())
    except CodedError as exc:
        where = f" at {exc.location}" if exc.location else ""
        print(f"{exc.code}{where}: {exc.message}", file=sys.stderr)
        return 1
