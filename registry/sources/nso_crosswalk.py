"""The statistics office's old -> new crosswalk of administrative units, exactly as published.

Two shapes of the same list are read:

* ``normalised``: ``official/old_communes_to_new_nso.csv`` (one header line, codes as text,
  ``merge_kind`` spelt out);
* ``sheet``: the office's workbook sheet "Tổng hợp_không merge" saved as CSV, as it is stored:
  two header lines, one section line per new province, ``Name (code)`` cells, leading zeros lost
  in code cells ("1558" for 01558), NFD and NFC mixed, new-style tone marks, stray spaces and line
  breaks, trailing empty columns, and the merge kind only in the free-text note.

Both give the same rows (the tests prove it on the real files). From the rows the reader states:
every old commune, district and province as a unit valid until the cut-over, every new commune
(and, where the sheet names them, new province) valid from it, and one succession per old unit.
Nothing is looked up by name: 157 old commune names repeat inside one province.

Flaws are reported, never hidden: a lost leading zero restored, a known correction of the office
applied, the same old code given to two names, an old province code whose name disagrees with the
rest of the sheet. They are warnings (the row is kept, as published); unreadable rows are errors.

The reading of the two shapes lives in :mod:`registry.sources.nso_rows`, the turning of rows into
a batch in :mod:`registry.sources.nso_batch`; this module is the format's entry point and keeps
their public names importable from here.
"""

from __future__ import annotations

from registry.sources.batch import ImportBatch
from registry.sources.nso_batch import FORMAT, LEGAL_BASIS, SUCCESSOR_KIND, rows_to_batch
from registry.sources.nso_rows import (
    KNOWN_CORRECTIONS,
    MERGE_KINDS,
    NORMALISED_HEADER,
    SHEET_MARKER,
    Correction,
    CrosswalkRow,
    Progress,
    classify_note,
    detect,
    parse_rows,
)

__all__ = [
    "FORMAT",
    "KNOWN_CORRECTIONS",
    "LEGAL_BASIS",
    "MERGE_KINDS",
    "NORMALISED_HEADER",
    "SHEET_MARKER",
    "SUCCESSOR_KIND",
    "Correction",
    "CrosswalkRow",
    "Progress",
    "classify_note",
    "detect",
    "parse_rows",
    "read_text",
    "rows_to_batch",
]


def read_text(
    text: str, source: str = "<text>", *, progress: Progress | None = None
) -> ImportBatch:
    """The batch one crosswalk file states (either shape)."""
    rows, issues = parse_rows(text, progress=progress)
    return rows_to_batch(rows, issues, source)
