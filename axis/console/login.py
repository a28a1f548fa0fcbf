"""Logging in and out, and the language switch.

A login is checked by the runtime's own :class:`axis.auth.authenticator.Authenticator`, exactly
as an API call with the same id and secret would be: the same scrypt check, the same answer for
an unknown id and a wrong secret, the same failure rate limit per address. Only ``admin`` and
``auditor`` systems get a session; an agency's system is refused with 403. Logins, refusals and
logouts are audit events (``console.login``, ``console.refused``, ``console.logout``), never
with the secret.
"""

from __future__ import annotations

import base64
from typing import Final

from aiohttp import web

from axis.console.labels import LANGUAGES
from axis.console.session import LOGIN_FORM_SECONDS, SESSION_SECONDS
from axis.console.web import (
    KEYS,
    LANG_COOKIE,
    LOGIN_COOKIE,
    PREFIX,
    SESSION_COOKIE,
    ConsoleRefusalError,
    address_of,
    check_form,
    form_text,
    local_target,
    render,
    runtime_of,
    see_other,
    set_cookie,
    viewer_of,
)
from axis.errors import AuthError
from axis.http.roles import READERS
from axis.store.records import AuditDraft

routes = web.RouteTableDef()

LANG_SECONDS: Final = 365 * 24 * 3600
_MAX_FIELD: Final = 512


def _basic(system_id: str, secret: str) -> str:
    """The Authorization header the authenticator reads (the console's form is its input)."""
    token = base64.b64encode(f"{system_id}:{secret}".encode()).decode("ascii")
    return f"Basic {token}"


def _login_page(
    request: web.Request, *, error: str | None = None, status: int = 200, system_id: str = ""
) -> web.Response:
    csrf, cookie = request.config_dict[KEYS].login_form()
    response = render(
        request,
        "login.html",
        {
            "login_csrf": csrf,
            "error": error,
            "system_id": system_id,
            "next": local_target(request.query.get("next")),
            "logged_out": "bye" in request.query,
        },
        status=status,
    )
    set_cookie(request, response, LOGIN_COOKIE, cookie, LOGIN_FORM_SECONDS)
    return response


@routes.get("/login")
async def login_form(request: web.Request) -> web.Response:
    return _login_page(request)


@routes.post("/login")
async def login(request: web.Request) -> web.StreamResponse:
    keys = request.config_dict[KEYS]
    try:
        await check_form(request, keys.login_csrf(request.cookies.get(LOGIN_COOKIE)))
    except ConsoleRefusalError:
        return _login_page(request, error="login.expired", status=403)
    form = await request.post()
    system_id = form_text(form, "system_id")[:_MAX_FIELD]
    secret = form.get("secret")
    secret = secret[:_MAX_FIELD] if isinstance(secret, str) else ""
    if not system_id or not secret or ":" in system_id:
        return _login_page(request, error="login.bad", status=401, system_id=system_id)
    runtime = runtime_of(request)
    address = address_of(request)
    try:
        principal = await runtime.auth.authenticate_basic(_basic(system_id, secret), address)
    except AuthError as exc:
        error = {"auth.rate_limited": "login.rate_limited", "auth.revoked": "login.revoked"}
        return _login_page(
            request, error=error.get(exc.code, "login.bad"), status=exc.status, system_id=system_id
        )
    if principal.role not in READERS:
        await runtime.store.append_audit(
            [
                AuditDraft(
                    kind="console.refused",
                    at=runtime.now(),
                    system_id=principal.system_id,
                    address=address,
                    data={"role": principal.role},
                )
            ]
        )
        return _login_page(request, error="login.agency", status=403, system_id=system_id)
    session, token = keys.issue(principal.system_id)
    await runtime.store.append_audit(
        [
            AuditDraft(
                kind="console.login",
                at=runtime.now(),
                system_id=principal.system_id,
                address=address,
                data={"role": principal.role, "session": session.session_id},
            )
        ]
    )
    response = see_other(local_target(form_text(form, "next")))
    set_cookie(request, response, SESSION_COOKIE, token, SESSION_SECONDS)
    response.del_cookie(LOGIN_COOKIE, path=PREFIX)
    return response


@routes.post("/logout")
async def logout(request: web.Request) -> web.StreamResponse:
    viewer = viewer_of(request)
    runtime = runtime_of(request)
    await runtime.store.append_audit(
        [
            AuditDraft(
                kind="console.logout",
                at=runtime.now(),
                system_id=viewer.record.system_id,
                address=address_of(request),
                data={"session": viewer.session.session_id},
            )
        ]
    )
    response = see_other(f"{PREFIX}login?bye")
    response.del_cookie(SESSION_COOKIE, path=PREFIX)
    return response


@routes.get("/lang")
async def language(request: web.Request) -> web.StreamResponse:
    """Switch the language (a cookie) and go back to the page the person was on."""
    wanted = request.query.get("to", "")
    response = see_other(local_target(request.query.get("next")))
    if wanted in LANGUAGES:
        set_cookie(request, response, LANG_COOKIE, wanted, LANG_SECONDS)
    return response
