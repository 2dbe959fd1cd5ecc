"""Per-study term-count cache behind the screening features (issue #8: cheap update rounds).

The cache may only make things faster: a cached, an uncached and a partly cached run must
give the same matrix and the same screening files, and the matrix must be what scikit-learn's
TfidfVectorizer computes (same vocabulary, same weights up to float summation order).
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from evreview.screen.commands import run_report
from evreview.screen.features import FeatureConfig, TermCountCache, build_matrix, tfidf_from_counts

TITLES = ["Nudges in health", "Default options and organ donation", "", None, "Café nudging: a trial",
          "Mice and rats", "Nudges in health", "Opt-out defaults in pensions"]
ABSTRACTS = ["A nudge for health", float("nan"), "", "only abstract text here", "Behaviour change in cafés",
             "in vitro assay of mice", "A nudge for health", "opt out opt out default enrolment"]
KEYWORDS = [["nudge", "health"], None, [], np.array(["donation"], dtype=object), (), ["mice"], ["nudge", "health"],
            ["pensions"]]
CONFIGS = [
    FeatureConfig(),
    FeatureConfig(min_df=2, max_df=0.95),
    FeatureConfig(ngram_max=1, stop_words="english", title_weight=0.5),
    FeatureConfig(char_ngram_max=4),
    FeatureConfig(ngram_max=3, stop_words="english"),
]


def _sklearn_matrix(cfg: FeatureConfig) -> sp.csr_matrix:
    """The matrix as build_matrix computed it before the cache (TfidfVectorizer per block)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    from evreview.screen.features import _as_text

    t, a, k = _as_text(TITLES), _as_text(ABSTRACTS), _as_text(KEYWORDS)
    body = [f"{x} {y} {z}" for x, y, z in zip(t, a, k)]
    blocks = [TfidfVectorizer(ngram_range=(1, cfg.ngram_max), min_df=cfg.min_df, max_df=cfg.max_df,
                              stop_words=cfg.stop_words, sublinear_tf=True).fit_transform(body)]
    if cfg.char_ngram_max:
        blocks.append(normalize(TfidfVectorizer(analyzer="char_wb", ngram_range=(3, cfg.char_ngram_max), min_df=2,
                                                sublinear_tf=True).fit_transform(body)) * cfg.char_weight)
    if cfg.title_weight:
        blocks.append(TfidfVectorizer(ngram_range=(1, cfg.ngram_max), stop_words=cfg.stop_words,
                                      sublinear_tf=True).fit_transform(t) * cfg.title_weight)
    return normalize(sp.hstack(blocks, format="csr")).tocsr()


def _same(a: sp.csr_matrix, b: sp.csr_matrix) -> None:
    """Bit-for-bit equal sparse matrices."""
    a, b = a.tocsr(), b.tocsr()
    assert a.shape == b.shape
    assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
    assert np.array_equal(a.data, b.data)


@pytest.mark.parametrize("cfg", CONFIGS)
def test_features_are_scikit_learns_tfidf(cfg):
    ours = build_matrix(TITLES, ABSTRACTS, KEYWORDS, cfg)
    ref = _sklearn_matrix(cfg)
    ours.sort_indices()
    ref.sort_indices()
    assert ours.shape == ref.shape
    assert np.array_equal(ours.indptr, ref.indptr) and np.array_equal(ours.indices, ref.indices)
    np.testing.assert_allclose(ours.data, ref.data, rtol=1e-12, atol=0)


@pytest.mark.parametrize("cfg", CONFIGS)
def test_cold_warm_and_update_cache_give_the_uncached_matrix(cfg, tmp_path):
    plain = build_matrix(TITLES, ABSTRACTS, KEYWORDS, cfg)
    cold_stats: dict[str, int] = {}
    cold = build_matrix(TITLES, ABSTRACTS, KEYWORDS, cfg, cache_dir=tmp_path, stats=cold_stats)
    warm_stats: dict[str, int] = {}
    warm = build_matrix(TITLES, ABSTRACTS, KEYWORDS, cfg, cache_dir=tmp_path, stats=warm_stats)
    _same(plain, cold)
    _same(plain, warm)
    assert cold_stats["analysed"] > 0 and warm_stats["analysed"] == 0
    assert warm_stats["cached"] >= cold_stats["analysed"]  # duplicate texts are analysed once
    # an update round: a cache filled from an earlier round's studies, then new studies + an edited one
    upd = tmp_path / "update"
    build_matrix(TITLES[:4], ABSTRACTS[:4], KEYWORDS[:4], cfg, cache_dir=upd)
    abstracts = [*ABSTRACTS[:3], "only abstract text here, now revised", *ABSTRACTS[4:]]
    stats: dict[str, int] = {}
    _same(build_matrix(TITLES, abstracts, KEYWORDS, cfg), build_matrix(TITLES, abstracts, KEYWORDS, cfg,
                                                                       cache_dir=upd, stats=stats))
    assert 0 < stats["analysed"] < cold_stats["analysed"]


def test_cache_files_are_per_analyser_and_a_bad_file_is_rebuilt(tmp_path):
    build_matrix(TITLES, ABSTRACTS, KEYWORDS, FeatureConfig(), cache_dir=tmp_path)
    build_matrix(TITLES, ABSTRACTS, KEYWORDS, FeatureConfig(ngram_max=1), cache_dir=tmp_path)
    files = sorted(tmp_path.glob("termcounts-*.npz"))
    assert len(files) == 2  # different n-grams never share counts
    files[0].write_bytes(b"not a cache")
    files[1].write_bytes(files[1].read_bytes()[:100])
    for cfg in (FeatureConfig(), FeatureConfig(ngram_max=1)):
        stats: dict[str, int] = {}
        _same(build_matrix(TITLES, ABSTRACTS, KEYWORDS, cfg),
              build_matrix(TITLES, ABSTRACTS, KEYWORDS, cfg, cache_dir=tmp_path, stats=stats))
        assert stats["cached"] == 0
    assert not list(tmp_path.glob("*.tmp*"))  # written atomically


def test_cache_vocabulary_stays_sorted_across_updates(tmp_path):
    from sklearn.feature_extraction.text import CountVectorizer

    params = {"analyzer": "word", "ngram_range": (1, 1), "stop_words": None}
    analyze = CountVectorizer().build_analyzer()
    for texts in (["zeta beta", "beta"], ["alpha beta", "omega delta"], ["gamma zeta zeta"]):
        cache = TermCountCache.open(tmp_path, params)
        cache.matrix(texts, analyze)
        cache.save()
    cache = TermCountCache.open(tmp_path, params)
    assert cache.terms.tolist() == sorted(["alpha", "beta", "delta", "gamma", "omega", "zeta"])
    counts = cache.matrix(["gamma zeta zeta", "zeta beta"], analyze).toarray()
    assert counts.tolist() == [[0, 0, 0, 1, 0, 2], [0, 1, 0, 0, 0, 1]]
    assert cache.n_analysed == 0


def test_tfidf_errors_match_scikit_learn():
    empty = sp.csr_matrix((3, 5), dtype=np.int32)
    with pytest.raises(ValueError):
        tfidf_from_counts(empty, 1, 1.0, True)
    counts = sp.csr_matrix(np.array([[1, 0], [1, 1]], dtype=np.int32))
    with pytest.raises(ValueError):
        tfidf_from_counts(counts, 3, 1.0, True)  # nothing left after pruning
    with pytest.raises(ValueError):
        tfidf_from_counts(counts, 2, 1, True)  # max_df (1 document) below min_df (2)
    # every record empty: build_matrix still returns one all-zero column, as before
    assert build_matrix(["", None], ["", ""], None).shape == (2, 1)


def test_screen_report_with_cache_writes_the_same_files(fixtures_dir, tmp_path):
    studies = pd.read_csv(fixtures_dir / "screen" / "studies.csv", dtype={"year": "Int64"}, keep_default_na=False)
    studies["authors"] = [np.array([f"Author{i}, A.", "Second, B."], dtype=object) for i in range(len(studies))]
    studies_path = tmp_path / "studies.parquet"
    studies.to_parquet(studies_path)
    dec = tmp_path / "screening.csv"
    dec.write_text("key,decision,reviewer,reason,timestamp\ns001,include,ann,,t\ns002,exclude,ann,,t\n"
                   "s004,exclude,ann,,t\n", encoding="utf-8")
    cfg = tmp_path / "config.yaml"
    cfg.write_text("screening:\n  rules:\n    languages: [eng]\n    require: 'nudg* OR default* OR data'\n"
                   "  model:\n    machine_include_above: 0.0\n", encoding="utf-8")

    def run(out: str, cache: str | None) -> dict[str, bytes]:
        args = argparse.Namespace(studies=studies_path, decisions=dec, duplicates=None, config=cfg,
                                  out=tmp_path / out, cache_dir=tmp_path / cache if cache else None)
        assert run_report(args) == 0
        return {p.name: p.read_bytes() for p in sorted((tmp_path / out).iterdir())}

    plain = run("plain", None)
    cold = run("cold", "cache")
    warm = run("warm", "cache")
    assert plain == cold == warm
    assert list((tmp_path / "cache").glob("termcounts-*.npz"))
    wl = pd.read_csv(tmp_path / "warm" / "worklist.csv", dtype=str, keep_default_na=False)
    assert wl["authors"].str.match(r"Author\d+, A\.; Second, B\.$").all()


def test_content_hashes_ending_in_nul_bytes_are_found_again(tmp_path):
    """A digest ending in b"\\0" must survive the round trip (NumPy's bytes arrays strip trailing NULs)."""
    from sklearn.feature_extraction.text import CountVectorizer

    from evreview.screen.features import text_key

    texts = [t for t in (f"study number {i}" for i in range(5000)) if text_key(t).endswith(b"\0")][:3]
    assert texts
    texts += ["plain text", "more plain text"]
    params = {"analyzer": "word", "ngram_range": (1, 1), "stop_words": None}
    analyze = CountVectorizer().build_analyzer()
    first = TermCountCache.open(tmp_path, params)
    expected = first.matrix(texts, analyze).toarray()
    first.save()
    for _ in range(2):  # reload, and reload what a reloaded cache saved
        cache = TermCountCache.open(tmp_path, params)
        assert np.array_equal(cache.matrix(texts, analyze).toarray(), expected)
        assert cache.n_analysed == 0 and not cache.dirty
        cache.dirty = True
        cache.save()


def test_cache_files_are_byte_reproducible(tmp_path):
    """Two runs on the same inputs leave the same cache bytes (the workflow hashes everything in results/)."""
    import time

    for name in ("a", "b"):
        build_matrix(TITLES[:5], ABSTRACTS[:5], KEYWORDS[:5], cache_dir=tmp_path / name)
        build_matrix(TITLES, ABSTRACTS, KEYWORDS, cache_dir=tmp_path / name)  # an update round
        time.sleep(2.1)  # zip time stamps have 2 s resolution
    (a,), (b,) = (list((tmp_path / n).glob("*.npz")) for n in ("a", "b"))
    assert a.name == b.name and a.read_bytes() == b.read_bytes()


def test_query_rows_are_scikit_learns_transform():
    """The review question is weighted as TfidfVectorizer.transform would, without changing any record's row."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    from evreview.screen.features import build_features, build_matrix

    titles = ["Default options in organ donation", "Kinase inhibitors in tumour cells", "Opt-out defaults"]
    abstracts = ["A nudge study of enrolment.", "Mice and receptor signalling.", "Choice architecture works."]
    question = "How do default options and choice architecture change enrolment? (unseenword)"
    X, Q = build_features(titles, abstracts, None, queries=[question])
    assert (build_matrix(titles, abstracts, None) != X).nnz == 0
    body = [f"{t} {a} " for t, a in zip(titles, abstracts)]
    ref = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit(body)
    assert np.allclose(Q.toarray(), ref.transform([question]).toarray(), rtol=0, atol=1e-12)
    assert build_features(titles, abstracts, None)[1].shape == (0, X.shape[1])
