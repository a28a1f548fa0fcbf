"""Where each agency system wants its documents pushed: ``$AXIS_HOME/webhooks.json``.

One entry per connected system: the HTTPS URL, the per-endpoint secret the axis signs with
(generated, shown once, kept only in this file with mode 0600, never logged), and how many pushes
may be in flight to it at once. The codes pushed are the system's own (as for its inbox). Written
atomically (temp file + rename); the serving axis reads it at start.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

FILE_NAME: Final = "webhooks.json"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One system's push target."""

    system_id: str
    url: str
    secret: str
    concurrency: int = 4


class EndpointError(ValueError):
    """A registration that cannot be used; ``code`` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def load(home: Path) -> dict[str, Endpoint]:
    """The registered endpoints by system id (none when the file does not exist)."""
    path = home / FILE_NAME
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {item["system_id"]: Endpoint(**item) for item in raw}
    except (ValueError, TypeError, KeyError) as exc:
        raise EndpointError(
            "webhook.bad_file", f"{path} is not a list of endpoints: {exc}"
        ) from exc


def save(home: Path, endpoints: dict[str, Endpoint]) -> None:
    """Write every endpoint at once, readable by the owner only."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / FILE_NAME
    temp = path.with_suffix(".json.tmp")
    data = json.dumps([asdict(e) for e in endpoints.values()], ensure_ascii=False, indent=2)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def register(home: Path, system_id: str, url: str, concurrency: int = 4) -> Endpoint:
    """Add or replace a system's endpoint with a NEW secret (returned to be shown once)."""
    if not url.startswith(("https://", "http://127.", "http://localhost")):
        raise EndpointError(
            "webhook.insecure_url", "a push endpoint must be https:// (plain http on loopback only)"
        )
    if concurrency < 1:
        raise EndpointError("webhook.bad_concurrency", "concurrency must be at least 1")
    endpoints = load(home)
    endpoint = Endpoint(system_id, url, secrets.token_urlsafe(32), concurrency)
    endpoints[system_id] = endpoint
    save(home, endpoints)
    return endpoint


def remove(home: Path, system_id: str) -> bool:
    """Forget a system's endpoint; False if it had none."""
    endpoints = load(home)
    if endpoints.pop(system_id, None) is None:
        return False
    save(home, endpoints)
    return True
