"""``axis systems add|list|revoke`` against a temporary ``$AXIS_HOME`` and its real store."""

from __future__ import annotations

import argparse
import base64
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import structlog

from axis.auth import Authenticator, certificate_der, certificate_sha256
from axis.clock import Clock
from axis.commands import systems_cmd
from axis.config import AxisConfig
from axis.errors import AuthError
from axis.logs import configure_logging
from axis.resources import open_store
from axis.store.records import AuditFilter, SystemRecord
from tests.test_auth import H38, run
from tests.test_auth_tls import make_pki


@pytest.fixture(autouse=True)
def _logging_to_stderr() -> Iterator[None]:
    """As ``axis.cli.main`` does: log lines on stderr, stdout for the command's output."""
    configure_logging("warning")
    yield
    structlog.reset_defaults()


def axis(argv: Sequence[str]) -> int:
    """The ``systems`` group alone under a parser shaped like ``axis.cli``'s."""
    parser = argparse.ArgumentParser(prog="axis")
    sub = parser.add_subparsers(dest="command", required=True)
    systems_cmd.GROUP.register(sub)
    args = parser.parse_args(list(argv))
    code: int = args.handler(args)
    return code


def stored(system_id: str) -> SystemRecord | None:
    async def main() -> SystemRecord | None:
        async with open_store(AxisConfig.from_env()) as store:
            return await store.system(system_id)

    return run(main())


def authenticate(header: str) -> str:
    async def main() -> str:
        async with open_store(AxisConfig.from_env()) as store:
            auth = Authenticator(store, Clock(), failures_per_minute=5)
            return (await auth.authenticate_basic(header, "127.0.0.1")).system_id

    return run(main())


def test_add_prints_a_generated_secret_once_and_it_authenticates(
    axis_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert axis(["systems", "add", "sys-h38", "--codes", H38]) == 0
    out = capsys.readouterr().out
    secret_lines = [line for line in out.splitlines() if line.startswith("secret: ")]
    assert len(secret_lines) == 1
    secret = secret_lines[0].removeprefix("secret: ")
    assert out.count(secret) == 1
    assert "will not be shown again" in out
    header = "Basic " + base64.b64encode(f"sys-h38:{secret}".encode()).decode()
    assert authenticate(header) == "sys-h38"

    record = stored("sys-h38")
    assert record is not None
    assert record.secret_hash is not None
    assert secret not in record.secret_hash
    assert record.codes == (H38,)
    assert record.role == "agency"

    assert axis(["systems", "list"]) == 0
    listing = capsys.readouterr().out
    assert "sys-h38" in listing
    assert H38 in listing
    assert "scrypt" not in listing
    assert secret not in listing


def test_list_json_revoke_and_the_audit_trail(
    axis_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "a-chosen-secret-of-enough-length"
    assert (
        axis(["systems", "add", "ops", "--role", "admin", "--secret", secret, "--codes", H38]) == 0
    )
    assert axis(["systems", "add", "audit", "--role", "auditor"]) == 0
    out = capsys.readouterr().out
    assert secret not in out
    assert axis(["systems", "add", "ops", "--codes", H38]) == 1  # exists; --replace changes it
    assert "already exists" in capsys.readouterr().err

    assert axis(["systems", "revoke", "ops"]) == 0
    assert "revoked" in capsys.readouterr().out
    assert axis(["systems", "revoke", "nobody"]) == 1
    assert "no system nobody" in capsys.readouterr().err

    assert axis(["systems", "list", "--json"]) == 0
    rows = {row["system_id"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["ops"]["role"] == "admin"
    assert rows["ops"]["revoked_at"] is not None
    assert rows["audit"]["revoked_at"] is None
    assert rows["audit"]["codes"] == []
    assert all("secret_hash" not in row for row in rows.values())

    header = "Basic " + base64.b64encode(f"ops:{secret}".encode()).decode()
    with pytest.raises(AuthError) as caught:
        authenticate(header)
    assert caught.value.code == "auth.revoked"

    async def events() -> list[tuple[str, str | None, str]]:
        async with open_store(AxisConfig.from_env()) as store:
            found = await store.audit_events(AuditFilter(), limit=1000)
            return [(e.kind, e.system_id, json.dumps(dict(e.data))) for e in found.items]

    trail = [e for e in run(events()) if e[0].startswith("system.")]
    assert [(kind, system) for kind, system, _ in trail] == [
        ("system.added", "ops"),
        ("system.added", "audit"),
        ("system.revoked", "ops"),
    ]
    assert all(secret not in data and "scrypt" not in data for _, _, data in trail)


def test_add_binds_a_certificate_by_its_sha256(
    axis_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pki = make_pki(tmp_path / "pki")
    pem = pki.client_cert
    der_file = tmp_path / "client.der"
    der_file.write_bytes(certificate_der(pem.read_bytes()))
    expected = certificate_sha256(der_file.read_bytes())
    assert axis(["systems", "add", "sys-cert", "--codes", H38, "--cert", str(pem)]) == 0
    assert axis(["systems", "add", "sys-der", "--codes", H38, "--cert", str(der_file)]) == 1
    assert "already bound to system sys-cert" in capsys.readouterr().err
    stranger_der = tmp_path / "stranger.der"
    stranger_der.write_bytes(certificate_der(pki.stranger_cert.read_bytes()))
    assert axis(["systems", "add", "sys-der", "--codes", H38, "--cert", str(stranger_der)]) == 0
    der_record = stored("sys-der")
    assert der_record is not None
    assert der_record.cert_sha256 == certificate_sha256(stranger_der.read_bytes())
    out_pem = stored("sys-cert")
    assert out_pem is not None
    assert out_pem.cert_sha256 == expected
    assert out_pem.secret_hash is None
    not_a_cert = tmp_path / "junk.pem"
    not_a_cert.write_text("hello")
    assert axis(["systems", "add", "sys-x", "--codes", H38, "--cert", str(not_a_cert)]) == 1
    assert "not a certificate" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["systems", "add", "s1", "--codes", "000.00.00.h38"], "code.lowercase"),
        (["systems", "add", "s1", "--codes", f"{H38},000..00.H38"], "code.empty_group"),
        (["systems", "add", "bad id", "--codes", H38], "bad system id"),
    ],
)
def test_bad_codes_and_ids_are_usage_errors(
    axis_home: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        axis(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_an_agency_needs_a_code_and_a_secret_needs_a_length(
    axis_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert axis(["systems", "add", "s1"]) == 2
    assert "at least one code" in capsys.readouterr().err
    assert axis(["systems", "add", "s1", "--codes", H38, "--secret", "short"]) == 2
    assert stored("s1") is None
