"""Authentication of connected systems: secrets, client certificates, principals, rate limit.

Every API call goes through :func:`authenticate_request`, which yields the :class:`Principal`
the HTTP layer authorises with (:meth:`Principal.acts_for`).
"""

from __future__ import annotations

from axis.auth.authenticator import Authenticator, parse_basic
from axis.auth.principal import Principal
from axis.auth.ratelimit import FailureLimiter
from axis.auth.request import authenticate_request, peer_certificate
from axis.auth.secrets import generate_secret, hash_secret, verify_secret
from axis.auth.tls import certificate_der, certificate_sha256, server_ssl_context

__all__ = [
    "Authenticator",
    "FailureLimiter",
    "Principal",
    "authenticate_request",
    "certificate_der",
    "certificate_sha256",
    "generate_secret",
    "hash_secret",
    "parse_basic",
    "peer_certificate",
    "server_ssl_context",
    "verify_secret",
]
