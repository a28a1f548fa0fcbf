"""Signer bindings end to end: the admins' certificate -> codes table, over real HTTP on loopback,
the CLI on the same store, and the intake's check on two nodes sharing one SQLite store.

Node A runs with ``AXIS_REQUIRE_SENDER_BINDING=false`` (an unbound signer is a warning), node B
with ``true`` (refused); both read the one store file, so a binding made through A's API must
be honoured by B within its table's TTL, without a restart. Every signer here is a certificate
of the project's test PKI: "person" certificates in the style of real VGCA ones (a name, no
agency code), and agency certificates that name their code as ``UID=MDDT:<code>``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from axis.cli import main
from axis.compose import letter, signed, signing_certificate
from axis.config import AxisConfig
from axis.store.records import AuditFilter
from edxml import Organization
from signing.pki import TestPki
from tests.axis_server import AxisHttp, Reply, RunningAxis
from tests.probes import poll

G22 = "000.00.00.G22"  # Văn phòng Chính phủ: the sender of most letters here
G09 = "000.00.00.G09"  # Bộ Nội vụ: the recipient
H38 = "000.00.00.H38"  # Lào Cai
H38_DEPARTMENT = "000.00.01.H38"  # a body under Lào Cai
DAY = dt.date(2025, 7, 15)
_numbers = itertools.count(1)
_people = itertools.count(1)


@dataclass(frozen=True)
class Signer:
    """A signing certificate of the test PKI and its key."""

    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...]

    @property
    def sha256(self) -> str:
        return self.cert.fingerprint(hashes.SHA256()).hex()

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(Encoding.PEM).decode("ascii")

    def letter(self, sender: str = G22, to: str = G09) -> bytes:
        """A fresh signed Công văn from ``sender`` (a new DocumentId each time)."""
        package = letter(
            Organization(sender, organ_name="Cơ quan gửi"),
            [Organization(to)],
            number=str(next(_numbers)),
            subject="Về việc ký số văn bản",
            day=DAY,
        )
        return signed(package, self.key, self.chain)


def issue(pki: TestPki, subject: x509.Name, key: rsa.RSAPrivateKey | None = None) -> Signer:
    """A signing certificate for ``subject`` from the test PKI's sub-CA, valid from yesterday
    (with a new key, or ``key``: many certificates may share one, the key is not the point)."""
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    cert = signing_certificate(
        pki.sub_ca.cert, pki.sub_ca.key, subject, key, not_before=yesterday, days=366
    )
    return Signer(key, cert, (cert, pki.sub_ca.cert))


def person(pki: TestPki) -> Signer:
    """A certificate the way real VGCA ones are: a person's name, no agency code."""
    number = next(_people)
    return issue(
        pki,
        x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Văn phòng Chính phủ"),
                x509.NameAttribute(NameOID.COMMON_NAME, f"Nguyễn Văn Ánh {number}"),
            ]
        ),
    )


def named(pki: TestPki, *attributes: tuple[x509.ObjectIdentifier, str]) -> Signer:
    """A certificate whose subject is exactly these attributes (plus a CN)."""
    values = [x509.NameAttribute(oid, value) for oid, value in attributes]
    values.append(x509.NameAttribute(NameOID.COMMON_NAME, f"Cơ quan thử {next(_people)}"))
    return issue(pki, x509.Name(values))


def agency(pki: TestPki, code: str) -> Signer:
    """An agency certificate naming its code the test PKI's way: ``UID=MDDT:<code>``."""
    return named(pki, (NameOID.USER_ID, f"MDDT:{code}"))


# --- two nodes on one store ---------------------------------------------------------------------


@dataclass
class Nodes:
    a: RunningAxis  # require_sender_binding=false
    b: RunningAxis  # require_sender_binding=true
    store: str
    home: Path

    def client(self, node: RunningAxis, who: str) -> AxisHttp:
        return AxisHttp(node.port, who, _SECRETS[who])


_SECRETS: dict[str, str] = {}


@pytest.fixture(scope="module")
def nodes(test_pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nodes]:
    root = tmp_path_factory.mktemp("signers")
    store = f"sqlite://{(root / 'shared.sqlite3').absolute()}"

    def config(name: str, required: bool) -> AxisConfig:
        return AxisConfig(
            home=root / name,
            store=store,
            trust_dir=test_pki.trust_dir,
            signature_mode="require",
            require_sender_binding=required,
            intake_workers=1,
        )

    with RunningAxis(config("a", False)) as a, RunningAxis(config("b", True)) as b:
        for who, codes, role in (
            ("vpcp", (G22,), "agency"),
            ("laocai", (H38,), "agency"),
            ("admin", (), "admin"),
            ("auditor", (), "auditor"),
        ):
            client = a.add_system(who, codes, role=role)  # type: ignore[arg-type]
            _SECRETS[who] = client._auth_secret or ""
        yield Nodes(a, b, store, root / "a")


def _json(reply: Reply) -> Any:
    return reply.json()


def _post_binding(client: AxisHttp, body: dict[str, Any]) -> Reply:
    return client.request(
        "POST", "/v1/signers", json.dumps(body).encode(), content_type="application/json"
    )


def _bind(nodes: Nodes, signer: Signer, *codes: str, **extra: Any) -> dict[str, Any]:
    reply = _post_binding(
        nodes.client(nodes.a, "admin"),
        {"certificate": signer.pem, "codes": list(codes), **extra},
    )
    assert reply.status == 201, reply.body
    body: dict[str, Any] = reply.json()
    return body


def _problem(reply: Reply) -> dict[str, Any]:
    assert reply.headers["Content-Type"].startswith("application/problem+json"), reply.body
    body: dict[str, Any] = reply.json()
    return body


# --- the intake's check -------------------------------------------------------------------------


def test_signer_bound_to_one_agency_signing_for_another_is_refused_naming_both(
    nodes: Nodes, test_pki: TestPki
) -> None:
    signer = person(test_pki)
    _bind(nodes, signer, H38)
    # at once on the node that made the binding (its table is invalidated), on B within the TTL
    reply = nodes.client(nodes.a, "vpcp").send(signer.letter(G22))
    assert reply.status == 422, reply.body
    problem = _problem(reply)
    assert problem["code"] == "sig.signer_not_sender"
    assert f"bound to {H38}" in problem["message"]
    assert f"the document is from {G22}" in problem["message"]
    assert f"SHA-256 {signer.sha256[:12]}" in problem["message"]
    assert "CN=Nguyễn Văn Ánh" in problem["message"]
    assert problem["location"].endswith("/From/OrganId")
    assert poll(lambda: nodes.client(nodes.b, "vpcp").send(signer.letter(G22)).status == 422)


def test_bound_signer_for_its_own_agency_is_accepted_on_both_nodes(
    nodes: Nodes, test_pki: TestPki
) -> None:
    signer = person(test_pki)
    stored = _bind(nodes, signer, G22)
    assert stored["key"] == signer.sha256
    reply = nodes.client(nodes.a, "vpcp").send(signer.letter(G22))
    assert reply.status == 202, reply.body
    assert reply.json()["signature"]["binding"]["status"] == "explicit"
    assert reply.json()["warnings"] == []

    def accepted_on_b() -> bool:
        return nodes.client(nodes.b, "vpcp").send(signer.letter(G22)).status == 202

    assert poll(accepted_on_b)


def test_unbound_signer_is_accepted_with_a_warning_in_the_trace(
    nodes: Nodes, test_pki: TestPki
) -> None:
    signer = person(test_pki)
    client = nodes.client(nodes.a, "vpcp")
    reply = client.send(signer.letter(G22))
    assert reply.status == 202, reply.body
    sent = reply.json()
    assert [w["code"] for w in sent["warnings"]] == ["sig.signer_unbound"]
    trace = client.trace(sent["message_id"]).json()
    signature = trace["message"]["signature"]
    assert signature["binding"]["code"] == "sig.signer_unbound"
    assert signature["binding"]["severity"] == "warning"
    # the worker's summary names the certificate the way a binding finds it
    assert signature["signer_sha256"] == signer.sha256
    assert signature["signer_serial"] == format(signer.cert.serial_number, "X")
    assert "Nguyễn Văn Ánh" in signature["signer_subject"]
    assert signature["signer_issuer"] == test_pki.sub_ca.cert.subject.rfc4514_string()
    verified = [e for e in trace["events"] if e["kind"] == "verified"]
    assert verified[0]["data"]["binding"]["code"] == "sig.signer_unbound"


def test_unbound_signer_is_refused_where_binding_is_required(
    nodes: Nodes, test_pki: TestPki
) -> None:
    signer = person(test_pki)
    reply = nodes.client(nodes.b, "vpcp").send(signer.letter(G22))
    assert reply.status == 422, reply.body
    problem = _problem(reply)
    assert problem["code"] == "sig.signer_unbound"
    assert "axis signers add" in problem["message"]


def test_implicit_binding_of_the_test_pki_binds_exactly_its_code(
    nodes: Nodes, test_pki: TestPki
) -> None:
    own = agency(test_pki, G22)
    reply = nodes.client(nodes.b, "vpcp").send(own.letter(G22))
    assert reply.status == 202, reply.body
    assert reply.json()["signature"]["binding"] == {"status": "implicit", "codes": [G22]}
    other = agency(test_pki, H38)
    refused = _problem(nodes.client(nodes.a, "vpcp").send(other.letter(G22)))
    assert refused["code"] == "sig.signer_not_sender"
    assert f"bound to {H38} (its UID MDDT:)" in refused["message"]
    assert G22 in refused["message"]
    # a certificate's name is an identity, not a grant: H38's does not sign for its department
    child = _problem(nodes.client(nodes.a, "laocai").send(other.letter(H38_DEPARTMENT)))
    assert child["code"] == "sig.signer_not_sender"


def test_an_explicit_binding_wins_over_the_certificates_own_name(
    nodes: Nodes, test_pki: TestPki
) -> None:
    signer = agency(test_pki, H38)  # UID=MDDT:000.00.00.H38, bound by the admin to G22
    _bind(nodes, signer, G22)
    assert nodes.client(nodes.a, "vpcp").send(signer.letter(G22)).status == 202
    refused = _problem(nodes.client(nodes.a, "laocai").send(signer.letter(H38)))
    assert refused["code"] == "sig.signer_not_sender"
    assert "admin binding" in refused["message"]


def test_a_binding_covers_the_bodies_under_its_codes_unless_exact(
    nodes: Nodes, test_pki: TestPki
) -> None:
    wide, exact = person(test_pki), person(test_pki)
    _bind(nodes, wide, H38)
    _bind(nodes, exact, H38, exact=True)
    laocai = nodes.client(nodes.a, "laocai")
    assert laocai.send(wide.letter(H38_DEPARTMENT)).status == 202
    assert laocai.send(exact.letter(H38)).status == 202
    refused = _problem(laocai.send(exact.letter(H38_DEPARTMENT)))
    assert refused["code"] == "sig.signer_not_sender"
    assert "exactly" in refused["message"]


def test_an_ambiguous_certificate_is_refused_unless_an_admin_bound_it(
    nodes: Nodes, test_pki: TestPki
) -> None:
    signer = named(
        test_pki, (NameOID.USER_ID, f"MDDT:{G22}"), (NameOID.ORGANIZATIONAL_UNIT_NAME, H38)
    )
    refused = _problem(nodes.client(nodes.a, "vpcp").send(signer.letter(G22)))
    assert refused["code"] == "sig.signer_ambiguous"
    assert "names 2 agency codes" in refused["message"]
    assert G22 in refused["message"]
    assert H38 in refused["message"]
    _bind(nodes, signer, G22)
    assert nodes.client(nodes.a, "vpcp").send(signer.letter(G22)).status == 202


def test_a_binding_by_issuer_and_serial_is_honoured(nodes: Nodes, test_pki: TestPki) -> None:
    signer = person(test_pki)
    issuer = test_pki.sub_ca.cert.subject.rfc4514_string().replace(",", ", ")  # spaces tolerated
    stored = _post_binding(
        nodes.client(nodes.a, "admin"),
        {"issuer": issuer, "serial": format(signer.cert.serial_number, "x"), "codes": G22},
    )
    assert stored.status == 201, stored.body
    assert stored.json()["by"] == "issuer-serial"
    assert stored.json()["key"].startswith("is:")
    accepted = nodes.client(nodes.a, "vpcp").send(signer.letter(G22))
    assert accepted.status == 202, accepted.body
    assert accepted.json()["signature"]["binding"]["by"] == "issuer-serial"
    refused = _problem(nodes.client(nodes.a, "laocai").send(signer.letter(H38)))
    assert refused["code"] == "sig.signer_not_sender"


def test_a_binding_made_through_one_nodes_api_applies_on_the_other_without_restart(
    nodes: Nodes, test_pki: TestPki
) -> None:
    signer = person(test_pki)
    b = nodes.client(nodes.b, "vpcp")
    assert _problem(b.send(signer.letter(G22)))["code"] == "sig.signer_unbound"  # B requires it
    key = _bind(nodes, signer, G22)["key"]
    assert poll(lambda: b.send(signer.letter(G22)).status == 202, seconds=15)
    removed = nodes.client(nodes.a, "admin").request("DELETE", f"/v1/signers/{key}")
    assert removed.status == 200, removed.body
    assert poll(lambda: b.send(signer.letter(G22)).status == 422, seconds=15)


# --- the API ------------------------------------------------------------------------------------


def test_api_lists_adds_and_removes_with_audit(nodes: Nodes, test_pki: TestPki) -> None:
    signer = person(test_pki)
    admin = nodes.client(nodes.a, "admin")
    created = _post_binding(admin, {"certificate": signer.pem, "codes": [G22, G09]})
    assert created.status == 201, created.body
    binding = created.json()
    assert binding["codes"] == [G22, G09]
    assert binding["bound_by"] == "admin"
    assert binding["subject"] == signer.cert.subject.rfc4514_string()
    again = _post_binding(admin, {"certificate": signer.pem, "codes": [G22]})
    assert again.status == 409
    assert _problem(again)["code"] == "signer.exists"
    replaced = _post_binding(admin, {"certificate": signer.pem, "codes": [G22], "replace": True})
    assert replaced.status == 200
    assert replaced.json()["codes"] == [G22]
    for who in ("admin", "auditor"):
        listed = nodes.client(nodes.a, who).request("GET", "/v1/signers")
        assert listed.status == 200
        items = {item["key"]: item for item in listed.json()["items"]}
        assert items[signer.sha256]["codes"] == [G22]
    removed = admin.request("DELETE", f"/v1/signers/{signer.sha256}")
    assert removed.status == 200
    assert removed.json()["codes"] == [G22]
    gone = admin.request("DELETE", f"/v1/signers/{signer.sha256}")
    assert gone.status == 404
    assert _problem(gone)["code"] == "signer.not_found"
    store = nodes.a.runtime.store if nodes.a.runtime else None
    assert store is not None
    events = {}
    for kind in ("signer.bound", "signer.removed"):
        page = nodes.a.call(store.audit_events(AuditFilter(kind=kind), limit=1000))
        events[kind] = [e for e in page.items if e.data.get("key") == signer.sha256]
        assert {(e.system_id, e.address) for e in events[kind]} == {("admin", "127.0.0.1")}
    assert [e.data["replaced"] for e in events["signer.bound"]] == [False, True]
    assert [e.codes for e in events["signer.bound"]] == [(G22, G09), (G22,)]
    assert len(events["signer.removed"]) == 1


def test_api_refuses_bad_bindings_with_their_location(nodes: Nodes, test_pki: TestPki) -> None:
    admin = nodes.client(nodes.a, "admin")
    cases: list[tuple[bytes, str, str | None]] = [
        (b"not json", "body.invalid", "body"),
        (b"[]", "body.invalid", "body"),
        (json.dumps({"certificate": "x", "codes": [G22]}).encode(), "signer.bad_certificate", None),
        (
            json.dumps({"certificate": person(test_pki).pem, "codes": ["h38"]}).encode(),
            "signer.bad_code",
            "codes",
        ),
        (
            json.dumps({"certificate": person(test_pki).pem, "codes": []}).encode(),
            "signer.bad_code",
            "codes",
        ),
        (
            json.dumps({"issuer": "CN=x", "serial": "xyz", "codes": [G22]}).encode(),
            "signer.bad_serial",
            "serial",
        ),
        (
            json.dumps({"issuer": "no dn", "serial": "01", "codes": [G22]}).encode(),
            "signer.bad_issuer",
            "issuer",
        ),
        (json.dumps({"codes": [G22]}).encode(), "body.invalid", "body"),
        (
            json.dumps(
                {"certificate": person(test_pki).pem, "codes": [G22], "by": "name"}
            ).encode(),
            "body.invalid",
            "by",
        ),
    ]
    for body, code, location in cases:
        reply = admin.request("POST", "/v1/signers", body, content_type="application/json")
        assert reply.status == 400, (body, reply.body)
        problem = _problem(reply)
        assert problem["code"] == code, (body, problem)
        if location is not None:
            assert problem["location"] == location
    bad_key = admin.request("DELETE", "/v1/signers/not-a-key")
    assert bad_key.status == 400
    assert _problem(bad_key)["code"] == "signer.bad_key"


def test_api_roles_auditor_reads_agency_does_nothing(nodes: Nodes, test_pki: TestPki) -> None:
    signer = person(test_pki)
    body = {"certificate": signer.pem, "codes": [G22]}
    auditor, agency_system = nodes.client(nodes.a, "auditor"), nodes.client(nodes.a, "vpcp")
    assert auditor.request("GET", "/v1/signers").status == 200
    assert agency_system.request("GET", "/v1/signers").status == 403
    for client in (auditor, agency_system):
        posted = _post_binding(client, body)
        assert posted.status == 403
        assert _problem(posted)["code"] == "auth.forbidden"
        deleted = client.request("DELETE", f"/v1/signers/{signer.sha256}")
        assert deleted.status == 403
    anonymous = AxisHttp(nodes.a.port, None, None)
    assert anonymous.request("GET", "/v1/signers").status == 401
    listed = nodes.client(nodes.a, "admin").request("GET", "/v1/signers").json()["items"]
    assert signer.sha256 not in {item["key"] for item in listed}  # nothing was written


# --- the CLI ------------------------------------------------------------------------------------


def test_cli_add_list_remove_round_trip(
    nodes: Nodes,
    test_pki: TestPki,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AXIS_STORE", nodes.store)
    monkeypatch.setenv("AXIS_HOME", str(tmp_path / "cli-home"))
    monkeypatch.delenv("AXIS_CONFIG", raising=False)
    signer = person(test_pki)
    pem = tmp_path / "signer.pem"
    pem.write_text(signer.pem, encoding="ascii")

    assert main(["signers", "add", str(pem), "--codes", f"{G22},{G09}"]) == 0
    assert f"signer bound: {signer.sha256} -> {G22}, {G09}" in capsys.readouterr().out
    assert main(["signers", "add", str(pem), "--codes", G22]) == 1
    assert "signer.exists" in capsys.readouterr().err
    assert main(["signers", "add", str(pem), "--codes", G22, "--replace", "--exact"]) == 0
    capsys.readouterr()

    assert main(["signers", "list"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == ["KEY", "CODES", "CERTIFICATE", "BOUND", "BY"]
    row = next(line for line in table.splitlines() if line.startswith(signer.sha256))
    assert f"{G22} (exact)" in row
    assert "Nguyễn Văn Ánh" in row
    assert "cli" in row.split()[-1:]

    assert main(["signers", "list", "--json"]) == 0
    listed = {b["key"]: b for b in json.loads(capsys.readouterr().out)}
    assert listed[signer.sha256]["codes"] == [G22]
    assert listed[signer.sha256]["exact"] is True

    # what the CLI wrote, a running node honours (B requires a binding)
    assert poll(lambda: nodes.client(nodes.b, "vpcp").send(signer.letter(G22)).status == 202)

    assert main(["signers", "remove", signer.sha256]) == 0
    assert "removed" in capsys.readouterr().out
    assert main(["signers", "remove", signer.sha256]) == 1
    assert "signer.not_found" in capsys.readouterr().err
    assert main(["signers", "list", "--json"]) == 0
    assert signer.sha256 not in {b["key"] for b in json.loads(capsys.readouterr().out)}


def test_cli_issuer_serial_forms_and_usage_errors(
    nodes: Nodes,
    test_pki: TestPki,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AXIS_STORE", nodes.store)
    monkeypatch.setenv("AXIS_HOME", str(tmp_path / "cli-home"))
    signer = person(test_pki)
    pem = tmp_path / "signer.pem"
    pem.write_text(signer.pem, encoding="ascii")

    assert main(["signers", "add", str(pem), "--codes", G22, "--issuer-serial"]) == 0
    by_cert = capsys.readouterr().out.split()[2]
    assert by_cert.startswith("is:")
    assert by_cert.endswith(":" + format(signer.cert.serial_number, "X"))
    # the same certificate named by its issuer and serial has the same key
    issuer = test_pki.sub_ca.cert.subject.rfc4514_string()
    serial = ":".join(f"{b:02x}" for b in signer.cert.serial_number.to_bytes(20, "big"))
    args = ["signers", "add", "--issuer", issuer, "--serial", serial, "--codes", G09]
    assert main(args) == 1
    assert "signer.exists" in capsys.readouterr().err
    assert main(["signers", "remove", by_cert]) == 0
    capsys.readouterr()

    assert main(["signers", "add", str(pem), "--codes", "000.00.00.h38"]) == 2
    assert "signer.bad_code" in capsys.readouterr().err
    assert main(["signers", "add", "--codes", G22]) == 2
    assert main(["signers", "add", str(tmp_path / "absent.pem"), "--codes", G22]) == 1
    not_a_cert = tmp_path / "junk.pem"
    not_a_cert.write_text("junk", encoding="ascii")
    assert main(["signers", "add", str(not_a_cert), "--codes", G22]) == 2
    assert "signer.bad_certificate" in capsys.readouterr().err
    assert main(["signers", "remove", "nope"]) == 2
    assert "signer.bad_key" in capsys.readouterr().err
