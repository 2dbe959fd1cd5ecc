"""The embedding stage: texts in, cached L2-normalised vectors out.

Public entry points:

* :func:`embed_texts`: any list of texts, through the content-hash cache.
* :func:`embed_studies`: per-study sentence vectors and the pooled study vector.
* :func:`embed_records`: just the ``(n_studies, dim)`` study matrix (what BERTopic uses).

Only texts missing from the cache are sent to the model (in batches, with a tqdm bar on
stderr), so a re-run on unchanged records embeds nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from evreview.embed.backends import (
    DEFAULT_MODEL,
    DEFAULT_MODEL_SHA256,
    EmbeddingBackend,
    EmbeddingError,
    SentenceTransformerBackend,
    TfidfSvdBackend,
    l2_normalise,
    make_backend,
)
from evreview.embed.cache import CachedVectors, EmbeddingCache, content_hash
from evreview.embed.text import split_sentences, study_sentences, study_text

if TYPE_CHECKING:  # pragma: no cover - pandas is only named in annotations here: embed-gather never loads it
    import pandas as pd

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_MODEL_SHA256",
    "TEXT_COLUMNS",
    "EmbedStats",
    "EmbeddingBackend",
    "EmbeddingCache",
    "EmbeddingError",
    "SentenceTransformerBackend",
    "StudyEmbeddings",
    "TfidfSvdBackend",
    "content_hash",
    "embed_records",
    "embed_studies",
    "embed_texts",
    "fit_backend",
    "length_order",
    "make_backend",
    "pool_rows",
    "split_sentences",
    "split_study_texts",
    "study_sentences",
    "study_text",
]


#: Texts per cache shard (vectors are saved after each shard is computed).
SHARD_SIZE = 1024


@dataclass
class EmbedStats:
    """What a call cost: how many texts were asked for, unique, cached, and newly embedded."""

    model_id: str
    n_texts: int = 0
    n_unique: int = 0
    n_cached: int = 0
    n_embedded: int = 0
    n_records_embedded: int = 0
    seconds: float = 0.0
    new_keys: frozenset[str] = frozenset()

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if k != "new_keys"}


def fit_backend(
    backend: EmbeddingBackend,
    texts: Sequence[str] | Callable[[], Sequence[str]],
    *,
    cache_dir: str | Path | None = None,
    refit: bool = False,
) -> EmbeddingBackend:
    """Fit corpus-dependent backends (TF-IDF) on ``texts``; pretrained ones are returned as-is.

    With ``cache_dir``, a backend that can save its fit (TF-IDF) loads the fit saved there by
    an earlier run instead of refitting (``refit=True`` fits ``texts`` and saves that), so its
    ``model_id`` and the cached vectors stay valid when a search round adds studies.
    ``texts`` may be a function returning them, so nothing is built when nothing is fitted.
    """
    fit_or_load = getattr(backend, "fit_or_load", None)
    if cache_dir is not None and callable(fit_or_load):
        fit_or_load(texts, cache_dir, refit=refit)
        return backend
    fit = getattr(backend, "fit", None)
    if callable(fit):
        fit(texts() if callable(texts) else texts)
    return backend


#: Caches this process has loaded, by (folder, model id), with the folder's state when loaded.
_OPEN_CACHES: dict[tuple[str, str], tuple[tuple[tuple[str, int, int], ...], EmbeddingCache]] = {}


def _folder_state(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """Name, size and mtime of every keys file: changes whenever any writer adds a shard."""
    entries = []
    for path in folder.glob("*.keys") if folder.is_dir() else ():
        try:
            stat = path.stat()
        except FileNotFoundError:  # removed meanwhile: the state differs anyway
            continue
        entries.append((path.name, stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(entries))


def _open_cache(cache_dir: Path, model_id: str) -> EmbeddingCache:
    """The loaded cache of ``model_id`` in ``cache_dir``, loaded once per process while its folder is unchanged.

    Why: the ``code`` step embeds the studies and then each dimension's code descriptions,
    five calls that each re-read every keys file and re-built a row view per cached vector
    (a third of an update round's coding time). A folder changed by anyone else since (a
    new or rewritten keys file) is read again; this process's own additions are in the
    loaded cache already (:meth:`EmbeddingCache.add` updates it).
    """
    cache = EmbeddingCache(cache_dir, model_id)
    key = (str(cache.folder.resolve()), model_id)
    state = _folder_state(cache.folder)
    known = _OPEN_CACHES.get(key)
    if known is not None and known[0] == state:
        return known[1]
    cache.load()
    _OPEN_CACHES[key] = (state, cache)
    return cache


def _remember(cache: EmbeddingCache) -> None:
    """Record the folder state after this process added a shard, so the next call reuses the cache."""
    _OPEN_CACHES[(str(cache.folder.resolve()), cache.model_id)] = (_folder_state(cache.folder), cache)


def embed_texts(
    texts: Sequence[str],
    backend: EmbeddingBackend,
    cache_dir: str | Path | None = None,
    *,
    batch_size: int = 32,
    progress: bool = True,
    keys: Sequence[str] | None = None,
) -> tuple[np.ndarray, EmbedStats]:
    """Vectors for ``texts`` (row i for text i), computing only what the cache lacks.

    Empty texts get a zero vector without calling the model (a zero vector has cosine 0 with
    everything, so it can never carry a code). ``keys``: the texts' cache keys when the caller
    has them already (:func:`evreview.embed.sentences.sentence_key` of each text, e.g. from the
    sentence cache), so 270,000 sentences are not hashed again.
    """
    import time

    start = time.perf_counter()
    attach = getattr(backend, "attach_cache", None)
    if cache_dir is not None and callable(attach):
        # Backends with files of their own (the distilled static model) keep them beside
        # the vectors, so every command given the same cache dir shares them.
        attach(Path(cache_dir))
    model_id = backend.model_id
    stats = EmbedStats(model_id=model_id, n_texts=len(texts))
    if keys is None:
        keys = [content_hash(t) if t.strip() else "" for t in texts]
    elif len(keys) != len(texts):
        raise ValueError(f"{len(keys)} keys for {len(texts)} texts")
    unique = dict(zip(keys, texts))  # equal keys are equal texts
    unique.pop("", None)
    stats.n_unique = len(unique)
    cache = _open_cache(Path(cache_dir), model_id) if cache_dir is not None else None
    known: Any = cache.load() if cache is not None else {}
    missing = sorted(k for k in unique if k not in known)  # sorted: shard content is deterministic
    stats.n_cached = stats.n_unique - len(missing)
    new: dict[str, np.ndarray] = {}
    if missing:
        from tqdm import tqdm

        # Shards of at most SHARD_SIZE texts: an interrupted long run keeps what it computed.
        with tqdm(
            total=len(missing), desc="embedding", unit="text", file=sys.stderr, disable=not progress, leave=False
        ) as bar:
            for offset in range(0, len(missing), SHARD_SIZE):
                part = missing[offset : offset + SHARD_SIZE]
                vectors = _encode_batches([unique[k] for k in part], backend, batch_size, bar)
                if cache is not None:
                    cache.add(part, vectors)
                    _remember(cache)
                else:
                    new.update(zip(part, vectors))
    stats.n_embedded = len(missing)
    stats.new_keys = frozenset(missing)
    out = _gather(keys, known if cache is not None else new, backend)
    stats.seconds = time.perf_counter() - start
    return out, stats


def _gather(keys: Sequence[str], known: Any, backend: EmbeddingBackend) -> np.ndarray:
    """Row i the vector of ``keys[i]`` (zeros for ``""``), from the cache's :meth:`take` or a dict."""
    dim = _dimension(known, backend)
    out = np.zeros((len(keys), dim), dtype=np.float32)
    filled = [i for i, key in enumerate(keys) if key]
    if not filled:
        return out
    if isinstance(known, CachedVectors):
        if len(filled) == len(keys):
            return known.take(keys, out=out)
        out[filled] = known.take([keys[i] for i in filled])
        return out
    for i in filled:
        out[i] = known[keys[i]]
    return out


def _dimension(known: Any, backend: EmbeddingBackend) -> int:
    if isinstance(known, CachedVectors):
        if known.dim is not None:
            return known.dim
    else:
        for vector in known.values():
            return int(vector.shape[0])
    return int(backend.encode(["dimension probe"]).shape[1])


def length_order(texts: Sequence[str]) -> np.ndarray:
    """Indices that sort ``texts`` longest first (stable, so ties keep their input order).

    Why: a transformer pads every batch to its longest member. Missing texts arrive in
    content-hash order, i.e. random lengths, so a 64-sentence batch with one 200-token
    keyword line would cost 64 x 200 tokens. Batching neighbours in length order makes the
    padding negligible; the caller restores the original order afterwards.
    """
    return np.argsort([-len(t) for t in texts], kind="stable")


def _encode_batches(texts: list[str], backend: EmbeddingBackend, batch_size: int, bar: Any) -> np.ndarray:
    """Encode in length-sorted batches, advancing the tqdm bar (on stderr) the user watches.

    Rows come back in the order of ``texts``.
    """
    batch_size = max(1, int(batch_size))
    order = length_order(texts)
    ordered = [texts[i] for i in order]
    chunks = []
    for start in range(0, len(ordered), batch_size):
        batch = ordered[start : start + batch_size]
        chunks.append(np.asarray(backend.encode(batch, batch_size=batch_size), dtype=np.float32))
        bar.update(len(batch))
    vectors = np.vstack(chunks)
    out = np.empty_like(vectors)
    out[order] = vectors
    return l2_normalise(out)


@dataclass
class StudyEmbeddings:
    """Sentence vectors of every study plus the pooled (mean, re-normalised) study vector."""

    study_ids: list[str]
    sentences: list[list[str]]
    sentence_vectors: np.ndarray  # all sentences stacked, study by study
    offsets: np.ndarray  # study i owns rows offsets[i]:offsets[i+1]
    study_vectors: np.ndarray
    stats: EmbedStats
    extra: dict[str, object] = field(default_factory=dict)

    def rows(self, i: int) -> np.ndarray:
        return self.sentence_vectors[self.offsets[i] : self.offsets[i + 1]]


#: The studies' columns a study's text is made of (all that embedding reads besides study_id).
TEXT_COLUMNS: tuple[str, ...] = ("title", "abstract", "keywords")


def split_study_texts(studies: pd.DataFrame, cache_dir: str | Path | None = None) -> Any:
    """:func:`evreview.embed.sentences.split_studies` of the studies' :data:`TEXT_COLUMNS` (a
    column the table lacks: ``None`` for every study), memoised under ``cache_dir``."""
    from evreview.embed.sentences import split_studies

    columns = (studies[c].tolist() if c in studies.columns else [None] * len(studies) for c in TEXT_COLUMNS)
    return split_studies(*columns, cache_dir)


def embed_studies(
    studies: pd.DataFrame,
    backend: EmbeddingBackend,
    cache_dir: str | Path | None = None,
    *,
    batch_size: int = 32,
    progress: bool = True,
) -> StudyEmbeddings:
    """Embed every study's sentences (title, abstract sentences, keywords) through the cache.

    Rows follow ``studies`` order; callers sort by ``study_id`` first for determinism. With
    ``cache_dir``, each study's sentence split is memoised there too (see
    :mod:`evreview.embed.sentences`); ``extra["keyword_lines"]`` flags the studies whose last
    sentence is their keyword line.
    """
    ids = [str(v) for v in studies["study_id"].tolist()]
    split = split_study_texts(studies, cache_dir)
    offsets = split.offsets
    vectors, stats = embed_texts(
        split.flat, backend, cache_dir, batch_size=batch_size, progress=progress, keys=split.keys
    )
    if stats.new_keys:  # studies with at least one newly embedded sentence
        is_new = np.fromiter((k in stats.new_keys for k in split.keys), dtype=bool, count=len(split.keys))
        owner = np.repeat(np.arange(len(ids)), np.diff(offsets))
        stats.n_records_embedded = len(np.unique(owner[is_new]))
    pooled = pool_rows(vectors, offsets)
    return StudyEmbeddings(ids, split.sentences, vectors, offsets, l2_normalise(pooled), stats,
                           extra={"keyword_lines": split.keyword_lines})


def pool_rows(vectors: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per study, the mean of its rows ``vectors[offsets[i]:offsets[i + 1]]`` (zeros for none).

    Bit for bit what ``rows.mean(axis=0)`` gives per study, without a Python loop per study:
    NumPy sums a C-contiguous float32 block over axis 0 row after row into a float32
    accumulator (not pairwise, and not as ``add.reduceat``, which differs in the last bit),
    so the sums are built the same way, one position of every study at a time (at most
    ``MAX_SENTENCES`` vector operations); the mean then divides by the count as an ``intp``,
    i.e. in float64, cast back to float32. tests/test_embed.py compares it with the loop.
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(offsets) - 1
    dim = vectors.shape[1] if vectors.ndim == 2 else 0
    pooled = np.zeros((n, dim), dtype=np.float32)
    starts = np.asarray(offsets[:-1], dtype=np.int64)
    lengths = np.diff(np.asarray(offsets, dtype=np.int64))
    has = np.flatnonzero(lengths > 0)
    if len(has) == 0 or dim == 0:
        return pooled
    sums = vectors[starts[has]]
    for k in range(1, int(lengths.max())):
        longer = np.flatnonzero(lengths[has] > k)
        sums[longer] += vectors[starts[has[longer]] + k]
    np.true_divide(sums, lengths[has].astype(np.intp)[:, None], out=sums, casting="unsafe")
    pooled[has] = sums
    return pooled


def embed_records(
    studies: pd.DataFrame,
    backend: EmbeddingBackend,
    cache_dir: str | Path | None = None,
    *,
    batch_size: int = 32,
    progress: bool = True,
) -> np.ndarray:
    """``(n_studies, dim)`` pooled study vectors in ``studies`` row order (zero rows: no text)."""
    return embed_studies(studies, backend, cache_dir, batch_size=batch_size, progress=progress).study_vectors
