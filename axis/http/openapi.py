"""The API's OpenAPI 3.1 description, served at ``/v1/openapi.json``.

Written as data next to the routes it describes, one fragment a concern
(:mod:`axis.http.broker_spec`, :mod:`axis.http.signers_spec`, :mod:`axis.http.registry_spec`,
:mod:`axis.http.audit_spec`, all built from :mod:`axis.http.spec_parts`), and merged here; tests
check every route is in it and every path in it is routed, so it stays complete and true.
"""

from __future__ import annotations

from typing import Any

from axis.http import audit_spec, broker_spec, registry_spec, signers_spec


def spec() -> dict[str, Any]:
    """The whole document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "axis — the document-interconnection axis",
            "version": "1",
            "description": (
                "Send signed edXML packages, receive them, acknowledge, follow their delivery. "
                "Every call but /v1/health and /v1/openapi.json needs HTTP Basic "
                "(system id and secret) or a client certificate. Errors are "
                "application/problem+json with a stable code and the location."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"basic": []}],
        "paths": {
            **registry_spec.paths(),
            **audit_spec.paths(),
            **broker_spec.paths(),
            **signers_spec.paths(),
        },
        "components": {
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}},
            "responses": {
                "Problem": {
                    "description": "a refusal (RFC 9457)",
                    "content": {
                        "application/problem+json": {
                            "schema": {"$ref": "#/components/schemas/Problem"}
                        }
                    },
                }
            },
            "schemas": {
                **broker_spec.schemas(),
                **signers_spec.schemas(),
                **registry_spec.schemas(),
                **audit_spec.schemas(),
            },
        },
    }
