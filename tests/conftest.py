"""Shared fixtures: where the real corpora live, and a clean skip where they are absent."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

from axis.paths import PROJECT_ROOT, shared_data_dir
from tests.signing_fixtures import revocation_server, test_pki  # noqa: F401

SHARED = shared_data_dir()

# Tests leave the checkout as they found it: no example database, and hypothesis's caches
# (constants, unicode data) go to a temporary directory instead of ./.hypothesis.
_HYPOTHESIS_HOME = tempfile.TemporaryDirectory(prefix="axis-hypothesis-")  # removed at exit
set_hypothesis_home_dir(_HYPOTHESIS_HOME.name)
settings.register_profile("axis", database=None)
settings.load_profile("axis")


def shared_path(*parts: str) -> Path:
    """A path under ``../shared/data``; skips the calling test with a reason where it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"corpus {path} is absent (clone ../shared beside the project to run this)")
    return path


@pytest.fixture
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture
def axis_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ``$AXIS_HOME`` per test, so no test touches the user's ``~/.axis``."""
    home = tmp_path / "axis-home"
    monkeypatch.setenv("AXIS_HOME", str(home))
    return home
