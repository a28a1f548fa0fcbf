"""The floor of ``axis bench``: the axis's whole HTTP exchange (send, long-poll the inbox, fetch,
acknowledge) against a server that keeps documents in memory and does nothing else.

The ceiling (:mod:`axis.bench.ceiling`) bounds one request, the send; this bounds the whole
exchange a document makes, with the same load generator on the same machine. Its CPU per
document is what HTTP alone costs here, before the axis checks, signs off, stores or audits
anything: the part of the aims' budget that no work on the axis can win back. Run as
``python -m axis.bench.floor``.
"""

from __future__ import annotations

import argparse
import asyncio
import binascii
import contextlib
import json
from dataclasses import dataclass, field
from itertools import count

from aiohttp import BasicAuth, web


@dataclass
class _Box:
    """One system's open documents by cursor, and the long polls waiting for the next one."""

    open: dict[int, str] = field(default_factory=dict)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


def floor_app(routes_to: dict[str, str]) -> web.Application:
    """The in-memory server; ``routes_to`` names, for each sending system, the system that
    receives its documents (the bench's workload sends each agency's letters to the next)."""
    boxes: dict[str, _Box] = {}
    bodies: dict[str, bytes] = {}
    numbers = count(1)

    def system(request: web.Request) -> str:
        try:
            login: str = BasicAuth.decode(request.headers.get("Authorization", "")).login
            return login
        except (ValueError, binascii.Error) as exc:
            raise web.HTTPUnauthorized() from exc

    def box(name: str) -> _Box:
        return boxes.setdefault(name, _Box())

    def page(found: _Box, after: int, limit: int) -> list[dict[str, str]]:
        items = [(n, m) for n, m in found.open.items() if n > after][:limit]
        return [{"message_id": m, "cursor": str(n), "kind": "edoc"} for n, m in items]

    async def send(request: web.Request) -> web.Response:
        data = await request.read()
        number = next(numbers)
        message_id = f"floor-{number:09d}"
        bodies[message_id] = data
        recipient = box(routes_to[system(request)])
        recipient.open[number] = message_id
        recipient.arrived.set()
        recipient.arrived = asyncio.Event()
        return web.json_response({"message_id": message_id, "status": "accepted"}, status=202)

    async def inbox(request: web.Request) -> web.Response:
        mine = box(system(request))
        after = int(request.query.get("after") or 0)
        limit = int(request.query.get("limit", "100"))
        items = page(mine, after, limit)
        if not items:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(mine.arrived.wait(), float(request.query.get("wait", 0)))
            items = page(mine, after, limit)
        cursor = items[-1]["cursor"] if items else request.query.get("after")
        return web.json_response({"items": items, "cursor": cursor, "more": False})

    async def fetch(request: web.Request) -> web.Response:
        system(request)
        return web.Response(body=bodies[request.match_info["id"]], content_type="application/xml")

    async def ack(request: web.Request) -> web.Response:
        await request.read()
        message_id = request.match_info["id"]
        mine = box(system(request))
        number = int(message_id.rsplit("-", 1)[1])
        mine.open.pop(number, None)
        return web.json_response({"message_id": message_id, "outcome": "done"})

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/messages", send)
    app.router.add_get("/v1/inbox", inbox)
    app.router.add_get("/v1/messages/{id}", fetch)
    app.router.add_post("/v1/messages/{id}/ack", ack)
    app.router.add_get("/v1/health", health)
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--routes", required=True, help="JSON: sending system -> receiving system")
    args = parser.parse_args()
    web.run_app(
        floor_app(json.loads(args.routes)),
        host="127.0.0.1",
        port=args.port,
        access_log=None,
        print=None,
    )
