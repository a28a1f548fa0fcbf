"""The OpenAPI description of ``/v1/signers`` (:mod:`axis.http.signers`), as data.

Merged into :func:`axis.http.openapi.spec`, whose test holds every route described and every
description routed.
"""

from __future__ import annotations

from typing import Any

from axis.http.spec_parts import NSTR, STR, errors, json_of, obj, param


def paths() -> dict[str, Any]:
    """The signer bindings' paths: reads for auditors and admins, writes for admins."""
    return {
        "/v1/signers": {
            "get": {
                "summary": "Signer bindings: certificates and the codes they sign for "
                "(admin, auditor)",
                "responses": {
                    "200": {"description": "every binding", **json_of("SignerBindings")},
                    **errors(401, 403, 429),
                },
            },
            "post": {
                "summary": "Bind a certificate (PEM), or an issuer and serial, to agency "
                "codes (admin)",
                "requestBody": {"required": True, **json_of("SignerBindingRequest")},
                "responses": {
                    "201": {"description": "bound", **json_of("SignerBinding")},
                    "200": {"description": "replaced", **json_of("SignerBinding")},
                    **errors(400, 401, 403, 409, 413, 429),
                },
            },
        },
        "/v1/signers/{key}": {
            "delete": {
                "summary": "Remove a signer binding (admin)",
                "parameters": [
                    param(
                        "key",
                        "path",
                        {"type": "string", "minLength": 1},
                        "the binding's key: a certificate's SHA-256, or is:<digest>:<serial>",
                        True,
                    )
                ],
                "responses": {
                    "200": {"description": "removed", **json_of("SignerBinding")},
                    **errors(400, 401, 403, 404, 429),
                },
            }
        },
    }


def schemas() -> dict[str, Any]:
    """A binding, the list of bindings and the request that makes one."""
    signer = obj(
        {
            "key": STR,
            "by": {"type": "string", "enum": ["sha256", "issuer-serial"]},
            "codes": {"type": "array", "items": STR},
            "exact": {"type": "boolean"},
            "sha256": NSTR,
            "issuer": NSTR,
            "serial": NSTR,
            "subject": NSTR,
            "not_after": NSTR,
            "bound_at": NSTR,
            "bound_by": NSTR,
        },
        ["key", "by", "codes"],
    )
    return {
        "SignerBinding": signer,
        "SignerBindings": obj({"items": {"type": "array", "items": signer}}, ["items"]),
        "SignerBindingRequest": obj(
            {
                "codes": {"type": ["array", "string"], "items": STR},
                "certificate": STR,
                "by": {"type": "string", "enum": ["sha256", "issuer-serial"]},
                "issuer": STR,
                "serial": STR,
                "exact": {"type": "boolean"},
                "replace": {"type": "boolean"},
            },
            ["codes"],
        ),
    }
