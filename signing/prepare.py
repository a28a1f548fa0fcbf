"""Steps 2-3 of a verification run: find the signatures, pre-check them, resolve what they sign.

:func:`prepare_signatures` locates the signatures at the profile's pinned paths with exact counts
(:mod:`signing.locate`), pre-checks each SignedInfo against the policy's allow-lists
(:mod:`signing.precheck`), resolves its references to unique IDs at allowed places
(:mod:`signing.coverage`) and reads its KeyInfo: either a verdict already (the document is
refused, or carries no signature), or one :class:`Prepared` a signature, waiting for its
certificate path (step 4, :class:`signing.Verifier`) and its crypto (steps 5-6,
:mod:`signing.run`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import xmlsec
from lxml import etree

from signing.acceptance import find_path
from signing.certfacts import CertFacts, CertFactsCache
from signing.coverage import (
    CoverageFacts,
    ResolvedReference,
    comment_in_covered,
    coverage_of,
    id_index,
    resolve_references,
)
from signing.keyinfo import KeyMaterial, read_key_info
from signing.locate import element_path, locate
from signing.policy import SignaturePolicy
from signing.precheck import (
    SignatureAbsentError,
    SignatureRefusedError,
    SignedInfoFacts,
    check_not_dummy,
    precheck,
)
from signing.report import ReasonCode, SignatureReport
from signing.verdicts import absent as absent_report
from signing.verdicts import refused as refused_report


@dataclass(frozen=True, slots=True)
class Prepared:
    """One signature after steps 2-3, waiting for its certificate path (step 4)."""

    element: etree._Element
    where: str
    facts: SignedInfoFacts
    resolved: tuple[ResolvedReference, ...]
    keys: KeyMaterial
    cover: CoverageFacts
    claimed_signing_time: str | None
    signer: CertFacts | None  # the facts of keys.leaf


def _claimed_signing_time(signature: etree._Element) -> str | None:
    for element in signature.iter("{*}SigningTime"):
        return (element.text or "").strip() or None
    return None


def prepare_signatures(
    root: etree._Element, policy: SignaturePolicy, at: datetime, certs: CertFactsCache
) -> tuple[etree._Element | None, SignatureReport | list[Prepared]]:
    """Steps 2-3 for every signature of ``root``: the sender element (looked up when the policy
    binds signers to senders; ``None`` otherwise or when decided early) and either the
    document's verdict, when it is already decided, or the prepared signatures."""
    profile = policy.profile
    if profile.root_namespace is not None and etree.QName(root).namespace != profile.root_namespace:
        return None, refused_report(
            policy,
            ReasonCode.UNEXPECTED_LOCATION,
            f"the document root is not of the {profile.name} profile",
            element_path(root),
            at,
        )
    found = locate(root, profile)
    if found.misplaced:
        where = element_path(found.misplaced[0])
        return None, refused_report(
            policy,
            ReasonCode.UNEXPECTED_LOCATION,
            f"a Signature at {where} is outside the places the {profile.name} profile allows",
            where,
            at,
        )
    if found.ambiguous:
        where = element_path(found.ambiguous[0])
        return None, refused_report(
            policy,
            ReasonCode.UNEXPECTED_LOCATION,
            f"{where} repeats an element of the pinned signature path",
            where,
            at,
        )
    if found.wrong_namespace:
        where = element_path(found.wrong_namespace[0])
        if not "".join(str(t) for t in found.wrong_namespace[0].itertext()).strip():
            return None, absent_report(policy, "an empty Signature placeholder", where, at)
        return None, refused_report(
            policy,
            ReasonCode.WRONG_NAMESPACE,
            "a Signature outside the XML-DSig namespace cannot be verified",
            where,
            at,
        )
    if len(found.signatures) > profile.max_signatures:
        return None, refused_report(
            policy,
            ReasonCode.TOO_MANY,
            f"{len(found.signatures)} signatures; the {profile.name} profile allows "
            f"{profile.max_signatures}",
            element_path(found.signatures[-1]),
            at,
        )
    if not found.signatures:
        where = element_path(found.placeholders[0]) if found.placeholders else element_path(root)
        what = "an empty DigitalSignature placeholder" if found.placeholders else "no signature"
        return None, absent_report(policy, what, where, at)

    # the sender element is looked up now, while the tree is in cache (it is only *judged*
    # in step 6, after the crypto, so the order of refusals is unchanged)
    sender: etree._Element | None = None
    if policy.require_sender_binding and profile.sender_path is not None:
        sender = find_path(root, profile.sender_path)
    # the ID index (a walk over every element) is built only when a reference is "#id"
    ids: dict[str, list[tuple[etree._Element, str]]] | None = None
    prepared: list[Prepared] = []
    for element in found.signatures:
        where = element_path(element)
        children = list(element)  # read once for the dummy test, pre-check and KeyInfo
        try:
            check_not_dummy(element, children)
        except SignatureAbsentError as absent:
            if len(found.signatures) == 1:
                return None, absent_report(policy, str(absent), where, at)
            return None, refused_report(policy, ReasonCode.MALFORMED, str(absent), where, at)
        try:
            facts = precheck(element, policy, where, children)
            if ids is None and any(r.uri.startswith("#") for r in facts.references):
                ids = id_index(root)
            resolved = resolve_references(element, facts.references, ids or {}, profile)
            keys = read_key_info(element, where, children)
            comment = comment_in_covered(element, resolved) if policy.refuse_comments else None
            if comment is not None:
                raise SignatureRefusedError(
                    ReasonCode.COMMENT_IN_SIGNED_DATA,
                    "a comment or processing instruction inside signed content",
                    _path_of_node(comment, root),
                )
        except SignatureRefusedError as refused:
            return None, refused_report(
                policy, refused.reason, refused.message, refused.location, at
            )
        except (
            ValueError,
            TypeError,
            xmlsec.Error,
        ) as exc:  # hostile shapes we did not foresee
            return None, refused_report(
                policy, ReasonCode.MALFORMED, f"unreadable signature: {exc}", where, at
            )
        prepared.append(
            Prepared(
                element,
                where,
                facts,
                resolved,
                keys,
                coverage_of(element, resolved),
                _claimed_signing_time(element),
                certs.of(keys.leaf) if keys.leaf is not None else None,
            )
        )
    return sender, prepared


def _path_of_node(node: etree._Element, root: etree._Element) -> str:
    parent = node.getparent()
    return element_path(parent if parent is not None else root)
