"""One error base for the registry: every refusal is a RegistryError and an edxml.CodedError,
keeps its stable code and constructor, and the builtin base older callers catch."""

from __future__ import annotations

import pytest

from edxml import CodedError
from registry import RegistryError as ExportedRegistryError
from registry.codes import AgencyCode, AgencyCodeError
from registry.errors import ChangeError, RegistryError
from registry.model import Agency, Change
from registry.registry import Registry
from registry.registry import RegistryError as OldImportRegistryError
from registry.seed import SeedError
from registry.sources import SourceError
from registry.sources.instants import InstantError, parse_instant
from registry.store import StoreError
from registry.sync import SyncError
from registry.versions import VersionError

ERRORS: list[tuple[RegistryError, type[Exception]]] = [
    (StoreError("store.diverged", "reload", "registry.sqlite3"), RuntimeError),
    (VersionError("version.unknown", "no such version"), LookupError),
    (SyncError("sync.stale_plan", "the registry moved on"), RuntimeError),
    (SeedError("seed.missing", "no seed"), RuntimeError),
    (SourceError("source.bad_json", "not JSON", "list.json"), ValueError),
    (AgencyCodeError("code.bad_char", "not a code character", 3), ValueError),
    (InstantError("time.bad", "not an instant"), ValueError),
    (ChangeError("registry.stale", "before differs", "change 0"), ValueError),
]


@pytest.mark.parametrize(("error", "builtin"), ERRORS, ids=[e.code for e, _ in ERRORS])
def test_every_error_has_the_one_base_and_keeps_its_builtin(
    error: RegistryError, builtin: type[Exception]
) -> None:
    assert isinstance(error, RegistryError)
    assert isinstance(error, CodedError)
    assert isinstance(error, builtin)
    facts = error.to_dict()
    assert facts["code"] == error.code
    assert facts["message"] == error.message
    assert error.code in str(error)


def test_the_old_import_paths_name_the_same_base() -> None:
    assert OldImportRegistryError is RegistryError
    assert ExportedRegistryError is RegistryError


def test_agency_code_error_keeps_its_position() -> None:
    with pytest.raises(AgencyCodeError) as caught:
        AgencyCode.parse("000.00.0#.H53")
    assert caught.value.position == 8
    assert caught.value.to_dict()["location"] == "position 8"
    with pytest.raises(RegistryError):
        parse_instant("yesterday")


def test_a_refused_change_is_a_registry_error_with_its_code() -> None:
    reg = Registry.build([Agency("H38", "UBND tỉnh Lào Cai")])
    with pytest.raises(RegistryError) as caught:
        reg.apply([Change("add", "H38", None, Agency("H38", "khác"))], author="t", reason="t")
    assert caught.value.code == "registry.exists"
    assert isinstance(caught.value, ValueError)
