"""Hostile XML gets a clear EdxmlError with a stable code: never a hang, a crash or a file read."""

from __future__ import annotations

import time

import pytest

import edxml
from edxml import EdxmlError, XmlLimits
from edxml.xmlsafe import parse_xml
from tests.edxml_helpers import NEW_DOCUMENT, example

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&lol9;</edXML>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE edXML [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><x>&secret;</x></edXML>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE edXML SYSTEM "http://127.0.0.1:9/evil.dtd">
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"/>"""


def _refused(data: bytes) -> EdxmlError:
    started = time.perf_counter()
    with pytest.raises(EdxmlError) as caught:
        edxml.parse(data)
    assert time.perf_counter() - started < 1.0, "a hostile input must be refused at once"
    return caught.value


def test_billion_laughs_is_refused_without_expansion() -> None:
    error = _refused(BILLION_LAUGHS)
    assert error.code in {"xml.dtd_forbidden", "xml.entity_forbidden"}


def test_external_entity_is_never_resolved() -> None:
    error = _refused(EXTERNAL_ENTITY)
    assert error.code in {"xml.dtd_forbidden", "xml.entity_forbidden"}
    assert "root:" not in error.message


def test_external_dtd_is_not_fetched() -> None:
    assert _refused(EXTERNAL_DTD).code == "xml.dtd_forbidden"


def test_100k_deep_nesting_is_refused() -> None:
    data = b"<edXML>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</edXML>"
    assert _refused(data).code == "xml.too_deep"


def test_moderate_nesting_beyond_our_limit_is_refused() -> None:
    data = b"<edXML>" + b"<a>" * 100 + b"</a>" * 100 + b"</edXML>"
    error = _refused(data)
    assert error.code == "xml.too_deep"
    assert error.location.startswith("line:")


def test_invalid_utf8_is_refused_with_a_line() -> None:
    data = example(NEW_DOCUMENT).replace("Văn phòng".encode(), b"V\xc3\x28n", 1)
    error = _refused(data)
    assert error.code in {"xml.encoding", "xml.malformed"}
    assert error.location.startswith("line:")


def test_size_limit_is_applied_before_parsing() -> None:
    with pytest.raises(EdxmlError) as caught:
        parse_xml(example(NEW_DOCUMENT), XmlLimits(max_bytes=1000))
    assert caught.value.code == "xml.too_large"


def test_empty_and_non_xml_inputs() -> None:
    assert _refused(b"").code == "xml.empty"
    assert _refused(b"not xml at all").code == "xml.malformed"
    assert _refused(b"<other/>").code == "edxml.not_edxml"


def test_text_input_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        parse_xml("<edXML/>")  # type: ignore[arg-type]


def test_utf8_bom_is_accepted() -> None:
    data = example(NEW_DOCUMENT)
    assert edxml.parse(b"\xef\xbb\xbf" + data) == edxml.parse(data)


def test_validate_never_raises_on_hostile_input() -> None:
    problems = edxml.validate(BILLION_LAUGHS)
    assert len(problems) == 1
    assert problems[0].code in {"xml.dtd_forbidden", "xml.entity_forbidden"}
