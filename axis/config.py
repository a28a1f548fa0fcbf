"""The axis's configuration: one frozen dataclass, read once from the environment at the edge.

This module is also the table of every parameter (name, environment variable, default, meaning),
printed by ``axis config`` and rendered into the README with ``axis config --markdown``, so the
documentation cannot drift from the code. Lower layers never read the environment: the axis builds
their settings (``XmlLimits``, ``SignaturePolicy``, the trust directory) from this object.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from axis.paths import DEFAULT_HOME
from edxml import XmlLimits
from signing import SignaturePolicy

_DEFAULT_HOME = DEFAULT_HOME.expanduser()
_SIGNATURE_MODES = ("require", "verify-if-present", "off")
_REVOCATION_MODES = ("hard-fail", "soft-fail", "off")


class ConfigError(ValueError):
    """A parameter's value cannot be used; ``code`` is ``config.invalid``, ``name`` the variable."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"config.invalid: {name}: {message}")
        self.code = "config.invalid"
        self.name = name
        self.message = message


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


# field name -> (parser, meaning). The environment variable is AXIS_<FIELD NAME IN CAPITALS>.
_PARAMETERS: dict[str, tuple[Callable[[str, str], Any], str]] = {
    "home": (_path, "data directory: registry versions (registry.sqlite3), later the store"),
    "trust_dir": (
        _path,
        "trust anchors (PEM/DER) and intermediates/ for signatures; unset = shipped VGCA G1+G2",
    ),
    "max_document_bytes": (_positive_int, "largest edXML package accepted, checked before parsing"),
    "max_xml_depth": (_positive_int, "deepest element nesting accepted"),
    "signature_mode": (
        _choice(_SIGNATURE_MODES),
        "require / verify-if-present / off: producers often send an empty DigitalSignature",
    ),
    "allow_sha1": (_bool, "accept SHA-1 signatures and G1 (SHA-1) chains, flagged legacy"),
    "revocation": (
        _choice(_REVOCATION_MODES),
        "hard-fail: revocation data must be obtained; soft-fail: tolerated when unreachable",
    ),
    "require_sender_binding": (
        _bool,
        "the signer's certificate must name From/OrganId (real VGCA certificates name no code "
        "yet: the intake binds the authenticated agency to From instead)",
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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AxisConfig:
        """The configuration from ``AXIS_*`` variables; raises :class:`ConfigError` on a bad one."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, (parse, _meaning) in _PARAMETERS.items():
            variable = env_name(name)
            if variable in env and env[variable] != "":
                values[name] = parse(variable, env[variable])
        return cls(**values)

    def xml_limits(self) -> XmlLimits:
        """The limits every untrusted XML input is parsed under."""
        return XmlLimits(max_bytes=self.max_document_bytes, max_depth=self.max_xml_depth)

    def signature_policy(self) -> SignaturePolicy:
        """The signature policy of edXML packages."""
        return SignaturePolicy(
            mode=self.signature_mode,  # type: ignore[arg-type]
            allow_sha1=self.allow_sha1,
            revocation=self.revocation,  # type: ignore[arg-type]
            require_sender_binding=self.require_sender_binding,
        )


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
            default=str(getattr(defaults, f.name)).replace(str(Path.home()), "~"),
            meaning=_PARAMETERS[f.name][1],
        )
        for f in fields(AxisConfig)
    ]
