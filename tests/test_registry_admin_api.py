"""The registry administered over ``/v1/registry/...``: a real axis on loopback, a real store.

An admin schedules the closing of Yên Bái (H63) into Lào Cai (H38) at an instant; documents sent
before it go to H63, after it to H38, with no restart; Lào Cai's system finds the change by
polling ``changes?since=N``; the version's audit event names the admin. Every write answers 403
to an auditor and to an agency's system; bad input gets a stable code and the field's location;
Vietnamese names survive; a second server on the same store sees every change.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from axis.clock import VN_TZ, Clock
from axis.compose import letter
from axis.config import AxisConfig
from axis.resources import open_store
from axis.store.records import AuditFilter
from registry.model import Agency
from registry.registry import Registry
from signing.pki import TestPki
from tests.axis_server import AxisHttp, Reply, RunningAxis
from tests.broker_fixtures import agencies
from tests.probes import poll

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=VN_TZ)
"""The axis's clock when the module's server starts (the seed's H63 closing is long past; the
small registry below keeps Yên Bái open so the test can close it)."""


def small_registry() -> Registry:
    """Four agencies, Yên Bái still open: a store seeded with it starts in a second."""
    return Registry.build(
        [
            Agency("000.00.00.G22", "Văn phòng Chính phủ", kind="government_office"),
            Agency("000.00.00.G09", "Bộ Nội vụ", kind="ministry"),
            Agency("000.00.00.H38", "Ủy ban nhân dân tỉnh Lào Cai", kind="people_committee"),
            Agency("000.00.00.H63", "Ủy ban nhân dân tỉnh Yên Bái", kind="people_committee"),
        ],
        author="tests",
        reason="small registry",
        created_at=START - dt.timedelta(days=30),
    )


def seed_small(config: AxisConfig) -> None:
    """Seed the deployment's store with :func:`small_registry` before a server starts."""

    async def seed() -> None:
        async with open_store(config) as store:
            assert await store.seed_registry(small_registry())

    asyncio.run(seed())


def call(client: AxisHttp, method: str, path: str, body: Any = None, **query: Any) -> Reply:
    """A JSON request (``body`` None: no body)."""
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
    return client.request(method, path, data, query=query or None, content_type="application/json")


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(VN_TZ).isoformat()


class Cast:
    """The module's server and the systems that speak to it."""

    def __init__(self, axis: RunningAxis) -> None:
        self.axis = axis
        self.admin = axis.add_system("admin-ops", (), role="admin")
        self.auditor = axis.add_system("kiem-toan", (), role="auditor")
        self.laocai = axis.add_system("laocai-qlvb", ("000.00.00.H38",))
        self.yenbai = axis.add_system("yenbai-qlvb", ("000.00.00.H63",))
        self.vpcp = axis.add_system("vpcp-qlvb", ("000.00.00.G22",))

    def version(self) -> int:
        reply = call(self.laocai, "GET", "/v1/registry/versions")
        assert reply.status == 200, reply.body
        return int(reply.json()["version"])


@pytest.fixture(scope="module")
def cast(test_pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cast]:
    config = AxisConfig(
        home=tmp_path_factory.mktemp("registry-admin-home"),
        trust_dir=test_pki.trust_dir,
        signature_mode="require",
        require_sender_binding=True,
        intake_workers=1,
    )
    seed_small(config)
    with RunningAxis(config, Clock.at(START)) as axis:
        yield Cast(axis)


def test_a_scheduled_close_reroutes_at_its_instant_and_is_audited_and_polled(
    cast: Cast, test_pki: TestPki
) -> None:
    people = agencies(test_pki)
    numbers = itertools.count(1)
    clock = cast.axis.clock
    since = cast.version()
    instant = (clock.now() + dt.timedelta(hours=2)).replace(microsecond=0)

    reply = call(
        cast.admin,
        "POST",
        "/v1/registry/agencies/000.00.00.H63/close",
        {
            "at": iso(instant),
            "successors": [{"code": "000.00.00.H38", "kind": "merged", "primary": True}],
            "legal_basis": "Nghị quyết 202/2025/QH15",
            "reason": "Hợp nhất tỉnh Yên Bái vào tỉnh Lào Cai",
        },
    )
    assert reply.status == 200, reply.body
    change = reply.json()
    assert (change["version_before"], change["version"], change["changed"]) == (
        since,
        since + 1,
        True,
    )
    assert change["author"] == "admin-ops"
    assert [c["op"] for c in change["changes"]] == ["close", "succession"]

    def send() -> str:
        day = clock.now().astimezone(VN_TZ).date()
        package = letter(
            people["G22"].org,
            [people["H63"].org],
            number=str(next(numbers)),
            subject="Về việc chuẩn bị hợp nhất",
            day=day,
        )
        sent = cast.vpcp.send(people["G22"].sign(package))
        assert sent.status == 202, sent.body
        return str(sent.json()["recipients"][0]["code"])

    assert send() == "000.00.00.H63"  # before the instant: Yên Bái still receives
    resolved = call(cast.laocai, "GET", "/v1/registry/resolve/H63", at=iso(instant))
    assert resolved.json()["status"] == "redirected"
    clock.set(instant + dt.timedelta(seconds=1))  # no one at the keyboard, no restart
    assert send() == "000.00.00.H38"

    # Lào Cai's system keeps its copy in sync by polling the changes since what it holds
    polled = call(cast.laocai, "GET", "/v1/registry/changes", since=since)
    assert polled.status == 200, polled.body
    (version,) = polled.json()["versions"]
    assert (version["number"], version["author"]) == (since + 1, "admin-ops")
    assert version["reason"] == "Hợp nhất tỉnh Yên Bái vào tỉnh Lào Cai"
    succession = next(c for c in version["changes"] if c["op"] == "succession")
    assert succession["after"]["succession"]["successors"] == [
        {"code": "000.00.00.H38", "kind": "merged", "primary": True}
    ]
    assert succession["after"]["succession"]["effective"] == instant.astimezone(dt.UTC).isoformat()

    # the version's audit event names the admin; the admin event adds where from
    store = cast.axis.runtime.store  # type: ignore[union-attr]
    versions = cast.axis.call(store.audit_events(AuditFilter(kind="registry.version"))).items
    stored = next(e for e in versions if e.data["version"] == since + 1)
    assert stored.data["author"] == "admin-ops"
    admin_events = cast.axis.call(store.audit_events(AuditFilter(kind="registry.admin"))).items
    event = next(e for e in admin_events if e.data["version"] == since + 1)
    assert (event.system_id, event.address, event.data["action"]) == (
        "admin-ops",
        "127.0.0.1",
        "close",
    )
    assert "000.00.00.H63" in event.codes


WRITES: tuple[tuple[str, str, Any], ...] = (
    ("POST", "/v1/registry/agencies", {"code": "000.00.05.H38", "name": "Sở Tài chính"}),
    ("POST", "/v1/registry/agencies/000.00.00.H38/rename", {"name": "Tên mới"}),
    ("POST", "/v1/registry/agencies/000.00.00.G09/close", {}),
    ("POST", "/v1/registry/agencies/000.00.00.G09/successors", {"successors": ["G22"]}),
    ("POST", "/v1/registry/agencies/000.00.00.G09/reopen", {}),
    ("POST", "/v1/registry/imports", "op,code,name\nagency,000.00.05.H38,Sở Tài chính\n"),
    ("POST", "/v1/registry/imports/abc/apply", {}),
    ("DELETE", "/v1/registry/imports/abc", None),
    ("POST", "/v1/registry/proposals/abc/approve", {}),
    ("POST", "/v1/registry/proposals/abc/reject", {}),
)


def test_every_write_is_refused_to_an_auditor_and_to_an_agency(cast: Cast) -> None:
    before = cast.version()
    for client in (cast.auditor, cast.laocai):
        for method, path, body in WRITES:
            if isinstance(body, str):
                reply = client.request(method, path, body.encode(), content_type="text/csv")
            else:
                reply = call(client, method, path, body)
            assert reply.status == 403, (client.system_id, path, reply.body)
            assert reply.json()["code"] == "auth.forbidden"
    assert cast.version() == before
    # reading is for everyone authenticated; listing proposals is not for agencies
    assert call(cast.auditor, "GET", "/v1/registry/agencies/000.00.00.G22").status == 200
    assert call(cast.laocai, "GET", "/v1/registry/proposals").status == 403
    assert call(cast.auditor, "POST", "/v1/registry/proposals", {"code": "X"}).status == 403
    anonymous = AxisHttp(cast.axis.port, None, None)
    assert call(anonymous, "GET", "/v1/registry/versions").status == 401


def test_a_level2_unit_is_added_and_read_by_an_agency_with_its_vietnamese_name(cast: Cast) -> None:
    before = cast.version()
    name = "Sở Giáo dục và Đào tạo tỉnh Lào Cai"
    reply = call(
        cast.admin,
        "POST",
        "/v1/registry/agencies",
        {
            "code": "000.00.03.h38",  # typed in lower case: stored in upper case
            "name": "Sở  Giáo dục và Đào tạo tỉnh Lào Cai ",  # doubled and trailing spaces
            "short_name": "Sở GD&ĐT",
            "kind": "department",
            "contact": {"email": "sogddt@laocai.gov.vn"},
            "reason": "Thành lập theo Quyết định số 12/QĐ-UBND",
        },
    )
    assert reply.status == 201, reply.body
    assert reply.json()["version"] == before + 1
    assert "Sở Giáo dục".encode() in reply.body  # UTF-8, not \\u escapes

    shown = call(cast.laocai, "GET", "/v1/registry/agencies/000.00.03.H38").json()
    (record,) = shown["records"]
    assert (record["name"], record["parent"], record["short_name"]) == (
        name,
        "000.00.00.H38",
        "Sở GD&ĐT",
    )
    assert record["contact"] == {"email": "sogddt@laocai.gov.vn"}
    resolved = call(cast.laocai, "GET", "/v1/registry/resolve/000.00.03.H38").json()
    assert (resolved["status"], resolved["agency"]["name"]) == ("active", name)
    found = call(cast.laocai, "GET", "/v1/registry/search", q="giao duc va dao tao").json()
    assert [r["code"] for r in found["results"]] == ["000.00.03.H38"]
    diff = call(cast.auditor, "GET", "/v1/registry/diff", **{"from": before, "to": before + 1})
    assert diff.status == 200, diff.body
    assert diff.json()["counts"]["added"] == 1
    assert diff.json()["added"][0]["name"] == name
    listed = call(cast.laocai, "GET", "/v1/registry/versions", limit=1).json()["versions"]
    assert (listed[0]["number"], listed[0]["author"]) == (before + 1, "admin-ops")
    # the same unit again is a conflict; an unknown parent province is refused
    again = call(
        cast.admin, "POST", "/v1/registry/agencies", {"code": "000.00.03.H38", "name": "X"}
    )
    assert (again.status, again.json()["code"]) == (409, "registry.exists")
    orphan = call(
        cast.admin, "POST", "/v1/registry/agencies", {"code": "000.00.03.H99", "name": "X"}
    )
    assert (orphan.status, orphan.json()["code"], orphan.json()["location"]) == (
        422,
        "registry.parent_unknown",
        "parent",
    )


@pytest.mark.parametrize(
    ("path", "body", "status", "code", "location"),
    [
        (
            "/v1/registry/agencies",
            {"code": "000.00..H38", "name": "X"},
            422,
            "registry.bad_code",
            "code",
        ),
        ("/v1/registry/agencies", {"code": "000.00.04.H38"}, 422, "body.invalid", "name"),
        (
            "/v1/registry/agencies",
            {"code": "000.00.04.H38", "name": "X", "at": "31/02/2026"},
            422,
            "body.invalid",
            "at",
        ),
        (
            "/v1/registry/agencies/000.00.00.G09/close",
            {"succesors": []},
            422,
            "body.invalid",
            "succesors",
        ),
        (
            "/v1/registry/agencies/000.00.00.G09/close",
            {"successors": [{"code": "000.00.00.G22", "kind": "eaten"}]},
            422,
            "body.invalid",
            "successors[0].kind",
        ),
        (
            "/v1/registry/agencies/000.00.00.G09/close",
            {"successors": ["000.00.00.G22", {"code": "000.00.00.G77"}]},
            422,
            "registry.successor_unknown",
            "successors[1].code",
        ),
        ("/v1/registry/agencies/000.00.00.G77/close", {}, 404, "registry.not_found", "code"),
        ("/v1/registry/agencies/000.00.00.G09/reopen", {}, 409, "registry.not_closed", "code"),
        ("/v1/registry/agencies/000.00.00.G09/rename", {"name": 7}, 422, "body.invalid", "name"),
    ],
)
def test_bad_input_gets_a_stable_code_and_the_field(
    cast: Cast, path: str, body: Any, status: int, code: str, location: str
) -> None:
    before = cast.version()
    reply = call(cast.admin, "POST", path, body)
    assert reply.status == status, reply.body
    assert reply.headers["Content-Type"].startswith("application/problem+json")
    problem = reply.json()
    assert (problem["code"], problem["location"]) == (code, location)
    assert cast.version() == before


def test_reads_refuse_bad_queries_precisely(cast: Cast) -> None:
    not_json = cast.admin.request(
        "POST", "/v1/registry/agencies", b"{not json", content_type="application/json"
    )
    assert (not_json.status, not_json.json()["code"]) == (400, "body.invalid")
    missing = call(cast.laocai, "GET", "/v1/registry/changes")
    assert (missing.status, missing.json()["location"]) == (400, "since")
    future = call(cast.laocai, "GET", "/v1/registry/changes", since=10_000)
    assert (future.status, future.json()["code"]) == (404, "registry.version_future")
    unknown = call(cast.laocai, "GET", "/v1/registry/agencies/000.00.00.G77")
    assert (unknown.status, unknown.json()["code"]) == (404, "registry.not_found")
    empty = call(cast.laocai, "GET", "/v1/registry/search", q=" ")
    assert (empty.status, empty.json()["location"]) == (422, "q")


def test_a_scheduled_rename_keeps_history_and_reopen_undoes_a_close(cast: Cast) -> None:
    now = cast.axis.clock.now()
    later = (now + dt.timedelta(days=10)).replace(microsecond=0)
    renamed = call(
        cast.admin,
        "POST",
        "/v1/registry/agencies/000.00.00.G09/rename",
        {"name": "Bộ Nội vụ (tên mới)", "at": iso(later)},
    )
    assert renamed.status == 200, renamed.body
    assert [c["op"] for c in renamed.json()["changes"]] == ["close", "add"]
    before = call(cast.laocai, "GET", "/v1/registry/resolve/000.00.00.G09", at=iso(now)).json()
    after = call(cast.laocai, "GET", "/v1/registry/resolve/000.00.00.G09", at=iso(later)).json()
    assert (before["agency"]["name"], after["agency"]["name"]) == (
        "Bộ Nội vụ",
        "Bộ Nội vụ (tên mới)",
    )
    closed = call(
        cast.admin,
        "POST",
        "/v1/registry/agencies/000.00.00.G09/close",
        {"at": iso(later + dt.timedelta(days=1)), "successors": ["000.00.00.G22"]},
    )
    assert closed.status == 200, closed.body
    at_end = iso(later + dt.timedelta(days=2))
    status = call(cast.laocai, "GET", "/v1/registry/resolve/000.00.00.G09", at=at_end).json()
    assert status["status"] == "redirected"
    reopened = call(cast.admin, "POST", "/v1/registry/agencies/000.00.00.G09/reopen", {})
    assert reopened.status == 200, reopened.body
    assert [c["op"] for c in reopened.json()["changes"]] == ["update", "remove_succession"]
    status = call(cast.laocai, "GET", "/v1/registry/resolve/000.00.00.G09", at=at_end).json()
    assert (status["status"], status["agency"]["name"]) == ("active", "Bộ Nội vụ (tên mới)")


def test_a_second_server_on_the_same_store_follows_every_change(
    cast: Cast, test_pki: TestPki, tmp_path: Path
) -> None:
    first = cast.axis.config
    config = AxisConfig(
        home=tmp_path / "node-b",
        store=f"sqlite://{(first.home / 'axis.sqlite3').absolute()}",
        trust_dir=test_pki.trust_dir,
        intake_workers=1,
    )
    with RunningAxis(config, Clock.at(cast.axis.clock.now())) as node_b:
        admin_b = AxisHttp(node_b.port, cast.admin.system_id, cast.admin._auth_secret)
        laocai_b = AxisHttp(node_b.port, cast.laocai.system_id, cast.laocai._auth_secret)
        added = call(
            cast.admin,
            "POST",
            "/v1/registry/agencies",
            {"code": "000.00.09.H38", "name": "Sở Nội vụ tỉnh Lào Cai"},
        )
        assert added.status == 201, added.body
        version = added.json()["version"]

        def b_knows(code: str) -> bool:
            reply = call(laocai_b, "GET", f"/v1/registry/resolve/{code}")
            return reply.json()["status"] == "active"

        assert poll(lambda: b_knows("000.00.09.H38"), 15), "node B never switched"
        # and the other way round: a change made through B reaches A
        renamed = call(
            admin_b,
            "POST",
            "/v1/registry/agencies/000.00.09.H38/rename",
            {"name": "Sở Nội vụ và Tư pháp tỉnh Lào Cai"},
        )
        assert renamed.status == 200, renamed.body
        assert renamed.json()["version"] == version + 1

        def a_has_new_name() -> bool:
            reply = call(cast.laocai, "GET", "/v1/registry/agencies/000.00.09.H38").json()
            return bool(reply["records"][0]["name"] == "Sở Nội vụ và Tư pháp tỉnh Lào Cai")

        assert poll(a_has_new_name, 15), "node A never switched"
