"""The JSON bodies of the registry's writes (:mod:`axis.http.registry_api`), read and checked.

A body is one JSON object whose unknown keys are refused (so a typo such as ``"succesors"`` is
not silently a close without successors); each field is checked for its type, and a refusal is a
``body.invalid`` problem (422) naming the field as ``location`` (``successors[1].kind``).
Instants are read as :func:`registry.sources.instants.parse_instant` reads them (no offset =
Vietnam's time); Vietnamese names pass through as UTF-8.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final

from aiohttp import web

from axis.errors import AxisError
from axis.http.bodies import flag_field, parse_json_object, text_field
from axis.http.messages import read_limited
from axis.http.problems import read_instant
from axis.registry_edits import AgencyDraft
from registry.model import SuccessionKind, Successor

MAX_JSON_BODY: Final = 256 * 1024
AGENCY_FIELDS: Final = frozenset(
    {
        "code",
        "name",
        "short_name",
        "kind",
        "parent",
        "admin_unit",
        "contact",
        "at",
        "reason",
        "note",
    }
)
"""The fields of an agency (an add, a proposal)."""
UNPROCESSABLE: Final = 422


async def read_body(request: web.Request, allowed: frozenset[str]) -> dict[str, Any]:
    """The JSON object of the request (empty body: ``{}``), with no key outside ``allowed``."""
    raw = await read_limited(request, MAX_JSON_BODY)
    if not raw.strip():
        return {}
    body = parse_json_object(raw)
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise AxisError(
            "body.invalid",
            f"unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(allowed))}",
            unknown[0],
            status=UNPROCESSABLE,
        )
    return body


def text(body: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    """The string at ``name`` (``None`` when absent)."""
    return text_field(body, name, required=required, status=UNPROCESSABLE)


def flag(body: Mapping[str, Any], name: str) -> bool:
    """The boolean at ``name`` (``False`` when absent)."""
    return flag_field(body, name, status=UNPROCESSABLE)


def instant(body: Mapping[str, Any], name: str) -> dt.datetime | None:
    """The instant at ``name`` (``None`` when absent or blank)."""
    value = text(body, name)
    if value is None or not value.strip():
        return None
    return read_instant(value, name, "body.invalid", UNPROCESSABLE)


def successors(body: Mapping[str, Any]) -> tuple[Successor, ...]:
    """``successors``: a list of codes or of ``{"code", "kind", "primary"}`` (kind merged when
    left out)."""
    raw = body.get("successors", [])
    if not isinstance(raw, list):
        raise AxisError(
            "body.invalid", "successors must be a list", "successors", status=UNPROCESSABLE
        )
    kinds = ", ".join(k.value for k in SuccessionKind)
    found: list[Successor] = []
    for index, item in enumerate(raw):
        where = f"successors[{index}]"
        if isinstance(item, str):
            item = {"code": item}
        if not isinstance(item, dict):
            raise AxisError(
                "body.invalid", f"{where} must be an object", where, status=UNPROCESSABLE
            )
        code = text(item, "code", required=True) or ""
        try:
            kind = SuccessionKind(item.get("kind", "merged"))
        except ValueError:
            raise AxisError(
                "body.invalid",
                f"{where}.kind must be one of {kinds}",
                f"{where}.kind",
                status=UNPROCESSABLE,
            ) from None
        primary = item.get("primary", False)
        if not isinstance(primary, bool):
            raise AxisError(
                "body.invalid",
                f"{where}.primary must be true or false",
                f"{where}.primary",
                status=UNPROCESSABLE,
            )
        found.append(Successor(code, kind, primary))
    return tuple(found)


def draft(body: Mapping[str, Any], code: str | None = None) -> AgencyDraft:
    """The agency an add or a proposal describes (``code`` and ``name`` required)."""
    contact = body.get("contact") or {}
    if not isinstance(contact, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in contact.items()
    ):
        raise AxisError(
            "body.invalid", "contact must be an object of strings", "contact", status=UNPROCESSABLE
        )
    return AgencyDraft(
        code=code or text(body, "code", required=True) or "",
        name=text(body, "name", required=True) or "",
        short_name=text(body, "short_name") or "",
        kind=text(body, "kind") or "",
        parent=text(body, "parent") or None,
        admin_unit=text(body, "admin_unit") or None,
        contact=contact,
        valid_from=instant(body, "at"),
    )
