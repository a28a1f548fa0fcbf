"""The rules a signer's chain must meet that we check ourselves, before pyhanko-certvalidator.

They run first so that refusals carry precise, stable codes: ``cert.ca_as_signer``,
``cert.key_usage`` (digitalSignature or nonRepudiation), ``cert.weak_key``, ``cert.sha1_chain``
(G1 chains, only under ``allow_sha1_chain``), ``cert.invalid`` (MD5), ``cert.not_yet_valid`` /
``cert.expired``. Everything here is a pure function of the certificates, the
:class:`~signing.pathresult.PathPolicy` and the trusted time; what a refusal means for the
result cache is :class:`signing.certpath.PathValidator`'s business.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa

from signing.pathresult import PathPolicy
from signing.revstatus import iso


@dataclass(frozen=True)
class Refusal:
    """Why a chain fails one of our rules: a stable ``cert.*`` code and a message naming who."""

    reason: str
    message: str


def describe(cert: x509.Certificate) -> str:
    """How a certificate is named in messages and logs (its RFC 4514 subject)."""
    return cert.subject.rfc4514_string()


def weak_key(cert: x509.Certificate, policy: PathPolicy) -> str | None:
    """Why ``cert``'s public key is too weak under ``policy``, or ``None`` if it is not."""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < policy.min_rsa_bits:
        return f"RSA-{key.key_size} key of {describe(cert)} is below {policy.min_rsa_bits}"
    if isinstance(key, ec.EllipticCurvePublicKey) and key.key_size < policy.min_ec_bits:
        return f"EC-{key.key_size} key of {describe(cert)} is below {policy.min_ec_bits}"
    if isinstance(key, dsa.DSAPublicKey):
        return f"DSA key of {describe(cert)} is not accepted"
    return None


def leaf_refusal(leaf: x509.Certificate, policy: PathPolicy) -> Refusal | None:
    """What the signer certificate itself may not be: a CA, without a signing key usage, weak.

    Depends on the leaf and the policy only (not on the time), so such a verdict holds forever.
    """
    try:
        bc = leaf.extensions.get_extension_for_class(x509.BasicConstraints).value
        if bc.ca:
            return Refusal(
                "cert.ca_as_signer",
                f"{describe(leaf)} is a CA certificate; CAs do not sign documents",
            )
    except x509.ExtensionNotFound:
        pass
    try:
        ku = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return Refusal("cert.key_usage", "the signer certificate has no KeyUsage")
    if not (ku.digital_signature or ku.content_commitment):
        return Refusal(
            "cert.key_usage", "KeyUsage allows neither digitalSignature nor nonRepudiation"
        )
    weak = weak_key(leaf, policy)
    if weak:
        return Refusal("cert.weak_key", weak)
    return None


def chain_refusal(
    chain: Sequence[x509.Certificate], when: datetime, policy: PathPolicy
) -> Refusal | None:
    """What the built chain (leaf first, anchor last) may not hold at trusted time ``when``:
    a weak issuer key, an MD5 or (without ``allow_sha1_chain``) SHA-1 signature, a certificate
    outside its validity period."""
    for cert in chain[1:]:
        weak = weak_key(cert, policy)
        if weak:
            return Refusal("cert.weak_key", weak)
    for cert in chain[:-1]:  # the anchor's self-signature is never relied upon
        algo = cert.signature_hash_algorithm
        name = algo.name if algo is not None else ""
        if name == "md5":
            return Refusal("cert.invalid", f"{describe(cert)} is signed with MD5")
        if name == "sha1" and not policy.allow_sha1_chain:
            return Refusal(
                "cert.sha1_chain",
                f"{describe(cert)} is signed with SHA-1; G1 chains need allow_sha1_chain",
            )
    for cert in chain:
        if when < cert.not_valid_before_utc:
            return Refusal(
                "cert.not_yet_valid",
                f"{describe(cert)} is valid only from {iso(cert.not_valid_before_utc)} "
                f"(checked at {iso(when)})",
            )
        if when > cert.not_valid_after_utc:
            return Refusal(
                "cert.expired",
                f"{describe(cert)} expired {iso(cert.not_valid_after_utc)} "
                f"(checked at {iso(when)})",
            )
    return None
