"""Our own zip files: embedding shards, saved TF-IDF fits, the screening term-count cache.

Each is a zip of named members (``meta.json``, text, ``.npy`` arrays) written the same way:
stored (not compressed: the arrays barely compress), with a fixed date and mode on every
member, so the same content is the same bytes (the workflow's reproducibility test compares
every file under ``results/``; ``np.savez`` would stamp the time into each member). Arrays are
written with ``allow_pickle=False`` and read back the same way, so loading runs no code.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evreview.errors import EvreviewError

#: The date every member carries (the earliest a zip can hold).
EPOCH = (1980, 1, 1, 0, 0, 0)


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=EPOCH)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_STORED
    return info


def write_zip(path: str | Path, members: Mapping[str, bytes | np.ndarray]) -> None:
    """Write ``members`` (bytes, or arrays written in ``.npy`` format) to ``path``, deterministically.

    Not atomic by itself: callers write to a temporary name and rename (or link) it into place.
    """
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, data in members.items():
            if isinstance(data, np.ndarray):
                with archive.open(_info(name), "w", force_zip64=True) as handle:
                    # C order as written by np.save; a 0-d array stays 0-d (ascontiguousarray makes it 1-d)
                    array = data if data.ndim == 0 else np.ascontiguousarray(data)
                    np.lib.format.write_array(handle, array, allow_pickle=False)
            else:
                archive.writestr(_info(name), data)


def read_archive(
    path: Path, members: Sequence[str], fmt: str, *, error: type[EvreviewError], what: str, hint: str = ""
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """(meta.json, the named members) of one of our zip files, checked to be of format ``fmt``.

    A missing, damaged or foreign file raises ``error`` naming the file and ``what`` it should be.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            meta = json.loads(archive.read("meta.json").decode("utf-8"))
            data = {name: archive.read(name) for name in members}
    except FileNotFoundError:
        raise error(f"{what} not found", path=path) from None
    except (OSError, zipfile.BadZipFile, KeyError, UnicodeDecodeError, ValueError) as exc:
        raise error(f"not a readable {what} ({exc}){hint}", path=path) from exc
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise error(f"not a {what} of format {fmt} (found {found!r})", path=path)
    return meta, data
