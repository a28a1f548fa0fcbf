"""Where signatures may be, per document profile, and finding them there and nowhere else.

Step 2 of the verification order (SIGNATURES.md §4.3): a verifier that takes "the first Signature
anywhere" (signxml's default ``.//``) verifies an attacker's signature placed elsewhere (A4). A
profile pins the parent paths a signature may sit under and how many there may be; any XML-DSig
``Signature`` element outside those paths makes the document invalid, it is never skipped.

Profiles are data, not code paths: ``EDXML`` (the default: last child of ``edXMLHeader``),
``TAX_MESSAGE`` (the tax authority's ``DSCKS/<party>/Signature`` and root-level enveloped
signatures), and ``ANYWHERE`` (conformance vectors only; never for traffic).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from lxml import etree

from edxml.names import EDXML_NS, local_name
from signing.algorithms import DSIG_NS

ReferenceRule = Literal["edxml", "tax", "any"]

_DSIG_SIGNATURE = f"{{{DSIG_NS}}}Signature"


@dataclass(frozen=True, slots=True)
class SignatureProfile:
    """Where signatures of one kind of document live and what they may reference.

    ``parent_paths``: absolute local-name paths (root first) of allowed parents; an entry ending in
    ``"*"`` matches any element name at that level; ``any_depth_suffixes``: parent path endings
    allowed at any depth (the tax ``DSCKS/<party>``). ``placeholders``: local names that mark an
    intentionally absent signature (edXML's empty ``DigitalSignature``). ``sender_path``: where
    the sending agency's code is, for signer-to-sender binding.
    """

    name: str
    root_namespace: str | None
    parent_paths: tuple[tuple[str, ...], ...]
    any_depth_suffixes: tuple[tuple[str, ...], ...] = ()
    max_signatures: int = 1
    placeholders: tuple[str, ...] = ()
    references: ReferenceRule = "edxml"
    sender_path: tuple[str, ...] | None = None
    anywhere: bool = False


EDXML = SignatureProfile(
    name="edxml",
    root_namespace=EDXML_NS,
    parent_paths=(("edXML", "edXMLEnvelope", "edXMLHeader"),),
    max_signatures=1,
    placeholders=("DigitalSignature",),
    references="edxml",
    sender_path=("edXML", "edXMLEnvelope", "edXMLHeader", "MessageHeader", "From", "OrganId"),
)

_TAX_PARTIES = ("NBan", "NMua", "CQT", "TTCQT", "CCKSKhac")

TAX_MESSAGE = SignatureProfile(
    name="tax-message",
    root_namespace=None,
    parent_paths=(("*",),),
    any_depth_suffixes=(*(("DSCKS", party) for party in _TAX_PARTIES), ("CCKSKhac",)),
    max_signatures=8,
    references="tax",
)

ANYWHERE = SignatureProfile(
    name="anywhere",
    root_namespace=None,
    parent_paths=(),
    max_signatures=4,
    references="any",
    anywhere=True,
)

PROFILES: dict[str, SignatureProfile] = {p.name: p for p in (EDXML, TAX_MESSAGE, ANYWHERE)}


@dataclass(frozen=True, slots=True)
class Located:
    """The outcome of locating: signatures at allowed places, placeholders, misplaced ones."""

    signatures: tuple[etree._Element, ...]
    placeholders: tuple[etree._Element, ...]
    misplaced: tuple[etree._Element, ...]
    wrong_namespace: tuple[etree._Element, ...]
    #: repeated elements on a pinned path (a second ``edXMLEnvelope``: the wrapping shape)
    ambiguous: tuple[etree._Element, ...] = ()


def element_path(element: etree._Element) -> str:
    """``/edXML/edXMLEnvelope/edXMLHeader/Signature``: local names, ``[n]`` for repeats."""
    parts: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        name = local_name(node.tag)
        parent = node.getparent()
        if parent is not None:
            same = [c for c in parent if c.tag == node.tag]
            if len(same) > 1:
                name = f"{name}[{same.index(node) + 1}]"
        parts.append(name)
        node = parent
    return "/" + "/".join(reversed(parts))


def _names(element: etree._Element) -> tuple[str, ...]:
    names: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        names.append(local_name(node.tag))
        node = node.getparent()
    return tuple(reversed(names))


def _parent_allowed(profile: SignatureProfile, parent: etree._Element) -> bool:
    names = _names(parent)
    for allowed in profile.parent_paths:
        if len(allowed) == len(names) and all(
            a in ("*", n) for a, n in zip(allowed, names, strict=True)
        ):
            return True
    return any(names[-len(suffix) :] == suffix for suffix in profile.any_depth_suffixes)


def _inside_signature(element: etree._Element) -> bool:
    return any(a.tag == _DSIG_SIGNATURE for a in element.iterancestors())


def _all_signatures(root: etree._Element) -> Iterator[etree._Element]:
    for element in root.iter(_DSIG_SIGNATURE):
        if not _inside_signature(element):
            yield element


def locate(root: etree._Element, profile: SignatureProfile) -> Located:
    """All signatures of ``root`` sorted into allowed / misplaced, plus placeholders.

    Every XML-DSig ``Signature`` in the document is looked at (not only those at the expected
    path), because one at another place is either an attack or a producer error, and both must
    be refused rather than ignored.
    """
    signatures: list[etree._Element] = []
    misplaced: list[etree._Element] = []
    for element in _all_signatures(root):
        parent = element.getparent()
        if profile.anywhere or (parent is not None and _parent_allowed(profile, parent)):
            signatures.append(element)
        else:
            misplaced.append(element)
    placeholders: list[etree._Element] = []
    wrong_ns: list[etree._Element] = []
    ambiguous: list[etree._Element] = []
    for allowed in profile.parent_paths:
        if "*" in allowed or not allowed or local_name(root.tag) != allowed[0]:
            continue
        holder: etree._Element | None = root
        for name in allowed[1:]:
            if holder is None:
                break
            matches = [c for c in holder if isinstance(c.tag, str) and local_name(c.tag) == name]
            if len(matches) > 1:
                ambiguous.extend(matches[1:])
            holder = matches[0] if matches else None
        if holder is None:
            continue
        for child in holder:
            name = local_name(child.tag)
            if name in profile.placeholders:
                placeholders.append(child)
            elif name == "Signature" and child.tag != _DSIG_SIGNATURE:
                wrong_ns.append(child)
    return Located(
        tuple(signatures), tuple(placeholders), tuple(misplaced), tuple(wrong_ns), tuple(ambiguous)
    )
