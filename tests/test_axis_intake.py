"""The intake's stages over real packages: format, signature, routes through the 2025 successions."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from lxml import etree

import edxml
from axis.cli import main
from axis.config import AxisConfig
from axis.intake import IntakeContext, check_format, run_intake
from edxml.xmlsafe import parse_xml
from registry import sources, sync
from registry.registry import Registry
from registry.seed import load_seed
from signing import TrustStore, Verifier, sign
from signing.pki import TestPki
from tests.edxml_helpers import NEW_DOCUMENT, example

RECEIVED = dt.datetime(2025, 7, 20, 8, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def seed() -> Registry:
    return load_seed()


@pytest.fixture(scope="module")
def with_examples(seed: Registry) -> Registry:
    """The seed plus the example agencies (what `axis registry import examples/agencies.csv` does)."""
    batch = sources.read(Path(__file__).parent.parent / "examples" / "agencies.csv")
    return sync.apply(seed, sync.plan(seed, batch), author="test", reason="example agencies")


def _context(registry: Registry, **config: object) -> IntakeContext:
    settings = AxisConfig(**config)  # type: ignore[arg-type]
    verifier = Verifier(TrustStore.default(), settings.signature_policy())
    return IntakeContext(settings, registry, verifier, RECEIVED)


def _readdressed(to_code: str) -> bytes:
    package = edxml.parse(example(NEW_DOCUMENT))
    assert isinstance(package, edxml.Document)
    recipient = dataclasses.replace(package.header.to[0], organ_id=to_code)
    header = dataclasses.replace(package.header, to=(recipient,))
    return edxml.build(dataclasses.replace(package, header=header))


def test_example_letter_is_accepted_and_routed(seed: Registry) -> None:
    intake = run_intake(example(NEW_DOCUMENT), _context(seed))
    assert intake.accepted, intake.refusal
    assert intake.signature is not None
    assert intake.signature.status == "absent"
    assert [r.code for r in intake.routes] == ["000.00.00.G22", "000.00.00.G09"]


def test_letter_to_a_closed_province_reaches_its_successor(seed: Registry) -> None:
    intake = run_intake(_readdressed("000.00.00.H63"), _context(seed))
    assert intake.accepted, intake.refusal
    (route,) = intake.routes
    assert (route.status, route.code) == ("redirected", "000.00.00.H38")  # Yên Bái -> Lào Cai
    assert route.hops[0].legal_basis == "QĐ 09/2025/QĐ-TTg"


def test_letter_to_a_split_commune_is_refused_with_the_candidates(seed: Registry) -> None:
    intake = run_intake(_readdressed("XA-00016"), _context(seed))
    assert intake.refusal is not None
    assert intake.refusal.code == "route.ambiguous"
    assert intake.refusal.location == "recipient[1]"
    assert "XA-00004" in intake.refusal.message


def test_status_routes_back_once_the_sender_is_registered(
    seed: Registry, with_examples: Registry
) -> None:
    status = example("status_03_acceptance.edxml")
    refused = run_intake(status, _context(seed))
    assert refused.refusal is not None
    assert refused.refusal.code == "route.unknown"
    accepted = run_intake(status, _context(with_examples))
    assert accepted.accepted
    assert accepted.routes[0].code == "000.00.01.H53"


def test_every_stage_reports_even_after_a_format_refusal(seed: Registry) -> None:
    broken = example(NEW_DOCUMENT).replace(b"<ContentId>cid:att-2<", b"<ContentId>cid:att-X<")
    intake = run_intake(broken, _context(seed))
    assert intake.refusal is not None
    assert intake.refusal.code == "manifest.missing_attachment"
    assert intake.signature is not None  # the later stages still ran
    assert len(intake.routes) == 2


def test_unreadable_bytes_stop_at_the_format_stage(seed: Registry) -> None:
    intake = run_intake(b"<not-edxml/>", _context(seed))
    assert intake.refusal is not None
    assert intake.refusal.code == "edxml.not_edxml"
    assert (intake.signature, intake.routes) == (None, ())
    assert check_format(intake, _context(seed)).refusal == intake.refusal  # a stage alone


def test_signed_letter_is_accepted_and_a_tampered_one_refused(
    seed: Registry, test_pki: TestPki
) -> None:
    tree = parse_xml(example(NEW_DOCUMENT))
    issued = test_pki.agency_rsa2048
    sign(tree, issued.key, [issued.cert, test_pki.sub_ca.cert])
    signed = etree.tostring(tree, encoding="UTF-8", xml_declaration=True)
    context = _context(seed, signature_mode="require", require_sender_binding=True)
    context = dataclasses.replace(
        context,
        verifier=Verifier(
            TrustStore.from_directory(test_pki.trust_dir), context.config.signature_policy()
        ),
        received_at=dt.datetime.now(dt.UTC),
    )
    good = run_intake(signed, context)
    assert good.accepted, good.refusal
    assert good.signature is not None
    assert good.signature.status == "valid"
    tampered = run_intake(signed.replace("Bộ Nội vụ".encode(), "Bộ Ngoại giao".encode()), context)
    assert tampered.refusal is not None
    assert tampered.refusal.code == "sig.digest_mismatch"


def test_axis_run_prints_the_intake_table(
    axis_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--corpus", str(Path(__file__).parent.parent / "examples")]) == 0
    out = capsys.readouterr().out
    assert "registry version 1" in out
    assert "edoc_new_two-attachments.edxml     accepted document" in out
    assert "route.unknown" in out  # the status packages' addressee is not in the seed
    assert (axis_home / "axis.sqlite3").exists()
