"""Connected systems' secrets: generated random, kept only as a salted scrypt hash.

A secret is what a system sends in HTTP Basic; the store keeps a self-describing string
``scrypt$N$r$p$<salt b64>$<hash b64>`` so that the parameters can be raised later without
breaking existing hashes (each hash carries its own). scrypt is memory-hard on purpose: a leaked
store must not make the secrets cheap to guess. Its cost (tens of milliseconds) is paid once per
system and process; the hot path is the :class:`axis.auth.authenticator.Authenticator`'s keyed
digest cache.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from typing import Final

SCHEME: Final = "scrypt"
SCRYPT_N: Final = 16384  # 2**14: ~16 MiB of memory and tens of ms per check
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
SALT_BYTES: Final = 16
HASH_BYTES: Final = 32
SECRET_BYTES: Final = 32
MAX_SECRET_LENGTH: Final = 1024
"""Longer secrets are refused before hashing: a megabyte "password" must not cost a KDF run."""

_MAX_N: Final = 2**20  # a hash naming a larger cost is refused rather than run (memory bound)


def generate_secret() -> str:
    """A new secret: 32 random bytes, URL-safe base64 without padding (43 characters).

    URL-safe so that it survives being pasted into configuration files and HTTP headers;
    256 bits so that guessing is hopeless even without the rate limit. Never beginning with
    ``-``: one secret in 64 did, and ``--secret <it>`` then failed on the command line (argparse
    reads such a word as an option).
    """
    while True:
        secret = secrets.token_urlsafe(SECRET_BYTES)
        if not secret.startswith("-"):
            return secret


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(
        secret.encode("utf-8"),
        salt=salt,
        n=n,
        r=r,
        p=p,
        maxmem=132 * n * r * p + 1024 * 1024,
        dklen=length,
    )


def hash_secret(secret: str) -> str:
    """The string to store for ``secret``: ``scrypt$16384$8$1$<salt>$<hash>`` (standard base64).

    A fresh random salt each time, so two systems given the same secret store different hashes.
    """
    if not secret:
        raise ValueError("an empty secret cannot be hashed")
    if len(secret) > MAX_SECRET_LENGTH:
        raise ValueError(f"a secret is at most {MAX_SECRET_LENGTH} characters")
    salt = os.urandom(SALT_BYTES)
    digest = _scrypt(secret, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, HASH_BYTES)
    return f"{SCHEME}${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_secret(secret: str, hashed: str) -> bool:
    """Whether ``secret`` matches the stored ``hashed``; False (never an exception) for a hash
    that cannot be read, so a damaged record refuses logins instead of failing the request.

    The comparison is constant-time; the cost is the KDF's, whatever the outcome.
    """
    parts = hashed.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        return False
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt = base64.b64decode(parts[4], validate=True)
        expected = base64.b64decode(parts[5], validate=True)
    except (ValueError, binascii.Error):
        return False
    if not (1 < n <= _MAX_N and n & (n - 1) == 0 and 0 < r <= 64 and 0 < p <= 16 and expected):
        return False
    if not secret or len(secret) > MAX_SECRET_LENGTH:
        return False
    try:
        actual = _scrypt(secret, salt, n, r, p, len(expected))
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(actual, expected)


def dummy_hash() -> str:
    """A valid hash of a random secret nobody knows: verified against when the system id is
    unknown, so that an unknown id costs the same KDF time as a wrong secret."""
    return hash_secret(generate_secret())
