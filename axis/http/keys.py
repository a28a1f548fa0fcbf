"""Typed keys of what the app and each request carry (aiohttp ``AppKey``s, no globals)."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from axis.auth.principal import Principal
from axis.runtime import Runtime

RUNTIME: Final = web.AppKey("runtime", Runtime)
PRINCIPAL: Final = web.RequestKey("principal", Principal)
"""The request's authenticated system (set by the auth middleware): ``request[PRINCIPAL]``."""

__all__ = ["PRINCIPAL", "RUNTIME", "Principal"]
