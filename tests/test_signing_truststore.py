"""TrustStore: loading a directory, the shipped default anchors, reload while running."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from signing.pki import TestPki
from signing.truststore import TrustStore, TrustStoreError, fingerprint_sha256
from tests.conftest import shared_path
from tests.signing_fixtures import revocation_server, test_pki

__all__ = ["revocation_server", "test_pki"]

G2_ROOT = "F04BA4B459A7C9A1B971AD9B1CB833E695A80C79AEA63B174B66A70EDFE2FDB8"
G1_ROOT = "F7BC89054CEC7F12730D7B8CD3EB7955B163835087E5EB873EDFB584763B3F90"
G2_STATE_SUB = "D8CAB7A4AEF92E6BB2509D7C61CEE7B44F3731B2D21074963530277B366FAE4B"
NEAC_ROOT = "BAC8BF609AB420A8EE1780D74F4DE5C7F7184959D2A7375B0A75E4C29F0908E7"


def _fps(certs: tuple[object, ...]) -> set[str]:
    return {fingerprint_sha256(c) for c in certs}  # type: ignore[arg-type]


def test_from_directory_splits_anchors_and_intermediates(test_pki: TestPki) -> None:
    store = TrustStore.from_directory(test_pki.trust_dir)
    assert _fps(store.anchors) == _fps((test_pki.root.cert, test_pki.g1_root.cert))
    assert _fps(store.intermediates) == _fps((test_pki.sub_ca.cert, test_pki.g1_sub.cert))
    assert store.version == 1
    assert store.directory == test_pki.trust_dir


def test_der_files_and_pem_bundles_load(test_pki: TestPki, tmp_path: Path) -> None:
    (tmp_path / "intermediates").mkdir()
    (tmp_path / "root.der").write_bytes(test_pki.root.cert.public_bytes(serialization.Encoding.DER))
    bundle = test_pki.sub_ca.cert_path.read_bytes() + test_pki.g1_sub.cert_path.read_bytes()
    (tmp_path / "intermediates" / "bundle.crt").write_bytes(bundle)
    (tmp_path / "README.txt").write_text("not a certificate, ignored by suffix", encoding="utf-8")
    store = TrustStore.from_directory(tmp_path)
    assert _fps(store.anchors) == _fps((test_pki.root.cert,))
    assert len(store.intermediates) == 2


def test_broken_file_is_a_precise_error(tmp_path: Path) -> None:
    (tmp_path / "broken.pem").write_text("-----BEGIN CERTIFICATE-----\nnope\n", encoding="utf-8")
    with pytest.raises(TrustStoreError) as err:
        TrustStore.from_directory(tmp_path)
    assert err.value.code == "trust.bad_certificate"
    assert err.value.location.endswith("broken.pem")


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(TrustStoreError) as err:
        TrustStore.from_directory(tmp_path / "absent")
    assert err.value.code == "trust.no_directory"


def test_reload_detects_changes_and_bumps_version(test_pki: TestPki, tmp_path: Path) -> None:
    trust_dir = tmp_path / "trust"
    shutil.copytree(test_pki.trust_dir, trust_dir)
    store = TrustStore.from_directory(trust_dir)
    before = store.snapshot()
    assert store.reload() is False
    assert store.version == 1
    (trust_dir / "root.pem").touch()  # same content: not an effective change
    assert store.reload() is False
    shutil.copyfile(test_pki.other_root.cert_path, trust_dir / "other.pem")
    assert store.reload() is True
    assert store.version == 2
    assert fingerprint_sha256(test_pki.other_root.cert) in store.snapshot().anchor_fingerprints
    assert len(before.anchors) == 2  # a running validation keeps its snapshot
    (trust_dir / "other.pem").unlink()
    assert store.reload() is True
    assert store.version == 3


def test_failed_reload_keeps_the_current_anchors(test_pki: TestPki, tmp_path: Path) -> None:
    trust_dir = tmp_path / "trust"
    shutil.copytree(test_pki.trust_dir, trust_dir)
    store = TrustStore.from_directory(trust_dir)
    (trust_dir / "half-copied.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\nMII")
    with pytest.raises(TrustStoreError):
        store.reload()
    assert len(store.anchors) == 2
    assert store.version == 1


def test_concurrent_reloads_bump_once(test_pki: TestPki, tmp_path: Path) -> None:
    trust_dir = tmp_path / "trust"
    shutil.copytree(test_pki.trust_dir, trust_dir)
    store = TrustStore.from_directory(trust_dir)
    shutil.copyfile(test_pki.other_root.cert_path, trust_dir / "other.pem")
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.append(store.reload())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1
    assert store.version == 2


def test_in_memory_store_does_not_reload(test_pki: TestPki) -> None:
    store = TrustStore([test_pki.root.cert, test_pki.root.cert])
    assert len(store.anchors) == 1  # duplicates collapse
    assert store.reload() is False


def test_default_store_ships_vgca_g1_and_g2_but_not_neac() -> None:
    store = TrustStore.default()
    assert _fps(store.anchors) == {G2_ROOT, G1_ROOT}
    assert G2_STATE_SUB in _fps(store.intermediates)
    assert NEAC_ROOT not in _fps(store.anchors) | _fps(store.intermediates)
    names = {c.subject.rfc4514_string() for c in store.anchors}
    assert "CN=RootCA chuyên dùng Chính phủ G2,O=Ban Cơ yếu Chính phủ,C=VN" in names


@pytest.mark.shared
def test_shipped_anchors_are_current_with_the_pinned_sources(tmp_path: Path) -> None:
    import scripts.build_anchors as build

    source = shared_path("pki")
    assert build.main(["--source", str(source), "--check"]) == 0


@pytest.mark.shared
def test_build_anchors_refuses_a_pin_mismatch(tmp_path: Path) -> None:
    import scripts.build_anchors as build

    source = tmp_path / "pki"
    shutil.copytree(shared_path("pki"), source)
    source.chmod(0o755)  # the corpus is read-only; so is its copy
    (source / "vgca_root_g2.pem").chmod(0o644)
    shutil.copyfile(source / "neac_vietnam_national_root_ca.pem", source / "vgca_root_g2.pem")
    out = tmp_path / "anchors"
    with pytest.raises(SystemExit) as exit_info:
        build.main(["--source", str(source), "--out", str(out)])
    assert exit_info.value.code == 2
    assert not out.exists()  # nothing written on refusal
