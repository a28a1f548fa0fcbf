"""``axis run``: the axis's main job on its embedded default store.

Until the broker exists (a later issue) the main job is the intake's first stage over a corpus:
parse and validate every edXML file of ``../shared/data/edxml-samples`` when present, else the
project's own ``examples/``, and print one table row per file.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from axis.commands import CommandGroup
from axis.commands.edxml_cmd import check_files, print_table
from axis.paths import default_corpus


def _run(args: argparse.Namespace) -> int:
    corpus: Path = args.corpus or default_corpus()
    files = sorted(p for p in corpus.rglob("*") if p.suffix in {".edxml", ".xml"})
    print(f"axis run: checking {len(files)} edXML files in {corpus}")
    results = check_files(files, strict=False)
    print_table(results)
    return 0


def register(sub: Any) -> None:
    """Add ``axis run``."""
    parser = sub.add_parser("run", help="run the axis's main job (for now: check a corpus)")
    parser.add_argument("--corpus", type=Path, default=None, help="folder of edXML files")
    parser.set_defaults(handler=_run)


GROUP = CommandGroup(name="run", register=register)
