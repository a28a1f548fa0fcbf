"""The OpenAPI description of the broker's own paths: send, inbox, fetch, ack, trace, sent,
dead letters, drains, health, metrics and this document (:mod:`axis.http.messages`,
:mod:`axis.http.ops`), as data.

Merged into :func:`axis.http.openapi.spec`, whose test holds every route described and every
description routed.
"""

from __future__ import annotations

from typing import Any, Final

from axis.http.spec_parts import INT, NSTR, PAGE_SIZE, STR, errors, json_of, obj, param

_MESSAGE_ID: Final = param(
    "message_id", "path", {"type": "string", "minLength": 1}, "message id", True
)
_CURSOR: Final = param("after", "query", STR, "cursor of the previous page")
_LIMIT: Final = param("limit", "query", PAGE_SIZE, "page size")
_KIND: Final = param(
    "kind", "query", {"type": "string", "enum": ["edoc", "status"]}, "message kind"
)
_CODE: Final = param("code", "query", STR, "one of the caller's agency codes")


def paths() -> dict[str, Any]:
    """The broker's paths."""
    return {
        "/v1/messages": {
            "post": {
                "summary": "Send an edXML document or status package",
                "parameters": [
                    param(
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
                    "202": {"description": "accepted", **json_of("SendResult")},
                    "200": {
                        "description": "a resend: the first message",
                        **json_of("SendResult"),
                    },
                    **errors(400, 401, 403, 413, 422, 429, 503),
                },
            }
        },
        "/v1/inbox": {
            "get": {
                "summary": "Open deliveries to the caller's codes (long-poll with wait)",
                "parameters": [
                    _CURSOR,
                    _KIND,
                    param("since", "query", {"type": "string"}, "received at or after"),
                    param("until", "query", {"type": "string"}, "received before"),
                    _LIMIT,
                    param(
                        "wait",
                        "query",
                        {"type": "number", "minimum": 0, "maximum": 3600},
                        "seconds to wait for a delivery when none is there",
                    ),
                    _CODE,
                ],
                "responses": {
                    "200": {"description": "a page", **json_of("InboxPage")},
                    **errors(400, 401, 403, 429),
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
                    **errors(401, 404, 410, 429),
                },
            }
        },
        "/v1/messages/{message_id}/ack": {
            "post": {
                "summary": "Acknowledge: done, or fail with a reason",
                "parameters": [_MESSAGE_ID],
                "requestBody": {"required": False, **json_of("Ack")},
                "responses": {
                    "200": {"description": "the caller's deliveries", **json_of("Deliveries")},
                    **errors(400, 401, 403, 404, 409, 429),
                },
            }
        },
        "/v1/messages/{message_id}/trace": {
            "get": {
                "summary": "Every event of a message (sender, recipients, auditors)",
                "parameters": [_MESSAGE_ID],
                "responses": {
                    "200": {"description": "the trace", **json_of("Trace")},
                    **errors(401, 404, 429),
                },
            }
        },
        "/v1/sent": {
            "get": {
                "summary": "Sent messages with each recipient's state and business status",
                "parameters": [_CURSOR, _KIND, _LIMIT, _CODE],
                "responses": {
                    "200": {"description": "a page", **json_of("SentPage")},
                    **errors(400, 401, 403, 429),
                },
            }
        },
        "/v1/deliveries/dead": {
            "get": {
                "summary": "Dead letters (admin, auditor)",
                "parameters": [_CURSOR, _LIMIT],
                "responses": {
                    "200": {"description": "a page", **json_of("DeliveryPage")},
                    **errors(400, 401, 403, 429),
                },
            }
        },
        "/v1/deliveries/{message_id}/{code}/{action}": {
            "post": {
                "summary": "Retry or cancel a dead letter (admin)",
                "parameters": [
                    _MESSAGE_ID,
                    param("code", "path", {"type": "string", "minLength": 1}, "recipient", True),
                    param(
                        "action",
                        "path",
                        {"type": "string", "enum": ["retry", "cancel"]},
                        "what to do",
                        True,
                    ),
                ],
                "responses": {
                    "200": {"description": "the delivery", **json_of("Delivery")},
                    **errors(401, 403, 404, 429),
                },
            }
        },
        "/v1/drains/{code}": {
            "put": {
                "summary": "Let a closed code's own system drain its pending mail (admin)",
                "parameters": [
                    param("code", "path", {"type": "string", "minLength": 1}, "code", True)
                ],
                "responses": {"200": {"description": "set"}, **errors(401, 403, 429)},
            },
            "delete": {
                "summary": "Move a closed code's pending mail to its successor again (admin)",
                "parameters": [
                    param("code", "path", {"type": "string", "minLength": 1}, "code", True)
                ],
                "responses": {"200": {"description": "cleared"}, **errors(401, 403, 429)},
            },
        },
        "/v1/health": {
            "get": {
                "summary": "Store and registry health (no credentials)",
                "security": [],
                "responses": {
                    "200": {"description": "healthy", **json_of("Health")},
                    "503": {"description": "failing", **json_of("Health")},
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics (admin, auditor)",
                "responses": {
                    "200": {"description": "text exposition", "content": {"text/plain": {}}},
                    **errors(401, 403, 429),
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
    }


def schemas() -> dict[str, Any]:
    """The schemas of the broker's paths, and ``Problem`` (every refusal's body)."""
    delivery = obj(
        {
            "message_id": STR,
            "code": STR,
            "requested": STR,
            "state": {
                "type": "string",
                "enum": ["pending", "fetched", "done", "fail", "dead", "withdrawn", "cancelled"],
            },
            "attempts": INT,
            "updated_at": STR,
            "reason": NSTR,
            "cursor": STR,
        },
        ["message_id", "code", "state"],
    )
    return {
        "Problem": obj(
            {
                "type": STR,
                "title": STR,
                "status": INT,
                "detail": STR,
                "code": STR,
                "message": STR,
                "location": NSTR,
                "problems": {"type": "array", "items": {"type": "object"}},
            },
            ["status", "code", "message"],
        ),
        "Resolution": obj(
            {
                "requested": STR,
                "status": STR,
                "code": NSTR,
                "name": NSTR,
                "hops": {"type": "array", "items": {"type": "object"}},
                "candidates": {"type": "array", "items": STR},
            }
        ),
        "SendResult": obj(
            {
                "message_id": STR,
                "duplicate": {"type": "boolean"},
                "kind": STR,
                "document_id": STR,
                "recipients": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/Resolution"},
                },
                "unresolved": {"type": "array", "items": {"type": "object"}},
                "withdrawn": {"type": "array", "items": STR},
                "warnings": {"type": "array", "items": {"type": "object"}},
                "signature": {"type": "object"},
            },
            ["message_id", "duplicate", "recipients"],
        ),
        "InboxPage": obj(
            {"items": {"type": "array", "items": {"type": "object"}}, "cursor": NSTR},
            ["items", "cursor"],
        ),
        "SentPage": obj(
            {"items": {"type": "array", "items": {"type": "object"}}, "cursor": NSTR},
            ["items", "cursor"],
        ),
        "Delivery": delivery,
        "DeliveryPage": obj(
            {"items": {"type": "array", "items": delivery}, "cursor": NSTR}, ["items", "cursor"]
        ),
        "Deliveries": obj({"deliveries": {"type": "array", "items": delivery}}, ["deliveries"]),
        "Ack": obj(
            {
                "outcome": {"type": "string", "enum": ["done", "fail"]},
                "reason": STR,
                "code": STR,
            }
        ),
        "Trace": obj(
            {
                "message": {"type": "object"},
                "deliveries": {"type": "array", "items": {"type": "object"}},
                "events": {"type": "array", "items": {"type": "object"}},
            },
            ["message", "deliveries", "events"],
        ),
        "Health": obj({"status": STR, "time": STR, "checks": {"type": "object"}}, ["status"]),
    }
