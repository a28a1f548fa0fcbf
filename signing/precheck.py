"""Step 3 of the verification order: read SignedInfo and refuse what the policy does not allow.

Nothing cryptographic runs before this: the algorithms, transforms, reference URIs and KeyInfo
shape are checked against allow-lists first, so a hostile SignedInfo (XSLT, XPath, 40 references,
HMAC keyed with the public key, a RetrievalMethod fetch) is refused by a table lookup and never
reaches libxmlsec1 (SIGNATURES.md A8/A9, Santuario "secure validation" limits). The only URIs
accepted are ``""``, ``#id`` and, for edXML, ``cid:<content id>`` without transforms (the
attachment's raw bytes, served by :mod:`signing.cid`; whether that attachment exists is decided
with the other reference targets in :mod:`signing.coverage`).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from functools import lru_cache

from lxml import etree

from signing import algorithms as alg
from signing.algorithms import DSIG_NS
from signing.policy import SignaturePolicy
from signing.report import ReasonCode

_ID_URI = re.compile(r"^#[\w.\-]+$")
#: ``cid:<content id>`` (Bkav SDK attachment references, edXML only); no ``%``-escapes, no ``/``:
#: the URI is matched byte for byte against the document's attachments (signing.cid).
_CID_URI = re.compile(r"^[cC][iI][dD]:[\w.\-@+=~]+$")
_HMAC_MARK = "hmac-"


class SignatureRefusedError(Exception):
    """A finding that makes one signature invalid: a reason code, a message, a location."""

    def __init__(self, reason: ReasonCode, message: str, location: str = "") -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
        self.location = location


class SignatureAbsentError(Exception):
    """The signature element is a placeholder or carries dummy values: absent, not forged."""


@dataclass(frozen=True, slots=True)
class ReferenceFacts:
    """One Reference as read from SignedInfo."""

    uri: str
    transforms: tuple[str, ...]
    digest_method: str
    element: etree._Element


@dataclass(frozen=True, slots=True)
class SignedInfoFacts:
    """What SignedInfo declares, after the allow-list checks passed."""

    c14n_method: str
    signature_method: str
    references: tuple[ReferenceFacts, ...]
    legacy_sha1: bool


_DS = f"{{{DSIG_NS}}}"
_SIGNED_INFO = _DS + "SignedInfo"
_REFERENCE = _DS + "Reference"
_DIGEST_VALUE = _DS + "DigestValue"
_SIGNATURE_VALUE = _DS + "SignatureValue"
_KEY_INFO = _DS + "KeyInfo"
_C14N_METHOD = _DS + "CanonicalizationMethod"
_SIGNATURE_METHOD = _DS + "SignatureMethod"
_TRANSFORMS = _DS + "Transforms"
_TRANSFORM = _DS + "Transform"
_DIGEST_METHOD = _DS + "DigestMethod"
_MANIFEST = _DS + "Manifest"
_FORBIDDEN_KEY_INFO = ("{*}RetrievalMethod", "{*}KeyInfoReference")

# Tree walks below use lxml's C-level ``iterchildren``/``iter`` with a tag filter rather than
# ``find``/``findall`` path strings, which lxml evaluates in Python (ElementPath) on every call.


def _first_by_tag(children: list[etree._Element]) -> dict[object, etree._Element]:
    """The first child of each tag, from one pass (XML-DSig parents hold a handful of children,
    where a plain scan is cheaper than one tag-filtered lxml iterator per name)."""
    first: dict[object, etree._Element] = {}
    for child in children:
        first.setdefault(child.tag, child)
    return first


def _text(element: etree._Element | None) -> str:
    if element is None:
        return ""
    if not len(element):  # no children, comments or PIs: the text is all there is
        return (element.text or "").strip()
    return "".join(str(t) for t in element.itertext()).strip()


@lru_cache(maxsize=64)
def _allowed_methods(
    methods: frozenset[str], allow_sha1: bool, legacy: frozenset[str]
) -> frozenset[str]:
    """The allow-list with the legacy SHA-1 URIs when allowed (a union computed once)."""
    return methods | legacy if allow_sha1 else methods


def _b64(text: str) -> bytes | None:
    compact = "".join(text.split())
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None


def check_not_dummy(
    signature: etree._Element, children: list[etree._Element] | None = None
) -> None:
    """Raise :class:`SignatureAbsentError` for an empty or dummy signature (real producers do).

    Dummy means: no SignatureValue text, a value made of one repeated character (``AAAA…``), or
    no digest values and no key material at all. Garbled or truncated base64 is *not* dummy:
    that is reported as a malformed signature, so a broken signature can never pass as "absent"
    under ``verify-if-present``. ``children`` is ``list(signature)`` when the caller has it.
    """
    if children is None:
        children = list(signature)
    first = _first_by_tag(children)
    value_el = first.get(_SIGNATURE_VALUE)
    value = (value_el.text or "") if value_el is not None else ""
    compact = "".join(value.split()).rstrip("=")
    if not compact or (len(set(compact[:64])) == 1 and len(set(compact)) == 1):
        raise SignatureAbsentError("the signature value is empty or a dummy")
    for signed_info in children:
        if signed_info.tag != _SIGNED_INFO:
            continue
        for reference in signed_info:
            if reference.tag != _REFERENCE:
                continue
            for digest in reference:
                if digest.tag == _DIGEST_VALUE and (digest.text or "").strip():
                    return
    key_info = first.get(_KEY_INFO)
    if key_info is None or not _text(key_info):
        raise SignatureAbsentError("the signature carries no digests and no key")


def _check_algorithm(uri: str, allowed: frozenset[str], what: str, location: str) -> None:
    if _HMAC_MARK in uri.lower():
        raise SignatureRefusedError(
            ReasonCode.HMAC_FORBIDDEN, f"{what} {uri} is an HMAC: never accepted", location
        )
    if uri in allowed:
        return
    if uri in alg.SHA1_URIS:
        raise SignatureRefusedError(
            ReasonCode.SHA1_FORBIDDEN, f"{what} {uri} uses SHA-1, not allowed by policy", location
        )
    raise SignatureRefusedError(
        ReasonCode.ALGORITHM_FORBIDDEN, f"{what} {uri} is not on the policy's allow-list", location
    )


def precheck(
    signature: etree._Element,
    policy: SignaturePolicy,
    where: str,
    nodes: list[etree._Element] | None = None,
) -> SignedInfoFacts:
    """Check the shape and algorithms of one ``ds:Signature``; return what SignedInfo declares.

    ``nodes`` is ``list(signature)`` when the caller has it (every child node, comments too).
    """
    children = [c for c in (list(signature) if nodes is None else nodes) if isinstance(c.tag, str)]
    names = [c.tag.rpartition("}")[2] for c in children]
    if names[:2] != ["SignedInfo", "SignatureValue"] or names.count("SignedInfo") != 1:
        raise SignatureRefusedError(
            ReasonCode.MALFORMED, "Signature must start with SignedInfo then SignatureValue", where
        )
    signed_info = children[0]
    first = _first_by_tag(children)
    value = _b64(_text(children[1]))
    if not value:
        raise SignatureRefusedError(ReasonCode.MALFORMED, "SignatureValue is not base64", where)

    info_children = list(signed_info)
    info_first = _first_by_tag(info_children)
    c14n_el = info_first.get(_C14N_METHOD)
    method_el = info_first.get(_SIGNATURE_METHOD)
    if c14n_el is None or method_el is None:
        raise SignatureRefusedError(
            ReasonCode.MALFORMED, "SignedInfo lacks CanonicalizationMethod/SignatureMethod", where
        )
    c14n = c14n_el.get("Algorithm", "")
    if c14n not in alg.C14N_METHODS or c14n not in policy.c14n_methods:
        raise SignatureRefusedError(
            ReasonCode.C14N_FORBIDDEN, f"canonicalisation {c14n!r} is not allowed", where
        )
    signature_method = method_el.get("Algorithm", "")
    if len(method_el):
        raise SignatureRefusedError(
            ReasonCode.ALGORITHM_FORBIDDEN, "SignatureMethod parameters (HMACOutputLength)", where
        )
    allowed_signature_methods = _allowed_methods(
        policy.signature_methods, policy.allow_sha1, alg.LEGACY_SHA1_SIGNATURE_METHODS
    )
    _check_algorithm(signature_method, allowed_signature_methods, "SignatureMethod", where)

    reference_elements = [c for c in info_children if c.tag == _REFERENCE]
    if not reference_elements:
        raise SignatureRefusedError(ReasonCode.MALFORMED, "SignedInfo holds no Reference", where)
    if len(reference_elements) > policy.max_references:
        raise SignatureRefusedError(
            ReasonCode.TOO_MANY_REFERENCES,
            f"{len(reference_elements)} references exceed the limit of {policy.max_references}",
            where,
        )
    allowed_digest_methods = _allowed_methods(
        policy.digest_methods, policy.allow_sha1, alg.LEGACY_SHA1_DIGEST_METHODS
    )
    references: list[ReferenceFacts] = []
    cid_allowed = policy.profile.references == "edxml"
    for index, ref in enumerate(reference_elements, start=1):
        uri = ref.get("URI")
        ref_where = f"{where}/SignedInfo/Reference[{index}]"
        cid = (
            cid_allowed
            and uri is not None
            and uri[:1] in ("c", "C")
            and _CID_URI.match(uri) is not None
        )
        if uri is None or (uri != "" and not cid and not _ID_URI.match(uri)):
            also = ', "cid:<content id>"' if cid_allowed else ""
            raise SignatureRefusedError(
                ReasonCode.REFERENCE_URI,
                f'Reference URI {uri!r}: only "", same-document "#id"{also} are accepted',
                ref_where,
            )
        transforms: list[str] = []
        ref_first = _first_by_tag(list(ref))
        transforms_el = ref_first.get(_TRANSFORMS)
        if cid and transforms_el is not None:
            # the referenced data is the attachment's raw bytes (already base64-decoded): no
            # transform applies to octets that are not XML, and a second base64 would be wrong
            raise SignatureRefusedError(
                ReasonCode.TRANSFORM_FORBIDDEN,
                f"Reference {uri} to an attachment's raw bytes takes no transforms",
                ref_where,
            )
        if transforms_el is not None:
            transform_elements = [t for t in transforms_el if t.tag == _TRANSFORM]
            if len(transform_elements) > policy.max_transforms:
                raise SignatureRefusedError(
                    ReasonCode.TOO_MANY_TRANSFORMS,
                    f"{len(transform_elements)} transforms exceed {policy.max_transforms}",
                    ref_where,
                )
            for transform in transform_elements:
                t_uri = transform.get("Algorithm", "")
                if t_uri not in alg.REFERENCE_TRANSFORMS or (
                    t_uri in alg.C14N_METHODS and t_uri not in policy.c14n_methods
                ):
                    raise SignatureRefusedError(
                        ReasonCode.TRANSFORM_FORBIDDEN,
                        f"transform {t_uri!r} is not allowed",
                        ref_where,
                    )
                if len(transform) and t_uri not in (alg.EXC_C14N, alg.EXC_C14N_COMMENTS):
                    raise SignatureRefusedError(
                        ReasonCode.TRANSFORM_FORBIDDEN,
                        f"transform {t_uri!r} has parameters",
                        ref_where,
                    )
                transforms.append(t_uri)
        digest_el = ref_first.get(_DIGEST_METHOD)
        digest = digest_el.get("Algorithm", "") if digest_el is not None else ""
        _check_algorithm(digest, allowed_digest_methods, "DigestMethod", ref_where)
        if _b64(_text(ref_first.get(_DIGEST_VALUE))) is None:
            raise SignatureRefusedError(
                ReasonCode.MALFORMED, "DigestValue is not base64", ref_where
            )
        references.append(ReferenceFacts(uri, tuple(transforms), digest, ref))

    if next(signature.iter(_MANIFEST), None) is not None:  # the Signature itself is no Manifest
        raise SignatureRefusedError(
            ReasonCode.REFERENCE_URI, "Manifest references are not followed", where
        )
    key_info = first.get(_KEY_INFO)
    # one C-level walk finds either; a second only when one is there, to name RetrievalMethod
    # first as before
    if key_info is not None and next(key_info.iter(*_FORBIDDEN_KEY_INFO), None) is not None:
        for forbidden in ("RetrievalMethod", "KeyInfoReference"):
            if next(key_info.iter("{*}" + forbidden), None) is not None:
                raise SignatureRefusedError(
                    ReasonCode.KEY_INFO, f"KeyInfo/{forbidden} is never followed", where
                )
    legacy = signature_method in alg.SHA1_URIS or any(
        r.digest_method in alg.SHA1_URIS for r in references
    )
    return SignedInfoFacts(c14n, signature_method, tuple(references), legacy)
