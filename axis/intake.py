"""The intake's checks: a document's way from bytes to routes, as small stages composed in one place.

Each stage takes the package's :class:`Intake` so far and returns it with its own facts added (the
structlog habit: plain functions, each testable alone, reordered in one tuple). A stage that
refuses sets ``refusal``; later stages still run where they can, so a sender learns everything
wrong at once. The broker runs the format and signature stages in its worker processes
(:mod:`axis.intake_pool`, :mod:`axis.intake_worker`) and resolves the routes itself
(:mod:`axis.send`); ``axis run`` runs all three over a corpus.

Stages: :func:`check_format` (edxml: hardened parse, XSD, rules) -> :func:`check_signature`
(signing, under the configured policy) -> :func:`check_signer` (the signer bound to From:
:mod:`axis.signer_check`) -> :func:`resolve_routes` (registry: each recipient, read with the
meaning its code had when the document was written).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Final, Protocol

import structlog
from lxml import etree

import edxml
from axis.config import AxisConfig
from axis.signer_check import BindingTable, judge_signer
from edxml import Document, EdxmlError, Problem, Status
from edxml.spool import SPOOL_THRESHOLD
from edxml.xmlsafe import XmlLimits, parse_xml
from registry.model import VN_TZ, vn_midnight
from registry.registry import Registry, Resolution
from signing import SignatureReport

_log = structlog.get_logger("axis.intake")


class SignatureVerifier(Protocol):
    """What the signature stage needs: :class:`signing.Verifier` (owned by whoever runs the
    intake: a worker process, ``axis run``), which keeps its path validator and caches."""

    def verify(
        self,
        data_or_tree: bytes | etree._ElementTree,
        *,
        at: dt.datetime | None = ...,
        limits: XmlLimits = ...,
    ) -> SignatureReport: ...


@dataclass(frozen=True, slots=True)
class IntakeContext:
    """What every stage may read: the configuration, one registry version, the verifier.

    ``registry`` is None where the routes are resolved elsewhere (the broker's worker processes
    check and verify; the serving process resolves against the registry version it holds).
    """

    config: AxisConfig
    registry: Registry | None
    verifier: SignatureVerifier
    received_at: dt.datetime  # the axis's own clock: the trusted time for signatures and routes
    signers: BindingTable = field(default_factory=BindingTable)  # none: implicit binding only


@dataclass(frozen=True, slots=True)
class Intake:
    """One package on its way in: the bytes, and what each stage found."""

    data: bytes
    tree: etree._ElementTree | None = None  # the one parse the format and signature share
    check: edxml.CheckResult | None = None
    signature: SignatureReport | None = None
    routes: tuple[Resolution, ...] = ()
    refusal: Problem | None = None

    @property
    def accepted(self) -> bool:
        return self.refusal is None

    @property
    def package(self) -> edxml.Package | None:
        return None if self.check is None else self.check.package

    def refuse(self, problem: Problem) -> Intake:
        """The first refusal is the one reported; later ones are in the stages' own facts."""
        return self if self.refusal is not None else replace(self, refusal=problem)


Stage = Callable[[Intake, IntakeContext], Intake]


def check_format(intake: Intake, ctx: IntakeContext) -> Intake:
    """edXML: hardened parse, the project's XSD and the rules (tolerant mode)."""
    today = ctx.received_at.astimezone(VN_TZ).date()
    limits = ctx.config.xml_limits()
    tree = _shared_tree(intake.data, limits)
    source = intake.data if tree is None else tree
    result = edxml.check(source, limits=limits, today=today)
    intake = replace(intake, tree=tree, check=result)
    return intake.refuse(result.errors[0]) if result.errors else intake


def _shared_tree(data: bytes, limits: XmlLimits) -> etree._ElementTree | None:
    """One parse for the format and the signature stages: the same bytes through the same
    hardened parser under the same limits, so one tree serves both. Not above the spooling
    threshold, where edxml moves attachments out of its tree while parsing (the verifier then
    parses for itself), nor for XML the parser refuses (edxml reports that, precisely)."""
    if len(data) > SPOOL_THRESHOLD:
        return None
    try:
        return parse_xml(data, limits)
    except EdxmlError:
        return None


def check_signature(intake: Intake, ctx: IntakeContext) -> Intake:
    """XML-DSig under the configured policy, at the axis's receipt time."""
    if intake.package is None:
        return intake
    source = intake.data if intake.tree is None else intake.tree
    report = ctx.verifier.verify(source, at=ctx.received_at, limits=ctx.config.xml_limits())
    intake = replace(intake, signature=report)
    if report.accepted:
        return intake
    return intake.refuse(Problem(str(report.reason), report.message, report.location))


def check_signer(intake: Intake, ctx: IntakeContext) -> Intake:
    """The verified signer must be bound to the sender (:func:`axis.signer_check.judge_signer`);
    the broker runs this in its serving process, with the store's bindings (:mod:`axis.send`)."""
    report, package = intake.signature, intake.package
    if report is None or package is None or not report.signatures:
        return intake
    sender = (
        package.from_.organ_id if isinstance(package, Status) else package.header.from_.organ_id
    )
    signature = {**report.signatures[0].as_dict(), "status": report.status}
    verdict = judge_signer(
        signature, sender or "", ctx.signers, required=ctx.config.require_sender_binding
    )
    return intake if verdict.refusal is None else intake.refuse(verdict.refusal)


def recipients(package: edxml.Package) -> tuple[list[str], dt.datetime | None]:
    """Codes to route to, and when the sender wrote them (its local date, as an instant)."""
    if isinstance(package, Status):
        # A status goes back to the original document's issuer, named as of that document's date.
        answered = package.response_for
        written = None
        if answered.promulgation_date is not None:
            written = vn_midnight(answered.promulgation_date)
        elif package.timestamp is not None:
            written = package.timestamp.replace(tzinfo=VN_TZ)
        return ([answered.organ_id] if answered.organ_id else []), written
    assert isinstance(package, Document)
    info = package.header.promulgation_info
    written = vn_midnight(info.date) if info is not None and info.date is not None else None
    return [org.organ_id for org in package.header.to if org.organ_id], written


ROUTE_PROBLEM: Final = {
    "ambiguous": "route.ambiguous",
    "unknown": "route.unknown",
    "closed_no_successor": "route.closed",
    "not_yet_valid": "route.not_yet_valid",
    "cycle": "route.cycle",
}


def resolve_routes(intake: Intake, ctx: IntakeContext) -> Intake:
    """Each recipient's code resolved at receipt, read with the meaning it had when written."""
    if intake.package is None:
        return intake
    if ctx.registry is None:
        return intake
    codes, written = recipients(intake.package)
    routes = tuple(
        ctx.registry.resolve(code, ctx.received_at, addressed_at=written) for code in codes
    )
    intake = replace(intake, routes=routes)
    if not routes:
        return intake.refuse(Problem("route.no_recipient", "the package names no recipient", "/"))
    for position, route in enumerate(routes, start=1):
        if not route.ok:
            detail = f"; candidates {', '.join(route.candidates)}" if route.candidates else ""
            return intake.refuse(
                Problem(
                    ROUTE_PROBLEM.get(route.status, "route.unresolved"),
                    f"recipient {route.requested!r} does not resolve ({route.status}){detail}",
                    f"recipient[{position}]",
                )
            )
    return intake


STAGES: Final[tuple[Stage, ...]] = (check_format, check_signature, check_signer, resolve_routes)


def run_intake(data: bytes, ctx: IntakeContext, stages: tuple[Stage, ...] = STAGES) -> Intake:
    """Every stage in order over one package."""
    intake = Intake(data)
    for stage in stages:
        intake = stage(intake, ctx)
    _log.info(
        "intake.checked",
        message_id=_document_id(intake.package),
        accepted=intake.accepted,
        refusal=None if intake.refusal is None else intake.refusal.code,
    )
    return intake


def _document_id(package: edxml.Package | None) -> str | None:
    if isinstance(package, Document):
        return package.header.document_id
    if isinstance(package, Status):
        return package.response_for.document_id
    return None
