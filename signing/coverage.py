"""Which element each Reference points at, whether that element may be signed, what is covered.

This is the defence against signature wrapping (SIGNATURES.md A2/A3/A10): the crypto of a wrapped
document still verifies, so safety comes from (1) every referenced ID existing exactly once, (2) the
referenced element sitting at a path the profile expects, and (3) reporting exactly what the
signature covers, so the axis never treats unsigned parts as signed.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from edxml.names import local_name
from signing.algorithms import DSIG_NS, ENVELOPED
from signing.cid import (
    AttachmentParts,
    attachment_bytes,
    attachment_parts,
    content_id_of,
    is_cid_uri,
)
from signing.locate import SignatureProfile, element_path
from signing.precheck import ReferenceFacts, SignatureRefusedError
from signing.report import Coverage, ReasonCode

#: Attribute names accepted as IDs (XML-DSig practice; xml:id included).
ID_ATTRIBUTES = (
    "Id",
    "ID",
    "id",
    "{http://www.w3.org/XML/1998/namespace}id",
    "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd}Id",
)
_SIG = f"{{{DSIG_NS}}}Signature"
_SIGNED_PROPERTIES = frozenset({"Object", "SignatureProperties", "SignatureProperty"})


def id_index(root: etree._Element) -> dict[str, list[tuple[etree._Element, str]]]:
    """Every ID value of the document with the elements (and attribute) carrying it."""
    index: dict[str, list[tuple[etree._Element, str]]] = {}
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        attrib = element.attrib
        for name in ID_ATTRIBUTES:
            value = attrib.get(name)
            if value is not None:
                index.setdefault(value, []).append((element, name))
    return index


@dataclass(frozen=True, slots=True)
class ResolvedReference:
    """A Reference with the element it designates (``None`` for ``URI=""``) and its ID attribute.

    For a ``cid:`` reference ``target`` is the ``Attachment`` element, ``content_id`` its content
    id (without ``cid:``) and ``content`` the raw (base64-decoded) bytes libxmlsec1 digests.
    """

    facts: ReferenceFacts
    target: etree._Element | None
    id_attribute: str | None
    content_id: str | None = None
    content: bytes | None = None


@dataclass(frozen=True, slots=True)
class CoverageFacts:
    """What a signature's references cover, as the report states it."""

    coverage: Coverage
    covered: tuple[str, ...]


def _allowed_target(
    profile: SignatureProfile, signature: etree._Element, target: etree._Element
) -> bool:
    root = target.getroottree().getroot()
    if target is root or profile.references == "any":
        return True
    if signature in target.iterancestors():
        # only XML-DSig Object/SignatureProperties of this very signature (the SigningTime): a
        # document element moved into the Object is the XSW "wrapped in Object" variant
        return (
            all(
                etree.QName(node).namespace == DSIG_NS
                for node in (target, *target.iterancestors())
                if node is not signature and signature in node.iterancestors()
            )
            and local_name(target.tag) in _SIGNED_PROPERTIES
        )
    if profile.references == "edxml":
        parent = target.getparent()
        name = local_name(target.tag)
        return (
            parent is root
            and name in ("edXMLEnvelope", "AttachmentEncoded")
            and sum(1 for c in root if isinstance(c.tag, str) and local_name(c.tag) == name) == 1
        )
    # tax: the signed data is a sibling of the DSCKS container holding the signature
    container = signature.getparent()
    dscks = container.getparent() if container is not None else None
    holder = dscks.getparent() if dscks is not None else None
    return (
        holder is not None
        and target.getparent() is holder
        and target.tag != _SIG
        and not any(a.tag == _SIG for a in target.iterancestors())
    )


def resolve_references(
    signature: etree._Element,
    references: tuple[ReferenceFacts, ...],
    ids: dict[str, list[tuple[etree._Element, str]]],
    profile: SignatureProfile,
) -> tuple[ResolvedReference, ...]:
    """Resolve each ``#id`` to exactly one element at an allowed place, or refuse."""
    resolved: list[ResolvedReference] = []
    parts: AttachmentParts | None = None
    for ref in references:
        if is_cid_uri(ref.uri):
            if parts is None:
                parts = attachment_parts(signature.getroottree().getroot())
            resolved.append(_resolve_cid(ref, parts))
            continue
        if ref.uri == "":
            if (
                ENVELOPED not in ref.transforms
                and signature.getroottree().getroot() is not signature
            ):
                # the digest would include the signature itself: cannot verify, refuse early
                raise SignatureRefusedError(
                    ReasonCode.REFERENCE_URI,
                    'URI="" over a document holding the signature needs the enveloped transform',
                    element_path(ref.element),
                )
            resolved.append(ResolvedReference(ref, None, None))
            continue
        holders = ids.get(ref.uri[1:], [])
        if len(holders) != 1:
            code = ReasonCode.DUPLICATE_ID if holders else ReasonCode.REFERENCE_URI
            what = "is carried by several elements" if holders else "designates no element"
            raise SignatureRefusedError(
                code, f"Reference {ref.uri} {what}", element_path(ref.element)
            )
        target, attribute = holders[0]
        if not _allowed_target(profile, signature, target):
            raise SignatureRefusedError(
                ReasonCode.REFERENCE_TARGET,
                f"Reference {ref.uri} points to {element_path(target)}, not an element this "
                f"profile lets a signature cover",
                element_path(ref.element),
            )
        resolved.append(ResolvedReference(ref, target, attribute))
    return tuple(resolved)


def _resolve_cid(ref: ReferenceFacts, parts: AttachmentParts) -> ResolvedReference:
    """A ``cid:`` reference to exactly one readable attachment of this document, or a refusal."""
    content_id = content_id_of(ref.uri)
    where = element_path(ref.element)
    holders = parts.by_id.get(content_id, ())
    if not holders:
        raise SignatureRefusedError(
            ReasonCode.CID_NO_ATTACHMENT,
            f"Reference {ref.uri} designates no AttachmentEncoded/Attachment of this document",
            where,
        )
    if len(holders) > 1:
        raise SignatureRefusedError(
            ReasonCode.CID_DUPLICATE,
            f"Reference {ref.uri}: {len(holders)} attachments carry content id {content_id!r}",
            where,
        )
    content = attachment_bytes(holders[0])
    if content is None:
        raise SignatureRefusedError(
            ReasonCode.CID_UNREADABLE,
            f"Reference {ref.uri}: the attachment's ContentTransferEncoded is not one base64 text",
            element_path(holders[0]),
        )
    return ResolvedReference(ref, holders[0], None, content_id, content)


def _package_by_parts(root: etree._Element, resolved: tuple[ResolvedReference, ...]) -> bool:
    """Whether ``#envelope`` + ``cid:`` references sign the whole edXML package (A10).

    The envelope (with the manifest) must be referenced, every attachment and every manifest
    entry must have its ``cid:`` reference, ``AttachmentEncoded`` must hold nothing but
    attachments, and the root nothing but the envelope and ``AttachmentEncoded``.
    """
    cids = {r.content_id for r in resolved if r.content_id is not None}
    if not cids:
        return False
    targets = {id(r.target) for r in resolved if r.target is not None}
    parts = attachment_parts(root)
    for child in root:
        if not isinstance(child.tag, str):
            continue
        name = local_name(child.tag)
        if name == "edXMLEnvelope" and id(child) in targets:
            continue
        if name == "AttachmentEncoded" and child is parts.container:
            continue
        return False
    return (
        not parts.stray
        and all(len(holders) == 1 for holders in parts.by_id.values())
        and set(parts.by_id) <= cids
        and set(parts.manifest) <= cids
    )


def coverage_of(
    signature: etree._Element, resolved: tuple[ResolvedReference, ...]
) -> CoverageFacts:
    """``whole-document`` when a reference is ``URI=""`` or the root; else the covered paths.

    ``envelope-and-attachments`` when the envelope and a ``cid:`` reference per attachment
    together sign the whole edXML package (:func:`_package_by_parts`); ``cid:`` references are
    listed as ``cid:<content id>``. References into the signature's own ``Object`` (SigningTime)
    are listed but do not count as document content.
    """
    root = signature.getroottree().getroot()
    covered: list[str] = []
    whole = False
    for ref in resolved:
        if ref.content_id is not None:
            covered.append(f"cid:{ref.content_id}")
        elif ref.target is None or ref.target is root:
            whole = True
            covered.append(element_path(root))
        else:
            covered.append(element_path(ref.target))
    if whole:
        return CoverageFacts("whole-document", tuple(dict.fromkeys(covered)))
    if _package_by_parts(root, resolved):
        return CoverageFacts("envelope-and-attachments", tuple(covered))
    return CoverageFacts("partial" if covered else "none", tuple(covered))


def comment_in_covered(
    signature: etree._Element, resolved: tuple[ResolvedReference, ...]
) -> etree._Element | None:
    """A comment or processing instruction inside covered content, if any (SIGNATURES.md A6).

    C14N without comments drops them from the digest, so a comment injected into signed text
    (``<Subject>Về việc<!-- -->…</Subject>``) leaves the signature valid while a naive reader
    truncates the text. edXML and the tax messages have no use for comments in signed data, so a
    comment there is refused instead of being silently ignored.
    """
    if any(
        isinstance(t, str) and t.endswith("#WithComments")
        for r in resolved
        for t in r.facts.transforms
    ):
        return None  # comments are signed content under a *WithComments transform
    root = signature.getroottree().getroot()
    targets = [r.target if r.target is not None else root for r in resolved]
    for target in targets:
        for node in target.iter(etree.Comment, etree.ProcessingInstruction):
            if signature not in node.iterancestors():
                return node
    return None


def covers_edxml_attachments(signature: etree._Element, facts: CoverageFacts) -> bool:
    """Whether an edXML signature covers the envelope AND ``AttachmentEncoded`` (or the root),
    or the envelope and every attachment by ``cid:`` (``envelope-and-attachments``)."""
    if facts.coverage in ("whole-document", "envelope-and-attachments"):
        return True
    root = signature.getroottree().getroot()
    needed = {element_path(c) for c in root if isinstance(c.tag, str)}
    return needed <= set(facts.covered)
