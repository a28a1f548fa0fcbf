"""Trust by pinned keys instead of by certificate path: for conformance vectors and the ceiling.

The axis verifies traffic against a :class:`~signing.truststore.TrustStore` (a path to a VGCA
anchor, revocation, time). Two callers need less: the W3C/libxmlsec interoperability vectors, whose
certificates expired decades ago and chain to test CAs (there the question is "is the XML-DSig
right?"), and the benchmark's ceiling (bare libxmlsec1 with a known key). ``PinnedKeys`` says so
explicitly in the call, so no production path can fall back to "trust whatever KeyInfo says".
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization


@dataclass(frozen=True, slots=True)
class PinnedKeys:
    """Accept signatures by exactly these certificates' keys, with no path validation.

    ``trust_document_keys`` (conformance testing only) also accepts the key the document itself
    carries in KeyInfo — never use it for traffic: anyone can sign with their own key.
    """

    certificates: tuple[x509.Certificate, ...] = ()
    trust_document_keys: bool = False

    def pins(self, cert: x509.Certificate) -> bool:
        """Whether ``cert`` is one of the pinned certificates (byte-exact)."""
        der = cert.public_bytes(serialization.Encoding.DER)
        return any(c.public_bytes(serialization.Encoding.DER) == der for c in self.certificates)
