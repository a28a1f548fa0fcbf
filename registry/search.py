"""Finding agencies by name however people spell them (tone placement, diacritics, case).

The keys of every record are folded once per registry version, on the first search (a CLI lookup
by code never pays for them); a search is then one pass of substring tests over those keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from registry.model import Agency
from registry.text import fold_exact, fold_plain, has_diacritics


@dataclass(frozen=True, slots=True)
class NameRow:
    """Search keys of one record, computed once per version on the first search."""

    exact_all: str
    plain_all: str
    exact_names: frozenset[str]
    plain_names: frozenset[str]
    agency: Agency


def name_index(agencies: Iterable[Agency]) -> tuple[NameRow, ...]:
    """The folded keys of ``agencies`` (name and short name), in the order given."""
    rows: list[NameRow] = []
    for agency in agencies:
        names = [n for n in (agency.name, agency.short_name) if n]
        text = " ".join(names)
        rows.append(
            NameRow(
                f" {fold_exact(text)} ",
                f" {fold_plain(text)} ",
                frozenset(fold_exact(n) for n in names),
                frozenset(fold_plain(n) for n in names),
                agency,
            )
        )
    return tuple(rows)


def search(
    rows: Iterable[NameRow],
    text: str,
    *,
    canonical: Callable[[str], str],
    limit: int,
    at: datetime | None,
) -> list[Agency]:
    """Records whose name, short name or code matches ``text`` (see :meth:`Registry.search`).

    ``canonical`` maps a typed code to the stored form (``H63`` -> ``000.00.00.H63``) so a code
    typed as a query ranks its record first; ``at`` (UTC) keeps only records in force then.
    """
    query = text.strip()
    if not query:
        return []
    exact = has_diacritics(query)
    needle = fold_exact(query) if exact else fold_plain(query)
    if not needle:
        return []
    padded = f" {needle}"
    code_query = canonical(query.upper())
    ranked: list[tuple[int, str, Agency]] = []
    for row in rows:
        agency = row.agency
        key = row.exact_all if exact else row.plain_all
        whole = row.exact_names if exact else row.plain_names
        if agency.code == code_query:
            rank = 0
        elif needle in whole:
            rank = 1
        elif key.startswith(padded):
            rank = 2
        elif padded in key:
            rank = 3
        else:
            continue
        if at is not None and not agency.valid_at(at):
            continue
        ranked.append((rank, agency.code, agency))
    ranked.sort(key=lambda item: (item[0], item[1]))
    return [agency for _, _, agency in ranked[:limit]]
