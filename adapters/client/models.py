"""Typed views of the ``/v1`` JSON answers (the shapes of ``axis/http/views.py``).

Each keeps the JSON it was read from in ``raw`` so a field a newer axis adds is never lost to a
client built against an older one; the typed fields are the ones a document system acts on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def _time(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _opt(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _dicts(value: Any) -> tuple[dict[str, Any], ...]:
    return tuple(v for v in value if isinstance(v, dict)) if isinstance(value, list) else ()


@dataclass(frozen=True)
class Resolution:
    """How one ``To`` of a sent document resolved (``status`` active, redirected, unknown ...)."""

    requested: str
    status: str
    code: str | None
    name: str | None
    hops: tuple[dict[str, Any], ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Resolution:
        return cls(
            requested=str(data.get("requested", "")),
            status=str(data.get("status", "")),
            code=_opt(data.get("code")),
            name=_opt(data.get("name")),
            hops=_dicts(data.get("hops")),
        )


@dataclass(frozen=True)
class SendResult:
    """The 202 (or, for a resend, 200 with ``duplicate``) answer to a send."""

    message_id: str
    duplicate: bool
    kind: str
    document_id: str | None
    recipients: tuple[Resolution, ...]
    unresolved: tuple[dict[str, Any], ...]
    withdrawn: tuple[str, ...]
    warnings: tuple[dict[str, Any], ...]
    signature: dict[str, Any]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SendResult:
        return cls(
            message_id=str(data["message_id"]),
            duplicate=bool(data.get("duplicate", False)),
            kind=str(data.get("kind", "")),
            document_id=_opt(data.get("document_id")),
            recipients=tuple(Resolution.from_json(r) for r in _dicts(data.get("recipients"))),
            unresolved=_dicts(data.get("unresolved")),
            withdrawn=tuple(str(w) for w in data.get("withdrawn") or ()),
            warnings=_dicts(data.get("warnings")),
            signature=dict(data.get("signature") or {}),
            raw=data,
        )


@dataclass(frozen=True)
class BusinessStatus:
    """The latest status package a recipient sent back (code 01..16)."""

    status_code: str
    at: dt.datetime | None
    status_message_id: str | None

    @classmethod
    def from_json(cls, data: Any) -> BusinessStatus | None:
        if not isinstance(data, dict):
            return None
        return cls(
            str(data.get("status_code", "")),
            _time(data.get("at")),
            _opt(data.get("status_message_id")),
        )


@dataclass(frozen=True)
class DeliveryState:
    """One recipient's copy: ``pending → fetched → done | fail`` (or dead, withdrawn ...)."""

    message_id: str
    code: str
    requested: str | None
    state: str
    attempts: int
    updated_at: dt.datetime | None
    reason: str | None
    status: BusinessStatus | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DeliveryState:
        return cls(
            message_id=str(data.get("message_id", "")),
            code=str(data.get("code", "")),
            requested=_opt(data.get("requested")),
            state=str(data.get("state", "")),
            attempts=int(data.get("attempts") or 0),
            updated_at=_time(data.get("updated_at")),
            reason=_opt(data.get("reason")),
            status=BusinessStatus.from_json(data.get("status")),
        )


@dataclass(frozen=True)
class MessageInfo:
    """What the axis knows of a message without its bytes."""

    message_id: str
    kind: str
    sender_code: str
    document_id: str | None
    business_type: Any
    received_at: dt.datetime | None
    size: int
    subject: str | None
    status_code: str | None
    refers_to: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def fields_from(cls, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "message_id": str(data.get("message_id", "")),
            "kind": str(data.get("kind", "")),
            "sender_code": str(data.get("sender_code", "")),
            "document_id": _opt(data.get("document_id")),
            "business_type": data.get("business_type"),
            "received_at": _time(data.get("received_at")),
            "size": int(data.get("size") or 0),
            "subject": _opt(data.get("subject")),
            "status_code": _opt(data.get("status_code")),
            "refers_to": _opt(data.get("refers_to")),
            "raw": data,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MessageInfo:
        return cls(**cls.fields_from(data))


@dataclass(frozen=True)
class InboxItem(MessageInfo):
    """An open delivery to one of the caller's codes."""

    code: str = ""
    requested: str | None = None
    state: str = ""
    attempts: int = 0
    cursor: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InboxItem:
        return cls(
            **cls.fields_from(data),
            code=str(data.get("code", "")),
            requested=_opt(data.get("requested")),
            state=str(data.get("state", "")),
            attempts=int(data.get("attempts") or 0),
            cursor=str(data.get("cursor", "")),
        )


@dataclass(frozen=True)
class InboxPage:
    """A page of the inbox; pass ``cursor`` as ``after`` for the next (it is set even when the
    page is empty, so a poller continues from where it was)."""

    items: tuple[InboxItem, ...]
    cursor: str | None
    more: bool

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InboxPage:
        return cls(
            tuple(InboxItem.from_json(i) for i in _dicts(data.get("items"))),
            _opt(data.get("cursor")),
            bool(data.get("more", False)),
        )


@dataclass(frozen=True)
class SentItem(MessageInfo):
    """A message the caller sent, with each recipient's delivery and latest business status."""

    recipients: tuple[DeliveryState, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SentItem:
        recipients = tuple(DeliveryState.from_json(r) for r in _dicts(data.get("recipients")))
        return cls(**cls.fields_from(data), recipients=recipients)


@dataclass(frozen=True)
class SentPage:
    """Sent messages, newest first; ``cursor`` pages back in time while ``more``."""

    items: tuple[SentItem, ...]
    cursor: str | None
    more: bool

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SentPage:
        return cls(
            tuple(SentItem.from_json(i) for i in _dicts(data.get("items"))),
            _opt(data.get("cursor")),
            bool(data.get("more", False)),
        )


@dataclass(frozen=True)
class RecipientStatus:
    """Where one recipient stands with one sent document: delivery state and business status."""

    document_id: str
    code: str
    message_id: str
    requested: str | None
    state: str
    attempts: int
    updated_at: dt.datetime | None
    reason: str | None
    status: BusinessStatus | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (times as ISO-8601), for ``axis status --json``."""
        status = self.status
        return {
            "document_id": self.document_id,
            "code": self.code,
            "message_id": self.message_id,
            "requested": self.requested,
            "state": self.state,
            "attempts": self.attempts,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "reason": self.reason,
            "status": None
            if status is None
            else {
                "status_code": status.status_code,
                "at": status.at.isoformat() if status.at else None,
                "status_message_id": status.status_message_id,
            },
        }


@dataclass(frozen=True)
class Trace:
    """A message, its deliveries (each with its business status) and every audit event."""

    message: MessageInfo
    deliveries: tuple[DeliveryState, ...]
    events: tuple[dict[str, Any], ...]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Trace:
        return cls(
            MessageInfo.from_json(dict(data.get("message") or {})),
            tuple(DeliveryState.from_json(d) for d in _dicts(data.get("deliveries"))),
            _dicts(data.get("events")),
        )


@dataclass(frozen=True)
class Health:
    """``/v1/health``: ``ok`` is false on a 503 (the axis answers, but a check fails)."""

    ok: bool
    status: str
    checks: dict[str, Any]

    @classmethod
    def from_json(cls, ok: bool, data: dict[str, Any]) -> Health:
        return cls(ok, str(data.get("status", "")), dict(data.get("checks") or {}))
