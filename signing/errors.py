"""The errors the signing package raises, all under one base: :class:`SigningError`.

One base so that the API and the CLI can catch *every* refusal of this package in one clause and
print the same three facts (``code``, ``message``, ``location``) as every other package of the
house: :class:`SigningError` derives from :class:`edxml.CodedError`. The concrete errors keep the
standard exception they derived from before (``ValueError`` for bad input, ``RuntimeError`` for
an environment that cannot do the job), so existing ``except ValueError`` callers keep working,
and their ``code`` values are unchanged.

A verification never raises for a bad *document*: it returns a report. These errors are about
what the caller asked for (a key that cannot sign, a trust directory that cannot be read, a test
PKI that cannot be built, revocation data that cannot be fetched).
"""

from __future__ import annotations

from edxml.errors import CodedError


class SigningError(CodedError):
    """The base of every error of :mod:`signing` (``code``, ``message``, ``location``)."""


class SignError(SigningError, ValueError):
    """The document or key cannot be signed as asked (codes ``sign.*``)."""

    def __init__(self, code: str, message: str, location: str | None = "/") -> None:
        super().__init__(code, message, location)


class TrustStoreError(SigningError, ValueError):
    """A trust directory cannot be used (codes ``trust.*``); ``location`` names the file."""


class PkiError(SigningError, RuntimeError):
    """The test PKI cannot be built or loaded (codes ``pki.*``)."""


class RevocationFetchError(SigningError, RuntimeError):
    """Revocation data could not be obtained (codes ``revocation.*``); ``location`` is the URL."""
