"""The ceiling of ``axis bench``: a bare aiohttp server that only reads the body and writes
it to the same store (one recipient, no check, no signature, no routing, no auth).

Whatever the axis does beyond this costs throughput; the benchmark reports the axis's accepted
documents per second as a share of this server's. Run as ``python -m axis.bench.ceiling``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
from pathlib import Path

from aiohttp import web

from axis.config import AxisConfig
from axis.resources import open_store
from axis.store.records import NewMessage, Recipient, new_message_id


async def main(home: str, port: int, store_url: str) -> None:
    config = AxisConfig(home=Path(home), store=store_url)
    async with open_store(config) as store:

        async def accept(request: web.Request) -> web.Response:
            data = await request.read()
            now = dt.datetime.now(dt.UTC)
            message_id = new_message_id(now)
            outcome = await store.accept(
                NewMessage(
                    message_id=message_id,
                    kind="edoc",
                    idempotency_key=hashlib.sha256(data).hexdigest(),
                    sender_system="ceiling",
                    sender_code="000.00.00.G22",
                    document_id=message_id,
                    business_type=0,
                    received_at=now,
                    payload=data,
                    recipients=(Recipient("000.00.00.G09", "000.00.00.G09"),),
                )
            )
            return web.json_response({"message_id": outcome.message_id}, status=202)

        async def health(request: web.Request) -> web.Response:
            return web.json_response({"status": "ok"})

        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/messages", accept)
        app.router.add_get("/v1/health", health)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--store", default="", help="redis://… (default: sqlite under --home)")
    args = parser.parse_args()
    asyncio.run(main(args.home, args.port, args.store))
