"""``axis run --corpus DIR``: the intake's checks over a folder of edXML files, without serving.

Every edXML file of ``DIR`` (default ``../shared/data/edxml-samples`` when present, else the
project's own ``examples/``) goes through
the intake's stages (format, signature, routes; :mod:`axis.intake`) against the registry of the
deployment's store (seeded explicitly on first use), and one table row per file is printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from axis.clock import Clock
from axis.commands import CommandGroup
from axis.commands.registry_shared import current_registry
from axis.config import AxisConfig, ConfigError
from axis.intake import Intake, IntakeContext, run_intake
from axis.paths import default_corpus
from axis.resources import build_trust, build_verifier


def _routes(intake: Intake) -> str:
    if not intake.routes:
        return "-"
    routed = sum(1 for r in intake.routes if r.ok)
    redirected = sum(1 for r in intake.routes if r.status == "redirected")
    text = f"{routed}/{len(intake.routes)}"
    return f"{text} ({redirected} redirected)" if redirected else text


def _run(args: argparse.Namespace) -> int:
    try:
        config = AxisConfig.from_env()
    except ConfigError as exc:
        print(f"{exc.code}: {exc.location}: {exc.message}", file=sys.stderr)
        return 2
    corpus: Path = args.corpus or default_corpus()
    files = sorted(p for p in corpus.rglob("*") if p.suffix in {".edxml", ".xml"})
    registry = current_registry(config)
    trust = build_trust(config)
    print(
        f"axis run: intake of {len(files)} edXML files in {corpus}\n"
        f"  registry version {registry.version} in {config.home}, "
        f"signatures {config.signature_mode}, {len(trust.anchors)} trust anchors"
    )
    with build_verifier(config) as verifier:
        context = IntakeContext(config, registry, verifier, Clock(config.clock_offset).now())
        rows = [(path.name, run_intake(path.read_bytes(), context)) for path in files]
    width = max((len(name) for name, _ in rows), default=4)
    print(
        f"{'file':<{width}}  {'verdict':<8} {'kind':<8} {'format':<16} {'signature':<9} {'routes':<16} refusal"
    )
    for name, intake in rows:
        check = intake.check
        errors = len(check.errors) if check else 0
        warnings = len(check.problems) - errors if check else 0
        kind = "-" if intake.package is None else type(intake.package).__name__.lower()
        signature = intake.signature.status if intake.signature else "-"
        refusal = intake.refusal.code if intake.refusal else ""
        print(
            f"{name:<{width}}  {'accepted' if intake.accepted else 'refused':<8} {kind:<8} "
            f"{f'{errors} err {warnings} warn':<16} {signature:<9} {_routes(intake):<16} {refusal}"
        )
    accepted = sum(1 for _, intake in rows if intake.accepted)
    print(f"{accepted} of {len(rows)} accepted")
    return 0


def register(sub: Any) -> None:
    """Add ``axis run``."""
    parser = sub.add_parser(
        "run", help="the intake's checks (format, signature, routes) over a folder of edXML files"
    )
    parser.add_argument("--corpus", type=Path, default=None, help="folder of edXML files")
    parser.set_defaults(handler=_run)


GROUP = CommandGroup(name="run", register=register)
