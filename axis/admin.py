"""An admin's actions on deliveries, the same from the API and from the command line.

Each is one store call with its audit event (who, from where), so a retry made at the console of
one node and one made over HTTP on another read alike in the trace.
"""

from __future__ import annotations

import datetime as dt
from typing import Final, Literal

from axis.errors import NotFoundError
from axis.store.protocol import Store
from axis.store.records import AuditDraft, Delivery

DeliveryAction = Literal["retry", "cancel"]
_DONE: Final = {"retry": "retried", "cancel": "cancelled"}


async def act_on_delivery(
    store: Store,
    action: DeliveryAction,
    message_id: str,
    code: str,
    at: dt.datetime,
    *,
    system_id: str,
    address: str | None = None,
) -> Delivery:
    """Retry (back to pending) or cancel a dead letter; ``delivery.not_found`` (404) when there
    is none to act on, worded once for the API, the console and the CLI."""
    draft = AuditDraft(
        kind=f"delivery.{action}",
        at=at,
        message_id=message_id,
        system_id=system_id,
        address=address,
        codes=(code,),
    )
    if action == "retry":
        changed = await store.retry_delivery(message_id, code, at, draft)
    else:
        changed = await store.cancel_delivery(message_id, code, at, draft)
    if changed is None:
        raise NotFoundError(
            "delivery.not_found",
            f"no dead letter of {message_id!r} to {code} that can be {_DONE[action]}",
            "message_id",
        )
    return changed


async def set_drain(
    store: Store,
    code: str,
    drain: bool,
    at: dt.datetime,
    *,
    system_id: str,
    address: str | None = None,
) -> None:
    """Whether a closed code's own system drains its pending deliveries after a succession."""
    await store.set_drain(
        code,
        drain,
        at,
        AuditDraft(
            kind="drain.set" if drain else "drain.cleared",
            at=at,
            system_id=system_id,
            address=address,
            codes=(code,),
        ),
    )
