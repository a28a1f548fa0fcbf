"""Public XML-DSig interoperability vectors (W3C merlin/phaos/2012, libxmlsec's own, others).

Runs every vector, writes the table (vector, expected, ours, reason) to the test's temporary
directory -- and to the committed ``benchmarks/results/xmldsig-interop.md`` only when
``AXIS_WRITE_RESULTS=1`` is set, so a test run never changes the checkout -- and asserts: every vector its suite marks valid and our
policy allows verifies; every broken one is refused; nothing crashes; every hostile-xml file is
refused in under a second.

The policy here is the *conformance* policy: trust is the key the vector carries (these are
decades-old test certificates, the question is whether the XML-DSig is right), SHA-1/SHA-224/DSA
and short RSA keys are allowed, comments are allowed. HMAC, XPath/XSLT/base64 transforms,
external/Manifest references, DTDs and RetrievalMethod stay refused, as in production.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from cryptography import x509

from axis.paths import PROJECT_ROOT
from signing import ANYWHERE, PinnedKeys, ReasonCode, SignaturePolicy, SignatureReport, verify
from signing import algorithms as alg
from tests.conftest import shared_path

pytestmark = pytest.mark.shared

CONFORMANCE = SignaturePolicy(
    profile=ANYWHERE,
    allow_sha1=True,
    signature_methods=alg.DEFAULT_SIGNATURE_METHODS
    | {alg.DSA_SHA1, alg.RSA_SHA224, alg.ECDSA_SHA224},
    digest_methods=alg.DEFAULT_DIGEST_METHODS | {alg.SHA224},
    min_rsa_bits=512,
    refuse_comments=False,
    require_sender_binding=False,
    require_full_coverage=False,
)
#: Refusals that are our policy's choice, not a verdict on the vector's cryptography.
POLICY_REFUSALS = frozenset(
    {
        ReasonCode.HMAC_FORBIDDEN,
        ReasonCode.SHA1_FORBIDDEN,
        ReasonCode.ALGORITHM_FORBIDDEN,
        ReasonCode.TRANSFORM_FORBIDDEN,
        ReasonCode.TOO_MANY_TRANSFORMS,
        ReasonCode.C14N_FORBIDDEN,
        ReasonCode.REFERENCE_URI,
        ReasonCode.KEY_INFO,
        ReasonCode.XML_REFUSED,
        ReasonCode.CERT_WEAK_KEY,
    }
)
BROKEN_MARKS = ("bad", "invalid", "changed content")
RESULTS = PROJECT_ROOT / "benchmarks" / "results" / "xmldsig-interop.md"


def _certificates(folder: Path) -> tuple[x509.Certificate, ...]:
    certs: list[x509.Certificate] = []
    for path in sorted(folder.rglob("*")):
        if path.suffix not in (".pem", ".crt", ".der") or "key" in path.name:
            continue
        data = path.read_bytes()
        try:
            if b"-----BEGIN CERTIFICATE" in data:
                certs.extend(x509.load_pem_x509_certificates(data))
            elif b"-----BEGIN" not in data:
                certs.append(x509.load_der_x509_certificate(data))
        except ValueError:
            continue
    return tuple(certs)


def _expected(path: Path) -> str:
    return "invalid" if any(m in path.name.lower() for m in BROKEN_MARKS) else "valid"


def _outcome(expected: str, report: SignatureReport) -> str:
    if expected == "valid":
        if report.valid:
            return "ok"
        return "refused by policy" if report.reason in POLICY_REFUSALS else "FAIL"
    return "ok" if not report.valid else "FAIL"


def _results_path(tmp_path: Path) -> Path:
    """Where the table goes: the checkout only on request (``AXIS_WRITE_RESULTS=1``)."""
    if os.environ.get("AXIS_WRITE_RESULTS") == "1":
        return RESULTS
    return tmp_path / RESULTS.name


def test_interop_vectors_table(tmp_path: Path) -> None:
    folder = shared_path("xmldsig-interop", "interop")
    trust = PinnedKeys(_certificates(folder), trust_document_keys=True)
    rows: list[tuple[str, str, str, str, str]] = []
    for path in sorted(folder.rglob("*.xml")):
        data = path.read_bytes()
        if b"Signature" not in data:
            continue  # a signed-over document of the suite, not a vector
        report = verify(data, trust=trust, policy=CONFORMANCE)  # must not raise
        expected = _expected(path)
        ours = report.status if report.status != "absent" else "invalid"
        rows.append(
            (
                str(path.relative_to(folder)),
                expected,
                ours,
                str(report.reason),
                _outcome(expected, report),
            )
        )
    verified = sum(1 for r in rows if r[2] == "valid")
    refused_by_policy = sum(1 for r in rows if r[4] == "refused by policy")
    failures = [r for r in rows if r[4] == "FAIL"]
    lines = [
        "# XML-DSig interoperability vectors",
        "",
        "Written by `tests/test_signing_interop.py` (conformance policy: the vector's own key,",
        "SHA-1/SHA-224/DSA and short RSA allowed; HMAC, XPath/XSLT/base64 transforms, external and",
        "Manifest references, DTDs and RetrievalMethod refused as in production).",
        "",
        f"{len(rows)} vectors: {verified} verified, {refused_by_policy} refused by policy, "
        f"{len(failures)} failures.",
        "",
        "| vector | expected | ours | reason | outcome |",
        "|---|---|---|---|---|",
        *(f"| {v} | {e} | {o} | `{r}` | {c} |" for v, e, o, r, c in rows),
        "",
    ]
    out = _results_path(tmp_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")
    assert not failures, failures
    assert verified >= 40  # a policy that refused everything would pass the line above
    assert any(r[1] == "invalid" for r in rows)


def test_every_hostile_xml_file_is_refused_within_a_second() -> None:
    folder = shared_path("xmldsig-interop", "hostile-xml")
    files = sorted(folder.glob("*.xml"))
    assert files
    for path in files:
        started = time.perf_counter()
        report = verify(
            path.read_bytes(),
            trust=PinnedKeys(trust_document_keys=True),
            policy=SignaturePolicy(profile=ANYWHERE),
        )
        elapsed = time.perf_counter() - started
        assert not report.valid, path.name
        assert elapsed < 1.0, f"{path.name} took {elapsed:.3f} s"
        if b"<!DOCTYPE" in path.read_bytes():
            assert report.reason is ReasonCode.XML_REFUSED, path.name
