"""One verification run: the steps of SIGNATURES.md §4.3 around the certificate path.

1. limits and hardened parse (:func:`edxml.xmlsafe.parse_xml`),
2. locate signatures at the profile's pinned paths with exact counts (:mod:`signing.locate`),
3. pre-check SignedInfo against the policy's allow-lists (:mod:`signing.precheck`),
   resolve references to unique IDs at allowed places (:mod:`signing.coverage`) -- steps 2-3
   are :mod:`signing.prepare`,
4. validate the signer's certificate path at the validation time -- NOT here: the
   :class:`signing.Verifier` does it between :meth:`Run.prepare` and :meth:`Run.finish`, awaited
   on the caller's loop or run on its own, so this module stays free of event loops,
5. check references and SignatureValue with libxmlsec1 (:mod:`signing.engine`),
6. state what is covered and bind the signer to the sender (:mod:`signing.acceptance`).

Each step that fails stops that signature with one stable :class:`ReasonCode`. The claimed
``SigningTime`` is reported but never used as the validation time: the caller passes ``at`` (a
trusted time: receipt time, a timestamp token) or the verifier's clock is used.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog
import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from edxml.errors import EdxmlError
from edxml.xmlsafe import XmlLimits, parse_xml
from signing import algorithms as alg
from signing.acceptance import policy_refusal
from signing.certfacts import CertFacts, CertFactsCache
from signing.certpath import PathResult
from signing.engine import verify_with_key, xmlsec_key
from signing.keyinfo import PublicKey
from signing.pinned import PinnedKeys
from signing.policy import SignaturePolicy
from signing.precheck import (
    SignatureRefusedError,
)
from signing.prepare import Prepared, prepare_signatures
from signing.report import ReasonCode, SignatureDetail, SignatureReport
from signing.verdicts import refused as refused_report

Document = bytes | etree._ElementTree | etree._Element
_log = structlog.get_logger()


def _tree(data_or_tree: Document, limits: XmlLimits) -> etree._Element:
    if isinstance(data_or_tree, bytes | bytearray | memoryview):
        return parse_xml(bytes(data_or_tree), limits).getroot()
    if isinstance(data_or_tree, etree._ElementTree):
        return data_or_tree.getroot()
    return data_or_tree


class Run:
    """One verification: the steps before and after the (sync or async) path validation.

    ``certs`` is the verifier's table of certificate facts, shared by its runs.
    """

    def __init__(self, policy: SignaturePolicy, at: datetime | None, certs: CertFactsCache) -> None:
        self.policy = policy
        self.certs = certs
        self.at = at or datetime.now(UTC)
        self.time_source = "caller" if at is not None else "verifier-clock"
        self.sender: etree._Element | None = None

    def prepare(self, root: etree._Element) -> SignatureReport | list[Prepared]:
        """Steps 2-3 for every signature (:func:`signing.prepare.prepare_signatures`); a report
        when the document is already decided."""
        self.sender, outcome = prepare_signatures(root, self.policy, self.at, self.certs)
        return outcome

    def finish(
        self,
        root: etree._Element,
        prepared: list[Prepared],
        paths: list[PathResult | None],
        pinned: PinnedKeys | None,
    ) -> SignatureReport:
        """Steps 5-6 for every prepared signature, then the document verdict."""
        details: list[SignatureDetail] = []
        for item, path in zip(prepared, paths, strict=True):
            details.append(self._finish_one(root, item, path, pinned))
        failed = next((d for d in details if not d.valid), None)
        policy = self.policy
        if failed is not None:
            return SignatureReport(
                status="invalid",
                accepted=False,
                reason=failed.reason,
                message=failed.message,
                location=failed.failed_reference or failed.location,
                profile=policy.profile.name,
                signatures=tuple(details),
                validated_at=self.at,
            )
        return SignatureReport(
            status="valid",
            accepted=True,
            reason=ReasonCode.OK,
            message=f"{len(details)} valid signature(s)",
            location=details[0].location,
            profile=policy.profile.name,
            signatures=tuple(details),
            validated_at=self.at,
        )

    def _finish_one(
        self,
        root: etree._Element,
        item: Prepared,
        path: PathResult | None,
        pinned: PinnedKeys | None,
    ) -> SignatureDetail:
        facts = item.facts
        # Everything the detail states except the verdict, gathered before the crypto: Python work
        # right after libxmlsec1 runs with cold caches, so as little as possible is left for then.
        fields: dict[str, Any] = {
            "location": item.where,
            "signer_subject": item.signer.subject if item.signer else None,
            "signer_serial": item.signer.serial if item.signer else None,
            **_binding_fields(item.signer),
            "issuer_chain": tuple(self.certs.of(c).subject for c in path.chain[1:]) if path else (),
            "signature_method": alg.short_name(facts.signature_method),
            "digest_methods": tuple(alg.short_name(r.digest_method) for r in facts.references),
            "c14n_method": alg.short_name(facts.c14n_method),
            "legacy_sha1": facts.legacy_sha1,
            "coverage": item.cover.coverage,
            "covered": item.cover.covered,
            "claimed_signing_time": item.claimed_signing_time,
            "validated_at": path.validated_at if path is not None else self.at,
            "time_source": self.time_source,
            "revocation_status": path.revocation.status if path is not None else None,
            "revocation_source": path.revocation.source if path is not None else None,
            "revocation_detail": path.revocation.detail if path is not None else None,
        }

        def done(
            valid: bool, reason: ReasonCode, message: str, location: str | None = None
        ) -> SignatureDetail:
            """The one detail of this signature, built once with its verdict (no copies)."""
            return SignatureDetail(
                valid=valid, reason=reason, message=message, failed_reference=location, **fields
            )

        if path is not None and not path.ok:
            return done(False, ReasonCode.from_path_reason(path.reason), path.message)
        # Step 6 is *evaluated* here, before the crypto, and its detail built, but it is only
        # *returned* once the crypto has passed: the refusal order of SIGNATURES.md §4.3 is
        # unchanged (step 6 is a pure function of the tree and the certificate; nothing in it
        # depends on the crypto outcome, and a crypto failure still wins).
        refusal = policy_refusal(
            self.policy, item.element, item.cover, item.resolved, self.sender, item.signer
        )
        if refusal is not None:
            after_crypto = done(False, *refusal)
        else:
            sha1 = " (legacy SHA-1, allowed by policy)" if item.facts.legacy_sha1 else ""
            after_crypto = done(True, ReasonCode.OK, f"valid{sha1}")
        candidates = self._keys(item, pinned)
        if not candidates:
            return done(False, ReasonCode.CERT_UNTRUSTED_ROOT, "no trusted key for this signature")
        last: SignatureRefusedError | None = None
        for key in candidates:
            try:
                weak = self._weak_key(key)
            except TypeError as exc:
                return done(False, ReasonCode.KEY_INFO, str(exc))
            if weak:
                return done(False, ReasonCode.CERT_WEAK_KEY, weak)
            try:
                verify_with_key(
                    item.element,
                    item.facts,
                    item.resolved,
                    self._xmlsec_key(key),
                    item.where,
                    signer=key,
                )
                last = None
                break
            except SignatureRefusedError as refused:
                last = refused
        if last is not None:
            if item.keys.leaf is None and item.keys.key_value is None and len(candidates) > 1:
                # none of the pinned keys fits and the document names its key in a way we do
                # not resolve (KeyName, SecurityTokenReference...): say so, not "bad signature"
                return done(
                    False,
                    ReasonCode.KEY_INFO,
                    "KeyInfo names no key we can use, and no pinned key verifies the signature",
                )
            return done(False, last.reason, last.message, last.location)
        return after_crypto  # the crypto passed: now step 6's verdict counts

    def _keys(self, item: Prepared, trust: PinnedKeys | None) -> list[x509.Certificate | PublicKey]:
        """The keys to try: the leaf (its path was validated), or what the pins allow."""
        if trust is None:
            return [item.keys.leaf] if item.keys.leaf is not None else []
        keys: list[x509.Certificate | PublicKey] = []
        if item.keys.leaf is not None:
            if trust.trust_document_keys or trust.pins(item.keys.leaf):
                keys.append(item.keys.leaf)
            return keys
        if item.keys.key_value is not None and trust.trust_document_keys:
            keys.append(item.keys.key_value)
        keys.extend(trust.certificates)
        return keys

    def _weak_key(self, key: x509.Certificate | PublicKey) -> str | None:
        """Why an RSA key is too short for the policy; ``TypeError`` for a key type we refuse."""
        if isinstance(key, x509.Certificate):
            facts = self.certs.of(key)
            if facts.public_key is None:
                raise TypeError(f"unsupported key type {type(key.public_key()).__name__}")
            rsa_bits = facts.rsa_bits
        else:
            rsa_bits = key.key_size if isinstance(key, rsa.RSAPublicKey) else None
        min_bits = self.policy.min_rsa_bits
        if rsa_bits is not None and rsa_bits < min_bits:
            return f"RSA key of {rsa_bits} bits is under the minimum of {min_bits}"
        return None

    def _xmlsec_key(self, key: x509.Certificate | PublicKey) -> xmlsec.Key:
        """The libxmlsec1 key: per certificate from the verifier's table, else from the key."""
        if isinstance(key, x509.Certificate):
            return self.certs.xmlsec_key(key)
        return xmlsec_key(key)


def _binding_fields(signer: CertFacts | None) -> dict[str, Any]:
    """The facts a sender binding is judged on (signing.binding; the axis does it, with the
    admins' bindings, in the serving process: axis.signers)."""
    if signer is None:
        return {}
    return {
        "signer_sha256": signer.sha256 or None,
        "signer_issuer": signer.issuer or None,
        "signer_issuer_serial": signer.issuer_serial or None,
        "signer_agency": signer.codes.implicit,
        "signer_codes": signer.codes.named,
    }


def start(
    data_or_tree: Document,
    policy: SignaturePolicy,
    at: datetime | None,
    limits: XmlLimits,
    certs: CertFactsCache,
) -> tuple[Run, etree._Element | None, SignatureReport | list[Prepared]]:
    """Steps 1-3: the run, the document root, and either its verdict or the signatures to
    validate (a verdict already when the policy is off, the XML is refused, or nothing is signed).
    """
    run = Run(policy, at, certs)
    if policy.mode == "off":
        report = SignatureReport(
            status="skipped",
            accepted=True,
            reason=ReasonCode.OK,
            message="signature policy is off",
            profile=policy.profile.name,
            validated_at=run.at,
        )
        return run, None, report
    try:
        root = _tree(data_or_tree, limits)
    except EdxmlError as exc:
        return (
            run,
            None,
            refused_report(
                policy, ReasonCode.XML_REFUSED, f"{exc.code}: {exc.message}", exc.location, run.at
            ),
        )
    return run, root, run.prepare(root)
