"""Turning a path written in an export (`pdf/FC0142-24.pdf`) into a file we may read.

The export is untrusted input: a row could point at `/etc/passwd`, at `../../other-export`, or at a
symlink planted in the folder. Anything that does not resolve to a regular file inside the export
folder is reported, never read.
"""

from __future__ import annotations

import enum
import os
from pathlib import Path, PurePosixPath, PureWindowsPath


class PathProblem(enum.Enum):
    """Why a path from the export cannot be used."""

    MISSING = "missing"
    OUTSIDE_EXPORT = "outside_export"


def locate_in_export(export_dir: Path, relative_path: str) -> Path | PathProblem:
    """The resolved file, or why not. Backslashes are read as separators (Windows accounting tools)."""
    written = relative_path.strip().replace("\\", "/")
    if not written or "\x00" in written:
        return PathProblem.MISSING
    posix = PurePosixPath(written)
    if posix.is_absolute() or PureWindowsPath(written).anchor or ".." in posix.parts:
        return PathProblem.OUTSIDE_EXPORT
    try:
        root = os.path.realpath(export_dir, strict=True)
        # Symbolic links are followed to where they really lead (a loop leads nowhere: missing).
        target = os.path.realpath(os.path.join(root, written))
    except (OSError, ValueError):
        return PathProblem.MISSING
    inside = root if root.endswith(os.sep) else root + os.sep
    if target != root and not target.startswith(inside):
        return PathProblem.OUTSIDE_EXPORT
    try:
        if not os.path.isfile(target):
            return PathProblem.MISSING
    except OSError:
        return PathProblem.MISSING
    return Path(target)
