"""The OpenAPI description of ``/v1/registry/...`` (:mod:`axis.http.registry_api`), as data.

Kept beside the routes it describes and merged into :func:`axis.http.openapi.spec`, whose test
holds every route described and every description routed.
"""

from __future__ import annotations

from typing import Any, Final

from axis.http.spec_parts import (
    BOOL,
    INSTANT,
    INT,
    LIST,
    NSTR,
    OBJ,
    STR,
    errors,
    json_of,
    obj,
    param,
)

_CODE: Final = param("code", "path", {"type": "string", "minLength": 1}, "agency code", True)
_ID: Final = param("id", "path", {"type": "string", "minLength": 1}, "id", True)
_AT: Final = param("at", "query", INSTANT, "the instant asked about (default: now)")


def _body(ref: str) -> dict[str, Any]:
    return {"required": False, **json_of(ref)}


def _read(summary: str, parameters: list[dict[str, Any]], ref: str) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary + " (every authenticated system)",
            "parameters": parameters,
            "responses": {
                "200": {"description": "answer", **json_of(ref)},
                **errors(400, 401, 404, 410, 422, 429),
            },
        }
    }


def _write(
    summary: str, body: str, parameters: list[dict[str, Any]], ok: str = "200"
) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary + " (admin)",
            "parameters": parameters,
            "requestBody": _body(body),
            "responses": {
                ok: {"description": "the new version", **json_of("RegistryChange")},
                **errors(400, 401, 403, 404, 409, 422, 429),
            },
        }
    }


def paths() -> dict[str, Any]:
    """The registry's paths."""
    return {
        "/v1/registry/resolve/{code}": _read(
            "Who does CODE's work at an instant, following successions",
            [
                _CODE,
                _AT,
                param("addressed_at", "query", INSTANT, "when the sender wrote the code"),
            ],
            "RegistryResolution",
        ),
        "/v1/registry/search": _read(
            "Agencies by name, with or without diacritics",
            [
                param("q", "query", {"type": "string", "minLength": 1}, "the text", True),
                param(
                    "limit", "query", {"type": "integer", "minimum": 1, "maximum": 200}, "at most"
                ),
                param("at", "query", INSTANT, "only records in force then"),
            ],
            "RegistrySearch",
        ),
        "/v1/registry/agencies/{code}": _read(
            "Every record of CODE with its successors and predecessors", [_CODE], "RegistryAgency"
        ),
        "/v1/registry/versions": _read(
            "The newest version headers",
            [
                param(
                    "limit", "query", {"type": "integer", "minimum": 1, "maximum": 1000}, "at most"
                )
            ],
            "RegistryVersions",
        ),
        "/v1/registry/diff": _read(
            "What differs between two versions",
            [
                param("from", "query", {"type": "integer", "minimum": 0}, "older version", True),
                param("to", "query", {"type": "integer", "minimum": 0}, "newer version", True),
            ],
            "RegistryDiff",
        ),
        "/v1/registry/changes": _read(
            "Every change after version N, to replay (how an agency's system stays in sync)",
            [param("since", "query", {"type": "integer", "minimum": 0}, "the version held", True)],
            "RegistryChanges",
        ),
        "/v1/registry/agencies": _write(
            "Add an agency or a sub-unit (000.00.07.H38), from `at` (default now)",
            "RegistryAgencyDraft",
            [],
            "201",
        ),
        "/v1/registry/agencies/{code}/rename": _write(
            "Rename: in place, or from `at` keeping the old name's history",
            "RegistryRename",
            [_CODE],
        ),
        "/v1/registry/agencies/{code}/close": _write(
            "Close at `at` (default now; ahead = scheduled) with successors",
            "RegistryClose",
            [_CODE],
        ),
        "/v1/registry/agencies/{code}/successors": _write(
            "Name or replace the successors of a closed code", "RegistryClose", [_CODE]
        ),
        "/v1/registry/agencies/{code}/reopen": _write(
            "Undo the last closing, or bring the code back from `at`", "RegistryReopen", [_CODE]
        ),
        "/v1/registry/imports": {
            "post": {
                "summary": "Upload an official list: its plan (dry run), kept with an id (admin)",
                "parameters": [
                    param("filename", "query", STR, "the file's name (for messages)"),
                    param(
                        "format",
                        "query",
                        {"type": "string", "enum": ["native", "vdxp", "nso_crosswalk"]},
                        "default: detected from the content",
                    ),
                    param("at", "query", INSTANT, "plan the list's undated statements for then"),
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "text/csv": {"schema": {"type": "string"}},
                        "application/json": {"schema": {"type": "object"}},
                        "application/octet-stream": {
                            "schema": {"type": "string", "format": "binary"}
                        },
                    },
                },
                "responses": {
                    "201": {"description": "the plan", **json_of("RegistryImportPlan")},
                    **errors(400, 401, 403, 413, 422, 429),
                },
            },
            "get": {
                "summary": "Kept imports, newest first (admin, auditor)",
                "responses": {
                    "200": {"description": "imports", **json_of("Items")},
                    **errors(401, 403, 429),
                },
            },
        },
        "/v1/registry/imports/{id}": {
            "get": {
                "summary": "One import; a pending one planned again on the newest version (admin, auditor)",
                "parameters": [_ID],
                "responses": {
                    "200": {"description": "the import", **json_of("RegistryImportPlan")},
                    **errors(401, 403, 404, 429),
                },
            },
            "delete": {
                "summary": "Discard a pending import (admin)",
                "parameters": [_ID],
                "responses": {"200": {"description": "discarded"}, **errors(401, 403, 404, 429)},
            },
        },
        "/v1/registry/imports/{id}/apply": _write(
            "Apply a planned import now, or for `at`; all or nothing unless `partial`",
            "RegistryImportApply",
            [_ID],
        ),
        "/v1/registry/proposals": {
            "post": {
                "summary": "Propose a sub-unit under a code the caller acts for (agency systems)",
                "requestBody": _body("RegistryAgencyDraft"),
                "responses": {
                    "201": {"description": "the proposal", **json_of("RegistryProposal")},
                    **errors(400, 401, 403, 404, 409, 422, 429),
                },
            },
            "get": {
                "summary": "Proposals, newest first (admin, auditor)",
                "parameters": [
                    param(
                        "state",
                        "query",
                        {"type": "string", "enum": ["pending", "approved", "rejected"]},
                        "only this state",
                    )
                ],
                "responses": {
                    "200": {"description": "proposals", **json_of("Items")},
                    **errors(400, 401, 403, 429),
                },
            },
        },
        **{
            f"/v1/registry/proposals/{{id}}/{decision}": {
                "post": {
                    "summary": f"{decision.capitalize()} a pending proposal (admin)",
                    "parameters": [_ID],
                    "requestBody": _body("RegistryDecision"),
                    "responses": {
                        "200": {"description": "the proposal", **json_of("RegistryProposal")},
                        **errors(400, 401, 403, 404, 409, 422, 429),
                    },
                }
            }
            for decision in ("approve", "reject")
        },
    }


_SUCCESSORS: Final = {
    "type": "array",
    "items": obj(
        {
            "code": STR,
            "kind": {"type": "string", "enum": ["merged", "renamed", "split", "absorbed"]},
            "primary": BOOL,
        },
        ["code"],
    ),
}


def schemas() -> dict[str, Any]:
    """The registry's schemas."""
    return {
        "Items": obj({"items": LIST}, ["items"]),
        "RegistryResolution": obj(
            {
                "version": INT,
                "requested": STR,
                "at": STR,
                "status": STR,
                "ok": BOOL,
                "agency": {"type": ["object", "null"]},
                "hops": LIST,
                "candidates": {"type": "array", "items": STR},
                "last_known": {"type": ["object", "null"]},
            },
            ["version", "status"],
        ),
        "RegistrySearch": obj({"version": INT, "query": STR, "results": LIST}, ["results"]),
        "RegistryAgency": obj(
            {
                "version": INT,
                "code": STR,
                "records": LIST,
                "successors": LIST,
                "predecessors": LIST,
            },
            ["code", "records"],
        ),
        "RegistryVersions": obj({"version": INT, "first": INT, "versions": LIST}, ["versions"]),
        "RegistryDiff": obj({"from_version": INT, "to_version": INT, "counts": OBJ}),
        "RegistryChanges": obj({"since": INT, "version": INT, "versions": LIST}, ["versions"]),
        "RegistryChange": obj(
            {
                "version_before": INT,
                "version": INT,
                "changed": BOOL,
                "author": STR,
                "reason": STR,
                "effective": NSTR,
                "changes": LIST,
            },
            ["version", "changed"],
        ),
        "RegistryAgencyDraft": obj(
            {
                "code": STR,
                "name": STR,
                "short_name": STR,
                "kind": STR,
                "parent": STR,
                "admin_unit": STR,
                "contact": {"type": "object", "additionalProperties": STR},
                "at": INSTANT,
                "reason": STR,
                "note": STR,
            },
            ["code", "name"],
        ),
        "RegistryRename": obj(
            {"name": STR, "short_name": STR, "at": INSTANT, "reason": STR}, ["name"]
        ),
        "RegistryClose": obj(
            {"at": INSTANT, "successors": _SUCCESSORS, "legal_basis": STR, "reason": STR}
        ),
        "RegistryReopen": obj({"at": INSTANT, "reason": STR}),
        "RegistryImportApply": obj({"at": INSTANT, "partial": BOOL, "reason": STR}),
        "RegistryImportPlan": obj(
            {
                "id": STR,
                "state": STR,
                "summary": OBJ,
                "can_apply": BOOL,
                "problems": LIST,
                "changes": LIST,
            },
            ["id"],
        ),
        "RegistryProposal": obj(
            {
                "id": STR,
                "state": STR,
                "agency": OBJ,
                "proposed_by": STR,
                "version": {"type": ["integer", "null"]},
            },
            ["id", "state"],
        ),
        "RegistryDecision": obj({"reason": STR}),
    }
