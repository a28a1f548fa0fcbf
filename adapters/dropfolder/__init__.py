"""The drop-folder adapter: a document system exchanges edXML files through four folders.

Published as the ``dropfolder`` entry point of ``axis.adapters``; run it with
``axis adapter dropfolder run --root DIR [--once]`` (see :mod:`adapters.dropfolder.folder`).
"""

from __future__ import annotations

from adapters.dropfolder.folder import DropFolder
from adapters.dropfolder.plugin import ADAPTER, DropFolderAdapter
from adapters.dropfolder.runner import Settings, run_forever, run_once

__all__ = ["ADAPTER", "DropFolder", "DropFolderAdapter", "Settings", "run_forever", "run_once"]
