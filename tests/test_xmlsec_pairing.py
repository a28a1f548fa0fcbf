"""python-xmlsec refuses to run beside an lxml built on another libxml2 (SIGNATURES.md §7).

Both PyPI wheels must carry the same libxml2; an upgrade of either one that breaks the pair must
fail here, in CI, rather than at the first signature an agency sends.
"""

from __future__ import annotations

import xmlsec
from lxml import etree


def test_xmlsec_and_lxml_share_one_libxml2() -> None:
    assert xmlsec.get_libxml_version() == etree.LIBXML_VERSION


def test_xmlsec_initialises_and_knows_rsa_sha256() -> None:
    assert (
        xmlsec.constants.TransformRsaSha256.href
        == "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    )
