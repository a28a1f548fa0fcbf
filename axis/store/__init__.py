"""The broker's store: one :class:`Store` protocol, records shared by every backend.

``sqlite`` (embedded, default) lives in :mod:`axis.store.sqlite`; :func:`open_store_url` picks
the backend from a store URL.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from axis.store.errors import CursorError, StoreError

if TYPE_CHECKING:
    from axis.store.protocol import Store

__all__ = ["CursorError", "StoreError", "open_store_url"]


def open_store_url(url: str, *, legacy_registry: Path | None = None) -> Store:
    """The store a URL names, not yet opened (the caller awaits ``open()`` on its loop).

    ``sqlite:///abs/path.sqlite3`` is an embedded SQLite file at that absolute path;
    ``redis://HOST:PORT/DB`` (or ``rediss://``) a Redis server shared by several axis nodes;
    ``redis://HOST:PORT[,HOST:PORT...]/0?cluster=true`` a Redis Cluster, named by one or more
    of its nodes (:mod:`axis.store.redis_client`).
    """
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        if parts.netloc or not parts.path.startswith("/") or parts.query or parts.fragment:
            raise StoreError(
                "store.bad_url",
                "a SQLite store URL is sqlite:/// followed by an absolute path",
                url,
            )
        from axis.store.sqlite import SqliteStore  # deferred: only the chosen backend loads

        return SqliteStore(Path(unquote(parts.path)), legacy_registry=legacy_registry)
    if parts.scheme in ("redis", "rediss"):
        from axis.store.redis_store import RedisStore  # deferred: only the chosen backend loads

        return RedisStore(url)
    raise StoreError("store.bad_url", f"unknown store scheme {parts.scheme!r}", url)
