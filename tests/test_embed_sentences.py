"""The memoised sentence split (evreview.embed.sentences) and the other fixed-cost cuts of embed/code.

Every cache here must be invisible in the results: a run with it equals a run without it,
byte for byte; a changed study is split again; a damaged cache file is ignored.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evreview.cli import build_parser
from evreview.code.assign import keyword_line_flags
from evreview.embed import TfidfSvdBackend, embed_studies, fit_backend, pool_rows, study_text
from evreview.embed.cache import CachedVectors, content_hash
from evreview.embed.sentences import FOLDER, fingerprint, split_studies, study_key
from evreview.embed.text import study_sentences

REPO = Path(__file__).resolve().parents[1]

LONG = " ".join(f"Sentence number {i} of a pasted full text." for i in range(60))
CELLS: list[tuple[object, object, object]] = [
    ("A title", "One. Two words here. Three!", ["trust", "equity"]),
    ("A title", "One. Two words here. Three!", np.array(["trust", "equity"], dtype=object)),
    ("A title", "One. Two words here. Three!", ("trust", "equity")),
    ("A title", "One. Two words here. Three!", "trust; equity"),
    ("A title", "One. Two words here. Three!", []),
    ("A title", "One. Two words here. Three!", None),
    ("A title", "One. Two words here. Three!", float("nan")),
    ("A title", "One. Two words here. Three!", ["", None, "  trust  ", float("nan")]),
    (None, "BACKGROUND: Councils and universities. METHODS: Interviews (n=12). RESULTS: Trust grew.", None),
    (float("nan"), float("nan"), float("nan")),
    ("", "", ""),
    ("Fish &amp; chips &lt;b&gt;", "Caf&eacute; owners. U.K. councils e.g. the city.", ["caf&eacute;"]),
    ("Long", LONG, ["kw"]),
    ("Only keywords", None, ["the keyword line"]),
    ("Tabs\tand\nnewlines  here", "  Spaces   everywhere .  Next sentence here.  ", ["a\tb"]),
]


def _columns(cells: list[tuple[object, object, object]]) -> tuple[list[object], list[object], list[object]]:
    return [c[0] for c in cells], [c[1] for c in cells], [c[2] for c in cells]


def _expected(cells: list[tuple[object, object, object]]) -> list[list[str]]:
    return [study_sentences(t, a, k) for t, a, k in cells]


def _check(split: object, cells: list[tuple[object, object, object]]) -> None:
    expected = _expected(cells)
    assert split.sentences == expected
    assert split.flat == [s for g in expected for s in g]
    assert split.keys == [content_hash(s) if s.strip() else "" for g in expected for s in g]
    assert split.offsets.tolist() == [0, *np.cumsum([len(g) for g in expected]).tolist()]
    assert split.keyword_lines.tolist() == keyword_line_flags([c[2] for c in cells], expected).tolist()


def test_split_equals_study_sentences_with_and_without_the_cache(tmp_path: Path) -> None:
    _check(split_studies(*_columns(CELLS)), CELLS)
    cold = split_studies(*_columns(CELLS), tmp_path)
    _check(cold, CELLS)
    assert cold.n_split == len(CELLS)
    files = list((tmp_path / FOLDER / fingerprint()).glob("*.arrow"))
    assert len(files) == 1
    warm = split_studies(*_columns(CELLS), tmp_path)
    _check(warm, CELLS)
    assert warm.n_split == 0  # everything came from the cache
    assert list((tmp_path / FOLDER / fingerprint()).glob("*.arrow")) == files  # nothing new to store
    # another order and a subset: each study still gets its own split
    some = CELLS[::-2]
    part = split_studies(*_columns(some), tmp_path)
    _check(part, some)
    assert part.n_split == 0


def test_study_key_tells_apart_what_the_split_tells_apart() -> None:
    keys = [study_key(*c) for c in CELLS]
    assert None not in keys
    # list, tuple and 1-D array of the same strings are split alike, so they may share a key
    assert keys[0] == keys[1] == keys[2]
    assert len({keys[0], *keys[3:8]}) == 6  # a string, empty list, None, NaN, a list with blanks differ
    assert study_key("12", None, None) != study_key(12.0, None, None)
    assert study_key("a", "b", None) != study_key("ab", "", None) != study_key(None, "ab", None)
    assert study_key(None, None, None) != study_key("", None, None)
    # a type the encoding does not know is split every time, never stored
    assert study_key(12, None, None) is None
    assert study_key("t", None, [["nested"]]) is None
    assert study_key("t", None, np.array([["a"]], dtype=object)) is None


def test_cells_without_a_key_are_split_but_not_stored(tmp_path: Path) -> None:
    cells = [(12, "An abstract. Two.", None), ("t", None, [["nested", "list"]])]
    split = split_studies(*_columns(cells), tmp_path)
    _check(split, cells)
    assert not list((tmp_path / FOLDER).rglob("*.arrow"))


def test_a_changed_study_is_split_again(tmp_path: Path) -> None:
    split_studies(*_columns(CELLS), tmp_path)
    changed = list(CELLS)
    changed[0] = ("A title", "One. Two words here. Three! And a fourth sentence now.", ["trust", "equity"])
    changed[4] = ("Another title", "One. Two words here. Three!", [])
    split = split_studies(*_columns(changed), tmp_path)
    _check(split, changed)
    assert split.n_split == 2
    assert len(list((tmp_path / FOLDER / fingerprint()).glob("*.arrow"))) == 2
    again = split_studies(*_columns(changed), tmp_path)
    _check(again, changed)
    assert again.n_split == 0


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "garbage", "renamed-other-table"])
def test_a_damaged_cache_file_is_ignored_and_removed(tmp_path: Path, damage: str) -> None:
    split_studies(*_columns(CELLS), tmp_path)
    folder = tmp_path / FOLDER / fingerprint()
    (path,) = folder.glob("*.arrow")
    data = path.read_bytes()
    if damage == "flip":
        i = data.find(b"Two words here")
        path.write_bytes(data[:i] + b"Tw0" + data[i + 3 :])  # same length, a sentence changed
    elif damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "garbage":
        path.write_bytes(b"not an arrow file at all")
    else:  # a valid Arrow file, named by its own hash, but not of this layout
        import hashlib
        import io

        import pyarrow as pa

        sink = io.BytesIO()
        table = pa.table({"key": ["x"], "other": [1]})
        with pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        path.unlink()
        path = folder / f"{hashlib.sha256(sink.getvalue()).hexdigest()[:32]}.arrow"
        path.write_bytes(sink.getvalue())
    split = split_studies(*_columns(CELLS), tmp_path)
    _check(split, CELLS)
    assert split.n_split == len(CELLS)
    # the damaged file was removed and the same good file written again
    assert [f.read_bytes() for f in folder.glob("*.arrow")] == [data]
    assert split_studies(*_columns(CELLS), tmp_path).n_split == 0


def test_the_cache_folder_follows_the_code_that_splits(monkeypatch: pytest.MonkeyPatch) -> None:
    from evreview.embed import sentences

    before = fingerprint()
    sentences.fingerprint.cache_clear()
    real = sentences._module_source
    monkeypatch.setattr(sentences, "_module_source",
                        lambda name: real(name) + (b"# edited" if name == "evreview.embed.text" else b""))
    try:
        assert sentences.fingerprint() != before
    finally:
        sentences.fingerprint.cache_clear()


def test_pool_rows_is_bit_for_bit_the_mean_of_each_studys_rows() -> None:
    rng = np.random.default_rng(3)
    lengths = rng.integers(0, 46, size=400)
    lengths[:5] = [0, 1, 8, 9, 40]
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(lengths)
    vectors = rng.standard_normal((int(offsets[-1]), 24)).astype(np.float32)
    expected = np.zeros((len(lengths), 24), dtype=np.float32)
    for i in range(len(lengths)):
        rows = vectors[offsets[i] : offsets[i + 1]]
        if len(rows):
            expected[i] = rows.mean(axis=0)
    got = pool_rows(vectors, offsets)
    assert got.dtype == np.float32 and got.tobytes() == expected.tobytes()
    empty = pool_rows(np.zeros((0, 24), np.float32), np.zeros(4, np.int64))
    assert empty.tobytes() == np.zeros((3, 24), np.float32).tobytes()


def test_cached_vectors_take_what_a_dict_of_rows_gives_first_shard_wins() -> None:
    rng = np.random.default_rng(0)
    shards = [rng.standard_normal((n, 4)).astype(np.float32) for n in (5, 3, 6)]
    keys = [[f"k{i}" for i in range(5)], ["k3", "k9", "k10"], [f"k{i}" for i in range(8, 14)]]
    vectors = CachedVectors()
    reference: dict[str, np.ndarray] = {}
    for k, data in zip(keys, shards):
        vectors.append(k, data)
        for key, row in zip(k, data):
            reference.setdefault(key, row)
    assert len(vectors) == len(reference) and set(vectors) == set(reference)
    wanted = ["k13", "k3", "k0", "k9", "k3", "k12"]
    assert vectors.take(wanted).tobytes() == np.stack([reference[k] for k in wanted]).tobytes()
    assert all(vectors[k].tobytes() == reference[k].tobytes() for k in reference)
    assert vectors.take([]).shape == (0, 4)


# --------------------------------------------------------------------------- the commands


def _studies(n: int = 90) -> pd.DataFrame:
    """Studies with keyword lists, missing cells, repeated sentences and a non-English one."""
    topics = ["trust between partners", "funding and governance", "community benefit", "policy impact",
              "data sharing"]
    rows = []
    for i in range(n):
        topic = topics[i % len(topics)]
        rows.append({
            "study_id": f"s{i:03d}",
            "title": None if i % 17 == 5 else f"Study {i} of {topic} in a place-based partnership",
            "abstract": None if i % 13 == 4 else (
                f"We examined {topic} in a partnership between a university and a council. "
                f"Interviews with {i + 3} partners showed that {topic} mattered. "
                "Trust grew slowly. " + ("A literature review of 40 studies. " if i % 11 == 0 else "")
            ),
            "keywords": None if i % 7 == 3 else [topic.split()[0], "partnership", f"kw{i % 4}"],
            "year": 2015 + i % 8,
            "language": "ger" if i == 7 else "eng",
            "doc_type": "review" if i % 11 == 0 else "article",
        })
    return pd.DataFrame(rows)


def _run(*argv: object) -> int:
    """Run an ``evreview`` command as the CLI parses it, its errors raised (not turned into exit codes)."""
    args = build_parser().parse_args([str(a) for a in argv])
    return args.func(args)


def _outputs(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_embed_and_code_write_the_same_bytes_with_and_without_the_sentence_cache(tmp_path: Path) -> None:
    from evreview.reporting import write_csv, write_parquet

    studies = tmp_path / "studies.parquet"
    write_parquet(_studies(), studies)
    screening = tmp_path / "screening.csv"
    write_csv(pd.DataFrame({"study_id": [f"s{i:03d}" for i in range(90)],
                            "status": ["excluded" if i % 9 == 2 else "included" for i in range(90)],
                            "decision": [""] * 90}), screening)
    cache = tmp_path / "cache"
    common = ["--studies", studies, "--included", screening, "--codebook", REPO / "config" / "codebook.yaml",
              "--backend", "tfidf", "--no-progress", "--cache-dir", cache]
    runs = []
    for run in range(3):
        if run == 2:  # a deleted sentence cache: everything is split again
            import shutil

            shutil.rmtree(cache / FOLDER)
        out = tmp_path / f"run{run}"
        for shard in range(2):
            assert _run("embed", *common, "--shard", shard, "--shards", 2, "--out", out / f"{shard}-of-2.zip") == 0
        assert _run("code", *common, "--no-topics", "--out", out / "coded") == 0
        runs.append(_outputs(out))
    assert (cache / FOLDER).is_dir()
    assert runs[0].keys() == runs[1].keys() == runs[2].keys()
    assert {"0-of-2.zip", "1-of-2.zip", "coded/assignments.csv", "coded/coded_records.parquet"} <= runs[0].keys()
    for name in runs[0]:
        assert runs[0][name] == runs[1][name] == runs[2][name], name


def test_embed_studies_with_the_sentence_cache_equals_without(tmp_path: Path) -> None:
    frame = _studies(40)
    texts = [study_text(t, a, k) for t, a, k in zip(frame["title"], frame["abstract"], frame["keywords"])]
    backend = fit_backend(TfidfSvdBackend(dim=16), texts)
    plain = embed_studies(frame, backend, None, progress=False)
    cold = embed_studies(frame, backend, tmp_path, progress=False)
    warm = embed_studies(frame, backend, tmp_path, progress=False)
    flags = keyword_line_flags(frame["keywords"].tolist(), plain.sentences)
    for emb in (plain, cold, warm):
        assert emb.sentences == plain.sentences
        assert emb.sentence_vectors.tobytes() == plain.sentence_vectors.tobytes()
        assert emb.study_vectors.tobytes() == plain.study_vectors.tobytes()
        assert emb.offsets.tolist() == plain.offsets.tolist()
        assert emb.extra["keyword_lines"].tolist() == flags.tolist()
    assert cold.stats.n_records_embedded == sum(1 for g in plain.sentences if g)
    assert warm.stats.n_embedded == 0 and warm.stats.n_records_embedded == 0


def test_load_studies_reads_only_the_columns_asked_for_with_the_same_values(tmp_path: Path) -> None:
    from evreview.code.commands import CODE_COLUMNS, load_studies
    from evreview.reporting import write_csv, write_parquet

    frame = _studies(60).assign(authors=[["A. B", "C. D"]] * 60, url="https://example.org")
    path = tmp_path / "studies.parquet"
    write_parquet(frame, path)
    included = tmp_path / "screening.csv"
    write_csv(pd.DataFrame({"study_id": [f"s{i:03d}" for i in range(0, 60, 3)], "status": "included"}), included)
    for inc in (None, included):
        whole = load_studies(path, inc)
        some = load_studies(path, inc, CODE_COLUMNS)
        assert list(some.columns) == [c for c in whole.columns if c in {"study_id", *CODE_COLUMNS}]
        pd.testing.assert_frame_equal(some, whole[list(some.columns)], check_exact=True)
        for column in some.columns:  # the Arrow chunks too: they become the Parquet pages of coded tables
            array = some[column].array
            if hasattr(array, "_pa_array"):
                assert array._pa_array.num_chunks == whole[column].array._pa_array.num_chunks
        keywords = some["keywords"].tolist()
        assert all(k is None or (isinstance(k, float) and math.isnan(k)) or isinstance(k, np.ndarray)
                   for k in keywords)


def test_load_studies_names_unknown_and_duplicate_ids(tmp_path: Path) -> None:
    from evreview.code.commands import CODE_COLUMNS, load_studies
    from evreview.errors import EvreviewError
    from evreview.reporting import write_csv, write_parquet

    path = tmp_path / "studies.parquet"
    write_parquet(_studies(10), path)
    included = tmp_path / "included.csv"
    write_csv(pd.DataFrame({"study_id": ["s001", "zz9", "s003", "aa1"], "decision": "include"}), included)
    with pytest.raises(EvreviewError, match=r"2 included study_id\(s\) not in the studies table, e.g. 'aa1'"):
        load_studies(path, included, CODE_COLUMNS)
    write_csv(pd.DataFrame({"study_id": ["s001", "s003"], "decision": ["include", "exclude"]}), included)
    assert load_studies(path, included, CODE_COLUMNS)["study_id"].tolist() == ["s001"]
    write_parquet(pd.concat([_studies(10), _studies(3)]), path)
    with pytest.raises(EvreviewError, match="duplicate study_id 's000'"):
        load_studies(path, included, CODE_COLUMNS)


def test_fold_many_folds_repeated_non_ascii_sentences_alike() -> None:
    from evreview.code.assign import fold_many
    from evreview.records import fold

    texts = ["Zürich's council – a case", "plain ascii", "Zürich's council – a case", "Café\nnew line",
             "ﬁne ligature"] * 3
    assert fold_many(texts) == [fold(t) for t in texts]


def test_document_type_codes_look_titles_up_as_the_regex_reference_does() -> None:
    """doc_type_masks with the title index (as code_studies builds it) = the per-title TermMatcher."""
    from test_code import TRICKY_SENTENCES, TRICKY_TERMS

    from evreview.code.assign import StudyMeta, TermIndex, TermMatcher, doc_type_masks
    from evreview.code.codebook import load_codebook
    from evreview.records import fold

    codebook = load_codebook(REPO / "config" / "codebook.yaml")
    titles = [*TRICKY_SENTENCES, "A systematic review of partnerships", "Scoping reviews: a literature-review",
              "Reviewing partnerships", "Meta synthesis of trust", "Meta-synthesis of trust"]
    types = (["article", "review", "", "report"] * len(titles))[: len(titles)]
    n = len(titles)
    indexed = StudyMeta(types, titles, None, TermIndex([[t] for t in titles]))
    plain = StudyMeta(types, titles)
    checked = 0
    for dim in codebook.dimensions:
        if not any(c.doc_types for c in dim.codes):
            continue
        forced, blocked = doc_type_masks(dim, indexed, n)
        forced2, blocked2 = doc_type_masks(dim, plain, n)
        assert (forced == forced2).all() and (blocked == blocked2).all()
        for j, code in enumerate(dim.codes):
            if not code.doc_types:
                continue
            checked += 1
            matcher = TermMatcher.for_terms(code.terms)
            for i, (title, kind) in enumerate(zip(titles, types)):
                has_term = bool(matcher.match([title], [fold(title)])[0])
                assert blocked[i, j] == (kind != "" and kind not in code.doc_types and not has_term), title
    assert checked
    # and arbitrary terms: the title index finds exactly the titles TermMatcher finds
    index = TermIndex([[t] for t in titles])
    for term in TRICKY_TERMS:
        matcher = TermMatcher.for_terms([term])
        expected = [i for i, t in enumerate(titles) if matcher.match([t], [fold(t)])[0]]
        assert index.find(term)[0].tolist() == expected, term


def test_evidence_built_column_wise_equals_the_row_by_row_evidence() -> None:
    from test_code import TRICKY_SENTENCES, TRICKY_TERMS

    from evreview.code.assign import (
        TermIndex,
        _zero_shot_evidence,
        _zero_shot_evidence_many,
        code_terms,
    )

    rng = np.random.default_rng(5)
    long = "x" * 400 + " &amp; end"
    groups = [[TRICKY_SENTENCES[(i + k) % len(TRICKY_SENTENCES)] for k in range(1 + i % 4)] + [long] * (i % 2)
              for i in range(60)]
    index = TermIndex(groups)
    terms = code_terms(index, TRICKY_TERMS[:12])
    rows = np.flatnonzero(terms.found.any(axis=1))
    assert len(rows) > 5
    assert terms.evidence_many(rows, groups) == [terms.evidence(i, groups[i]) for i in rows.tolist()]
    n, k = len(groups), 3
    best_idx = np.array([[rng.integers(0, len(g)) for _ in range(k)] for g in groups])
    best_sim, raw = rng.random((n, k)), rng.random((n, k))
    lead = np.where(rng.random((n, k)) < 0.2, -np.inf, rng.random((n, k)) - 0.5)
    lead[0, 0] = np.inf
    lead_idx = np.where(np.isfinite(lead) & (rng.random((n, k)) < 0.5),
                        np.array([[rng.integers(0, len(g)) for _ in range(k)] for g in groups]), -1)
    lead_idx[0, 0] = 0
    ii, jj = np.nonzero(rng.random((n, k)) < 0.6)
    for ld, li in ((lead, lead_idx), (None, None)):
        expected = [_zero_shot_evidence(groups[i], i, j, best_idx, best_sim, raw, ld, li)
                    for i, j in zip(ii.tolist(), jj.tolist())]
        assert _zero_shot_evidence_many(groups, ii, jj, best_idx, best_sim, raw, ld, li) == expected


def test_sentence_leads_top_two_without_a_sort_equal_the_sorted_reference() -> None:
    """Ties and repeated cosines: argmax + runner-up give what the stable sort of -sims gave."""
    from evreview.code.assign import sentence_leads
    from evreview.embed import StudyEmbeddings

    rng = np.random.default_rng(9)
    lengths = rng.integers(0, 6, size=80)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(lengths)
    # few distinct values, so ties between codes and between sentences are common
    vectors = rng.integers(-2, 3, size=(int(offsets[-1]), 4)).astype(np.float32)
    prototypes = np.eye(4, dtype=np.float32)[:3]
    emb = StudyEmbeddings([f"s{i}" for i in range(len(lengths))], [["x"] * int(n) for n in lengths], vectors, offsets,
                          pool_rows(vectors, offsets), stats=None)
    codable = rng.random(len(lengths)) > 0.2
    last = rng.random(len(lengths)) > 0.5

    def reference(calibrate_sentences: bool) -> tuple[np.ndarray, np.ndarray]:
        n, k = len(lengths), 3
        lead, index = np.full((n, k), -np.inf), np.full((n, k), -1, dtype=np.int64)
        sims = (vectors @ prototypes.T).astype(np.float64)
        owner = np.repeat(np.arange(n), lengths)
        countable = np.ones(len(owner), dtype=bool)
        drop = last & (lengths > 0)
        countable[offsets[1:][drop] - 1] = False
        basis = countable & codable[owner]
        if calibrate_sentences and basis.any():
            sims = sims - np.median(sims[basis], axis=0)
        for r in range(len(sims)):
            if not countable[r]:
                continue
            order = np.argsort(-sims[r], kind="stable")
            for c in range(k):
                value = sims[r, order[0]] - sims[r, order[1]] if c == order[0] else sims[r, c] - sims[r, order[0]]
                i, local = owner[r], r - offsets[owner[r]]
                if value > lead[i, c]:
                    lead[i, c], index[i, c] = value, local
        return lead, index

    for calibrate_sentences in (False, True):
        got = sentence_leads(emb, prototypes, codable, calibrate_sentences=calibrate_sentences, min_studies=1,
                             exclude_last=last)
        expected = reference(calibrate_sentences)
        assert got[0].tobytes() == expected[0].tobytes() and got[1].tolist() == expected[1].tolist()


def test_a_read_only_cache_folder_still_splits(tmp_path: Path) -> None:
    import os

    folder = tmp_path / FOLDER / fingerprint()
    folder.mkdir(parents=True)
    folder.chmod(0o500)
    try:
        split = split_studies(*_columns(CELLS), tmp_path)
        _check(split, CELLS)
        if os.geteuid() != 0:  # root writes anyway
            assert not list(folder.iterdir())
    finally:
        folder.chmod(0o700)
