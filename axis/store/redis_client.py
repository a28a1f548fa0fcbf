"""Connecting the Redis store: one server (``redis://``) or a Redis Cluster (``?cluster=true``).

A store URL is redis-py's (``redis://[[user]:password@]HOST:PORT/DB``, ``rediss://`` for TLS,
query parameters such as ``socket_timeout=...`` reach the client), plus one parameter of ours:

* ``cluster=true`` (or ``yes``/``1``): the server is a Redis Cluster. The host part may list
  several seed nodes, ``redis://HOST1:PORT1,HOST2:PORT2/0?cluster=true``: the client asks the
  first that answers for the cluster's map, so the store starts while one seed is down. A
  cluster has only database 0.

Once connected, :func:`check_layout` and :func:`warn_unless_durable` check what the store
relies on: its key layout, and an fsynced append-only file on every master.

The store sees one :data:`Client` either way: :class:`redis.asyncio.cluster.RedisCluster` sends
each command to the master of its key's slot and follows the cluster when slots move or a
replica is promoted, so the store's code is the same for both.
"""

from __future__ import annotations

from typing import Any, Final, TypeAlias
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import structlog
from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from axis.store import redis_keys as k
from axis.store.errors import StoreError

Client: TypeAlias = Redis | RedisCluster
"""What the store's modules are handed: one server or a cluster, the same commands."""

_log = structlog.get_logger()
_TRUE: Final = frozenset({"true", "yes", "1", "on"})
_FALSE: Final = frozenset({"false", "no", "0", "off"})


def is_cluster(url: str) -> bool:
    """Whether the store URL names a Redis Cluster (``cluster=true`` in its query)."""
    return _split(url)[1]


def connect(url: str, *, decode: bool) -> Client:
    """A client (a pool per server) for ``url``. No timeout on commands: the pub/sub listener
    blocks on its connection by design; connecting gives up after 10 s."""
    base, cluster, seeds = _split(url)
    common: dict[str, Any] = {
        "decode_responses": decode,
        "socket_connect_timeout": 10.0,
        "socket_timeout": None,  # the cluster client's default is 5 s: it would cut the listener
        "socket_keepalive": True,
        # a pooled connection broken by a Redis restart is re-made, not failed to the caller;
        # re-sending a commit is safe: its epoch check re-runs it on the new state
        "retry": Retry(ExponentialBackoff(cap=1.0), 3),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
        "health_check_interval": 5,
    }
    if not cluster:
        return Redis.from_url(base, **common)
    try:
        return RedisCluster.from_url(
            base, startup_nodes=[ClusterNode(host, port) for host, port in seeds], **common
        )
    except (ValueError, TypeError) as exc:  # redis-py's own complaint about the URL
        raise StoreError("store.bad_url", f"a Redis Cluster URL: {exc}", safe(url)) from exc


def _split(url: str) -> tuple[str, bool, list[tuple[str, int]]]:
    """The URL for redis-py (without ``cluster=`` and with only the first seed), whether it is
    a cluster, and the other seed nodes."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    flags = [value.lower() for name, value in query if name == "cluster"]
    rest = [(name, value) for name, value in query if name != "cluster"]
    if any(flag not in _TRUE | _FALSE for flag in flags):
        raise StoreError("store.bad_url", "cluster= is true or false", safe(url))
    cluster = bool(flags) and flags[-1] in _TRUE
    userinfo, at, hosts = parts.netloc.rpartition("@")
    first, *others = hosts.split(",")
    if others and not cluster:
        raise StoreError(
            "store.bad_url", "several hosts name a cluster: add ?cluster=true", safe(url)
        )
    seeds: list[tuple[str, int]] = []
    for seed in others:
        node = urlsplit(f"//{seed}")
        if node.hostname is None or node.port is None:
            raise StoreError("store.bad_url", f"a seed node is HOST:PORT, not {seed!r}", safe(url))
        seeds.append((node.hostname, node.port))
    base = urlunsplit(parts._replace(netloc=f"{userinfo}{at}{first}", query=urlencode(rest)))
    return base, cluster, seeds


async def primaries_config(client: Client, pattern: str) -> list[tuple[str, dict[str, str]]]:
    """``CONFIG GET pattern`` of every master, by its ``host:port`` (one for a single server)."""
    if isinstance(client, RedisCluster):
        found = []
        for node in client.get_primaries():
            config = await client.config_get(pattern, target_nodes=node)
            found.append((node.name, {k.text(name): k.text(v) for name, v in config.items()}))
        return found
    config = await client.config_get(pattern)
    return [("primary", {k.text(name): k.text(value) for name, value in config.items()})]


async def warn_unless_durable(client: Client) -> None:
    """Say so when a master keeps no append-only file or does not fsync every write (a crash
    would lose acknowledged documents)."""
    try:
        configs = await primaries_config(client, "append*")
    except ResponseError:  # CONFIG is renamed or refused on many managed services
        return
    for node, settings in configs:
        if settings.get("appendonly") != "yes" or settings.get("appendfsync") != "always":
            _log.warning(
                "store.redis_durability",
                node=node,
                appendonly=settings.get("appendonly"),
                appendfsync=settings.get("appendfsync"),
                advice="appendonly yes + appendfsync always keeps every acknowledged write",
            )
            return


async def check_layout(client: Client) -> None:
    """Refuse a store written with another key layout: it would read as empty."""
    epoch, layout = await client.hmget(k.HEAD, ["epoch", "layout"])
    if epoch is not None and (layout is None or k.text(layout) != k.LAYOUT):
        raise StoreError(
            "store.layout",
            f"this Redis holds an axis store of key layout {k.text(layout or '1')}; this axis "
            f"reads layout {k.LAYOUT} (payload shards) and cannot convert it in place: "
            "point AXIS_STORE at an empty database, or run the axis that wrote it",
        )


def safe(url: str) -> str:
    """The URL without its password, for logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))
