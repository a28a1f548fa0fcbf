"""Path validation at a trusted time: every refusal code, revocation modes, cache, trust reload."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from signing.certpath import PathPolicy, PathResult, PathValidator
from signing.pki import Revocation, RevocationServer, TestPki, make_crl
from signing.revocation import RevocationCache
from signing.truststore import TrustStore
from tests.conftest import shared_path
from tests.signing_fixtures import SessionPerCallFetcher, revocation_server, test_pki

__all__ = ["revocation_server", "test_pki"]  # fixtures imported for pytest

SOFT = PathPolicy(revocation="soft-fail")
HARD = PathPolicy(revocation="hard-fail")
OFF = PathPolicy(revocation="off")


@pytest.fixture
def trust(test_pki: TestPki) -> TrustStore:
    return TrustStore.from_directory(test_pki.trust_dir)


def _validator(trust: TrustStore, policy: PathPolicy = SOFT, **kw: object) -> PathValidator:
    return PathValidator(trust, policy=policy, fetcher=SessionPerCallFetcher(), **kw)  # type: ignore[arg-type]


def _ok(result: PathResult) -> None:
    assert result.ok, f"{result.reason}: {result.message}"
    assert result.reason is None


@pytest.mark.parametrize("name", ["agency_rsa2048", "agency_rsa3072", "official_ecdsa_p256"])
@pytest.mark.parametrize("policy", [SOFT, HARD])
def test_valid_agency_and_official_certificates(
    test_pki: TestPki, trust: TrustStore, name: str, policy: PathPolicy
) -> None:
    leaf = test_pki.all_issued()[name].cert
    result = _validator(trust, policy).validate_sync(leaf)
    _ok(result)
    assert result.chain == (leaf, test_pki.sub_ca.cert, test_pki.root.cert)
    assert result.revocation.status == "good"
    assert result.revocation.source == "ocsp"
    assert result.validated_at.tzinfo is not None
    assert not result.from_cache


def test_expired_and_not_yet_valid(test_pki: TestPki, trust: TrustStore) -> None:
    v = _validator(trust)
    expired = v.validate_sync(test_pki.expired.cert)
    assert (expired.ok, expired.reason) == (False, "cert.expired")
    assert "expired" in expired.message
    early = v.validate_sync(test_pki.not_yet_valid.cert)
    assert (early.ok, early.reason) == (False, "cert.not_yet_valid")


def test_expired_certificate_validates_inside_its_window(
    test_pki: TestPki, trust: TrustStore
) -> None:
    cert = test_pki.expired.cert
    inside = cert.not_valid_before_utc + timedelta(days=100)
    _ok(_validator(trust).validate_sync(cert, at=inside))


@pytest.mark.parametrize("policy", [SOFT, HARD])
def test_revoked_ocsp_variant(test_pki: TestPki, trust: TrustStore, policy: PathPolicy) -> None:
    result = _validator(trust, policy).validate_sync(test_pki.revoked.cert)
    assert (result.ok, result.reason) == (False, "cert.revoked")
    assert result.revocation.status == "revoked"
    assert result.revocation.source == "ocsp"
    assert "reason keyCompromise" in result.revocation.detail


@pytest.mark.parametrize("policy", [SOFT, HARD])
def test_revoked_crl_variant(test_pki: TestPki, trust: TrustStore, policy: PathPolicy) -> None:
    result = _validator(trust, policy).validate_sync(test_pki.revoked_crl_only.cert)
    assert (result.ok, result.reason) == (False, "cert.revoked")
    assert result.revocation.source == "crl"
    assert result.revocation.detail.startswith("revoked ")


def test_revoked_certificate_is_good_before_its_revocation_date(
    test_pki: TestPki, trust: TrustStore
) -> None:
    revoked_at = next(r.revoked_at for r in test_pki.revocations)
    v = _validator(trust, HARD)
    before = v.validate_sync(test_pki.revoked.cert, at=revoked_at - timedelta(days=2))
    _ok(before)
    assert before.revocation.status == "good"
    assert "later revoked" in before.revocation.detail
    # the cached "ok" must not leak past the revocation date
    after = v.validate_sync(test_pki.revoked.cert, at=revoked_at + timedelta(hours=1))
    assert (after.reason, after.from_cache) == ("cert.revoked", False)


def test_revocation_off_does_not_look(test_pki: TestPki, trust: TrustStore) -> None:
    result = _validator(trust, OFF).validate_sync(test_pki.revoked.cert)
    _ok(result)
    assert result.revocation.status == "not_checked"


def test_revocation_unreachable_hard_fail_refuses_soft_fail_accepts(
    test_pki: TestPki, trust: TrustStore
) -> None:
    # a real fetcher whose mirror rewrite points at a port nobody listens on
    dead = SessionPerCallFetcher(rewrite={test_pki.base_url: "http://127.0.0.1:9"}, timeout=2)
    hard = PathValidator(trust, policy=HARD, fetcher=dead).validate_sync(
        test_pki.agency_rsa2048.cert
    )
    assert (hard.ok, hard.reason) == (False, "cert.revocation_unavailable")
    assert hard.revocation.status == "unknown"
    soft = PathValidator(trust, policy=SOFT, fetcher=dead).validate_sync(
        test_pki.agency_rsa2048.cert
    )
    _ok(soft)
    assert soft.revocation.status == "unknown"


def test_no_fetcher_means_no_network(
    test_pki: TestPki, trust: TrustStore, revocation_server: RevocationServer
) -> None:
    before = sum(revocation_server.requests.values())
    hard = PathValidator(trust, policy=HARD).validate_sync(test_pki.official_ecdsa_p256.cert)
    assert hard.reason == "cert.revocation_unavailable"
    assert sum(revocation_server.requests.values()) == before


def test_offline_fed_crls_decide_without_network(test_pki: TestPki, trust: TrustStore) -> None:
    now = datetime.now(UTC)
    cache = RevocationCache()  # no fetcher: only what the operator feeds
    cache.add_crl(test_pki.crl_path.read_bytes())
    cache.add_crl(make_crl(test_pki.root, [], now - timedelta(minutes=1), now + timedelta(days=1)))
    v = PathValidator(trust, policy=HARD, cache=cache)
    revoked = v.validate_sync(test_pki.revoked_crl_only.cert)
    assert (revoked.reason, revoked.revocation.source) == ("cert.revoked", "crl")
    # agency_rsa2048 declares OCSP too, but the fed CRL is enough for hard-fail
    _ok(v.validate_sync(test_pki.agency_rsa2048.cert))


def test_revoked_sub_ca_refuses_its_leaves(test_pki: TestPki, trust: TrustStore) -> None:
    now = datetime.now(UTC)
    sub = test_pki.sub_ca.cert
    cache = RevocationCache()
    cache.add_crl(test_pki.crl_path.read_bytes())
    root_crl = make_crl(
        test_pki.root,
        [
            Revocation(
                "root", sub.serial_number, now - timedelta(days=1), x509.ReasonFlags.ca_compromise
            )
        ],
        now - timedelta(minutes=1),
        now + timedelta(days=1),
    )
    cache.add_crl(root_crl)
    result = PathValidator(trust, policy=SOFT, cache=cache).validate_sync(
        test_pki.agency_rsa2048.cert
    )
    assert (result.ok, result.reason) == (False, "cert.revoked")
    assert "intermediate" in result.message or "CA" in result.message or "revoked" in result.message


def test_wrong_key_usage(test_pki: TestPki, trust: TrustStore) -> None:
    result = _validator(trust).validate_sync(test_pki.wrong_key_usage.cert)
    assert (result.ok, result.reason) == (False, "cert.key_usage")


def test_rsa_below_2048_is_weak(test_pki: TestPki, trust: TrustStore) -> None:
    result = _validator(trust).validate_sync(test_pki.weak_rsa1024.cert)
    assert (result.ok, result.reason) == (False, "cert.weak_key")
    assert "RSA-1024" in result.message
    lenient = PathValidator(trust, policy=PathPolicy(revocation="off", min_rsa_bits=1024))
    _ok(lenient.validate_sync(test_pki.weak_rsa1024.cert))


def test_untrusted_self_signed(test_pki: TestPki, trust: TrustStore) -> None:
    result = _validator(trust).validate_sync(test_pki.self_signed.cert)
    assert (result.ok, result.reason) == (False, "cert.untrusted_root")
    assert result.chain == ()


def test_valid_chain_to_another_anchor(test_pki: TestPki, trust: TrustStore) -> None:
    refused = _validator(trust).validate_sync(test_pki.other_leaf.cert)
    assert (refused.ok, refused.reason) == (False, "cert.untrusted_root")
    other = TrustStore([test_pki.other_root.cert])
    accepted = PathValidator(other, policy=OFF).validate_sync(test_pki.other_leaf.cert)
    _ok(accepted)
    assert accepted.chain[-1] == test_pki.other_root.cert


def test_sha1_chain_needs_the_legacy_flag(test_pki: TestPki, trust: TrustStore) -> None:
    refused = _validator(trust).validate_sync(test_pki.g1_official.cert)
    assert (refused.ok, refused.reason) == (False, "cert.sha1_chain")
    legacy = _validator(trust, PathPolicy(revocation="hard-fail", allow_sha1_chain=True))
    accepted = legacy.validate_sync(test_pki.g1_official.cert)
    _ok(accepted)
    assert [c.signature_hash_algorithm.name for c in accepted.chain[:-1]] == ["sha1", "sha1"]  # type: ignore[union-attr]


def test_ca_certificate_as_signer(test_pki: TestPki, trust: TrustStore) -> None:
    for ca in (test_pki.sub_ca, test_pki.root):
        result = _validator(trust).validate_sync(ca.cert)
        assert (result.ok, result.reason) == (False, "cert.ca_as_signer"), ca.name


def test_extra_certs_supply_a_missing_intermediate(test_pki: TestPki) -> None:
    roots_only = TrustStore([test_pki.root.cert])
    v = PathValidator(roots_only, policy=OFF)
    missing = v.validate_sync(test_pki.agency_rsa2048.cert)
    assert missing.reason == "cert.untrusted_root"
    _ok(v.validate_sync(test_pki.agency_rsa2048.cert, [test_pki.sub_ca.cert]))


def test_second_validation_is_served_from_cache(
    test_pki: TestPki, trust: TrustStore, revocation_server: RevocationServer
) -> None:
    v = _validator(trust, HARD)
    first = v.validate_sync(test_pki.agency_rsa3072.cert)
    _ok(first)
    asked = sum(revocation_server.requests.values())
    copy = x509.load_pem_x509_certificate(test_pki.agency_rsa3072.cert_path.read_bytes())
    second = v.validate_sync(copy)  # a fresh object parsed from the next document
    assert second.from_cache
    assert second.ok
    assert second.chain == first.chain
    assert sum(revocation_server.requests.values()) == asked
    assert (v.hits, v.misses) == (1, 1)


def test_identity_cache_never_outlives_clear_cache(test_pki: TestPki, trust: TrustStore) -> None:
    v = PathValidator(trust, policy=OFF)
    cert = test_pki.agency_rsa2048.cert
    assert not v.validate_sync(cert).from_cache
    assert v.validate_sync(cert).from_cache  # the same object: the identity fast path
    v.clear_cache()
    again = v.validate_sync(cert)
    assert (again.ok, again.from_cache) == (True, False)
    assert (v.hits, v.misses) == (1, 2)


def test_cache_respects_the_validity_window(test_pki: TestPki, trust: TrustStore) -> None:
    v = PathValidator(trust, policy=OFF)
    cert = test_pki.agency_rsa2048.cert
    _ok(v.validate_sync(cert))
    late = v.validate_sync(cert, at=cert.not_valid_after_utc + timedelta(days=1))
    assert (late.reason, late.from_cache) == ("cert.expired", False)


def test_cache_expires_with_revocation_freshness(test_pki: TestPki, trust: TrustStore) -> None:
    # max_ttl=0: every CRL/OCSP answer is stale at once, so a cached verdict may not outlive it
    stale = RevocationCache(SessionPerCallFetcher(), max_ttl=timedelta(0))
    v = PathValidator(trust, policy=HARD, cache=stale)
    cert = test_pki.official_ecdsa_p256.cert
    _ok(v.validate_sync(cert))
    again = v.validate_sync(cert)
    assert again.ok
    assert not again.from_cache
    assert stale.stats().ocsp_fetches == 2


def test_trust_reload_adds_an_anchor_without_restart(test_pki: TestPki, tmp_path: Path) -> None:
    trust_dir = tmp_path / "trust"
    shutil.copytree(test_pki.trust_dir, trust_dir)
    trust = TrustStore.from_directory(trust_dir)
    v = PathValidator(trust, policy=OFF)
    assert v.validate_sync(test_pki.other_leaf.cert).reason == "cert.untrusted_root"
    good = v.validate_sync(test_pki.agency_rsa2048.cert)
    _ok(good)
    shutil.copyfile(test_pki.other_root.cert_path, trust_dir / "other_root.pem")
    assert trust.reload()
    _ok(v.validate_sync(test_pki.other_leaf.cert))
    after = v.validate_sync(test_pki.agency_rsa2048.cert)
    assert after.ok
    assert not after.from_cache


def test_validate_sync_refuses_a_running_loop_but_serves_cache_hits(
    test_pki: TestPki, trust: TrustStore
) -> None:
    v = PathValidator(trust, policy=OFF)
    cert = test_pki.agency_rsa2048.cert

    async def inside() -> PathResult:
        return v.validate_sync(cert)

    # a miss would block the loop (no helper thread any more): a clear error instead
    with pytest.raises(RuntimeError, match=r"await PathValidator\.validate"):
        asyncio.run(inside())
    _ok(v.validate_sync(cert))  # outside a loop: validated ...
    hit = asyncio.run(inside())  # ... and a cache hit needs no loop at all
    assert hit.from_cache


def test_async_validate(test_pki: TestPki, trust: TrustStore) -> None:
    v = _validator(trust, HARD)

    async def both() -> list[PathResult]:
        return list(
            await asyncio.gather(
                v.validate(test_pki.agency_rsa2048.cert), v.validate(test_pki.revoked.cert)
            )
        )

    good, bad = asyncio.run(both())
    _ok(good)
    assert bad.reason == "cert.revoked"


def test_renamed_agency_certificate_after_2025(test_pki: TestPki, trust: TrustStore) -> None:
    old, new = test_pki.agency_before_2025.cert, test_pki.agency_after_2025.cert
    org = x509.NameOID.ORGANIZATION_NAME
    assert (
        old.subject.get_attributes_for_oid(org)[0].value
        == "Sở Thông tin và Truyền thông tỉnh Tây Ninh"
    )
    assert (
        new.subject.get_attributes_for_oid(org)[0].value == "Sở Khoa học và Công nghệ tỉnh Tây Ninh"
    )
    v = _validator(trust, SOFT)
    _ok(v.validate_sync(new))
    _ok(v.validate_sync(new, at=datetime(2025, 8, 1, tzinfo=UTC)))
    assert v.validate_sync(new, at=datetime(2025, 1, 1, tzinfo=UTC)).reason == "cert.not_yet_valid"
    _ok(v.validate_sync(old, at=datetime(2023, 6, 1, tzinfo=UTC)))
    assert v.validate_sync(old).reason == "cert.expired"


@pytest.mark.shared
def test_real_tax_certificate_validates_in_2022_and_is_expired_now() -> None:
    leaf = x509.load_pem_x509_certificate(
        shared_path("pki", "leaf_g2_tong_cuc_thue_2021.pem").read_bytes()
    )
    v = PathValidator(TrustStore.default(), policy=SOFT)
    then = v.validate_sync(leaf, at=datetime(2022, 1, 12, tzinfo=UTC))
    _ok(then)
    assert [c.subject.rfc4514_string() for c in then.chain[1:]] == [
        "CN=CA phục vụ các cơ quan Nhà nước G2,O=Ban Cơ yếu Chính phủ,C=VN",
        "CN=RootCA chuyên dùng Chính phủ G2,O=Ban Cơ yếu Chính phủ,C=VN",
    ]
    assert then.revocation.status == "unknown"  # no fetcher: ca.gov.vn is never contacted
    now = v.validate_sync(leaf, at=datetime(2026, 11, 24, tzinfo=UTC))
    assert (now.ok, now.reason) == (False, "cert.expired")
    hard = PathValidator(TrustStore.default(), policy=HARD)
    assert hard.validate_sync(leaf, at=datetime(2022, 1, 12, tzinfo=UTC)).reason == (
        "cert.revocation_unavailable"
    )


@pytest.mark.shared
def test_real_renamed_tax_certificate_2025() -> None:
    leaf = x509.load_pem_x509_certificate(
        shared_path("pki", "leaf_g2_cuc_thue_2025.pem").read_bytes()
    )
    v = PathValidator(TrustStore.default(), policy=SOFT)
    _ok(v.validate_sync(leaf, at=datetime(2026, 11, 24, tzinfo=UTC)))
    assert v.validate_sync(leaf, at=datetime(2024, 1, 1, tzinfo=UTC)).reason == "cert.not_yet_valid"


@pytest.mark.shared
def test_neac_certificate_is_refused_by_default() -> None:
    neac = x509.load_pem_x509_certificate(
        shared_path("pki", "neac_sub_vnpt_smartca_rs.pem").read_bytes()
    )
    result = PathValidator(TrustStore.default(), policy=SOFT).validate_sync(
        neac, at=datetime(2024, 1, 1, tzinfo=UTC)
    )
    assert (result.ok, result.reason) == (False, "cert.untrusted_root")


def test_naive_trusted_time_is_read_as_utc(test_pki: TestPki, trust: TrustStore) -> None:
    v = PathValidator(trust, policy=OFF)
    result = v.validate_sync(test_pki.agency_after_2025.cert, at=datetime(2025, 8, 1, 12, 0))
    _ok(result)
    assert result.validated_at == datetime(2025, 8, 1, 12, 0, tzinfo=UTC)


class BrokenFetcher:
    """A caller's fetcher with a bug: whatever it raises means "no revocation data"."""

    async def fetch_crl(self, url: str) -> bytes:
        raise KeyError(url)

    async def fetch_ocsp(self, url: str, request_der: bytes) -> bytes:
        raise RuntimeError("responder client crashed")


def test_a_failing_fetcher_is_no_data_not_a_crash(test_pki: TestPki, trust: TrustStore) -> None:
    soft = PathValidator(trust, policy=SOFT, fetcher=BrokenFetcher())
    result = soft.validate_sync(test_pki.agency_rsa2048.cert)
    _ok(result)
    assert result.revocation.status == "unknown"
    hard = PathValidator(trust, policy=HARD, fetcher=BrokenFetcher())
    assert hard.validate_sync(test_pki.agency_rsa2048.cert).reason == "cert.revocation_unavailable"


def test_validator_prefetch_refreshes_cached_chains(
    test_pki: TestPki, trust: TrustStore, revocation_server: RevocationServer
) -> None:
    v = _validator(trust, HARD)
    _ok(v.validate_sync(test_pki.agency_rsa3072.cert))
    assert asyncio.run(v.prefetch(margin=timedelta(minutes=5))) == 0  # everything fresh
    asked = revocation_server.requests["ocsp"]
    assert asyncio.run(v.prefetch(margin=timedelta(hours=2))) >= 2  # all of it expires within 2 h
    assert revocation_server.requests["ocsp"] == asked + 1
