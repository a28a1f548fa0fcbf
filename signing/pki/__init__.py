"""A complete, throw-away test PKI in the VGCA style, and a loopback CRL/OCSP responder for it.

FOR TESTS, DEMOS AND BENCHMARKS ONLY: private keys are written as UNENCRYPTED PEM files next to the
certificates, because tests and the demo responder must sign with them without a passphrase.

Why build it ourselves: the real VGCA hierarchy (SIGNATURES.md §1) cannot sign test documents for
us, yet every case a verifier must refuse (expired, revoked, wrong key usage, SHA-1 chain, CA used
as signer, foreign anchor ...) needs a certificate that really has that property. The profiles
mirror the real ones: UTF-8 Vietnamese DNs, critical BasicConstraints/KeyUsage, policy OID
2.16.704.1.1.1.1.1, EKU clientAuth+emailProtection+smart-card logon, CDP/AIA URLs -- here pointing
at ``base_url`` so :class:`RevocationServer` can answer them on 127.0.0.1.

Agency identity: real G2 organisation certificates name the agency only in O/OU/CN/L and an e-mail
SAN; SIGNATURES.md §1.4 says authorisation must come from the registry, not from the DN. To let the
axis bind a signer to the envelope's sender we also carry the agency code (mã định danh) in the
subject's ``UID`` attribute (OID 0.9.2342.19200300.100.1.1) as ``MDDT:<code>``, the way Vietnamese
certificates carry ``MST:<tax id>`` in that attribute; :func:`signing.binding.agency_codes`
reads it back.

The G1-style chain is SHA-1 signed: cryptography refuses to sign with SHA-1, so those three
certificates are made with the ``openssl`` command line (fixed argument lists, no shell).

The package is split along its ideas: :mod:`signing.pki.model` (what was issued and revoked, read
back from disk), :mod:`signing.pki.issuer` (certificate profiles, the openssl SHA-1 chain),
:mod:`signing.pki.build` (the whole set of cases), :mod:`signing.pki.responses` (CRLs and OCSP
answers) and :mod:`signing.pki.server` (the loopback responder).
"""

from __future__ import annotations

from signing.errors import PkiError
from signing.pki.build import build_test_pki
from signing.pki.model import (
    AGENCY_CODE_PREFIX,
    DEFAULT_BASE_URL,
    MANIFEST,
    SMARTCARD_LOGON_OID,
    VN_POLICY_OID,
    Issued,
    Revocation,
    SigningKey,
    TestPki,
    load_test_pki,
)
from signing.pki.responses import make_crl, make_ocsp_response
from signing.pki.server import RevocationServer

__all__ = [
    "AGENCY_CODE_PREFIX",
    "DEFAULT_BASE_URL",
    "MANIFEST",
    "SMARTCARD_LOGON_OID",
    "VN_POLICY_OID",
    "Issued",
    "PkiError",
    "Revocation",
    "RevocationServer",
    "SigningKey",
    "TestPki",
    "build_test_pki",
    "load_test_pki",
    "make_crl",
    "make_ocsp_response",
]
