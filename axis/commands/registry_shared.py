"""What the ``axis registry`` commands share: the deployment's store as the registry sees it,
explicit seeding, whole and partial loads, JSON output."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from axis.commands.store_access import with_store
from axis.config import AxisConfig
from axis.resources import ensure_registry, open_store, seed_if_empty
from axis.store.protocol import Store
from registry.partial import load_for
from registry.registry import Registry
from registry.store import RegistryStore


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


@asynccontextmanager
async def open_registry_store(config: AxisConfig) -> AsyncIterator[RegistryStore]:
    """The deployment's store (:func:`axis.resources.open_store`), as the registry sees it.
    Opening never seeds (a read never writes); the commands seed an empty store explicitly."""
    async with open_store(config) as store:
        yield store


def _announce_seed(text: str) -> None:
    print(f"registry: {text}", file=sys.stderr)


def current_registry(config: AxisConfig) -> Registry:
    """The newest registry of the deployment, seeding an empty store first (said on stderr):
    for synchronous jobs such as ``axis run`` that need the whole registry."""

    async def main() -> Registry:
        async with open_store(config) as store:
            return await ensure_registry(store, announce=_announce_seed)

    return asyncio.run(main())


async def load_all(store: RegistryStore) -> Registry:
    """The whole newest registry (empty only if the store was emptied after seeding)."""
    registry = await store.load_registry()
    return Registry.empty() if registry is None else registry


async def load_codes(store: RegistryStore, codes: list[str]) -> Registry:
    registry = await load_for(store, codes)
    return Registry.empty() if registry is None else registry


StoreCommand = Callable[[argparse.Namespace, Store], Awaitable[int]]
"""A command on the deployment's store (the registry's reads need only its RegistryStore side;
the changes also append audit events)."""


def on_store(command: StoreCommand) -> Callable[[argparse.Namespace], int]:
    """The argparse handler of an async ``command``: opens the store (seeding it explicitly if
    empty), runs the command, closes the store; errors print their code and location."""

    def handler(args: argparse.Namespace) -> int:
        async def job(store: Store, config: AxisConfig) -> int:
            await seed_if_empty(store, announce=_announce_seed)
            return await command(args, store)

        return with_store(args, job)

    return handler
