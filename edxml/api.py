"""The three verbs of the format layer: parse, validate, build (and check, which does both).

``check`` is the intake's hot path: one parse, one schema pass, one read, one rules pass. ``parse``
and ``validate`` are views of it: ``parse`` refuses a package with any error and returns the model;
``validate`` returns every finding and never raises for bad input.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from lxml import etree

from edxml.errors import EdxmlError, Mode, Problem, Severity
from edxml.model import Package
from edxml.payload import Payload
from edxml.reader import read_tree
from edxml.rules import check_rules
from edxml.schema import schema_problems
from edxml.spool import SPOOL_THRESHOLD, SpoolingTreeBuilder
from edxml.xmlsafe import DEFAULT_LIMITS, XmlLimits, parse_xml

Source = bytes | bytearray | memoryview | etree._ElementTree


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The package (``None`` when unreadable) and every finding, errors first."""

    package: Package | None
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)

    @property
    def ok(self) -> bool:
        return self.package is not None and not self.errors


Spooled = dict[etree._Element, Payload]


def _tree(source: Source, limits: XmlLimits) -> tuple[etree._ElementTree, Spooled]:
    """The tree, and the attachments decoded on the way when the input is large."""
    if isinstance(source, etree._ElementTree):
        return source, {}
    data = bytes(source)
    if len(data) <= SPOOL_THRESHOLD:
        return parse_xml(data, limits), {}
    builder = SpoolingTreeBuilder(limits.max_depth)
    tree = parse_xml(data, limits, target=builder)
    return tree, builder.payloads()


def _merge(schema: list[Problem], read: list[Problem], rules: list[Problem]) -> list[Problem]:
    """Reader and rule findings win over a schema finding at the same place (their codes are
    more precise); schema findings elsewhere are kept."""
    if not schema and not read and not rules:
        return []
    precise = {p.location for p in read} | {p.location for p in rules}
    merged = read + rules + [p for p in schema if p.location not in precise]
    merged.sort(key=lambda p: p.severity is not Severity.ERROR)
    return merged


def check(
    source: Source,
    *,
    mode: Mode = Mode.TOLERANT,
    limits: XmlLimits = DEFAULT_LIMITS,
    today: dt.date | None = None,
    schema: bool = True,
) -> CheckResult:
    """Parse, schema-validate, read and apply the rules; never raises for bad input."""
    try:
        tree, spooled = _tree(source, limits)
    except EdxmlError as exc:
        return CheckResult(None, exc.problems)
    found_schema = schema_problems(tree) if schema else []
    result = read_tree(tree, mode, spooled)
    found_rules: list[Problem] = []
    if result.package is not None:
        found_rules = check_rules(
            result.package, mode=mode, container=result.container, today=today
        )
    return CheckResult(result.package, tuple(_merge(found_schema, result.problems, found_rules)))


def parse(
    source: Source, *, mode: Mode = Mode.TOLERANT, limits: XmlLimits = DEFAULT_LIMITS
) -> Package:
    """The model of a package; raises :class:`EdxmlError` (with every problem) if it cannot be read.

    Only what stops reading is fatal here (hostile or malformed XML, the wrong shape, values that
    cannot be typed); rules such as manifest agreement are :func:`validate`'s business.
    """
    tree, spooled = _tree(source, limits)
    result = read_tree(tree, mode, spooled)
    errors = tuple(p for p in result.problems if p.severity is Severity.ERROR)
    if result.package is None or errors:
        first = errors[0] if errors else Problem("edxml.unreadable", "no package", "/")
        raise EdxmlError(first.code, first.message, first.location, errors or (first,))
    return result.package


def validate(
    source: Source,
    *,
    mode: Mode = Mode.TOLERANT,
    limits: XmlLimits = DEFAULT_LIMITS,
    today: dt.date | None = None,
) -> list[Problem]:
    """Every finding (errors and warnings) about a package; empty when it is clean."""
    return list(check(source, mode=mode, limits=limits, today=today).problems)
