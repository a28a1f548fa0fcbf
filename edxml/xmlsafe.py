"""The one hardened XML parser of the project: no DTD, no entities, no network, bounded size/depth.

Every package that reads untrusted XML (edxml, signing) goes through :func:`parse_xml`, so there is
exactly one parser configuration to audit and no parser differential between the layer that checks a
signature and the layer that reads the document (SIGNATURES.md A11).

Why these settings: ``resolve_entities=False`` and a refused DOCTYPE stop billion-laughs and XXE;
``no_network=True`` stops any fetch; ``huge_tree=True`` is needed because a 20 MB attachment is one
text node larger than libxml2's 10 MB default, so depth is then bounded by our own ``max_depth``
check (libxml2 itself still stops at 2048 levels, long before a 100k-deep bomb costs anything).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

from lxml import etree

from edxml.errors import EdxmlError

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_DEPTH = 64

_UTF8_BOM = b"\xef\xbb\xbf"
_BYTES_TYPES = (bytes, bytearray, memoryview)


@dataclass(frozen=True, slots=True)
class XmlLimits:
    """Limits applied to one untrusted input before and after parsing."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH


DEFAULT_LIMITS = XmlLimits()


def _new_parser(target: Any = None) -> etree.XMLParser:
    return etree.XMLParser(
        target=target,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=True,
        remove_blank_text=False,
        remove_comments=False,
        remove_pis=False,
        collect_ids=False,
    )


_PARSERS = threading.local()


def _parser() -> etree.XMLParser:
    """One parser per thread: lxml parser objects must not be shared between threads."""
    parser: etree.XMLParser | None = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = _PARSERS.parser = _new_parser()
    return parser


@cache
def _deeper_than(max_depth: int) -> etree.XPath:
    """A compiled XPath that is true when any element sits below ``max_depth`` levels.

    ``/*/*/…`` with ``max_depth + 1`` steps from the document node selects exactly the elements at
    depth ``max_depth + 1`` (the root element is depth 1), so it is non-empty exactly when the tree
    is deeper than allowed. Evaluated in C: about 4 µs on a 20 KB document, against 90 µs for a
    Python walk (and 11 µs for the equivalent ``//*`` followed by ``max_depth`` steps, which
    starts from every element instead of from the root).
    """
    return etree.XPath("boolean(" + "/*" * (max_depth + 1) + ")")


def _check_depth(tree: etree._ElementTree, max_depth: int) -> None:
    """Refuse trees deeper than ``max_depth``."""
    if _deeper_than(max_depth)(tree):
        raise EdxmlError("xml.too_deep", f"element nesting exceeds {max_depth} levels", "line:1")


def parse_xml(
    data: bytes, limits: XmlLimits = DEFAULT_LIMITS, *, target: Any = None
) -> etree._ElementTree:
    """Parse untrusted bytes into an lxml tree, or raise :class:`EdxmlError` with a stable code.

    Codes: ``xml.too_large``, ``xml.empty``, ``xml.encoding``, ``xml.dtd_forbidden``,
    ``xml.entity_forbidden``, ``xml.too_deep``, ``xml.malformed``.

    ``target`` is an lxml parser target that builds the tree itself (it must return the root
    element from ``close()`` and refuse ``doctype()``); the same hardened options apply to it.
    """
    if not isinstance(data, _BYTES_TYPES):
        raise TypeError("parse_xml takes bytes; decode nothing before the parser does")
    if len(data) > limits.max_bytes:
        raise EdxmlError(
            "xml.too_large", f"{len(data)} bytes exceed the limit of {limits.max_bytes}"
        )
    raw = bytes(data)
    if raw.startswith(_UTF8_BOM):
        raw = raw[len(_UTF8_BOM) :]
    # ``isspace`` is ``not raw.strip()`` without copying the input (same ASCII whitespace set).
    if not raw or raw.isspace():
        raise EdxmlError("xml.empty", "the input holds no XML")
    try:
        parser = _parser() if target is None else _new_parser(target)
        tree: etree._ElementTree = etree.ElementTree(etree.fromstring(raw, parser))
    except etree.XMLSyntaxError as exc:
        failure = getattr(target, "failure", None)
        if isinstance(failure, EdxmlError):
            raise failure from None
        message = str(exc.msg or exc)
        line = exc.lineno or 0
        lowered = message.lower()
        if b"<!DOCTYPE" in raw:
            raise EdxmlError(
                "xml.dtd_forbidden", "a DOCTYPE is not allowed in edXML", f"line:{line}"
            ) from None
        if "depth" in lowered:
            raise EdxmlError("xml.too_deep", message, f"line:{line}") from None
        if (
            "encoding" in lowered
            or "utf-8" in lowered
            or ("char" in lowered and "range" in lowered)
        ):
            raise EdxmlError("xml.encoding", message, f"line:{line}") from None
        if "entity" in lowered:
            raise EdxmlError("xml.entity_forbidden", message, f"line:{line}") from None
        raise EdxmlError("xml.malformed", message, f"line:{line}") from None
    docinfo = tree.docinfo
    doctype: str = getattr(docinfo, "doctype", "")  # lxml-stubs lack the attribute
    if doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise EdxmlError("xml.dtd_forbidden", "a DOCTYPE is not allowed in edXML", "line:1")
    _check_depth(tree, limits.max_depth)
    return tree
