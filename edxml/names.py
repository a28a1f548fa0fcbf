"""Namespace URIs and element names of edXML (QCVN 102:2016) and its neighbours."""

from __future__ import annotations

EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
XMLDSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
XLINK_NS = "http://www.w3.org/1999/xlink"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"


def qname(local: str) -> str:
    """Clark notation ``{ns}local`` of an edXML element."""
    return f"{{{EDXML_NS}}}{local}"


def local_name(tag: object) -> str:
    """The local part of an lxml tag (``{ns}X`` or ``X``); comments and PIs give ``""``."""
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]
