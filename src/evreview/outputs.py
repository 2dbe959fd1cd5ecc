"""Checks that an output path can be written, made before a command does any work.

A folder given where a file is written, or a path under an existing file, used to fail only
when the outputs were written, after all the work, as an ``IsADirectoryError`` or
``FileExistsError`` traceback naming a temporary file. Each command checks its outputs first
and says which option is wrong.
"""

from __future__ import annotations

from pathlib import Path

from evreview.errors import EvreviewError


def first_existing(path: Path) -> Path | None:
    """``path`` or its nearest existing parent (what ``mkdir(parents=True)`` would build on)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return None


def check_output_file(path: Path, option: str = "--out") -> None:
    """``path`` can become a file: not a folder, and no existing file where a parent folder goes."""
    if path.is_dir():
        raise EvreviewError(f"{option} is a folder: give a file name", path=path)
    parent = first_existing(path.parent)
    if parent is not None and not parent.is_dir():
        raise EvreviewError(f"{option} cannot be written: {parent} is a file, not a folder", path=path)


def check_output_folder(path: Path, option: str = "--out") -> None:
    """``path`` can be (or become) a folder: it, or its nearest existing parent, is a folder."""
    existing = first_existing(path)
    if existing is not None and not existing.is_dir():
        what = option if existing == path else f"{option}'s parent {existing}"
        raise EvreviewError(f"{what} is a file, not a folder", path=path)
