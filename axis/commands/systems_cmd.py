"""CLI group ``systems``: add, list and revoke the systems allowed to call the API.

A system is given a secret (generated and shown once, or chosen with ``--secret``) or bound to a
client certificate (``--cert``, pinned by SHA-256), a role and the agency codes it acts for.
The store keeps only the secret's scrypt hash; every change is audited (``system.added``,
``system.revoked``) in the same transaction, with no secret in the event. A running server
notices a change within its authenticator's cache TTL (seconds). Exit codes: 0 done, 1 refused
(unknown or existing id, unreadable file), 2 bad usage (a bad code, a bad id).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from axis.auth.secrets import MAX_SECRET_LENGTH, generate_secret, hash_secret
from axis.auth.tls import certificate_der, certificate_sha256
from axis.clock import Clock, iso
from axis.commands import CommandGroup
from axis.config import AxisConfig, ConfigError
from axis.errors import AxisError
from axis.store.protocol import Store
from axis.store.records import ROLES, AuditDraft, Role, SystemRecord
from registry.codes import AgencyCode, AgencyCodeError

T = TypeVar("T")

_SYSTEM_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MIN_SECRET_LENGTH = 16


def _codes(text: str) -> tuple[str, ...]:
    """``--codes A,B``: each validated, with the position of the first bad character."""
    codes: list[str] = []
    for part in text.split(","):
        try:
            code = AgencyCode.parse(part).text
        except AgencyCodeError as exc:
            where = f" at position {exc.position}" if exc.position is not None else ""
            raise argparse.ArgumentTypeError(
                f"bad agency code {part!r}: {exc.code}{where}: {exc.message}"
            ) from None
        if code not in codes:
            codes.append(code)
    return tuple(codes)


def _system_id(text: str) -> str:
    if not _SYSTEM_ID.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"bad system id {text!r}: 1-64 of [A-Za-z0-9._-], starting with a letter or digit"
        )
    return text


def _run(job: Callable[[Store, Clock], Awaitable[T]]) -> T:
    """Run ``job`` against the deployment's opened store (from ``AXIS_*``) and the axis clock."""
    from axis.resources import open_store

    config = AxisConfig.from_env()

    async def main() -> T:
        async with open_store(config) as store:
            return await job(store, Clock(config.clock_offset))

    return asyncio.run(main())


def _error(message: str, status: int) -> int:
    print(f"axis systems: {message}", file=sys.stderr)
    return status


def _read_secret(value: str) -> str:
    """``--secret -`` reads it from stdin, keeping it out of the process list and history."""
    return sys.stdin.readline().rstrip("\r\n") if value == "-" else value


# --- add ----------------------------------------------------------------------------------------


def _cmd_add(args: argparse.Namespace) -> int:
    role: Role = args.role
    codes: tuple[str, ...] = args.codes or ()
    if role == "agency" and not codes:
        return _error("an agency system needs at least one code (--codes)", 2)
    secret: str | None = None
    generated = False
    cert_sha256: str | None = None
    if args.cert is not None:
        try:
            der = certificate_der(Path(args.cert).read_bytes())
        except OSError as exc:
            return _error(f"cannot read {args.cert}: {exc.strerror}", 1)
        except ValueError:
            return _error(f"{args.cert} is not a certificate (PEM or DER)", 1)
        cert_sha256 = certificate_sha256(der)
    elif args.secret is not None:
        secret = _read_secret(args.secret)
        if not MIN_SECRET_LENGTH <= len(secret) <= MAX_SECRET_LENGTH:
            return _error(
                f"a secret is {MIN_SECRET_LENGTH}..{MAX_SECRET_LENGTH} characters "
                "(leave --secret out to have one generated)",
                2,
            )
    else:
        secret, generated = generate_secret(), True
    secret_hash = hash_secret(secret) if secret is not None else None

    async def job(store: Store, clock: Clock) -> str | None:
        existing = await store.system(args.system_id)
        if existing is not None and not args.replace:
            return f"system {args.system_id} already exists (use --replace to change it)"
        if cert_sha256 is not None:
            holder = await store.system_by_cert(cert_sha256)
            if holder is not None and holder.system_id != args.system_id:
                # One certificate, one system: otherwise which grant applies would be arbitrary.
                return f"this certificate is already bound to system {holder.system_id}"
        now = clock.now()
        record = SystemRecord(
            system_id=args.system_id,
            role=role,
            codes=codes,
            secret_hash=secret_hash,
            cert_sha256=cert_sha256,
            created_at=existing.created_at if existing is not None else now,
            exact_codes=args.exact,
        )
        data: dict[str, Any] = {
            "role": role,
            "auth": _auth_kind(record),
            "exact_codes": args.exact,
            "replaced": existing is not None,
        }
        if cert_sha256 is not None:
            data["cert_sha256"] = cert_sha256
        audit = AuditDraft(
            kind="system.added", at=now, system_id=args.system_id, codes=codes, data=data
        )
        await store.put_system(record, audit)
        return None

    refusal = _run(job)
    if refusal is not None:
        return _error(refusal, 1)
    scope = ", ".join(codes) or "no agency codes"
    reach = "exactly" if args.exact else "and their children"
    kind = "certificate " + (cert_sha256 or "") if cert_sha256 else "secret"
    print(
        f"system {args.system_id} added: {role}; {scope}{'' if not codes else ' ' + reach}; {kind}"
    )
    if generated:
        print(f"secret: {secret}")
        print("this secret will not be shown again: hand it to the system's operator now")
    return 0


def _auth_kind(record: SystemRecord) -> str:
    kinds = [k for k, v in (("secret", record.secret_hash), ("cert", record.cert_sha256)) if v]
    return "+".join(kinds) or "none"


# --- list / revoke ------------------------------------------------------------------------------


def _system_dict(record: SystemRecord) -> dict[str, Any]:
    """What may be shown about a system: never its secret hash."""
    return {
        "system_id": record.system_id,
        "role": record.role,
        "codes": list(record.codes),
        "exact_codes": record.exact_codes,
        "auth": _auth_kind(record),
        "cert_sha256": record.cert_sha256,
        "created_at": iso(record.created_at),
        "revoked_at": None if record.revoked_at is None else iso(record.revoked_at),
    }


def _cmd_list(args: argparse.Namespace) -> int:
    async def job(store: Store, clock: Clock) -> tuple[SystemRecord, ...]:
        return await store.systems()

    systems = [_system_dict(r) for r in _run(job)]
    if args.json:
        json.dump(systems, sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    if not systems:
        print("no systems (add one with: axis systems add SYSTEM_ID --codes CODE)")
        return 0
    rows = [
        (
            s["system_id"],
            s["role"],
            ",".join(s["codes"]) + (" (exact)" if s["exact_codes"] and s["codes"] else "") or "-",
            s["auth"],
            s["created_at"],
            s["revoked_at"] or "-",
        )
        for s in systems
    ]
    header = ("ID", "ROLE", "CODES", "AUTH", "CREATED", "REVOKED")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
    return 0


def _cmd_revoke(args: argparse.Namespace) -> int:
    async def job(store: Store, clock: Clock) -> tuple[int, str]:
        record = await store.system(args.system_id)
        if record is None:
            return 1, f"axis systems: no system {args.system_id}"
        if record.revoked_at is not None:
            return 0, f"system {args.system_id} was already revoked at {iso(record.revoked_at)}"
        now = clock.now()
        revoked = SystemRecord(
            system_id=record.system_id,
            role=record.role,
            codes=record.codes,
            secret_hash=record.secret_hash,
            cert_sha256=record.cert_sha256,
            created_at=record.created_at,
            revoked_at=now,
            exact_codes=record.exact_codes,
        )
        audit = AuditDraft(
            kind="system.revoked",
            at=now,
            system_id=record.system_id,
            codes=record.codes,
            data={"role": record.role},
        )
        await store.put_system(revoked, audit)
        return 0, f"system {args.system_id} revoked at {iso(now)}"

    status, message = _run(job)
    print(message, file=sys.stderr if status else sys.stdout)
    return status


def _guarded(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A bad ``AXIS_*`` value is a usage error (2), a store that cannot be opened a refusal
    (1): each with its message, not a traceback."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except ConfigError as exc:
            return _error(f"{exc.code}: {exc.name}: {exc.message}", 2)
        except AxisError as exc:
            return _error(str(exc), 1)

    return run


def register(sub: Any) -> None:
    """Add ``axis systems add|list|revoke``."""
    parser = sub.add_parser("systems", help="the systems allowed to call the API")
    commands = parser.add_subparsers(dest="systems_command", required=True, metavar="ACTION")

    add = commands.add_parser("add", help="allow a system: a secret (shown once) or a certificate")
    add.add_argument("system_id", type=_system_id, metavar="SYSTEM_ID")
    add.add_argument(
        "--codes", type=_codes, help="agency codes it acts for, comma-separated (CODE[,CODE...])"
    )
    proof = add.add_mutually_exclusive_group()
    proof.add_argument("--secret", help="its secret ('-' reads it from stdin); default generated")
    proof.add_argument("--cert", metavar="FILE", help="its client certificate (PEM or DER)")
    add.add_argument("--role", choices=ROLES, default="agency", help="default: agency")
    add.add_argument(
        "--exact", action="store_true", help="only the listed codes, not their children"
    )
    add.add_argument("--replace", action="store_true", help="change an existing system")
    add.set_defaults(handler=_guarded(_cmd_add))

    listing = commands.add_parser("list", help="every system (never a secret)")
    listing.add_argument("--json", action="store_true", help="machine-readable")
    listing.set_defaults(handler=_guarded(_cmd_list))

    revoke = commands.add_parser("revoke", help="stop a system from calling the API")
    revoke.add_argument("system_id", metavar="SYSTEM_ID")
    revoke.set_defaults(handler=_guarded(_cmd_revoke))


GROUP = CommandGroup(name="systems", register=register)
