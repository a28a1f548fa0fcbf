"""structlog set-up: key-value events on stderr, so stdout stays clean for a command's output."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the moment of writing.

    Binding the stream object at configuration time breaks when something (a test runner, a
    daemon) replaces ``sys.stderr`` later: log lines would go to a closed stream.
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


_STDERR: TextIO = _CurrentStderr()  # type: ignore[assignment]


class _Settings:
    """The level this process was configured with, handed on to the worker processes it starts
    (a worker configures its own logging the same way; structlog's configuration is per
    process)."""

    level = "warning"


def configured_level() -> str:
    """The level :func:`configure_logging` was last called with in this process."""
    return _Settings.level


def configure_logging(level: str = "warning") -> None:
    """Route structlog events at ``level`` or above to stderr as ``key=value`` lines."""
    _Settings.level = level
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.WARNING)
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,  # a logged exception carries its traceback
            structlog.processors.KeyValueRenderer(
                key_order=["timestamp", "level", "event", "message_id"], drop_missing=True
            ),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=_STDERR),
        cache_logger_on_first_use=False,
    )
