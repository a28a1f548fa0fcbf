"""Proposals: an agency's system asks for a sub-unit under a code it acts for; an admin decides.

VDXP's ``registerAgency`` and ``POST /v1/registry/proposals`` both land here. A system may
propose only codes under those it acts for (``000.00.07.H38`` for a system granted
``000.00.00.H38``, never a code of another province, nor one of its own granted codes
themselves): the registry is the axis's routing table, and a system that could add any code
could divert another agency's mail. A proposal is checked against the registry when it is made
(a bad code, an unknown parent or a code already in force is refused at once, not at approval),
kept in the store (``store.put_entry("proposal", id, ...)``, audited, visible on every node), and
enters the registry when an admin approves it, as one version authored by that admin, through
:func:`axis.registry_admin.add_agency`. With ``AXIS_AUTO_APPROVE_PROPOSALS`` it enters at once
(the version's author is then the proposing system, the proposal says ``auto``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Mapping
from typing import Any, Final, Literal

from axis.auth.principal import Principal
from axis.errors import AxisError, NotFoundError
from axis.registry_admin import Actor, ChangeOutcome, add_agency, latest_registry
from axis.registry_edits import AgencyDraft, add_changes, check_code, structural_parent
from axis.registry_view import RegistryView
from axis.store.protocol import Store
from axis.store.records import AuditDraft

PROPOSAL_KIND: Final = "proposal"
"""The store entries' kind of proposals."""

ProposalState = Literal["pending", "approved", "rejected"]
STATES: Final = ("pending", "approved", "rejected")


def draft_to_dict(draft: AgencyDraft) -> dict[str, Any]:
    """The stored form of a proposed agency."""
    return {
        "code": draft.code,
        "name": draft.name,
        "short_name": draft.short_name,
        "kind": draft.kind,
        "parent": draft.parent,
        "admin_unit": draft.admin_unit,
        "contact": dict(draft.contact),
        "valid_from": None if draft.valid_from is None else draft.valid_from.isoformat(),
    }


def draft_from_dict(data: Mapping[str, Any]) -> AgencyDraft:
    """Inverse of :func:`draft_to_dict`."""
    start = data.get("valid_from")
    return AgencyDraft(
        code=str(data["code"]),
        name=str(data["name"]),
        short_name=str(data.get("short_name") or ""),
        kind=str(data.get("kind") or ""),
        parent=data.get("parent"),
        admin_unit=data.get("admin_unit"),
        contact=dict(data.get("contact") or {}),
        valid_from=None if not start else dt.datetime.fromisoformat(str(start)),
    )


def check_allowed(proposer: Principal, draft: AgencyDraft) -> str:
    """The proposed code, if ``proposer`` may propose it: strictly under a code it acts for
    (``proposal.forbidden``, 403, otherwise), and its parent too."""
    code = check_code(draft.code)
    if code in proposer.codes or not proposer.acts_for(code):
        granted = ", ".join(proposer.codes) or "none"
        raise AxisError(
            "proposal.forbidden",
            f"system {proposer.system_id!r} may propose units only under the codes it acts for "
            f"({granted}); {code} is not one",
            "code",
            status=403,
        )
    if draft.parent and not proposer.acts_for(check_code(draft.parent, "parent")):
        raise AxisError(
            "proposal.forbidden",
            f"the parent {draft.parent} is not a code system {proposer.system_id!r} acts for",
            "parent",
            status=403,
        )
    return code


async def propose(
    store: Store,
    proposer: Principal,
    draft: AgencyDraft,
    *,
    address: str | None,
    now: dt.datetime,
    auto_approve: bool = False,
    note: str = "",
    view: RegistryView | None = None,
) -> dict[str, Any]:
    """Record ``proposer``'s proposal (checked now against the newest version); with
    ``auto_approve`` it is applied at once. Returns the proposal (with ``version`` once in)."""
    code = check_allowed(proposer, draft)
    parent = check_code(draft.parent, "parent") if draft.parent else structural_parent(code)
    normalised = dataclasses.replace(draft, code=code, parent=parent)
    add_changes(await latest_registry(store, view), normalised, now)  # refuses at once
    proposal_id = secrets.token_hex(8)
    body: dict[str, Any] = {
        "id": proposal_id,
        "state": "pending",
        "agency": draft_to_dict(normalised),
        "proposed_by": proposer.system_id,
        "proposed_at": now.isoformat(),
        "address": address,
        "note": note.strip(),
        "decided_by": None,
        "decided_at": None,
        "reason": None,
        "version": None,
    }
    await store.put_entry(
        PROPOSAL_KIND,
        proposal_id,
        body,
        AuditDraft(
            kind="proposal.made",
            at=now,
            system_id=proposer.system_id,
            address=address,
            codes=(code,),
            data={"proposal": proposal_id, "name": normalised.name},
        ),
    )
    if not auto_approve:
        return body
    outcome = await add_agency(
        store,
        normalised,
        actor=Actor(proposer.system_id, address),
        now=now,
        reason=f"proposal {proposal_id} by {proposer.system_id} (approved automatically)",
        view=view,
    )
    return await _decide(
        store, body, "approved", Actor("auto", address), now, "auto-approved", outcome
    )


async def list_proposals(
    store: Store, *, state: ProposalState | None = None, proposer: str | None = None
) -> list[dict[str, Any]]:
    """Proposals (optionally of one state or proposer), newest first."""
    found = [
        body
        for body in (await store.entries(PROPOSAL_KIND)).values()
        if (state is None or body.get("state") == state)
        and (proposer is None or body.get("proposed_by") == proposer)
    ]
    return sorted(found, key=lambda b: str(b.get("proposed_at") or ""), reverse=True)


async def get_proposal(store: Store, proposal_id: str) -> dict[str, Any]:
    """One proposal; ``proposal.not_found`` (404)."""
    body = (await store.entries(PROPOSAL_KIND)).get(proposal_id)
    if body is None:
        raise NotFoundError("proposal.not_found", f"no proposal {proposal_id!r}", "id")
    return body


async def _pending(store: Store, proposal_id: str) -> dict[str, Any]:
    body = await get_proposal(store, proposal_id)
    if body.get("state") != "pending":
        raise AxisError(
            "proposal.decided",
            f"proposal {proposal_id} is already {body.get('state')} by {body.get('decided_by')}",
            "id",
            status=409,
        )
    return body


async def _decide(
    store: Store,
    body: dict[str, Any],
    state: ProposalState,
    actor: Actor,
    now: dt.datetime,
    reason: str,
    outcome: ChangeOutcome | None,
) -> dict[str, Any]:
    decided = {
        **body,
        "state": state,
        "decided_by": actor.system_id,
        "decided_at": now.isoformat(),
        "reason": reason.strip() or None,
        "version": None if outcome is None else outcome.version_after,
    }
    await store.put_entry(
        PROPOSAL_KIND,
        str(body["id"]),
        decided,
        AuditDraft(
            kind=f"proposal.{state}",
            at=now,
            system_id=actor.system_id,
            address=actor.address,
            codes=(str(body["agency"]["code"]),),
            data={"proposal": body["id"], "version": decided["version"]},
        ),
    )
    return decided


async def approve_proposal(
    store: Store,
    proposal_id: str,
    *,
    actor: Actor,
    now: dt.datetime,
    reason: str = "",
    view: RegistryView | None = None,
) -> dict[str, Any]:
    """Apply a pending proposal as one version authored by ``actor`` (the admin); checked again
    against the newest version (``registry.exists`` 409 if someone added the code meanwhile)."""
    body = await _pending(store, proposal_id)
    outcome = await add_agency(
        store,
        draft_from_dict(body["agency"]),
        actor=actor,
        now=now,
        reason=reason or f"proposal {proposal_id} by {body['proposed_by']}",
        view=view,
    )
    return await _decide(store, body, "approved", actor, now, reason, outcome)


async def reject_proposal(
    store: Store, proposal_id: str, *, actor: Actor, now: dt.datetime, reason: str = ""
) -> dict[str, Any]:
    """Close a pending proposal without changing the registry."""
    body = await _pending(store, proposal_id)
    return await _decide(store, body, "rejected", actor, now, reason, None)
