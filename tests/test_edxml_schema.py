"""The shipped XSD: it says no official XSD is public, and two engines agree with it."""

from __future__ import annotations

import pytest
import xmlschema
from lxml import etree

from edxml.schema import compiled_schema, schema_text
from tests.edxml_helpers import example_paths


def test_schema_header_says_it_is_ours() -> None:
    assert b"NO OFFICIAL XSD IS PUBLIC" in schema_text()


@pytest.mark.parametrize("path", example_paths(), ids=lambda p: p.name)
def test_lxml_and_xmlschema_agree_on_the_examples(path: object) -> None:
    data = path.read_bytes()  # type: ignore[attr-defined]
    reference = xmlschema.XMLSchema10(schema_text().decode("utf-8"))
    assert reference.is_valid(data.decode("utf-8"))
    assert compiled_schema().validate(etree.fromstring(data).getroottree())


def test_both_engines_refuse_an_unknown_element() -> None:
    data = (
        example_paths()[0].read_bytes().replace(b"<edXML:Subject>", b"<edXML:Nope/><edXML:Subject>")
    )
    reference = xmlschema.XMLSchema10(schema_text().decode("utf-8"))
    assert not reference.is_valid(data.decode("utf-8"))
    assert not compiled_schema().validate(etree.fromstring(data).getroottree())
