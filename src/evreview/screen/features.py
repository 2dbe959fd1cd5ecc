"""Text features for prioritisation: TF-IDF fitted once over every record.

Why fit once: the vocabulary and IDF weights come from the whole candidate set (labelled or
not), so they do not depend on which records the reviewers happen to have decided. The
matrix is therefore built a single time per session or simulation and only the (cheap)
classifier is retrained after each decision; re-ranking 50,000 records is then one sparse
matrix-vector product.

Titles can get their own vectoriser block with a weight (``title_weight``), but on the
development benchmarks an extra title block made ranking worse (nudging WSS@95 64 vs 70), so
it is off by default; likewise English stop-word removal (bigrams such as "ace inhibitor"
or "opt out" carry the signal). Dropping terms seen once (``min_df=2``) makes the SVM ~2x
faster but cost 0.3-1.7 WSS@95 points on ace/nudging/virus. Defaults: uni+bigrams, sublinear
tf, all terms (ASReview elas_u4's ``max_df=0.95`` is available; it only helps together with
elas_u4's strongly regularised SVM, which loses to the default ensemble, see ranker.py).
``char_ngram_max`` (>= 3) adds a character 3..n-gram block (``char_wb``, terms in >= 2
records) so inflections and compound names ("inhibitor"/"inhibitors", "coronaviruses") share
features; it multiplies the non-zeros several-fold, so it is off by default.

Why counts are cached per study: analysing text (tokens and n-grams) is nearly all the cost of
the fit (77 s of a 164k-study screen-report), yet a study's term counts depend only on its own
text. So each block is built as exact term counts per study, looked up by the hash of the
study's text in a :class:`TermCountCache` (``--cache-dir``; only new or changed texts are
analysed), merged over a vocabulary sorted like scikit-learn's, then document-frequency
filtered (``min_df``/``max_df``) and TF-IDF weighted exactly as ``TfidfVectorizer`` does.
Exact rather than hashed features (``HashingVectorizer``): the same columns and weights as
before, so ranking does not move. Without a cache (simulation) the same code runs on an
in-memory cache, so simulation and pipeline rank alike and a cached run equals an uncached one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import zipfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from numbers import Integral
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from evreview.screen.options import settings
from evreview.zipfiles import write_zip


@dataclass(frozen=True)
class FeatureConfig:
    """How record text becomes a TF-IDF matrix (all fields plain values, so it prints as evidence)."""

    ngram_max: int = 2
    title_weight: float = 0.0
    min_df: int = 1
    max_df: float = 1.0
    sublinear_tf: bool = True
    stop_words: str | None = None
    char_ngram_max: int = 0
    char_weight: float = 1.0

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any] | None) -> FeatureConfig:
        """Build from the ``features`` part of the model config, rejecting unknown keys."""
        return settings(cls, cfg, "screening model 'features'")


def _as_text(values: Sequence[Any]) -> list[str]:
    """Strings for the vectoriser: missing values (None/NaN/pd.NA) become ``""``; lists are joined."""
    if isinstance(values, (pd.Series, pd.Index)):
        values = values.tolist()  # element access on Arrow-backed strings costs 5 s per 164k-row column
    out: list[str] = []
    for v in values:
        if type(v) is str:
            out.append(v)
        elif isinstance(v, (list, tuple, np.ndarray)):
            out.append(" ".join(str(x) for x in v))
        elif v is None or (isinstance(v, float) and v != v):
            out.append("")
        else:
            try:
                out.append("" if v != v else str(v))  # pd.NA compares as NA -> bool() raises
            except TypeError:
                out.append("")
    return out



#: Bumped when the stored layout or the analysis changes: older cache files are then ignored.
CACHE_VERSION = 1
Analyzer = Callable[[str], list[str]]


def text_key(text: str) -> bytes:
    """Content hash of one analysed text (the cache key): equal texts share counts, edits miss."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


@dataclass
class TermCountCache:
    """Exact term counts per text, keyed by content hash, over one analyser's sorted vocabulary.

    ``terms`` is kept sorted (Python string order, as scikit-learn sorts its vocabulary), so a
    term's id is its rank and each entry's row lists ids ascending; adding terms renumbers
    monotonically, so stored rows stay sorted. ``path`` None keeps it in memory (simulation).
    Entries are never dropped: a study whose text changed leaves its old entry behind, which
    costs disk, never correctness (it is simply not looked up).
    """

    path: Path | None = None
    keys: dict[bytes, int] = field(default_factory=dict)
    indptr: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    indices: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    n_terms: int = 0
    dirty: bool = False
    n_hits: int = 0
    n_analysed: int = 0
    meta: str = ""
    _terms: np.ndarray | None = None

    @classmethod
    def open(cls, cache_dir: str | Path | None, namespace: Mapping[str, Any]) -> TermCountCache:
        """The cache for one analyser under ``cache_dir`` (a file per analyser settings), or in memory.

        An unreadable or outdated file is ignored (rebuilt on save): a cache never changes results.
        """
        if cache_dir is None:
            return cls()
        ns = _namespace(namespace)
        name = "termcounts-" + hashlib.sha256(ns.encode()).hexdigest()[:16] + ".npz"
        path = Path(cache_dir) / name
        cache = cls(path=path, meta=ns)
        if path.exists():
            try:
                with np.load(path, allow_pickle=False) as z:
                    if str(z["meta"]) != ns:
                        return cache
                    raw = z["keys"].tobytes()  # not .tolist(): NumPy strips a digest's trailing NUL bytes
                    cache.indptr = z["indptr"]
                    cache.indices = z["indices"]
                    cache.counts = z["counts"]
                    cache.n_terms = int(len(z["term_offsets"]) - 1)
                if len(raw) != 16 * (len(cache.indptr) - 1):
                    return cls(path=path, meta=ns)
                cache.keys = {raw[16 * i : 16 * i + 16]: i for i in range(len(cache.indptr) - 1)}
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
                return cls(path=path, meta=ns)
        return cache

    @property
    def terms(self) -> np.ndarray:
        """The sorted vocabulary (object array); read from disk only when new texts need merging."""
        if self._terms is None:
            if self.n_terms == 0 or self.path is None:
                self._terms = np.empty(0, dtype=object)
            else:
                with np.load(self.path, allow_pickle=False) as z:
                    blob = z["term_blob"].tobytes().decode("utf-8", "surrogatepass")
                    off = z["term_offsets"].tolist()
                terms = np.empty(len(off) - 1, dtype=object)
                terms[:] = [blob[a:b] for a, b in pairwise(off)]
                self._terms = terms
        return self._terms

    def matrix(self, texts: Sequence[str], analyzer: Analyzer) -> sp.csr_matrix:
        """Term counts (rows: ``texts`` in order; columns: every cached term), analysing only cache misses."""
        keys = [text_key(t) for t in texts]
        missing: dict[bytes, str] = {}
        for k, t in zip(keys, texts):
            if k not in self.keys and k not in missing:
                missing[k] = t
        self.n_analysed += len(missing)
        self.n_hits += len(keys) - sum(1 for k in keys if k in missing)
        if missing:
            self._add(list(missing), list(missing.values()), analyzer)
        rows = np.fromiter((self.keys[k] for k in keys), dtype=np.int64, count=len(keys))
        full = sp.csr_matrix((self.counts, self.indices, self.indptr), shape=(len(self.indptr) - 1, self.n_terms))
        return full[rows]

    def _add(self, keys: list[bytes], texts: list[str], analyzer: Analyzer) -> None:
        """Analyse ``texts`` and merge their terms into the sorted vocabulary."""
        vocab: dict[str, int] = {}
        ind: list[int] = []
        cnt: list[int] = []
        ptr = [0]
        for text in texts:
            c = Counter(analyzer(text))
            ind.extend(vocab.setdefault(term, len(vocab)) for term in c)
            cnt.extend(c.values())
            ptr.append(len(ind))
        local = np.empty(len(vocab), dtype=object)
        local[:] = list(vocab)
        order = np.argsort(local, kind="stable")
        sorted_local = local[order]
        old = self.terms
        n_old = len(old)
        if n_old:
            pos = np.searchsorted(old, sorted_local)
            found = (pos < n_old) & (old[np.minimum(pos, n_old - 1)] == sorted_local)
        else:
            pos = np.zeros(len(sorted_local), dtype=np.int64)
            found = np.zeros(len(sorted_local), dtype=bool)
        new_pos = pos[~found]  # ascending: sorted_local is sorted
        n_new = len(new_pos)
        new_ids = new_pos + np.arange(n_new)
        old_map = np.arange(n_old, dtype=np.int64) + np.searchsorted(new_pos, np.arange(n_old), side="right")
        if n_new:
            merged = np.empty(n_old + n_new, dtype=object)
            merged[old_map] = old
            merged[new_ids] = sorted_local[~found]
            self.indices = old_map[self.indices].astype(np.int32) if len(self.indices) else self.indices
            self._terms = merged
            self.n_terms = n_old + n_new
        global_sorted = np.empty(len(sorted_local), dtype=np.int64)
        global_sorted[found] = old_map[pos[found]]
        global_sorted[~found] = new_ids
        local_to_global = np.empty(len(local), dtype=np.int64)
        local_to_global[order] = global_sorted
        rows = sp.csr_matrix(
            (np.asarray(cnt, dtype=np.int32), local_to_global[np.asarray(ind, dtype=np.int64)], np.asarray(ptr)),
            shape=(len(texts), max(self.n_terms, 1)),
        )
        rows.sort_indices()
        start = len(self.indptr) - 1
        self.indptr = np.concatenate([self.indptr, self.indptr[-1] + rows.indptr[1:].astype(np.int64)])
        self.indices = np.concatenate([self.indices, rows.indices.astype(np.int32)])
        self.counts = np.concatenate([self.counts, rows.data.astype(np.int32)])
        for i, k in enumerate(keys):
            self.keys[k] = start + i
        self.dirty = True

    def save(self) -> None:
        """Write the cache atomically (temporary file + rename) if anything was added."""
        if self.path is None or not self.dirty:
            return
        terms = self.terms.tolist()
        offsets = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum([len(t) for t in terms], out=offsets[1:])
        blob = np.frombuffer("".join(terms).encode("utf-8", "surrogatepass"), dtype=np.uint8)
        ordered = [b""] * (len(self.indptr) - 1)
        for k, i in self.keys.items():
            ordered[i] = k
        keys = np.frombuffer(b"".join(ordered), dtype=np.uint8).reshape(-1, 16)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + f".tmp{os.getpid()}.npz")
        arrays = {"meta": np.array(self.meta), "keys": keys, "indptr": self.indptr, "indices": self.indices,
                  "counts": self.counts, "term_blob": blob, "term_offsets": offsets}
        # the .npz layout np.load reads, written with fixed dates: np.savez stamps the time into each
        # member, and two runs on the same inputs must leave byte-identical caches
        write_zip(tmp, {f"{name}.npy": np.asanyarray(array) for name, array in arrays.items()})
        os.replace(tmp, self.path)
        self.dirty = False


def tfidf_from_counts(counts: sp.csr_matrix, min_df: float, max_df: float, sublinear_tf: bool) -> sp.csr_matrix:
    """What ``TfidfVectorizer.fit_transform`` computes, from term counts over a sorted vocabulary.

    Columns no row uses are dropped (they belong to other cached texts), then ``min_df``/
    ``max_df`` filter as scikit-learn does (an int is a count, a float a share), then smoothed
    idf, optional sublinear tf and l2 rows. Raises ValueError where scikit-learn would (no term
    at all, none left after pruning, max_df below min_df).
    """
    return _tfidf(counts, min_df, max_df, sublinear_tf)[0]


def _tfidf(
    counts: sp.csr_matrix, min_df: float, max_df: float, sublinear_tf: bool, queries: sp.csr_matrix | None = None
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """:func:`tfidf_from_counts`, and ``queries`` (term counts over the same columns) weighted alike.

    The queries (e.g. the review question) take the documents' vocabulary and idf and do not
    change them: a document's row is the same with or without queries. No queries: a matrix
    without rows.
    """
    n = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    present = df > 0
    if not present.any():
        raise ValueError("empty vocabulary")
    max_count = max_df if isinstance(max_df, Integral) else max_df * n
    min_count = min_df if isinstance(min_df, Integral) else min_df * n
    if max_count < min_count:
        raise ValueError("max_df corresponds to < documents than min_df")
    keep = present & (df <= max_count) & (df >= min_count)
    if not keep.any():
        raise ValueError("After pruning, no terms remain")
    new_col = np.cumsum(keep) - 1
    dfk = df[keep].astype(np.float64)
    dfk += 1.0
    idf = np.full_like(dfk, fill_value=n + 1, dtype=np.float64)
    idf /= dfk
    np.log(idf, out=idf)
    idf += 1.0
    if queries is None:
        queries = sp.csr_matrix((0, counts.shape[1]), dtype=counts.dtype)
    return tuple(  # type: ignore[return-value]
        _weigh(_kept_columns(m, keep, new_col), idf, sublinear_tf) for m in (counts, queries)
    )


def _kept_columns(counts: sp.csr_matrix, keep: np.ndarray, new_col: np.ndarray) -> sp.csr_matrix:
    """``counts`` (float64) restricted to the ``keep`` columns, renumbered by ``new_col``."""
    n = counts.shape[0]
    entry_keep = keep[counts.indices]
    if entry_keep.all():
        data, indices, indptr = counts.data, counts.indices, counts.indptr
    else:
        row_of = np.repeat(np.arange(n), np.diff(counts.indptr))
        data, indices = counts.data[entry_keep], counts.indices[entry_keep]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(row_of[entry_keep], minlength=n))])
    return sp.csr_matrix(
        (data.astype(np.float64), new_col[indices].astype(np.int32), indptr.astype(np.int64)),
        shape=(n, int(keep.sum())),
    )


def _weigh(tf: sp.csr_matrix, idf: np.ndarray, sublinear_tf: bool) -> sp.csr_matrix:
    """Term frequencies to l2-normalised TF-IDF rows, in place (optional sublinear tf, then idf)."""
    if sublinear_tf:
        np.log(tf.data, tf.data)
        tf.data += 1.0
    tf.data *= idf[tf.indices]
    return _l2(tf)


def _l2(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Rows scaled to unit length (``sklearn.preprocessing.normalize``, which refuses a matrix without rows)."""
    from sklearn.preprocessing import normalize

    return normalize(matrix, norm="l2", copy=False) if matrix.shape[0] else matrix


def _block(
    texts: list[str], analyzer_params: dict[str, Any], min_df: float, max_df: float, sublinear_tf: bool,
    cache_dir: str | Path | None, stats: dict[str, int] | None, queries: Sequence[str] = (),
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """One TF-IDF block through the per-text count cache (saved back if it grew), and its query rows.

    Query texts are analysed alike but never cached; a query term no document has is dropped
    (it could not match a document anyway).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(**analyzer_params)
    analyzer = _fast_word_analyzer(vectorizer) if analyzer_params["analyzer"] == "word" else vectorizer.build_analyzer()
    cache = TermCountCache.open(cache_dir, analyzer_params)
    counts = cache.matrix(texts, analyzer)
    cache.save()
    if stats is not None:
        stats["cached"] = stats.get("cached", 0) + cache.n_hits
        stats["analysed"] = stats.get("analysed", 0) + cache.n_analysed
    query_counts = _query_counts(queries, cache.terms, analyzer, counts.shape[1]) if len(queries) else None
    del cache  # free every cached row (all rounds, all texts) before the weighting copies the current ones
    return _tfidf(counts, min_df, max_df, sublinear_tf, query_counts)


def _query_counts(queries: Sequence[str], terms: np.ndarray, analyzer: Analyzer, n_columns: int) -> sp.csr_matrix:
    """Term counts of ``queries`` over the cache's sorted vocabulary ``terms``."""
    rows, cols, vals = [], [], []
    for r, text in enumerate(queries):
        c = Counter(analyzer(text))
        if not c or not len(terms):
            continue
        words = np.empty(len(c), dtype=object)
        words[:] = list(c)
        pos = np.searchsorted(terms, words)
        found = (pos < len(terms)) & (terms[np.minimum(pos, len(terms) - 1)] == words)
        rows.extend([r] * int(found.sum()))
        cols.extend(pos[found].tolist())
        vals.extend(np.fromiter(c.values(), dtype=np.int64)[found].tolist())
    return sp.csr_matrix((np.asarray(vals, dtype=np.int64), (rows, cols)), shape=(len(queries), n_columns))


def _fast_word_analyzer(vectorizer: Any) -> Analyzer:
    """The vectoriser's word analyser with n-grams made by ``zip`` (scikit-learn slices in a Python loop).

    Same tokens, stop words and n-grams, so the same counts (order within a text is irrelevant:
    they are counted); analysis was half the cost of a cold 164k-study run.
    """
    from itertools import chain

    preprocess = vectorizer.build_preprocessor()
    tokenize = vectorizer.build_tokenizer()
    stop = vectorizer.get_stop_words()
    lo, hi = vectorizer.ngram_range

    def analyze(doc: str) -> Any:
        tokens = tokenize(preprocess(doc))
        if stop is not None:
            tokens = [t for t in tokens if t not in stop]
        grams = [tokens] if lo == 1 else []
        for n in range(max(lo, 2), min(hi, len(tokens)) + 1):
            grams.append(map(" ".join, zip(*(tokens[i:] for i in range(n)))))
        return chain.from_iterable(grams)

    return analyze


def _namespace(analyzer_params: Mapping[str, Any]) -> str:
    """The analyser settings (and scikit-learn version) a cache file is valid for, as its stored meta."""
    import sklearn

    return json.dumps({**analyzer_params, "sklearn": sklearn.__version__, "v": CACHE_VERSION}, sort_keys=True)


def build_matrix(
    titles: Sequence[Any],
    abstracts: Sequence[Any],
    keywords: Sequence[Any] | None = None,
    config: FeatureConfig | None = None,
    *,
    cache_dir: str | Path | None = None,
    stats: dict[str, int] | None = None,
) -> sp.csr_matrix:
    """L2-normalised TF-IDF matrix, one row per record, in input order.

    The title+abstract+keywords block, optional character block and weighted title block are
    stacked side by side. Deterministic: the vocabulary is sorted. ``cache_dir`` keeps per-text
    term counts there (see :class:`TermCountCache`); results are the same with or without it.
    ``stats`` (if given) receives how many texts came from the cache and how many were analysed.
    """
    return build_features(titles, abstracts, keywords, config, cache_dir=cache_dir, stats=stats)[0]


def build_features(
    titles: Sequence[Any],
    abstracts: Sequence[Any],
    keywords: Sequence[Any] | None = None,
    config: FeatureConfig | None = None,
    *,
    queries: Sequence[str] = (),
    cache_dir: str | Path | None = None,
    stats: dict[str, int] | None = None,
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """:func:`build_matrix`, plus one row per query text in the same columns (the review question).

    Queries are weighted with the records' vocabulary and idf and do not change the records'
    rows. A query fills the text block only (a title block gets nothing from it).
    """
    cfg = config or FeatureConfig()
    t = _as_text(titles)
    a = _as_text(abstracts)
    k = _as_text(keywords) if keywords is not None else [""] * len(t)
    body = [f"{x} {y} {z}" for x, y, z in zip(t, a, k)]
    queries = list(queries)

    # a share below one document (a one-record set) would make the vectoriser refuse everything
    max_df = cfg.max_df if cfg.max_df * len(body) >= 1 else 1.0
    words = {"analyzer": "word", "ngram_range": (1, cfg.ngram_max), "stop_words": cfg.stop_words}

    blocks: list[tuple[sp.csr_matrix, sp.csr_matrix]] = []  # (records' rows, queries' rows)
    try:
        blocks.append(_block(body, words, cfg.min_df, max_df, cfg.sublinear_tf, cache_dir, stats, queries))
    except ValueError:  # every record empty: an all-zero matrix ranks by tie-break only
        blocks.append((sp.csr_matrix((len(body), 1)), sp.csr_matrix((len(queries), 1))))
    if cfg.char_ngram_max >= 3:
        with contextlib.suppress(ValueError):
            chars = {"analyzer": "char_wb", "ngram_range": (3, cfg.char_ngram_max)}
            X, Q = _block(body, chars, 2, max_df, cfg.sublinear_tf, cache_dir, stats, queries)
            blocks.append((_l2(X) * cfg.char_weight, _l2(Q) * cfg.char_weight))
    if cfg.title_weight > 0:
        with contextlib.suppress(ValueError):  # no title has a word: abstracts alone rank
            X, _ = _block(t, words, 1, max_df, cfg.sublinear_tf, cache_dir, stats)
            blocks.append((X * cfg.title_weight, sp.csr_matrix((len(queries), X.shape[1]))))
    if len(blocks) > 1:
        matrix = sp.hstack([b[0] for b in blocks], format="csr")
        query_rows = sp.hstack([b[1] for b in blocks], format="csr")
    else:
        matrix, query_rows = blocks[0][0].tocsr(), blocks[0][1].tocsr()
    return _l2(matrix).tocsr(), _l2(query_rows).tocsr()
