"""Step 3 of the verification order: read SignedInfo and refuse what the policy does not allow.

Nothing cryptographic runs before this: the algorithms, transforms, reference URIs and KeyInfo
shape are checked against allow-lists first, so a hostile SignedInfo (XSLT, XPath, 40 references,
HMAC keyed with the public key, a RetrievalMethod fetch) is refused by a table lookup and never
reaches libxmlsec1 (SIGNATURES.md A8/A9, Santuario "secure validation" limits).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from lxml import etree

from signing import algorithms as alg
from signing.algorithms import DSIG_NS
from signing.policy import SignaturePolicy
from signing.report import ReasonCode

_ID_URI = re.compile(r"^#[\w.\-]+$")
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
_DIGEST_VALUES = f"{_DS}SignedInfo/{_DS}Reference/{_DS}DigestValue"


def _child(parent: etree._Element, name: str) -> etree._Element | None:
    return next(parent.iterchildren(_DS + name), None)


def _text(element: etree._Element | None) -> str:
    return "".join(str(t) for t in element.itertext()).strip() if element is not None else ""


def _b64(text: str) -> bytes | None:
    compact = "".join(text.split())
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None


def check_not_dummy(signature: etree._Element) -> None:
    """Raise :class:`SignatureAbsentError` for an empty or dummy signature (real producers do).

    Dummy means: no SignatureValue text, a value made of one repeated character (``AAAA…``), or
    no digest values and no key material at all. Garbled or truncated base64 is *not* dummy:
    that is reported as a malformed signature, so a broken signature can never pass as "absent"
    under ``verify-if-present``.
    """
    value_el = signature.find(_DS + "SignatureValue")
    value = (value_el.text or "") if value_el is not None else ""
    compact = "".join(value.split()).rstrip("=")
    if not compact or (len(set(compact[:64])) == 1 and len(set(compact)) == 1):
        raise SignatureAbsentError("the signature value is empty or a dummy")
    if any((d.text or "").strip() for d in signature.iterfind(_DIGEST_VALUES)):
        return
    key_info = signature.find(_DS + "KeyInfo")
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


def precheck(signature: etree._Element, policy: SignaturePolicy, where: str) -> SignedInfoFacts:
    """Check the shape and algorithms of one ``ds:Signature``; return what SignedInfo declares."""
    children = [c for c in signature if isinstance(c.tag, str)]
    names = [etree.QName(c).localname for c in children]
    if names[:2] != ["SignedInfo", "SignatureValue"] or names.count("SignedInfo") != 1:
        raise SignatureRefusedError(
            ReasonCode.MALFORMED, "Signature must start with SignedInfo then SignatureValue", where
        )
    signed_info = children[0]
    value = _b64(_text(children[1]))
    if not value:
        raise SignatureRefusedError(ReasonCode.MALFORMED, "SignatureValue is not base64", where)

    c14n_el = _child(signed_info, "CanonicalizationMethod")
    method_el = _child(signed_info, "SignatureMethod")
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
    _check_algorithm(signature_method, policy.allowed_signature_methods, "SignatureMethod", where)

    reference_elements = signed_info.findall(_DS + "Reference")
    if not reference_elements:
        raise SignatureRefusedError(ReasonCode.MALFORMED, "SignedInfo holds no Reference", where)
    if len(reference_elements) > policy.max_references:
        raise SignatureRefusedError(
            ReasonCode.TOO_MANY_REFERENCES,
            f"{len(reference_elements)} references exceed the limit of {policy.max_references}",
            where,
        )
    references: list[ReferenceFacts] = []
    for index, ref in enumerate(reference_elements, start=1):
        uri = ref.get("URI")
        ref_where = f"{where}/SignedInfo/Reference[{index}]"
        if uri is None or (uri != "" and not _ID_URI.match(uri)):
            raise SignatureRefusedError(
                ReasonCode.REFERENCE_URI,
                f'Reference URI {uri!r}: only "" and same-document "#id" are accepted',
                ref_where,
            )
        transforms: list[str] = []
        transforms_el = _child(ref, "Transforms")
        if transforms_el is not None:
            transform_elements = transforms_el.findall(_DS + "Transform")
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
        digest_el = _child(ref, "DigestMethod")
        digest = digest_el.get("Algorithm", "") if digest_el is not None else ""
        _check_algorithm(digest, policy.allowed_digest_methods, "DigestMethod", ref_where)
        if _b64(_text(_child(ref, "DigestValue"))) is None:
            raise SignatureRefusedError(
                ReasonCode.MALFORMED, "DigestValue is not base64", ref_where
            )
        references.append(ReferenceFacts(uri, tuple(transforms), digest, ref))

    if signature.find(".//{http://www.w3.org/2000/09/xmldsig#}Manifest") is not None:
        raise SignatureRefusedError(
            ReasonCode.REFERENCE_URI, "Manifest references are not followed", where
        )
    key_info = _child(signature, "KeyInfo")
    if key_info is not None:
        for forbidden in ("RetrievalMethod", "KeyInfoReference"):
            if key_info.find(f".//{{*}}{forbidden}") is not None:
                raise SignatureRefusedError(
                    ReasonCode.KEY_INFO, f"KeyInfo/{forbidden} is never followed", where
                )
    legacy = signature_method in alg.SHA1_URIS or any(
        r.digest_method in alg.SHA1_URIS for r in references
    )
    return SignedInfoFacts(c14n, signature_method, tuple(references), legacy)
