"""The Python SDK of the axis's ``/v1`` API, for document systems and adapters.

``AxisClient`` is asynchronous (aiohttp), ``SyncAxisClient`` wraps it for scripts; both answer
typed results and raise :class:`AxisClientError` (an :class:`edxml.CodedError`) with the axis's
stable problem code. ``receive_one`` writes a package durably before acknowledging it.
"""

from __future__ import annotations

from adapters.client.client import AxisClient
from adapters.client.errors import AxisClientError
from adapters.client.models import (
    BusinessStatus,
    DeliveryState,
    Health,
    InboxItem,
    InboxPage,
    MessageInfo,
    RecipientStatus,
    Resolution,
    SendResult,
    SentItem,
    SentPage,
    Trace,
)
from adapters.client.receiving import Received, receive_one, write_atomic
from adapters.client.sync import SyncAxisClient

__all__ = [
    "AxisClient",
    "AxisClientError",
    "BusinessStatus",
    "DeliveryState",
    "Health",
    "InboxItem",
    "InboxPage",
    "MessageInfo",
    "Received",
    "RecipientStatus",
    "Resolution",
    "SendResult",
    "SentItem",
    "SentPage",
    "SyncAxisClient",
    "Trace",
    "receive_one",
    "write_atomic",
]
