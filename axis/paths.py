"""Where the axis finds its files: the project tree, the shared corpora, the data home."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    """``../shared/data`` beside the project, or ``$AXIS_SHARED_DATA`` when set."""
    env = os.environ.get("AXIS_SHARED_DATA")
    return Path(env) if env else PROJECT_ROOT.parent / "shared" / "data"


def examples_dir() -> Path:
    """The project's own hand-written edXML examples."""
    return PROJECT_ROOT / "examples"


def default_corpus() -> Path:
    """The real producers' samples when present, else the project's examples."""
    samples = shared_data_dir() / "edxml-samples"
    return samples if samples.is_dir() else examples_dir()


DEFAULT_HOME = Path("~/.axis")
"""The data directory's default; :class:`axis.config.AxisConfig` is the only reader of
``$AXIS_HOME`` (the composition root hands the resolved home down)."""
