"""The web console over plain HTTP (an aiohttp client against a real axis on loopback): who may
log in, the session cookie's flags, CSRF on every form, and an auditor who can change nothing.

What the browser tests show with clicks, these show at the protocol: every POST route of the
console is enumerated from its router, so a form added later is covered without being named.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import stat
import unicodedata
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import aiohttp
import pytest
from multidict import CIMultiDictProxy

import edxml
from axis.clock import VN_TZ, Clock
from axis.compose import letter
from axis.config import AxisConfig
from axis.console import labels
from axis.console.chart import bar_chart, nice_top
from axis.console.crl_view import CrlHealth
from axis.console.journey import route_text
from axis.console.registry_pages import PLAN_GROUPS
from axis.console.web import build as build_console
from axis.paths import PROJECT_ROOT
from axis.store.records import DELIVERY_STATES, ROLES, AuditFilter, Delivery
from edxml import Organization
from registry.model import Change, Succession, SuccessionKind, Successor
from registry.resolution import ResolutionStatus
from tests.axis_server import AxisHttp, RunningAxis
from tests.browser import seed_small_registry, small_registry

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=VN_TZ)
PAGES = (
    "/console/",
    "/console/messages",
    "/console/deliveries",
    "/console/systems",
    "/console/registry",
    "/console/registry/diff",
)
TEMPLATES = PROJECT_ROOT / "axis" / "console" / "templates"


@dataclass
class Reply:
    status: int
    headers: CIMultiDictProxy[str]
    text: str

    @property
    def set_cookies(self) -> list[str]:
        return list(self.headers.getall("Set-Cookie", []))

    def csrf(self) -> str:
        found = re.search(r'name="csrf-token" content="([^"]+)"', self.text) or re.search(
            r'name="csrf" value="([^"]+)"', self.text
        )
        assert found, self.text[:500]
        return found.group(1)


class ConsoleHttp:
    """A person's browser reduced to HTTP: a cookie jar and the console's forms."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def close(self) -> None:
        await self.session.close()

    async def request(
        self, method: str, path: str, *, data: Any = None, headers: dict[str, str] | None = None
    ) -> Reply:
        async with self.session.request(
            method, self.base + path, data=data, headers=headers, allow_redirects=False
        ) as response:
            return Reply(response.status, response.headers, await response.text())

    async def get(self, path: str) -> Reply:
        return await self.request("GET", path)

    async def post(self, path: str, fields: dict[str, str], **kw: Any) -> Reply:
        return await self.request("POST", path, data=fields, **kw)

    async def login(self, system_id: str, secret: str) -> Reply:
        form = await self.get("/console/login")
        return await self.post(
            "/console/login",
            {"csrf": form.csrf(), "system_id": system_id, "secret": secret, "next": "/console/"},
        )

    async def csrf(self) -> str:
        return (await self.get("/console/")).csrf()


def run(scenario: Callable[[ConsoleHttp], Awaitable[None]], port: int) -> None:
    async def main() -> None:
        client = ConsoleHttp(port)
        try:
            await scenario(client)
        finally:
            await client.close()

    asyncio.run(main())


@dataclass
class Console:
    axis: RunningAxis
    admin: AxisHttp
    auditor: AxisHttp
    agency: AxisHttp
    sender: AxisHttp
    dead_message: str

    def secret(self, who: AxisHttp) -> str:
        assert who._auth_secret is not None
        return who._auth_secret

    def delivery_state(self) -> str:
        assert self.axis.runtime is not None
        deliveries = self.axis.call(self.axis.runtime.store.deliveries(self.dead_message))
        return deliveries[0].state


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    config = AxisConfig(
        home=tmp_path_factory.mktemp("console-http"), intake_workers=1, signature_mode="off"
    )
    seed_small_registry(config)
    with RunningAxis(config, Clock.at(NOW)) as axis:
        admin = axis.add_system("quantri", (), role="admin")
        auditor = axis.add_system("kiemtoan", (), role="auditor")
        agency = axis.add_system("laocai-qlvb", ("000.00.00.H38",))
        sender = axis.add_system("vpcp-qlvb", ("000.00.00.G22",))
        package = letter(
            Organization("000.00.00.G22", organ_name="Văn phòng Chính phủ"),
            [Organization("000.00.00.H38", organ_name="Ủy ban nhân dân tỉnh Lào Cai")],
            number="7",
            subject="Về việc thử nghiệm bảng điều khiển",
            day=NOW.date(),
        )
        sent = sender.send(edxml.build(package))
        assert sent.status == 202, sent.body
        message_id = sent.json()["message_id"]
        assert agency.fetch(message_id).status == 200
        assert agency.ack(message_id, "fail", "hồ sơ không đọc được").status == 200
        yield Console(axis, admin, auditor, agency, sender, message_id)


def post_routes() -> list[str]:
    """Every POST path of the console, its placeholders filled (``{name}`` -> ``x``)."""
    app = build_console(AxisConfig())
    paths = []
    for route in app.router.routes():
        if route.method == "POST":
            canonical = route.resource.canonical if route.resource is not None else ""
            paths.append("/console" + re.sub(r"\{[^}]+\}", "x", canonical))
    return sorted(set(paths))


def write_routes() -> list[str]:
    return [p for p in post_routes() if p not in ("/console/login", "/console/logout")]


def test_the_console_has_write_forms_to_guard() -> None:
    writes = write_routes()
    assert "/console/registry/close" in writes
    assert "/console/deliveries/x/x/x" in writes
    assert "/console/signers" in writes
    assert "/console/registry/import" in writes
    assert len(writes) >= 6


def test_every_page_needs_a_login(console: Console) -> None:
    async def scenario(client: ConsoleHttp) -> None:
        for page in PAGES:
            reply = await client.get(page)
            assert reply.status == 303, page
            assert reply.headers["Location"].startswith("/console/login?next=/console/")
        for path in post_routes():
            if path != "/console/login":
                assert (await client.post(path, {"csrf": "x"})).status == 401, path
        css = await client.get("/console/static/console.css")
        assert css.status == 200
        assert css.headers["Content-Type"].startswith("text/css")
        # the API's Basic credentials open no page of the console
        basic = console.admin._auth
        assert basic is not None
        reply = await client.request("GET", "/console/", headers={"Authorization": basic})
        assert reply.status == 303

    run(scenario, console.axis.port)


def test_a_wrong_secret_gets_no_session(console: Console) -> None:
    async def scenario(client: ConsoleHttp) -> None:
        reply = await client.login("quantri", "not-the-secret-at-all")
        assert reply.status == 401
        assert labels.LABELS["vi"]["login.bad"] in reply.text
        assert not any(c.startswith("axis_console=") for c in reply.set_cookies)
        unknown = await client.login("nobody", "not-the-secret-at-all")
        assert unknown.status == 401
        assert labels.LABELS["vi"]["login.bad"] in unknown.text
        assert (await client.get("/console/")).status == 303

    run(scenario, console.axis.port)


def test_an_agency_system_cannot_reach_the_console(console: Console) -> None:
    async def scenario(client: ConsoleHttp) -> None:
        reply = await client.login("laocai-qlvb", console.secret(console.agency))
        assert reply.status == 403
        assert labels.LABELS["vi"]["login.agency"] in reply.text
        assert not any(c.startswith("axis_console=") for c in reply.set_cookies)
        for page in PAGES:
            assert (await client.get(page)).status == 303

    run(scenario, console.axis.port)
    runtime = console.axis.runtime
    assert runtime is not None
    refused = console.axis.call(
        runtime.store.audit_events(AuditFilter(kind="console.refused", system_id="laocai-qlvb"))
    )
    assert refused.items, "the refused console login is in the audit log"


def test_the_session_cookie_is_httponly_strict_and_scoped(console: Console) -> None:
    async def scenario(client: ConsoleHttp) -> None:
        form = await client.get("/console/login")
        login_cookie = next(c for c in form.set_cookies if c.startswith("axis_console_login="))
        reply = await client.post(
            "/console/login",
            {
                "csrf": form.csrf(),
                "system_id": "quantri",
                "secret": console.secret(console.admin),
                "next": "/console/systems",
            },
        )
        assert reply.status == 303
        assert reply.headers["Location"] == "/console/systems"
        session = next(c for c in reply.set_cookies if c.startswith("axis_console="))
        for cookie in (session, login_cookie):
            flags = [part.strip().lower() for part in cookie.split(";")]
            assert "httponly" in flags
            assert "samesite=strict" in flags
            assert "path=/console/" in flags
            assert "secure" not in flags  # plain HTTP here; Secure is set when served over TLS
        assert "max-age=28800" in session.lower()
        assert '"' not in session.split(";")[0]  # a value that needs no quoting
        page = await client.get("/console/systems")
        assert page.status == 200
        assert "quantri" in page.text
        assert page.headers["Cache-Control"] == "no-store"
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]

    run(scenario, console.axis.port)
    key = console.axis.config.home / "keys" / "console.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_a_form_without_its_csrf_token_changes_nothing(console: Console) -> None:
    retry = f"/console/deliveries/{console.dead_message}/000.00.00.H38/retry"

    async def scenario(client: ConsoleHttp) -> None:
        assert (await client.login("quantri", console.secret(console.admin))).status == 303
        token = await client.csrf()
        other = ConsoleHttp(console.axis.port)
        try:
            await other.login("quantri", console.secret(console.admin))
            other_token = await other.csrf()
        finally:
            await other.close()
        assert other_token != token
        for fields, headers in (
            ({}, None),  # no token
            ({"csrf": ""}, None),
            ({"csrf": token[:-2] + "xx"}, None),  # a wrong one
            ({"csrf": other_token}, None),  # another session's
            ({"csrf": token}, {"Origin": "https://evil.example"}),  # the right one, elsewhere
        ):
            reply = await client.post(retry, fields, headers=headers)
            assert reply.status == 403, fields
            assert 'data-code="console.csrf"' in reply.text
            assert console.delivery_state() == "fail"
        reply = await client.post(retry, {"csrf": token})
        assert reply.status == 303
        assert console.delivery_state() == "pending"

    assert console.delivery_state() == "fail"
    run(scenario, console.axis.port)
    runtime = console.axis.runtime
    assert runtime is not None
    retries = console.axis.call(
        runtime.store.audit_events(
            AuditFilter(kind="delivery.retry", message_id=console.dead_message)
        )
    )
    assert [e.system_id for e in retries.items] == ["quantri"]
    # put it back to a dead letter for the other tests
    assert console.agency.fetch(console.dead_message).status == 200
    assert console.agency.ack(console.dead_message, "fail", "lần nữa").status == 200


def test_an_auditor_can_change_nothing(console: Console) -> None:
    runtime = console.axis.runtime
    assert runtime is not None
    version = runtime.registry.version
    entries = console.axis.call(runtime.store.entries("signer"))
    state = console.delivery_state()
    real_values = {
        "/console/deliveries/x/x/x": (
            f"/console/deliveries/{console.dead_message}/000.00.00.H38/retry"
        ),
    }
    filled = {
        "code": "000.00.00.H63",
        "successor": "000.00.00.H38",
        "at": "2026-03-02T10:00",
        "codes": "000.00.00.H38",
        "issuer": "CN=Test CA,C=VN",
        "serial": "1F",
        "key": "0" * 64,
    }

    async def scenario(client: ConsoleHttp) -> None:
        assert (await client.login("kiemtoan", console.secret(console.auditor))).status == 303
        token = await client.csrf()
        for page in PAGES:
            reply = await client.get(page)
            assert reply.status == 200, page
            assert labels.LABELS["vi"]["readonly.note"] in reply.text
            assert 'id="close-form"' not in reply.text
            assert 'class="retry"' not in reply.text
        for path in write_routes():
            target = real_values.get(path, path)
            reply = await client.post(target, {**filled, "csrf": token})
            assert reply.status == 403, target
            assert 'data-code="console.read_only"' in reply.text
        logout = await client.post("/console/logout", {"csrf": token})
        assert logout.status == 303  # logging out is not a change

    run(scenario, console.axis.port)
    assert runtime.registry.version == version
    assert console.axis.call(runtime.store.entries("signer")) == entries
    assert console.delivery_state() == state


def test_logout_ends_the_session_in_the_browser(console: Console) -> None:
    async def scenario(client: ConsoleHttp) -> None:
        await client.login("kiemtoan", console.secret(console.auditor))
        token = await client.csrf()
        reply = await client.post("/console/logout", {"csrf": token})
        assert reply.status == 303
        assert any(
            c.startswith("axis_console=") and "max-age=0" in c.lower() for c in reply.set_cookies
        )
        assert (await client.get("/console/")).status == 303

    run(scenario, console.axis.port)


def test_a_revoked_system_is_out_at_its_next_click(console: Console) -> None:
    runtime = console.axis.runtime
    assert runtime is not None
    temp = console.axis.add_system("kiemtoan-tam", (), role="auditor")

    async def scenario(client: ConsoleHttp) -> None:
        assert (await client.login("kiemtoan-tam", console.secret(temp))).status == 303
        assert (await client.get("/console/systems")).status == 200
        record = console.axis.call(runtime.store.system("kiemtoan-tam"))
        assert record is not None
        from dataclasses import replace

        from axis.store.records import AuditDraft

        revoked = replace(record, revoked_at=runtime.now())
        console.axis.call(
            runtime.store.put_system(revoked, AuditDraft(kind="system.revoked", at=runtime.now()))
        )
        assert (await client.get("/console/systems")).status == 303

    run(scenario, console.axis.port)


def test_the_login_goes_only_to_pages_of_the_console(console: Console) -> None:
    async def scenario(client: ConsoleHttp) -> None:
        for target in ("https://evil.example/", "//evil.example/console/", "/v1/inbox"):
            form = await client.get(f"/console/login?next={target}")
            reply = await client.post(
                "/console/login",
                {
                    "csrf": form.csrf(),
                    "system_id": "kiemtoan",
                    "secret": console.secret(console.auditor),
                    "next": target,
                },
            )
            assert reply.status == 303
            assert reply.headers["Location"] == "/console/"

    run(scenario, console.axis.port)


def test_a_login_form_needs_its_own_token(console: Console) -> None:
    async def scenario(client: ConsoleHttp) -> None:
        reply = await client.post(
            "/console/login",
            {"csrf": "forged", "system_id": "quantri", "secret": console.secret(console.admin)},
        )
        assert reply.status == 403
        assert not any(c.startswith("axis_console=") for c in reply.set_cookies)

    run(scenario, console.axis.port)


def test_vietnamese_by_default_and_english_on_request(console: Console) -> None:
    async def scenario(client: ConsoleHttp) -> None:
        page = await client.get("/console/login")
        assert '<html lang="vi">' in page.text
        assert "Đăng nhập" in page.text
        switch = await client.get("/console/lang?to=en&next=/console/login")
        assert switch.status == 303
        assert switch.headers["Location"] == "/console/login"
        english = await client.get("/console/login")
        assert '<html lang="en">' in english.text
        assert "Log in" in english.text
        await client.get("/console/lang?to=xx&next=/console/login")  # unknown: unchanged
        assert '<html lang="en">' in (await client.get("/console/login")).text

    run(scenario, console.axis.port)


def test_every_label_a_template_uses_exists_in_both_languages() -> None:
    used: set[str] = set()
    for template in Path(TEMPLATES).glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*'([a-z0-9_.]+)'\s*\)""", template.read_text()))
    assert len(used) > 100
    for lang in labels.LANGUAGES:
        missing = used - set(labels.LABELS[lang])
        assert not missing, f"{lang}: {sorted(missing)}"
    dynamic = (
        {f"role.{role}" for role in ROLES}
        | {f"registry.kind.{kind.value}" for kind in SuccessionKind}
        | {f"resolve.{status}" for status in get_args(ResolutionStatus)}
        | {f"registry.{label}" for label, _ in PLAN_GROUPS}
        | {f"crl.{health}" for health in get_args(CrlHealth)}
        | {f"import.state.{state}" for state in ("pending", "applied", "discarded")}
        | {f"deliveries.{action}" for action in ("retry", "cancel")}
        | {f"msg.kind.{kind}" for kind in ("edoc", "status")}
        | {f"error.{status}" for status in (401, 403, 404, 409, 422)}
        | {f"login.{why}" for why in ("bad", "agency", "rate_limited", "revoked", "expired")}
    )
    for lang in labels.LANGUAGES:
        assert not dynamic - set(labels.LABELS[lang]), lang
    assert set(labels.LABELS["vi"]) == set(labels.LABELS["en"])
    vietnamese = [*labels.LABELS["vi"].values(), *labels.STATUS_NAMES["vi"].values()]
    assert all(unicodedata.is_normalized("NFC", text) for text in vietnamese)
    assert set(labels.EVENT_NAMES["vi"]) == set(labels.EVENT_NAMES["en"])
    assert set(labels.STATE_NAMES["vi"]) == set(DELIVERY_STATES)
    assert set(labels.STATUS_NAMES["vi"]) == {"01", "02", "03", "04", "05", "06", "13", "15", "16"}


def test_a_moved_delivery_is_explained_from_the_registrys_succession() -> None:

    effective = dt.datetime(2026, 7, 1, tzinfo=VN_TZ)
    registry = small_registry().apply(
        [
            Change(
                "succession",
                "000.00.00.H63",
                None,
                Succession(
                    "000.00.00.H63",
                    (Successor("000.00.00.H38", SuccessionKind.MERGED, primary=True),),
                    effective,
                    "QĐ 09/2026/QĐ-TTg",
                ),
            )
        ],
        author="tests",
        reason="a succession",
    )
    moved = Delivery(1, "m", "000.00.00.H38", "000.00.00.H63", "pending", 0, NOW)
    assert route_text(moved, registry, "từ") == (
        "000.00.00.H63 → 000.00.00.H38 từ 2026-07-01, QĐ 09/2026/QĐ-TTg"
    )
    direct = Delivery(2, "m", "000.00.00.H38", "000.00.00.H38", "pending", 0, NOW)
    assert route_text(direct, registry, "từ") is None
    hop = {"from": "A", "to": "B", "effective": "2026-07-01T03:30:00+00:00", "legal_basis": ""}
    hopped = Delivery(3, "m", "B", "A", "done", 1, NOW, resolution={"hops": [hop]})
    assert route_text(hopped, registry, "from") == "A → B from 2026-07-01 10:30 +07"

    assert [nice_top(n) for n in (0, 1, 3, 7, 12, 480)] == [1, 1, 5, 10, 20, 500]
    chart = bar_chart([0, 5, 10], ["00", "01", "02"])
    assert chart.bars[0].height == 0
    assert chart.bars[2].y < chart.bars[1].y < chart.bars[0].y == chart.baseline
