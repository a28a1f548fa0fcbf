"""The one place that calls libxmlsec1 (python-xmlsec) to check a signature: C14N, digests, crypto.

Why libxmlsec1 and not signxml: measured in SIGNATURES.md §0.3/§3 and again by
``benchmarks/bench_signing.py`` — it verifies the Vietnamese default-namespace inclusive-C14N style
that signxml 5.2 gets wrong, refuses unlisted transforms instead of silently skipping them, and is
about twice as fast. It is used with the least authority: only the transforms the pre-check already
allowed are enabled, only the referenced IDs are registered, and the key is the one already chosen
(never looked up by libxmlsec1 in KeyInfo).

libxmlsec1 only says "Signature is invalid". To name *which* reference failed (the non-conformant
tax invoice must be refused "with the failing reference named") a copy of the signature is re-signed
with a throw-away HMAC key in libxmlsec1's own sign mode, which recomputes every DigestValue; the
first that differs is the failing reference. That runs only on failure, never on the fast path.
"""

from __future__ import annotations

import copy
import os
from functools import lru_cache
from typing import NoReturn

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from lxml import etree

from signing import algorithms as alg
from signing.algorithms import DSIG_NS
from signing.cid import serving
from signing.coverage import ResolvedReference
from signing.keyinfo import PublicKey
from signing.precheck import SignatureRefusedError, SignedInfoFacts
from signing.report import ReasonCode

_NS = {"ds": DSIG_NS}


@lru_cache(maxsize=256)
def _key_from_der(der: bytes, is_cert: bool) -> xmlsec.Key:
    fmt = xmlsec.constants.KeyDataFormatCertDer if is_cert else xmlsec.constants.KeyDataFormatDer
    return xmlsec.Key.from_memory(der, fmt)


def xmlsec_key(key: x509.Certificate | PublicKey) -> xmlsec.Key:
    """A libxmlsec1 public key for a certificate or bare public key (cached by the key's DER).

    Always the bare public key, never the certificate: libxmlsec1 copies the key into every
    context, and a key that carries its certificate costs ~90 µs to copy, a bare one ~1 µs.
    A verifier keeps the result per certificate (:class:`signing.certfacts.CertFactsCache`), so
    the DER export is paid once per signer, not per document.
    """
    public = key.public_key() if isinstance(key, x509.Certificate) else key
    return _key_from_der(_spki_der(public), False)


def _spki_der(public: PublicKeyTypes) -> bytes:
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _context(key: xmlsec.Key, facts: SignedInfoFacts) -> xmlsec.SignatureContext:
    ctx = xmlsec.SignatureContext()
    ctx.key = key
    ctx.enable_signature_transform(alg.TRANSFORMS[facts.c14n_method])
    ctx.enable_signature_transform(alg.TRANSFORMS[facts.signature_method])
    enabled: set[str] = set()
    for ref in facts.references:
        for uri in (*ref.transforms, ref.digest_method, alg.C14N_10):
            if uri not in enabled:
                ctx.enable_reference_transform(alg.TRANSFORMS[uri])
                enabled.add(uri)
    return ctx


def _register_id(ctx: xmlsec.SignatureContext, element: etree._Element, attribute: str) -> None:
    qname = etree.QName(attribute)
    if qname.namespace:
        ctx.register_id(element, qname.localname, qname.namespace)
    else:
        ctx.register_id(element, attribute)


def _register(ctx: xmlsec.SignatureContext, resolved: tuple[ResolvedReference, ...]) -> None:
    for ref in resolved:
        if ref.target is not None and ref.id_attribute is not None:
            _register_id(ctx, ref.target, ref.id_attribute)


def verify_with_key(
    signature: etree._Element,
    facts: SignedInfoFacts,
    resolved: tuple[ResolvedReference, ...],
    key: xmlsec.Key,
    where: str,
    *,
    signer: x509.Certificate | PublicKey | None = None,
) -> None:
    """Verify one signature with ``key``; raise :class:`SignatureRefusedError` saying why not.

    ``signer`` is the certificate (or bare key) ``key`` was made from: with it, a failure is said
    in words -- a signature method for another kind of key than the certificate's is
    ``sig.algorithm_key_mismatch`` (libxmlsec1 only says ``failed to verify``), and a value that
    does not verify names the key it was tried with. Both are worked out only on failure: the
    valid path pays nothing for them. ``cid:`` references read their attachment's bytes through
    :mod:`signing.cid`, offered to libxmlsec1 only for this call (the failing-reference re-sign
    included).
    """
    attachments = {r.facts.uri: r.content for r in resolved if r.content is not None}
    if not attachments:
        _verify(signature, facts, resolved, key, where, signer)
        return
    with serving(attachments):
        _verify(signature, facts, resolved, key, where, signer)


def _verify(
    signature: etree._Element,
    facts: SignedInfoFacts,
    resolved: tuple[ResolvedReference, ...],
    key: xmlsec.Key,
    where: str,
    signer: x509.Certificate | PublicKey | None,
) -> None:
    try:
        ctx = _context(key, facts)
        _register(ctx, resolved)
        ctx.verify(signature)
    except xmlsec.Error as exc:
        _explain(exc, signature, facts, resolved, where, signer)


def _explain(
    exc: xmlsec.Error,
    signature: etree._Element,
    facts: SignedInfoFacts,
    resolved: tuple[ResolvedReference, ...],
    where: str,
    signer: x509.Certificate | PublicKey | None,
) -> NoReturn:
    """Raise the refusal that says why libxmlsec1 refused: the wrong kind of key, the failing
    reference, a wrong value, or a signature it could not process."""
    mismatch = alg.key_mismatch(facts.signature_method, signer) if signer is not None else None
    if mismatch is not None:
        raise SignatureRefusedError(
            ReasonCode.ALGORITHM_KEY_MISMATCH, mismatch, f"{where}/SignedInfo/SignatureMethod"
        ) from None
    if isinstance(exc, xmlsec.VerificationError):
        failed = failing_reference(signature, resolved)
        if failed is not None:
            raise SignatureRefusedError(
                ReasonCode.DIGEST_MISMATCH,
                f"the digest of Reference URI={failed!r} does not match the content",
                f"{where}/SignedInfo/Reference[@URI={failed!r}]",
            ) from None
        whose = (
            f"the signer certificate's {alg.describe_key(signer)}" if signer else "the signer's key"
        )
        raise SignatureRefusedError(
            ReasonCode.SIGNATURE_INVALID,
            f"SignatureValue does not verify with {whose} over SignedInfo: the signature was "
            f"made with another key, or SignedInfo was changed after signing",
            f"{where}/SignatureValue",
        ) from None
    method = alg.short_name(facts.signature_method)
    tried = f" with the signer certificate's {alg.describe_key(signer)}" if signer else ""
    raise SignatureRefusedError(
        ReasonCode.MALFORMED,
        f"libxmlsec1 could not check the {method} signature{tried} ({exc.args[-1]!s})",
        where,
    ) from None


def _indices(element: etree._Element) -> list[int]:
    """Child positions from the root down to ``element`` (stable across a deep copy)."""
    steps: list[int] = []
    node = element
    parent = node.getparent()
    while parent is not None:
        steps.append(parent.index(node))
        node, parent = parent, parent.getparent()
    return steps[::-1]


def _follow(root: etree._Element, steps: list[int]) -> etree._Element:
    node = root
    for step in steps:
        node = node[step]
    return node


def failing_reference(
    signature: etree._Element, resolved: tuple[ResolvedReference, ...]
) -> str | None:
    """The URI of the first reference whose recomputed digest differs, ``None`` if all match."""
    root = signature.getroottree().getroot()
    doc_copy = copy.deepcopy(root)
    target_sig = _follow(doc_copy, _indices(signature))
    method = target_sig.find("ds:SignedInfo/ds:SignatureMethod", _NS)
    if method is None:
        return None
    method.set("Algorithm", alg.HMAC_SHA256)
    ctx = xmlsec.SignatureContext()
    ctx.key = xmlsec.Key.from_binary_data(xmlsec.constants.KeyDataHmac, os.urandom(32))
    try:
        for ref in resolved:
            if ref.target is not None and ref.id_attribute is not None:
                _register_id(ctx, _follow(doc_copy, _indices(ref.target)), ref.id_attribute)
        ctx.sign(target_sig)
    except xmlsec.Error:
        return None
    originals = signature.findall("ds:SignedInfo/ds:Reference", _NS)
    recomputed = target_sig.findall("ds:SignedInfo/ds:Reference", _NS)
    for old, new in zip(originals, recomputed, strict=False):
        old_value = "".join(old.findtext("ds:DigestValue", "", _NS).split())
        new_value = "".join(new.findtext("ds:DigestValue", "", _NS).split())
        if old_value != new_value:
            return old.get("URI", "")
    return None
