"""The OpenAPI description of ``/v1/audit/...`` (:mod:`axis.http.audit_api`), as data.

Merged into :func:`axis.http.openapi.spec`, whose test holds every route described and every
description routed.
"""

from __future__ import annotations

from typing import Any, Final

from axis.http.spec_parts import INSTANT, PAGE_SIZE, STR, errors, json_of, param

_NARROWING: Final = [
    param("document_id", "query", STR, "the edXML DocumentId"),
    param("message_id", "query", STR, "one message"),
    param("code", "query", STR, "an agency code concerned"),
    param("system_id", "query", STR, "the system that made the call"),
    param("kind", "query", STR, "the event's kind (received, fetched, registry.version, ...)"),
]


def paths() -> dict[str, Any]:
    """The audit paths: reads for auditors and admins; agency systems get 403."""
    return {
        "/v1/audit/events": {
            "get": {
                "summary": "Audit events, filtered, in chain order (auditor, admin)",
                "parameters": [
                    *_NARROWING,
                    param("since", "query", INSTANT, "at or after"),
                    param("until", "query", INSTANT, "before"),
                    param("after", "query", STR, "cursor of the previous page"),
                    param("limit", "query", PAGE_SIZE, "page size"),
                ],
                "responses": {
                    "200": {"description": "a page of events", **json_of("AuditPage")},
                    **errors(400, 401, 403, 429),
                },
            }
        },
        "/v1/audit/export": {
            "get": {
                "summary": "Every event of [from, to) as JSON Lines, hash-chain fields included",
                "parameters": [
                    param("from", "query", INSTANT, "first instant (inclusive)", True),
                    param("to", "query", INSTANT, "last instant (exclusive)", True),
                ],
                "responses": {
                    "200": {
                        "description": "one event per line (docs/audit.md)",
                        "content": {"application/x-ndjson": {"schema": STR}},
                    },
                    **errors(400, 401, 403, 429),
                },
            }
        },
        "/v1/audit/verify": {
            "get": {
                "summary": "The axis's re-hash of every kept event (auditor, admin)",
                "responses": {
                    "200": {"description": "the verdict", **json_of("AuditVerdict")},
                    **errors(401, 403, 429),
                },
            }
        },
    }


def schemas() -> dict[str, Any]:
    event = {"type": "object", "required": ["seq", "kind", "at", "prev_hash", "hash"]}
    return {
        "AuditPage": {
            "type": "object",
            "required": ["items", "cursor", "more"],
            "properties": {
                "items": {"type": "array", "items": event},
                "cursor": {"type": ["string", "null"]},
                "more": {"type": "boolean"},
            },
        },
        "AuditVerdict": {
            "type": "object",
            "required": ["ok", "checked"],
            "properties": {
                "ok": {"type": "boolean"},
                "checked": {"type": "integer"},
                "first_broken": {"type": ["integer", "null"]},
                "reason": {"type": ["string", "null"]},
            },
        },
    }
