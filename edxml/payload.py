"""Attachment content, decoded from base64 lazily and in chunks.

Why not decode at parse time: a 20 MB attachment would then exist three times at once (input bytes,
the parsed text, the decoded bytes). A :class:`Payload` keeps the base64 text the parser already
holds and decodes it chunk by chunk into a sink (a file, a hash) only when someone asks, so no more
than one full copy of a large file is ever in memory.
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
_WHITESPACE = str.maketrans("", "", " \t\r\n")


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


class Payload:
    """The bytes of one attachment, held either raw or as the base64 text of the package."""

    __slots__ = ("_digest", "_raw", "_size", "_text_source")

    def __init__(
        self, *, raw: bytes | None = None, text_source: Callable[[], str] | None = None
    ) -> None:
        if (raw is None) == (text_source is None):
            raise ValueError("a Payload holds exactly one of raw bytes or base64 text")
        self._raw = raw
        self._text_source = text_source
        self._digest: str | None = None
        self._size: int | None = None

    @classmethod
    def from_bytes(cls, data: bytes) -> Payload:
        """A payload of raw bytes (what a sender attaches)."""
        return cls(raw=bytes(data))

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

    @property
    def _encoded(self) -> str | None:
        return None if self._text_source is None else self._text_source()

    @property
    def encoded_length(self) -> int:
        """Length of the base64 text (or what it will be), without decoding anything."""
        encoded = self._encoded
        if encoded is not None:
            return len(encoded)
        assert self._raw is not None
        return 4 * ((len(self._raw) + 2) // 3)

    def encoded_chunks(self) -> Iterator[str]:
        """The base64 text in pieces that concatenate to one valid encoding."""
        encoded = self._encoded
        if encoded is not None:
            for start in range(0, len(encoded), _DECODE_CHARS):
                yield encoded[start : start + _DECODE_CHARS].translate(_WHITESPACE)
            return
        assert self._raw is not None
        view = memoryview(self._raw)
        for start in range(0, len(view), _ENCODE_BYTES):
            yield base64.b64encode(view[start : start + _ENCODE_BYTES]).decode("ascii")

    def decode_to(self, sink: ByteSink, *, location: str = "/") -> int:
        """Write the decoded bytes to ``sink``; return how many. Raises ``attachment.bad_base64``."""
        if self._raw is not None:
            sink.write(self._raw)
            return len(self._raw)
        assert self._encoded is not None
        written = 0
        carry = ""
        text = self._encoded
        if len(text) <= _DECODE_CHARS and not carry:
            # Fast path: most producers write one line with no whitespace; strict decoding of the
            # text as it is avoids a copy. Anything else takes the general path below.
            try:
                data = binascii.a2b_base64(text, strict_mode=True)
            except (binascii.Error, ValueError):
                pass
            else:
                sink.write(data)
                return len(data)
        for start in range(0, len(text), _DECODE_CHARS):
            piece = carry + text[start : start + _DECODE_CHARS].translate(_WHITESPACE)
            usable = len(piece) - len(piece) % 4
            carry = piece[usable:]
            written += self._decode_piece(piece[:usable], sink, location, start)
        if carry:
            raise EdxmlError(
                "attachment.bad_base64",
                f"base64 text ends with {len(carry)} stray characters (length not a multiple of 4)",
                location,
            )
        return written

    @staticmethod
    def _decode_piece(piece: str, sink: ByteSink, location: str, offset: int) -> int:
        if not piece:
            return 0
        if not piece.isascii():
            raise EdxmlError(
                "attachment.bad_base64",
                f"non-ASCII characters in base64 text near character {offset}",
                location,
            )
        try:
            data = binascii.a2b_base64(piece.encode("ascii"), strict_mode=True)
        except binascii.Error as exc:
            raise EdxmlError(
                "attachment.bad_base64",
                f"invalid base64 near character {offset}: {exc}",
                location,
            ) from None
        sink.write(data)
        return len(data)

    def read(self) -> bytes:
        """All decoded bytes at once: for small files and tests; large ones use ``decode_to``."""
        if self._raw is not None:
            return self._raw
        chunks: list[bytes] = []

        class _Collect:
            def write(self, data: bytes) -> int:
                chunks.append(data)
                return len(data)

        self.decode_to(_Collect())
        return b"".join(chunks)

    def head(self, size: int = 64) -> bytes:
        """The first ``size`` decoded bytes (for sniffing the file type) without decoding all."""
        if self._raw is not None:
            return self._raw[:size]
        encoded = self._encoded
        assert encoded is not None
        chars = 4 * ((size + 2) // 3) + 64
        piece = encoded[: chars * 2].translate(_WHITESPACE)[: 4 * ((size + 2) // 3)]
        try:
            return binascii.a2b_base64(piece.encode("ascii"))[:size]
        except (binascii.Error, UnicodeEncodeError):
            return b""

    def _measure(self) -> None:
        sink = _HashSink()
        try:
            self.decode_to(sink)
        except EdxmlError:
            # Undecodable text: identify it by the text itself so equality still works.
            encoded = self._encoded
            assert encoded is not None
            stripped = encoded.translate(_WHITESPACE).encode("utf-8")
            self._digest = "text:" + hashlib.sha256(stripped).hexdigest()
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
        if self._raw is not None and other._raw is not None:
            return self._raw == other._raw
        return self.sha256 == other.sha256

    def __hash__(self) -> int:
        return hash(self.sha256)

    def __repr__(self) -> str:
        held = "raw" if self._raw is not None else "base64"
        return f"Payload({held}, {self.encoded_length} base64 chars)"
