"""Large packages: stream attachment text out of the parser instead of into the tree.

A 20 MB package is almost all base64. Parsed the ordinary way, libxml2 keeps that text in the tree
and every decode makes another full Python string of it, so peak memory reaches three times the
document. Above :data:`SPOOL_THRESHOLD` the parser is given :class:`SpoolingTreeBuilder` as its
target: it builds the same tree for every other element, but decodes the text of each
``ContentTransferEncoded`` element block by block as libxml2 delivers it (about 4 KB at a time), so
only the decoded bytes are kept (three quarters of the text's size) and the tree holds an empty
element. Same parser, same options (edxml.xmlsafe), so there is no parser differential; a caller
that needs the attachment text in the tree itself (an XML signature over the whole document) parses
with :func:`edxml.xmlsafe.parse_xml`.
"""

from __future__ import annotations

from typing import Any, cast

from lxml import etree

from edxml.errors import EdxmlError
from edxml.names import local_name
from edxml.payload import (
    WHITESPACE,
    Base64BlockError,
    Payload,
    decode_block,
    stray_characters_message,
)

SPOOL_THRESHOLD = 256 * 1024
_BLOCK_CHARS = 64 * 1024  # a multiple of 4: each block decodes on its own
_SPOOLED = "ContentTransferEncoded"


class Base64Spool:
    """Decodes base64 text fed in arbitrary pieces; keeps decoded blocks and the first error."""

    __slots__ = ("_pending", "_seen", "chunks", "error")

    def __init__(self) -> None:
        self._pending = ""
        self._seen = 0
        self.chunks: list[bytes] = []
        self.error: str | None = None

    def feed(self, text: str) -> None:
        if self.error is not None:
            return
        self._pending += text.translate(WHITESPACE)
        if len(self._pending) >= _BLOCK_CHARS:
            usable = len(self._pending) - len(self._pending) % 4
            self._decode(self._pending[:usable])
            self._pending = self._pending[usable:]

    def _decode(self, block: str) -> None:
        if not block or self.error is not None:
            return
        try:
            self.chunks.append(decode_block(block, self._seen))
        except Base64BlockError as exc:
            self.error = str(exc)
        self._seen += len(block)

    def finish(self) -> None:
        if self._pending and len(self._pending) % 4 and self.error is None:
            self.error = stray_characters_message(len(self._pending) % 4)
            return
        self._decode(self._pending)
        self._pending = ""

    def payload(self) -> Payload:
        return Payload.from_chunks(tuple(self.chunks), error=self.error)


class SpoolingTreeBuilder:
    """An lxml parser target: the default tree, minus attachment text, which is spooled."""

    def __init__(self, max_depth: int) -> None:
        self._builder = etree.TreeBuilder()
        self._max_depth = max_depth
        self._depth = 0
        self._spool: Base64Spool | None = None
        # lxml may report a later "missing end tags" instead of an exception raised in a
        # callback; the parser asks for this first refusal (edxml.xmlsafe.parse_xml).
        self.failure: EdxmlError | None = None
        self.spools: dict[etree._Element, Base64Spool] = {}

    def start(self, tag: str, attrib: Any, nsmap: dict[str, str] | None = None) -> etree._Element:
        self._depth += 1
        if self._depth > self._max_depth:
            # Refused while parsing: a deep bomb never becomes a tree.
            self.failure = EdxmlError(
                "xml.too_deep", f"element nesting exceeds {self._max_depth} levels", "line:1"
            )
            raise self.failure
        namespaces = {prefix or None: uri for prefix, uri in (nsmap or {}).items()}
        # lxml returns the new element; its stubs say None.
        element = cast(etree._Element, self._builder.start(tag, attrib, namespaces))  # type: ignore[call-arg]
        if self._spool is not None:
            self._spool.error = "ContentTransferEncoded holds elements, not base64 text"
        if local_name(tag) == _SPOOLED:
            self._spool = self.spools[element] = Base64Spool()
        return element

    def end(self, tag: str) -> etree._Element:
        self._depth -= 1
        element = cast(etree._Element, self._builder.end(tag))
        if self._spool is not None and local_name(tag) == _SPOOLED:
            self._spool.finish()
            self._spool = None
        return element

    def data(self, text: str) -> None:
        if self._spool is not None:
            self._spool.feed(text)
        else:
            self._builder.data(text)

    def comment(self, text: str) -> None:
        self._builder.comment(text)

    def pi(self, target: str, data: str | None = None) -> None:
        self._builder.pi(target, data)

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        self.failure = EdxmlError(
            "xml.dtd_forbidden", "a DOCTYPE is not allowed in edXML", "line:1"
        )
        raise self.failure

    def close(self) -> etree._Element:
        return self._builder.close()

    def payloads(self) -> dict[etree._Element, Payload]:
        """Each spooled element's decoded content."""
        return {element: spool.payload() for element, spool in self.spools.items()}
