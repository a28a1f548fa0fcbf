"""``/v1/signers``: the signer bindings over HTTP (the same operations as ``axis signers``).

* ``GET /v1/signers`` -- every binding (admin, auditor).
* ``POST /v1/signers`` -- bind (admin): a JSON object with ``codes`` (a list, or ``"A,B"``) and
  either ``certificate`` (PEM; ``"by": "issuer-serial"`` binds it by issuer and serial rather
  than by SHA-256) or ``issuer`` and ``serial``; ``exact`` and ``replace`` are booleans. 201 with
  the binding; 200 when it replaced one; 409 ``signer.exists`` when the key is bound and
  ``replace`` is not true.
* ``DELETE /v1/signers/{key}`` -- remove (admin); 404 ``signer.not_found``.

Agency systems get 403 on all of them, auditors on the writes. A change made here applies at once
on this node and within :data:`axis.signer_check.DEFAULT_TTL` seconds on the others.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from axis.errors import AxisError
from axis.http.bodies import flag_field, parse_json_object, text_field
from axis.http.keys import RUNTIME
from axis.http.messages import read_limited
from axis.http.problems import client_address, json_response
from axis.http.roles import READERS, WRITERS, require_role
from axis.signers import (
    BY_CHOICES,
    SignerBinding,
    bind,
    binding_for_certificate,
    binding_for_issuer_serial,
    check_key,
    list_bindings,
    load_certificate,
    parse_codes,
    unbind,
)

routes = web.RouteTableDef()

MAX_BODY: Final = 64 * 1024
"""A certificate is a few kilobytes; nothing larger is read."""


def _invalid(message: str, location: str) -> AxisError:
    return AxisError("body.invalid", message, location, status=400)


async def _body(request: web.Request) -> dict[str, Any]:
    return parse_json_object(await read_limited(request, MAX_BODY))


def _binding(body: dict[str, Any]) -> SignerBinding:
    """The binding a POST body asks for (every field checked; 400 with its location)."""
    codes = body.get("codes")
    if not isinstance(codes, str | list):
        raise _invalid("codes must be a list of agency codes (or 'A,B')", "codes")
    parsed = parse_codes(codes)
    exact = flag_field(body, "exact")
    by = body.get("by", "sha256")
    if by not in BY_CHOICES:
        raise _invalid(f"by must be one of {', '.join(BY_CHOICES)}", "by")
    certificate = text_field(body, "certificate")
    issuer, serial = text_field(body, "issuer"), text_field(body, "serial")
    if certificate is not None:
        if issuer is not None or serial is not None:
            raise _invalid("give a certificate, or an issuer and a serial, not both", "body")
        return binding_for_certificate(load_certificate(certificate), parsed, by=by, exact=exact)
    if issuer is None or serial is None:
        raise _invalid("give a certificate (PEM), or an issuer and a serial", "body")
    return binding_for_issuer_serial(issuer, serial, parsed, exact=exact)


@routes.get("/v1/signers")
async def signers(request: web.Request) -> web.Response:
    require_role(request, READERS)
    bindings = await list_bindings(request.app[RUNTIME].store)
    return json_response({"items": [b.to_dict() for b in bindings]})


@routes.post("/v1/signers")
async def add_signer(request: web.Request) -> web.Response:
    principal = require_role(request, WRITERS)
    runtime = request.app[RUNTIME]
    body = await _body(request)
    binding = _binding(body)
    stored, replaced = await bind(
        runtime.store,
        binding,
        at=runtime.now(),
        system_id=principal.system_id,
        address=client_address(request),
        replace_existing=flag_field(body, "replace"),
    )
    runtime.signers.invalidate()
    return json_response(stored.to_dict(), status=200 if replaced else 201)


@routes.delete("/v1/signers/{key}")
async def remove_signer(request: web.Request) -> web.Response:
    principal = require_role(request, WRITERS)
    runtime = request.app[RUNTIME]
    removed = await unbind(
        runtime.store,
        check_key(request.match_info["key"]),
        at=runtime.now(),
        system_id=principal.system_id,
        address=client_address(request),
    )
    runtime.signers.invalidate()
    return json_response(removed.to_dict())
