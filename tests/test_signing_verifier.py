"""signing.Verifier: state owned by its caller, reused across documents, one loop of its own;
the ``absent`` verdict and ``accepted``; the package's one error base."""

# ruff: noqa: F811  (pytest fixtures imported from tests.signing_fixtures are parameters)
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import edxml
import signing
from edxml.xmlsafe import parse_xml
from signing import (
    REVOCATION_MODES,
    SIGNATURE_MODES,
    PathValidator,
    ReasonCode,
    SignaturePolicy,
    SigningError,
    TrustStore,
    Verifier,
    verify,
)
from signing.errors import PkiError, RevocationFetchError, SignError, TrustStoreError
from signing.pki import TestPki, load_test_pki
from signing.samples import sample_edxml, signed_edxml
from tests.signing_fixtures import revocation_server, test_pki  # noqa: F401

SENDER = "000.00.01.H53"
OPTIONAL = SignaturePolicy(mode="verify-if-present")


@pytest.fixture(scope="module")
def trust(test_pki: TestPki) -> TrustStore:
    return TrustStore.from_directory(test_pki.trust_dir)


@pytest.fixture(scope="module")
def documents(test_pki: TestPki) -> list[bytes]:
    """Three different documents of one signer (the broker's common case)."""
    issued = test_pki.agency_rsa2048
    chain = [issued.cert, test_pki.sub_ca.cert]
    return [signed_edxml(issued.key, chain, sender=SENDER, attachment_size=n) for n in (9, 99, 999)]


class RecordingFetcher:
    """Records the event loop every fetch runs on; has no data (soft-fail tolerates that)."""

    def __init__(self) -> None:
        self.loops: list[asyncio.AbstractEventLoop] = []

    async def fetch_crl(self, url: str) -> bytes:
        self.loops.append(asyncio.get_running_loop())
        raise RevocationFetchError("revocation.unreachable", "offline test", url)

    async def fetch_ocsp(self, url: str, request_der: bytes) -> bytes:
        self.loops.append(asyncio.get_running_loop())
        raise RevocationFetchError("revocation.unreachable", "offline test", url)


# --- one verifier, many documents ----------------------------------------------------------------


def test_a_verifier_reused_across_documents_builds_its_path_validator_once(
    documents: list[bytes], trust: TrustStore
) -> None:
    with Verifier(trust) as verifier:
        validator = verifier.validator
        assert isinstance(validator, PathValidator)
        reports = [verifier.verify(data) for data in documents * 2]
        assert verifier.validator is validator
        assert validator.misses == 1  # one signer: validated once, then served from the cache
        assert validator.hits >= len(reports) - 1
        assert len(verifier.certs) == 3  # the leaf, the sub-CA and the root: one entry each
    once = [verify(data, trust=trust) for data in documents]
    assert [r.status for r in reports] == ["valid"] * 6
    assert [r.signatures[0].signer_subject for r in reports[:3]] == [
        r.signatures[0].signer_subject for r in once
    ]


def test_cache_misses_run_on_one_private_loop_closed_with_the_verifier(
    test_pki: TestPki, trust: TrustStore
) -> None:
    fetcher = RecordingFetcher()
    signers = (test_pki.agency_rsa2048, test_pki.agency_rsa3072, test_pki.official_ecdsa_p256)
    verifier = Verifier(trust, SignaturePolicy(require_sender_binding=False), fetcher)
    with verifier:
        for issued in signers:
            report = verifier.verify(signed_edxml(issued.key, [issued.cert], sender=SENDER))
            assert report.valid, report
            assert report.signatures[0].revocation_status == "unknown"
    assert len(fetcher.loops) >= len(signers)  # every signer's path missed the cache ...
    assert len(set(fetcher.loops)) == 1  # ... and all ran on the verifier's one loop
    assert fetcher.loops[0].is_closed()
    assert verifier.closed
    with pytest.raises(RuntimeError, match="closed"):
        verifier.verify(b"<x/>")
    verifier.close()  # idempotent


def test_verify_inside_a_running_loop_raises_and_points_at_verify_async(
    documents: list[bytes], trust: TrustStore
) -> None:
    async def inside() -> None:
        with Verifier(trust) as verifier:
            verifier.verify(documents[0])

    with pytest.raises(RuntimeError, match="verify_async"):
        asyncio.run(inside())


def test_verify_async_on_the_callers_loop_gives_the_same_reports(
    documents: list[bytes], trust: TrustStore
) -> None:
    async def inside() -> list[signing.SignatureReport]:
        async with Verifier(trust) as verifier:
            return [await verifier.verify_async(data) for data in documents]

    reports = asyncio.run(inside())
    assert [r.status for r in reports] == ["valid"] * 3
    assert reports[0].signatures[0].coverage == "whole-document"
    with Verifier(trust) as verifier:
        sync = verifier.verify(documents[0])
    assert sync.signatures[0].signer_subject == reports[0].signatures[0].signer_subject


def test_aclose_inside_a_loop_closes_a_private_loop_and_its_session(trust: TrustStore) -> None:
    verifier = Verifier.with_http_fetcher(trust, timeout=1)
    fetcher = verifier.fetcher
    assert isinstance(fetcher, signing.revocation.HttpRevocationFetcher)
    assert not fetcher.session.closed

    async def inside() -> None:
        with pytest.raises(RuntimeError, match="aclose"):
            verifier.close()  # its session lives on its own loop
        await verifier.aclose()

    asyncio.run(inside())
    assert verifier.closed
    assert fetcher.session.closed


def test_a_path_validator_brings_its_own_fetcher(trust: TrustStore) -> None:
    with pytest.raises(ValueError, match="own fetcher"):
        Verifier(PathValidator(trust), fetcher=RecordingFetcher())


# --- the absent verdict ---------------------------------------------------------------------------


def test_absent_is_its_own_verdict_never_valid_accepted_only_where_allowed(
    trust: TrustStore,
) -> None:
    unsigned = sample_edxml(SENDER)
    with Verifier(trust, OPTIONAL) as optional, Verifier(trust) as required:
        allowed = optional.verify(unsigned)
        refused = required.verify(unsigned)
    assert (allowed.status, allowed.valid, allowed.accepted) == ("absent", False, True)
    assert (refused.status, refused.valid, refused.accepted) == ("absent", False, False)
    assert allowed.reason is refused.reason is ReasonCode.ABSENT
    assert "requires a signature" in refused.message
    assert allowed.as_dict()["accepted"] is True
    assert allowed.as_dict()["valid"] is False


def test_a_present_signature_must_verify_even_where_absence_is_allowed(
    documents: list[bytes], trust: TrustStore
) -> None:
    tampered = documents[0].replace(b"<edXML:CodeNumber>123<", b"<edXML:CodeNumber>999<")
    assert tampered != documents[0]
    report = verify(tampered, trust=trust, policy=OPTIONAL)
    assert (report.status, report.valid, report.accepted) == ("invalid", False, False)
    valid = verify(documents[0], trust=trust, policy=OPTIONAL)
    assert (valid.status, valid.valid, valid.accepted) == ("valid", True, True)


def test_modes_are_written_once_in_the_policy() -> None:
    assert SIGNATURE_MODES == ("require", "verify-if-present", "off")
    assert REVOCATION_MODES == ("hard-fail", "soft-fail", "off")
    for mode in SIGNATURE_MODES:
        assert SignaturePolicy(mode=mode).mode == mode


# --- one error base -------------------------------------------------------------------------------


def test_every_signing_error_is_a_coded_error_with_its_stable_code(tmp_path: Path) -> None:
    caught: list[SigningError] = []
    tree = parse_xml(b"<not-edxml/>")
    with pytest.raises(SigningError) as sign_error:
        signing.sign(tree, None, [], algorithm="rsa-sha256")  # type: ignore[arg-type]
    caught.append(sign_error.value)
    with pytest.raises(SigningError) as trust_error:
        TrustStore.from_directory(tmp_path / "absent")
    caught.append(trust_error.value)
    with pytest.raises(SigningError) as pki_error:
        load_test_pki(tmp_path)
    caught.append(pki_error.value)
    caught.append(RevocationFetchError("revocation.timeout", "no answer in 5s", "http://ca/crl"))
    kinds = (SignError, TrustStoreError, PkiError, RevocationFetchError)
    for error, kind in zip(caught, kinds, strict=True):
        assert isinstance(error, kind)
        assert isinstance(error, edxml.CodedError)
        assert set(error.to_dict()) == {"code", "message", "location"}
    assert [e.code.split(".")[0] for e in caught] == ["sign", "trust", "pki", "revocation"]
    assert trust_error.value.code == "trust.no_directory"
    assert pki_error.value.code == "pki.no_manifest"
    # the standard bases they had stay, so older ``except ValueError`` callers still catch them
    assert isinstance(sign_error.value, ValueError)
    assert isinstance(trust_error.value, ValueError)
    assert isinstance(pki_error.value, RuntimeError)


def test_old_error_names_still_import_from_their_old_modules() -> None:
    from signing.pki import PkiError as OldPki
    from signing.revocation import RevocationFetchError as OldFetch
    from signing.sign import SigningError as OldSigning
    from signing.truststore import TrustStoreError as OldTrust

    assert (OldPki, OldFetch, OldTrust) == (PkiError, RevocationFetchError, TrustStoreError)
    assert OldSigning is SigningError
