"""Connection settings of the command-line clients (``axis send|receive|status`` and adapters
that talk to an axis over ``/v1``): the same flags everywhere, the same environment fallbacks.

``--url`` defaults to ``$AXIS_CLIENT_URL``, else ``http://{AXIS_HOST}:{AXIS_PORT}`` of the local
configuration (a client on the server's own machine); ``--system`` to ``$AXIS_CLIENT_SYSTEM``;
the secret comes from ``--secret-file`` (first line), ``--secret`` or ``$AXIS_CLIENT_SECRET``.
The environment is read here, when a command runs, never at import. A secret on the command line
is visible to other users in the process list: prefer the file or the variable.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from adapters.client.client import AxisClient
from adapters.client.errors import AxisClientError

URL_VARIABLE = "AXIS_CLIENT_URL"
SYSTEM_VARIABLE = "AXIS_CLIENT_SYSTEM"
SECRET_VARIABLE = "AXIS_CLIENT_SECRET"  # noqa: S105 - the variable's name, not a secret


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--url --system --secret --secret-file --timeout`` to ``parser``."""
    group = parser.add_argument_group("connection")
    group.add_argument("--url", help=f"the axis (default ${URL_VARIABLE}, else AXIS_HOST:PORT)")
    group.add_argument("--system", help=f"this system's id (default ${SYSTEM_VARIABLE})")
    group.add_argument("--secret", help=f"its secret (default ${SECRET_VARIABLE})")
    group.add_argument("--secret-file", type=Path, help="a file whose first line is the secret")
    group.add_argument("--timeout", type=float, default=60.0, help="seconds per call (default 60)")


@dataclass(frozen=True)
class Connection:
    """Where and as whom to connect (``repr`` hides the secret)."""

    url: str
    system_id: str
    secret: str
    timeout: float = 60.0

    def __repr__(self) -> str:
        return f"Connection(url={self.url!r}, system_id={self.system_id!r})"

    def client(self) -> AxisClient:
        return AxisClient(self.url, self.system_id, self.secret, timeout=self.timeout)


def connection_from(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> Connection:
    """The settings from the flags, then the environment; raises
    :class:`AxisClientError` (``client.no_credentials``) when the system or secret is missing."""
    env = os.environ if environ is None else environ
    url = args.url or env.get(URL_VARIABLE) or _local_axis(env)
    system = args.system or env.get(SYSTEM_VARIABLE)
    if not system:
        raise AxisClientError(
            "client.no_credentials", f"give --system or set ${SYSTEM_VARIABLE}", "--system"
        )
    if args.secret_file is not None:
        try:
            lines = args.secret_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise AxisClientError(
                "client.no_credentials", f"cannot read: {exc.strerror}", str(args.secret_file)
            ) from None
        secret = lines[0].strip() if lines else ""
    else:
        secret = args.secret or env.get(SECRET_VARIABLE) or ""
    if not secret:
        raise AxisClientError(
            "client.no_credentials",
            f"give --secret-file, --secret or set ${SECRET_VARIABLE}",
            "--secret",
        )
    return Connection(url, system, secret, args.timeout)


def _local_axis(env: Mapping[str, str]) -> str:
    from axis.config import AxisConfig  # the server's settings, only when no URL was given

    config = AxisConfig.from_env(env)
    return f"http://{config.host}:{config.port}"
