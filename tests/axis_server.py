"""A real axis on loopback for end-to-end tests: the runtime and the aiohttp app in a thread.

The server runs on its own event loop in a background thread (as ``axis serve`` would in its own
process), with the real store file, the real intake worker processes and real HTTP; the tests
speak to it with :class:`AxisHttp`, a plain ``http.client`` caller, and reach into its runtime
only to set things up (systems) through :meth:`RunningAxis.call`.
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import threading
import urllib.parse
from collections.abc import Coroutine, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from axis.auth.secrets import generate_secret, hash_secret
from axis.clock import Clock
from axis.config import AxisConfig
from axis.http.app import create_app
from axis.plugins import Adapter
from axis.runtime import Runtime, open_runtime
from axis.store.records import AuditDraft, Role, SystemRecord

T = TypeVar("T")


class RunningAxis:
    """``with RunningAxis(config, clock) as axis:`` serves until the block ends."""

    def __init__(
        self,
        config: AxisConfig,
        clock: Clock | None = None,
        *,
        adapters: Mapping[str, Adapter] | None = None,
    ) -> None:
        self.config = config
        self.adapters = adapters
        self.clock = clock or Clock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._stop: asyncio.Event | None = None
        self._done: Future[None] | None = None
        self.runtime: Runtime | None = None
        self.port = 0

    def __enter__(self) -> RunningAxis:
        self._thread.start()
        ready: Future[None] = Future()
        self._done = asyncio.run_coroutine_threadsafe(self._serve(ready), self._loop)
        ready.result(timeout=120)
        return self

    async def _serve(self, ready: Future[None]) -> None:
        try:
            async with open_runtime(self.config, clock=self.clock) as runtime:
                self.runtime = runtime
                app = create_app(self.config, runtime=runtime, adapters=self.adapters)
                runner = web.AppRunner(app)
                await runner.setup()
                site = web.TCPSite(runner, "127.0.0.1", 0)
                await site.start()
                self.port = runner.addresses[0][1]
                self._stop = asyncio.Event()
                ready.set_result(None)
                await self._stop.wait()
                await runner.cleanup()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            raise

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._done is not None:
            self._done.result(timeout=60)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the server's loop (set-up and inspection only)."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=60)

    def add_system(self, system_id: str, codes: tuple[str, ...], role: Role = "agency") -> AxisHttp:
        """A connected system with a fresh secret, and a client logged in as it."""
        assert self.runtime is not None
        secret = generate_secret()
        record = SystemRecord(
            system_id=system_id,
            role=role,
            codes=codes,
            secret_hash=hash_secret(secret),
            cert_sha256=None,
            created_at=self.clock.now(),
        )
        draft = AuditDraft(kind="system.added", at=self.clock.now(), system_id=system_id)
        self.call(self.runtime.store.put_system(record, draft))
        return AxisHttp(self.port, system_id, secret)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


class AxisHttp:
    """A system's plain HTTP calls to the axis (Basic auth, JSON or edXML bodies)."""

    def __init__(self, port: int, system_id: str | None, secret: str | None) -> None:
        self.port = port
        self.system_id = system_id
        self._auth_secret = secret
        self._auth = (
            None
            if system_id is None
            else "Basic " + base64.b64encode(f"{system_id}:{secret}".encode()).decode()
        )

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        query: dict[str, Any] | None = None,
        content_type: str = "application/xml",
        timeout: float = 60,
    ) -> Reply:
        if query:
            path += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {"Content-Type": content_type}
        if self._auth:
            headers["Authorization"] = self._auth
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return Reply(response.status, dict(response.getheaders()), response.read())
        finally:
            connection.close()

    def send(self, data: bytes, *, partial: bool = False) -> Reply:
        return self.request(
            "POST", "/v1/messages", data, query={"partial": "allow"} if partial else None
        )

    def inbox(self, **query: Any) -> Reply:
        return self.request("GET", "/v1/inbox", query=query)

    def fetch(self, message_id: str) -> Reply:
        return self.request("GET", f"/v1/messages/{message_id}")

    def ack(self, message_id: str, outcome: str = "done", reason: str | None = None) -> Reply:
        body = json.dumps({"outcome": outcome, "reason": reason}).encode()
        return self.request(
            "POST", f"/v1/messages/{message_id}/ack", body, content_type="application/json"
        )

    def sent(self, **query: Any) -> Reply:
        return self.request("GET", "/v1/sent", query=query)

    def trace(self, message_id: str) -> Reply:
        return self.request("GET", f"/v1/messages/{message_id}/trace")
