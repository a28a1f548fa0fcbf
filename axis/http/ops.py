"""Operations: ``/v1/health`` for load balancers, ``/metrics`` for Prometheus, the OpenAPI spec,
and the admin's delivery tools (dead letters, retry, cancel, drain)."""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

from aiohttp import web

from axis.admin import DeliveryAction, act_on_delivery, set_drain
from axis.clock import iso
from axis.http.keys import PRINCIPAL, RUNTIME
from axis.http.openapi import spec
from axis.http.problems import client_address, json_response, query_int
from axis.http.roles import READERS, WRITERS, require_role
from axis.http.views import delivery_view

routes = web.RouteTableDef()

HEALTH_TIMEOUT = 2.0
HEALTH_CACHE_SECONDS = 1.0
_HEALTH: web.AppKey[dict[str, Any]] = web.AppKey("health_cache", dict)


@routes.get("/v1/health")
async def health(request: web.Request) -> web.Response:
    """Store and registry answer within a timeout; cached for a second so a load balancer's
    polling never becomes load."""
    cache = request.app[_HEALTH]
    now = time.monotonic()
    if cache.get("until", 0.0) > now:
        return json_response(cache["body"], status=cache["status"])
    runtime = request.app[RUNTIME]
    checks: dict[str, Any] = {}
    ok = True
    try:
        await asyncio.wait_for(runtime.store.ping(), HEALTH_TIMEOUT)
        checks["store"] = "ok"
    except Exception as exc:
        ok = False
        checks["store"] = f"failed: {type(exc).__name__}"
    checks["registry_version"] = runtime.registry.version
    anchors = len(runtime.trust.anchors)
    checks["trust_anchors"] = anchors
    if anchors == 0:
        ok = False
    if runtime.crl is not None:  # each CRL held; a stale one is reported, not a failure
        states = await asyncio.to_thread(runtime.crl.states)
        checks["crls"] = [state.as_dict() for state in states]
    checks["event_loop_lag_seconds"] = round(runtime.metrics.last_loop_lag, 4)
    body = {"status": "ok" if ok else "failing", "time": iso(runtime.now()), "checks": checks}
    status = 200 if ok else 503
    cache.update(until=now + HEALTH_CACHE_SECONDS, body=body, status=status)
    return json_response(body, status=status)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    require_role(request, READERS)
    body = request.app[RUNTIME].metrics.render()
    return web.Response(body=body, content_type="text/plain", charset="utf-8")


@routes.get("/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return json_response(spec())


@routes.get("/v1/deliveries/dead")
async def dead_letters(request: web.Request) -> web.Response:
    require_role(request, READERS)
    page = await request.app[RUNTIME].store.dead_letters(
        after=request.query.get("after") or None, limit=query_int(request, "limit", 100, 1, 1000)
    )
    return json_response({"items": [delivery_view(d) for d in page.items], "cursor": page.cursor})


@routes.post("/v1/deliveries/{message_id}/{code}/{action:retry|cancel}")
async def delivery_action(request: web.Request) -> web.Response:
    require_role(request, WRITERS)
    runtime = request.app[RUNTIME]
    message_id, code = request.match_info["message_id"], request.match_info["code"].upper()
    action = cast(DeliveryAction, request.match_info["action"])
    changed = await act_on_delivery(
        runtime.store,
        action,
        message_id,
        code,
        runtime.now(),
        system_id=request[PRINCIPAL].system_id,
        address=client_address(request),
    )
    return json_response(delivery_view(changed))


@routes.put("/v1/drains/{code}")
@routes.delete("/v1/drains/{code}")
async def drain(request: web.Request) -> web.Response:
    require_role(request, WRITERS)
    runtime = request.app[RUNTIME]
    code = request.match_info["code"].upper()
    on = request.method == "PUT"
    await set_drain(
        runtime.store,
        code,
        on,
        runtime.now(),
        system_id=request[PRINCIPAL].system_id,
        address=client_address(request),
    )
    return json_response({"code": code, "drain": on})


def install(app: web.Application) -> None:
    """The routes, and the health cache the app owns."""
    app[_HEALTH] = {}
    app.add_routes(routes)
