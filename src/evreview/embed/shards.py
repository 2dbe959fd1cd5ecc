"""Embedding shards: scatter the embedding of a large review over jobs/nodes, then gather.

``evreview embed --shard K --shards N --out FILE`` embeds only the texts whose content hash
falls in shard K of N and writes their vectors to a shard file; ``evreview embed-gather
FILES... --cache-dir DIR`` merges the shard files into the embedding cache, after which the
``code`` step finds every vector cached and embeds nothing.

Why by content hash of each text (sentence): the assignment depends on nothing but the text,
so adding records never moves an old text to another shard (its vector stays where it was
computed and cached), a sentence shared by many records is embedded once, and shards come
out balanced.

A shard file is a zip of ``meta.json``, ``keys.txt`` (sorted sha256 keys, one a line) and
``vectors.npy`` (float32, row i for key i), stored uncompressed with fixed timestamps, so the
same inputs give a byte-identical file and ``numpy.load`` can read the vectors. ``meta.json``
names the model and the whole corpus (sha256 of all its sorted keys and their number): the
gather refuses shard files made by another model, another corpus or another ``--shards``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evreview.embed import embed_texts
from evreview.embed.backends import EmbeddingBackend
from evreview.embed.cache import EmbeddingCache, content_hash
from evreview.errors import EvreviewError
from evreview.zipfiles import read_archive, write_zip

#: Identifies the shard file layout; bump when it changes.
SHARD_FORMAT = "evreview-embed-shard/1"

_KEY = re.compile(r"^[0-9a-f]{64}$")


class ShardError(EvreviewError):
    """A shard request or shard file that cannot be used (bad numbers, mixed runs, corrupt file)."""


def shard_of(key: str, shards: int) -> int:
    """Shard (0-based) of a content-hash key: its first 64 bits modulo ``shards``."""
    return int(key[:16], 16) % shards


def check_shard(shard: int, shards: int) -> None:
    """``0 <= shard < shards`` or a clear error (shards are numbered from 0)."""
    if shards < 1:
        raise ShardError(f"--shards must be at least 1, got {shards}")
    if not 0 <= shard < shards:
        raise ShardError(f"--shard must be between 0 and {shards - 1} for --shards {shards}, got {shard}")


def corpus_keys(texts: Sequence[str], keys: Sequence[str] | None = None) -> dict[str, str]:
    """Content hash -> text for the non-empty texts, sorted by hash (empty texts need no vector).

    ``keys``: each text's cache key when the caller has them (``""`` for a blank text), as
    :func:`evreview.embed.embed_texts` takes them.
    """
    if keys is None:
        unique = {content_hash(t): t for t in texts if t.strip()}
    else:
        if len(keys) != len(texts):
            raise ValueError(f"{len(keys)} keys for {len(texts)} texts")
        unique = dict(zip(keys, texts))
        unique.pop("", None)
    return dict(sorted(unique.items()))


def corpus_fingerprint(keys: Sequence[str]) -> str:
    """sha256 of the sorted keys of the whole corpus: every shard of one run carries the same."""
    return hashlib.sha256("\n".join(sorted(keys)).encode("ascii")).hexdigest()


@dataclass
class ShardFile:
    """One shard's vectors and what they belong to."""

    model_id: str
    shard: int
    shards: int
    corpus_sha256: str
    n_corpus: int
    keys: list[str]
    vectors: np.ndarray
    path: Path | None = None

    def meta(self) -> dict[str, object]:
        return {
            "format": SHARD_FORMAT,
            "model_id": self.model_id,
            "shard": self.shard,
            "shards": self.shards,
            "corpus_sha256": self.corpus_sha256,
            "n_corpus": self.n_corpus,
            "n": len(self.keys),
            "dim": int(self.vectors.shape[1]) if self.vectors.ndim == 2 else 0,
        }


def write_shard(path: str | Path, shard: ShardFile) -> Path:
    """Write ``shard`` atomically (temp file + rename) as a deterministic zip."""
    path = Path(path)
    vectors = np.ascontiguousarray(shard.vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(shard.keys):
        raise ValueError(f"{len(shard.keys)} keys for vectors of shape {vectors.shape}")
    members = {
        "meta.json": (json.dumps(shard.meta(), sort_keys=True, indent=1) + "\n").encode("utf-8"),
        "keys.txt": "".join(f"{k}\n" for k in shard.keys).encode("ascii"),
        "vectors.npy": vectors,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    write_zip(tmp, members)
    os.replace(tmp, path)
    return path


def read_shard(path: str | Path) -> ShardFile:
    """Read and check a shard file: layout, key format, keys belong to the shard, shapes agree."""
    path = Path(path)
    meta, data = read_archive(path, ("keys.txt", "vectors.npy"), SHARD_FORMAT, error=ShardError,
                              what="embedding shard file")
    try:
        keys = data["keys.txt"].decode("ascii").split()
        vectors = np.load(io.BytesIO(data["vectors.npy"]), allow_pickle=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ShardError(f"not a readable embedding shard file ({exc})", path=path) from exc
    try:
        shard = ShardFile(
            model_id=str(meta["model_id"]),
            shard=int(meta["shard"]),
            shards=int(meta["shards"]),
            corpus_sha256=str(meta["corpus_sha256"]),
            n_corpus=int(meta["n_corpus"]),
            keys=keys,
            vectors=vectors,
            path=path,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ShardError(f"shard file metadata incomplete ({exc})", path=path) from exc
    try:
        check_shard(shard.shard, shard.shards)
    except ShardError as exc:
        raise ShardError(exc.message, path=path) from None
    if vectors.dtype != np.float32 or vectors.ndim != 2 or not vectors.shape[0] == len(keys) == meta.get("n"):
        raise ShardError(f"{len(keys)} keys but vectors of shape {vectors.shape} ({vectors.dtype})", path=path)
    for line, key in enumerate(keys, start=1):
        if not _KEY.match(key):
            raise ShardError(f"keys.txt line {line}: not a sha256 key: {key[:80]!r}", path=path)
        if shard_of(key, shard.shards) != shard.shard:
            raise ShardError(
                f"keys.txt line {line}: key {key[:12]}... belongs to shard {shard_of(key, shard.shards)}, "
                f"not {shard.shard}",
                path=path,
            )
    if keys != sorted(set(keys)):
        raise ShardError("keys.txt is not sorted and unique", path=path)
    return shard


@dataclass
class GatherStats:
    """What a gather did: vectors found in the shard files, added to the cache, already there."""

    model_id: str
    shards: int
    n_vectors: int
    n_added: int
    n_already_cached: int

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def gather_shards(paths: Sequence[str | Path], cache_dir: str | Path) -> GatherStats:
    """Merge shard files into the embedding cache of their model (idempotent).

    Every shard of one run must be present exactly once: a missing shard would leave its
    texts for the ``code`` step to embed unnoticed, so it is an error naming the numbers.
    """
    if not paths:
        raise ShardError("no shard files given")
    shards = [read_shard(p) for p in paths]
    first = shards[0]
    by_index: dict[int, ShardFile] = {}
    for shard in shards:
        for attr in ("model_id", "shards", "corpus_sha256", "n_corpus"):
            if getattr(shard, attr) != getattr(first, attr):
                raise ShardError(
                    f"{attr} {getattr(shard, attr)!r} differs from {getattr(first, attr)!r} in {first.path}: "
                    "shard files of different runs cannot be gathered",
                    path=shard.path,
                )
        if shard.shard in by_index:
            raise ShardError(f"shard {shard.shard} given twice (also {by_index[shard.shard].path})", path=shard.path)
        by_index[shard.shard] = shard
    missing = sorted(set(range(first.shards)) - set(by_index))
    if missing:
        listed = ", ".join(map(str, missing[:20])) + (" ..." if len(missing) > 20 else "")
        raise ShardError(f"{len(missing)} of {first.shards} shard file(s) missing: shard(s) {listed}")
    n_vectors = sum(len(s.keys) for s in shards)
    if n_vectors != first.n_corpus:
        raise ShardError(f"the shard files hold {n_vectors} vectors but their corpus has {first.n_corpus} texts")
    dims = {int(s.vectors.shape[1]) for s in shards if len(s.keys)}
    if len(dims) > 1:
        raise ShardError(f"shard files disagree on the vector dimension: {sorted(dims)}")
    cache = EmbeddingCache(Path(cache_dir), first.model_id)
    known = cache.load()
    added = 0
    for index in sorted(by_index):
        shard = by_index[index]
        rows = [i for i, key in enumerate(shard.keys) if key not in known]
        if rows:
            cache.add([shard.keys[i] for i in rows], shard.vectors[rows])
            added += len(rows)
    return GatherStats(first.model_id, first.shards, n_vectors, added, n_vectors - added)


@dataclass
class ShardStats:
    """What one shard job did."""

    model_id: str
    shard: int
    shards: int
    n_corpus: int
    n_shard: int
    n_cached: int
    n_embedded: int
    seconds: float

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def embed_shard(
    texts: Sequence[str],
    backend: EmbeddingBackend,
    shard: int,
    shards: int,
    out: str | Path,
    cache_dir: str | Path | None = None,
    *,
    batch_size: int = 32,
    progress: bool = True,
    keys: Sequence[str] | None = None,
) -> ShardStats:
    """Embed shard ``shard`` of ``shards`` of ``texts`` (through the cache) into the file ``out``.

    The file holds every vector of the shard, cached or new, so it depends only on the
    corpus, the model and the shard numbers: a re-run writes the same bytes. ``keys``: the
    texts' cache keys, when the caller has them (see :func:`corpus_keys`).
    """
    check_shard(shard, shards)
    corpus = corpus_keys(texts, keys)
    mine = [key for key in corpus if shard_of(key, shards) == shard] if shards > 1 else list(corpus)
    texts_mine = [corpus[k] for k in mine]
    vectors, stats = embed_texts(texts_mine, backend, cache_dir, batch_size=batch_size, progress=progress, keys=mine)
    write_shard(
        out,
        ShardFile(
            model_id=stats.model_id,
            shard=shard,
            shards=shards,
            corpus_sha256=corpus_fingerprint(list(corpus)),
            n_corpus=len(corpus),
            keys=mine,
            vectors=vectors,
        ),
    )
    return ShardStats(
        stats.model_id, shard, shards, len(corpus), len(mine), stats.n_cached, stats.n_embedded, round(stats.seconds, 3)
    )
