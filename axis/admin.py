"""An admin's actions on deliveries, the same from the API and from the command line.

Each is one store call with its audit event (who, from where), so a retry made at the console of
one node and one made over HTTP on another read alike in the trace.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from axis.store.protocol import Store
from axis.store.records import AuditDraft, Delivery

DeliveryAction = Literal["retry", "cancel"]


async def act_on_delivery(
    store: Store,
    action: DeliveryAction,
    message_id: str,
    code: str,
    at: dt.datetime,
    *,
    system_id: str,
    address: str | None = None,
) -> Delivery | None:
    """Retry (back to pending) or cancel a dead letter; None when there was none to act on."""
    draft = AuditDraft(
        kind=f"delivery.{action}",
        at=at,
        message_id=message_id,
        system_id=system_id,
        address=address,
        codes=(code,),
    )
    if action == "retry":
        return await store.retry_delivery(message_id, code, at, draft)
    return await store.cancel_delivery(message_id, code, at, draft)


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
