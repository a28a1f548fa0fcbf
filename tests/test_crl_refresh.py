"""Revocation kept fresh: held CRLs in ``$AXIS_HOME/crl``, ``axis pki crl import``, hard-fail on a
stale CRL, the refresh task against a real loopback distribution point, and the intake refusing a
revoked signer over real HTTP once a CRL listing it is imported -- without a restart.

Real parts: the session's test PKI and its loopback CRL/OCSP responder (``RevocationServer``),
real CRL files, the real CLI, real axis servers (worker processes, aiohttp on loopback).
"""

# ruff: noqa: F811  (pytest fixtures imported from tests.signing_fixtures are parameters)
from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography import x509

from axis.cli import main
from axis.compose import letter
from axis.config import AxisConfig
from axis.crl_refresh import CrlRefresher, RefreshPass, crl_states, refresh_at
from axis.metrics import Metrics
from edxml import Organization
from signing import SignaturePolicy, TrustStore, verify
from signing.pki import Revocation, RevocationServer, TestPki, make_crl
from signing.policy import RevocationMode
from signing.revocation import (
    CrlError,
    CrlFolder,
    HttpRevocationFetcher,
    RevocationFetcher,
    install_crl,
)
from signing.samples import signed_edxml
from tests.axis_server import AxisHttp, RunningAxis
from tests.broker_fixtures import Agency, make_agency
from tests.probes import poll
from tests.signing_fixtures import revocation_server, test_pki  # noqa: F401

MINUTE, DAY = dt.timedelta(minutes=1), dt.timedelta(days=1)
G22 = Organization("000.00.00.G22", organ_name="Văn phòng Chính phủ")
SUB_CA_CN = "CA phục vụ các cơ quan Nhà nước G2 (thử nghiệm)"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ``$AXIS_HOME`` for the CLI, and no other AXIS_* setting leaking in."""
    for name in [n for n in os.environ if n.startswith("AXIS_")]:
        monkeypatch.delenv(name)
    path = tmp_path / "axis-home"
    monkeypatch.setenv("AXIS_HOME", str(path))
    return path


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _sub_ca_crl(
    pki: TestPki,
    this_update: dt.datetime,
    next_update: dt.datetime,
    revocations: tuple[Revocation, ...] | None = None,
    *,
    published_at: str | None = None,
) -> bytes:
    """A CRL of the test sub-CA (by default listing the PKI's revoked certificates)."""
    listed = pki.revocations if revocations is None else revocations
    return make_crl(pki.sub_ca, listed, this_update, next_update, distribution_point=published_at)


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def _signed_by(issued_name: str, pki: TestPki, directory: Path) -> str:
    issued = pki.all_issued()[issued_name]
    path = directory / f"{issued_name}.edxml"
    path.write_bytes(signed_edxml(issued.key, [issued.cert, pki.sub_ca.cert]))
    return str(path)


def _verify_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, Any]:
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


# -- the CLI: without a CRL, import, soft-fail and hard-fail --------------------------------


def test_a_revoked_certificate_is_unknown_without_a_crl_and_revoked_once_one_is_imported(
    test_pki: TestPki, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = _signed_by("revoked_crl_only", test_pki, tmp_path)
    trust = ["--trust", str(test_pki.trust_dir)]
    verify_args = ["verify", document, *trust, "--mode", "require"]
    # the defaults, no network, no CRL held: accepted with revocation unknown (soft-fail)
    code, report = _verify_json([*verify_args, "--revocation", "soft-fail"], capsys)
    assert (code, report["status"]) == (0, "valid")
    assert report["signatures"][0]["revocation_status"] == "unknown"

    now = _now()
    crl_file = _write(tmp_path / "sub_ca.crl", _sub_ca_crl(test_pki, now, now + DAY))
    assert main(["pki", "crl", "import", crl_file, *trust]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"installed: CRL of CN={SUB_CA_CN}")
    assert list((home / "crl").glob("*.crl"))  # where every worker reads it

    for mode in ("soft-fail", "hard-fail"):
        code, report = _verify_json([*verify_args, "--revocation", mode], capsys)
        assert (code, report["reason"]) == (1, "cert.revoked"), mode
        assert report["signatures"][0]["revocation_status"] == "revoked"
        assert "reason keyCompromise" in report["message"]
        serial = format(test_pki.revoked_crl_only.cert.serial_number, "X")
        assert f"serial {serial}" in report["message"]
    # a certificate the CRL does not list stays valid (soft-fail: the sub-CA's own CRL is absent)
    code, report = _verify_json(
        ["verify", _signed_by("agency_rsa2048", test_pki, tmp_path), *trust], capsys
    )
    assert (code, report["signatures"][0]["revocation_status"]) == (0, "good")


def test_verify_crl_uses_that_crl_for_this_verification_only(
    test_pki: TestPki, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = _signed_by("revoked", test_pki, tmp_path)
    now = _now()
    crl_file = _write(tmp_path / "given.crl", _sub_ca_crl(test_pki, now, now + DAY))
    args = ["verify", document, "--trust", str(test_pki.trust_dir)]
    code, report = _verify_json([*args, "--crl", crl_file], capsys)
    assert (code, report["reason"]) == (1, "cert.revoked")
    assert not (home / "crl").exists()  # nothing installed
    code, report = _verify_json(args, capsys)
    assert code == 0
    # a CRL listing nothing, given explicitly, wins over the held one for its CA
    assert main(["pki", "crl", "import", crl_file, "--trust", str(test_pki.trust_dir)]) == 0
    capsys.readouterr()
    empty = _write(tmp_path / "empty.crl", _sub_ca_crl(test_pki, now - MINUTE, now + DAY, ()))
    code, report = _verify_json([*args, "--crl", empty], capsys)
    assert (code, report["signatures"][0]["revocation_status"]) == (0, "good")
    assert main([*args, "--crl", str(tmp_path / "missing.crl")]) == 2
    assert "crl.unreadable" in capsys.readouterr().err


def test_hard_fail_refuses_when_the_only_crl_is_past_its_next_update(
    test_pki: TestPki, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = _now()
    stale = _write(tmp_path / "stale.crl", _sub_ca_crl(test_pki, now - 8 * DAY, now - DAY))
    assert main(["pki", "crl", "import", stale, "--trust", str(test_pki.trust_dir)]) == 0
    assert "past its nextUpdate" in capsys.readouterr().out  # imported, with a warning
    good = _signed_by("agency_rsa2048", test_pki, tmp_path)
    args = ["verify", good, "--trust", str(test_pki.trust_dir)]
    code, report = _verify_json([*args, "--revocation", "hard-fail"], capsys)
    assert (code, report["reason"]) == (1, "cert.revocation_unknown")
    assert "past its nextUpdate" in report["message"]
    # soft-fail: accepted, and the status says why it is unknown
    code, report = _verify_json([*args, "--revocation", "soft-fail"], capsys)
    detail = report["signatures"][0]
    assert (code, detail["revocation_status"]) == (0, "unknown")
    # a serial the stale CRL lists stays revoked, whatever the mode
    revoked = _signed_by("revoked_crl_only", test_pki, tmp_path)
    for mode in ("soft-fail", "hard-fail"):
        code, report = _verify_json(
            ["verify", revoked, "--trust", str(test_pki.trust_dir), "--revocation", mode], capsys
        )
        assert (code, report["reason"]) == (1, "cert.revoked"), mode
        assert "a listed serial stays revoked" in report["message"]


# -- axis pki crl import: what it refuses ------------------------------------------------------


def test_crl_import_refuses_with_precise_errors(
    test_pki: TestPki, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trust = ["--trust", str(test_pki.trust_dir)]
    now = _now()

    def refused(path: str) -> str:
        assert main(["pki", "crl", "import", path, *trust]) == 1
        return capsys.readouterr().err

    # a CA that is not in the trust store
    foreign = make_crl(test_pki.other_root, (), now, now + DAY)
    err = refused(_write(tmp_path / "foreign.crl", foreign))
    assert "crl.untrusted_issuer" in err
    assert "Vietnam National Root CA" in err
    # the sub-CA's name, another key: a forgery
    impostor = test_pki.sub_ca.__class__(
        "sub_ca",
        test_pki.sub_ca.cert,
        test_pki.other_root.key,
        test_pki.sub_ca.cert_path,
        test_pki.sub_ca.key_path,
    )
    err = refused(_write(tmp_path / "forged.crl", make_crl(impostor, (), now, now + DAY)))
    assert "crl.bad_signature" in err
    assert "does not verify" in err
    # not a CRL at all
    err = refused(_write(tmp_path / "note.crl", "không phải CRL".encode()))
    assert "crl.unreadable" in err
    # older than the one held
    newer_crl = _write(tmp_path / "newer.crl", _sub_ca_crl(test_pki, now, now + DAY))
    older_crl = _write(tmp_path / "older.crl", _sub_ca_crl(test_pki, now - DAY, now + DAY))
    assert main(["pki", "crl", "import", newer_crl, *trust]) == 0
    capsys.readouterr()
    err = refused(older_crl)
    assert "crl.older" in err
    assert "older than the one held" in err
    assert main(["pki", "crl", "import", newer_crl, *trust]) == 0  # the same again: no-op
    assert capsys.readouterr().out.startswith("already held")
    assert len(list((home / "crl").glob("*.crl"))) == 1
    assert main(["pki", "crl", "list", "--json"]) == 0
    [state] = json.loads(capsys.readouterr().out)
    assert state["issuer"].startswith(f"CN={SUB_CA_CN}")
    assert state["revoked"] == len(test_pki.revocations)
    assert state["past_next_update"] is False


def test_install_refuses_what_no_trusted_ca_signed(test_pki: TestPki, tmp_path: Path) -> None:
    trust = TrustStore.from_directory(test_pki.trust_dir)
    now = _now()
    with pytest.raises(CrlError) as err:
        install_crl(
            make_crl(test_pki.other_root, (), now, now + DAY), tmp_path, trust, location="x"
        )
    assert (err.value.code, err.value.location) == ("crl.untrusted_issuer", "x")
    assert not list(tmp_path.glob("*.crl"))


# -- the folder every worker reads -------------------------------------------------------------


def test_the_crl_folder_sees_a_new_file_within_its_check_interval(
    test_pki: TestPki, tmp_path: Path
) -> None:
    ticks = [0.0]
    folder = CrlFolder([tmp_path / "crl"], check_every=1.0, monotonic=lambda: ticks[0])
    assert folder.snapshot().in_force == {}
    first = folder.version
    trust = TrustStore.from_directory(test_pki.trust_dir)
    now = _now()
    install_crl(_sub_ca_crl(test_pki, now, now + DAY), tmp_path / "crl", trust, location="t")
    assert folder.version == first  # not looked at again yet: the hot path stays cheap
    ticks[0] = 1.5
    assert folder.version == first + 1
    held = folder.for_issuer(test_pki.sub_ca.cert.subject.public_bytes())
    assert held is not None
    assert held.crl.this_update == now
    (tmp_path / "crl" / "junk.crl").write_bytes(b"not a crl")  # skipped, the others stay
    ticks[0] = 3.0
    assert folder.for_issuer(test_pki.sub_ca.cert.subject.public_bytes()) is not None


def test_a_verifier_sees_a_new_crl_without_being_rebuilt(test_pki: TestPki, tmp_path: Path) -> None:
    from signing import Verifier

    directory = tmp_path / "crl"
    ticks = [0.0]
    crls = CrlFolder([directory], monotonic=lambda: ticks[0])
    document = signed_edxml(test_pki.revoked.key, [test_pki.revoked.cert, test_pki.sub_ca.cert])
    trust = TrustStore.from_directory(test_pki.trust_dir)
    with Verifier(trust, SignaturePolicy(mode="require"), crls=crls) as verifier:
        assert verifier.verify(document).valid  # cached "unknown" result from now on
        assert verifier.verify(document).valid
        now = _now()
        install_crl(_sub_ca_crl(test_pki, now, now + DAY), directory, trust, location="t")
        ticks[0] = 2.0
        assert verifier.verify(document).reason == "cert.revoked"


# -- the refresh task against a real loopback distribution point -----------------------------


def _crl_requests(server: RevocationServer) -> int:
    return sum(n for key, n in server.requests.items() if key.startswith("crl:"))


def _refresh(
    trust: TrustStore, directory: Path, *, fetch: bool, metrics: Metrics | None = None
) -> RefreshPass:
    async def one_pass() -> RefreshPass:
        async with aiohttp.ClientSession() as session:
            fetcher: RevocationFetcher | None = HttpRevocationFetcher(session) if fetch else None
            refresher = CrlRefresher(
                trust,
                directory,
                CrlFolder([directory]),
                fetcher=fetcher,
                now=lambda: dt.datetime.now(dt.UTC),
                metrics=metrics,
            )
            return await refresher.refresh_once()

    return asyncio.run(one_pass())


def test_the_refresher_fetches_a_due_crl_from_its_distribution_point(
    test_pki: TestPki, revocation_server: RevocationServer, tmp_path: Path
) -> None:
    trust = TrustStore.from_directory(test_pki.trust_dir)
    directory = tmp_path / "crl"
    now = _now()
    published = f"{test_pki.base_url}/crl/sub_ca.crl"
    due = _sub_ca_crl(test_pki, now - 50 * MINUTE, now + 10 * MINUTE, published_at=published)
    install_crl(due, directory, trust, location="seed")
    sub_ca = test_pki.sub_ca.cert.subject.rfc4514_string()
    root = test_pki.root.cert.subject.rfc4514_string()
    before = revocation_server.requests["crl:sub_ca"]
    metrics = Metrics()
    outcome = _refresh(trust, directory, fetch=True, metrics=metrics)
    assert sub_ca in outcome.fetched
    assert root in outcome.fetched  # its URL: the CDP of the sub-CA certificate in the trust
    assert revocation_server.requests["crl:sub_ca"] == before + 1
    state = next(s for s in outcome.states if s.issuer == sub_ca)
    assert state.this_update >= now  # the fresh one replaced the due one
    assert state.age_seconds < 120
    assert state.past_next_update is False
    assert state.distribution_points == (published,)
    assert len(list(directory.glob("*.crl"))) == len(outcome.states)
    text = metrics.render().decode()
    assert 'axis_crl_age_seconds{issuer="CN=CA phục vụ' in text
    assert "axis_crl_next_update_seconds{" in text
    # nothing is due now: the next pass fetches nothing
    count = _crl_requests(revocation_server)
    again = _refresh(trust, directory, fetch=True)
    assert again.fetched == ()
    assert _crl_requests(revocation_server) == count


def test_with_fetch_off_nothing_is_fetched(
    test_pki: TestPki, revocation_server: RevocationServer, tmp_path: Path
) -> None:
    trust = TrustStore.from_directory(test_pki.trust_dir)
    directory = tmp_path / "crl"
    now = _now()
    published = f"{test_pki.base_url}/crl/sub_ca.crl"
    due = _sub_ca_crl(test_pki, now - 50 * MINUTE, now + 10 * MINUTE, published_at=published)
    install_crl(due, directory, trust, location="seed")
    count = _crl_requests(revocation_server)
    outcome = _refresh(trust, directory, fetch=False)
    assert outcome.fetched == ()
    assert test_pki.sub_ca.cert.subject.rfc4514_string() in outcome.due_without_fetch
    assert _crl_requests(revocation_server) == count
    [state] = crl_states(CrlFolder([directory]), dt.datetime.now(dt.UTC))
    assert state.this_update == now - 50 * MINUTE  # still the old one


def test_refresh_is_due_half_way_or_six_hours_ahead(test_pki: TestPki) -> None:
    from signing.revocation import CachedCrl

    now = _now()
    hourly = CachedCrl.parse(_sub_ca_crl(test_pki, now, now + 60 * MINUTE), None, now, DAY)
    weekly = CachedCrl.parse(_sub_ca_crl(test_pki, now, now + 7 * DAY), None, now, 8 * DAY)
    assert refresh_at(hourly) == now + 30 * MINUTE
    assert refresh_at(weekly) == now + 7 * DAY - dt.timedelta(hours=6)


# -- the server: health, the background task, the intake over real HTTP ----------------------


def _config(home: Path, pki: TestPki, **values: Any) -> AxisConfig:
    return AxisConfig(
        home=home,
        trust_dir=pki.trust_dir,
        signature_mode="require",
        intake_workers=1,
        max_document_bytes=256 * 1024,
        **values,
    )


def _health_crls(axis: RunningAxis) -> list[dict[str, Any]]:
    reply = AxisHttp(axis.port, None, None).request("GET", "/v1/health")
    assert reply.status == 200, reply.body
    return list(reply.json()["checks"].get("crls", []))


def test_the_server_refreshes_a_due_crl_and_health_shows_its_age(
    test_pki: TestPki, revocation_server: RevocationServer, tmp_path: Path
) -> None:
    home = tmp_path / "axis-home"
    trust = TrustStore.from_directory(test_pki.trust_dir)
    now = _now()
    published = f"{test_pki.base_url}/crl/sub_ca.crl"
    due = _sub_ca_crl(test_pki, now - 50 * MINUTE, now + 10 * MINUTE, published_at=published)
    install_crl(due, home / "crl", trust, location="seed")
    sub_ca = test_pki.sub_ca.cert.subject.rfc4514_string()

    with RunningAxis(_config(home, test_pki, revocation_fetch=True)) as axis:

        def refreshed() -> bool:
            for crl in _health_crls(axis):
                if crl["issuer"] == sub_ca:
                    return dt.datetime.fromisoformat(crl["this_update"]) >= now
            return False

        assert poll(refreshed, 60)
        crl = next(c for c in _health_crls(axis) if c["issuer"] == sub_ca)
        assert 0 <= crl["age_seconds"] < 120
        assert crl["past_next_update"] is False
        assert crl["seconds_to_next_update"] > 0
        assert dt.datetime.fromisoformat(crl["next_update"]) > now + 10 * MINUTE
        auditor = axis.add_system("kiem-toan", (), role="auditor")
        metrics = auditor.request("GET", "/metrics").body.decode()
        assert "axis_crl_age_seconds{" in metrics


def _sender(pki: TestPki) -> Agency:
    return make_agency(pki, "000.00.00.H38", "Ủy ban nhân dân tỉnh Lào Cai", "Lào Cai")


def _letter(sender: Agency, number: int) -> bytes:
    package = letter(
        sender.org, [G22], number=str(number), subject="Về việc thu hồi chứng thư số", day=_DAY
    )
    return sender.sign(package)


_DAY = dt.date(2025, 7, 15)


def _revoking(sender: Agency) -> tuple[Revocation, ...]:
    when = _now() - DAY
    reason = x509.ReasonFlags.key_compromise
    return (Revocation("sub_ca", sender.chain[0].serial_number, when, reason),)


def test_the_intake_refuses_a_revoked_signer_once_its_crl_is_imported_soft_fail(
    test_pki: TestPki,
    revocation_server: RevocationServer,
    tmp_path: Path,
    home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    trust = TrustStore.from_directory(test_pki.trust_dir)
    now = _now()
    # held at start: a due CRL of the root (fetch is off: the refresher must not fetch it)
    root_due = make_crl(
        test_pki.root,
        (),
        now - 50 * MINUTE,
        now + 10 * MINUTE,
        distribution_point=f"{test_pki.base_url}/crl/root.crl",
    )
    install_crl(root_due, home / "crl", trust, location="seed")
    sender = _sender(test_pki)
    crl_file = _write(
        tmp_path / "revoking.crl",
        _sub_ca_crl(test_pki, now, now + DAY, _revoking(sender)),
    )
    count = _crl_requests(revocation_server)
    with RunningAxis(_config(home, test_pki, revocation="soft-fail")) as axis:
        client = axis.add_system("laocai-ioffice", ("000.00.00.H38",))
        first = client.send(_letter(sender, 1))
        assert first.status == 202, first.body
        assert first.json()["signature"]["revocation_status"] == "unknown"
        refresher = axis.runtime.crl if axis.runtime is not None else None
        assert refresher is not None
        assert poll(lambda: refresher.passes >= 1)  # the first pass runs at start
        assert _crl_requests(revocation_server) == count  # fetch off: nothing fetched

        assert main(["pki", "crl", "import", crl_file, "--trust", str(test_pki.trust_dir)]) == 0
        capsys.readouterr()
        numbers = iter(range(2, 1000))
        replies: list[int] = []

        def refused() -> bool:  # the worker re-reads the folder within a second
            reply = client.send(_letter(sender, next(numbers)))
            replies.append(reply.status)
            if reply.status != 422:
                return False
            problem = reply.json()
            assert problem["code"] == "cert.revoked"
            assert "reason keyCompromise" in problem["detail"]
            return True

        assert poll(refused, 30, step=0.3), replies
        issuers = {c["issuer"] for c in _health_crls(axis)}
        assert test_pki.sub_ca.cert.subject.rfc4514_string() in issuers
        assert test_pki.root.cert.subject.rfc4514_string() in issuers


def test_the_intake_refuses_a_revoked_signer_under_hard_fail(
    test_pki: TestPki, tmp_path: Path
) -> None:
    home = tmp_path / "axis-home"
    trust = TrustStore.from_directory(test_pki.trust_dir)
    sender = _sender(test_pki)
    now = _now()
    revoking = _sub_ca_crl(test_pki, now, now + DAY, _revoking(sender))
    install_crl(revoking, home / "crl", trust, location="import")
    with RunningAxis(_config(home, test_pki, revocation="hard-fail")) as axis:
        client = axis.add_system("laocai-ioffice", ("000.00.00.H38",))
        reply = client.send(_letter(sender, 1))
        assert reply.status == 422, reply.body
        assert reply.json()["code"] == "cert.revoked"
        [crl] = _health_crls(axis)
        assert crl["revoked"] == 1
        assert crl["past_next_update"] is False


def test_verify_api_refuses_a_listed_serial_after_the_crl_went_stale(test_pki: TestPki) -> None:
    """The library view of the same rule, on a fed CRL (no folder)."""
    from signing.certpath import PathPolicy, PathValidator

    now = _now()
    trust = TrustStore.from_directory(test_pki.trust_dir)
    modes: tuple[RevocationMode, ...] = ("soft-fail", "hard-fail")
    for mode in modes:
        validator = PathValidator(trust, policy=PathPolicy(revocation=mode))
        validator.revocation_cache.add_crl(_sub_ca_crl(test_pki, now - 8 * DAY, now - DAY))
        result = validator.validate_sync(test_pki.revoked.cert)
        assert (result.ok, result.reason) == (False, "cert.revoked"), mode
    report = verify(
        signed_edxml(test_pki.revoked.key, [test_pki.revoked.cert, test_pki.sub_ca.cert]),
        trust=trust,
        policy=SignaturePolicy(mode="require"),
    )
    assert report.valid  # nothing held, nothing fed: unknown, accepted under soft-fail
