"""Reading a JSON request body and its fields, with one set of refusals for every route.

The routes that take a JSON object (an ack, a signer binding, a registry write) read it with
:func:`parse_json_object` and pick fields with :func:`text_field` and :func:`flag_field`, so a
malformed body or a field of the wrong type is the same ``body.invalid`` problem, with the field
as its ``location``, everywhere. ``status`` is the route family's choice (400 for a malformed
request, 422 where the registry reads a well-formed body it cannot act on).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from axis.errors import AxisError


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """``raw`` as a JSON object; ``body.invalid`` (400) when it is not UTF-8 JSON or not an
    object (a list, a string)."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AxisError("body.invalid", f"the body is not UTF-8 JSON: {exc}", "body") from None
    if not isinstance(body, dict):
        raise AxisError("body.invalid", "the body must be a JSON object", "body")
    return body


def text_field(
    body: Mapping[str, Any], name: str, *, required: bool = False, status: int = 400
) -> str | None:
    """The string at ``name`` (``None`` when absent or null, refused when ``required``)."""
    value = body.get(name)
    if value is None:
        if required:
            raise AxisError("body.invalid", f"{name} is required", name, status=status)
        return None
    if not isinstance(value, str):
        raise AxisError("body.invalid", f"{name} must be a string", name, status=status)
    return value


def flag_field(body: Mapping[str, Any], name: str, *, status: int = 400) -> bool:
    """The boolean at ``name`` (``False`` when absent); anything else but a JSON boolean is
    refused, so ``"false"`` is never read as true."""
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise AxisError("body.invalid", f"{name} must be true or false", name, status=status)
    return value
