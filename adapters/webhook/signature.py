"""How a pushed request is signed, and how a receiver checks it (no axis code needed there).

Headers on every push:

* ``X-Axis-Message-Id``: the message id (also the idempotency key for the receiver);
* ``X-Axis-Timestamp``: Unix seconds when the push was signed;
* ``X-Axis-Signature``: ``sha256=`` + hex HMAC-SHA256, keyed by the endpoint's secret, over
  ``{timestamp}.{message_id}.`` followed by the exact body bytes.

A receiver recomputes the HMAC over what it received, compares in constant time, and refuses a
timestamp outside its replay window (5 minutes by default) or a message id it already took: a
captured request cannot be replayed later, and a retried one is recognised.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Final

HEADER_ID: Final = "X-Axis-Message-Id"
HEADER_TIMESTAMP: Final = "X-Axis-Timestamp"
HEADER_SIGNATURE: Final = "X-Axis-Signature"
REPLAY_WINDOW_SECONDS: Final = 300


class SignatureRefused(ValueError):  # noqa: N818 - a refusal, named as the receiver reads it
    """The push is not genuine or not fresh; ``code`` says which."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def _mac(secret: str, timestamp: str, message_id: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.{message_id}.".encode(), hashlib.sha256)
    mac.update(body)
    return "sha256=" + mac.hexdigest()


def sign(secret: str, message_id: str, body: bytes, now: float) -> dict[str, str]:
    """The three headers of one push."""
    timestamp = str(int(now))
    return {
        HEADER_ID: message_id,
        HEADER_TIMESTAMP: timestamp,
        HEADER_SIGNATURE: _mac(secret, timestamp, message_id, body),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    *,
    window: int = REPLAY_WINDOW_SECONDS,
) -> str:
    """The message id of a genuine, fresh push; raises :class:`SignatureRefused` otherwise."""
    lowered = {k.lower(): v for k, v in headers.items()}
    message_id = lowered.get(HEADER_ID.lower(), "")
    timestamp = lowered.get(HEADER_TIMESTAMP.lower(), "")
    signature = lowered.get(HEADER_SIGNATURE.lower(), "")
    if not (message_id and timestamp.isdigit() and signature):
        raise SignatureRefused("webhook.unsigned", "the push carries no complete signature")
    if not hmac.compare_digest(signature, _mac(secret, timestamp, message_id, body)):
        raise SignatureRefused("webhook.bad_signature", "the signature does not match the body")
    if abs(now - int(timestamp)) > window:
        raise SignatureRefused(
            "webhook.replayed", f"signed {int(now) - int(timestamp)} s ago, outside the window"
        )
    return message_id
