"""The axis's configuration: one frozen dataclass, read once from the environment at the edge.

This module is also the table of every parameter (name, environment variable, default, meaning),
printed by ``axis config`` and rendered into the README with ``axis config --markdown``, so the
documentation cannot drift from the code. Lower layers never read the environment: the axis builds
their settings (``XmlLimits``, ``SignaturePolicy``, the trust directory) from this object.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from axis.paths import DEFAULT_HOME
from edxml import CodedError, XmlLimits
from signing import REVOCATION_MODES, SIGNATURE_MODES, SignaturePolicy

_DEFAULT_HOME = DEFAULT_HOME.expanduser()
STORE_FILE = "axis.sqlite3"
CONFIG_FILE = "axis.toml"


class ConfigError(CodedError, ValueError):
    """A parameter's value cannot be used; ``code`` is ``config.invalid``, ``name`` (also the
    ``location``) the variable or the file and key."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__("config.invalid", message, name)
        self.name = name


def _bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(name, f"{raw!r} is not a boolean (true/false)")


def _positive_int(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"{raw!r} is not an integer") from None
    if value <= 0:
        raise ConfigError(name, f"{value} must be positive")
    return value


def _choice(options: tuple[str, ...]) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        if raw not in options:
            raise ConfigError(name, f"{raw!r} is not one of {', '.join(options)}")
        return raw

    return parse


def _path(name: str, raw: str) -> Path:
    return Path(raw).expanduser()


def _text(name: str, raw: str) -> str:
    return raw


def _float(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(name, f"{raw!r} is not a number") from None


def _non_negative_int(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"{raw!r} is not an integer") from None
    if value < 0:
        raise ConfigError(name, f"{value} must not be negative")
    return value


def _store_url(name: str, raw: str) -> str:
    if raw and not raw.startswith(("sqlite:///", "redis://", "rediss://")):
        raise ConfigError(name, f"{raw!r} is not sqlite:///PATH or redis://HOST:PORT/DB")
    return raw


# field name -> (parser, meaning). The environment variable is AXIS_<FIELD NAME IN CAPITALS>.
_PARAMETERS: dict[str, tuple[Callable[[str, str], Any], str]] = {
    "home": (
        _path,
        "data directory: the embedded store (axis.sqlite3), trust, held CRLs (crl/), test PKI",
    ),
    "trust_dir": (
        _path,
        "trust anchors (PEM/DER) and intermediates/ for signatures; unset = shipped VGCA G1+G2",
    ),
    "max_document_bytes": (_positive_int, "largest edXML package accepted, checked before parsing"),
    "max_xml_depth": (_positive_int, "deepest element nesting accepted"),
    "signature_mode": (
        _choice(SIGNATURE_MODES),
        "require / verify-if-present / off: producers often send an empty DigitalSignature",
    ),
    "allow_sha1": (_bool, "accept SHA-1 signatures and G1 (SHA-1) chains, flagged legacy"),
    "revocation": (
        _choice(REVOCATION_MODES),
        "hard-fail: revocation data must be obtained; soft-fail: tolerated when unreachable",
    ),
    "revocation_fetch": (
        _bool,
        "fetch CRLs and OCSP answers from the certificates' URLs, and refresh the held CRLs "
        "(<home>/crl) from their distribution points (network); off: offline data only "
        "(axis pki crl import), and soft-fail tolerates its absence",
    ),
    "require_sender_binding": (
        _bool,
        "refuse a signer bound to no agency (sig.signer_unbound); off: accepted with that "
        "warning. A signer bound elsewhere is always refused (axis signers, docs/signers.md)",
    ),
    "store": (
        _store_url,
        "the deployment's store: sqlite:///ABSOLUTE/PATH or redis://HOST:PORT/DB; unset = <home>/axis.sqlite3",
    ),
    "host": (_text, "address axis serve listens on"),
    "port": (_positive_int, "port axis serve listens on"),
    "intake_workers": (
        _positive_int,
        "worker processes that check and verify documents (CPU work never runs on the loop)",
    ),
    "clock_offset": (
        _float,
        "seconds added to the system clock (tests and rehearsals run the axis at another time)",
    ),
    "delivery_lease": (
        _positive_int,
        "seconds a fetched, unacknowledged delivery waits before it is offered again",
    ),
    "max_attempts": (
        _positive_int,
        "fetches without an ack before a delivery becomes a dead letter",
    ),
    "retention_days": (
        _positive_int,
        "documents and audit events older than this are removed (the removal is audited)",
    ),
    "inbox_wait_max": (_positive_int, "longest long-poll (seconds) GET /v1/inbox?wait= holds"),
    "auth_failures_per_minute": (
        _positive_int,
        "failed logins allowed per client address per minute before 429",
    ),
    "move_on_succession": (
        _bool,
        "when a succession takes effect, pending deliveries to the closed code move to its "
        "successor (codes an admin set to drain keep theirs)",
    ),
    "max_inflight_intake": (
        _non_negative_int,
        "documents checked at once before POST /v1/messages answers 503 (0 = 32 x workers)",
    ),
    "auto_approve_proposals": (
        _bool,
        "a sub-unit an agency's system proposes (POST /v1/registry/proposals, VDXP "
        "registerAgency) enters the registry at once instead of waiting for an admin",
    ),
}


@dataclass(frozen=True, slots=True)
class AxisConfig:
    """Every parameter of the axis with its default."""

    home: Path = _DEFAULT_HOME
    trust_dir: Path | None = None
    max_document_bytes: int = 64 * 1024 * 1024
    max_xml_depth: int = 64
    signature_mode: str = "verify-if-present"
    allow_sha1: bool = False
    revocation: str = "soft-fail"
    require_sender_binding: bool = False
    revocation_fetch: bool = False
    store: str = ""
    host: str = "127.0.0.1"
    port: int = 8080
    intake_workers: int = 2
    clock_offset: float = 0.0
    delivery_lease: int = 300
    max_attempts: int = 5
    retention_days: int = 3650
    inbox_wait_max: int = 60
    auth_failures_per_minute: int = 20
    move_on_succession: bool = True
    max_inflight_intake: int = 0
    auto_approve_proposals: bool = False

    @property
    def store_url(self) -> str:
        """The store to open: ``store`` when set, else the embedded SQLite file under ``home``."""
        return self.store or f"sqlite://{(self.home / STORE_FILE).absolute()}"

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, file: Path | None = None
    ) -> AxisConfig:
        """The configuration: a TOML file's values (``file``, else ``$AXIS_CONFIG``, else
        ``$AXIS_HOME/axis.toml`` when it exists) overridden by ``AXIS_*`` variables; raises
        :class:`ConfigError` on a bad value or an unknown key."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        source = file or (Path(env["AXIS_CONFIG"]) if env.get("AXIS_CONFIG") else None)
        if source is None:  # the deployment's own file, if it keeps one in its data directory
            home = _path("AXIS_HOME", env["AXIS_HOME"]) if env.get("AXIS_HOME") else _DEFAULT_HOME
            if (home / CONFIG_FILE).is_file():
                source = home / CONFIG_FILE
        if source is not None:
            for key, raw in _read_toml(source).items():
                if key not in _PARAMETERS:
                    raise ConfigError(str(source), f"unknown parameter {key!r}")
                parse = _PARAMETERS[key][0]
                values[key] = parse(
                    f"{source}:{key}", str(raw).lower() if isinstance(raw, bool) else str(raw)
                )
        for name, (parse, _meaning) in _PARAMETERS.items():
            variable = env_name(name)
            if variable in env and env[variable] != "":
                values[name] = parse(variable, env[variable])
        return cls(**values)

    def with_overrides(self, **values: Any) -> AxisConfig:
        """This configuration with some parameters replaced (a command line's flags)."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})

    def xml_limits(self) -> XmlLimits:
        """The limits every untrusted XML input is parsed under."""
        return XmlLimits(max_bytes=self.max_document_bytes, max_depth=self.max_xml_depth)

    def signature_policy(self) -> SignaturePolicy:
        """The signature policy the intake verifies edXML packages under. Without the sender
        binding: that needs the admins' bindings in the store, so the serving process judges it
        after verification (:mod:`axis.signer_check`, ``require_sender_binding`` read there)."""
        return SignaturePolicy(
            mode=self.signature_mode,  # type: ignore[arg-type]
            allow_sha1=self.allow_sha1,
            revocation=self.revocation,  # type: ignore[arg-type]
            require_sender_binding=False,
        )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not TOML: {exc}") from None
    section = data.get("axis", data)
    if not isinstance(section, dict):
        raise ConfigError(str(path), "[axis] must be a table")
    return section


def env_name(field_name: str) -> str:
    """``max_xml_depth`` -> ``AXIS_MAX_XML_DEPTH``."""
    return f"AXIS_{field_name.upper()}"


@dataclass(frozen=True, slots=True)
class ParameterRow:
    """One row of the parameter table."""

    name: str
    variable: str
    value: str
    default: str
    meaning: str


def parameter_table(config: AxisConfig) -> list[ParameterRow]:
    """Every parameter with its current value and default, in declaration order."""
    defaults = AxisConfig()
    return [
        ParameterRow(
            name=f.name,
            variable=env_name(f.name),
            value=str(getattr(config, f.name)),
            default=str(getattr(defaults, f.name)).replace(str(Path.home()), "~") or "unset",
            meaning=_PARAMETERS[f.name][1],
        )
        for f in fields(AxisConfig)
    ]
