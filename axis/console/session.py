"""The console's sessions: a sealed, expiring cookie instead of a server-side session table.

A person logs in once with a system's id and secret (an ``admin`` or ``auditor`` system of
``axis systems add``); the console then carries who they are in a cookie that is a Fernet token
(AES-128-CBC + HMAC-SHA256, with its issue time inside) under a key of the deployment, kept in
``$AXIS_HOME/keys/console.key`` (directory 0700, file 0600, made on first start, never logged).
Why a token and not a table: every node that holds the key serves the same session without a
shared write per request, and a token older than :data:`SESSION_SECONDS` is refused by the
decryption itself. The token carries only the system id, a session id and the CSRF token; the
role is re-read from the store on every request, so a revoked system or a changed role takes
effect at its next click.

The trade-off, said plainly: logging out deletes the cookie in the browser, but a copy of the
cookie taken before stays valid until it expires (at most :data:`SESSION_SECONDS`); revoking the
system (``axis systems revoke``) ends every session of it at once.

Expiry is counted in wall-clock time, not the axis's clock: a rehearsal that runs the axis on
another day (``AXIS_CLOCK_OFFSET``, an injected test clock) must not log its operators out.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.fernet import Fernet, InvalidToken

from axis.auth.sealed import KEYS_DIR
from axis.errors import AxisError

KEY_FILE: Final = "console.key"
SESSION_SECONDS: Final = 8 * 3600
"""How long a login lasts (a working day); the person logs in again after it."""
LOGIN_FORM_SECONDS: Final = 3600
"""How long a login form stays valid (its CSRF token travels in a short cookie of its own)."""
_FORMAT: Final = 1


@dataclass(frozen=True, slots=True)
class Session:
    """Who is logged in: the system id, this login's id and the CSRF token of its forms."""

    system_id: str
    session_id: str
    csrf: str


def _keys_error(message: str) -> AxisError:
    return AxisError("keys.unusable", message, KEYS_DIR, status=500)


def load_or_create_key(home: Path) -> bytes:
    """The deployment's console key, made on the first start (atomically: two server processes
    starting together end up with the same key, and neither reads a half-written file)."""
    directory = home / KEYS_DIR
    path = directory / KEY_FILE
    if not path.exists():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        temp = directory / f".{KEY_FILE}.{os.getpid()}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, Fernet.generate_key())
            os.fsync(fd)
        finally:
            os.close(fd)
        with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
            os.link(temp, path)
        temp.unlink()
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise _keys_error(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
    key = path.read_bytes().strip()
    try:
        Fernet(key)
    except ValueError:
        raise _keys_error(f"{path} is not a Fernet key") from None
    return key


class SessionKeys:
    """Issues and reads the console's tokens; one per app, built from the deployment's key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def issue(self, system_id: str) -> tuple[Session, str]:
        """A new session for ``system_id`` (fresh session id and CSRF token) and its cookie."""
        session = Session(system_id, secrets.token_urlsafe(12), secrets.token_urlsafe(24))
        body = {"v": _FORMAT, "s": session.system_id, "i": session.session_id, "c": session.csrf}
        return session, self._seal(body)

    def read(self, token: str | None) -> Session | None:
        """The session a cookie holds; None when absent, forged, of another key, or expired."""
        body = self._open(token, SESSION_SECONDS)
        if body is None:
            return None
        system_id, session_id, csrf = body.get("s"), body.get("i"), body.get("c")
        if not all(isinstance(x, str) and x for x in (system_id, session_id, csrf)):
            return None
        return Session(str(system_id), str(session_id), str(csrf))

    def login_form(self) -> tuple[str, str]:
        """The CSRF token of a login form and the short-lived cookie that vouches for it."""
        csrf = secrets.token_urlsafe(24)
        return csrf, self._seal({"v": _FORMAT, "login": csrf})

    def login_csrf(self, token: str | None) -> str | None:
        """The CSRF token a login-form cookie vouches for; None when absent or expired."""
        body = self._open(token, LOGIN_FORM_SECONDS)
        csrf = None if body is None else body.get("login")
        return csrf if isinstance(csrf, str) and csrf else None

    def _seal(self, body: dict[str, object]) -> str:
        data = json.dumps(body, separators=(",", ":")).encode("utf-8")
        token = self._fernet.encrypt_at_time(data, int(time.time())).decode("ascii")
        return token.rstrip("=")  # a cookie value without '=' needs no quoting

    def _open(self, token: str | None, ttl: int) -> dict[str, object] | None:
        if not token or len(token) > 4096:
            return None
        padded = token + "=" * (-len(token) % 4)
        try:
            data = self._fernet.decrypt_at_time(padded.encode("ascii"), ttl, int(time.time()))
            body = json.loads(data)
        except (InvalidToken, UnicodeEncodeError, ValueError):
            return None
        if not isinstance(body, dict) or body.get("v") != _FORMAT:
            return None
        return body


def same_token(given: str | None, expected: str) -> bool:
    """Whether a form's CSRF token is the session's (constant time)."""
    if not given:
        return False
    return secrets.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
