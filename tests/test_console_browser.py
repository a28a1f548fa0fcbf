"""The web console in a real browser (headless Chromium through Selenium) against a real axis.

One axis for the module (its store seeded with a few agencies, the project's test PKI, signed
documents, an injected clock) and one browser. The story the console exists for: an admin
closes Yên Bái's code 000.00.00.H63 with Lào Cai (000.00.00.H38) as its successor, scheduled
for the next midnight; the clock passes it; a document sent to H63 is delivered to H38 and
answered with status 03; an auditor finds the document and reads the redirect, with the
decision, in its journey. Then: an auditor can change nothing (every write answers 403), an
agency's system cannot get in, and the other pages work (registry search with and without
diacritics, an import planned then scheduled, a version diff, signers, dead letters, the
dashboard, the language switch).

``AXIS_CONSOLE_SCREENSHOTS=1`` writes each page to ``docs/console/*.png``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

import edxml
from axis.clock import VN_TZ, Clock
from axis.compose import document_id, letter, status_answer
from axis.config import AxisConfig
from axis.console import labels
from edxml import StatusCode
from signing.pki import TestPki
from tests.axis_server import AxisHttp, RunningAxis
from tests.broker_fixtures import Agency, agencies, make_agency
from tests.browser import Browser, chromium, chromium_missing, seed_small_registry

pytestmark = pytest.mark.skipif(chromium_missing() is not None, reason=str(chromium_missing()))

VI = labels.LABELS["vi"]
DECISION = "QĐ 1234/QĐ-TTg"
_numbers = itertools.count(1)


@dataclass
class World:
    axis: RunningAxis
    cast: dict[str, Agency]
    systems: dict[str, AxisHttp]
    midnight: dt.datetime  # the next 00:00 in Vietnam when the module starts
    dead_message: str

    def secret(self, name: str) -> str:
        secret = self.systems[name]._auth_secret
        assert secret is not None
        return secret

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.axis.port}"

    def send(self, sender: str, to: str, subject: str) -> tuple[dict[str, object], str]:
        """A signed letter from agency ``sender`` to ``to``; (the 202's body, its DocumentId)."""
        agency = self.cast[sender]
        number = str(next(_numbers))
        day = self.axis.clock.now().astimezone(VN_TZ).date()
        package = letter(agency.org, [self.cast[to].org], number=number, subject=subject, day=day)
        reply = self.systems[sender].send(agency.sign(package))
        assert reply.status == 202, reply.body
        return reply.json(), document_id(agency.code, day, number, "UBND-VP")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as opened:
        yield opened


@pytest.fixture(scope="module")
def world(test_pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    config = AxisConfig(
        home=tmp_path_factory.mktemp("console-browser"),
        trust_dir=test_pki.directory,  # the PKI's folder: its trust/ and the CRL in its crl/
        signature_mode="require",
        intake_workers=1,
    )
    seed_small_registry(config)
    now = dt.datetime.now(VN_TZ)
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), VN_TZ)
    cast = agencies(test_pki)
    cast["G24"] = make_agency(test_pki, "000.00.00.G24", "Bộ Thông tin và Truyền thông")
    with RunningAxis(config, Clock()) as axis:
        systems = {
            "admin": axis.add_system("quantri", (), role="admin"),
            "auditor": axis.add_system("kiemtoan", (), role="auditor"),
            "G22": axis.add_system("vpcp-qlvb", ("000.00.00.G22",)),
            "H38": axis.add_system("laocai-qlvb", ("000.00.00.H38",)),
            "H63": axis.add_system("yenbai-qlvb", ("000.00.00.H63",)),
            "G09": axis.add_system("bnv-edoc", ("000.00.00.G09",)),
        }
        world = World(axis, cast, systems, midnight, "")
        # a dead letter: the ministry's system could not read what it fetched
        sent, _ = world.send("G22", "G09", "Về việc báo cáo số liệu biên chế năm 2026")
        world.dead_message = str(sent["message_id"])
        assert systems["G09"].fetch(world.dead_message).status == 200
        assert systems["G09"].ack(world.dead_message, "fail", "tệp đính kèm hỏng").status == 200
        yield world


def _open(browser: Browser, world: World, who: str) -> Browser:
    browser.base = world.base
    system_id = world.systems[who].system_id
    assert system_id is not None
    browser.login(system_id, world.secret(who))
    return browser


def test_an_admin_schedules_a_close_and_an_auditor_reads_the_redirect(
    world: World, browser: Browser
) -> None:
    browser.base = world.base
    browser.driver.delete_all_cookies()
    browser.open("/console/login")
    assert browser.html_lang() == "vi"
    browser.screenshot("login")

    # the admin closes H63 from the next midnight, its work going to H38
    _open(browser, world, "admin")
    assert "quantri" in browser.text("#who")
    runtime = world.axis.runtime
    assert runtime is not None
    version = runtime.registry.version
    browser.open("/console/registry")
    browser.fill("#close-code", "000.00.00.H63")
    browser.fill("#close-successor", "000.00.00.H38")
    browser.set_value("#close-at", world.midnight.strftime("%Y-%m-%dT%H:%M:%S"))
    browser.fill("#close-basis", DECISION)
    browser.fill("#close-reason", "Sáp nhập tỉnh Yên Bái vào tỉnh Lào Cai")
    browser.submit("#close-submit")
    assert browser.path.startswith("/console/registry/agency/000.00.00.H63")
    successors = browser.text("#successors")
    assert "000.00.00.H38" in successors
    assert DECISION in successors
    assert browser.find("#resolves-now").get_attribute("data-status") == "active"  # not yet
    assert runtime.registry.version == version + 1
    browser.screenshot("agency")

    # before the instant a document to H63 stays with H63; after it, it goes to Lào Cai
    before, _ = world.send("G22", "H63", "Về việc chuẩn bị bàn giao hồ sơ")
    assert before["recipients"][0]["code"] == "000.00.00.H63"  # type: ignore[index]
    world.axis.clock.set(world.midnight + dt.timedelta(minutes=1))
    after, doc_id = world.send("G22", "H63", "Về việc bàn giao hồ sơ sau sắp xếp đơn vị hành chính")
    route = after["recipients"][0]  # type: ignore[index]
    assert route["code"] == "000.00.00.H38"
    assert route["status"] == "redirected"
    message_id = str(after["message_id"])
    lao_cai = world.systems["H38"]
    fetched = lao_cai.fetch(message_id)
    assert fetched.status == 200
    assert lao_cai.ack(message_id).status == 200
    responder = world.cast["H38"]
    document = edxml.parse(fetched.body)
    assert isinstance(document, edxml.Document)
    answer = status_answer(
        responder.org, document, StatusCode.ACCEPTED, "Đã tiếp nhận", world.axis.clock.now()
    )
    assert lao_cai.send(responder.sign(answer)).status == 202

    # an auditor finds the document and reads where it went, and why
    browser.logout()
    assert browser.path.startswith("/console/login")
    _open(browser, world, "auditor")
    browser.open("/console/messages")
    browser.fill("#document_id", doc_id)
    browser.submit("#search")
    documents = browser.find_all("#results tr[data-kind=edoc] a.journey")
    assert [r.text for r in documents] == [doc_id]
    assert browser.find_all("#results tr[data-kind=status]")  # Lào Cai's answer to it
    browser.screenshot("messages")
    browser.find("#results tr[data-kind=edoc] a.journey").click()
    browser.wait_for("#recipients")
    row = browser.find('#recipients tr[data-code="000.00.00.H38"]')
    redirect = (
        f"000.00.00.H63 → 000.00.00.H38 {VI['route.from']} {world.midnight:%Y-%m-%d}, {DECISION}"
    )
    assert redirect in row.text
    assert "03" in row.find_element("css selector", ".business").text
    assert labels.STATUS_NAMES["vi"]["03"] in row.text
    kinds = [e.get_attribute("data-kind") for e in browser.find_all("#timeline li")]
    for kind in ("received", "verified", "redirected", "stored", "fetched", "acked", "status"):
        assert kind in kinds, kinds
    redirected = browser.find('#timeline li[data-kind="redirected"]')
    assert redirect in redirected.text
    assert VI["msg.timeline"] in browser.text("main")
    browser.screenshot("journey")


def test_an_auditor_can_change_nothing(world: World, browser: Browser) -> None:
    runtime = world.axis.runtime
    assert runtime is not None
    _open(browser, world, "auditor")
    assert VI["readonly.note"] in browser.text("main")
    for page in ("/console/registry", "/console/deliveries", "/console/systems"):
        browser.open(page)
        assert browser.find_all("main form[method=post]") == [], page  # no write form shown
    version = runtime.registry.version
    signers = world.axis.call(runtime.store.entries("signer"))
    attempts = (
        (
            "/console/registry",
            "/console/registry/close",
            {"code": "000.00.00.G24", "successor": "000.00.00.G22", "at": "2027-01-01T00:00"},
        ),
        (
            "/console/deliveries",
            f"/console/deliveries/{world.dead_message}/000.00.00.G09/retry",
            {},
        ),
        ("/console/systems", "/console/signers", {"codes": "000.00.00.H38", "pem": "x"}),
        ("/console/systems", "/console/signers/remove", {"key": "0" * 64}),
    )
    for page, action, fields in attempts:
        browser.open(page)
        browser.post_form(action, fields)
        assert browser.problem_status() == 403, action
        assert VI["problem.console.read_only"] in browser.text("#problem")
    assert runtime.registry.version == version
    assert world.axis.call(runtime.store.entries("signer")) == signers
    states = world.axis.call(runtime.store.deliveries(world.dead_message))
    assert [d.state for d in states] == ["fail"]


def test_an_agency_system_cannot_reach_the_console(world: World, browser: Browser) -> None:
    _open(browser, world, "H63")
    assert browser.text("#login-error") == VI["login.agency"]
    assert "axis_console" not in browser.cookie_names()
    browser.open("/console/deliveries")
    assert browser.path.startswith("/console/login")


def test_registry_search_import_plan_schedule_and_diff(
    world: World, browser: Browser, tmp_path: Path
) -> None:
    runtime = world.axis.runtime
    assert runtime is not None
    _open(browser, world, "admin")
    for query in ("lao cai", "Lào Cai", "LÀO CAI", "H38"):
        browser.open("/console/registry")
        browser.fill("#q", query)
        browser.submit("#registry-find")
        codes = [r.get_attribute("data-code") for r in browser.find_all("#registry-results tr")]
        assert "000.00.00.H38" in codes, query
    browser.fill("#q", "hoa binh")
    browser.submit("#registry-find")
    assert browser.find_all('#registry-results tr[data-code="000.00.00.H30"]')
    browser.screenshot("registry")

    listing = tmp_path / "danh-muc-2027.csv"
    listing.write_text(
        "op,code,name,short_name,kind,parent,valid_from,valid_until,successors,effective,legal_basis\n"
        "agency,000.00.01.H38,Văn phòng Ủy ban nhân dân tỉnh Lào Cai,,department,000.00.00.H38,,,,,\n"
        "agency,000.00.00.G09,Bộ Nội vụ và Đào tạo,BNV,people_committee,,,,,,\n"
        "close,000.00.00.G24,,,,,,2027-01-01,,,\n"
        f"succession,000.00.00.H30,,,,,,,000.00.00.H46:merged,2027-01-01,{DECISION}\n",
        encoding="utf-8",
    )
    version = runtime.registry.version
    browser.find("#import-file").send_keys(str(listing))
    browser.submit("#import-upload")
    assert browser.path.startswith("/console/registry/import/")
    assert runtime.registry.version == version  # a plan changes nothing
    tables = {t.get_attribute("id") for t in browser.find_all("#plan table")}
    assert {"plan-added", "plan-closed_list", "plan-renamed", "plan-succeeded"} <= tables
    assert browser.find_all('#plan-added tr[data-code="000.00.01.H38"]')
    assert browser.find_all('#plan-closed_list tr[data-code="000.00.00.G24"]')
    assert browser.find_all('#plan-renamed tr[data-code="000.00.00.G09"]')
    assert browser.find_all('#plan-succeeded tr[data-code="000.00.00.H30"]')
    browser.screenshot("import-plan")
    browser.set_value("#schedule-at", "2027-01-01T00:00")
    browser.submit("#import-schedule")
    assert browser.find("#done").text.startswith(VI["import.scheduled"])
    assert runtime.registry.version == version + 1
    assert runtime.registry.current.get("000.00.01.H38") is not None

    browser.open(f"/console/registry/diff?from={version}&to={version + 1}")
    assert browser.find_all('#diff-added tr[data-code="000.00.01.H38"]')
    assert "000.00.00.H46" in browser.text("#diff-successions")
    browser.screenshot("diff")
    browser.open("/console/registry/agency/000.00.00.H46")
    assert "000.00.00.H30" in browser.text("#predecessors")


def test_signers_dead_letters_dashboard_and_language(world: World, browser: Browser) -> None:
    runtime = world.axis.runtime
    assert runtime is not None
    _open(browser, world, "admin")

    # a signing certificate bound to Lào Cai, then removed
    pem = world.cast["H38"].chain[0].public_bytes(Encoding.PEM).decode("ascii")
    browser.open("/console/systems")
    assert browser.find_all('#systems tr[data-system="kiemtoan"]')
    browser.fill("#signer-codes", "000.00.00.H38")
    browser.set_value("#signer-pem", pem)
    browser.submit("#signer-add")
    rows = browser.find_all("#bindings tr[data-key]")
    assert len(rows) == 1
    assert "000.00.00.H38" in rows[0].text
    assert len(world.axis.call(runtime.store.entries("signer"))) == 1
    browser.screenshot("systems")
    browser.submit("#bindings button.remove")
    assert browser.find_all("#no-bindings")
    assert world.axis.call(runtime.store.entries("signer")) == {}

    # the dead letter, retried
    browser.open("/console/deliveries")
    row = f'#dead tr[data-message="{world.dead_message}"]'
    assert browser.find_all(row)
    browser.screenshot("deliveries")
    browser.submit(f"{row} button.retry")
    assert world.dead_message in browser.text("#done")
    states = world.axis.call(runtime.store.deliveries(world.dead_message))
    assert [d.state for d in states] == ["pending"]

    # the dashboard: today's documents per hour drawn from the audit log, the CRL's age
    world.send("G22", "G09", "Về việc tổng hợp số liệu cuối ngày")
    unsigned = letter(
        world.cast["G22"].org,
        [world.cast["G09"].org],
        number=str(next(_numbers)),
        subject="Văn bản chưa ký số",
        day=world.axis.clock.now().astimezone(VN_TZ).date(),
    )
    refused = world.systems["G22"].send(edxml.build(unsigned))
    assert refused.status == 422
    reason = refused.json()["code"]
    browser.open("/console/")
    assert reason in browser.text("#refusals")
    bars = browser.find_all("#per-hour rect.bar")
    assert len(bars) == 24
    drawn = sum(int(b.get_attribute("data-value")) for b in bars)
    assert drawn == int(browser.text("#documents-today")) >= 1
    assert browser.find_all("#crl tr.crl-fresh")
    browser.screenshot("dashboard")

    # English, then back to Vietnamese
    browser.click("#lang-en")
    browser.wait_for("html[lang=en]")
    assert labels.LABELS["en"]["dash.title"] in browser.text("h1")
    assert browser.path == "/console/"
    browser.click("#lang-vi")
    browser.wait_for("html[lang=vi]")
    assert VI["dash.title"] in browser.text("h1")
