"""Proposals: an agency's system proposes a sub-unit under its own code, an admin decides.

A proposal changes nothing until an admin approves it (then it is one version authored by the
admin, and the unit resolves); outside the codes the system acts for it is 403; with
``AXIS_AUTO_APPROVE_PROPOSALS`` it enters the registry at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from axis.clock import Clock
from axis.config import AxisConfig
from axis.store.records import AuditFilter
from tests.axis_server import AxisHttp, RunningAxis
from tests.test_registry_admin_api import START, Cast, call, seed_small

UNIT = {
    "code": "000.00.05.H38",
    "name": "Sở Nông nghiệp và Môi trường tỉnh Lào Cai",
    "kind": "department",
    "contact": {"email": "snnmt@laocai.gov.vn"},
    "note": "Thành lập từ ngày 01/3/2025",
}


class Parties(Cast):
    """The registry tests' systems, proposing."""

    def propose(self, client: AxisHttp, body: dict[str, Any]) -> Any:
        return call(client, "POST", "/v1/registry/proposals", body)

    def status(self, code: str) -> str:
        return str(call(self.laocai, "GET", f"/v1/registry/resolve/{code}").json()["status"])


def _server(home: Path, *, auto: bool) -> RunningAxis:
    config = AxisConfig(home=home, intake_workers=1, auto_approve_proposals=auto)
    seed_small(config)
    return RunningAxis(config, Clock.at(START))


@pytest.fixture(scope="module")
def parties(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Parties]:
    with _server(tmp_path_factory.mktemp("proposals-home"), auto=False) as axis:
        yield Parties(axis)


def test_a_proposal_under_its_own_code_waits_for_the_admin_then_resolves(parties: Parties) -> None:
    made = parties.propose(parties.laocai, UNIT)
    assert made.status == 201, made.body
    proposal = made.json()
    assert (proposal["state"], proposal["proposed_by"], proposal["version"]) == (
        "pending",
        "laocai-qlvb",
        None,
    )
    assert proposal["agency"]["parent"] == "000.00.00.H38"
    assert parties.status("000.00.05.H38") == "unknown"  # nothing changes before approval

    listed = call(parties.auditor, "GET", "/v1/registry/proposals", state="pending").json()
    assert [p["id"] for p in listed["items"]] == [proposal["id"]]
    assert listed["items"][0]["agency"]["name"] == UNIT["name"]

    approved = call(
        parties.admin,
        "POST",
        f"/v1/registry/proposals/{proposal['id']}/approve",
        {"reason": "Đúng Quyết định 15/QĐ-UBND"},
    )
    assert approved.status == 200, approved.body
    decided = approved.json()
    assert (decided["state"], decided["decided_by"]) == ("approved", "admin-ops")
    assert parties.status("000.00.05.H38") == "active"
    shown = call(parties.laocai, "GET", "/v1/registry/agencies/000.00.05.H38").json()
    assert shown["records"][0]["name"] == "Sở Nông nghiệp và Môi trường tỉnh Lào Cai"
    versions = call(parties.laocai, "GET", "/v1/registry/versions", limit=1).json()["versions"]
    assert (versions[0]["number"], versions[0]["author"]) == (decided["version"], "admin-ops")

    store = parties.axis.runtime.store  # type: ignore[union-attr]
    made_events = parties.axis.call(store.audit_events(AuditFilter(kind="proposal.made"))).items
    assert [(e.system_id, e.codes) for e in made_events][-1] == (
        "laocai-qlvb",
        ("000.00.05.H38",),
    )
    again = call(parties.admin, "POST", f"/v1/registry/proposals/{proposal['id']}/approve", {})
    assert (again.status, again.json()["code"]) == (409, "proposal.decided")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"code": "000.00.05.H63", "name": "Sở của tỉnh Yên Bái"}, 403, "proposal.forbidden"),
        ({"code": "000.00.00.H38", "name": "Chính nó"}, 403, "proposal.forbidden"),
        ({"code": "000.00.06.G22", "name": "Vụ của VPCP"}, 403, "proposal.forbidden"),
        ({"code": "000.00.06.H38", "name": " "}, 422, "registry.invalid"),
        ({"code": "000.00.05.H38!", "name": "Sở"}, 422, "registry.bad_code"),
    ],
)
def test_a_proposal_outside_its_codes_or_malformed_is_refused(
    parties: Parties, body: dict[str, Any], status: int, code: str
) -> None:
    reply = parties.propose(parties.laocai, body)
    assert (reply.status, reply.json()["code"]) == (status, code), reply.body


def test_a_rejected_proposal_changes_nothing(parties: Parties) -> None:
    made = parties.propose(
        parties.yenbai, {"code": "000.00.07.H63", "name": "Sở Du lịch tỉnh Yên Bái"}
    )
    assert made.status == 201, made.body
    before = call(parties.auditor, "GET", "/v1/registry/versions").json()["version"]
    rejected = call(
        parties.admin,
        "POST",
        f"/v1/registry/proposals/{made.json()['id']}/reject",
        {"reason": "Tỉnh đã hợp nhất"},
    )
    assert rejected.status == 200, rejected.body
    assert (rejected.json()["state"], rejected.json()["reason"]) == ("rejected", "Tỉnh đã hợp nhất")
    assert call(parties.auditor, "GET", "/v1/registry/versions").json()["version"] == before
    assert parties.status("000.00.07.H63") == "unknown"
    unknown = call(parties.admin, "POST", "/v1/registry/proposals/nope/approve", {})
    assert (unknown.status, unknown.json()["code"]) == (404, "proposal.not_found")


def test_auto_approve_puts_the_unit_in_at_once(tmp_path: Path) -> None:
    assert AxisConfig.from_env({}).auto_approve_proposals is False
    assert AxisConfig.from_env({"AXIS_AUTO_APPROVE_PROPOSALS": "true"}).auto_approve_proposals
    with _server(tmp_path / "auto-home", auto=True) as axis:
        parties = Parties(axis)
        made = parties.propose(parties.laocai, UNIT)
        assert made.status == 201, made.body
        proposal = made.json()
        assert (proposal["state"], proposal["decided_by"]) == ("approved", "auto")
        assert isinstance(proposal["version"], int)
        assert parties.status("000.00.05.H38") == "active"
        versions = call(parties.laocai, "GET", "/v1/registry/versions", limit=1).json()
        assert versions["versions"][0]["author"] == "laocai-qlvb"
