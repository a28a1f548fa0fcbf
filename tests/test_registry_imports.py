"""Imports are all or nothing: upload → plan → apply (now or at an instant), CLI and API alike.

The two known bugs, tried as a new user would: a CSV stating one code twice with two names used
to report the conflict, apply one of the rows anyway and exit 0; a CSV with a quote never closed
imported the rest of the file as one name. Both are now refused with their line numbers and the
registry is left as it was (exit 1 / HTTP 422); a partial apply happens only when asked, and says
what it left out.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from axis.cli import main
from axis.clock import Clock
from axis.config import AxisConfig
from axis.resources import open_store
from registry.registry import Registry
from registry.sources import read_text
from tests.axis_server import AxisHttp, RunningAxis
from tests.test_registry_admin_api import START, call, iso, seed_small

DUPLICATE_CSV = (
    "op,code,name,parent\n"
    "agency,000.00.08.H38,Sở Tài chính tỉnh Lào Cai,\n"
    "agency,000.00.09.H38,Sở Nội vụ tỉnh Lào Cai,\n"
    "agency,000.00.09.H38,Sở Tư pháp tỉnh Lào Cai,\n"
)
UNTERMINATED_CSV = (
    "op,code,name\n"
    "agency,000.00.10.H38,Sở Y tế tỉnh Lào Cai\n"
    'agency,000.00.11.H38,"Sở Xây dựng tỉnh Lào Cai\n'
    "agency,000.00.12.H38,Sở Công Thương tỉnh Lào Cai\n"
    "agency,000.00.13.H38,Thanh tra tỉnh Lào Cai\n"
)
GOOD_CSV = (
    "op,code,name,short_name,kind,email\n"
    "agency,000.00.14.H38,Sở Khoa học và Công nghệ tỉnh Lào Cai,Sở KH&CN,department,"
    "skhcn@laocai.gov.vn\n"
    "agency,000.00.15.H38,Ban Quản lý các khu công nghiệp tỉnh Lào Cai,,department,\n"
)


# --- the reader ---------------------------------------------------------------------------------


def test_an_unterminated_quote_is_an_error_at_its_line_and_nothing_after_it_is_read() -> None:
    batch = read_text(UNTERMINATED_CSV, "quote.csv")
    assert [a.code for a in batch.agencies] == ["000.00.10.H38"]  # the row before it
    assert batch.agency_lines == (2,)
    (issue,) = batch.errors
    assert (issue.code, issue.line) == ("file.unterminated_quote", 3)
    assert "lines 3-5" in issue.message
    assert not any("Công Thương" in a.name for a in batch.agencies)  # not swallowed as a name


def test_a_stray_quote_and_a_record_spanning_lines_are_errors_with_their_lines() -> None:
    text = (
        "op,code,name\n"
        'agency,000.00.10.H38,"Sở "Y tế"" x\n'  # a quote inside a quoted cell, not doubled
        'agency,000.00.11.H38,"Sở Xây dựng\n'  # a quote closed only on the next line
        'agency,000.00.12.H38,Sở Công Thương"\n'
        'agency,000.00.13.H38,"Thanh tra ""tỉnh"""\n'  # correctly doubled: fine
    )
    batch = read_text(text, "quotes.csv")
    assert [(i.code, i.line) for i in batch.errors] == [
        ("row.bad_quoting", 2),
        ("row.line_break", 3),
    ]
    assert [(a.code, a.name) for a in batch.agencies] == [("000.00.13.H38", 'Thanh tra "tỉnh"')]
    assert batch.agency_lines == (5,)


# --- the CLI ------------------------------------------------------------------------------------


def _version(home: Path) -> int:
    async def read() -> int:
        async with open_store(AxisConfig(home=home)) as store:
            version = await store.registry_version()
            assert version is not None
            return version

    return asyncio.run(read())


def _registry(home: Path) -> Registry:
    async def read() -> Registry:
        async with open_store(AxisConfig(home=home)) as store:
            registry = await store.load_registry()
            assert registry is not None
            return registry

    return asyncio.run(read())


def test_cli_refuses_a_code_stated_twice_with_two_names_then_partial_only_when_asked(
    axis_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "dup.csv"
    source.write_text(DUPLICATE_CSV, encoding="utf-8")
    assert main(["registry", "resolve", "H38"]) == 0  # seeds the store
    before = _version(axis_home)
    capsys.readouterr()
    assert main(["registry", "import", str(source)]) == 1
    out = capsys.readouterr().out
    assert "lines 3, 4: conflict [agency.duplicate] 000.00.09.H38" in out
    assert "'Sở Nội vụ tỉnh Lào Cai' (line 3); 'Sở Tư pháp tỉnh Lào Cai' (line 4)" in out
    assert "refused: nothing applied" in out
    assert _version(axis_home) == before
    assert not _registry(axis_home).records("000.00.08.H38")  # not even the good row

    assert main(["registry", "import", str(source), "--partial", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["version_after"] == before + 1
    assert [(p["code"], p["lines"]) for p in report["left_out"]] == [("agency.duplicate", [3, 4])]
    registry = _registry(axis_home)
    assert registry.records("000.00.08.H38")[0].name == "Sở Tài chính tỉnh Lào Cai"
    assert not registry.records("000.00.09.H38")  # neither of the two names was guessed


def test_cli_refuses_an_unterminated_quote_with_its_line(
    axis_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "quote.csv"
    source.write_text(UNTERMINATED_CSV, encoding="utf-8")
    assert main(["registry", "resolve", "H38"]) == 0
    before = _version(axis_home)
    capsys.readouterr()
    assert main(["registry", "import", str(source)]) == 1
    out = capsys.readouterr().out
    assert "line 3: error [file.unterminated_quote]" in out
    assert _version(axis_home) == before
    assert main(["registry", "import", str(source), "--dry-run"]) == 1  # same verdict, dry
    assert _version(axis_home) == before


def test_cli_single_changes_print_the_new_version(
    axis_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["registry", "resolve", "H38"]) == 0
    before = _version(axis_home)
    capsys.readouterr()
    assert (
        main(
            [
                "registry",
                "add",
                "000.00.16.H38",
                "Sở Văn hóa, Thể thao và Du lịch tỉnh Lào Cai",
                "--kind",
                "department",
                "--author",
                "nguyen-van-a",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert f"added 000.00.16.H38: registry version {before} -> {before + 1}" in out
    assert main(["registry", "close", "000.00.16.H38", "--at", "2030-01-01", "--to", "H38"]) == 0
    assert f"{before + 1} -> {before + 2}" in capsys.readouterr().out
    assert main(["registry", "resolve", "000.00.16.H38", "--at", "2030-01-02"]) == 0
    assert "=> 000.00.00.H38" in capsys.readouterr().out
    assert main(["registry", "reopen", "000.00.16.H38"]) == 0
    capsys.readouterr()
    assert main(["registry", "succeed", "G24", "--to", "G12:merged:primary", "--json"]) == 0
    succeeded = json.loads(capsys.readouterr().out)
    (change,) = succeeded["changes"]
    assert change["after"]["succession"]["successors"] == [
        {"code": "000.00.00.G12", "kind": "merged", "primary": True}
    ]
    assert main(["registry", "rename", "000.00.16.H38", "Sở VHTTDL", "--at", "2031-01-01"]) == 0
    registry = _registry(axis_home)
    assert registry.version == before + 5
    assert [a.name for a in registry.records("000.00.16.H38")] == [
        "Sở Văn hóa, Thể thao và Du lịch tỉnh Lào Cai",
        "Sở VHTTDL",
    ]
    assert registry.log.get(before + 1).author == "nguyen-van-a"
    capsys.readouterr()
    assert main(["registry", "add", "000.00.16.H38", "Lại lần nữa"]) == 1
    assert "registry.exists" in capsys.readouterr().err


# --- the API ------------------------------------------------------------------------------------


class Admin:
    def __init__(self, axis: RunningAxis) -> None:
        self.axis = axis
        self.client = axis.add_system("admin-ops", (), role="admin")
        self.agency = axis.add_system("laocai-qlvb", ("000.00.00.H38",))

    def upload(self, text: str, **query: Any) -> dict[str, Any]:
        reply = self.client.request(
            "POST",
            "/v1/registry/imports",
            text.encode("utf-8"),
            query={"filename": "list.csv", **query},
            content_type="text/csv",
        )
        assert reply.status == 201, reply.body
        return dict(reply.json())

    def version(self) -> int:
        return int(call(self.agency, "GET", "/v1/registry/versions").json()["version"])

    def resolve(self, code: str, at: dt.datetime | None = None) -> dict[str, Any]:
        query = {} if at is None else {"at": iso(at)}
        return dict(call(self.agency, "GET", f"/v1/registry/resolve/{code}", **query).json())


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Admin]:
    config = AxisConfig(home=tmp_path_factory.mktemp("imports-home"), intake_workers=1)
    seed_small(config)
    with RunningAxis(config, Clock.at(START)) as axis:
        yield Admin(axis)


@pytest.mark.parametrize(
    ("text", "problem", "lines"),
    [
        (DUPLICATE_CSV, "agency.duplicate", [3, 4]),
        (UNTERMINATED_CSV, "file.unterminated_quote", [3]),
    ],
)
def test_api_refuses_the_two_bad_lists_with_422_and_their_lines(
    admin: Admin, text: str, problem: str, lines: list[int]
) -> None:
    before = admin.version()
    plan = admin.upload(text)
    assert plan["can_apply"] is False
    assert [(p["code"], p["lines"]) for p in plan["problems"]] == [(problem, lines)]
    assert plan["base_version"] == before
    refused = call(admin.client, "POST", f"/v1/registry/imports/{plan['id']}/apply", {})
    assert refused.status == 422, refused.body
    body = refused.json()
    assert body["code"] == "registry.import_refused"
    assert [(p["code"], p["line"]) for p in body["problems"]] == [(problem, lines[0])]
    assert admin.version() == before
    assert admin.resolve("000.00.08.H38")["status"] == "unknown"


def test_api_partial_apply_only_when_asked_lists_what_was_left_out(admin: Admin) -> None:
    plan = admin.upload(DUPLICATE_CSV)
    before = admin.version()
    applied = call(
        admin.client, "POST", f"/v1/registry/imports/{plan['id']}/apply", {"partial": True}
    )
    assert applied.status == 200, applied.body
    body = applied.json()
    assert (body["version"], body["partial"]) == (before + 1, True)
    assert [(p["code"], p["lines"], p["subject"]) for p in body["left_out"]] == [
        ("agency.duplicate", [3, 4], "000.00.09.H38")
    ]
    assert admin.resolve("000.00.08.H38")["agency"]["name"] == "Sở Tài chính tỉnh Lào Cai"
    assert admin.resolve("000.00.09.H38")["status"] == "unknown"
    again = call(admin.client, "POST", f"/v1/registry/imports/{plan['id']}/apply", {})
    assert (again.status, again.json()["code"]) == (409, "registry.import_done")


def test_api_upload_plan_then_apply_now(admin: Admin) -> None:
    before = admin.version()
    plan = admin.upload(GOOD_CSV)
    assert plan["can_apply"] is True
    assert plan["summary"]["added"] == 2
    assert [c["code"] for c in plan["changes"]] == ["000.00.14.H38", "000.00.15.H38"]
    assert "Sở Khoa học và Công nghệ tỉnh Lào Cai" in plan["changes"][0]["description"]
    assert admin.version() == before  # a plan changes nothing
    kept = call(admin.client, "GET", f"/v1/registry/imports/{plan['id']}").json()
    assert (kept["state"], kept["stale"], kept["summary"]["added"]) == ("pending", False, 2)
    applied = call(admin.client, "POST", f"/v1/registry/imports/{plan['id']}/apply", {})
    assert applied.status == 200, applied.body
    assert applied.json()["version"] == before + 1
    science = admin.resolve("000.00.14.H38")
    assert (science["status"], science["agency"]["contact"]) == (
        "active",
        {"email": "skhcn@laocai.gov.vn"},
    )
    listed = call(admin.client, "GET", "/v1/registry/imports").json()["items"]
    mine = next(i for i in listed if i["id"] == plan["id"])
    assert (mine["state"], mine["version"], mine["applied_by"]) == (
        "applied",
        before + 1,
        "admin-ops",
    )
    assert "text" not in mine


def test_api_import_scheduled_at_an_instant_takes_effect_then(admin: Admin) -> None:
    now = admin.axis.clock.now()
    at = (now + dt.timedelta(days=3)).replace(microsecond=0)
    plan = admin.upload(
        "op,code,name\n"
        "agency,000.00.17.H38,Sở Dân tộc và Tôn giáo tỉnh Lào Cai\n"
        "agency,000.00.00.G09,Bộ Nội vụ nước Cộng hòa xã hội chủ nghĩa Việt Nam\n"
    )
    applied = call(
        admin.client, "POST", f"/v1/registry/imports/{plan['id']}/apply", {"at": iso(at)}
    )
    assert applied.status == 200, applied.body
    assert applied.json()["effective"] == at.astimezone(dt.UTC).isoformat()
    before = at - dt.timedelta(seconds=1)
    assert admin.resolve("000.00.17.H38", before)["status"] == "not_yet_valid"
    assert admin.resolve("000.00.17.H38", at)["status"] == "active"
    assert admin.resolve("000.00.00.G09", before)["agency"]["name"] == "Bộ Nội vụ"
    assert admin.resolve("000.00.00.G09", at)["agency"]["name"] == (
        "Bộ Nội vụ nước Cộng hòa xã hội chủ nghĩa Việt Nam"
    )


def test_api_a_plan_made_before_another_change_is_stale(admin: Admin) -> None:
    plan = admin.upload("op,code,name\nagency,000.00.18.H38,Sở Ngoại vụ tỉnh Lào Cai\n")
    added = call(
        admin.client,
        "POST",
        "/v1/registry/agencies",
        {"code": "000.00.19.H38", "name": "Thanh tra tỉnh Lào Cai"},
    )
    assert added.status == 201, added.body
    stale = call(admin.client, "POST", f"/v1/registry/imports/{plan['id']}/apply", {})
    assert (stale.status, stale.json()["code"]) == (409, "registry.import_stale")
    assert admin.resolve("000.00.18.H38")["status"] == "unknown"
    discarded = call(admin.client, "DELETE", f"/v1/registry/imports/{plan['id']}")
    assert discarded.status == 200


def test_api_refuses_an_unreadable_upload_at_once(admin: Admin) -> None:
    reply = admin.client.request(
        "POST", "/v1/registry/imports", "Sở".encode("utf-16"), content_type="text/csv"
    )
    assert (reply.status, reply.json()["code"]) == (422, "registry.import_unreadable")
    assert isinstance(admin.client, AxisHttp)
