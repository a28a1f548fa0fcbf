"""JSON views of the store's records: the one place their wire shape is written."""

from __future__ import annotations

from typing import Any

from axis.audit import event_to_json
from axis.clock import iso
from axis.store.records import AuditEvent, Delivery, InboxItem, MessageInfo, SentItem, StatusEntry


def delivery_view(delivery: Delivery) -> dict[str, Any]:
    return {
        "message_id": delivery.message_id,
        "code": delivery.code,
        "requested": delivery.requested,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "updated_at": iso(delivery.updated_at),
        "reason": delivery.reason,
        "cursor": str(delivery.seq),
    }


def message_view(info: MessageInfo) -> dict[str, Any]:
    return {
        "message_id": info.message_id,
        "kind": info.kind,
        "sender_code": info.sender_code,
        "sender_system": info.sender_system,
        "document_id": info.document_id,
        "business_type": info.business_type,
        "received_at": iso(info.received_at),
        "size": info.size,
        "subject": info.subject,
        "status_code": info.status_code,
        "refers_to": info.refers_to,
        "signature": dict(info.meta.get("signature") or {}),
    }


def inbox_view(item: InboxItem) -> dict[str, Any]:
    view = message_view(item.message)
    view.pop("sender_system")
    view.update(
        {
            "code": item.delivery.code,
            "requested": item.delivery.requested,
            "state": item.delivery.state,
            "attempts": item.delivery.attempts,
            "cursor": str(item.delivery.seq),
        }
    )
    return view


def status_view(entry: StatusEntry) -> dict[str, Any]:
    return {
        "status_code": entry.status_code,
        "at": iso(entry.at),
        "status_message_id": entry.status_message_id,
    }


def sent_view(item: SentItem) -> dict[str, Any]:
    view = message_view(item.message)
    view["recipients"] = [
        {
            **delivery_view(d),
            "status": status_view(item.statuses[d.code]) if d.code in item.statuses else None,
        }
        for d in item.deliveries
    ]
    return view


def event_view(event: AuditEvent) -> dict[str, Any]:
    """An audit event as the API shows it: its export form, which a third party re-hashes."""
    return event_to_json(event)
