"""``cid:`` references: an edXML attachment's raw bytes served to libxmlsec1, and nothing else.

The Bkav eDoc SDK signs edXML attachments with one ``Reference URI="cid:<content id>"`` per
attachment (SIGNATURES.md §2.2); the referenced data is the attachment's *raw bytes*, i.e. the
base64-decoded text of ``AttachmentEncoded/Attachment[ContentId]/ContentTransferEncoded``
(SIGNATURES.md A10). The digest and the signature over SignedInfo stay libxmlsec1's job: a
non-``#`` URI makes libxmlsec1 open the URI through its IO callbacks, read the octets and digest
them. So the only thing this module does is *answer that open*:

* at import, libxmlsec1's default IO callbacks (file, HTTP, FTP) are removed and replaced by one
  set whose ``match`` accepts a URI only when it is a key of the map of the verification (or
  signing) running in this thread/task. Nothing else matches, so a ``file:``/``http:``/relative
  URI cannot be read even if it got past the pre-check (it never does);
* the map is a :class:`contextvars.ContextVar` set by :func:`serving` around one libxmlsec1 call
  and always reset in ``finally``: two documents verified alternately (or concurrently in
  threads or tasks) never see each other's attachments.

The bytes come from the document already parsed under :mod:`edxml.xmlsafe` limits, decoded by
:mod:`base64` (a library decoder; no digest and no C14N here).
"""

from __future__ import annotations

import base64
import binascii
import io
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import xmlsec
from lxml import etree

from edxml.names import local_name

CID_PREFIX = "cid:"

#: The URIs (as libxmlsec1 hands them to ``match``, UTF-8 bytes) this thread/task may read.
_SERVED: ContextVar[Mapping[bytes, bytes] | None] = ContextVar("signing_cid_served", default=None)
_INSTALL_LOCK = threading.Lock()
_installed = False


def content_id_of(text: str) -> str:
    """``cid:abc`` and ``abc`` -> ``abc`` (Java writes the prefix, .NET does not)."""
    stripped = text.strip()
    return stripped[4:] if stripped[:4].lower() == CID_PREFIX else stripped


def is_cid_uri(uri: str) -> bool:
    """Whether a Reference URI is a ``cid:`` URI (case-insensitive scheme)."""
    return uri[:4].lower() == CID_PREFIX


@dataclass(frozen=True, slots=True)
class AttachmentParts:
    """The attachments of an edXML document, by content id (without ``cid:``).

    ``by_id`` maps each content id to every ``Attachment`` carrying it (more than one is a
    duplicate, refused when referenced); ``stray`` holds ``AttachmentEncoded`` children that are
    not ``Attachment`` elements (never covered by a ``cid:`` reference); ``manifest`` is the
    content ids the (signed) ``edXMLManifest`` lists.
    """

    container: etree._Element | None
    by_id: Mapping[str, tuple[etree._Element, ...]]
    stray: tuple[etree._Element, ...]
    manifest: tuple[str, ...]


def _child(parent: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in parent if isinstance(c.tag, str) and local_name(c.tag) == name]


def attachment_parts(root: etree._Element) -> AttachmentParts:
    """The attachments at the one place edXML puts them: ``/edXML/AttachmentEncoded/Attachment``.

    Only a single ``AttachmentEncoded`` child of the root counts (two are ambiguous: nothing is
    found, so every ``cid:`` reference designates no attachment).
    """
    containers = _child(root, "AttachmentEncoded")
    container = containers[0] if len(containers) == 1 else None
    by_id: dict[str, list[etree._Element]] = {}
    stray: list[etree._Element] = []
    if container is not None:
        for child in container:
            if not isinstance(child.tag, str):
                continue
            if local_name(child.tag) != "Attachment":
                stray.append(child)
                continue
            ids = _child(child, "ContentId")
            key = content_id_of(ids[0].text or "") if len(ids) == 1 else ""
            by_id.setdefault(key, []).append(child)
    manifest: list[str] = []
    for envelope in _child(root, "edXMLEnvelope"):
        for body in _child(envelope, "edXMLBody"):
            for listing in _child(body, "edXMLManifest"):
                for reference in _child(listing, "Reference"):
                    for cid in _child(reference, "ContentId"):
                        manifest.append(content_id_of(cid.text or ""))
    return AttachmentParts(
        container,
        {key: tuple(value) for key, value in by_id.items()},
        tuple(stray),
        tuple(manifest),
    )


def attachment_bytes(attachment: etree._Element) -> bytes | None:
    """The base64-decoded ``ContentTransferEncoded`` of one ``Attachment``; ``None`` if unreadable.

    Whitespace (line breaks of MIME-style base64) is dropped; anything else that is not base64
    makes the attachment unreadable rather than silently skipped.
    """
    encoded = _child(attachment, "ContentTransferEncoded")
    if len(encoded) != 1:
        return None
    text = "".join("".join(str(t) for t in encoded[0].itertext()).split())
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


# --- libxmlsec1 IO callbacks ---------------------------------------------------------------------


def _match(uri: bytes) -> bool:
    served = _SERVED.get()
    return served is not None and uri in served


def _open(uri: bytes) -> io.BytesIO:
    served = _SERVED.get()
    if served is None or uri not in served:  # match said no: libxmlsec1 never gets here
        raise LookupError("no attachment is served for this URI")
    return io.BytesIO(served[uri])


def _read(stream: io.BytesIO, buffer: memoryview) -> int:
    return stream.readinto(buffer)


def _close(stream: io.BytesIO) -> None:
    stream.close()


def install() -> None:
    """Replace libxmlsec1's default IO callbacks (file/HTTP/FTP) by the ``cid:`` resolver.

    Idempotent and process-wide (libxmlsec1's callback list is global). After it, libxmlsec1 can
    read no URI except the ones :func:`serving` offers to the running thread/task.
    """
    global _installed
    with _INSTALL_LOCK:
        if _installed:
            return
        xmlsec.cleanup_callbacks()
        xmlsec.register_callbacks(_match, _open, _read, _close)
        _installed = True


@contextmanager
def serving(contents: Mapping[str, bytes]) -> Iterator[None]:
    """Offer ``{reference URI: raw bytes}`` to libxmlsec1 for the duration of one call."""
    install()
    token = _SERVED.set({uri.encode("utf-8"): data for uri, data in contents.items()})
    try:
        yield
    finally:
        _SERVED.reset(token)


install()
