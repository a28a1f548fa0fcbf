"""Connected systems (read-only: a secret is made on the command line and shown once, never on
a web page) and the agencies' signing certificates: list, bind, remove (:mod:`axis.signers`,
the same calls as ``/v1/signers`` and ``axis signers``, audited ``signer.bound`` /
``signer.removed`` with the admin and the address)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote

from aiohttp import web

from axis import signers
from axis.console.web import (
    PREFIX,
    address_of,
    form_of,
    form_text,
    render,
    runtime_of,
    see_other,
    viewer_of,
)
from axis.errors import AxisError

routes = web.RouteTableDef()

MAX_CERTIFICATE_BYTES: Final = 64 * 1024


@routes.get("/systems")
async def systems(request: web.Request) -> web.Response:
    runtime = runtime_of(request)
    return render(
        request,
        "systems.html",
        {
            "systems": await runtime.store.systems(),
            "bindings": await signers.list_bindings(runtime.store),
            "done": request.query.get("done", ""),
            "done_key": request.query.get("key", ""),
        },
    )


def _certificate(form: Mapping[str, Any]) -> bytes | None:
    """The certificate a form carries: an uploaded file, else pasted PEM; None without one."""
    upload = form.get("certificate")
    if isinstance(upload, web.FileField):
        data = upload.file.read(MAX_CERTIFICATE_BYTES + 1)
        if data:
            if len(data) > MAX_CERTIFICATE_BYTES:
                raise AxisError(
                    "signer.bad_certificate", "a certificate is a few kB", "certificate"
                )
            return bytes(data)
    pasted = form_text(form, "pem")
    return pasted.encode("utf-8") if pasted else None


@routes.post("/signers")
async def bind(request: web.Request) -> web.Response:
    runtime = runtime_of(request)
    form = await form_of(request)
    codes = signers.parse_codes(form_text(form, "codes"))
    exact = form_text(form, "exact") == "1"
    cert = _certificate(form)
    if cert is not None:
        binding = signers.binding_for_certificate(
            signers.load_certificate(cert), codes, exact=exact
        )
    elif form_text(form, "issuer") and form_text(form, "serial"):
        binding = signers.binding_for_issuer_serial(
            form_text(form, "issuer"), form_text(form, "serial"), codes, exact=exact
        )
    else:
        raise AxisError(
            "signer.bad_certificate",
            "give the certificate (PEM or DER), or its issuer and serial number",
            "certificate",
        )
    stored, _replaced = await signers.bind(
        runtime.store,
        binding,
        at=runtime.now(),
        system_id=viewer_of(request).record.system_id,
        address=address_of(request),
    )
    runtime.signers.invalidate()
    return see_other(f"{PREFIX}systems?done=bound&key={quote(stored.key, safe='')}#signers")


@routes.post("/signers/remove")
async def unbind(request: web.Request) -> web.Response:
    runtime = runtime_of(request)
    form = await form_of(request)
    key = signers.check_key(form_text(form, "key"))
    await signers.unbind(
        runtime.store,
        key,
        at=runtime.now(),
        system_id=viewer_of(request).record.system_id,
        address=address_of(request),
    )
    runtime.signers.invalidate()
    return see_other(f"{PREFIX}systems?done=removed&key={quote(key, safe='')}#signers")
