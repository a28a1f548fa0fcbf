"""The OpenAPI description of ``/v1/audit/...`` (:mod:`axis.http.audit_api`), as data.

Merged into :func:`axis.http.openapi.spec`, whose test holds every route described and every
description routed.
"""

from __future__ import annotations

from typing import Any, Final

from axis.http.registry_spec import _errors, _json, _param

_TEXT: Final = {"type": "string"}
_INSTANT: Final = {
    "type": "string",
    "description": "a date (00:00 in Vietnam), ISO 8601, or dd/MM/yyyy HH:mm; no offset = UTC+7",
}
_NARROWING: Final = [
    _param("document_id", "query", _TEXT, "the edXML DocumentId"),
    _param("message_id", "query", _TEXT, "one message"),
    _param("code", "query", _TEXT, "an agency code concerned"),
    _param("system_id", "query", _TEXT, "the system that made the call"),
    _param("kind", "query", _TEXT, "the event's kind (received, fetched, registry.version, ...)"),
]


def paths() -> dict[str, Any]:
    """The audit paths: reads for auditors and admins; agency systems get 403."""
    return {
        "/v1/audit/events": {
            "get": {
                "summary": "Audit events, filtered, in chain order (auditor, admin)",
                "parameters": [
                    *_NARROWING,
                    _param("since", "query", _INSTANT, "at or after"),
                    _param("until", "query", _INSTANT, "before"),
                    _param("after", "query", _TEXT, "cursor of the previous page"),
                    _param(
                        "limit",
                        "query",
                        {"type": "integer", "minimum": 1, "maximum": 1000},
                        "page size",
                    ),
                ],
                "responses": {
                    "200": {"description": "a page of events", **_json("AuditPage")},
                    **_errors(400, 401, 403, 429),
                },
            }
        },
        "/v1/audit/export": {
            "get": {
                "summary": "Every event of [from, to) as JSON Lines, hash-chain fields included",
                "parameters": [
                    _param("from", "query", _INSTANT, "first instant (inclusive)", True),
                    _param("to", "query", _INSTANT, "last instant (exclusive)", True),
                ],
                "responses": {
                    "200": {
                        "description": "one event per line (docs/audit.md)",
                        "content": {"application/x-ndjson": {"schema": _TEXT}},
                    },
                    **_errors(400, 401, 403, 429),
                },
            }
        },
        "/v1/audit/verify": {
            "get": {
                "summary": "The axis's re-hash of every kept event (auditor, admin)",
                "responses": {
                    "200": {"description": "the verdict", **_json("AuditVerdict")},
                    **_errors(401, 403, 429),
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
