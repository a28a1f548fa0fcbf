"""``webhook``: the axis pushes each new document and status to an agency's HTTPS endpoint.

For systems that cannot poll. An admin registers the endpoint
(``axis adapter webhook add SYSTEM_ID URL``: a per-endpoint secret is generated and shown once);
the serving axis then POSTs every delivery for that system's codes to the URL, signed
(:mod:`adapters.webhook.signature`), and treats a 2xx answer as delivered. Failures are retried
with exponential backoff and jitter up to a limit, then dead-lettered
(:mod:`adapters.webhook.pusher`).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

from adapters.webhook.endpoints import EndpointError, load, register, remove
from adapters.webhook.pusher import RetryPolicy, push_all
from axis.config import AxisConfig, ConfigError
from axis.plugins import AdapterHost
from axis.runtime import Runtime


@dataclass
class WebhookAdapter:
    """The plugin object (entry point ``axis.adapters: webhook``)."""

    name: str = "webhook"
    description: str = "push documents and statuses to agencies' HTTPS endpoints (signed)"
    policy: RetryPolicy = field(default_factory=RetryPolicy)

    def install(self, host: AdapterHost) -> None:
        home = host.config.home
        policy = self.policy

        async def job(runtime: Runtime) -> None:
            await push_all(runtime, list(load(home).values()), policy)

        host.add_background("webhook", job)

    def add_commands(self, sub: Any) -> None:
        add = sub.add_parser("add", help="register (or replace) a system's push endpoint")
        add.add_argument("system_id")
        add.add_argument("url", help="https://... (plain http only on loopback)")
        add.add_argument("--concurrency", type=int, default=4, help="pushes in flight at once")
        add.set_defaults(handler=_add)
        listing = sub.add_parser("list", help="the registered endpoints (secrets not shown)")
        listing.set_defaults(handler=_list)
        drop = sub.add_parser("remove", help="stop pushing to a system")
        drop.add_argument("system_id")
        drop.set_defaults(handler=_remove)


def _home() -> AxisConfig:
    return AxisConfig.from_env()


def _add(args: argparse.Namespace) -> int:
    try:
        endpoint = register(_home().home, args.system_id, args.url, args.concurrency)
    except (EndpointError, ConfigError) as exc:
        print(exc)
        return 2
    print(f"{endpoint.system_id} -> {endpoint.url} (concurrency {endpoint.concurrency})")
    print(f"secret: {endpoint.secret}")
    print("the secret is shown once: give it to the receiving system to check X-Axis-Signature")
    return 0


def _list(args: argparse.Namespace) -> int:
    endpoints = load(_home().home)
    if not endpoints:
        print("no push endpoint registered")
    for endpoint in endpoints.values():
        print(f"{endpoint.system_id:<20} {endpoint.url}  concurrency {endpoint.concurrency}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    if remove(_home().home, args.system_id):
        print(f"{args.system_id}: no longer pushed")
        return 0
    print(f"webhook.not_found: {args.system_id} has no push endpoint")
    return 1


ADAPTER = WebhookAdapter()
