"""CLI group ``signers``: bind signing certificates to the agency codes they sign for.

* ``axis signers add CERT.pem --codes CODE[,CODE...]`` -- bind the certificate by the SHA-256 of
  its DER (``--issuer-serial``: by its issuer and serial number instead, which a re-encoded copy
  of the same certificate also matches); ``--exact``: only these codes, not the bodies under
  them; ``--replace``: change an existing binding.
* ``axis signers add --issuer DN --serial HEX --codes ...`` -- bind without the certificate.
* ``axis signers list [--json]`` -- every binding, with its key.
* ``axis signers remove KEY`` -- the key ``list`` shows.

Works on the deployment's store (``AXIS_*``, ``--home``, ``--config``), like ``axis systems``;
each change is audited (``signer.bound``, ``signer.removed``) by the system ``cli``. A running
node sees a change within seconds (:data:`axis.signer_check.DEFAULT_TTL`), without a restart. Exit
codes: 0 done, 1 refused (an existing or unknown key, an unreadable file), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from axis.clock import Clock
from axis.commands import CommandGroup
from axis.commands.store_access import add_store_options, with_store
from axis.config import AxisConfig
from axis.errors import AxisError
from axis.signers import (
    By,
    SignerBinding,
    bind,
    binding_for_certificate,
    binding_for_issuer_serial,
    check_key,
    list_bindings,
    load_certificate,
    parse_codes,
    unbind,
)
from axis.store.protocol import Store

CLI_SYSTEM = "cli"
"""Who the audit names for a change made at the console of a node."""


def _error(message: str, status: int) -> int:
    print(f"axis signers: {message}", file=sys.stderr)
    return status


def _refusal(exc: AxisError) -> int:
    """A bad argument is a usage error (2); an existing or unknown key a refusal (1)."""
    return _error(f"{exc.code}: {exc.message}", 2 if exc.status == 400 else 1)


def _describe(binding: SignerBinding) -> str:
    reach = "exactly" if binding.exact else "and the bodies under them"
    return f"{binding.key} -> {', '.join(binding.codes)} ({reach})"


def _store_job(args: argparse.Namespace, job: Callable[[Store, AxisConfig], Awaitable[int]]) -> int:
    """``job`` on the opened store, its refusals printed as this group's errors."""

    async def guarded(store: Store, config: AxisConfig) -> int:
        try:
            return await job(store, config)
        except AxisError as exc:
            return _refusal(exc)

    return with_store(args, guarded)


def _cmd_add(args: argparse.Namespace) -> int:
    try:
        codes = parse_codes(args.codes)
        if args.cert is not None:
            if args.issuer is not None or args.serial is not None:
                return _error("give a certificate, or --issuer and --serial, not both", 2)
            try:
                data = Path(args.cert).read_bytes()
            except OSError as exc:
                return _error(f"cannot read {args.cert}: {exc.strerror}", 1)
            by: By = "issuer-serial" if args.issuer_serial else "sha256"
            binding = binding_for_certificate(
                load_certificate(data), codes, by=by, exact=args.exact
            )
        elif args.issuer is not None and args.serial is not None:
            binding = binding_for_issuer_serial(args.issuer, args.serial, codes, exact=args.exact)
        else:
            return _error("give the certificate (CERT.pem), or --issuer DN and --serial HEX", 2)
    except AxisError as exc:
        return _refusal(exc)

    async def job(store: Store, config: AxisConfig) -> int:
        now = Clock(config.clock_offset).now()
        stored, replaced = await bind(
            store, binding, at=now, system_id=CLI_SYSTEM, replace_existing=args.replace
        )
        print(f"signer {'re-bound' if replaced else 'bound'}: {_describe(stored)}")
        if stored.subject:
            print(f"  subject {stored.subject}")
        return 0

    return _store_job(args, job)


def _cmd_list(args: argparse.Namespace) -> int:
    async def job(store: Store, config: AxisConfig) -> int:
        bindings = await list_bindings(store)
        if args.json:
            json.dump([b.to_dict() for b in bindings], sys.stdout, ensure_ascii=False, indent=2)
            print()
            return 0
        if not bindings:
            print("no signer bindings (add one with: axis signers add CERT.pem --codes CODE)")
            return 0
        rows = [
            (
                b.key,
                ",".join(b.codes) + (" (exact)" if b.exact else ""),
                b.subject or f"issuer {b.issuer}, serial {b.serial}",
                b.bound_at or "-",
                b.bound_by or "-",
            )
            for b in bindings
        ]
        header = ("KEY", "CODES", "CERTIFICATE", "BOUND", "BY")
        widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            cells = zip(row, widths, strict=True)
            print("  ".join(str(cell).ljust(width) for cell, width in cells).rstrip())
        return 0

    return _store_job(args, job)


def _cmd_remove(args: argparse.Namespace) -> int:
    try:
        key = check_key(args.key)
    except AxisError as exc:
        return _refusal(exc)

    async def job(store: Store, config: AxisConfig) -> int:
        now = Clock(config.clock_offset).now()
        removed = await unbind(store, key, at=now, system_id=CLI_SYSTEM)
        print(f"signer binding removed: {_describe(removed)}")
        return 0

    return _store_job(args, job)


def register(sub: Any) -> None:
    """Add ``axis signers add|list|remove``."""
    parser = sub.add_parser(
        "signers", help="bind signing certificates to the agency codes they sign for"
    )
    commands = parser.add_subparsers(dest="signers_command", required=True, metavar="ACTION")

    add = commands.add_parser("add", help="bind a certificate (or an issuer and serial) to codes")
    add.add_argument("cert", nargs="?", metavar="CERT", help="the certificate (PEM or DER)")
    add.add_argument("--codes", required=True, help="agency codes it signs for, comma-separated")
    add.add_argument(
        "--issuer-serial",
        action="store_true",
        help="bind CERT by its issuer and serial number rather than its SHA-256",
    )
    add.add_argument("--issuer", metavar="DN", help="issuer DN (RFC 4514), without a CERT")
    add.add_argument("--serial", metavar="HEX", help="serial number in hex, without a CERT")
    add.add_argument(
        "--exact", action="store_true", help="only the listed codes, not the bodies under them"
    )
    add.add_argument("--replace", action="store_true", help="change an existing binding")
    add_store_options(add)
    add.set_defaults(handler=_cmd_add)

    listing = commands.add_parser("list", help="every signer binding")
    listing.add_argument("--json", action="store_true", help="machine-readable")
    add_store_options(listing)
    listing.set_defaults(handler=_cmd_list)

    remove = commands.add_parser("remove", help="remove a binding by its key (see list)")
    remove.add_argument("key", metavar="KEY")
    add_store_options(remove)
    remove.set_defaults(handler=_cmd_remove)


GROUP = CommandGroup(name="signers", register=register)
