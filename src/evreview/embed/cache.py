"""Content-hash keyed embedding cache: only new or changed texts are ever embedded.

Layout: ``CACHE/<model-slug>/`` holds ``model.json`` (the full model id) and shards, each a
pair ``<shard>.npy`` (float32 vectors) + ``<shard>.keys`` (one sha256 per line, same order).
A run writes at most one new shard with the vectors it had to compute; the vectors file is
written before its keys file, both atomically, so a crash never leaves keys that point at
missing vectors, and parallel writers (cluster shards) never contend for a shared index.
The key is sha256 of the exact text; the model id is the folder, so the pair (content hash,
model id) identifies a vector.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evreview.atomic import write_atomically
from evreview.errors import EvreviewError


def content_hash(text: str) -> str:
    """sha256 hex of the UTF-8 text: the cache key."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def model_slug(model_id: str) -> str:
    """File-system safe folder name for a model id, with a hash suffix against collisions."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", model_id)[:60]
    return f"{safe}-{hashlib.sha1(model_id.encode()).hexdigest()[:8]}"


class CachedVectors(Mapping[str, np.ndarray]):
    """hash -> vector over a cache folder's shards, memory-mapped, with :meth:`take` to gather many.

    Why not a dict of row views: a view per cached vector costs ~5 µs to make (memmap's
    ``__array_finalize__``), a third of a second per 67,000 sentences on every command, and a
    caller gathering all its rows then paid a Python loop per row again. Here a key maps to
    an integer (shard number and row), and :meth:`take` reads each shard's rows with one
    fancy index. The first shard holding a key wins (shards are read in sorted name order).
    """

    _ROW_BITS = 32

    def __init__(self) -> None:
        self._arrays: list[np.ndarray] = []
        self._where: dict[str, int] = {}

    def append(self, keys: Sequence[str], data: np.ndarray) -> None:
        """Add a shard's keys and vectors (row i for key i); keys already present keep their vector."""
        if len(keys) != data.shape[0]:
            raise ValueError(f"{len(keys)} keys for {data.shape[0]} vectors")
        base = len(self._arrays) << self._ROW_BITS
        self._arrays.append(data)
        where = self._where
        for i, key in enumerate(keys):
            if key not in where:
                where[key] = base + i

    def __getitem__(self, key: str) -> np.ndarray:
        code = self._where[key]
        return self._arrays[code >> self._ROW_BITS][code & ((1 << self._ROW_BITS) - 1)]

    def __contains__(self, key: object) -> bool:
        return key in self._where

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)

    @property
    def dim(self) -> int | None:
        """The vector dimension (None while empty)."""
        for data in self._arrays:
            if data.ndim == 2:
                return int(data.shape[1])
        return None

    def take(self, keys: Sequence[str], out: np.ndarray | None = None) -> np.ndarray:
        """``(len(keys), dim)`` float32 rows, row i the vector of ``keys[i]`` (all must be present).

        Grouped by shard, so each memory-mapped shard is read with one fancy index.
        """
        n = len(keys)
        where = self._where
        codes = np.fromiter((where[k] for k in keys), dtype=np.int64, count=n)
        if out is None:
            out = np.empty((n, self.dim or 0), dtype=np.float32)
        if n == 0:
            return out
        shard = codes >> self._ROW_BITS
        rows = codes & ((1 << self._ROW_BITS) - 1)
        order = np.argsort(shard, kind="stable")
        bounds = np.flatnonzero(np.diff(shard[order])) + 1
        for part in np.split(order, bounds):
            out[part] = self._arrays[int(shard[part[0]])][rows[part]]
        return out


@dataclass
class EmbeddingCache:
    """Vectors of one model, keyed by content hash, stored under ``root``."""

    root: Path
    model_id: str

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self.folder = self.root / model_slug(self.model_id)
        self._vectors: CachedVectors | None = None

    def _check_model(self) -> None:
        meta = self.folder / "model.json"
        if meta.exists():
            try:
                stored = json.loads(meta.read_text(encoding="utf-8")).get("model_id")
            except (OSError, json.JSONDecodeError) as exc:
                raise EvreviewError(f"unreadable embedding cache metadata: {exc}", path=meta) from exc
            if stored != self.model_id:
                raise EvreviewError(
                    f"embedding cache folder belongs to model {stored!r}, not {self.model_id!r}", path=meta
                )

    def load(self) -> CachedVectors:
        """All cached vectors (hash -> row), read once per instance (memory-mapped)."""
        if self._vectors is not None:
            return self._vectors
        self._check_model()
        vectors = CachedVectors()
        if self.folder.is_dir():
            for keys_file in sorted(self.folder.glob("*.keys")):
                data = np.load(keys_file.with_suffix(".npy"), mmap_mode="r")
                keys = keys_file.read_text(encoding="ascii").split()
                if len(keys) != data.shape[0]:
                    raise EvreviewError(
                        f"corrupt cache shard: {len(keys)} keys for {data.shape[0]} vectors; delete it",
                        path=keys_file,
                    )
                vectors.append(keys, data)
        self._vectors = vectors
        return vectors

    def add(self, keys: Sequence[str], matrix: np.ndarray) -> Path | None:
        """Store new vectors as one shard named by the hash of its keys; returns its path."""
        if len(keys) == 0:
            return None
        self.folder.mkdir(parents=True, exist_ok=True)
        meta = self.folder / "model.json"
        if not meta.exists():
            write_atomically(meta, lambda tmp: tmp.write_bytes(json.dumps({"model_id": self.model_id}).encode()))
        name = hashlib.sha1("\n".join(keys).encode()).hexdigest()[:16]
        npy = self.folder / f"{name}.npy"
        tmp = npy.with_name(f"{name}.tmp{os.getpid()}.npy")
        np.save(tmp, np.ascontiguousarray(matrix, dtype=np.float32))
        os.replace(tmp, npy)
        key_bytes = ("\n".join(keys) + "\n").encode("ascii")
        write_atomically(self.folder / f"{name}.keys", lambda tmp: tmp.write_bytes(key_bytes))
        if self._vectors is not None:
            self._vectors.append(list(keys), np.asarray(matrix, dtype=np.float32))
        return npy
