"""The audit log for auditors over real HTTP: filtered events, a day's export checked by the
standard-library verifier printed in ``docs/audit.md``, and who may read it.

The verifier is read out of the document and run in a fresh interpreter, so the code a third
party copies is exactly the code tested here.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from axis.clock import VN_TZ
from axis.compose import letter
from axis.config import AxisConfig
from signing.pki import TestPki
from tests.axis_server import AxisHttp, RunningAxis
from tests.broker_fixtures import Agency, agencies

DOCS = Path(__file__).resolve().parents[1] / "docs" / "audit.md"
DAY = dt.date(2025, 7, 15)


@pytest.fixture(scope="module")
def cast(test_pki: TestPki) -> dict[str, Agency]:
    return agencies(test_pki)


@pytest.fixture(scope="module")
def axis(test_pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningAxis]:
    config = AxisConfig(
        home=tmp_path_factory.mktemp("axis-home"),
        trust_dir=test_pki.trust_dir,
        signature_mode="require",
        intake_workers=1,
    )
    with RunningAxis(config) as running:
        yield running


@pytest.fixture(scope="module")
def systems(axis: RunningAxis) -> dict[str, AxisHttp]:
    return {
        "H38": axis.add_system("laocai-ioffice", ("000.00.00.H38",)),
        "G22": axis.add_system("vpcp-qlvb", ("000.00.00.G22",)),
        "G09": axis.add_system("bnv-edoc", ("000.00.00.G09",)),
        "auditor": axis.add_system("kiểm-toán", (), role="auditor"),
        "admin": axis.add_system("quan-tri", (), role="admin"),
    }


@pytest.fixture(scope="module")
def journey(cast: dict[str, Agency], systems: dict[str, AxisHttp]) -> dict[str, str]:
    """One document sent, fetched and acknowledged, and one read refused."""
    package = letter(
        cast["H38"].org, [cast["G22"].org], number="77", subject="Về việc kiểm toán", day=DAY
    )
    sent = systems["H38"].send(cast["H38"].sign(package))
    assert sent.status == 202, sent.body
    message_id = sent.json()["message_id"]
    assert systems["G22"].fetch(message_id).status == 200
    assert systems["G22"].ack(message_id).status == 200
    assert systems["G09"].fetch(message_id).status == 404  # not its message: a refused read
    return {"message_id": message_id, "document_id": package.header.document_id}


def _events(client: AxisHttp, **query: object) -> list[dict[str, object]]:
    reply = client.request("GET", "/v1/audit/events", query=dict(query))
    assert reply.status == 200, reply.body
    items: list[dict[str, object]] = reply.json()["items"]
    return items


def test_events_filtered_by_document_code_system_and_kind(
    systems: dict[str, AxisHttp], journey: dict[str, str]
) -> None:
    auditor = systems["auditor"]
    by_document = _events(auditor, document_id=journey["document_id"])
    kinds = [e["kind"] for e in by_document]
    assert kinds[0] == "received"
    assert {"verified", "resolved", "stored", "fetched", "acked"} <= set(kinds), kinds
    calls = [e for e in by_document if e["kind"] in {"received", "fetched", "acked"}]
    assert len(calls) == 3
    for event in calls:  # every call that touched it names its system and client address
        assert event["address"] == "127.0.0.1"  # every call that touched it, with its address
    assert {e["system_id"] for e in by_document} >= {"laocai-ioffice", "vpcp-qlvb"}
    refused = _events(auditor, message_id=journey["message_id"], kind="read.refused")
    assert [(e["system_id"], e["address"]) for e in refused] == [("bnv-edoc", "127.0.0.1")]
    by_code = _events(auditor, code="000.00.00.G22", system_id="vpcp-qlvb")
    assert by_code
    assert all("000.00.00.G22" in e["codes"] for e in by_code)  # type: ignore[operator]


def test_events_page_with_a_cursor_in_chain_order(
    systems: dict[str, AxisHttp], journey: dict[str, str]
) -> None:
    auditor = systems["auditor"]
    first = auditor.request("GET", "/v1/audit/events", query={"limit": 2}).json()
    assert first["more"] is True
    second = auditor.request(
        "GET", "/v1/audit/events", query={"limit": 2, "after": first["cursor"]}
    ).json()
    seqs = [e["seq"] for e in first["items"] + second["items"]]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 4


def _verifier(tmp_path: Path) -> Path:
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("## A verifier with nothing but Python") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "docs/audit.md lost its verifier"
    script = tmp_path / "verify_audit.py"
    script.write_text(match.group(1), encoding="utf-8")
    return script


def _run(script: Path, export: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", str(script), str(export), *extra],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


def _export_today(client: AxisHttp) -> bytes:
    today = dt.datetime.now(VN_TZ).date()
    reply = client.request(
        "GET",
        "/v1/audit/export",
        query={"from": today.isoformat(), "to": (today + dt.timedelta(days=1)).isoformat()},
    )
    assert reply.status == 200, reply.body
    assert reply.headers["Content-Type"].startswith("application/x-ndjson")
    return reply.body


def test_a_days_export_passes_the_standalone_verifier_and_a_changed_line_is_named(
    systems: dict[str, AxisHttp], journey: dict[str, str], tmp_path: Path
) -> None:
    body = _export_today(systems["auditor"])
    lines = body.decode("utf-8").splitlines()
    assert len(lines) >= 5
    assert "Về việc kiểm toán" in body.decode("utf-8") or all(json.loads(x) for x in lines)
    script = _verifier(tmp_path)
    export = tmp_path / "day.jsonl"
    export.write_bytes(body)
    intact = _run(script, export)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert intact.stdout.strip() == f"intact: {len(lines)} events"

    changed = list(lines)
    event = json.loads(changed[2])
    event["system_id"] = "someone-else"
    changed[2] = json.dumps(event, ensure_ascii=False)
    export.write_text("\n".join(changed) + "\n", encoding="utf-8")
    broken = _run(script, export)
    assert broken.returncode == 1
    assert broken.stdout.startswith("BROKEN at line 3:"), broken.stdout
    assert "hash does not match" in broken.stdout

    export.write_text("\n".join(lines[:1] + lines[2:]) + "\n", encoding="utf-8")
    removed = _run(script, export)
    assert removed.stdout.startswith("BROKEN at line 2:"), removed.stdout

    export.write_text("\n".join(lines[1:]) + "\n", encoding="utf-8")
    anchored = _run(script, export, "--anchor", json.loads(lines[0])["hash"])
    assert anchored.returncode == 0, anchored.stdout
    wrong_anchor = _run(script, export, "--anchor", "f" * 64)
    assert wrong_anchor.stdout.startswith("BROKEN at line 1:")


def test_the_export_needs_both_bounds_and_valid_instants(systems: dict[str, AxisHttp]) -> None:
    auditor = systems["auditor"]
    missing = auditor.request("GET", "/v1/audit/export", query={"from": "2025-07-01"})
    assert missing.status == 400
    assert missing.json()["code"] == "query.invalid"
    assert missing.json()["location"] == "to"
    garbled = auditor.request("GET", "/v1/audit/events", query={"since": "hôm qua"})
    assert garbled.status == 400
    assert garbled.json()["location"] == "since"


def test_the_axis_verifies_its_own_chain(systems: dict[str, AxisHttp], journey: object) -> None:
    reply = systems["auditor"].request("GET", "/v1/audit/verify")
    assert reply.status == 200
    assert reply.json()["ok"] is True
    assert reply.json()["checked"] >= 5


@pytest.mark.parametrize("path", ["/v1/audit/events", "/v1/audit/export", "/v1/audit/verify"])
def test_an_agency_system_cannot_read_the_audit_log(
    systems: dict[str, AxisHttp], path: str
) -> None:
    reply = systems["H38"].request("GET", path, query={"from": "2025-07-01", "to": "2025-07-02"})
    assert reply.status == 403
    assert reply.json()["code"] == "auth.forbidden"


def test_the_audit_cli_traces_a_document_id_and_exports_a_span(
    axis: RunningAxis, journey: dict[str, str], tmp_path: Path
) -> None:
    from axis.cli import main

    home = ["--home", str(axis.config.home)]
    out = tmp_path / "span.jsonl"
    today = dt.datetime.now(VN_TZ).date()
    span = ["--from", str(today), "--to", str(today + dt.timedelta(1))]
    code = main(["audit", "export", *home, *span, "-o", str(out)])
    assert code == 0
    exported = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert any(e["document_id"] == journey["document_id"] for e in exported)
    assert main(["audit", "trace", *home, journey["document_id"]]) == 0
    assert main(["audit", "trace", *home, "no-such-document"]) == 1


def _write_routes(axis: RunningAxis) -> list[tuple[str, str]]:
    """Every write route the app serves under its own authentication (adapters that
    authenticate their callers themselves, e.g. ``/vdxp/``, have their own tests)."""
    from axis.http.app import OWN_AUTH, create_app

    app = create_app(axis.config, background=False)
    own = app[OWN_AUTH]
    found = []
    for route in app.router.routes():
        path = _concrete(route.resource.get_info()) if route.resource is not None else ""
        writes = route.method in {"POST", "PUT", "DELETE", "PATCH"}
        if writes and path and not path.startswith((*own, "/console")):
            found.append((route.method, path))
    return sorted(set(found))


def _concrete(info: Mapping[str, object]) -> str:
    """A path the route matches: each parameter its pattern's first alternative, else a word."""
    if "path" in info:
        return str(info["path"])
    pattern = getattr(info.get("pattern"), "pattern", "")
    values = {
        name: "x" if "[" in rule else rule.split("|")[0]
        for name, rule in re.findall(r"\(\?P<(\w+)>([^)]*)\)", str(pattern))
    }
    return str(info.get("formatter", "")).format(**values)


def test_an_auditor_can_change_nothing(axis: RunningAxis, systems: dict[str, AxisHttp]) -> None:
    routes = _write_routes(axis)
    assert ("POST", "/v1/messages") in routes
    assert len(routes) >= 5
    for method, path in routes:
        reply = systems["auditor"].request(method, path, b"{}", content_type="application/json")
        assert reply.status == 403, (method, path, reply.status, reply.body[:200])
        assert reply.json()["code"].startswith("auth."), (method, path)
