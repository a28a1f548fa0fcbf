"""The API's OpenAPI 3.1 description, served at ``/v1/openapi.json``.

Written as data next to the routes it describes (tests check every route is in it and every path
in it is routed), so it stays complete and true.
"""

from __future__ import annotations

from typing import Any

from axis.http import audit_spec, registry_spec

_PROBLEM = {"$ref": "#/components/responses/Problem"}


def _param(
    name: str, where: str, schema: dict[str, Any], text: str, required: bool = False
) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required, "schema": schema, "description": text}


_MESSAGE_ID = _param("message_id", "path", {"type": "string", "minLength": 1}, "message id", True)
_CURSOR = _param("after", "query", {"type": "string"}, "cursor of the previous page")
_LIMIT = _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 1000}, "page size")
_KIND = _param("kind", "query", {"type": "string", "enum": ["edoc", "status"]}, "message kind")
_CODE = _param("code", "query", {"type": "string"}, "one of the caller's agency codes")


def _json(ref: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): _PROBLEM for code in codes}


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
            "/v1/messages": {
                "post": {
                    "summary": "Send an edXML document or status package",
                    "parameters": [
                        _param(
                            "partial",
                            "query",
                            {"type": "string", "enum": ["allow", "deny"]},
                            "allow: accept the resolvable recipients and report the others",
                        )
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/xml": {"schema": {"type": "string", "format": "binary"}}
                        },
                    },
                    "responses": {
                        "202": {"description": "accepted", **_json("SendResult")},
                        "200": {
                            "description": "a resend: the first message",
                            **_json("SendResult"),
                        },
                        **_errors(400, 401, 403, 413, 422, 429, 503),
                    },
                }
            },
            "/v1/inbox": {
                "get": {
                    "summary": "Open deliveries to the caller's codes (long-poll with wait)",
                    "parameters": [
                        _CURSOR,
                        _KIND,
                        _param("since", "query", {"type": "string"}, "received at or after"),
                        _param("until", "query", {"type": "string"}, "received before"),
                        _LIMIT,
                        _param(
                            "wait",
                            "query",
                            {"type": "number", "minimum": 0, "maximum": 3600},
                            "seconds to wait for a delivery when none is there",
                        ),
                        _CODE,
                    ],
                    "responses": {
                        "200": {"description": "a page", **_json("InboxPage")},
                        **_errors(400, 401, 403, 429),
                    },
                }
            },
            "/v1/messages/{message_id}": {
                "get": {
                    "summary": "The edXML bytes (a recipient's copy becomes fetched)",
                    "parameters": [_MESSAGE_ID],
                    "responses": {
                        "200": {
                            "description": "the package as sent",
                            "content": {"application/xml": {"schema": {"type": "string"}}},
                        },
                        **_errors(401, 404, 410, 429),
                    },
                }
            },
            "/v1/messages/{message_id}/ack": {
                "post": {
                    "summary": "Acknowledge: done, or fail with a reason",
                    "parameters": [_MESSAGE_ID],
                    "requestBody": {"required": False, **_json("Ack")},
                    "responses": {
                        "200": {"description": "the caller's deliveries", **_json("Deliveries")},
                        **_errors(400, 401, 403, 404, 409, 429),
                    },
                }
            },
            "/v1/messages/{message_id}/trace": {
                "get": {
                    "summary": "Every event of a message (sender, recipients, auditors)",
                    "parameters": [_MESSAGE_ID],
                    "responses": {
                        "200": {"description": "the trace", **_json("Trace")},
                        **_errors(401, 404, 429),
                    },
                }
            },
            "/v1/sent": {
                "get": {
                    "summary": "Sent messages with each recipient's state and business status",
                    "parameters": [_CURSOR, _KIND, _LIMIT, _CODE],
                    "responses": {
                        "200": {"description": "a page", **_json("SentPage")},
                        **_errors(400, 401, 403, 429),
                    },
                }
            },
            "/v1/deliveries/dead": {
                "get": {
                    "summary": "Dead letters (admin, auditor)",
                    "parameters": [_CURSOR, _LIMIT],
                    "responses": {
                        "200": {"description": "a page", **_json("DeliveryPage")},
                        **_errors(400, 401, 403, 429),
                    },
                }
            },
            "/v1/deliveries/{message_id}/{code}/{action}": {
                "post": {
                    "summary": "Retry or cancel a dead letter (admin)",
                    "parameters": [
                        _MESSAGE_ID,
                        _param(
                            "code", "path", {"type": "string", "minLength": 1}, "recipient", True
                        ),
                        _param(
                            "action",
                            "path",
                            {"type": "string", "enum": ["retry", "cancel"]},
                            "what to do",
                            True,
                        ),
                    ],
                    "responses": {
                        "200": {"description": "the delivery", **_json("Delivery")},
                        **_errors(401, 403, 404, 429),
                    },
                }
            },
            "/v1/drains/{code}": {
                "put": {
                    "summary": "Let a closed code's own system drain its pending mail (admin)",
                    "parameters": [
                        _param("code", "path", {"type": "string", "minLength": 1}, "code", True)
                    ],
                    "responses": {"200": {"description": "set"}, **_errors(401, 403, 429)},
                },
                "delete": {
                    "summary": "Move a closed code's pending mail to its successor again (admin)",
                    "parameters": [
                        _param("code", "path", {"type": "string", "minLength": 1}, "code", True)
                    ],
                    "responses": {"200": {"description": "cleared"}, **_errors(401, 403, 429)},
                },
            },
            "/v1/signers": {
                "get": {
                    "summary": "Signer bindings: certificates and the codes they sign for "
                    "(admin, auditor)",
                    "responses": {
                        "200": {"description": "every binding", **_json("SignerBindings")},
                        **_errors(401, 403, 429),
                    },
                },
                "post": {
                    "summary": "Bind a certificate (PEM), or an issuer and serial, to agency "
                    "codes (admin)",
                    "requestBody": {"required": True, **_json("SignerBindingRequest")},
                    "responses": {
                        "201": {"description": "bound", **_json("SignerBinding")},
                        "200": {"description": "replaced", **_json("SignerBinding")},
                        **_errors(400, 401, 403, 409, 413, 429),
                    },
                },
            },
            "/v1/signers/{key}": {
                "delete": {
                    "summary": "Remove a signer binding (admin)",
                    "parameters": [
                        _param(
                            "key",
                            "path",
                            {"type": "string", "minLength": 1},
                            "the binding's key: a certificate's SHA-256, or is:<digest>:<serial>",
                            True,
                        )
                    ],
                    "responses": {
                        "200": {"description": "removed", **_json("SignerBinding")},
                        **_errors(400, 401, 403, 404, 429),
                    },
                }
            },
            "/v1/health": {
                "get": {
                    "summary": "Store and registry health (no credentials)",
                    "security": [],
                    "responses": {
                        "200": {"description": "healthy", **_json("Health")},
                        "503": {"description": "failing", **_json("Health")},
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics (admin, auditor)",
                    "responses": {
                        "200": {"description": "text exposition", "content": {"text/plain": {}}},
                        **_errors(401, 403, 429),
                    },
                }
            },
            "/v1/openapi.json": {
                "get": {
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}
                    },
                }
            },
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
            "schemas": {**_schemas(), **registry_spec.schemas(), **audit_spec.schemas()},
        },
    }


def _obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or []}


_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_INT = {"type": "integer"}


def _schemas() -> dict[str, Any]:
    delivery = _obj(
        {
            "message_id": _STR,
            "code": _STR,
            "requested": _STR,
            "state": {
                "type": "string",
                "enum": ["pending", "fetched", "done", "fail", "dead", "withdrawn", "cancelled"],
            },
            "attempts": _INT,
            "updated_at": _STR,
            "reason": _NSTR,
            "cursor": _STR,
        },
        ["message_id", "code", "state"],
    )
    signer = _obj(
        {
            "key": _STR,
            "by": {"type": "string", "enum": ["sha256", "issuer-serial"]},
            "codes": {"type": "array", "items": _STR},
            "exact": {"type": "boolean"},
            "sha256": _NSTR,
            "issuer": _NSTR,
            "serial": _NSTR,
            "subject": _NSTR,
            "not_after": _NSTR,
            "bound_at": _NSTR,
            "bound_by": _NSTR,
        },
        ["key", "by", "codes"],
    )
    return {
        "Problem": _obj(
            {
                "type": _STR,
                "title": _STR,
                "status": _INT,
                "detail": _STR,
                "code": _STR,
                "message": _STR,
                "location": _NSTR,
                "problems": {"type": "array", "items": {"type": "object"}},
            },
            ["status", "code", "message"],
        ),
        "Resolution": _obj(
            {
                "requested": _STR,
                "status": _STR,
                "code": _NSTR,
                "name": _NSTR,
                "hops": {"type": "array", "items": {"type": "object"}},
                "candidates": {"type": "array", "items": _STR},
            }
        ),
        "SendResult": _obj(
            {
                "message_id": _STR,
                "duplicate": {"type": "boolean"},
                "kind": _STR,
                "document_id": _STR,
                "recipients": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/Resolution"},
                },
                "unresolved": {"type": "array", "items": {"type": "object"}},
                "withdrawn": {"type": "array", "items": _STR},
                "warnings": {"type": "array", "items": {"type": "object"}},
                "signature": {"type": "object"},
            },
            ["message_id", "duplicate", "recipients"],
        ),
        "InboxPage": _obj(
            {"items": {"type": "array", "items": {"type": "object"}}, "cursor": _NSTR},
            ["items", "cursor"],
        ),
        "SentPage": _obj(
            {"items": {"type": "array", "items": {"type": "object"}}, "cursor": _NSTR},
            ["items", "cursor"],
        ),
        "Delivery": delivery,
        "DeliveryPage": _obj(
            {"items": {"type": "array", "items": delivery}, "cursor": _NSTR}, ["items", "cursor"]
        ),
        "Deliveries": _obj({"deliveries": {"type": "array", "items": delivery}}, ["deliveries"]),
        "Ack": _obj(
            {
                "outcome": {"type": "string", "enum": ["done", "fail"]},
                "reason": _STR,
                "code": _STR,
            }
        ),
        "Trace": _obj(
            {
                "message": {"type": "object"},
                "deliveries": {"type": "array", "items": {"type": "object"}},
                "events": {"type": "array", "items": {"type": "object"}},
            },
            ["message", "deliveries", "events"],
        ),
        "Health": _obj({"status": _STR, "time": _STR, "checks": {"type": "object"}}, ["status"]),
        "SignerBinding": signer,
        "SignerBindings": _obj({"items": {"type": "array", "items": signer}}, ["items"]),
        "SignerBindingRequest": _obj(
            {
                "codes": {"type": ["array", "string"], "items": _STR},
                "certificate": _STR,
                "by": {"type": "string", "enum": ["sha256", "issuer-serial"]},
                "issuer": _STR,
                "serial": _STR,
                "exact": {"type": "boolean"},
                "replace": {"type": "boolean"},
            },
            ["codes"],
        ),
    }
