"""What the axis accepts as a signature: one frozen dataclass, filled from the axis config.

Kept apart from the verifier so that the broker's configuration, the CLI flags and the tests all
speak the same vocabulary, and so a report can say which policy refused a document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

from lxml import etree

from edxml.names import EDXML_NS
from signing import algorithms as alg
from signing.locate import EDXML, TAX_MESSAGE, SignatureProfile

SignatureMode = Literal["require", "verify-if-present", "off"]
RevocationMode = Literal["hard-fail", "soft-fail", "off"]

#: The modes written once: the axis's configuration and the CLI take their choices from these.
SIGNATURE_MODES: tuple[str, ...] = get_args(SignatureMode)
REVOCATION_MODES: tuple[str, ...] = get_args(RevocationMode)


@dataclass(frozen=True, slots=True)
class SignaturePolicy:
    """The acceptance rules for signatures of one kind of document.

    * ``mode``: ``require`` (no signature -> invalid), ``verify-if-present`` (absent is fine,
      present must be valid), ``off`` (not looked at).
    * ``signature_methods`` / ``digest_methods`` / ``c14n_methods``: allow-lists of URIs; HMAC is
      never accepted whatever the list says (a public key must not become an HMAC secret).
    * ``allow_sha1``: accept SHA-1 signatures, digests and certificate chains (legacy VGCA G1 and
      tax signatures); every such signature is flagged ``legacy_sha1`` in the report.
    * ``revocation``: passed to the certificate path validator (``hard-fail``: revocation data
      must be obtained; ``soft-fail``: unavailable data is tolerated, a revoked status never is).
    * ``require_sender_binding``: the signer's certificate must name the sending agency's code
      (edXML ``From/OrganId``); see :mod:`signing.binding`.
    * ``refuse_comments``: a comment or processing instruction inside signed content is refused
      (C14N without comments ignores it, a naive reader may not: SIGNATURES.md A6).
    * ``require_full_coverage``: the signature must cover the whole document, attachments
      included (SIGNATURES.md A10); a partial signature is otherwise reported with its coverage.
    """

    mode: SignatureMode = "require"
    profile: SignatureProfile = EDXML
    signature_methods: frozenset[str] = alg.DEFAULT_SIGNATURE_METHODS
    digest_methods: frozenset[str] = alg.DEFAULT_DIGEST_METHODS
    c14n_methods: frozenset[str] = field(default=alg.C14N_METHODS)
    allow_sha1: bool = False
    revocation: RevocationMode = "soft-fail"
    require_sender_binding: bool = True
    require_full_coverage: bool = True
    refuse_comments: bool = True
    min_rsa_bits: int = 2048
    max_references: int = 30
    max_transforms: int = 5

    @property
    def allowed_signature_methods(self) -> frozenset[str]:
        """The signature-method allow-list including SHA-1 methods when ``allow_sha1``."""
        extra = alg.LEGACY_SHA1_SIGNATURE_METHODS if self.allow_sha1 else frozenset()
        return self.signature_methods | extra

    @property
    def allowed_digest_methods(self) -> frozenset[str]:
        """The digest allow-list including SHA-1 when ``allow_sha1``."""
        extra = alg.LEGACY_SHA1_DIGEST_METHODS if self.allow_sha1 else frozenset()
        return self.digest_methods | extra


def recognise_profile(root: etree._Element) -> SignatureProfile:
    """The profile a document's root element calls for: ``EDXML`` for an ``edXML`` root (in
    the edXML namespace, or -- so that the refusal says what is wrong -- in none), else
    ``TAX_MESSAGE`` (the tax authority's ``TDiep``, ``KetQuaTraCuu``, invoices..., whose
    signatures sit in ``DSCKS/<party>`` or at the root).

    For tools that take any signed document (``axis verify``); the intake is edXML-only and
    keeps its configured profile.
    """
    qname = etree.QName(root)
    if qname.namespace == EDXML_NS or (qname.namespace is None and qname.localname == "edXML"):
        return EDXML
    return TAX_MESSAGE
