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


_SCAN_SIBLINGS = 16


def element_path(element: etree._Element) -> str:
    """``/edXML/edXMLEnvelope/edXMLHeader/Signature``: local names, ``[n]`` for repeats.

    Under a parent with many children, siblings of the same tag are counted with lxml's C-level
    ``itersiblings`` rather than a Python list of every child; this runs for every report.
    """
    parts: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        tag = node.tag
        name = local_name(tag)
        parent = node.getparent()
        if parent is not None:
            if isinstance(tag, str) and len(parent) > _SCAN_SIBLINGS:
                # many siblings (attachments): count in C instead of a Python list of them all
                before = sum(1 for _ in node.itersiblings(tag, preceding=True))
                repeated = before > 0 or next(node.itersiblings(tag), None) is not None
            else:
                same = [c for c in parent if c.tag == tag]
                before, repeated = same.index(node), len(same) > 1
            if repeated:
                name = f"{name}[{before + 1}]"
        parts.append(name)
        node = parent
    return "/" + "/".join(reversed(parts))


def _names_allowed(profile: SignatureProfile, ancestor_tags: list[str]) -> bool:
    """Whether the parent path (the ancestors' tags: parent first, up to the root) is allowed."""
    names = tuple([tag.rpartition("}")[2] for tag in reversed(ancestor_tags)])
    for allowed in profile.parent_paths:
        if allowed == names:
            return True
        if len(allowed) == len(names) and all(
            a in ("*", n) for a, n in zip(allowed, names, strict=True)
        ):
            return True
    return any(names[-len(suffix) :] == suffix for suffix in profile.any_depth_suffixes)


def locate(root: etree._Element, profile: SignatureProfile) -> Located:
    """All signatures of ``root`` sorted into allowed / misplaced, plus placeholders.

    Every XML-DSig ``Signature`` in the document is looked at (not only those at the expected
    path), because one at another place is either an attack or a producer error, and both must
    be refused rather than ignored.
    """
    signatures: list[etree._Element] = []
    misplaced: list[etree._Element] = []
    for element in root.iter(_DSIG_SIGNATURE):
        # one walk up serves both questions: inside another Signature? allowed parent path?
        # (ancestors are elements, so their tags are strings)
        tags: list[str] = [a.tag for a in element.iterancestors()]
        if _DSIG_SIGNATURE in tags:
            continue
        if profile.anywhere or (tags and _names_allowed(profile, tags)):
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
            # "{*}name": elements of this local name in any namespace or none, filtered in C
            matches = list(holder.iterchildren("{*}" + name))
            if len(matches) > 1:
                ambiguous.extend(matches[1:])
            holder = matches[0] if matches else None
        if holder is None:
            continue
        wanted = ["{*}" + name for name in profile.placeholders]
        for child in holder.iterchildren("{*}Signature", *wanted):
            name = local_name(child.tag)
            if name in profile.placeholders:
                placeholders.append(child)
            elif name == "Signature" and child.tag != _DSIG_SIGNATURE:
                wrong_ns.append(child)
    return Located(
        tuple(signatures), tuple(placeholders), tuple(misplaced), tuple(wrong_ns), tuple(ambiguous)
    )
