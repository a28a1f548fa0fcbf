"""What a principal acts for: a code and its children by the code structure, or exactly."""

from __future__ import annotations

from axis.auth import Principal
from tests.test_auth import H38


def test_acts_for_children_by_code_structure() -> None:
    province = Principal("sys-h38", "agency", (H38,), False)
    assert province.acts_for(H38)
    assert province.acts_for("000.00.01.H38")  # a department
    assert province.acts_for("001.05.13.H38")  # a commune, three levels down
    assert not province.acts_for("000.00.00.H63")
    assert not province.acts_for("000.00.01.H63")
    assert not province.acts_for("000.00.00.h38")  # does not parse
    assert not province.acts_for("")
    department = Principal("sys-d", "agency", ("000.00.01.H38",), False)
    assert department.acts_for("000.05.01.H38")
    assert not department.acts_for(H38)  # a child does not act for its parent


def test_acts_for_exact_codes_only() -> None:
    exact = Principal("sys-x", "agency", (H38, "000.00.00.G10"), True)
    assert exact.acts_for(H38)
    assert exact.acts_for("000.00.00.G10")
    assert not exact.acts_for("000.00.01.H38")


def test_admins_and_auditors_act_for_no_agency_by_default() -> None:
    admin = Principal("ops", "admin", (), False)
    auditor = Principal("audit", "auditor", (), False)
    assert admin.is_admin
    assert not admin.is_auditor
    assert auditor.is_auditor
    assert not auditor.is_admin
    assert not admin.acts_for(H38)
    assert not auditor.acts_for(H38)
    assert Principal("ops2", "admin", (H38,), False).acts_for("000.00.01.H38")
