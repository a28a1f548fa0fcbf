"""Signature verification: whole pipeline vs. bare libxmlsec1 (the ceiling), 20 KB and 1 MB edXML.

Run: ``.venv/bin/python benchmarks/bench_signing.py [--out PATH]`` (or ``make bench``). Prints a
table and writes ``benchmarks/results/signing.json`` (or ``PATH``).

* **ours** — :meth:`signing.Verifier.verify` on the document bytes, one verifier reused for every
  document as the broker's workers do: hardened parse, location and SignedInfo allow-list checks,
  reference resolution and coverage, certificate path through the verifier's
  :class:`PathValidator` (cached per certificate after the first document), libxmlsec1
  references + signature, sender binding.
* **ceiling** — the same bytes through lxml parse + libxmlsec1 verify with the signer's key pinned
  (no checks at all): what the crypto and C14N cost on this machine.
* **signxml** (only when installed) — signxml 5.2 ``XMLVerifier`` with the certificate pinned and
  schema validation off, for the library choice in ``signing/__init__.py``.

One core, in-process; each figure is the best of several timed rounds.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import xmlsec
from cryptography.hazmat.primitives import serialization
from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from axis.logs import configure_logging  # noqa: E402
from signing import TrustStore, Verifier  # noqa: E402
from signing.pki import build_test_pki  # noqa: E402
from signing.samples import sample_edxml_of_size  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "signing.json"
SIZES = {"20KB": 20 * 1024, "1MB": 1024 * 1024}
DSIG = "{http://www.w3.org/2000/09/xmldsig#}Signature"


def best_seconds(action: Callable[[], object], budget: float, rounds: int = 5) -> float:
    """Best per-call time over ``rounds`` rounds that each run for about ``budget/rounds`` s."""
    action()
    best = float("inf")
    for _ in range(rounds):
        calls = 0
        started = time.perf_counter()
        while True:
            action()
            calls += 1
            elapsed = time.perf_counter() - started
            if elapsed >= budget / rounds:
                break
        best = min(best, elapsed / calls)
    return best


_PARSER = etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True)


def bare_xmlsec(data: bytes, key: xmlsec.Key) -> None:
    """The ceiling: parse, find the signature, verify with a pinned key; nothing else."""
    root = etree.fromstring(data, _PARSER)
    signature = next(root.iter(DSIG))
    ctx = xmlsec.SignatureContext()
    ctx.key = key
    ctx.verify(signature)


def main(argv: list[str] | None = None) -> int:
    """Build a PKI, sign two documents, time three verifiers, write JSON."""
    args = argv if argv is not None else sys.argv[1:]
    out = Path(args[args.index("--out") + 1]) if "--out" in args else RESULTS
    configure_logging("warning")
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as owned:
        pki = build_test_pki(Path(tmp) / "pki")
        issued = pki.agency_rsa2048
        trust = TrustStore.from_directory(pki.trust_dir)
        ours_verifier = owned.enter_context(Verifier(trust))
        spki = issued.cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        # the bare public key: libxmlsec1 copies a certificate-bearing key ~90 µs slower per call
        pinned = xmlsec.Key.from_memory(spki, xmlsec.constants.KeyDataFormatDer)
        signxml: Any = None
        signxml_verifier: Any = None
        try:
            signxml = importlib.import_module("signxml")  # optional: the library comparison
            signxml_verifier = signxml.XMLVerifier()
        except ImportError:
            pass
        cert_pem = issued.cert_path.read_text()
        rows = []
        for label, size in SIZES.items():
            data = _signed_of_size(issued, pki, size)
            report = ours_verifier.verify(data)
            assert report.valid, report
            budget = 3.0 if size < 100_000 else 4.0

            def run_ours(data: bytes = data) -> None:
                ours_verifier.verify(data)

            def run_ceiling(data: bytes = data) -> None:
                bare_xmlsec(data, pinned)

            ours = best_seconds(run_ours, budget)
            ceiling = best_seconds(run_ceiling, budget)
            row = {
                "document": label,
                "bytes": len(data),
                "ours_ms": round(ours * 1000, 3),
                "ours_per_s": round(1 / ours, 1),
                "ceiling_ms": round(ceiling * 1000, 3),
                "ceiling_per_s": round(1 / ceiling, 1),
                "ours_vs_ceiling": round(ceiling / ours, 3),
            }
            if signxml_verifier is not None:
                verifier = signxml_verifier

                def run_signxml(data: bytes = data, verifier: Any = verifier) -> None:
                    verifier.verify(
                        data,
                        x509_cert=cert_pem,
                        validate_schema=False,
                        expect_config=signxml.SignatureConfiguration(location=".//"),
                    )

                try:
                    run_signxml()
                    row["signxml_ms"] = round(best_seconds(run_signxml, budget) * 1000, 3)
                except Exception as exc:
                    row["signxml_error"] = f"{type(exc).__name__}: {exc}"[:200]
            rows.append(row)
        validator = ours_verifier.validator
        assert validator is not None
        cache = {"hits": validator.hits, "misses": validator.misses}
    result = {
        "benchmark": "signing.Verifier whole pipeline vs bare libxmlsec1 (pinned key)",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(),
        "libxmlsec1": ".".join(map(str, getattr(xmlsec, "get_libxmlsec_version")())),  # noqa: B009
        "signer": 'RSA-2048, rsa-sha256, exc-c14n, URI="" enveloped, leaf + sub-CA in KeyInfo',
        "path_validation_cache": cache,
        "aim": "ours >= 0.70 of the ceiling; 20 KB in under 1 ms on one core",
        "rows": rows,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(
        f"{'document':<8} {'bytes':>9} {'ours ms':>9} {'ceiling ms':>11} {'ratio':>6} {'signxml ms':>11}"
    )
    for r in rows:
        print(
            f"{r['document']:<8} {r['bytes']:>9} {r['ours_ms']:>9} {r['ceiling_ms']:>11} "
            f"{r['ours_vs_ceiling']:>6} {r.get('signxml_ms', '-'):>11}"
        )
    print(f"written to {out}")
    return 0


def _signed_of_size(issued: Any, pki: Any, size: int) -> bytes:
    """A signed sample edXML document of about ``size`` bytes."""
    from edxml.xmlsafe import parse_xml
    from signing import sign

    tree = parse_xml(sample_edxml_of_size(size))
    sign(tree, issued.key, [issued.cert, pki.sub_ca.cert])
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


if __name__ == "__main__":
    sys.exit(main())
