"""Secrets the axis must read back, sealed at rest under a deployment key.

A connected system's secret is stored as a scrypt hash (:mod:`axis.auth.secrets`): enough to
check a secret, useless to recover one. A protocol that signs each request with an HMAC keyed by
the secret itself (VDXP's ``XroadVnpt-hash-header``) needs the secret on the server. This module
keeps such secrets encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under a key of the
deployment, in two files of ``$AXIS_HOME/keys/`` (directory 0700, files 0600):

* ``<purpose>.key``: the Fernet key, made by the first :meth:`SealedSecrets.seal`;
* ``<purpose>.sealed.json``: system id -> the sealed token and a tag of the scrypt hash the
  secret was checked against when sealed (a secret rotated afterwards with
  ``axis systems add --replace`` makes the sealed copy stale, and it is refused, not used).

The trade-off, said plainly: the store alone (a backup, a replica, a dump) and the sealed file
alone reveal no secret; whoever reads BOTH files (root on the node, a copy of the whole home)
reads the secrets. That is the unavoidable price of a symmetric signature scheme; it is why the
key lives apart from the store, why a secret is sealed only for the systems that need it, and
why the key file should stay out of backups of the store. Every node serving the protocol needs
both files. A file readable by group or others is refused (as ssh refuses a loose key).
Secrets and tokens are never logged nor put in an error.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.fernet import Fernet, InvalidToken

from axis.errors import AxisError

KEYS_DIR: Final = "keys"
_FORMAT: Final = 1


def hash_tag(secret_hash: str) -> str:
    """A short tag of a stored scrypt hash: which version of the secret a sealed copy is of."""
    return hashlib.sha256(secret_hash.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Unsealed:
    """A secret read back, and the tag of the hash it was checked against when sealed."""

    secret: str
    tag: str


def _keys_error(message: str) -> AxisError:
    return AxisError("keys.unusable", message, KEYS_DIR, status=500)


def _check_private(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise _keys_error(f"{path} is readable by others (mode {mode:o}); chmod 600 it")


def _write_private(path: Path, data: bytes) -> None:
    """Write a 0600 file atomically (a reader never sees half of it)."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)


class SealedSecrets:
    """The sealed secrets of one purpose (``vdxp``) in one home; safe to share across tasks.

    Reads are cached and re-read when the file changes (an ``enable`` while the axis serves
    takes effect at the next request, on every node that sees the file).
    """

    def __init__(self, home: Path, purpose: str) -> None:
        self.directory = home / KEYS_DIR
        self.key_path = self.directory / f"{purpose}.key"
        self.sealed_path = self.directory / f"{purpose}.sealed.json"
        self._fernet: Fernet | None = None
        self._entries: dict[str, dict[str, Any]] = {}
        self._seen: tuple[int, int, int] | None = None

    # --- writing (the CLI) --------------------------------------------------------------------

    def seal(self, system_id: str, secret: str, secret_hash: str, at: dt.datetime) -> None:
        """Keep ``secret`` for ``system_id``, checked against ``secret_hash`` by the caller."""
        fernet = self._key(create=True)
        if fernet is None:  # create=True makes the key; this is for the type checker
            raise _keys_error(f"{self.key_path} could not be made")
        plain = json.dumps({"v": _FORMAT, "system_id": system_id, "secret": secret})
        entries = self._load()
        entries[system_id] = {
            "token": fernet.encrypt(plain.encode("utf-8")).decode("ascii"),
            "hash_tag": hash_tag(secret_hash),
            "sealed_at": at.astimezone(dt.UTC).isoformat(),
        }
        self._save(entries)

    def remove(self, system_id: str) -> bool:
        """Forget a system's sealed secret; False when it had none."""
        entries = self._load()
        if entries.pop(system_id, None) is None:
            return False
        self._save(entries)
        return True

    def system_ids(self) -> dict[str, str]:
        """Every system with a sealed secret -> when it was sealed (never the secret)."""
        return {k: str(v.get("sealed_at", "")) for k, v in sorted(self._load().items())}

    # --- reading (the server) -----------------------------------------------------------------

    def unseal(self, system_id: str) -> Unsealed | None:
        """The secret of ``system_id``, None when none is sealed (or the key is absent).

        A token that does not decrypt, or that names another system (copied between entries),
        is treated as absent: the caller then refuses the request like an unknown id.
        """
        entry = self._load().get(system_id)
        if entry is None:
            return None
        fernet = self._key(create=False)
        if fernet is None:
            return None
        try:
            plain = json.loads(fernet.decrypt(str(entry["token"]).encode("ascii")))
        except (InvalidToken, KeyError, ValueError, TypeError):
            return None
        if not isinstance(plain, dict) or plain.get("system_id") != system_id:
            return None
        secret = plain.get("secret")
        if not isinstance(secret, str) or not secret:
            return None
        return Unsealed(secret, str(entry.get("hash_tag", "")))

    # --- files --------------------------------------------------------------------------------

    def _key(self, *, create: bool) -> Fernet | None:
        if self._fernet is not None:
            return self._fernet
        if not self.key_path.exists():
            if not create:
                return None
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            try:
                fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process made it first: read theirs
            else:
                try:
                    os.write(fd, Fernet.generate_key())
                    os.fsync(fd)
                finally:
                    os.close(fd)
        _check_private(self.key_path)
        try:
            self._fernet = Fernet(self.key_path.read_bytes().strip())
        except ValueError:
            raise _keys_error(f"{self.key_path} is not a Fernet key") from None
        return self._fernet

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            info = self.sealed_path.stat()
        except FileNotFoundError:
            self._entries, self._seen = {}, None
            return {}
        seen = (info.st_ino, info.st_mtime_ns, info.st_size)  # a replace is a new inode
        if seen == self._seen:
            return dict(self._entries)
        _check_private(self.sealed_path)
        try:
            data = json.loads(self.sealed_path.read_bytes())
        except ValueError:
            raise _keys_error(f"{self.sealed_path} is not JSON") from None
        entries = data.get("systems") if isinstance(data, dict) else None
        if not isinstance(entries, dict):
            raise _keys_error(f"{self.sealed_path} has no 'systems' object")
        self._entries = {str(k): v for k, v in entries.items() if isinstance(v, dict)}
        self._seen = seen
        return dict(self._entries)

    def _save(self, entries: dict[str, dict[str, Any]]) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        body = json.dumps({"format": _FORMAT, "systems": entries}, indent=1, sort_keys=True)
        _write_private(self.sealed_path, body.encode("utf-8"))
        self._seen = None
        with contextlib.suppress(OSError):
            os.chmod(self.directory, 0o700)
