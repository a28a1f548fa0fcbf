"""Step 6 of a verification: does a cryptographically sound signature meet the policy?

Two questions the signature itself cannot answer (SIGNATURES.md §4.3 step 6, A10): does it cover
the whole package (envelope and every attachment), and is its signer the sending agency the
envelope names? Kept apart from the run because they are pure functions of the tree, the
signature's resolved references and the signer's certificate facts -- nothing here depends on
the crypto outcome, which is why the run may evaluate them early and report them late.
"""

from __future__ import annotations

from functools import lru_cache

from lxml import etree

from signing.binding import IMPLICIT_LABEL, ambiguous_message, not_sender_message, signer_label
from signing.certfacts import CertFacts
from signing.coverage import CoverageFacts, ResolvedReference, covers_edxml_attachments
from signing.policy import SignaturePolicy
from signing.report import ReasonCode


def policy_refusal(
    policy: SignaturePolicy,
    signature: etree._Element,
    cover: CoverageFacts,
    resolved: tuple[ResolvedReference, ...],
    sender: etree._Element | None,
    signer: CertFacts | None,
) -> tuple[ReasonCode, str] | None:
    """Coverage and sender binding; ``None`` when the policy is met, else (reason, message)."""
    profile = policy.profile
    if (
        policy.require_full_coverage
        and profile.name == "edxml"
        and not covers_edxml_attachments(signature, cover)
    ):
        covered = ", ".join(cover.covered) or "nothing"
        return (
            ReasonCode.COVERAGE_INCOMPLETE,
            f"the signature covers {covered}, not the whole document with its attachments",
        )
    if not (policy.require_sender_binding and profile.sender_path is not None):
        return None
    code = (sender.text or "").strip() if sender is not None else ""
    if sender is None or not code:
        return ReasonCode.SIGNER_UNBOUND, "the document names no sender to bind to"
    if signer is None:
        return ReasonCode.SIGNER_UNBOUND, "no signer certificate to bind to the sender"
    if cover.coverage != "whole-document" and not _is_covered(sender, resolved):
        return ReasonCode.SIGNER_UNBOUND, "the sender element is not signed"
    label = signer_label(signer.subject, signer.sha256)
    if signer.codes.ambiguous:
        return ReasonCode.SIGNER_AMBIGUOUS, ambiguous_message(label, signer.codes)
    if not signer.agency_codes:
        return (
            ReasonCode.SIGNER_UNBOUND,
            f"the signer's certificate ({label}) names no agency code to bind to the sender "
            f"{code} (its subject has no UID {IMPLICIT_LABEL}<code>)",
        )
    if not signer.names_agency(code):
        bound = sorted(signer.agency_codes)
        return ReasonCode.SIGNER_NOT_SENDER, not_sender_message(label, bound, "its UID", code)
    return None


def find_path(root: etree._Element, path: tuple[str, ...]) -> etree._Element | None:
    """The element at ``path`` (local names, root first), all in the root's namespace.

    The first match in document order, as the absolute XPath ``/edXML/.../OrganId`` gives: the
    candidates of the last name come from one C-level walk in document order, and the first
    whose ancestors are exactly the path up to the document root is it (cheaper per document
    than evaluating an XPath or a Python depth-first walk).
    """
    tags = _path_tags(etree.QName(root).namespace, path)
    top = root.getroottree().getroot()
    if not tags or top.tag != tags[0]:
        return None
    if len(tags) == 1:
        return top
    parents = tags[-2::-1]  # the expected parent first, the root last
    for candidate in top.iter(tags[-1]):
        node = candidate.getparent()
        for tag in parents:
            if node is None or node.tag != tag:
                break
            node = node.getparent()
        else:
            if node is None:
                return candidate
    return None


@lru_cache(maxsize=64)
def _path_tags(namespace: str | None, path: tuple[str, ...]) -> tuple[str, ...]:
    prefix = f"{{{namespace}}}" if namespace else ""
    return tuple(prefix + name for name in path)


def _is_covered(element: etree._Element, resolved: tuple[ResolvedReference, ...]) -> bool:
    targets = {r.target for r in resolved}
    return element in targets or any(a in targets for a in element.iterancestors())
