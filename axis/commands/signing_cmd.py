"""CLI group ``sign/verify``: sign an edXML document, verify a signed document.

* ``axis sign FILE --key KEY --cert CERT [--chain PEM] [--algorithm A]`` -- the signed document on
  stdout (enveloped, whole-document, last child of ``edXMLHeader``).
* ``axis verify FILE [--trust DIR] [--at WHEN] [--json] [--profile P] [policy switches]`` -- the
  report; exit 0 accepted under the policy (valid, or absent where the policy allows it), 1
  refused (invalid, or absent while required), 2 error (unreadable input, bad arguments, a bad
  ``AXIS_*`` value, unusable trust directory).

``axis verify`` judges a document the way the axis's intake does: its defaults are the
configuration's (``AxisConfig.from_env()``: trust directory, signature mode, SHA-1, revocation,
sender binding, XML limits) and every explicit flag overrides one of them. ``--at`` is read by
:func:`axis.commands.parse_at` (a time without offset is Vietnam time, UTC+7), as everywhere.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from axis.commands import CommandGroup, parse_at
from axis.config import AxisConfig, ConfigError
from signing.locate import PROFILES
from signing.policy import REVOCATION_MODES, SIGNATURE_MODES, SignaturePolicy

EXIT_VALID, EXIT_INVALID, EXIT_ERROR = 0, 1, 2


def _error(code: str, message: str, location: str | None) -> int:
    where = f" at {location}" if location else ""
    print(f"error {code}{where}: {message}", file=sys.stderr)
    return EXIT_ERROR


def _read(path: str) -> bytes:
    return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()


def _certificates(path: str) -> list[x509.Certificate]:
    data = Path(path).read_bytes()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificates(data)
    return [x509.load_der_x509_certificate(data)]


def _sign(args: argparse.Namespace) -> int:
    from lxml import etree

    from edxml.errors import EdxmlError
    from edxml.xmlsafe import parse_xml
    from signing import SigningError, sign

    try:
        key = serialization.load_pem_private_key(Path(args.key).read_bytes(), password=None)
        chain = _certificates(args.cert) + (_certificates(args.chain) if args.chain else [])
    except (OSError, ValueError, TypeError) as exc:
        return _error("sign.bad_key_or_cert", str(exc), args.key)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        return _error("sign.key_type", "only RSA and ECDSA keys sign", args.key)
    try:
        tree = parse_xml(_read(args.file))
        sign(tree, key, chain, algorithm=args.algorithm, digest=args.digest)
    except OSError as exc:
        return _error("sign.unreadable", str(exc), args.file)
    except EdxmlError as exc:
        return _error(exc.code, exc.message, exc.location)
    except SigningError as exc:
        return _error(exc.code, exc.message, exc.location)
    sys.stdout.buffer.write(etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))
    sys.stdout.buffer.flush()
    return EXIT_VALID


def _print_report(report: Any) -> None:
    head = f"{report.status}"
    if not report.valid:
        head += f"  {report.reason}  at {report.location}: {report.message}"
    else:
        head += f"  {report.message} (profile {report.profile})"
    print(head)
    for detail in report.signatures:
        rows = [
            ("signature", detail.location),
            ("verdict", f"{'valid' if detail.valid else 'invalid'} ({detail.reason})"),
            ("signer", detail.signer_subject or "-"),
            ("serial", detail.signer_serial or "-"),
            ("issuers", " <- ".join(detail.issuer_chain) or "-"),
            (
                "algorithms",
                f"{detail.signature_method}, digest {', '.join(detail.digest_methods)}, "
                f"c14n {detail.c14n_method}" + (" [legacy SHA-1]" if detail.legacy_sha1 else ""),
            ),
            ("covers", f"{detail.coverage} ({', '.join(detail.covered)})"),
            (
                "time",
                f"{detail.validated_at.isoformat() if detail.validated_at else '-'} "
                f"({detail.time_source}); claimed SigningTime: "
                f"{detail.claimed_signing_time or '-'} (not trusted)",
            ),
            (
                "revocation",
                f"{detail.revocation_status or '-'}"
                + (f" ({detail.revocation_source})" if detail.revocation_source else ""),
            ),
        ]
        for label, value in rows:
            print(f"  {label:<11} {value}")


def _policy(args: argparse.Namespace, config: AxisConfig) -> SignaturePolicy:
    """The configuration's signature policy with this command's explicit flags applied."""

    def flag(value: Any, default: Any) -> Any:
        return default if value is None else value

    edxml = args.profile == "edxml"
    return replace(
        config.signature_policy(),
        mode=flag(args.mode, config.signature_mode),
        profile=PROFILES[args.profile],
        allow_sha1=flag(args.allow_sha1, config.allow_sha1),
        revocation=flag(args.revocation, config.revocation),
        require_sender_binding=edxml and flag(args.sender_binding, config.require_sender_binding),
        require_full_coverage=not args.allow_partial,
    )


def _verify(args: argparse.Namespace) -> int:
    from signing import TrustStore, Verifier
    from signing.truststore import TrustStoreError

    try:
        config = AxisConfig.from_env()
        policy = _policy(args, config)
    except ConfigError as exc:
        return _error(exc.code, exc.message, exc.name)
    trust_dir = Path(args.trust) if args.trust else config.trust_dir
    try:
        trust = TrustStore.from_directory(trust_dir) if trust_dir else TrustStore.default()
    except TrustStoreError as exc:
        return _error(exc.code, exc.message, exc.location)
    try:
        data = _read(args.file)
    except OSError as exc:
        return _error("verify.unreadable", str(exc), args.file)
    verifier = Verifier.with_http_fetcher(trust, policy) if args.fetch else Verifier(trust, policy)
    with verifier:
        report = verifier.verify(data, at=args.at, limits=config.xml_limits())
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        _print_report(report)
    return EXIT_VALID if report.accepted else EXIT_INVALID


def register(sub: Any) -> None:
    """Add ``sign`` and ``verify``."""
    sign_parser = sub.add_parser(
        "sign", help="sign an edXML document (enveloped XML-DSig, signed file to stdout)"
    )
    sign_parser.add_argument("file", help="the edXML document ('-' for stdin)")
    sign_parser.add_argument("--key", required=True, help="PEM private key (RSA or ECDSA)")
    sign_parser.add_argument("--cert", required=True, help="PEM signer certificate (leaf first)")
    sign_parser.add_argument("--chain", help="PEM intermediates to put in KeyInfo")
    sign_parser.add_argument(
        "--algorithm", help="rsa-sha256 (RSA default), ecdsa-sha256 (EC default), rsa-sha512 ..."
    )
    sign_parser.add_argument("--digest", default="sha256", help="sha256 (default), sha384, sha512")
    sign_parser.set_defaults(handler=_sign)

    verify_parser = sub.add_parser(
        "verify", help="verify a signed document; exit 0 valid, 1 invalid, 2 error"
    )
    verify_parser.add_argument("file", help="the signed document ('-' for stdin)")
    verify_parser.add_argument(
        "--trust",
        help="trust directory (anchors + intermediates/); default: AXIS_TRUST_DIR, "
        "else the shipped VGCA roots",
    )
    verify_parser.add_argument(
        "--at",
        type=parse_at,
        default=None,
        help="trusted validation time: a date, ISO 8601 or dd/MM/yyyy HH:mm; without an offset "
        "it is Vietnam time (default: now; never the claimed SigningTime)",
    )
    verify_parser.add_argument("--json", action="store_true", help="the report as JSON")
    verify_parser.add_argument(
        "--profile", choices=("edxml", "tax-message"), default="edxml", help="signature location"
    )
    verify_parser.add_argument(
        "--mode", choices=SIGNATURE_MODES, default=None, help="default: AXIS_SIGNATURE_MODE"
    )
    verify_parser.add_argument(
        "--revocation", choices=REVOCATION_MODES, default=None, help="default: AXIS_REVOCATION"
    )
    verify_parser.add_argument(
        "--fetch", action="store_true", help="fetch CRL/OCSP over HTTP (network I/O)"
    )
    verify_parser.add_argument(
        "--allow-sha1",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="accept legacy SHA-1 (flagged in the report); default: AXIS_ALLOW_SHA1",
    )
    verify_parser.add_argument(
        "--allow-partial", action="store_true", help="accept signatures covering less than all"
    )
    verify_parser.add_argument(
        "--sender-binding",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="bind the signer to From/OrganId (edxml profile); default: "
        "AXIS_REQUIRE_SENDER_BINDING",
    )
    verify_parser.set_defaults(handler=_verify)


GROUP = CommandGroup(name="sign/verify", register=register)
