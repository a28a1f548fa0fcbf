"""The configuration: read once from AXIS_* variables, precise errors, one table of parameters."""

from __future__ import annotations

from pathlib import Path

import pytest

from axis.cli import main
from axis.config import AxisConfig, ConfigError, parameter_table


def test_defaults_without_environment() -> None:
    config = AxisConfig.from_env({})
    assert config == AxisConfig()
    assert config.signature_policy().mode == "verify-if-present"
    assert config.xml_limits().max_bytes == 64 * 1024 * 1024


def test_values_are_parsed_from_the_environment(tmp_path: Path) -> None:
    config = AxisConfig.from_env(
        {
            "AXIS_HOME": str(tmp_path),
            "AXIS_SIGNATURE_MODE": "require",
            "AXIS_ALLOW_SHA1": "true",
            "AXIS_MAX_XML_DEPTH": "32",
        }
    )
    assert config.home == tmp_path
    policy = config.signature_policy()
    assert (policy.mode, policy.allow_sha1) == ("require", True)
    assert config.xml_limits().max_depth == 32


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("AXIS_SIGNATURE_MODE", "maybe", "is not one of require"),
        ("AXIS_MAX_DOCUMENT_BYTES", "lots", "is not an integer"),
        ("AXIS_MAX_XML_DEPTH", "0", "must be positive"),
        ("AXIS_ALLOW_SHA1", "perhaps", "is not a boolean"),
    ],
)
def test_bad_values_name_the_variable(variable: str, value: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        AxisConfig.from_env({variable: value})
    assert caught.value.name == variable
    assert fragment in caught.value.message


def test_every_field_is_in_the_table() -> None:
    rows = parameter_table(AxisConfig())
    assert [r.variable for r in rows][:8] == [
        "AXIS_HOME",
        "AXIS_TRUST_DIR",
        "AXIS_MAX_DOCUMENT_BYTES",
        "AXIS_MAX_XML_DEPTH",
        "AXIS_SIGNATURE_MODE",
        "AXIS_ALLOW_SHA1",
        "AXIS_REVOCATION",
        "AXIS_REQUIRE_SENDER_BINDING",
    ]
    assert {"AXIS_STORE", "AXIS_CLOCK_OFFSET", "AXIS_INTAKE_WORKERS"} <= {r.variable for r in rows}
    assert all(r.meaning for r in rows)


def test_a_toml_file_is_read_and_the_environment_overrides_it(tmp_path: Path) -> None:
    file = tmp_path / "axis.toml"
    file.write_text('[axis]\nport = 9000\nsignature_mode = "require"\nhost = "0.0.0.0"\n')
    config = AxisConfig.from_env({"AXIS_PORT": "9100"}, file=file)
    assert (config.port, config.signature_mode, config.host) == (9100, "require", "0.0.0.0")


def test_an_unknown_key_in_the_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "axis.toml"
    file.write_text("prot = 9000\n")
    with pytest.raises(ConfigError, match="unknown parameter 'prot'"):
        AxisConfig.from_env({}, file=file)


def test_the_store_defaults_to_sqlite_under_home(tmp_path: Path) -> None:
    config = AxisConfig.from_env({"AXIS_HOME": str(tmp_path)})
    assert config.store_url == f"sqlite://{tmp_path}/axis.sqlite3"
    with pytest.raises(ConfigError, match="AXIS_STORE"):
        AxisConfig.from_env({"AXIS_STORE": "mysql://x"})


def test_config_command_prints_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "| `AXIS_SIGNATURE_MODE` | `verify-if-present` |" in out


def test_config_command_refuses_a_bad_value(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AXIS_REVOCATION", "sometimes")
    assert main(["config"]) == 2
    assert "AXIS_REVOCATION" in capsys.readouterr().err


def test_the_data_directory_may_keep_its_own_config_file(tmp_path: Path) -> None:
    (tmp_path / "axis.toml").write_text("port = 9443\n")
    assert AxisConfig.from_env({"AXIS_HOME": str(tmp_path)}).port == 9443
    assert AxisConfig.from_env({"AXIS_HOME": str(tmp_path), "AXIS_PORT": "1"}).port == 1
