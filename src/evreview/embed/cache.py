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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evreview.errors import EvreviewError
from evreview.reporting import write_atomically


def content_hash(text: str) -> str:
    """sha256 hex of the UTF-8 text: the cache key."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def model_slug(model_id: str) -> str:
    """File-system safe folder name for a model id, with a hash suffix against collisions."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", model_id)[:60]
    return f"{safe}-{hashlib.sha1(model_id.encode()).hexdigest()[:8]}"


@dataclass
class EmbeddingCache:
    """Vectors of one model, keyed by content hash, stored under ``root``."""

    root: Path
    model_id: str

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self.folder = self.root / model_slug(self.model_id)
        self._vectors: dict[str, np.ndarray] | None = None

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

    def load(self) -> dict[str, np.ndarray]:
        """All cached vectors (hash -> row view), read once per instance (memory-mapped)."""
        if self._vectors is not None:
            return self._vectors
        self._check_model()
        vectors: dict[str, np.ndarray] = {}
        if self.folder.is_dir():
            for keys_file in sorted(self.folder.glob("*.keys")):
                data = np.load(keys_file.with_suffix(".npy"), mmap_mode="r")
                keys = keys_file.read_text(encoding="ascii").split()
                if len(keys) != data.shape[0]:
                    raise EvreviewError(
                        f"corrupt cache shard: {len(keys)} keys for {data.shape[0]} vectors; delete it",
                        path=keys_file,
                    )
                for i, key in enumerate(keys):
                    vectors.setdefault(key, data[i])
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
        key_text = "\n".join(keys) + "\n"
        write_atomically(self.folder / f"{name}.keys", lambda tmp: tmp.write_text(key_text, encoding="ascii"))
        if self._vectors is not None:
            for key, row in zip(keys, np.asarray(matrix, dtype=np.float32)):
                self._vectors.setdefault(key, row)
        return npy

