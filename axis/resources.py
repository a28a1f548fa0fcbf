"""The composition root: the one place that turns an :class:`AxisConfig` into live resources.

``axis serve``, ``axis demo`` and every CLI command that needs state start here: the config is read
once at the edge (``cli.main`` / the app factory), then the store, the current registry, the trust
store, the intake's worker pool and the authenticator are built here, handed down, and closed on
the way out. No other module reads the environment or keeps a module-level cache.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import structlog

from axis.config import AxisConfig
from axis.store import open_store_url
from axis.store.protocol import Store
from registry.registry import Registry
from registry.store import RegistryStore, default_seed
from signing import TrustStore, Verifier
from signing.revocation import CrlFolder
from signing.truststore import DEFAULT_ANCHORS_DIR

_log = structlog.get_logger("axis.resources")

LEGACY_REGISTRY_FILE = "registry.sqlite3"


def build_store(config: AxisConfig) -> Store:
    """The deployment's store, not yet opened, from ``config.store_url`` (the old registry file
    under ``home`` is imported into an embedded store on its first start)."""
    return open_store_url(config.store_url, legacy_registry=config.home / LEGACY_REGISTRY_FILE)


@contextlib.asynccontextmanager
async def open_store(config: AxisConfig) -> AsyncIterator[Store]:
    """The deployment's store, opened (schema created or migrated) and closed on exit."""
    prepare_home(config)
    store = build_store(config)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


Announce = Callable[[str], None]


def _log_seed(text: str) -> None:
    _log.info("registry.seeded", detail=text)


async def seed_if_empty(store: RegistryStore, *, announce: Announce = _log_seed) -> bool:
    """Seed an empty store with the packaged seed, explicitly, once, and say so (a read never
    seeds); True if it did."""
    if await store.registry_version() is not None:
        return False
    seed = default_seed()
    if not await store.seed_registry(seed):
        return False
    announce(
        f"the store was empty; seeded it with the packaged seed "
        f"(version {seed.version}, {len(seed)} agency records)"
    )
    return True


async def ensure_registry(store: RegistryStore, *, announce: Announce = _log_seed) -> Registry:
    """The newest registry, an empty store seeded first."""
    await seed_if_empty(store, announce=announce)
    registry = await store.load_registry()
    return Registry.empty() if registry is None else registry


HOME_TRUST_DIR = "trust"


def prepare_home(config: AxisConfig) -> None:
    """The data directory on first use: created, with the deployment's own trust folder holding
    a copy of the shipped VGCA anchors (an admin adds or removes anchors there), unless
    ``AXIS_TRUST_DIR`` points elsewhere. Runs in the serving process before any worker starts."""
    config.home.mkdir(parents=True, exist_ok=True)
    trust = config.home / HOME_TRUST_DIR
    if config.trust_dir is not None or trust.exists():
        return
    staging = config.home / f".{HOME_TRUST_DIR}.new"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(DEFAULT_ANCHORS_DIR, staging)
    staging.rename(trust)  # whole or not at all: a crash leaves no half-copied folder
    _log.info("trust.created", directory=str(trust), source=str(DEFAULT_ANCHORS_DIR))


def build_trust(config: AxisConfig) -> TrustStore:
    """The trust anchors: ``AXIS_TRUST_DIR`` (a folder, or the folder ``axis pki init`` made,
    whose ``trust/`` is used), else ``$AXIS_HOME/trust``, else the shipped VGCA anchors."""
    directory = config.trust_dir
    if directory is None:
        home_trust = config.home / HOME_TRUST_DIR
        return (
            TrustStore.from_directory(home_trust) if home_trust.is_dir() else TrustStore.default()
        )
    if (directory / HOME_TRUST_DIR).is_dir():
        directory = directory / HOME_TRUST_DIR
    return TrustStore.from_directory(directory)


HOME_CRL_DIR = "crl"


def crl_directories(config: AxisConfig) -> list[Path]:
    """Where the held CRLs are: ``$AXIS_HOME/crl`` (written by ``axis pki crl import`` and the
    refresh task), and the ``crl/`` of an ``axis pki init`` folder used as ``AXIS_TRUST_DIR``."""
    directories = [config.home / HOME_CRL_DIR]
    if config.trust_dir is not None and (config.trust_dir / HOME_TRUST_DIR).is_dir():
        directories.append(config.trust_dir / HOME_CRL_DIR)
    return directories


def build_verifier(config: AxisConfig) -> Verifier:
    """The signature verifier of one process (a worker, ``axis run``): the trust store, the
    policy derived from the config, the held CRLs (re-read when a file changes), and, with
    ``AXIS_REVOCATION_FETCH``, ONE HTTP session for CRL/OCSP owned by the verifier for its whole
    life. The caller closes it."""
    trust, policy = build_trust(config), config.signature_policy()
    crls = CrlFolder(crl_directories(config))
    if config.revocation_fetch:
        return Verifier.with_http_fetcher(trust, policy, crls=crls)
    return Verifier(trust, policy, crls=crls)
