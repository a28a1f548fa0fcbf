"""XML-DSig verification and signing of edXML (and of the tax authority's signed messages).

Library choice: **python-xmlsec (libxmlsec1 1.3.9)**, not signxml. Why, measured:

* It verifies the real Vietnamese style (default ``xmlns`` of xmldsig, inclusive C14N 1.0, ``#Id``
  references plus a ``SigningTime`` object) out of the box; signxml 5.2 fails it through lxml's
  subtree-C14N ``xmlns=""`` bug and its schema check (SIGNATURES.md §0.3-0.4, §3.1). Both real
  tax-authority notices verify here (tests/test_signing_real_samples.py).
* It refuses transforms it was not told to enable (we enable only C14N and enveloped-signature);
  signxml silently skips unknown transforms (XPath/XSLT) — a hole, not a feature.
* Speed, measured by ``benchmarks/bench_signing.py`` on this 2-vCPU machine, one core
  (``benchmarks/results/signing.json``): our whole pipeline (hardened parse, location and
  allow-list checks, cached path validation, references, binding) verifies a 20 KB edXML in
  0.56 ms and a 1 MB one in 6.7 ms; signxml 5.2 with only a pinned certificate and no schema
  check takes 0.86 ms and 11.3 ms; bare libxmlsec1 with a pinned key (the ceiling) 0.33 / 6.0 ms.
* ``cid:`` references to attachments (the Bkav style) are resolved by libxmlsec1 itself through
  IO callbacks that serve only the attachments of the document being verified
  (:mod:`signing.cid`); libxmlsec1's own file/HTTP loaders are removed for the whole process, so
  no reference can read a file or the network.
* signxml's unsafe defaults (location ``.//``, certifi as trust store) are not in our path at all:
  location, allow-lists, reference targets, trust and sender binding are ours, in the order of
  SIGNATURES.md §4.3; libxmlsec1 only does C14N, digests and the signature check.

Certificate paths are pyhanko-certvalidator's job behind :class:`PathValidator` (SHA-1 G1 chains,
CRL/OCSP, validation at a past time), which cryptography's verifier cannot do.

State belongs to the application: a :class:`Verifier` (one per trust and policy, kept for the life
of the process) owns its path validator, its certificate caches and, for synchronous callers, its
event loop; :func:`verify` is a one-shot wrapper around it. Every error this package raises derives
from :class:`SigningError` (an :class:`edxml.CodedError`).
"""

from __future__ import annotations

from signing.certpath import PathPolicy, PathResult, PathValidator
from signing.errors import SigningError
from signing.locate import ANYWHERE, EDXML, PROFILES, TAX_MESSAGE, SignatureProfile
from signing.pinned import PinnedKeys
from signing.policy import (
    REVOCATION_MODES,
    SIGNATURE_MODES,
    RevocationMode,
    SignatureMode,
    SignaturePolicy,
)
from signing.report import ReasonCode, SignatureDetail, SignatureReport
from signing.revstatus import RevocationStatus
from signing.sign import SignatureTemplate, sign, signature_template
from signing.truststore import TrustStore
from signing.verifier import Trust, Verifier, path_policy_for, verify

__all__ = [
    "ANYWHERE",
    "EDXML",
    "PROFILES",
    "REVOCATION_MODES",
    "SIGNATURE_MODES",
    "TAX_MESSAGE",
    "PathPolicy",
    "PathResult",
    "PathValidator",
    "PinnedKeys",
    "ReasonCode",
    "RevocationMode",
    "RevocationStatus",
    "SignatureDetail",
    "SignatureMode",
    "SignaturePolicy",
    "SignatureProfile",
    "SignatureReport",
    "SignatureTemplate",
    "SigningError",
    "Trust",
    "TrustStore",
    "Verifier",
    "path_policy_for",
    "sign",
    "signature_template",
    "verify",
]
