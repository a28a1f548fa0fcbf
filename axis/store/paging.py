"""Reading every page of a cursor-paged listing (a trace, the dead letters, a catch-up)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from axis.store.records import Page

T = TypeVar("T")


async def every_page(fetch: Callable[[str | None], Awaitable[Page[T]]]) -> list[T]:
    """All items of ``fetch(cursor)`` pages, from the first page to the last."""
    items: list[T] = []
    cursor: str | None = None
    while True:
        page = await fetch(cursor)
        items.extend(page.items)
        cursor = page.cursor
        if cursor is None:
            return items
