"""XML-DSig algorithm URIs, their libxmlsec1 transforms, and the allow-lists the policy starts from.

One table maps every URI the verifier may meet to the libxmlsec1 transform that implements it, so
the pre-check (is this URI allowed?) and the engine (enable exactly these transforms in libxmlsec1)
read the same facts and cannot drift apart. URIs not in the table are unknown and always refused.
"""

from __future__ import annotations

from typing import Final

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

DSIG_NS: Final = "http://www.w3.org/2000/09/xmldsig#"
DSIG11_NS: Final = "http://www.w3.org/2009/xmldsig11#"

# Canonicalisation (SignedInfo) and C14N transforms (references).
C14N_10: Final = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_10_COMMENTS: Final = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
C14N_11: Final = "http://www.w3.org/2006/12/xml-c14n11"
C14N_11_COMMENTS: Final = "http://www.w3.org/2006/12/xml-c14n11#WithComments"
EXC_C14N: Final = "http://www.w3.org/2001/10/xml-exc-c14n#"
EXC_C14N_COMMENTS: Final = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
#: The non-standard URI of the national exchange SDK template (SIGNATURES.md §0.8); refused.
BOGUS_EXC_C14N: Final = "http://www.w3.org/TR/xml-exc-c14n#"

ENVELOPED: Final = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
BASE64: Final = "http://www.w3.org/2000/09/xmldsig#base64"
XPATH: Final = "http://www.w3.org/TR/1999/REC-xpath-19991116"
XPATH2: Final = "http://www.w3.org/2002/06/xmldsig-filter2"
XSLT: Final = "http://www.w3.org/TR/1999/REC-xslt-19991116"

# Digests.
SHA1: Final = "http://www.w3.org/2000/09/xmldsig#sha1"
SHA224: Final = "http://www.w3.org/2001/04/xmldsig-more#sha224"
SHA256: Final = "http://www.w3.org/2001/04/xmlenc#sha256"
SHA384: Final = "http://www.w3.org/2001/04/xmldsig-more#sha384"
SHA512: Final = "http://www.w3.org/2001/04/xmlenc#sha512"
MD5: Final = "http://www.w3.org/2001/04/xmldsig-more#md5"

# Signature methods.
RSA_SHA1: Final = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
RSA_SHA224: Final = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha224"
RSA_SHA256: Final = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_SHA384: Final = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
RSA_SHA512: Final = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
ECDSA_SHA1: Final = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1"
ECDSA_SHA224: Final = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha224"
ECDSA_SHA256: Final = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
ECDSA_SHA384: Final = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
ECDSA_SHA512: Final = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"
DSA_SHA1: Final = "http://www.w3.org/2000/09/xmldsig#dsa-sha1"
HMAC_SHA1: Final = "http://www.w3.org/2000/09/xmldsig#hmac-sha1"
HMAC_SHA256: Final = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"
RSA_MD5: Final = "http://www.w3.org/2001/04/xmldsig-more#rsa-md5"

_C = xmlsec.constants

#: URI -> libxmlsec1 transform, for everything the engine may ever enable.
TRANSFORMS: Final = {
    C14N_10: _C.TransformInclC14N,
    C14N_10_COMMENTS: _C.TransformInclC14NWithComments,
    C14N_11: _C.TransformInclC14N11,
    C14N_11_COMMENTS: _C.TransformInclC14N11WithComments,
    EXC_C14N: _C.TransformExclC14N,
    EXC_C14N_COMMENTS: _C.TransformExclC14NWithComments,
    ENVELOPED: _C.TransformEnveloped,
    SHA1: _C.TransformSha1,
    SHA224: _C.TransformSha224,
    SHA256: _C.TransformSha256,
    SHA384: _C.TransformSha384,
    SHA512: _C.TransformSha512,
    RSA_SHA1: _C.TransformRsaSha1,
    RSA_SHA224: _C.TransformRsaSha224,
    RSA_SHA256: _C.TransformRsaSha256,
    RSA_SHA384: _C.TransformRsaSha384,
    RSA_SHA512: _C.TransformRsaSha512,
    ECDSA_SHA1: _C.TransformEcdsaSha1,
    ECDSA_SHA224: _C.TransformEcdsaSha224,
    ECDSA_SHA256: _C.TransformEcdsaSha256,
    ECDSA_SHA384: _C.TransformEcdsaSha384,
    ECDSA_SHA512: _C.TransformEcdsaSha512,
    DSA_SHA1: _C.TransformDsaSha1,
}

C14N_METHODS: Final = frozenset(
    {C14N_10, C14N_10_COMMENTS, C14N_11, C14N_11_COMMENTS, EXC_C14N, EXC_C14N_COMMENTS}
)
#: Transforms a Reference may carry (besides C14N): only the enveloped-signature transform.
REFERENCE_TRANSFORMS: Final = C14N_METHODS | {ENVELOPED}

SHA1_URIS: Final = frozenset({SHA1, RSA_SHA1, ECDSA_SHA1, DSA_SHA1, HMAC_SHA1})

#: Production defaults: SHA-2 with RSA or ECDSA (Circular 15/2025 direction, SIGNATURES.md §1.6).
DEFAULT_SIGNATURE_METHODS: Final = frozenset(
    {RSA_SHA256, RSA_SHA384, RSA_SHA512, ECDSA_SHA256, ECDSA_SHA384, ECDSA_SHA512}
)
DEFAULT_DIGEST_METHODS: Final = frozenset({SHA256, SHA384, SHA512})
#: Added by ``SignaturePolicy.allow_sha1`` for legacy G1 / tax signatures, and flagged in reports.
LEGACY_SHA1_SIGNATURE_METHODS: Final = frozenset({RSA_SHA1, ECDSA_SHA1})
LEGACY_SHA1_DIGEST_METHODS: Final = frozenset({SHA1})

SHORT_NAMES: Final[dict[str, str]] = {
    C14N_10: "c14n",
    C14N_10_COMMENTS: "c14n#WithComments",
    C14N_11: "c14n11",
    C14N_11_COMMENTS: "c14n11#WithComments",
    EXC_C14N: "exc-c14n",
    EXC_C14N_COMMENTS: "exc-c14n#WithComments",
    ENVELOPED: "enveloped-signature",
    SHA1: "sha1",
    SHA224: "sha224",
    SHA256: "sha256",
    SHA384: "sha384",
    SHA512: "sha512",
    RSA_SHA1: "rsa-sha1",
    RSA_SHA224: "rsa-sha224",
    RSA_SHA256: "rsa-sha256",
    RSA_SHA384: "rsa-sha384",
    RSA_SHA512: "rsa-sha512",
    ECDSA_SHA1: "ecdsa-sha1",
    ECDSA_SHA224: "ecdsa-sha224",
    ECDSA_SHA256: "ecdsa-sha256",
    ECDSA_SHA384: "ecdsa-sha384",
    ECDSA_SHA512: "ecdsa-sha512",
    DSA_SHA1: "dsa-sha1",
}


def short_name(uri: str) -> str:
    """A readable name of an algorithm URI (the URI itself when unknown)."""
    return SHORT_NAMES.get(uri, uri)


#: The kind of key each public-key signature method needs.
KEY_KIND: Final[dict[str, str]] = {
    **dict.fromkeys((RSA_SHA1, RSA_SHA224, RSA_SHA256, RSA_SHA384, RSA_SHA512, RSA_MD5), "RSA"),
    **dict.fromkeys((ECDSA_SHA1, ECDSA_SHA224, ECDSA_SHA256, ECDSA_SHA384, ECDSA_SHA512), "ECDSA"),
    DSA_SHA1: "DSA",
}
_CURVES: Final = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


def key_kind(key: PublicKeyTypes) -> str:
    """``RSA``, ``ECDSA``, ``DSA`` or the key class's name."""
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ECDSA"
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA"
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return "EdDSA"
    return type(key).__name__


def describe_key(key: PublicKeyTypes | x509.Certificate) -> str:
    """``RSA-2048 key``, ``ECDSA P-256 key``: a key in the words a refusal uses."""
    public = key.public_key() if isinstance(key, x509.Certificate) else key
    if isinstance(public, rsa.RSAPublicKey | dsa.DSAPublicKey):
        return f"{key_kind(public)}-{public.key_size} key"
    if isinstance(public, ec.EllipticCurvePublicKey):
        return f"ECDSA {_CURVES.get(public.curve.name, public.curve.name)} key"
    return f"{key_kind(public)} key"


def key_mismatch(method: str, key: PublicKeyTypes | x509.Certificate) -> str | None:
    """Why ``method`` cannot have been computed with ``key``, or ``None`` when the kinds match.

    Asked when libxmlsec1 refused: given an RSA signature and an EC key it only says
    ``failed to verify``, which tells nobody that the certificate is the wrong one.
    """
    needed = KEY_KIND.get(method)
    public = key.public_key() if isinstance(key, x509.Certificate) else key
    if needed is None or needed == key_kind(public):
        return None
    return (
        f"the signature method {short_name(method)} needs {_an(needed)} key, but the signer "
        f"certificate carries {_an(describe_key(public))}: this certificate did not make this "
        f"signature (the algorithm does not match the key)"
    )


def _an(words: str) -> str:
    """``an RSA``, ``an ECDSA``, ``a DSA``: the article as the initialism is spoken."""
    return f"{'an' if words[:1] in set('AEFHILMNORSX') else 'a'} {words}"
