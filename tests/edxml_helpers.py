"""Small builders for edXML test inputs (the project's own examples are the base)."""

from __future__ import annotations

from pathlib import Path

from axis.paths import examples_dir


def example(name: str) -> bytes:
    """The bytes of one file of ``examples/``."""
    return (examples_dir() / name).read_bytes()


def example_paths() -> list[Path]:
    return sorted(examples_dir().glob("*.edxml"))


NEW_DOCUMENT = "edoc_new_two-attachments.edxml"
