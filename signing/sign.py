"""``sign``: put an enveloped XML-DSig signature where real verifiers (and ours) look for it.

The axis and the tests need documents that *other* verifiers accept, so signing uses libxmlsec1's
template API (the same engine that verifies; ``xmlsec1`` the CLI agrees on every byte, see
tests/test_signing_sign.py) and writes the conventional shape: ``Signature`` in the default
XML-DSig namespace, last child of ``edXMLHeader`` for edXML, one ``URI=""`` reference with the
enveloped-signature and exclusive C14N transforms (so the whole document, attachments included,
is covered), KeyInfo with the leaf certificate first and the chain after it. The Vietnamese tax
style (``#Id`` references plus a ``SigningTime`` object) is available through ``references`` and
``signing_time``; the Bkav SDK style (the envelope by ``#Id``, each attachment's raw bytes by
``cid:<content id>``, read by libxmlsec1 through :mod:`signing.cid`) through ``cid_attachments``.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree

from edxml.names import EDXML_NS
from signing import algorithms as alg
from signing.algorithms import DSIG_NS
from signing.cid import (
    AttachmentParts,
    attachment_bytes,
    attachment_parts,
    content_id_of,
    is_cid_uri,
    serving,
)
from signing.errors import SignError
from signing.errors import SigningError as SigningError  # the old name of signing errors

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_URI_BY_NAME = {name: uri for uri, name in alg.SHORT_NAMES.items()}
_HEADER_PATH = (f"{{{EDXML_NS}}}edXMLEnvelope", f"{{{EDXML_NS}}}edXMLHeader")


def _uri(name: str, kind: str) -> str:
    uri = _URI_BY_NAME.get(name, name)
    if uri not in alg.TRANSFORMS:
        raise SignError("sign.algorithm", f"unknown {kind} {name!r}")
    return uri


def _ds(parent: etree._Element, name: str, **attrib: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{DSIG_NS}}}{name}", attrib)


def _edxml_header(root: etree._Element) -> etree._Element:
    node: etree._Element | None = root
    for tag in _HEADER_PATH:
        node = node.find(tag) if node is not None else None
    if node is None or root.tag != f"{{{EDXML_NS}}}edXML":
        raise SignError("sign.not_edxml", "no edXML/edXMLEnvelope/edXMLHeader to sign into")
    return node


def _xmlsec_private_key(key: SigningKey) -> xmlsec.Key:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return xmlsec.Key.from_memory(pem, xmlsec.constants.KeyDataFormatPem)


def _spki(public: object) -> bytes:
    assert isinstance(public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def check_key_pair(key: SigningKey, cert: x509.Certificate, location: str | None = "/") -> None:
    """Refuse a private key that does not belong to the signer's certificate (``sign.key_mismatch``).

    A signature made so verifies with no verifier -- they all check it against the certificate's
    key -- so signing must stop here instead of writing a document nobody will accept.
    """
    public = cert.public_key()
    same = isinstance(public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey) and _spki(
        key.public_key()
    ) == _spki(public)
    if same:
        return
    serial = format(cert.serial_number, "X")
    digest = cert.fingerprint(hashes.SHA256()).hex()[:16]
    raise SignError(
        "sign.key_mismatch",
        f"the private key ({alg.describe_key(key.public_key())}) does not belong to the "
        f"certificate {cert.subject.rfc4514_string()} (serial {serial}, SHA-256 {digest}…; its "
        f"public key: {alg.describe_key(public)}): a signature made with it would verify with no "
        f"verifier; give the key of that certificate, or the certificate of that key",
        location,
    )


def default_algorithm(key: SigningKey) -> str:
    """``rsa-sha256`` for RSA keys, ``ecdsa-sha256`` for EC keys."""
    return "ecdsa-sha256" if isinstance(key, ec.EllipticCurvePrivateKey) else "rsa-sha256"


@dataclass(frozen=True, slots=True)
class SignatureTemplate:
    """An unsigned ``Signature`` placed in the document, and the ID attributes it references."""

    signature: etree._Element
    ids: tuple[tuple[etree._Element, str], ...]
    #: ``(cid: URI, raw attachment bytes)`` for each ``cid:`` reference (libxmlsec1 reads them
    #: through :func:`signing.cid.serving` while it signs)
    contents: tuple[tuple[str, bytes], ...] = ()


def signature_template(
    tree: etree._ElementTree | etree._Element,
    *,
    algorithm: str = "rsa-sha256",
    digest: str = "sha256",
    c14n: str = alg.EXC_C14N,
    parent: etree._Element | None = None,
    references: Sequence[str] = ("",),
    signing_time: datetime | None = None,
    empty_key_info: bool = False,
    cid_attachments: bool = False,
) -> SignatureTemplate:
    """Put an unsigned signature template where :func:`sign` would sign.

    Used by :func:`sign`, and handed to external signers (a hardware token driver, ``xmlsec1
    --sign``): ``empty_key_info`` adds ``<KeyInfo><X509Data/></KeyInfo>`` for them to fill.
    ``references`` may name attachments as ``"cid:<content id>"`` (their raw, base64-decoded
    bytes, no transforms); ``cid_attachments`` appends one such reference per attachment of the
    document, in document order (the Bkav SDK style, SIGNATURES.md §2.2).
    """
    root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
    method = _uri(algorithm, "signature algorithm")
    digest_uri = _uri(digest, "digest")
    if c14n not in alg.C14N_METHODS:
        raise SignError("sign.algorithm", f"unknown canonicalisation {c14n!r}")
    holder = parent if parent is not None else _edxml_header(root)
    ids: list[tuple[etree._Element, str]] = []
    targets: list[tuple[str, tuple[str, ...]]] = []
    contents: dict[str, bytes] = {}
    parts = attachment_parts(root)
    wanted = list(references)
    if cid_attachments:
        wanted.extend(f"cid:{content_id}" for content_id in parts.by_id)
    for uri in wanted:
        if is_cid_uri(uri):
            contents[uri] = _attachment_content(parts, uri)
            targets.append((uri, ()))
            continue
        if uri == "":
            targets.append((uri, (alg.ENVELOPED, c14n)))
            continue
        target = next((e for e in root.iter() if e.get("Id") == uri[1:]), None)
        if target is None:
            raise SignError("sign.reference", f"no element with Id {uri[1:]!r}")
        ids.append((target, "Id"))
        encloses = target is holder or target in holder.iterancestors()
        targets.append((uri, (alg.ENVELOPED, c14n) if encloses else (c14n,)))

    # Built with lxml, not xmlsec.template: nodes that libxmlsec1 creates carry names outside
    # the document's dictionary, which lxml's find() then fails to match.
    sig_id = f"sig-{uuid.uuid4().hex}"
    nsmap: Any = {None: DSIG_NS}  # the default xmlns of xmldsig, as VN producers write it
    signature = etree.SubElement(holder, f"{{{DSIG_NS}}}Signature", {"Id": sig_id}, nsmap=nsmap)
    signed_info = _ds(signature, "SignedInfo")
    _ds(signed_info, "CanonicalizationMethod", Algorithm=c14n)
    _ds(signed_info, "SignatureMethod", Algorithm=method)

    def add_reference(uri: str, transforms: Sequence[str]) -> None:
        ref = _ds(signed_info, "Reference", URI=uri)
        if transforms:
            transforms_el = _ds(ref, "Transforms")
            for transform in transforms:
                _ds(transforms_el, "Transform", Algorithm=transform)
        _ds(ref, "DigestMethod", Algorithm=digest_uri)
        _ds(ref, "DigestValue")

    for uri, transforms in targets:
        add_reference(uri, transforms)
    _ds(signature, "SignatureValue")
    if empty_key_info:
        _ds(_ds(signature, "KeyInfo"), "X509Data")
    if signing_time is not None:
        time_id = f"SigningTime-{uuid.uuid4().hex}"
        obj = _ds(signature, "Object", Id=time_id)
        props = _ds(obj, "SignatureProperties")
        prop = _ds(props, "SignatureProperty", Target=f"#{sig_id}")
        _ds(prop, "SigningTime").text = signing_time.isoformat(timespec="seconds")
        add_reference(f"#{time_id}", ())
        ids.append((obj, "Id"))
    return SignatureTemplate(signature, tuple(ids), tuple(contents.items()))


def _attachment_content(parts: AttachmentParts, uri: str) -> bytes:
    holders = parts.by_id.get(content_id_of(uri), ())
    if len(holders) != 1:
        what = "several attachments carry" if holders else "no attachment carries"
        raise SignError("sign.reference", f"{what} the content id of {uri!r}")
    content = attachment_bytes(holders[0])
    if content is None:
        raise SignError("sign.reference", f"the attachment of {uri!r} is not base64")
    return content


def sign(
    tree: etree._ElementTree | etree._Element,
    key: SigningKey,
    chain: Sequence[x509.Certificate],
    *,
    algorithm: str | None = None,
    digest: str = "sha256",
    c14n: str = alg.EXC_C14N,
    parent: etree._Element | None = None,
    references: Sequence[str] = ("",),
    signing_time: datetime | None = None,
    cid_attachments: bool = False,
) -> etree._Element:
    """Sign ``tree`` in place and return the new ``Signature`` element.

    ``chain`` is the signer's certificate first, then its intermediates (written to KeyInfo so a
    verifier can build the path). ``parent`` defaults to edXML's ``edXMLHeader`` (the signature
    becomes its last child). ``references``: ``""`` for the whole document (enveloped) and/or
    ``"#Id"`` of elements and/or ``"cid:<content id>"`` of attachments; ``cid_attachments``
    adds a ``cid:`` reference for every attachment (with ``references=("#<envelope Id>",)`` that
    is the Bkav style: the envelope by ID, each attachment's raw bytes by content id);
    ``signing_time`` adds the VN-style ``SigningTime`` object, also signed.
    """
    if not chain:
        raise SignError("sign.no_certificate", "the signer's certificate is required")
    check_key_pair(key, chain[0])
    method = _uri(algorithm or default_algorithm(key), "signature algorithm")
    mismatch = alg.key_mismatch(method, key.public_key())
    if mismatch is not None:
        raise SignError(
            "sign.algorithm_key_mismatch",
            f"the signature method {alg.short_name(method)} cannot be computed with "
            f"{alg.describe_key(key.public_key())}; use "
            f"{default_algorithm(key)} (the default for this key)",
        )
    template = signature_template(
        tree,
        algorithm=algorithm or default_algorithm(key),
        digest=digest,
        c14n=c14n,
        parent=parent,
        references=references,
        signing_time=signing_time,
        cid_attachments=cid_attachments,
    )
    signature = template.signature
    ctx = xmlsec.SignatureContext()
    ctx.key = _xmlsec_private_key(key)
    for element, attribute in template.ids:
        ctx.register_id(element, attribute)
    try:
        with serving(dict(template.contents)):
            ctx.sign(signature)
    except xmlsec.Error as exc:
        holder = signature.getparent()
        if holder is not None:
            holder.remove(signature)
        raise SignError("sign.failed", f"libxmlsec1 could not sign: {exc}") from None

    key_info = etree.Element(f"{{{DSIG_NS}}}KeyInfo")
    x509_data = _ds(key_info, "X509Data")
    _ds(x509_data, "X509SubjectName").text = chain[0].subject.rfc4514_string()
    for cert in chain:
        der = cert.public_bytes(serialization.Encoding.DER)
        _ds(x509_data, "X509Certificate").text = base64.b64encode(der).decode("ascii")
    signature.insert(2, key_info)
    return signature
