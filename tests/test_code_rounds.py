"""Search rounds reuse the saved topic model (issue #8): stable topic ids, new studies placed, refit on request."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evreview.code import code_studies, write_coding
from evreview.code.codebook import load_codebook
from evreview.code.topics import TopicConfig, load_saved_topics
from evreview.embed import TfidfSvdBackend, embed_studies, fit_backend, study_text
from evreview.errors import EvreviewError

pytest.importorskip("bertopic")

REPO = Path(__file__).resolve().parents[1]
THEMES = {
    "trust": "trust respect reciprocity partners relationship honesty equity transparency",
    "funding": "funding grant budget money finance council sustainability governance",
    "coprod": "co-production residents participatory community design workshop citizens",
}
CONFIG = TopicConfig(reducer="pca", min_topic_size=5, min_docs=30, seed=1)


def _corpus(n_per: int, start: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for name, words in THEMES.items():
        vocab = words.split()
        for i in range(start, start + n_per):
            rows.append(
                {
                    "study_id": f"{name}{i:03d}",
                    "title": f"A study of {name} {i}",
                    "abstract": f"{' '.join(rng.choice(vocab, size=14))}. {' '.join(rng.choice(vocab, size=10))}.",
                    "keywords": [],
                    "year": 2020 + i % 4,
                    "language": "eng",
                }
            )
    frame = pd.DataFrame(rows)
    frame["year"] = frame["year"].astype("Int64")
    return frame


@pytest.fixture(scope="module")
def rounds():
    """Round 1 (45 studies) and round 2 (round 1 + 9 new) with one embedding space for both."""
    one = _corpus(15, 0, seed=0)
    two = pd.concat([one, _corpus(3, 100, seed=5)], ignore_index=True)
    codebook = load_codebook(REPO / "config" / "codebook.yaml").with_settings(min_similarity=0.1)
    backend = TfidfSvdBackend(dim=16)
    fit_backend(backend, [study_text(t, a) for t, a in zip(two["title"], two["abstract"])]
                + [c.prototype_text for d in codebook.dimensions for c in d.codes])
    return one, two, codebook, backend


def _code(frame, codebook, backend, cache: Path, **kwargs):
    frame = frame.sort_values("study_id").reset_index(drop=True)
    emb = embed_studies(frame, backend, cache, progress=False)
    return code_studies(frame, codebook, emb, backend, cache_dir=cache, topic_config=kwargs.pop("config", CONFIG),
                        **kwargs)


def _topics(result) -> dict[str, tuple[str, float, str]]:
    rows = result.assignments[result.assignments["dimension"] == "topic"]
    return {r.study_id: (r.code, r.score, r.evidence) for r in rows.itertuples(index=False)}


def _no_refit(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("the topic model was refitted")

    monkeypatch.setattr("evreview.code.assign.fit_topics", refuse)


def test_new_round_keeps_topics_and_places_new_studies(rounds, tmp_path, monkeypatch) -> None:
    one, two, codebook, backend = rounds
    first = _code(one, codebook, backend, tmp_path / "cache")
    assert first.stats["topic_model"] == "fitted (no saved topic model)"
    assert first.topic_result.model is not None and len(first.topics) >= 2
    write_coding(first, tmp_path / "out")
    saved = load_saved_topics(tmp_path / "out" / "topic_model")
    assert saved is not None and saved.problem == "" and len(saved.per_study) == len(one)

    _no_refit(monkeypatch)
    second = _code(two, codebook, backend, tmp_path / "cache", saved_topics=saved)
    assert second.stats["topic_model"].startswith("reused ")
    assert "9 new studies placed at the nearest topic centroid" in second.stats["topic_model"]
    before, after = _topics(first), _topics(second)
    assert {sid: after[sid] for sid in before} == before  # old studies: same topic, score and evidence
    new = sorted(set(after) - set(before))
    assert len(new) == 9
    # nearest centroid, stated in the evidence, scored by the cosine
    emb = embed_studies(two.sort_values("study_id").reset_index(drop=True), backend, tmp_path / "cache",
                        progress=False)
    vectors = dict(zip(emb.study_ids, emb.study_vectors))
    topic_ids = sorted(t for t in saved.centroids if t != -1)
    for sid in new:
        sims = [float(vectors[sid] @ saved.centroids[t]) for t in topic_ids]
        code, score, evidence = after[sid]
        assert code == f"topic_{topic_ids[int(np.argmax(sims))]}"
        assert score == pytest.approx(max(sims), abs=1e-4)
        assert evidence.endswith("(new study: nearest topic centroid of the saved model)")
    # a new study joins the topic most of its theme's old studies are in
    for sid in new:
        theme = sid.rstrip("0123456789")
        old_codes = [after[s][0] for s in before if s.startswith(theme)]
        assert after[sid][0] == max(set(old_codes), key=old_codes.count)
    sizes = dict(zip(second.topics["topic"], second.topics["size"]))
    counted = pd.Series([c for c, _, _ in after.values()]).value_counts()
    assert {f"topic_{t}": n for t, n in sizes.items() if n} == counted.to_dict()
    assert sum(sizes.values()) == len(two)
    assert second.topics["label"].tolist() == first.topics["label"].tolist()  # the fitted topics, not new ones
    assert set(second.coded["topic"]) <= {f"topic_{t}" for t in topic_ids}

    # the model folder now knows round 2's studies too: a third run keeps all of them
    write_coding(second, tmp_path / "out")
    again = load_saved_topics(tmp_path / "out" / "topic_model")
    assert len(again.per_study) == len(two) and again.meta == saved.meta
    third = _code(two, codebook, backend, tmp_path / "cache", saved_topics=again)
    assert _topics(third) == {sid: (c, s, e.replace(" (new study: nearest topic centroid of the saved model)", ""))
                              for sid, (c, s, e) in after.items()}
    assert third.stats["topic_model"].startswith("reused ")


def test_refit_on_request_or_mismatch(rounds, tmp_path) -> None:
    one, two, codebook, backend = rounds
    first = _code(one, codebook, backend, tmp_path / "cache")
    write_coding(first, tmp_path / "out")
    folder = tmp_path / "out" / "topic_model"
    saved = load_saved_topics(folder)

    forced = _code(two, codebook, backend, tmp_path / "cache", saved_topics=saved, refit_topics=True)
    assert forced.stats["topic_model"] == "refitted (--refit-topics)"
    assert forced.topic_result.reused is None and forced.topic_result.model is not None
    assert forced.topics["size"].sum() == len(two)

    other_codebook = codebook.with_settings(min_similarity=0.11)
    changed = _code(two, other_codebook, backend, tmp_path / "cache", saved_topics=saved)
    assert changed.stats["topic_model"].startswith("refitted: the topic model in ")
    assert f"fitted with codebook {codebook.version!r}, this run uses {other_codebook.version!r}" in (
        changed.stats["topic_model"])

    other_backend = TfidfSvdBackend(dim=16)
    fit_backend(other_backend, [study_text(t, a) for t, a in zip(two["title"], two["abstract"])])
    assert other_backend.model_id != backend.model_id
    moved = _code(two, codebook, other_backend, tmp_path / "cache2", saved_topics=saved)
    assert f"fitted with embeddings {backend.model_id!r}, this run uses {other_backend.model_id!r}" in (
        moved.stats["topic_model"])

    settings = _code(two, codebook, backend, tmp_path / "cache", saved_topics=saved,
                     config=TopicConfig(reducer="pca", min_topic_size=6, min_docs=30, seed=1))
    assert settings.stats["topic_model"] == "refitted: topic settings changed (min_topic_size 5 -> 6)"

    (folder / "topic_centroids.safetensors").unlink()  # a folder written before centroids were saved
    old = load_saved_topics(folder)
    assert "older evreview" in old.problem
    legacy = _code(two, codebook, backend, tmp_path / "cache", saved_topics=old)
    assert legacy.stats["topic_model"].startswith("refitted: the saved topic model lacks topic_centroids")

    (folder / "evreview_topics.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(EvreviewError, match=r"evreview_topics.json: not a saved evreview topic model"):
        load_saved_topics(folder)
    assert load_saved_topics(tmp_path / "nowhere") is None


def test_small_corpus_fallback_is_refitted_not_reused(rounds, tmp_path) -> None:
    one, two, codebook, backend = rounds
    small = _code(one.head(10), codebook, backend, tmp_path / "cache")
    assert "too small" in small.topics["note"].iloc[0]
    write_coding(small, tmp_path / "out")
    saved = load_saved_topics(tmp_path / "out" / "topic_model")
    grown = _code(two, codebook, backend, tmp_path / "cache", saved_topics=saved)
    assert "small-corpus fallback" in grown.stats["topic_model"]
    assert len(grown.topics) >= 2


@pytest.mark.slow
def test_cli_reuses_the_saved_model_and_is_byte_identical(tmp_path, capsys) -> None:
    """`evreview code` twice on the same input: the second run reuses OUT/topic_model, same bytes."""
    from evreview.cli import main

    studies = _corpus(12, 0, seed=3)
    studies.to_parquet(tmp_path / "studies.parquet", index=False)
    base = ["code", "--studies", str(tmp_path / "studies.parquet"), "--backend", "tfidf", "--no-progress",
            "--cache-dir", str(tmp_path / "cache"), "--min-topic-size", "5", "--out", str(tmp_path / "out")]
    outputs = ["assignments.csv", "assignments.parquet", "coded_records.csv", "coded_records.parquet", "topics.csv",
               "topics_over_time.csv"]

    def run(*extra: str) -> tuple[str, dict[str, bytes]]:
        assert main([*base, *extra]) == 0
        err = capsys.readouterr().err
        return err, {name: (tmp_path / "out" / name).read_bytes() for name in outputs}

    err1, first = run()
    assert "topic model: fitted (no saved topic model)" in err1
    err2, second = run()
    assert "topic model: reused " in err2
    assert second == first
    err3, third = run("--refit-topics")
    assert "topic model: refitted (--refit-topics)" in err3
    assert third == first  # the fit itself is deterministic
    # more studies (a new round): the saved TF-IDF fit is reused like a pretrained model, so the
    # earlier vectors stay valid and the new studies go to the saved topics (issue #8)
    pd.concat([studies, _corpus(2, 50, seed=4)], ignore_index=True).to_parquet(tmp_path / "studies.parquet",
                                                                             index=False)
    err4, _ = run()
    assert "tfidf: reused saved fit tfidf-svd:" in err4 and "topic model: reused " in err4
    assert "6 new studies placed at the nearest topic centroid" in err4
