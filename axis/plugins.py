"""Adapters as plugins: what the axis gives an adapter, what an adapter gives back.

The axis never imports an adapter by name. Each adapter is an object published under the entry
point group ``axis.adapters`` (``[project.entry-points."axis.adapters"] NAME = "pkg.mod:ADAPTER"``)
so a vendor ships its own as a separate package. An adapter may:

* serve: :meth:`Adapter.install` adds routes to the serving app (under ``/{name}/``) and
  background jobs that start with the runtime and stop with it (a push worker);
* run on its own: :meth:`Adapter.add_commands` adds sub-commands under ``axis adapter NAME``
  (a drop-folder bridge that talks to an axis over ``/v1``).

Both take only what :class:`AdapterHost` hands them: the config, the app, and, once started,
the :class:`axis.runtime.Runtime` (store, registry, sender, deliveries, authenticator, clock).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib.metadata import entry_points
from typing import Any, Final, Protocol, runtime_checkable

import structlog
from aiohttp import web

from axis.config import AxisConfig
from axis.runtime import Runtime

_log = structlog.get_logger("axis.plugins")

GROUP: Final = "axis.adapters"

Job = Callable[[Runtime], Awaitable[None]]


@runtime_checkable
class Adapter(Protocol):
    """One connector to document-management systems."""

    name: str
    description: str

    def install(self, host: AdapterHost) -> None:
        """Add routes and background jobs to a serving axis (may do nothing)."""

    def add_commands(self, sub: Any) -> None:
        """Add sub-commands to ``axis adapter NAME`` (``sub`` is argparse's sub-parsers)."""


class AdapterHost:
    """What the axis gives an adapter that serves: the app, the config, and the runtime."""

    def __init__(self, app: web.Application, config: AxisConfig, runtime: Callable[[], Runtime]):
        self.app = app
        self.config = config
        self._runtime = runtime
        self._jobs: list[tuple[str, Job]] = []
        self.own_auth_prefixes: list[str] = []

    def runtime(self) -> Runtime:
        """The running axis's resources (inside a request or a job; not while installing)."""
        return self._runtime()

    def authenticates(self, prefix: str) -> None:
        """Routes under ``prefix`` authenticate their callers themselves (the VDXP protocol
        signs each request with its own HMAC headers); the axis's Basic/certificate check
        skips them, so the adapter MUST refuse every unauthenticated call."""
        if not prefix.startswith("/") or not prefix.endswith("/") or prefix.startswith("/v1/"):
            raise ValueError(f"an adapter's own-auth prefix is '/name/', not {prefix!r}")
        self.own_auth_prefixes.append(prefix)

    def add_background(self, name: str, job: Job) -> None:
        """``job(runtime)`` runs as a task while the axis serves; cancelled on shutdown."""
        self._jobs.append((name, job))

    async def background(self, app: web.Application) -> AsyncIterator[None]:
        """The cleanup context running the jobs (appended after the runtime's own)."""
        tasks = [
            asyncio.create_task(_guarded(name, job, self.runtime()), name=f"adapter:{name}")
            for name, job in self._jobs
        ]
        yield
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _guarded(name: str, job: Job, runtime: Runtime) -> None:
    try:
        await job(runtime)
    except asyncio.CancelledError:
        raise
    except Exception:
        _log.exception("adapter.job_failed", job=name)


def discover() -> dict[str, Adapter]:
    """Every adapter published under :data:`GROUP`, by name; one that fails to load is logged
    and skipped (a broken vendor package must not stop the axis)."""
    found: dict[str, Adapter] = {}
    for point in entry_points(group=GROUP):
        try:
            adapter = point.load()
        except Exception:
            _log.exception("adapter.load_failed", entry_point=point.name, value=point.value)
            continue
        if not isinstance(adapter, Adapter):
            _log.error("adapter.not_an_adapter", entry_point=point.name, value=point.value)
            continue
        found[adapter.name] = adapter
    return found
