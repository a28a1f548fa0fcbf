"""The console's frame: its sub-application, who is looking, forms, pages and error pages.

Every page of ``/console/`` runs through :func:`console_middleware`, in this order:

1. the language (``?lang`` switch cookie, Vietnamese by default);
2. who is looking: the session cookie (:mod:`axis.console.session`), then the system's record
   re-read from the store (revoked, or no longer an admin or auditor: out at the next click).
   No session: a GET goes to the login page, anything else answers 401. An ``agency`` system
   answers 403 everywhere here;
3. every POST: the form's CSRF token must be the session's (and a browser's ``Origin`` this
   server), else 403 before the handler runs;
4. every POST but logout is a write: the ``admin`` role only (:data:`axis.http.roles.WRITERS`),
   else 403. An auditor sees every page and can change nothing, whatever form it crafts.

Errors render as pages (in the person's language) with the status the API would answer, and
every answer carries headers that keep it out of caches and frames and run no foreign script.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlsplit

import aiohttp_jinja2
import jinja2
from aiohttp import web

from axis.auth.principal import Principal
from axis.clock import VN_TZ
from axis.config import AxisConfig
from axis.console import labels
from axis.console.session import SESSION_SECONDS, Session, SessionKeys, load_or_create_key
from axis.console.session import same_token as _same_token
from axis.errors import AxisError
from axis.http.keys import RUNTIME
from axis.http.problems import status_of
from axis.http.roles import READERS, WRITERS
from axis.runtime import Runtime
from axis.store.records import SystemRecord
from edxml import CodedError

PREFIX: Final = "/console/"
SESSION_COOKIE: Final = "axis_console"
LOGIN_COOKIE: Final = "axis_console_login"
LANG_COOKIE: Final = "axis_console_lang"
PUBLIC_PAGES: Final = frozenset({f"{PREFIX}login", f"{PREFIX}lang"})
"""Pages answered without a session (the login form and the language switch)."""
NOT_WRITES: Final = frozenset({f"{PREFIX}login", f"{PREFIX}logout"})
"""POSTs that change nothing in the axis (anyone logged in may log out)."""
STATIC_PREFIX: Final = f"{PREFIX}static/"
_HERE: Final = Path(__file__).parent

_SECURITY_HEADERS: Final = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


@dataclass(frozen=True, slots=True)
class Viewer:
    """The person at the console: their session and the system they logged in as."""

    session: Session
    record: SystemRecord

    @property
    def principal(self) -> Principal:
        return Principal.of(self.record)

    @property
    def can_write(self) -> bool:
        return self.record.role in WRITERS


KEYS: Final = web.AppKey("console_keys", SessionKeys)
VIEWER: Final = web.RequestKey("console_viewer", Viewer)
LANG: Final = web.RequestKey("console_lang", str)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def runtime_of(request: web.Request) -> Runtime:
    """The serving axis's runtime (the parent app's)."""
    return request.config_dict[RUNTIME]


def viewer_of(request: web.Request) -> Viewer:
    """Who is looking (set by the middleware on every page but the public ones)."""
    return request[VIEWER]


def address_of(request: web.Request) -> str:
    return request.remote or "unknown"


# --- pages ----------------------------------------------------------------------------------


def render(
    request: web.Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
) -> web.Response:
    """A page in the viewer's language, with the frame's context (labels, CSRF, who)."""
    lang = request.get(LANG, labels.DEFAULT)
    viewer = request.get(VIEWER)
    frame: dict[str, Any] = {
        "lang": lang,
        "t": labels.translator(lang),
        "has": labels.has(lang),
        "languages": labels.LANGUAGES,
        "viewer": viewer,
        "csrf": viewer.session.csrf if viewer is not None else "",
        "path": request.path,
        "here": request.path_qs,
        "prefix": PREFIX,
        "fmt_time": format_time,
        "status_name": labels.status_name(lang),
        "state_name": labels.state_name(lang),
        "event_name": labels.event_name(lang),
    }
    frame.update(context or {})
    return aiohttp_jinja2.render_template(template, request, frame, status=status)


def instant_of(value: dt.datetime | str) -> dt.datetime | None:
    """An instant from a record (a datetime, or the ISO 8601 text of a JSON view)."""
    if isinstance(value, dt.datetime):
        return value
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


def format_time(value: dt.datetime | str | None, seconds: bool = True) -> str:
    """An instant as Vietnam's clock reads it, with the offset (``2025-07-01 00:00:05 +07``)."""
    if value is None:
        return ""
    moment = instant_of(value)
    if moment is None:
        return str(value)
    local = moment.astimezone(VN_TZ)
    return local.strftime("%Y-%m-%d %H:%M:%S +07" if seconds else "%Y-%m-%d %H:%M +07")


def see_other(location: str) -> web.Response:
    """The answer to a successful form: back to a page (POST/redirect/GET)."""
    return web.Response(status=303, headers={"Location": location})


def local_target(raw: str | None, default: str = PREFIX) -> str:
    """A ``next`` target only if it is a page of this console (no open redirect)."""
    if not raw:
        return default
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or not parts.path.startswith(PREFIX) or "\\" in raw:
        return default
    return raw


async def form_of(request: web.Request) -> Mapping[str, Any]:
    """The POSTed form (read once; the middleware has usually read it already)."""
    return await request.post()


def form_text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


# --- the middleware -------------------------------------------------------------------------


class ConsoleRefusalError(AxisError):
    """A console refusal (401, 403): rendered as a page, never as problem JSON."""


@web.middleware
async def console_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request[LANG] = labels.pick(request.cookies.get(LANG_COOKIE))
    try:
        response = await _guarded(request, handler)
    except web.HTTPException as exc:
        if exc.status < 400:
            _secure(exc)
            raise
        response = _error_page(request, exc.status, f"http.{exc.status}", exc.reason)
    except CodedError as error:
        response = _error_page(request, status_of(error), error.code, error.message)
    _secure(response)
    return response


async def _guarded(request: web.Request, handler: Handler) -> web.StreamResponse:
    path = request.path
    if path.startswith(STATIC_PREFIX) or path in PUBLIC_PAGES:
        return await handler(request)
    viewer = await _viewer(request)
    if viewer is None:
        if request.method in ("GET", "HEAD"):
            target = quote(request.path_qs, safe="/?=&")
            raise web.HTTPSeeOther(f"{PREFIX}login?next={target}")
        raise ConsoleRefusalError("console.login_required", "log in first", None, status=401)
    if viewer.record.role not in READERS:
        raise ConsoleRefusalError(
            "console.forbidden",
            f"the console is for admin and auditor systems; {viewer.record.system_id!r} is "
            f"{viewer.record.role}",
            None,
            status=403,
        )
    request[VIEWER] = viewer
    if request.method not in ("GET", "HEAD"):
        await check_form(request, viewer.session.csrf)
        if path not in NOT_WRITES and not viewer.can_write:
            raise ConsoleRefusalError(
                "console.read_only",
                f"system {viewer.record.system_id!r} is an auditor: it can look, not change",
                None,
                status=403,
            )
    return await handler(request)


async def check_form(request: web.Request, expected: str | None) -> None:
    """403 unless the form carries the expected CSRF token and comes from this server."""
    origin = request.headers.get("Origin")
    # the host only: behind a proxy that ends TLS the scheme seen here is http
    if origin is not None and urlsplit(origin).netloc != request.host:
        raise ConsoleRefusalError(
            "console.csrf", "the form came from another site", None, status=403
        )
    form = await request.post()
    given = form.get("csrf")
    if expected is None or not isinstance(given, str) or not _same_token(given, expected):
        raise ConsoleRefusalError(
            "console.csrf",
            "the form's token is missing or stale: reload the page",
            None,
            status=403,
        )


async def _viewer(request: web.Request) -> Viewer | None:
    session = request.config_dict[KEYS].read(request.cookies.get(SESSION_COOKIE))
    if session is None:
        return None
    record = await runtime_of(request).store.system(session.system_id)
    if record is None or not record.active:
        return None
    return Viewer(session, record)


def _error_page(request: web.Request, status: int, code: str, message: str) -> web.Response:
    response = render(
        request, "error.html", {"status": status, "code": code, "message": message}, status=status
    )
    if status == 401:
        response.del_cookie(SESSION_COOKIE, path=PREFIX)
    return response


def _secure(response: web.StreamResponse) -> None:
    for name, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def set_cookie(
    request: web.Request, response: web.StreamResponse, name: str, value: str, max_age: int
) -> None:
    """A console cookie: HttpOnly, SameSite=Strict, Secure over TLS, only under ``/console/``."""
    response.set_cookie(
        name,
        value,
        path=PREFIX,
        max_age=max_age,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )


# --- the application ------------------------------------------------------------------------


def build(config: AxisConfig) -> web.Application:
    """The console as a sub-application (mounted at :data:`PREFIX` by :func:`install`)."""
    from axis.console import (  # the pages, one module each
        dashboard,
        deliveries,
        journey,
        login,
        registry_pages,
        systems,
    )

    console = web.Application(middlewares=[console_middleware])
    aiohttp_jinja2.setup(
        console,
        loader=jinja2.PackageLoader("axis.console", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )

    async def keys(app: web.Application) -> None:
        app[KEYS] = SessionKeys(load_or_create_key(config.home))

    console.on_startup.append(keys)
    for module in (login, dashboard, journey, deliveries, systems, registry_pages):
        console.add_routes(module.routes)
    console.router.add_static("/static/", _HERE / "static", name="static")
    return console


def install(app: web.Application, config: AxisConfig) -> str:
    """Mount the console on the axis's app; returns the prefix whose pages authenticate their
    callers themselves (the app's Basic/certificate check skips it)."""
    app.add_subapp(PREFIX, build(config))
    return PREFIX


__all__ = [
    "PREFIX",
    "SESSION_SECONDS",
    "Viewer",
    "build",
    "install",
    "render",
    "runtime_of",
    "viewer_of",
]
