"""The aiohttp application: middlewares, routes, and the runtime as a cleanup context.

``create_app(config)`` is the app factory ``axis serve`` runs; the runtime (store, registry,
workers, authenticator, background tasks) is built when the app starts and closed when it stops,
after in-flight requests finished (aiohttp's graceful shutdown).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Final

from aiohttp import web

from axis.auth.request import authenticate_request
from axis.clock import Clock
from axis.config import AxisConfig
from axis.console import install as install_console
from axis.http import audit_api, messages, ops, registry_api, signers
from axis.http.keys import PRINCIPAL, RUNTIME
from axis.http.problems import Handler, problem_middleware
from axis.plugins import Adapter, AdapterHost, discover
from axis.runtime import Runtime, open_runtime
from axis.send import Checker

PUBLIC_PATHS: Final = frozenset({"/v1/health", "/v1/openapi.json"})
"""The only paths answered without credentials: a load balancer's probe and the API's spec."""


OWN_AUTH: Final = web.AppKey("own_auth_prefixes", tuple)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every other call is authenticated (client certificate, else HTTP Basic), except under
    the prefixes whose adapter authenticates its callers itself."""
    path = request.path
    if path not in PUBLIC_PATHS and not path.startswith(request.app[OWN_AUTH]):
        runtime = request.app[RUNTIME]
        request[PRINCIPAL] = await authenticate_request(runtime.auth, request)
    return await handler(request)


def create_app(
    config: AxisConfig,
    *,
    clock: Clock | None = None,
    checker: Checker | None = None,
    runtime: Runtime | None = None,
    background: bool = True,
    adapters: Mapping[str, Adapter] | None = None,
) -> web.Application:
    """The axis's HTTP app. ``runtime`` serves an already-open runtime (its owner closes it);
    otherwise the app opens one on start-up and closes it on clean-up. ``adapters`` (default:
    every one published under the ``axis.adapters`` entry points) add their routes and jobs."""
    app = web.Application(
        middlewares=[problem_middleware, auth_middleware],
        client_max_size=config.max_document_bytes + 1,
    )

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        if runtime is not None:
            app[RUNTIME] = runtime
            yield
            return
        async with open_runtime(
            config, clock=clock, checker=checker, background=background
        ) as opened:
            app[RUNTIME] = opened
            yield

    async def stop_long_polls(app: web.Application) -> None:
        app[RUNTIME].deliveries.stop_waiting()

    app.cleanup_ctx.append(lifetime)
    app.on_shutdown.append(stop_long_polls)
    app.add_routes(messages.routes)
    app.add_routes(audit_api.routes)
    app.add_routes(registry_api.routes)
    app.add_routes(signers.routes)
    ops.install(app)
    host = AdapterHost(app, config, lambda: app[RUNTIME])
    for adapter in (discover() if adapters is None else adapters).values():
        adapter.install(host)
    console_prefix = install_console(app, config)  # pages that check their own sessions
    app[OWN_AUTH] = (*host.own_auth_prefixes, console_prefix)
    app.cleanup_ctx.append(host.background)  # after the runtime's: jobs start once it is up
    return app


__all__ = ["create_app"]
