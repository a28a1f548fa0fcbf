"""``vdxp``: the VDXP API of VNPT's SDKVXP 2.0.x, served under ``/vdxp/`` on the axis's port.

Agency document systems built on the SDK connect unchanged: same paths (``POST
/vdxp/sendEdoc`` ...), same ``XroadVnpt-*`` HMAC signing, same envelope. It is a front onto the
same intake, store and deliveries as ``/v1`` (a document sent through one API is received
through the other). See ``adapters/vdxp/README.md`` for the design: key storage, error table,
the trailing CRLF, ids. Modules: ``wire`` (shapes), ``auth`` (signature check), ``documents``
and ``agencies`` (operations), ``routes`` (dispatch), ``commands`` (``axis adapter vdxp``).
"""

from __future__ import annotations

from typing import Any

from adapters.vdxp.auth import VdxpAuthenticator
from adapters.vdxp.commands import add_commands, secrets_of
from adapters.vdxp.routes import PREFIX, handler
from axis.plugins import AdapterHost


class VdxpAdapter:
    """The adapter object published under the ``axis.adapters`` entry point ``vdxp``."""

    name = "vdxp"
    description = "the VDXP API (VNPT SDKVXP 2.0.x) under /vdxp/, HMAC-signed requests"

    def install(self, host: AdapterHost) -> None:
        """One route for every operation; its callers authenticate by their HMAC headers."""
        host.authenticates(PREFIX)
        authenticator = VdxpAuthenticator(secrets_of(host.config))
        host.app.router.add_route("*", PREFIX + "{operation}", handler(authenticator, host.runtime))

    def add_commands(self, sub: Any) -> None:
        add_commands(sub)


ADAPTER = VdxpAdapter()

__all__ = ["ADAPTER", "VdxpAdapter"]
