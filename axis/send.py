"""Accepting a package: the intake's worker stages, the sender check, the routes, ONE durable write.

The way of a document (ARCHITECTURE.md): check and verify in a worker process -> the
authenticated system must act for the envelope's From -> the signer must be bound to From
(:mod:`axis.signer_check`, this node's view of the admins' bindings) -> each recipient resolved
at the axis's clock (a closed code to its successor, the hops kept for the trace) ->
``store.accept`` writes the message, its payload, one delivery per recipient and the audit
events in one atomic step -> the answer names the message and each recipient's resolution.
Nothing is stored for a refused package but its audit event; nothing accepted is acknowledged
before it is durable.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NoReturn, Protocol

import structlog

from axis.errors import AxisError
from axis.facts import PackageFacts
from axis.intake import ROUTE_PROBLEM
from axis.intake_worker import Checked
from axis.metrics import Metrics
from axis.registry_view import RegistryView
from axis.signer_check import SignerBindings
from axis.store.protocol import Store
from axis.store.records import AcceptOutcome, AuditDraft, MessageIds, NewMessage, Recipient
from edxml import Problem
from registry.resolution import Resolution

_log = structlog.get_logger("axis.send")


class Checker(Protocol):
    """The worker stages (the process pool, or an inline checker in tests)."""

    async def check(self, data: bytes, received_at: dt.datetime) -> Checked: ...


class Caller(Protocol):
    """The authenticated system (``axis.auth.Principal``)."""

    @property
    def system_id(self) -> str: ...

    def acts_for(self, code: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class SendResult:
    """What the sender is told: the message id, new or the first one's, and each route."""

    message_id: str
    duplicate: bool
    kind: str
    document_id: str
    recipients: tuple[dict[str, Any], ...]
    unresolved: tuple[dict[str, Any], ...] = ()
    withdrawn: tuple[str, ...] = ()
    warnings: tuple[dict[str, Any], ...] = ()
    signature: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "duplicate": self.duplicate,
            "kind": self.kind,
            "document_id": self.document_id,
            "recipients": list(self.recipients),
            "unresolved": list(self.unresolved),
            "withdrawn": list(self.withdrawn),
            "warnings": list(self.warnings),
            "signature": dict(self.signature),
        }


def refusal_status(code: str) -> int:
    """The HTTP status of a refused package, by its reason code."""
    if code == "xml.too_large":
        return 413
    if code.startswith("xml.") or code == "edxml.unreadable":
        return 400
    if code.startswith("auth."):
        return 403
    return 422


def resolution_dict(route: Resolution) -> dict[str, Any]:
    """A resolution as the API and the trace show it (no registry needed to read it)."""
    agency = route.agency or route.last_known
    return {
        "requested": route.requested,
        "status": route.status,
        "code": route.code,
        "name": None if route.agency is None else route.agency.name,
        "last_known_name": None if agency is None else agency.name,
        "hops": [hop.to_dict() for hop in route.hops],
        "candidates": list(route.candidates),
    }


def _problem_dict(problem: Problem) -> dict[str, Any]:
    return {"code": problem.code, "message": problem.message, "location": problem.location}


class Sender:
    """The accepting half of the broker; one per app."""

    def __init__(
        self,
        store: Store,
        registry: RegistryView,
        checker: Checker,
        metrics: Metrics,
        now: Callable[[], dt.datetime],
        *,
        max_inflight: int = 64,
        signers: SignerBindings | None = None,
    ) -> None:
        self._signers = signers or SignerBindings(store)
        self._max_inflight = max_inflight
        self._inflight = 0
        self._store = store
        self._registry = registry
        self._checker = checker
        self._metrics = metrics
        self._now = now
        self._ids = MessageIds()

    async def send(
        self, caller: Caller, data: bytes, *, address: str | None, partial: bool = False
    ) -> SendResult:
        """Accept one package or raise :class:`AxisError` with the precise refusal."""
        if self._inflight >= self._max_inflight:
            # a surge: answer at once (the sender retries) rather than queue without bound
            self._metrics.rejected.labels("intake.busy").inc()
            raise AxisError(
                "intake.busy",
                f"{self._inflight} documents are being checked; retry in a second",
                None,
                status=503,
                extra={"retry_after": 1},
            )
        received_at = self._now()
        self._inflight += 1
        self._metrics.intake_inflight.inc()
        try:
            started = time.perf_counter()
            checked = await self._checker.check(data, received_at)
            self._metrics.stage_seconds.labels("worker").observe(time.perf_counter() - started)
            for stage, seconds in checked.seconds.items():
                self._metrics.stage_seconds.labels(stage).observe(seconds)
        finally:
            self._inflight -= 1
            self._metrics.intake_inflight.dec()
        if checked.refusal is not None or checked.facts is None:
            refusal = checked.refusal or Problem("edxml.unreadable", "not an edXML package", "/")
            await self._refuse(caller, address, received_at, refusal, None, checked)
        facts = checked.facts
        if not caller.acts_for(facts.sender_code):
            problem = Problem(
                "auth.not_sender",
                f"system {caller.system_id!r} may not send for From {facts.sender_code!r}",
                "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/From/OrganId",
            )
            await self._refuse(caller, address, received_at, problem, facts, checked)
        verdict = await self._signers.judge(checked.signature, facts.sender_code)
        checked = replace(
            checked,
            signature=verdict.summary(checked.signature),
            warnings=checked.warnings + verdict.warnings,
        )
        if verdict.refusal is not None:
            await self._refuse(caller, address, received_at, verdict.refusal, facts, checked)
        started = time.perf_counter()
        routes, unresolved = self._resolve(facts, received_at)
        self._metrics.stage_seconds.labels("resolve").observe(time.perf_counter() - started)
        if not routes or (unresolved and not partial):
            await self._refuse_routes(caller, address, received_at, facts, checked, unresolved)
        message = self._message(caller, address, received_at, facts, checked, data, routes)
        started = time.perf_counter()
        outcome = await self._store.accept(message)
        self._metrics.stage_seconds.labels("store").observe(time.perf_counter() - started)
        if outcome.duplicate:
            self._metrics.duplicates.inc()
        else:
            self._metrics.accepted.labels(facts.kind).inc()
            self._metrics.deliveries.labels("pending").inc(len(outcome.deliveries))
        _log.info(
            "message.accepted",
            message_id=outcome.message_id,
            document_id=facts.document_id,
            duplicate=outcome.duplicate,
            recipients=[r.code for r in routes],
        )
        return self._result(outcome, facts, checked, routes, unresolved)

    def _resolve(
        self, facts: PackageFacts, at: dt.datetime
    ) -> tuple[list[Recipient], list[dict[str, Any]]]:
        registry = self._registry.current
        routes: list[Recipient] = []
        seen: set[str] = set()
        unresolved: list[dict[str, Any]] = []
        for position, code in enumerate(facts.recipients, start=1):
            route = registry.resolve(code, at, addressed_at=facts.written_at)
            if route.ok and route.code is not None:
                if route.code not in seen:  # H63 and H38 both named: one copy for H38
                    seen.add(route.code)
                    routes.append(Recipient(code, route.code, resolution_dict(route)))
                continue
            detail = f"; candidates {', '.join(route.candidates)}" if route.candidates else ""
            unresolved.append(
                {
                    "code": ROUTE_PROBLEM.get(route.status, "route.unresolved"),
                    "message": f"recipient {code!r} does not resolve ({route.status}){detail}",
                    "location": f"recipient[{position}]",
                    "requested": code,
                    "status": route.status,
                    "candidates": list(route.candidates),
                }
            )
        return routes, unresolved

    def _message(
        self,
        caller: Caller,
        address: str | None,
        at: dt.datetime,
        facts: PackageFacts,
        checked: Checked,
        data: bytes,
        routes: list[Recipient],
    ) -> NewMessage:
        message_id = self._ids.new(at)
        common = {"message_id": message_id, "document_id": facts.document_id, "at": at}
        signature = dict(checked.signature)
        audit = [
            AuditDraft(
                kind="received",
                system_id=caller.system_id,
                address=address,
                codes=(facts.sender_code,),
                data={"kind": facts.kind, "size": len(data), "business_type": facts.business_type},
                **common,  # type: ignore[arg-type]
            ),
            AuditDraft(kind="verified", data=signature, **common),  # type: ignore[arg-type]
        ]
        for route in routes:
            hops = route.resolution.get("hops") or []
            audit.append(
                AuditDraft(
                    kind="redirected" if hops else "resolved",
                    codes=(route.requested, route.code),
                    data={"requested": route.requested, "code": route.code, "hops": hops},
                    **common,  # type: ignore[arg-type]
                )
            )
        audit.append(
            AuditDraft(
                kind="stored",
                codes=tuple(r.code for r in routes),
                data={"deliveries": len(routes)},
                **common,  # type: ignore[arg-type]
            )
        )
        status_for = None
        if facts.kind == "status" and facts.recipients:
            status_for = (facts.recipients[0], facts.document_id)
        return NewMessage(
            message_id=message_id,
            kind="status" if facts.kind == "status" else "edoc",
            idempotency_key=facts.idempotency_key(),
            sender_system=caller.system_id,
            sender_code=facts.sender_code,
            document_id=facts.document_id,
            business_type=facts.business_type,
            received_at=at,
            payload=data,
            recipients=tuple(routes),
            subject=facts.subject,
            status_code=facts.status_code,
            refers_to=facts.refers_to,
            revokes=facts.revokes,
            status_for=status_for,
            meta={"signature": signature, "warnings": [_problem_dict(w) for w in checked.warnings]},
            audit=tuple(audit),
        )

    def _result(
        self,
        outcome: AcceptOutcome,
        facts: PackageFacts,
        checked: Checked,
        routes: list[Recipient],
        unresolved: list[dict[str, Any]],
    ) -> SendResult:
        return SendResult(
            message_id=outcome.message_id,
            duplicate=outcome.duplicate,
            kind=facts.kind,
            document_id=facts.document_id,
            recipients=tuple(dict(r.resolution) for r in routes),
            unresolved=tuple(unresolved),
            withdrawn=outcome.withdrawn,
            warnings=tuple(_problem_dict(w) for w in checked.warnings),
            signature=checked.signature,
        )

    async def _refuse(
        self,
        caller: Caller,
        address: str | None,
        at: dt.datetime,
        problem: Problem,
        facts: PackageFacts | None,
        checked: Checked,
        problems: list[dict[str, Any]] | None = None,
    ) -> NoReturn:
        """Audit the refusal (nothing else is stored) and raise it."""
        self._metrics.rejected.labels(problem.code).inc()
        await self._store.append_audit(
            [
                AuditDraft(
                    kind="rejected",
                    at=at,
                    document_id=None if facts is None else facts.document_id,
                    system_id=caller.system_id,
                    address=address,
                    codes=() if facts is None else (facts.sender_code, *facts.recipients),
                    data={**_problem_dict(problem), "problems": problems or []},
                )
            ]
        )
        _log.info(
            "message.rejected",
            document_id=None if facts is None else facts.document_id,
            system=caller.system_id,
            reason=problem.code,
        )
        raise AxisError(
            problem.code,
            problem.message,
            problem.location,
            status=refusal_status(problem.code),
            problems=problems or [],
            extra={"warnings": [_problem_dict(w) for w in checked.warnings]},
        )

    async def _refuse_routes(
        self,
        caller: Caller,
        address: str | None,
        at: dt.datetime,
        facts: PackageFacts,
        checked: Checked,
        unresolved: list[dict[str, Any]],
    ) -> NoReturn:
        if not facts.recipients:
            problem = Problem("route.no_recipient", "the package names no recipient", "/")
        elif len(unresolved) == 1:
            first = unresolved[0]
            problem = Problem(first["code"], first["message"], first["location"])
        else:
            codes = ", ".join(u["requested"] for u in unresolved)
            problem = Problem(
                "route.unresolved",
                f"{len(unresolved)} recipients do not resolve: {codes} (nothing was accepted; "
                "send with ?partial=allow to deliver to the others)",
                "recipients",
            )
        await self._refuse(caller, address, at, problem, facts, checked, unresolved)
