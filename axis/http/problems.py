"""Problem responses (RFC 9457 style) and the request helpers every route shares.

Every refusal is ``application/problem+json`` with a stable ``code`` (the same code the CLI
prints), the ``detail`` people read, and the ``location`` in the document or the request. The
middleware turns any :class:`edxml.CodedError` into one, and an unexpected exception into a 500
that names an incident id (logged with the traceback) and nothing internal.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final

import structlog
from aiohttp import web

from axis.errors import AxisError
from edxml import CodedError
from registry.sources.instants import InstantError, parse_instant

_log = structlog.get_logger("axis.http")

PROBLEM_TYPE: Final = "application/problem+json"
_TITLES: Final = {
    400: "Bad request",
    401: "Unauthenticated",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    410: "Gone",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable document",
    429: "Too many requests",
    500: "Internal error",
    503: "Unavailable",
}
_STATUS_BY_PREFIX: Final = (
    ("xml.too_large", 413),
    ("xml.", 400),
    ("auth.", 403),
    ("store.bad_cursor", 400),
    ("store.", 503),  # the store is busy or away: the caller retries, its document was fine
)


def status_of(error: CodedError) -> int:
    """The HTTP status of an error: its own, or by its code's family."""
    if isinstance(error, AxisError):
        return error.status
    for prefix, status in _STATUS_BY_PREFIX:
        if error.code.startswith(prefix):
            return status
    return 422


def problem(error: CodedError, status: int | None = None) -> web.Response:
    """The problem response of an error."""
    code = status or status_of(error)
    body: dict[str, Any] = {
        "type": f"urn:axis:problem:{error.code}",
        "title": _TITLES.get(code, "Error"),
        "status": code,
        "detail": error.message,
        **error.to_dict(),
    }
    headers = {}
    if code == 401:
        headers["WWW-Authenticate"] = 'Basic realm="axis", charset="UTF-8"'
    if isinstance(error, AxisError) and "retry_after" in error.extra:
        headers["Retry-After"] = str(int(error.extra["retry_after"]) + 1)
    return web.Response(
        status=code,
        text=json.dumps(body, ensure_ascii=False, default=str),
        content_type=PROBLEM_TYPE,
        charset="utf-8",
        headers=headers,
    )


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error becomes a problem response; nothing internal leaks."""
    try:
        return await handler(request)
    except CodedError as error:
        return problem(error)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "http.not_found", 405: "http.method_not_allowed"}.get(
            exc.status, f"http.{exc.status}"
        )
        return problem(AxisError(code, exc.reason, request.path, status=exc.status))
    except Exception:
        incident = uuid.uuid4().hex[:12]
        _log.exception("http.internal_error", incident=incident, path=request.path)
        return problem(
            AxisError(
                "internal.error",
                f"the axis failed on this request; incident {incident} is logged",
                None,
                status=500,
            )
        )


def json_response(data: Any, status: int = 200) -> web.Response:
    """UTF-8 JSON, Vietnamese kept as written (not as \\u escapes)."""
    return web.Response(
        status=status,
        text=json.dumps(data, ensure_ascii=False, default=_default),
        content_type="application/json",
        charset="utf-8",
    )


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise AxisError("query.invalid", f"{name}={raw!r} is not an integer", name) from None
    if not low <= value <= high:
        raise AxisError("query.invalid", f"{name} must be between {low} and {high}", name)
    return value


def query_float(request: web.Request, name: str, default: float, high: float) -> float:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise AxisError("query.invalid", f"{name}={raw!r} is not a number", name) from None
    if not 0 <= value <= high or value != value:
        raise AxisError("query.invalid", f"{name} must be between 0 and {high:g}", name)
    return value


def read_instant(
    raw: str | None, name: str, code: str = "query.invalid", status: int = 400
) -> dt.datetime | None:
    """``raw`` (a query parameter, a form or body field named ``name``) as an instant, as
    :func:`registry.sources.instants.parse_instant` reads it (no offset = Vietnam's time);
    ``None`` when absent or empty; refused as ``code`` naming the field."""
    if raw is None or raw == "":
        return None
    try:
        return parse_instant(raw, naive_is_local=True)
    except InstantError as exc:
        raise AxisError(code, f"{name}: {exc.message}", name, status=status) from None


def query_time(request: web.Request, name: str) -> dt.datetime | None:
    return read_instant(request.query.get(name), name)


def query_choice(request: web.Request, name: str, options: tuple[str, ...]) -> str | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if raw not in options:
        raise AxisError("query.invalid", f"{name} must be one of {', '.join(options)}", name)
    return raw


def client_address(request: web.Request) -> str:
    return request.remote or "unknown"
