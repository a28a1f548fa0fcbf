"""The tree helpers every edXML reader shares: local names, children by name, text, paths.

Matching is on local names only (prefixes and the one namespace are interchangeable in practice),
never on element order, so each helper indexes children by local name. :func:`element_path` is the
one path convention of every finding (reader, rules and XSD alike), so a problem points at the
element a person must fix.
"""

from __future__ import annotations

import sys

from lxml import etree

from edxml.names import EDXML_NS, XMLDSIG_NS, local_name

Element = etree._Element
Children = dict[str, list[Element]]


def element_path(element: Element) -> str:
    """``/edXML/edXMLEnvelope/.../To[2]/OrganId``: local names, 1-based index among namesakes."""
    parts: list[str] = []
    node: Element | None = element
    while node is not None:
        name = local_name(node.tag)
        parent = node.getparent()
        if parent is not None:
            same = [c for c in parent if local_name(c.tag) == name]
            if len(same) > 1:
                name = f"{name}[{same.index(node) + 1}]"
        parts.append(name)
        node = parent
    return "/" + "/".join(reversed(parts))


# Full tag -> local name. lxml builds a new ``{ns}Local`` string on every ``.tag`` access; looking
# it up here instead of slicing it gives back the same (hash-cached) name object every time, which
# makes the index dicts below cheaper to build and to query. Bounded, so a hostile package with
# endless distinct or huge tags cannot grow it: past the bound names are sliced as before.
_LOCAL_NAMES: dict[str, str] = {}
_LOCAL_NAMES_MAX = 1024
_LOCAL_NAME_MAX_CHARS = 256


def _local(tag: str) -> str:
    name = tag[tag.rfind("}") + 1 :]
    if len(_LOCAL_NAMES) < _LOCAL_NAMES_MAX and len(tag) <= _LOCAL_NAME_MAX_CHARS:
        # Interned: the reader's literal names then match by identity in every index lookup.
        name = _LOCAL_NAMES[tag] = sys.intern(name)
    return name


# The edXML vocabulary (every element name of the XSD, and the gateway's edXMLAttachments), cached
# at import in both spellings real producers use (the edXML namespace, and none): checking a
# package then adds nothing lasting to the cache, so its memory belongs to the module, not to the
# first packages read. A name missing here is simply cached when first seen.
_VOCABULARY = (
    "Appendix",
    "Appendixes",
    "ApplicationType",
    "Attachment",
    "AttachmentEncoded",
    "AttachmentName",
    "Boundary",
    "Business",
    "BusinessDocReason",
    "BusinessDocType",
    "BusinessDocumentInfo",
    "Bussiness",
    "BussinessDocReason",
    "BussinessDocType",
    "BussinessDocumentInfo",
    "Code",
    "CodeNotation",
    "CodeNumber",
    "Competence",
    "Content",
    "ContentId",
    "ContentTransferEncoded",
    "ContentType",
    "Department",
    "DepartmentId",
    "Description",
    "DigitalSignature",
    "Direction",
    "DocumentId",
    "DocumentInfo",
    "DocumentReceiver",
    "DocumentType",
    "DueDate",
    "Email",
    "Fax",
    "From",
    "FullName",
    "MessageHeader",
    "Mobile",
    "OrganAdd",
    "OrganId",
    "OrganIdList",
    "OrganName",
    "OrganizationInCharge",
    "OtherInfo",
    "PageAmount",
    "Paper",
    "Place",
    "Position",
    "Priority",
    "PromulgationAmount",
    "PromulgationDate",
    "PromulgationInfo",
    "Receiver",
    "ReceiverList",
    "ReceiverType",
    "Reference",
    "ReferenceCodes",
    "ReplacementInfo",
    "ReplacementInfoList",
    "ReplyFors",
    "ResponseFor",
    "ResponseForTask",
    "Signature",
    "SignerInfo",
    "SphereOfPromulgation",
    "Staff",
    "StaffId",
    "StaffInfo",
    "Status",
    "StatusCode",
    "SteeringType",
    "Subject",
    "TaskCode",
    "Telephone",
    "Timestamp",
    "To",
    "ToPlaces",
    "TraceHeader",
    "TraceHeaderList",
    "Type",
    "TypeDetail",
    "TypeName",
    "TyperNotation",
    "Website",
    "edXML",
    "edXMLAttachments",
    "edXMLBody",
    "edXMLEnvelope",
    "edXMLHeader",
    "edXMLManifest",
)
for _name in _VOCABULARY:
    _local(f"{{{EDXML_NS}}}{_name}")
    _local(_name)
_local(f"{{{XMLDSIG_NS}}}Signature")


def children(element: Element) -> Children:
    """Child elements by local name, in document order (comments and PIs skipped)."""
    index: Children = {}
    names = _LOCAL_NAMES
    for child in element:
        try:
            name = names[child.tag]
        except KeyError:
            tag = child.tag
            if not isinstance(tag, str):
                continue  # a comment or processing instruction (their tag is a factory)
            name = _local(tag)
        if name in index:
            index[name].append(child)
        else:
            index[name] = [child]
    return index


def text_of(element: Element) -> str | None:
    """The element's own text, stripped; ``None`` when empty (comments inside are skipped)."""
    raw = element.text
    if len(element):
        raw = (raw or "") + "".join(child.tail or "" for child in element)
    elif raw is None:
        return None
    return raw.strip() or None


def first_text(index: Children, name: str) -> str | None:
    """:func:`text_of` the first child called ``name`` (inlined: this runs for every field)."""
    found = index.get(name)
    if found is None:
        return None
    element = found[0]
    raw = element.text
    if len(element):
        raw = (raw or "") + "".join(child.tail or "" for child in element)
    elif raw is None:
        return None
    return raw.strip() or None


def first_texts(index: Children, names: tuple[str, ...]) -> list[str | None]:
    """:func:`first_text` of each of ``names``: one call per record instead of one per field."""
    values: list[str | None] = []
    for name in names:
        found = index.get(name)
        if found is None:
            values.append(None)
            continue
        element = found[0]
        raw = element.text
        if len(element):
            raw = (raw or "") + "".join(child.tail or "" for child in element)
        elif raw is None:
            values.append(None)
            continue
        values.append(raw.strip() or None)
    return values
