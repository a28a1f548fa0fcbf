"""CLI group ``pki``: build a test PKI, serve its CRL/OCSP, check a certificate path, hold CRLs.

* ``axis pki init DIR [--base-url URL]`` -- a complete throw-away test PKI (see :mod:`signing.pki`).
* ``axis pki serve DIR [--host H] [--port P]`` -- its CRL/OCSP responder on loopback, for demos.
* ``axis pki check CERT [--at T] [--trust DIR] [--revocation MODE] [--fetch] [--legacy-sha1]`` --
  validate one certificate's path at a trusted time, the way the axis does for a signer: its
  defaults (trust directory, revocation mode, SHA-1 chains) are the configuration's
  (``AxisConfig.from_env()``), explicit flags override them, and ``--at`` is read by
  :func:`axis.commands.parse_at` (a time without offset is Vietnam time). A bad ``AXIS_*`` value
  exits 2. It reads the CRLs the axis holds, like the intake.
* ``axis pki crl import FILE [--trust DIR]`` -- install a CRL into ``$AXIS_HOME/crl`` (air-gapped
  deployments), where every intake worker picks it up without a restart; refused (exit 1, with a
  ``crl.*`` code) unless a trusted CA signed it and it is not older than the CRL held for that CA.
* ``axis pki crl list`` -- the CRLs held: issuer, thisUpdate, nextUpdate, age, past nextUpdate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from axis.commands import CommandGroup, parse_at
from axis.config import AxisConfig, ConfigError
from signing.policy import REVOCATION_MODES, RevocationMode


def _key_label(cert: x509.Certificate) -> str:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA-{key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}"
    return type(key).__name__


def _cn(cert: x509.Certificate) -> str:
    attrs = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    value = attrs[0].value if attrs else cert.subject.rfc4514_string()
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _init(args: argparse.Namespace) -> int:
    from signing.pki import PkiError, build_test_pki

    try:
        pki = build_test_pki(Path(args.directory), base_url=args.base_url)
    except PkiError as exc:
        print(f"error {exc.code} at {exc.location}: {exc.message}", file=sys.stderr)
        return 2
    rows = []
    for name, issued in pki.all_issued().items():
        c = issued.cert
        algo = c.signature_hash_algorithm
        rows.append(
            {
                "name": name,
                "subject": c.subject.rfc4514_string(),
                "common_name": _cn(c),
                "key": _key_label(c),
                "signature_hash": algo.name if algo else None,
                "not_before": c.not_valid_before_utc.strftime("%Y-%m-%d"),
                "not_after": c.not_valid_after_utc.strftime("%Y-%m-%d"),
                "cert": str(issued.cert_path),
                "key_file": str(issued.key_path),
            }
        )
    if args.json:
        out: dict[str, Any] = {
            "directory": str(pki.directory),
            "base_url": pki.base_url,
            "trust_dir": str(pki.trust_dir),
            "crl_path": str(pki.crl_path),
            "certificates": rows,
        }
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    print(f"test PKI in {pki.directory} (CRL/OCSP at {pki.base_url}; keys are UNENCRYPTED)")
    for r in rows:
        print(
            f"  {r['name']:<20} {r['key']:<12} {r['signature_hash']:<7} "
            f"{r['not_before']} .. {r['not_after']}  {r['common_name']}"
        )
    print(f"trust directory: {pki.trust_dir}")
    print(f"serve revocation data with: axis pki serve {pki.directory}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from signing.pki import PkiError, RevocationServer, load_test_pki

    try:
        pki = load_test_pki(Path(args.directory))
        port = args.port if args.port is not None else _port_of(pki.base_url)
        server = RevocationServer(pki, host=args.host, port=port)
    except (PkiError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with server:
        print(f"serving CRL/OCSP for {pki.directory} at {server.base_url}", flush=True)
        if server.base_url != pki.base_url:
            print(f"note: certificates point at {pki.base_url}", flush=True)
        stop.wait()
    return 0


def _port_of(url: str) -> int:
    from urllib.parse import urlsplit

    return urlsplit(url).port or 80


def _config(args: argparse.Namespace) -> AxisConfig:
    """The configuration, with ``--trust`` (a trust folder or an ``axis pki init`` folder)."""
    config = AxisConfig.from_env()
    trust = getattr(args, "trust", None)
    return config.with_overrides(trust_dir=Path(trust)) if trust else config


def _check(args: argparse.Namespace) -> int:
    import aiohttp

    from axis.resources import build_trust, crl_directories
    from signing.certpath import PathPolicy, PathResult, PathValidator, describe_result
    from signing.revocation import CrlFolder, HttpRevocationFetcher
    from signing.truststore import TrustStoreError, load_certificates

    try:
        config = _config(args)
    except ConfigError as exc:
        print(f"error {exc.code} at {exc.name}: {exc.message}", file=sys.stderr)
        return 2
    try:
        certs = load_certificates(Path(args.certificate).read_bytes(), args.certificate)
        trust = build_trust(config)
    except (TrustStoreError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    crls = CrlFolder(crl_directories(config))
    policy = PathPolicy(
        revocation=cast(RevocationMode, args.revocation or config.revocation),
        allow_sha1_chain=config.allow_sha1 if args.legacy_sha1 is None else args.legacy_sha1,
    )

    async def check() -> PathResult:
        if not args.fetch:
            return await PathValidator(trust, policy=policy, crls=crls).validate(
                certs[0], certs[1:], at=args.at
            )
        async with aiohttp.ClientSession() as session:  # this command's one session
            fetcher = HttpRevocationFetcher(session)
            validator = PathValidator(trust, policy=policy, fetcher=fetcher, crls=crls)
            return await validator.validate(certs[0], certs[1:], at=args.at)

    result = asyncio.run(check())
    if args.json:
        print(json.dumps(describe_result(result), ensure_ascii=False, indent=2))
    else:
        verdict = "VALID" if result.ok else f"REFUSED {result.reason}"
        print(f"{verdict} at {result.validated_at.strftime('%Y-%m-%dT%H:%M:%SZ')}")
        print(f"  {result.message}")
        for i, c in enumerate(result.chain):
            print(f"  {'  ' * i}{c.subject.rfc4514_string()}")
        rev = result.revocation
        print(f"  revocation: {rev.status} ({rev.source or '-'}) {rev.detail}")
    return 0 if result.ok else 1


def _iso(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else "-"


def _crl_import(args: argparse.Namespace) -> int:
    from axis.resources import HOME_CRL_DIR, build_trust
    from signing.revocation import CrlError, install_crl
    from signing.revocation.install import describe_crl
    from signing.truststore import TrustStoreError

    try:
        config = _config(args)
        trust = build_trust(config)
        data = Path(args.file).read_bytes()
    except ConfigError as exc:
        print(f"error {exc.code} at {exc.name}: {exc.message}", file=sys.stderr)
        return 2
    except TrustStoreError as exc:
        print(f"error {exc.code} at {exc.location}: {exc.message}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error crl.unreadable at {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    directory = config.home / HOME_CRL_DIR
    try:
        installed = install_crl(data, directory, trust, location=args.file, source="import")
    except CrlError as exc:
        if args.json:
            print(json.dumps({"installed": False, **exc.to_dict()}, ensure_ascii=False, indent=2))
        print(f"refused {exc.code} at {exc.location}: {exc.message}", file=sys.stderr)
        return 1
    crl = installed.held.crl
    now = datetime.now(UTC)
    if args.json:
        out = {
            "installed": installed.changed,
            "issuer": crl.issuer,
            "issuer_sha256": installed.issuer_fingerprint,
            "this_update": _iso(crl.this_update),
            "next_update": _iso(crl.next_update),
            "number": crl.number,
            "revoked": len(crl.revoked),
            "file": str(installed.held.path),
            "past_next_update": crl.is_stale(now),
        }
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    verb = "installed" if installed.changed else "already held"
    print(f"{verb}: CRL of {crl.issuer}")
    print(f"  {describe_crl(crl)}, {len(crl.revoked)} revoked serial(s)")
    print(f"  signed by the trusted CA certificate SHA-256 {installed.issuer_fingerprint}")
    print(f"  file {installed.held.path}")
    if installed.replaced is not None and installed.changed:
        print(f"  replaces the CRL of {describe_crl(installed.replaced)}")
    if crl.is_stale(now):
        print(
            f"warning: this CRL is past its nextUpdate ({_iso(crl.next_update)}): the serials it "
            f"lists are refused cert.revoked, and under hard-fail every other certificate of "
            f"this CA is refused cert.revocation_unknown until a newer CRL is imported"
        )
    return 0


def _crl_list(args: argparse.Namespace) -> int:
    from axis.crl_refresh import crl_states
    from axis.resources import crl_directories
    from signing.revocation import CrlFolder

    try:
        config = _config(args)
    except ConfigError as exc:
        print(f"error {exc.code} at {exc.name}: {exc.message}", file=sys.stderr)
        return 2
    directories = crl_directories(config)
    states = crl_states(CrlFolder(directories), datetime.now(UTC))
    if args.json:
        print(json.dumps([s.as_dict() for s in states], ensure_ascii=False, indent=2))
        return 0
    if not states:
        print(f"no CRL held in {', '.join(str(d) for d in directories)}")
    for state in states:
        flag = "  PAST nextUpdate" if state.past_next_update else ""
        print(f"{state.issuer}{flag}")
        print(
            f"  thisUpdate {_iso(state.this_update)}  nextUpdate {_iso(state.next_update)}  "
            f"age {state.age_seconds:.0f}s  revoked {state.revoked}  {state.file}"
        )
    return 0


def register(sub: Any) -> None:
    """Adds ``pki init``, ``pki serve``, ``pki check`` and ``pki crl import|list``."""
    pki = sub.add_parser("pki", help="test PKI, revocation responder, certificate path checks")
    pki_sub = pki.add_subparsers(dest="pki_command", required=True, metavar="SUBCOMMAND")

    init = pki_sub.add_parser("init", help="build a complete test PKI into DIR")
    init.add_argument("directory", metavar="DIR")
    init.add_argument("--base-url", default="http://127.0.0.1:8790", help="where CDP/AIA point")
    init.add_argument("--json", action="store_true", help="machine-readable output")
    init.set_defaults(handler=_init)

    serve = pki_sub.add_parser("serve", help="serve DIR's CRLs and OCSP on loopback")
    serve.add_argument("directory", metavar="DIR")
    serve.add_argument("--host", default="127.0.0.1", help="a loopback address")
    serve.add_argument("--port", type=int, default=None, help="default: the port of base_url")
    serve.set_defaults(handler=_serve)

    check = pki_sub.add_parser("check", help="validate a certificate path at a trusted time")
    check.add_argument("certificate", metavar="CERT", help="PEM/DER; extra PEM blocks = chain")
    check.add_argument(
        "--at",
        type=parse_at,
        default=None,
        help="trusted time: a date, ISO 8601 or dd/MM/yyyy HH:mm; without an offset it is "
        "Vietnam time (default: now)",
    )
    check.add_argument(
        "--trust", help="trust directory (default: AXIS_TRUST_DIR, else the shipped VGCA anchors)"
    )
    check.add_argument(
        "--revocation", choices=REVOCATION_MODES, default=None, help="default: AXIS_REVOCATION"
    )
    check.add_argument("--fetch", action="store_true", help="fetch CRL/OCSP over the network")
    check.add_argument(
        "--legacy-sha1",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="accept SHA-1 (G1) chains (default: AXIS_ALLOW_SHA1)",
    )
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.set_defaults(handler=_check)

    crl = pki_sub.add_parser("crl", help="CRLs held in $AXIS_HOME/crl (air-gapped revocation)")
    crl_sub = crl.add_subparsers(dest="crl_command", required=True, metavar="SUBCOMMAND")
    crl_import = crl_sub.add_parser(
        "import",
        help="install a CRL a trusted CA signed into $AXIS_HOME/crl (workers pick it up)",
    )
    crl_import.add_argument("file", metavar="FILE", help="the CRL, DER or PEM")
    crl_import.add_argument(
        "--trust",
        help="trust directory whose CAs may sign CRLs, or an 'axis pki init' folder (default: "
        "AXIS_TRUST_DIR, else $AXIS_HOME/trust, else the shipped VGCA anchors)",
    )
    crl_import.add_argument("--json", action="store_true", help="machine-readable output")
    crl_import.set_defaults(handler=_crl_import)
    crl_list = crl_sub.add_parser("list", help="the CRLs held: issuer, validity, age")
    crl_list.add_argument("--json", action="store_true", help="machine-readable output")
    crl_list.set_defaults(handler=_crl_list)


GROUP = CommandGroup(name="pki", register=register)
