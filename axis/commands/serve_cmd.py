"""``axis serve``: the axis's HTTP API on one port, with graceful shutdown.

Configuration comes from ``--config FILE`` (TOML) and ``AXIS_*`` variables, read once here; flags
override both. SIGINT/SIGTERM stop accepting connections, let in-flight requests finish (up to
``--shutdown-timeout`` seconds), then close the runtime (workers, store) cleanly.

``--workers N`` (N > 1) runs N server processes on the same port (SO_REUSEPORT) under a parent
that serves nothing itself and forwards the signals; see :mod:`axis.serve_workers`. It is not
``--intake-workers``: every server process has its own pool of that many intake workers.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from axis.auth.tls import server_ssl_context
from axis.commands import CommandGroup
from axis.commands.store_access import add_store_options, config_of
from axis.config import AxisConfig, ConfigError
from axis.heap import settle_once_started
from axis.http.app import create_app
from axis.serve_workers import ChildOptions, add_node_header, run_child, supervise


def load_config(args: argparse.Namespace) -> AxisConfig | None:
    """The config of a command: the file and the environment, then the command's flags."""
    try:
        return config_of(args).with_overrides(
            host=args.host, port=args.port, store=args.store, intake_workers=args.intake_workers
        )
    except ConfigError as exc:
        print(f"{exc.code}: {exc.location}: {exc.message}", file=sys.stderr)
        return None


def _serve(args: argparse.Namespace) -> int:
    config = load_config(args)
    if config is None:
        return 2
    if bool(args.tls_cert) != bool(args.tls_key):
        print("serve.tls: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    if args.client_ca and not args.tls_cert:
        print("serve.tls: --client-ca needs --tls-cert and --tls-key", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("serve.workers: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.workers > 1:
        if config.port == 0:
            print("serve.workers: --workers needs a fixed --port (not 0)", file=sys.stderr)
            return 2
        return supervise(config, _child_options(args, config), args.workers)
    ssl_context = (
        server_ssl_context(args.tls_cert, args.tls_key, args.client_ca) if args.tls_cert else None
    )
    scheme = "https" if ssl_context else "http"
    app = create_app(config)
    add_node_header(app)
    settle_once_started(app)
    banner = (
        f"axis serving on {scheme}://{config.host}:{config.port} "
        f"(store {config.store_url}, {config.intake_workers} intake workers)"
    )
    if args.serve_child is not None:
        run_child(
            app,
            args.serve_child,
            host=config.host,
            port=config.port,
            ssl_context=ssl_context,
            shutdown_timeout=args.shutdown_timeout,
            announce=lambda _text: print(f"{banner} [process {os.getpid()}]", flush=True),
        )
        return 0
    web.run_app(
        app,
        host=config.host,
        port=config.port,
        ssl_context=ssl_context,
        shutdown_timeout=args.shutdown_timeout,
        print=lambda _text: print(banner, flush=True),
        access_log=None,
    )
    return 0


def _child_options(args: argparse.Namespace, config: AxisConfig) -> ChildOptions:
    """What every child of ``--workers`` is started with (see
    :func:`axis.serve_workers.child_command`)."""
    return ChildOptions(
        config_file=args.config,
        home=args.home,
        host=config.host,
        port=config.port,
        store=args.store,
        intake_workers=config.intake_workers,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        client_ca=args.client_ca,
        shutdown_timeout=args.shutdown_timeout,
        log_level=args.log_level,
    )


def register(sub: Any) -> None:
    """Add ``axis serve``."""
    parser = sub.add_parser("serve", help="serve the HTTP API and the web console (/console/)")
    add_store_options(parser)
    parser.add_argument("--host", default=None, help="listen address (AXIS_HOST)")
    parser.add_argument("--port", type=int, default=None, help="listen port (AXIS_PORT)")
    parser.add_argument("--store", default=None, help="sqlite:///PATH (AXIS_STORE)")
    parser.add_argument(
        "--intake-workers",
        type=int,
        default=None,
        help="intake worker processes (CPU work) of EACH server process",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes sharing the port (SO_REUSEPORT), each with its own runtime",
    )
    # internal: set by the parent of --workers on each child it starts (its own pid)
    parser.add_argument("--serve-child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--tls-cert", type=Path, default=None, help="server certificate (PEM)")
    parser.add_argument("--tls-key", type=Path, default=None, help="server key (PEM)")
    parser.add_argument(
        "--client-ca", type=Path, default=None, help="CA that issues client certificates"
    )
    parser.add_argument(
        "--shutdown-timeout",
        type=float,
        default=30.0,
        help="seconds in-flight requests get to finish on SIGTERM",
    )
    parser.set_defaults(handler=_serve)


GROUP = CommandGroup(name="serve", register=register)
