"""``axis adapter vdxp enable|disable|list``: which systems may call ``/vdxp/``, with what key.

VDXP signs with the system's secret itself, which the store keeps only as a scrypt hash. So an
operator enables a system by handing its secret once more (from stdin, never an argument by
default, so it stays out of the process list and shell history): the command checks it against
the stored hash, so it is the very secret ``axis systems add`` made, and seals it under the
deployment key (:class:`axis.auth.sealed.SealedSecrets`). Exit codes: 0 done, 1 refused (no
such system, revoked, wrong secret), 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any, Final

from axis.auth.sealed import SealedSecrets
from axis.auth.secrets import verify_secret
from axis.clock import Clock
from axis.commands.store_access import add_store_options, config_of
from axis.config import AxisConfig, ConfigError
from axis.errors import AxisError
from axis.resources import open_store
from axis.store.records import AuditDraft

PURPOSE: Final = "vdxp"


def secrets_of(config: AxisConfig) -> SealedSecrets:
    """Where the deployment's VDXP keys are sealed: ``$AXIS_HOME/keys/vdxp.*``."""
    return SealedSecrets(config.home, PURPOSE)


def _fail(message: str, status: int = 1) -> int:
    print(f"axis adapter vdxp: {message}", file=sys.stderr)
    return status


def _read_secret(value: str) -> str:
    return sys.stdin.readline().rstrip("\r\n") if value == "-" else value


def _enable(args: argparse.Namespace) -> int:
    config = config_of(args)
    secret = _read_secret(args.secret)
    if not secret:
        return _fail("no secret given (pipe it to --secret -)", 2)

    async def job() -> str | None:
        async with open_store(config) as store:
            record = await store.system(args.system_id)
            if record is None:
                return f"no system {args.system_id} (add it with: axis systems add)"
            if not record.active:
                return f"system {args.system_id} is revoked"
            if record.secret_hash is None:
                return f"system {args.system_id} has no secret (it logs in by certificate)"
            if not await asyncio.to_thread(verify_secret, secret, record.secret_hash):
                return f"this is not the secret of system {args.system_id}"
            now = Clock(config.clock_offset).now()
            secrets_of(config).seal(args.system_id, secret, record.secret_hash, now)
            audit = AuditDraft(
                kind="system.vdxp_enabled", at=now, system_id=args.system_id, codes=record.codes
            )
            await store.append_audit([audit])
            return None

    refusal = asyncio.run(job())
    if refusal is not None:
        return _fail(refusal)
    print(f"system {args.system_id} may call /vdxp/ (its key is sealed under {config.home}/keys)")
    return 0


def _disable(args: argparse.Namespace) -> int:
    config = config_of(args)
    if not secrets_of(config).remove(args.system_id):
        return _fail(f"system {args.system_id} was not enabled for VDXP")
    print(f"system {args.system_id} may no longer call /vdxp/")
    return 0


def _list(args: argparse.Namespace) -> int:
    enabled = secrets_of(config_of(args)).system_ids()
    if not enabled:
        print("no system is enabled for VDXP (axis adapter vdxp enable SYSTEM_ID --secret -)")
    for system_id, sealed_at in enabled.items():
        print(f"{system_id}  sealed {sealed_at}")
    return 0


def _guarded(run: Any) -> Any:
    def guarded(args: argparse.Namespace) -> int:
        try:
            return int(run(args))
        except ConfigError as exc:
            return _fail(f"{exc.code}: {exc.name}: {exc.message}", 2)
        except AxisError as exc:
            return _fail(f"{exc.code}: {exc.message}")

    return guarded


def add_commands(sub: Any) -> None:
    """``enable``, ``disable`` and ``list`` under ``axis adapter vdxp``."""
    enable = sub.add_parser("enable", help="let a system call /vdxp/ (seals its secret)")
    enable.add_argument("system_id", metavar="SYSTEM_ID")
    enable.add_argument(
        "--secret", default="-", help="the system's secret; '-' (default) reads it from stdin"
    )
    add_store_options(enable)
    enable.set_defaults(handler=_guarded(_enable))
    disable = sub.add_parser("disable", help="stop a system calling /vdxp/ (forgets its key)")
    disable.add_argument("system_id", metavar="SYSTEM_ID")
    add_store_options(disable)
    disable.set_defaults(handler=_guarded(_disable))
    listing = sub.add_parser("list", help="the systems enabled for /vdxp/ (never a secret)")
    add_store_options(listing)
    listing.set_defaults(handler=_guarded(_list))
