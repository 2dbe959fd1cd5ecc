"""Atomic file writes: a temporary file beside the target, then a rename.

Its own module, without pandas (``evreview.reporting`` imports pandas, a third of a second):
steps such as ``embed-gather`` write their files atomically without loading it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def write_atomically(path: str | Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place.

    A killed job never leaves a half-written file that a re-run would trust, and a reader
    never sees one. The temporary name ends in ``.tmp<pid>``; it is removed if ``write`` fails.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def shown_name(name: object) -> str:
    """A path as the user knows it: without the ``.tmp<pid>`` of :func:`write_atomically`."""
    import re

    return re.sub(r"\.tmp\d+\b", "", str(name))
