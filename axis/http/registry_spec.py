"""The OpenAPI description of ``/v1/registry/...`` (:mod:`axis.http.registry_api`), as data.

Kept beside the routes it describes and merged into :func:`axis.http.openapi.spec`, whose test
holds every route described and every description routed.
"""

from __future__ import annotations

from typing import Any, Final

_PROBLEM: Final = {"$ref": "#/components/responses/Problem"}
_STR: Final = {"type": "string"}
_NSTR: Final = {"type": ["string", "null"]}
_INT: Final = {"type": "integer"}
_BOOL: Final = {"type": "boolean"}
_OBJ: Final = {"type": "object"}
_LIST: Final = {"type": "array", "items": {"type": "object"}}
_INSTANT: Final = {
    "type": "string",
    "description": "a date (00:00 in Vietnam), ISO 8601, or dd/MM/yyyy HH:mm; no offset = UTC+7",
}


def _param(
    name: str, where: str, schema: dict[str, Any], text: str, required: bool = False
) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required, "schema": schema, "description": text}


_CODE: Final = _param("code", "path", {"type": "string", "minLength": 1}, "agency code", True)
_ID: Final = _param("id", "path", {"type": "string", "minLength": 1}, "id", True)
_AT: Final = _param("at", "query", _INSTANT, "the instant asked about (default: now)")


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): _PROBLEM for code in codes}


def _json(ref: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _body(ref: str) -> dict[str, Any]:
    return {"required": False, **_json(ref)}


def _read(summary: str, parameters: list[dict[str, Any]], ref: str) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary + " (every authenticated system)",
            "parameters": parameters,
            "responses": {
                "200": {"description": "answer", **_json(ref)},
                **_errors(400, 401, 404, 410, 422, 429),
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
                ok: {"description": "the new version", **_json("RegistryChange")},
                **_errors(400, 401, 403, 404, 409, 422, 429),
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
                _param("addressed_at", "query", _INSTANT, "when the sender wrote the code"),
            ],
            "RegistryResolution",
        ),
        "/v1/registry/search": _read(
            "Agencies by name, with or without diacritics",
            [
                _param("q", "query", {"type": "string", "minLength": 1}, "the text", True),
                _param(
                    "limit", "query", {"type": "integer", "minimum": 1, "maximum": 200}, "at most"
                ),
                _param("at", "query", _INSTANT, "only records in force then"),
            ],
            "RegistrySearch",
        ),
        "/v1/registry/agencies/{code}": _read(
            "Every record of CODE with its successors and predecessors", [_CODE], "RegistryAgency"
        ),
        "/v1/registry/versions": _read(
            "The newest version headers",
            [
                _param(
                    "limit", "query", {"type": "integer", "minimum": 1, "maximum": 1000}, "at most"
                )
            ],
            "RegistryVersions",
        ),
        "/v1/registry/diff": _read(
            "What differs between two versions",
            [
                _param("from", "query", {"type": "integer", "minimum": 0}, "older version", True),
                _param("to", "query", {"type": "integer", "minimum": 0}, "newer version", True),
            ],
            "RegistryDiff",
        ),
        "/v1/registry/changes": _read(
            "Every change after version N, to replay (how an agency's system stays in sync)",
            [_param("since", "query", {"type": "integer", "minimum": 0}, "the version held", True)],
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
                    _param("filename", "query", _STR, "the file's name (for messages)"),
                    _param(
                        "format",
                        "query",
                        {"type": "string", "enum": ["native", "vdxp", "nso_crosswalk"]},
                        "default: detected from the content",
                    ),
                    _param("at", "query", _INSTANT, "plan the list's undated statements for then"),
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
                    "201": {"description": "the plan", **_json("RegistryImportPlan")},
                    **_errors(400, 401, 403, 413, 422, 429),
                },
            },
            "get": {
                "summary": "Kept imports, newest first (admin, auditor)",
                "responses": {
                    "200": {"description": "imports", **_json("Items")},
                    **_errors(401, 403, 429),
                },
            },
        },
        "/v1/registry/imports/{id}": {
            "get": {
                "summary": "One import; a pending one planned again on the newest version (admin, auditor)",
                "parameters": [_ID],
                "responses": {
                    "200": {"description": "the import", **_json("RegistryImportPlan")},
                    **_errors(401, 403, 404, 429),
                },
            },
            "delete": {
                "summary": "Discard a pending import (admin)",
                "parameters": [_ID],
                "responses": {"200": {"description": "discarded"}, **_errors(401, 403, 404, 429)},
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
                    "201": {"description": "the proposal", **_json("RegistryProposal")},
                    **_errors(400, 401, 403, 404, 409, 422, 429),
                },
            },
            "get": {
                "summary": "Proposals, newest first (admin, auditor)",
                "parameters": [
                    _param(
                        "state",
                        "query",
                        {"type": "string", "enum": ["pending", "approved", "rejected"]},
                        "only this state",
                    )
                ],
                "responses": {
                    "200": {"description": "proposals", **_json("Items")},
                    **_errors(400, 401, 403, 429),
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
                        "200": {"description": "the proposal", **_json("RegistryProposal")},
                        **_errors(400, 401, 403, 404, 409, 422, 429),
                    },
                }
            }
            for decision in ("approve", "reject")
        },
    }


def _obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or []}


_SUCCESSORS: Final = {
    "type": "array",
    "items": _obj(
        {
            "code": _STR,
            "kind": {"type": "string", "enum": ["merged", "renamed", "split", "absorbed"]},
            "primary": _BOOL,
        },
        ["code"],
    ),
}


def schemas() -> dict[str, Any]:
    """The registry's schemas."""
    return {
        "Items": _obj({"items": _LIST}, ["items"]),
        "RegistryResolution": _obj(
            {
                "version": _INT,
                "requested": _STR,
                "at": _STR,
                "status": _STR,
                "ok": _BOOL,
                "agency": {"type": ["object", "null"]},
                "hops": _LIST,
                "candidates": {"type": "array", "items": _STR},
                "last_known": {"type": ["object", "null"]},
            },
            ["version", "status"],
        ),
        "RegistrySearch": _obj({"version": _INT, "query": _STR, "results": _LIST}, ["results"]),
        "RegistryAgency": _obj(
            {
                "version": _INT,
                "code": _STR,
                "records": _LIST,
                "successors": _LIST,
                "predecessors": _LIST,
            },
            ["code", "records"],
        ),
        "RegistryVersions": _obj({"version": _INT, "first": _INT, "versions": _LIST}, ["versions"]),
        "RegistryDiff": _obj({"from_version": _INT, "to_version": _INT, "counts": _OBJ}),
        "RegistryChanges": _obj({"since": _INT, "version": _INT, "versions": _LIST}, ["versions"]),
        "RegistryChange": _obj(
            {
                "version_before": _INT,
                "version": _INT,
                "changed": _BOOL,
                "author": _STR,
                "reason": _STR,
                "effective": _NSTR,
                "changes": _LIST,
            },
            ["version", "changed"],
        ),
        "RegistryAgencyDraft": _obj(
            {
                "code": _STR,
                "name": _STR,
                "short_name": _STR,
                "kind": _STR,
                "parent": _STR,
                "admin_unit": _STR,
                "contact": {"type": "object", "additionalProperties": _STR},
                "at": _INSTANT,
                "reason": _STR,
                "note": _STR,
            },
            ["code", "name"],
        ),
        "RegistryRename": _obj(
            {"name": _STR, "short_name": _STR, "at": _INSTANT, "reason": _STR}, ["name"]
        ),
        "RegistryClose": _obj(
            {"at": _INSTANT, "successors": _SUCCESSORS, "legal_basis": _STR, "reason": _STR}
        ),
        "RegistryReopen": _obj({"at": _INSTANT, "reason": _STR}),
        "RegistryImportApply": _obj({"at": _INSTANT, "partial": _BOOL, "reason": _STR}),
        "RegistryImportPlan": _obj(
            {
                "id": _STR,
                "state": _STR,
                "summary": _OBJ,
                "can_apply": _BOOL,
                "problems": _LIST,
                "changes": _LIST,
            },
            ["id"],
        ),
        "RegistryProposal": _obj(
            {
                "id": _STR,
                "state": _STR,
                "agency": _OBJ,
                "proposed_by": _STR,
                "version": {"type": ["integer", "null"]},
            },
            ["id", "state"],
        ),
        "RegistryDecision": _obj({"reason": _STR}),
    }
