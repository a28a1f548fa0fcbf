"""Reading every page of a cursor-paged listing (a trace, the dead letters, a catch-up)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

from axis.store.records import Page

T = TypeVar("T")


async def each_page(
    fetch: Callable[[str | None], Awaitable[Page[T]]],
) -> AsyncIterator[Sequence[T]]:
    """The items of ``fetch(cursor)`` page by page, so a long listing (an audit export) is
    streamed instead of held whole."""
    cursor: str | None = None
    while True:
        page = await fetch(cursor)
        yield page.items
        cursor = page.cursor
        if cursor is None:
            return


async def every_page(fetch: Callable[[str | None], Awaitable[Page[T]]]) -> list[T]:
    """All items of ``fetch(cursor)`` pages, from the first page to the last."""
    return [item async for items in each_page(fetch) for item in items]
