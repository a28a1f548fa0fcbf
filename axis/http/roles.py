"""Role checks for the API's admin and audit endpoints: one wording of the 403 everywhere.

Reads of the registry, audit log and operations are for ``admin`` and ``auditor``; writes are
for ``admin`` only, so an auditor can look at everything and change nothing.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from axis.auth.principal import Principal
from axis.errors import AxisError
from axis.http.keys import PRINCIPAL

READERS: Final = ("admin", "auditor")
"""Who may read the admin and audit views."""
WRITERS: Final = ("admin",)
"""Who may change the registry, systems, signers and deliveries."""


def require_role(request: web.Request, roles: tuple[str, ...]) -> Principal:
    """The request's principal if its role is one of ``roles``; 403 ``auth.forbidden`` if not."""
    principal = request[PRINCIPAL]
    if principal.role not in roles:
        raise AxisError(
            "auth.forbidden",
            f"this needs the role {' or '.join(roles)}; system {principal.system_id!r} is "
            f"{principal.role}",
            None,
            status=403,
        )
    return principal
