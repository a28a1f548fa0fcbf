"""Attachment content, decoded from base64 lazily and in chunks.

Why not decode at parse time: a 20 MB attachment would then exist three times at once (input bytes,
the parsed text, the decoded bytes). A :class:`Payload` holds one of three things and never more:

* raw bytes a sender attached (``from_bytes``), or decoded blocks spooled out of a large package
  by the parser (``from_chunks``, see :mod:`edxml.spool`);
* the base64 text of a parsed package, read from the tree only when someone asks
  (``from_element_text``) and decoded chunk by chunk into a sink (a file, a hash).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Iterator
from typing import Protocol

from lxml import etree

from edxml.errors import EdxmlError

# Characters per decoding step: a multiple of 4, so each clean chunk decodes on its own.
_DECODE_CHARS = 1 << 20
# Bytes per encoding step: a multiple of 3, so chunks concatenate into one valid base64 text.
_ENCODE_BYTES = 3 << 18
WHITESPACE = str.maketrans("", "", " \t\r\n")


class Base64BlockError(ValueError):
    """Whole base64 quanta that strict decoding refuses; the message says where and why."""


def decode_block(block: str, offset: int) -> bytes:
    """Strictly decode ``block`` (whole quanta, no whitespace) found ``offset`` characters in.

    The one decoder of attachment text, shared by :class:`Payload` and the parser's spool
    (:mod:`edxml.spool`), so both refuse the same texts with the same words.
    """
    if not block.isascii():
        raise Base64BlockError(f"non-ASCII characters in base64 text near character {offset}")
    try:
        return binascii.a2b_base64(block, strict_mode=True)
    except binascii.Error as exc:
        raise Base64BlockError(f"invalid base64 near character {offset}: {exc}") from None


def stray_characters_message(count: int) -> str:
    """Why a text whose length is not a multiple of 4 cannot be decoded."""
    return f"base64 text ends with {count} stray characters (length not a multiple of 4)"


_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# (data characters mod 4, trailing "=" count) of a canonical base64 text.
_COMPLETE_QUANTA = frozenset({(0, 0), (2, 2), (3, 1)})
# Characters validated per step: small, so the ASCII copy made for each step stays far below the
# decoded bytes that a full decode would have made.
_VALIDATE_CHARS = 4096


def canonical_decoded_size(text: str) -> int | None:
    """The decoded size of ``text`` if it is canonical base64, else ``None``.

    Canonical: characters of the base64 alphabet only, then ``=`` padding exactly where it
    completes the last quantum (none after a full quantum, ``==`` after two data characters, ``=``
    after three); no whitespace, nothing after the padding. Every Python's strict decoding
    (``binascii.a2b_base64(text, strict_mode=True)``) accepts such a text and decodes it to this
    many bytes. ``None`` says nothing either way (3.11 strict mode also accepts extra trailing
    ``=``): the caller then decodes for the verdict. Checking costs about a quarter of decoding (a
    table pass in C) and makes no copy of the decoded bytes.
    """
    if not text.isascii():
        return None
    pads = 2 if text.endswith("==") else 1 if text.endswith("=") else 0
    data_chars = len(text) - pads
    if (data_chars % 4, pads) not in _COMPLETE_QUANTA:
        return None
    # Count what is not in the alphabet: exactly the trailing padding when the text is canonical.
    stray = 0
    for start in range(0, len(text), _VALIDATE_CHARS):
        stray += len(
            text[start : start + _VALIDATE_CHARS].encode("ascii").translate(None, _ALPHABET)
        )
        if stray > pads:
            return None  # a character outside the alphabet, or "=" before the end
    return data_chars * 3 // 4 if stray == pads else None


class ByteSink(Protocol):
    """Anything with ``write(bytes)``: a file, a hash object, a ``BytesIO``."""

    def write(self, data: bytes, /) -> object: ...


class _HashSink:
    __slots__ = ("hasher", "size")

    def __init__(self) -> None:
        self.hasher = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hasher.update(data)
        self.size += len(data)
        return len(data)


class _Collect:
    __slots__ = ("chunks",)

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.chunks.append(data)
        return len(data)


class _HeadSink:
    """Keeps the first ``limit`` bytes written (for sniffing) and discards the rest."""

    __slots__ = ("head", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.head = b""

    def write(self, data: bytes) -> int:
        if len(self.head) < self.limit:
            self.head += data[: self.limit - len(self.head)]
        return len(data)


class Payload:
    """The bytes of one attachment: decoded blocks, or base64 text still in the parsed tree."""

    __slots__ = ("_chunks", "_digest", "_error", "_size", "_text_source")

    def __init__(
        self,
        *,
        chunks: tuple[bytes, ...] | None = None,
        text_source: Callable[[], str] | None = None,
        error: str | None = None,
    ) -> None:
        if (chunks is None) == (text_source is None):
            raise ValueError("a Payload holds exactly one of decoded bytes or base64 text")
        self._chunks = chunks
        self._text_source = text_source
        self._error = error
        self._digest: str | None = None
        self._size: int | None = None

    @classmethod
    def from_bytes(cls, data: bytes) -> Payload:
        """A payload of raw bytes (what a sender attaches)."""
        return cls(chunks=(bytes(data),))

    @classmethod
    def from_chunks(cls, chunks: tuple[bytes, ...], *, error: str | None = None) -> Payload:
        """Decoded blocks (each a multiple of 3 bytes but the last); ``error`` if decoding failed."""
        return cls(chunks=chunks, error=error)

    @classmethod
    def from_base64(cls, text: str) -> Payload:
        """A payload of base64 text as found in ``ContentTransferEncoded`` (not yet checked)."""
        return cls(text_source=lambda: text)

    @classmethod
    def from_element_text(cls, element: etree._Element) -> Payload:
        """A payload that reads the base64 text from a parsed element only when asked.

        The text stays in the parser's tree (one copy) instead of also living as a Python string
        for as long as the model does; each decode creates the string transiently.
        """
        return cls(text_source=lambda: element.text or "")

    def _text(self) -> str | None:
        return None if self._text_source is None else self._text_source()

    @property
    def encoded_length(self) -> int:
        """Length of the base64 text (or what it will be)."""
        text = self._text()
        if text is not None:
            return len(text)
        assert self._chunks is not None
        return 4 * ((sum(map(len, self._chunks)) + 2) // 3)

    def encoded_chunks(self) -> Iterator[str]:
        """The base64 text in pieces that concatenate to one valid encoding."""
        text = self._text()
        if text is not None:
            for start in range(0, len(text), _DECODE_CHARS):
                yield text[start : start + _DECODE_CHARS].translate(WHITESPACE)
            return
        if self._error is not None:
            raise ValueError(
                f"cannot re-encode an attachment whose base64 was invalid: {self._error}"
            )
        assert self._chunks is not None
        for chunk in self._chunks:
            view = memoryview(chunk)
            for start in range(0, len(view), _ENCODE_BYTES):
                yield base64.b64encode(view[start : start + _ENCODE_BYTES]).decode("ascii")

    def decode_to(self, sink: ByteSink, *, location: str = "/") -> int:
        """Write the decoded bytes to ``sink``; return how many. Raises ``attachment.bad_base64``."""
        if self._chunks is not None:
            if self._error is not None:
                raise EdxmlError("attachment.bad_base64", self._error, location)
            for chunk in self._chunks:
                sink.write(chunk)
            return sum(map(len, self._chunks))
        text = self._text()
        assert text is not None
        if len(text) <= _DECODE_CHARS:
            # Fast path: most producers write one line with no whitespace; strict decoding of the
            # text as it is avoids a copy. Anything else takes the general path below.
            try:
                data = binascii.a2b_base64(text, strict_mode=True)
            except (binascii.Error, ValueError):
                pass
            else:
                sink.write(data)
                return len(data)
        written = 0
        carry = ""
        for start in range(0, len(text), _DECODE_CHARS):
            piece = carry + text[start : start + _DECODE_CHARS].translate(WHITESPACE)
            usable = len(piece) - len(piece) % 4
            carry = piece[usable:]
            written += self._decode_piece(piece[:usable], sink, location, start)
        if carry:
            raise EdxmlError(
                "attachment.bad_base64",
                stray_characters_message(len(carry)),
                location,
            )
        return written

    def check(self, head_size: int, *, location: str = "/") -> tuple[int, bytes]:
        """Decoded size and first ``head_size`` bytes; raises exactly when :meth:`decode_to` does.

        Checking an attachment needs to know that its content decodes, how large it is and how it
        starts, not every decoded byte: canonical base64 text (which strict decoding always
        accepts) is recognised without being decoded (:func:`canonical_decoded_size`) and only
        its head is decoded. Any other content (decoded blocks, whitespace, invalid or unusual
        text) goes through :meth:`decode_to`, so verdicts and messages are those of a full
        decode.
        """
        if self._chunks is None:
            text = self._text()
            assert text is not None
            size = canonical_decoded_size(text)
            if size is not None:
                # A canonical text's length is a multiple of 4 and "=" only ends it, so this prefix
                # is whole quanta and decodes to the same bytes the full text starts with.
                head_chars = 4 * ((head_size + 2) // 3)
                return size, binascii.a2b_base64(text[:head_chars])[:head_size]
        sink = _HeadSink(head_size)
        size = self.decode_to(sink, location=location)
        return size, sink.head

    @staticmethod
    def _decode_piece(piece: str, sink: ByteSink, location: str, offset: int) -> int:
        if not piece:
            return 0
        try:
            data = decode_block(piece, offset)
        except Base64BlockError as exc:
            raise EdxmlError("attachment.bad_base64", str(exc), location) from None
        sink.write(data)
        return len(data)

    def read(self) -> bytes:
        """All decoded bytes at once: for small files and tests; large ones use ``decode_to``."""
        if self._chunks is not None and self._error is None and len(self._chunks) == 1:
            return self._chunks[0]
        sink = _Collect()
        self.decode_to(sink)
        return b"".join(sink.chunks)

    def head(self, size: int = 64) -> bytes:
        """The first ``size`` decoded bytes (for sniffing the file type) without decoding all."""
        if self._chunks is not None:
            return b"".join(self._chunks[:2])[:size] if self._chunks else b""
        text = self._text()
        assert text is not None
        want = 4 * ((size + 2) // 3)
        piece = text[: want * 2 + 64].translate(WHITESPACE)[:want]
        try:
            return binascii.a2b_base64(piece)[:size]
        except (binascii.Error, ValueError):
            return b""

    def _measure(self) -> None:
        sink = _HashSink()
        try:
            self.decode_to(sink)
        except EdxmlError:
            # Undecodable: identify it by its text (or its error) so equality still works.
            text = self._text()
            basis = text.translate(WHITESPACE) if text is not None else str(self._error)
            self._digest = "text:" + hashlib.sha256(basis.encode("utf-8")).hexdigest()
            self._size = -1
            return
        self._digest = sink.hasher.hexdigest()
        self._size = sink.size

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the decoded bytes (cached): the payload's identity."""
        if self._digest is None:
            self._measure()
        assert self._digest is not None
        return self._digest

    @property
    def size(self) -> int:
        """Decoded size in bytes; -1 when the base64 text cannot be decoded."""
        if self._size is None:
            self._measure()
        assert self._size is not None
        return self._size

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Payload):
            return NotImplemented
        if self is other:
            return True
        return self.sha256 == other.sha256

    def __hash__(self) -> int:
        return hash(self.sha256)

    def __repr__(self) -> str:
        held = "decoded" if self._chunks is not None else "base64"
        return f"Payload({held})"
