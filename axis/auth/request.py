"""Authenticating an aiohttp request: the client certificate when TLS carries one, else Basic.

The certificate decides when present: a connection that proved a key is not re-judged by a
header. The address used for the failure rate limit is ``request.remote`` (the peer; a broker
behind a reverse proxy must have aiohttp's forwarded-address handling set up, or every client
shares the proxy's address).
"""

from __future__ import annotations

import ssl

from aiohttp import hdrs, web

from axis.auth.authenticator import Authenticator
from axis.auth.principal import Principal

UNKNOWN_ADDRESS = "unknown"


def peer_certificate(request: web.Request) -> bytes | None:
    """The DER of the client certificate the TLS connection verified, None without one."""
    transport = request.transport
    if transport is None:
        return None
    ssl_object = transport.get_extra_info("ssl_object")
    if not isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return der or None


async def authenticate_request(auth: Authenticator, request: web.Request) -> Principal:
    """The request's principal, or the :class:`axis.errors.AuthError` to answer with."""
    address = request.remote or UNKNOWN_ADDRESS
    der = peer_certificate(request)
    if der is not None:
        return await auth.authenticate_certificate(der, address)
    return await auth.authenticate_basic(request.headers.get(hdrs.AUTHORIZATION), address)
