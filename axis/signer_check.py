"""The intake's signer check: is the verified signer bound to the envelope's From?

The worker verified the signature and reported the signer certificate's SHA-256, issuer and
serial, subject, issuer-and-serial key and the agency codes its subject names
(:func:`axis.intake_worker.signature_summary`, read off :mod:`signing.binding`). The serving
process decides here, with this node's view of the admins' bindings (:mod:`axis.signers`):

1. an admin's binding (by SHA-256 first, else by issuer and serial) wins: the sender must be
   one of its codes -- or a body under one of them, unless the binding is ``exact``: the rule
   of a system's grant (:meth:`axis.auth.principal.Principal.acts_for`) -- else
   ``sig.signer_not_sender``. It wins over the subject too: an admin who bound an ambiguous
   certificate has said which agency it is;
2. else a subject naming several agency codes is refused ``sig.signer_ambiguous``;
3. else the implicit binding, the subject's ONE ``UID=MDDT:<code>``, must be the sender itself
   (exactly: a certificate's name states an identity, it grants nothing below it), else
   ``sig.signer_not_sender``;
4. else the signer is unbound: accepted with the warning ``sig.signer_unbound`` in the
   message's trace, or refused with it where ``AXIS_REQUIRE_SENDER_BINDING=true``.

A document without a verified signature (absent, or the policy is off) has no signer to bind;
``AXIS_SIGNATURE_MODE=require`` is what refuses it. The check costs two dictionary look-ups and,
at most once per :data:`DEFAULT_TTL`, one read of the (small) table from the store.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from axis.signers import KIND, SignerBinding, read_bindings
from axis.store.protocol import Store
from edxml import Problem, Severity
from signing.binding import (
    IMPLICIT_LABEL,
    SubjectCodes,
    ambiguous_message,
    not_sender_message,
    printable,
    signer_label,
)

DEFAULT_TTL: Final = 2.0
"""Seconds a node trusts the table it read: a binding made on another node applies within it
(on the node that made it, at once)."""
FROM_LOCATION: Final = "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/From/OrganId"
_FULL_COVERAGE: Final = frozenset({"whole-document", "envelope-and-attachments"})

BindingStatus = Literal["explicit", "implicit", "unbound", "not-sender", "ambiguous", "unsigned"]


@dataclass(frozen=True, slots=True)
class BindingTable:
    """Every binding of the store at one moment, indexed by key."""

    by_key: Mapping[str, SignerBinding] = field(default_factory=dict)

    @classmethod
    def of(cls, entries: Mapping[str, Mapping[str, Any]]) -> BindingTable:
        """The table of the store's ``signer`` entries."""
        return cls(read_bindings(entries))

    @property
    def bindings(self) -> Iterable[SignerBinding]:
        return self.by_key.values()

    def match(self, sha256: str | None, issuer_serial: str | None) -> SignerBinding | None:
        """The binding of a certificate: by its SHA-256 first (the exact certificate), else by
        its issuer and serial."""
        if sha256 and (found := self.by_key.get(sha256)) is not None:
            return found
        if issuer_serial:
            return self.by_key.get(issuer_serial)
        return None


@dataclass(frozen=True, slots=True)
class BindingVerdict:
    """What the check decided: a status, a problem (a refusal, or a warning), the trace record."""

    status: BindingStatus
    problem: Problem | None = None
    record: Mapping[str, Any] = field(default_factory=dict)

    @property
    def refusal(self) -> Problem | None:
        """The problem when it refuses the document."""
        problem = self.problem
        return problem if problem is not None and problem.severity is Severity.ERROR else None

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """The problem when it only warns (an unbound signer where binding is not required)."""
        problem = self.problem
        return (problem,) if problem is not None and problem.severity is Severity.WARNING else ()

    def summary(self, signature: Mapping[str, Any]) -> dict[str, Any]:
        """The worker's signature summary with this verdict as ``binding`` (kept with the
        message, shown in its trace, in its ``verified`` audit event)."""
        out = dict(signature)
        if self.record:
            out["binding"] = dict(self.record)
        return out


def _verdict(
    status: BindingStatus,
    code: str | None = None,
    message: str | None = None,
    *,
    severity: Severity = Severity.ERROR,
    binding: SignerBinding | None = None,
    bound: Sequence[str] = (),
) -> BindingVerdict:
    record: dict[str, Any] = {"status": status}
    if binding is not None:
        record.update(key=binding.key, by=binding.by, exact=binding.exact)
    if bound:
        record["codes"] = list(bound)
    problem = None
    if code is not None and message is not None:
        problem = Problem(code, message, FROM_LOCATION, severity)
        record.update(code=code, severity=str(severity), message=message)
    return BindingVerdict(status, problem, record)


def judge_signer(
    signature: Mapping[str, Any], sender: str, table: BindingTable, *, required: bool
) -> BindingVerdict:
    """The decision of the module's docstring over one verified signature (the worker's
    summary: :func:`axis.intake_worker.signature_summary`) and the document's From code."""
    if signature.get("status") != "valid":
        return BindingVerdict("unsigned")
    sha256 = signature.get("signer_sha256")
    unbound_severity = Severity.ERROR if required else Severity.WARNING
    if not sha256:
        return _verdict(
            "unbound",
            "sig.signer_unbound",
            "the signature names no signer certificate to bind to the sender",
            severity=unbound_severity,
        )
    if signature.get("coverage") not in _FULL_COVERAGE:
        return _verdict(
            "unbound",
            "sig.signer_unbound",
            f"the signature ({_label(signature)}) does not cover From/OrganId",
            severity=unbound_severity,
        )
    binding = table.match(sha256, signature.get("signer_issuer_serial"))
    if binding is not None:
        if binding.covers(sender):
            return _verdict("explicit", binding=binding, bound=binding.codes)
        how = f"admin binding {_short(binding.key)}, {binding.reach()}"
        return _verdict(
            "not-sender",
            "sig.signer_not_sender",
            not_sender_message(_label(signature), binding.codes, how, sender),
            binding=binding,
            bound=binding.codes,
        )
    named = tuple(str(c) for c in signature.get("signer_codes") or ())
    if len(named) > 1:
        return _verdict(
            "ambiguous",
            "sig.signer_ambiguous",
            ambiguous_message(_label(signature), SubjectCodes(None, named)),
            bound=named,
        )
    implicit = signature.get("signer_agency")
    if isinstance(implicit, str) and implicit:
        if implicit == sender:
            return _verdict("implicit", bound=(implicit,))
        return _verdict(
            "not-sender",
            "sig.signer_not_sender",
            not_sender_message(_label(signature), (implicit,), f"its UID {IMPLICIT_LABEL}", sender),
            bound=(implicit,),
        )
    required_text = (
        "AXIS_REQUIRE_SENDER_BINDING=true refuses it"
        if required
        else "accepted on the authenticated system's word alone"
    )
    return _verdict(
        "unbound",
        "sig.signer_unbound",
        f"the signer's certificate ({_label(signature)}) is bound to no agency, so nothing ties it "
        f"to the sender {printable(sender)}: an admin binds it with `axis signers add` "
        f"({required_text})",
        severity=unbound_severity,
    )


def _label(signature: Mapping[str, Any]) -> str:
    """The signer as a refusal names it, made only for a refusal or a warning: parsing the
    subject costs more than the rest of the judgement, and most documents pass."""
    return signer_label(signature.get("signer_subject"), signature.get("signer_sha256"))


def _short(key: str) -> str:
    return key[:12] + "…" if len(key) == 64 else key


class SignerBindings:
    """This node's view of the bindings: the table read whole from the store and trusted for
    ``ttl`` seconds, so a binding made on any node applies here within seconds, without a
    restart; :meth:`invalidate` (after a change made on this node) makes the next look-up read
    again. One per runtime (never module state); refreshes are single-flight."""

    def __init__(
        self,
        store: Store,
        *,
        required: bool = False,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.required = required
        self._store = store
        self._ttl = ttl
        self._clock = clock
        self._table = BindingTable()
        self._expires = -math.inf
        self._generation = 0
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        """Forget the table: the next look-up reads the store (a change was just made)."""
        self._generation += 1
        self._expires = -math.inf

    async def table(self) -> BindingTable:
        """The current table, read again when older than the TTL."""
        if self._clock() < self._expires:
            return self._table
        async with self._lock:
            if self._clock() < self._expires:
                return self._table
            generation = self._generation
            table = BindingTable.of(await self._store.entries(KIND))
            self._table = table
            if generation == self._generation:  # no change was made while reading
                self._expires = self._clock() + self._ttl
            return table

    async def judge(self, signature: Mapping[str, Any], sender: str) -> BindingVerdict:
        """:func:`judge_signer` with this node's table (not read for an unsigned document)."""
        if signature.get("status") != "valid":
            return BindingVerdict("unsigned")
        return judge_signer(signature, sender, await self.table(), required=self.required)
