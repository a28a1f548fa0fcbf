"""The small pieces every OpenAPI fragment of the API is built from.

:mod:`axis.http.openapi` merges the fragments (:mod:`axis.http.broker_spec`,
:mod:`axis.http.signers_spec`, :mod:`axis.http.registry_spec`, :mod:`axis.http.audit_spec`);
each writes its paths and schemas with these, so a parameter, a problem answer or a JSON body
is spelt one way in the whole document.
"""

from __future__ import annotations

from typing import Any, Final

PROBLEM: Final = {"$ref": "#/components/responses/Problem"}
"""The answer of every refusal: ``application/problem+json`` (see ``components.responses``)."""
STR: Final = {"type": "string"}
NSTR: Final = {"type": ["string", "null"]}
INT: Final = {"type": "integer"}
BOOL: Final = {"type": "boolean"}
OBJ: Final = {"type": "object"}
LIST: Final = {"type": "array", "items": {"type": "object"}}
INSTANT: Final = {
    "type": "string",
    "description": "a date (00:00 in Vietnam), ISO 8601, or dd/MM/yyyy HH:mm; no offset = UTC+7",
}
"""An instant as :func:`registry.sources.instants.parse_instant` reads it."""
PAGE_SIZE: Final = {"type": "integer", "minimum": 1, "maximum": 1000}


def param(
    name: str, where: str, schema: dict[str, Any], text: str, required: bool = False
) -> dict[str, Any]:
    """One parameter (``where``: ``path`` or ``query``)."""
    return {"name": name, "in": where, "required": required, "schema": schema, "description": text}


def json_of(ref: str) -> dict[str, Any]:
    """A JSON content of the named schema, to spread into a response or a request body."""
    return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def errors(*codes: int) -> dict[str, Any]:
    """The problem answers of the given HTTP statuses."""
    return {str(code): PROBLEM for code in codes}


def obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """A JSON object schema."""
    return {"type": "object", "properties": properties, "required": required or []}
