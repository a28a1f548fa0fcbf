"""The project's edXML XSD, compiled once, and its findings as located :class:`Problem` s.

lxml's compiled ``XMLSchema`` (libxml2) validates the tree the parser already built, with no copy;
``xmlschema`` (pure Python) was measured at about two orders of magnitude slower on the same 20 KB
document (benchmarks/results/edxml.json, ``xsd_engines``), so the hot path uses lxml and
``xmlschema`` is kept for what it does better: explaining the schema (``axis edxml schema``) and
validating outside the hot path in tests that cross-check both engines.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from lxml import etree

from edxml.elements import element_path
from edxml.errors import Problem
from edxml.names import EDXML_NS

_PREFIX = re.compile(r"[A-Za-z_][\w.-]*:")
_XSD_CODES = {
    "SCHEMAV_ELEMENT_CONTENT": "xsd.unexpected_element",
    "SCHEMAV_CVC_COMPLEX_TYPE_2_4": "xsd.unexpected_element",
    "SCHEMAV_CVC_PATTERN_VALID": "xsd.bad_value",
    "SCHEMAV_CVC_DATATYPE_VALID_1_2_1": "xsd.bad_value",
    "SCHEMAV_CVC_MININCLUSIVE_VALID": "xsd.out_of_range",
    "SCHEMAV_CVC_MAXINCLUSIVE_VALID": "xsd.out_of_range",
    "SCHEMAV_CVC_COMPLEX_TYPE_3_2_2": "xsd.unexpected_attribute",
    "SCHEMAV_CVC_COMPLEX_TYPE_2_3": "xsd.unexpected_text",
    "SCHEMAV_CVC_ELT_1": "xsd.unexpected_root",
}


def schema_text() -> bytes:
    """The XSD shipped in ``edxml/schemas/edxml.xsd``."""
    return resources.files("edxml").joinpath("schemas/edxml.xsd").read_bytes()


@cache
def compiled_schema() -> etree.XMLSchema:
    """The compiled schema (built once per process: the package's only global state)."""
    return etree.XMLSchema(etree.fromstring(schema_text()))


def _location(tree: etree._ElementTree, path: str | None, line: int) -> str:
    """libxml2's path (document prefixes, ``*`` for unprefixed names) as our local-name path."""
    if not path:
        return f"line:{line}"
    root = tree.getroot()
    namespaces = {prefix: uri for prefix, uri in root.nsmap.items() if prefix}
    namespaces.setdefault("edXML", EDXML_NS)
    try:
        found = tree.xpath(path, namespaces=namespaces)
    except etree.XPathError:
        found = None
    if isinstance(found, list) and found and isinstance(found[0], etree._Element):
        return element_path(found[0])
    cleaned = _PREFIX.sub("", path)
    if cleaned.startswith("/*"):
        cleaned = "/edXML" + cleaned[2:]
    return cleaned


def _message(raw: str) -> str:
    # "Element '{ns}X': msg" -> "X: msg" (the namespace is always the edXML one).
    return re.sub(r"\{[^}]*\}", "", raw).replace("Element '", "'", 1)


def schema_problems(tree: etree._ElementTree) -> list[Problem]:
    """Validate against the XSD; each error as a Problem with an ``xsd.*`` code and a path."""
    schema = compiled_schema()
    if schema.validate(tree):
        return []
    return [
        Problem(
            _XSD_CODES.get(entry.type_name, "xsd.invalid"),
            _message(entry.message),
            _location(tree, entry.path, entry.line),
        )
        for entry in list(schema.error_log)  # type: ignore[call-overload]
    ]
