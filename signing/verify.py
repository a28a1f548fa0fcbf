"""``verify``: the XML-DSig verdict on one document, in the order SIGNATURES.md §4.3 prescribes.

1. limits and hardened parse (:func:`edxml.xmlsafe.parse_xml`),
2. locate signatures at the profile's pinned paths with exact counts (:mod:`signing.locate`),
3. pre-check SignedInfo against the policy's allow-lists (:mod:`signing.precheck`),
   resolve references to unique IDs at allowed places (:mod:`signing.coverage`),
4. validate the signer's certificate path at the validation time (:mod:`signing.certpath`),
5. check references and SignatureValue with libxmlsec1 (:mod:`signing.engine`),
6. state what is covered and bind the signer to the sender (:mod:`signing.binding`).

Each step that fails stops that signature with one stable :class:`ReasonCode`. The claimed
``SigningTime`` is reported but never used as the validation time: the caller passes ``at`` (a
trusted time: receipt time, a timestamp token) or the verifier's clock is used.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeAlias

import structlog
import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from edxml.errors import EdxmlError
from edxml.xmlsafe import DEFAULT_LIMITS, XmlLimits, parse_xml
from signing import algorithms as alg
from signing.binding import agency_codes
from signing.certpath import PathPolicy, PathResult, PathValidator
from signing.coverage import (
    CoverageFacts,
    ResolvedReference,
    comment_in_covered,
    coverage_of,
    covers_edxml_attachments,
    id_index,
    resolve_references,
)
from signing.engine import verify_with_key, xmlsec_key
from signing.keyinfo import KeyMaterial, PublicKey, read_key_info
from signing.locate import element_path, locate
from signing.pinned import PinnedKeys
from signing.policy import SignaturePolicy
from signing.precheck import (
    SignatureAbsentError,
    SignatureRefusedError,
    SignedInfoFacts,
    check_not_dummy,
    precheck,
)
from signing.report import ReasonCode, SignatureDetail, SignatureReport
from signing.revocation import RevocationFetcher
from signing.truststore import TrustStore

Trust: TypeAlias = TrustStore | PathValidator | PinnedKeys
_log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class _Prepared:
    """One signature after steps 2-3, waiting for its certificate path (step 4)."""

    element: etree._Element
    where: str
    facts: SignedInfoFacts
    resolved: tuple[ResolvedReference, ...]
    keys: KeyMaterial
    cover: CoverageFacts
    claimed_signing_time: str | None
    signer_subject: str | None
    signer_serial: str | None


# --- validators are cached per (trust store, path policy, fetcher) so the per-certificate cache
# of PathValidator survives between calls that pass a TrustStore ------------------------------
_VALIDATORS: dict[tuple[int, PathPolicy, int], tuple[TrustStore, object, PathValidator]] = {}
_VALIDATORS_LOCK = threading.Lock()
_MAX_VALIDATORS = 16


def path_policy_for(policy: SignaturePolicy) -> PathPolicy:
    """The certificate-path policy implied by a signature policy."""
    return PathPolicy(
        revocation=policy.revocation,
        allow_sha1_chain=policy.allow_sha1,
        min_rsa_bits=policy.min_rsa_bits,
    )


def validator_for(
    trust: TrustStore, policy: SignaturePolicy, fetcher: RevocationFetcher | None = None
) -> PathValidator:
    """A (cached) :class:`PathValidator` for this trust store and policy."""
    path_policy = path_policy_for(policy)
    key = (id(trust), path_policy, id(fetcher))
    with _VALIDATORS_LOCK:
        hit = _VALIDATORS.get(key)
        if hit is not None and hit[0] is trust and hit[1] is fetcher:
            return hit[2]
        validator = PathValidator(trust, policy=path_policy, fetcher=fetcher)
        if len(_VALIDATORS) >= _MAX_VALIDATORS:
            _VALIDATORS.pop(next(iter(_VALIDATORS)))
        _VALIDATORS[key] = (trust, fetcher, validator)
        return validator


# Subject strings and agency codes by certificate *identity*: KeyInfo certificates are parsed once
# per distinct text (signing.keyinfo caches them) and path results are cached, so the same objects
# come back document after document; hashing a Certificate (its DER) costs more than the lookup.
_BY_IDENTITY: dict[int, tuple[x509.Certificate, str, frozenset[str], str]] = {}
_MAX_IDENTITIES = 4096


def _facts_of(cert: x509.Certificate) -> tuple[x509.Certificate, str, frozenset[str], str]:
    """(certificate, subject, agency codes upper-cased, serial in hex) by certificate identity."""
    hit = _BY_IDENTITY.get(id(cert))
    if hit is not None and hit[0] is cert:
        return hit
    if len(_BY_IDENTITY) >= _MAX_IDENTITIES:
        _BY_IDENTITY.clear()
    entry = (
        cert,
        cert.subject.rfc4514_string(),
        frozenset(c.upper() for c in agency_codes(cert)),
        format(cert.serial_number, "X"),
    )
    _BY_IDENTITY[id(cert)] = entry
    return entry


_KEYS: dict[int, tuple[x509.Certificate, PublicKey, int | None]] = {}


def _key_entry(cert: x509.Certificate) -> tuple[x509.Certificate, PublicKey, int | None]:
    """(certificate, ``cert.public_key()``, RSA size or ``None``) by certificate identity."""
    hit = _KEYS.get(id(cert))
    if hit is not None and hit[0] is cert:
        return hit
    key = cert.public_key()
    if not isinstance(key, PublicKey):
        raise TypeError(f"unsupported key type {type(key).__name__}")
    if len(_KEYS) >= _MAX_IDENTITIES:
        _KEYS.clear()
    entry = (cert, key, key.key_size if isinstance(key, rsa.RSAPublicKey) else None)
    _KEYS[id(cert)] = entry
    return entry


def _subject(cert: x509.Certificate) -> str:
    return _facts_of(cert)[1]


def _serial(cert: x509.Certificate) -> str:
    return _facts_of(cert)[3]


def names_agency(cert: x509.Certificate, code: str) -> bool:
    """Whether ``cert`` names exactly this agency code (see :mod:`signing.binding`)."""
    wanted = code.strip().upper()
    return bool(wanted) and wanted in _facts_of(cert)[2]


def _claimed_signing_time(signature: etree._Element) -> str | None:
    for element in signature.iter("{*}SigningTime"):
        return (element.text or "").strip() or None
    return None


def _absent(policy: SignaturePolicy, message: str, where: str, at: datetime) -> SignatureReport:
    ok = policy.mode != "require"
    return SignatureReport(
        status="absent",
        valid=ok,
        reason=ReasonCode.ABSENT,
        message=message if ok else f"{message}; the policy requires a signature",
        location=where,
        profile=policy.profile.name,
        validated_at=at,
    )


def _refused(
    policy: SignaturePolicy, reason: ReasonCode, message: str, where: str, at: datetime
) -> SignatureReport:
    return SignatureReport(
        status="invalid",
        valid=False,
        reason=reason,
        message=message,
        location=where,
        profile=policy.profile.name,
        validated_at=at,
    )


def _tree(
    data_or_tree: bytes | etree._ElementTree | etree._Element, limits: XmlLimits
) -> etree._Element:
    if isinstance(data_or_tree, bytes | bytearray | memoryview):
        return parse_xml(bytes(data_or_tree), limits).getroot()
    if isinstance(data_or_tree, etree._ElementTree):
        return data_or_tree.getroot()
    return data_or_tree


class _Run:
    """One verification: the steps before and after the (sync or async) path validation."""

    def __init__(self, policy: SignaturePolicy, at: datetime | None) -> None:
        self.policy = policy
        self.at = at or datetime.now(UTC)
        self.time_source = "caller" if at is not None else "verifier-clock"
        self.sender: etree._Element | None = None

    def prepare(self, root: etree._Element) -> SignatureReport | list[_Prepared]:
        """Steps 2-3 for every signature; a report when the document is already decided."""
        policy = self.policy
        profile = policy.profile
        if (
            profile.root_namespace is not None
            and etree.QName(root).namespace != profile.root_namespace
        ):
            return _refused(
                policy,
                ReasonCode.UNEXPECTED_LOCATION,
                f"the document root is not of the {profile.name} profile",
                element_path(root),
                self.at,
            )
        found = locate(root, profile)
        if found.misplaced:
            where = element_path(found.misplaced[0])
            return _refused(
                policy,
                ReasonCode.UNEXPECTED_LOCATION,
                f"a Signature at {where} is outside the places the {profile.name} profile allows",
                where,
                self.at,
            )
        if found.ambiguous:
            where = element_path(found.ambiguous[0])
            return _refused(
                policy,
                ReasonCode.UNEXPECTED_LOCATION,
                f"{where} repeats an element of the pinned signature path",
                where,
                self.at,
            )
        if found.wrong_namespace:
            where = element_path(found.wrong_namespace[0])
            if not "".join(str(t) for t in found.wrong_namespace[0].itertext()).strip():
                return _absent(policy, "an empty Signature placeholder", where, self.at)
            return _refused(
                policy,
                ReasonCode.WRONG_NAMESPACE,
                "a Signature outside the XML-DSig namespace cannot be verified",
                where,
                self.at,
            )
        if len(found.signatures) > profile.max_signatures:
            return _refused(
                policy,
                ReasonCode.TOO_MANY,
                f"{len(found.signatures)} signatures; the {profile.name} profile allows "
                f"{profile.max_signatures}",
                element_path(found.signatures[-1]),
                self.at,
            )
        if not found.signatures:
            where = (
                element_path(found.placeholders[0]) if found.placeholders else element_path(root)
            )
            what = "an empty DigitalSignature placeholder" if found.placeholders else "no signature"
            return _absent(policy, what, where, self.at)

        # the sender element is looked up now, while the tree is in cache (it is only *judged*
        # in step 6, after the crypto, so the order of refusals is unchanged)
        if policy.require_sender_binding and profile.sender_path is not None:
            self.sender = _find_path(root, profile.sender_path)
        # the ID index (a walk over every element) is built only when a reference is "#id"
        ids: dict[str, list[tuple[etree._Element, str]]] | None = None
        prepared: list[_Prepared] = []
        for element in found.signatures:
            where = element_path(element)
            children = list(element)  # read once for the dummy test, pre-check and KeyInfo
            try:
                check_not_dummy(element, children)
            except SignatureAbsentError as absent:
                if len(found.signatures) == 1:
                    return _absent(policy, str(absent), where, self.at)
                return _refused(policy, ReasonCode.MALFORMED, str(absent), where, self.at)
            try:
                facts = precheck(element, policy, where, children)
                if ids is None and any(r.uri.startswith("#") for r in facts.references):
                    ids = id_index(root)
                resolved = resolve_references(element, facts.references, ids or {}, profile)
                keys = read_key_info(element, where, children)
                comment = comment_in_covered(element, resolved) if policy.refuse_comments else None
                if comment is not None:
                    raise SignatureRefusedError(
                        ReasonCode.COMMENT_IN_SIGNED_DATA,
                        "a comment or processing instruction inside signed content",
                        _path_of_node(comment, root),
                    )
            except SignatureRefusedError as refused:
                return _refused(policy, refused.reason, refused.message, refused.location, self.at)
            except (
                ValueError,
                TypeError,
                xmlsec.Error,
            ) as exc:  # hostile shapes we did not foresee
                return _refused(
                    policy, ReasonCode.MALFORMED, f"unreadable signature: {exc}", where, self.at
                )
            prepared.append(
                _Prepared(
                    element,
                    where,
                    facts,
                    resolved,
                    keys,
                    coverage_of(element, resolved),
                    _claimed_signing_time(element),
                    _subject(keys.leaf) if keys.leaf is not None else None,
                    _serial(keys.leaf) if keys.leaf is not None else None,
                )
            )
        return prepared

    def finish(
        self,
        root: etree._Element,
        prepared: list[_Prepared],
        paths: list[PathResult | None],
        trust: Trust,
    ) -> SignatureReport:
        """Steps 5-6 for every prepared signature, then the document verdict."""
        details: list[SignatureDetail] = []
        for item, path in zip(prepared, paths, strict=True):
            details.append(self._finish_one(root, item, path, trust))
        failed = next((d for d in details if not d.valid), None)
        policy = self.policy
        if failed is not None:
            return SignatureReport(
                status="invalid",
                valid=False,
                reason=failed.reason,
                message=failed.message,
                location=failed.failed_reference or failed.location,
                profile=policy.profile.name,
                signatures=tuple(details),
                validated_at=self.at,
            )
        return SignatureReport(
            status="valid",
            valid=True,
            reason=ReasonCode.OK,
            message=f"{len(details)} valid signature(s)",
            location=details[0].location,
            profile=policy.profile.name,
            signatures=tuple(details),
            validated_at=self.at,
        )

    def _finish_one(
        self, root: etree._Element, item: _Prepared, path: PathResult | None, trust: Trust
    ) -> SignatureDetail:
        facts = item.facts
        # Everything the detail states except the verdict, gathered before the crypto: Python work
        # right after libxmlsec1 runs with cold caches, so as little as possible is left for then.
        fields: dict[str, Any] = {
            "location": item.where,
            "signer_subject": item.signer_subject,
            "signer_serial": item.signer_serial,
            "issuer_chain": tuple(_subject(c) for c in path.chain[1:]) if path else (),
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
        policy_refusal = self._policy_checks(root, item)
        if policy_refusal is not None:
            after_crypto = done(False, *policy_refusal)
        else:
            sha1 = " (legacy SHA-1, allowed by policy)" if item.facts.legacy_sha1 else ""
            after_crypto = done(True, ReasonCode.OK, f"valid{sha1}")
        candidates = self._keys(item, trust)
        if not candidates:
            return done(False, ReasonCode.CERT_UNTRUSTED_ROOT, "no trusted key for this signature")
        last: SignatureRefusedError | None = None
        for key in candidates:
            try:
                weak = _weak_key(key, self.policy.min_rsa_bits)
            except TypeError as exc:
                return done(False, ReasonCode.KEY_INFO, str(exc))
            if weak:
                return done(False, ReasonCode.CERT_WEAK_KEY, weak)
            try:
                # the certificate itself: signing.engine caches its libxmlsec1 key by identity
                verify_with_key(
                    item.element, item.facts, item.resolved, xmlsec_key(key), item.where
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

    def _keys(self, item: _Prepared, trust: Trust) -> list[x509.Certificate | PublicKey]:
        if not isinstance(trust, PinnedKeys):
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

    def _policy_checks(
        self, root: etree._Element, item: _Prepared
    ) -> tuple[ReasonCode, str] | None:
        """Coverage and sender binding (step 6); ``None`` when the policy is met."""
        policy = self.policy
        profile = policy.profile
        base = item.cover
        if (
            policy.require_full_coverage
            and profile.name == "edxml"
            and not covers_edxml_attachments(item.element, base)
        ):
            covered = ", ".join(base.covered) or "nothing"
            return (
                ReasonCode.COVERAGE_INCOMPLETE,
                f"the signature covers {covered}, not the whole document with its attachments",
            )
        if policy.require_sender_binding and profile.sender_path is not None:
            sender = self.sender
            code = (sender.text or "").strip() if sender is not None else ""
            leaf = item.keys.leaf
            if sender is None or not code:
                return ReasonCode.SIGNER_UNBOUND, "the document names no sender to bind to"
            if leaf is None:
                return ReasonCode.SIGNER_UNBOUND, "no signer certificate to bind to the sender"
            if base.coverage != "whole-document" and not _is_covered(sender, item):
                return ReasonCode.SIGNER_UNBOUND, "the sender element is not signed"
            if not _facts_of(leaf)[2]:
                return (
                    ReasonCode.SIGNER_UNBOUND,
                    f"the signer certificate ({_subject(leaf)}) names no agency code to bind to "
                    f"the sender {code}",
                )
            if not names_agency(leaf, code):
                return (
                    ReasonCode.SIGNER_NOT_SENDER,
                    f"the signer certificate ({_subject(leaf)}) does not name the sender {code}",
                )
        return None


def _path_of_node(node: etree._Element, root: etree._Element) -> str:
    parent = node.getparent()
    return element_path(parent if parent is not None else root)


@lru_cache(maxsize=64)
def _path_tags(namespace: str | None, path: tuple[str, ...]) -> tuple[str, ...]:
    prefix = f"{{{namespace}}}" if namespace else ""
    return tuple(prefix + name for name in path)


def _find_path(root: etree._Element, path: tuple[str, ...]) -> etree._Element | None:
    """The element at ``path`` (local names, root first), all in the root's namespace.

    The first match in document order, as the absolute XPath ``/edXML/.../OrganId`` gives: the
    candidates of the last name come from one C-level walk in document order, and the first
    whose ancestors are exactly the path up to the document root is it (cheaper per document
    than evaluating an XPath or a Python depth-first walk).
    """
    tags = _path_tags(etree.QName(root).namespace, path)
    top = root.getroottree().getroot()
    if not tags or top.tag != tags[0]:
        return None
    if len(tags) == 1:
        return top
    parents = tags[-2::-1]  # the expected parent first, the root last
    for candidate in top.iter(tags[-1]):
        node = candidate.getparent()
        for tag in parents:
            if node is None or node.tag != tag:
                break
            node = node.getparent()
        else:
            if node is None:
                return candidate
    return None


def _is_covered(element: etree._Element, item: _Prepared) -> bool:
    targets = {r.target for r in item.resolved}
    return element in targets or any(a in targets for a in element.iterancestors())


def _weak_key(key: x509.Certificate | PublicKey, min_bits: int) -> str | None:
    if isinstance(key, x509.Certificate):
        rsa_bits = _key_entry(key)[2]
    else:
        rsa_bits = key.key_size if isinstance(key, rsa.RSAPublicKey) else None
    if rsa_bits is not None and rsa_bits < min_bits:
        return f"RSA key of {rsa_bits} bits is under the minimum of {min_bits}"
    return None


def _prepare(
    data_or_tree: bytes | etree._ElementTree | etree._Element,
    policy: SignaturePolicy,
    at: datetime | None,
    limits: XmlLimits,
) -> tuple[_Run, etree._Element | None, SignatureReport | list[_Prepared]]:
    run = _Run(policy, at)
    if policy.mode == "off":
        report = SignatureReport(
            status="skipped",
            valid=True,
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
            _refused(
                policy, ReasonCode.XML_REFUSED, f"{exc.code}: {exc.message}", exc.location, run.at
            ),
        )
    return run, root, run.prepare(root)


def _path_jobs(
    prepared: list[_Prepared],
    trust: Trust,
    policy: SignaturePolicy,
    fetcher: RevocationFetcher | None,
    at: datetime,
) -> list[Callable[[], PathResult] | None]:
    if isinstance(trust, PinnedKeys):
        return [None for _ in prepared]
    validator = trust if isinstance(trust, PathValidator) else validator_for(trust, policy, fetcher)
    jobs: list[Callable[[], PathResult] | None] = []
    for item in prepared:
        leaf = item.keys.leaf
        if leaf is None:
            jobs.append(None)
            continue
        extra = item.keys.others

        def job(
            leaf: x509.Certificate = leaf, extra: tuple[x509.Certificate, ...] = extra
        ) -> PathResult:
            return validator.validate_sync(leaf, extra, at=at)

        jobs.append(job)
    return jobs


def _missing_certificate(
    run: _Run, state: list[_Prepared], trust: Trust, policy: SignaturePolicy
) -> SignatureReport | None:
    """A refusal when a path must be validated but a signature carries no certificate."""
    if isinstance(trust, PinnedKeys) or all(item.keys.leaf is not None for item in state):
        return None
    return _refused(
        policy,
        ReasonCode.KEY_INFO,
        "the signature carries no X509 certificate",
        state[0].where,
        run.at,
    )


def verify(
    data_or_tree: bytes | etree._ElementTree | etree._Element,
    *,
    trust: Trust,
    at: datetime | None = None,
    policy: SignaturePolicy | None = None,
    fetcher: RevocationFetcher | None = None,
    limits: XmlLimits = DEFAULT_LIMITS,
) -> SignatureReport:
    """Verify the signatures of one document; never raises for bad input, returns a report.

    ``trust`` is a :class:`TrustStore` (a cached :class:`PathValidator` is made for it), a
    ready :class:`PathValidator` (its own path policy applies), or :class:`PinnedKeys`.
    ``at`` is the trusted validation time (default: now). ``fetcher`` fetches CRL/OCSP for the
    path validator (``None``: no network; offline data only).
    """
    policy = policy or SignaturePolicy()
    run, root, state = _prepare(data_or_tree, policy, at, limits)
    if isinstance(state, SignatureReport) or root is None:
        return _logged(state)  # type: ignore[arg-type]
    missing = _missing_certificate(run, state, trust, policy)
    if missing is not None:
        return _logged(missing)
    jobs = _path_jobs(state, trust, policy, fetcher, run.at)
    try:
        paths = [job() if job is not None else None for job in jobs]
    except Exception as exc:  # the path builder choked on an attacker-supplied certificate
        return _logged(
            _refused(
                policy,
                ReasonCode.CERT_INVALID,
                f"unreadable certificate: {type(exc).__name__}: {exc}",
                state[0].where,
                run.at,
            )
        )
    return _logged(run.finish(root, state, paths, trust))


async def verify_async(
    data_or_tree: bytes | etree._ElementTree | etree._Element,
    *,
    trust: Trust,
    at: datetime | None = None,
    policy: SignaturePolicy | None = None,
    fetcher: RevocationFetcher | None = None,
    limits: XmlLimits = DEFAULT_LIMITS,
) -> SignatureReport:
    """:func:`verify` for an event loop: the certificate path (revocation fetches) is awaited."""
    policy = policy or SignaturePolicy()
    run, root, state = _prepare(data_or_tree, policy, at, limits)
    if isinstance(state, SignatureReport) or root is None:
        return _logged(state)  # type: ignore[arg-type]
    missing = _missing_certificate(run, state, trust, policy)
    if missing is not None:
        return _logged(missing)
    paths: list[PathResult | None] = []
    if isinstance(trust, PinnedKeys):
        paths = [None for _ in state]
    else:
        validator = (
            trust if isinstance(trust, PathValidator) else validator_for(trust, policy, fetcher)
        )
        for item in state:
            assert item.keys.leaf is not None
            pending: Awaitable[PathResult] = validator.validate(
                item.keys.leaf, item.keys.others, at=run.at
            )
            try:
                paths.append(await pending)
            except Exception as exc:  # as in verify(): never raise on hostile input
                return _logged(
                    _refused(
                        policy,
                        ReasonCode.CERT_INVALID,
                        f"unreadable certificate: {type(exc).__name__}: {exc}",
                        item.where,
                        run.at,
                    )
                )
    return _logged(run.finish(root, state, paths, trust))


def _logged(report: SignatureReport) -> SignatureReport:
    """Log refusals (the events an operator acts on); valid documents are counted, not logged."""
    if report.valid:
        return report
    _log.info(
        "signature.refused",
        status=report.status,
        reason=str(report.reason),
        profile=report.profile,
        signer=report.signer.signer_subject if report.signer else None,
    )
    return report
