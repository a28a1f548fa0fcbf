"""The store's errors: one base that is the registry's ``StoreError``, hence a ``CodedError``.

The registry protocol promises :class:`registry.errors.StoreError` (``store.newer``,
``store.gap``, ``store.diverged``); the HTTP layer turns any :class:`edxml.errors.CodedError` into
a problem response. Deriving the store's errors from the registry's one class serves both.
"""

from __future__ import annotations

from registry.errors import StoreError as RegistryStoreError


class StoreError(RegistryStoreError):
    """The store cannot do what was asked; ``code`` is stable (``store.*``)."""


class CursorError(StoreError):
    """A paging cursor that this store never handed out (``store.bad_cursor``)."""

    def __init__(self, cursor: str) -> None:
        shown = cursor if len(cursor) <= 40 else cursor[:40] + "..."
        super().__init__("store.bad_cursor", f"not a cursor of this listing: {shown!r}", "after")
