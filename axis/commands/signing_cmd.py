"""CLI group ``sign/verify``: sign an edXML document, verify a signed document.

* ``axis sign FILE --key KEY --cert CERT [--chain PEM] [--algorithm A] [-o OUT]`` -- the signed
  document on stdout or in OUT (enveloped, whole-document, last child of ``edXMLHeader``).
* ``axis verify FILE [--trust DIR] [--crl FILE] [--at WHEN] [--json] [--profile P] [policy
  switches]`` -- the report; exit 0 accepted under the policy (valid, or absent where the policy
  allows it), 1 refused (invalid, or absent while required), 2 error (unreadable input, bad
  arguments, a bad ``AXIS_*`` value, unusable trust directory or CRL file).

``axis sign`` refuses a key that does not belong to the certificate (``sign.key_mismatch``, exit
2, nothing written): such a signature would verify with no verifier.

``axis verify`` judges a document the way the axis's intake does: its defaults are the
configuration's (``AxisConfig.from_env()``: trust directory, signature mode, SHA-1, revocation,
sender binding, XML limits), it reads the CRLs the axis holds (``$AXIS_HOME/crl``), and every
explicit flag overrides one of them. ``--trust`` takes a trust folder or the folder ``axis pki
init`` made (its ``trust/`` and ``crl/``); the profile is recognised from the root element unless
``--profile`` says otherwise. ``--at`` is read by :func:`axis.commands.parse_at` (a time without
offset is Vietnam time, UTC+7), as everywhere.
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
from signing.locate import EDXML, PROFILES, SignatureProfile
from signing.policy import (
    REVOCATION_MODES,
    SIGNATURE_MODES,
    SignaturePolicy,
    recognise_profile,
)

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
    from signing.sign import check_key_pair

    try:
        key = serialization.load_pem_private_key(Path(args.key).read_bytes(), password=None)
        chain = _certificates(args.cert) + (_certificates(args.chain) if args.chain else [])
    except (OSError, ValueError, TypeError) as exc:
        return _error("sign.bad_key_or_cert", str(exc), args.key)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        return _error("sign.key_type", "only RSA and ECDSA keys sign", args.key)
    try:
        check_key_pair(key, chain[0], f"{args.key} / {args.cert}")
    except SigningError as exc:
        return _error(exc.code, exc.message, exc.location)
    try:
        tree = parse_xml(_read(args.file))
        sign(tree, key, chain, algorithm=args.algorithm, digest=args.digest)
    except OSError as exc:
        return _error("sign.unreadable", str(exc), args.file)
    except EdxmlError as exc:
        return _error(exc.code, exc.message, exc.location)
    except SigningError as exc:
        return _error(exc.code, exc.message, exc.location)
    signed = etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
    if args.output:  # whole or not at all: a temporary file renamed into place
        target = Path(args.output)
        temporary = target.with_name(f".{target.name}.tmp")
        try:
            temporary.write_bytes(signed)
            temporary.replace(target)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            return _error("sign.unwritable", str(exc), args.output)
        return EXIT_VALID
    sys.stdout.buffer.write(signed)
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
            ("sha-256", detail.signer_sha256 or "-"),
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


def _policy(
    args: argparse.Namespace, config: AxisConfig, profile: SignatureProfile
) -> SignaturePolicy:
    """The configuration's signature policy with this command's explicit flags applied."""

    def flag(value: Any, default: Any) -> Any:
        return default if value is None else value

    edxml = profile is EDXML
    return replace(
        config.signature_policy(),
        mode=flag(args.mode, config.signature_mode),
        profile=profile,
        allow_sha1=flag(args.allow_sha1, config.allow_sha1),
        revocation=flag(args.revocation, config.revocation),
        require_sender_binding=edxml and flag(args.sender_binding, config.require_sender_binding),
        require_full_coverage=not args.allow_partial,
    )


def _document(
    data: bytes, args: argparse.Namespace, config: AxisConfig
) -> tuple[bytes | Any, SignatureProfile]:
    """The document to verify and its profile: ``--profile``, else recognised from the root
    element (parsed once, hardened, under the configured limits; a document that does not parse
    goes on as bytes and the verifier words the refusal)."""
    from edxml.errors import EdxmlError
    from edxml.xmlsafe import parse_xml

    if args.profile:
        return data, PROFILES[args.profile]
    try:
        tree = parse_xml(data, config.xml_limits())
    except EdxmlError:
        return data, EDXML
    return tree, recognise_profile(tree.getroot())


def _verify(args: argparse.Namespace) -> int:
    from axis.resources import build_trust, crl_directories
    from signing import Verifier
    from signing.revocation import CrlFolder, RevocationFetchError, read_held
    from signing.truststore import TrustStoreError

    try:
        config = AxisConfig.from_env()
        if args.trust:
            config = config.with_overrides(trust_dir=Path(args.trust))
    except ConfigError as exc:
        return _error(exc.code, exc.message, exc.name)
    try:
        trust = build_trust(config)
    except TrustStoreError as exc:
        return _error(exc.code, exc.message, exc.location)
    crl_files = [Path(f) for f in args.crl]
    for crl_file in crl_files:
        try:
            read_held(crl_file, explicit=True)
        except OSError as exc:
            return _error("crl.unreadable", exc.strerror or str(exc), str(crl_file))
        except RevocationFetchError as exc:
            return _error("crl.unreadable", exc.message, str(crl_file))
    try:
        data = _read(args.file)
    except OSError as exc:
        return _error("verify.unreadable", str(exc), args.file)
    document, profile = _document(data, args, config)
    try:
        policy = _policy(args, config, profile)
    except ConfigError as exc:
        return _error(exc.code, exc.message, exc.name)
    crls = CrlFolder(crl_directories(config), crl_files)
    verifier = (
        Verifier.with_http_fetcher(trust, policy, crls=crls)
        if args.fetch
        else Verifier(trust, policy, crls=crls)
    )
    with verifier:
        report = verifier.verify(document, at=args.at, limits=config.xml_limits())
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
    sign_parser.add_argument(
        "-o", "--output", help="write the signed document here (only on success); default stdout"
    )
    sign_parser.set_defaults(handler=_sign)

    verify_parser = sub.add_parser(
        "verify", help="verify a signed document; exit 0 valid, 1 invalid, 2 error"
    )
    verify_parser.add_argument("file", help="the signed document ('-' for stdin)")
    verify_parser.add_argument(
        "--trust",
        help="trust directory (anchors + intermediates/), or a folder 'axis pki init' made (its "
        "trust/ and crl/ are used); default: AXIS_TRUST_DIR, else $AXIS_HOME/trust, else the "
        "shipped VGCA roots",
    )
    verify_parser.add_argument(
        "--crl",
        action="append",
        default=[],
        metavar="FILE",
        help="a CRL (DER or PEM) to use for this verification instead of the held CRL of its CA "
        "(repeatable); the CRLs in $AXIS_HOME/crl are always read",
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
        "--profile",
        choices=("edxml", "tax-message"),
        default=None,
        help="where signatures are; default: recognised from the root element (edXML -> edxml, "
        "anything else, e.g. TDiep or KetQuaTraCuu -> tax-message)",
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
