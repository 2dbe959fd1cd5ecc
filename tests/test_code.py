"""Theme coding: assignments with evidence, uncoded reasons, topics, reviewer decisions, outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evreview.code import code_studies, write_coding
from evreview.code.assign import match_terms, term_pattern
from evreview.code.codebook import load_codebook
from evreview.code.decisions import read_code_decisions, validate_code_decisions
from evreview.code.topics import TopicConfig, assign_to_saved_topics, fit_topics
from evreview.embed import TfidfSvdBackend, embed_studies, fit_backend, study_text
from evreview.errors import ConfigError
from evreview.records import fold

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def codebook():
    # TF-IDF cosines are lower than MiniLM's: the threshold is an assignment setting.
    return load_codebook(REPO / "config" / "codebook.yaml").with_settings(min_similarity=0.1)


@pytest.fixture
def studies(fixtures_dir: Path) -> pd.DataFrame:
    frame = pd.read_csv(fixtures_dir / "code" / "studies.csv", dtype=str, keep_default_na=False)
    frame["keywords"] = frame["keywords"].map(lambda s: [k for k in s.split(";") if k])
    frame["year"] = pd.to_numeric(frame["year"]).astype("Int64")
    return frame


def _run(studies: pd.DataFrame, codebook, cache: Path, decisions=None, topics=True):
    frame = studies.sort_values("study_id").reset_index(drop=True)
    backend = TfidfSvdBackend(dim=32)
    texts = [study_text(t, a, k) for t, a, k in zip(frame["title"], frame["abstract"], frame["keywords"])]
    fit_backend(backend, texts + [c.prototype_text for d in codebook.dimensions for c in d.codes])
    emb = embed_studies(frame, backend, cache, progress=False)
    return code_studies(
        frame, codebook, emb, backend, decisions=decisions, cache_dir=cache, fit_topic_model=topics
    )


def test_every_assignment_carries_method_score_evidence_and_versions(studies, codebook, tmp_path) -> None:
    result = _run(studies, codebook, tmp_path)
    rows = result.assignments
    assigned = rows[rows["status"] == "assigned"]
    assert set(assigned["method"]) == {"terms", "zero-shot", "topic"}
    assert (assigned["evidence"].str.len() > 0).all()
    assert (rows["codebook_version"] == codebook.version).all()
    assert rows["model_id"].str.startswith("tfidf-svd:").all()
    trust = assigned[(assigned["study_id"] == "s001") & (assigned["code"] == "behaviours_values")]
    terms_row = trust[trust["method"] == "terms"].iloc[0]
    assert terms_row["evidence"].startswith("terms: trust, mutual respect, respect, power imbalance* in ")
    assert "Building trust between a university" in terms_row["evidence"]  # first sentence with a term
    place = assigned[(assigned["study_id"] == "s001") & (assigned["dimension"] == "place")]
    assert place["code"].tolist() == ["uk"] and place["method"].tolist() == ["terms"]


def test_uncoded_studies_have_reasons_not_gaps(studies, codebook, tmp_path) -> None:
    empty = pd.DataFrame([{"study_id": "s009", "title": "", "abstract": "", "keywords": [], "year": 2020,
                           "language": "eng"}])
    result = _run(pd.concat([studies, empty], ignore_index=True), codebook, tmp_path)
    wide = result.coded.set_index("study_id")
    assert "not one the models code" in wide.loc["s006", "uncoded_reason"]
    assert wide.loc["s006", "theme"] == ""
    assert wide.loc["s009", "uncoded_reason"] == "no title, abstract or keywords to code"
    # a title-only study is still coded
    assert wide.loc["s007", "uncoded_reason"] == ""
    # every codable study has, per dimension, either codes or an 'uncoded' row saying why
    rows = result.assignments
    for sid in ["s001", "s002", "s003", "s004", "s005", "s007", "s008"]:
        for dim in [d.id for d in codebook.dimensions]:
            part = rows[(rows["study_id"] == sid) & (rows["dimension"] == dim)]
            assert not part.empty
            assert (part["status"] == "assigned").any() or part["evidence"].str.startswith("no ").all()


def test_single_label_dimension_gets_at_most_one_code(studies, codebook, tmp_path) -> None:
    result = _run(studies, codebook, tmp_path)
    assert not result.coded["evidence_type"].str.contains(";").any()
    assert result.coded.set_index("study_id").loc["s005", "evidence_type"] == "review"


def test_outputs_are_byte_identical_across_runs(studies, codebook, tmp_path) -> None:
    shuffled = studies.sample(frac=1, random_state=3)
    one = _run(studies, codebook, tmp_path / "cache")
    two = _run(shuffled, codebook, tmp_path / "cache")
    write_coding(one, tmp_path / "a")
    write_coding(two, tmp_path / "b")
    for name in ["coded_records.csv", "assignments.csv", "topics.csv", "topics_over_time.csv",
                 "coded_records.parquet", "assignments.parquet"]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_one_record_and_empty_corpus(studies, codebook, tmp_path) -> None:
    one = _run(studies[studies["study_id"] == "s003"], codebook, tmp_path)
    assert one.coded["theme"].iloc[0] != ""
    assert one.topics["topic"].tolist() == [0] and "too small" in one.topics["note"].iloc[0]
    none = _run(studies.iloc[0:0], codebook, tmp_path)
    assert none.coded.empty and none.topics.empty


def test_reviewer_decisions_win(studies, codebook, tmp_path) -> None:
    decisions = validate_code_decisions(
        pd.DataFrame(
            [
                ["s001", "place", "uk", "remove", "ana", "2026-01-02T10:00:00Z"],
                ["s001", "place", "europe", "add", "ana", "2026-01-02T10:01:00Z"],
                ["s005", "evidence_type", "qualitative_case_study", "add", "ben", "2026-01-03"],
                ["s002", "theme", "approaches", "add", "ana", "2026-01-01"],
                ["s002", "theme", "approaches", "remove", "ben", "2026-01-04"],
                ["s999", "theme", "approaches", "add", "ben", "2026-01-04"],
            ],
            columns=["study_id", "dimension", "code", "action", "reviewer", "timestamp"],
        ),
        codebook,
    )
    result = _run(studies, codebook, tmp_path, decisions=decisions)
    wide = result.coded.set_index("study_id")
    assert wide.loc["s001", "place"] == "europe"
    assert wide.loc["s005", "evidence_type"] == "qualitative_case_study"  # single-label: replaced
    assert "approaches" not in wide.loc["s002", "theme"].split(";")  # latest decision (remove) wins
    rows = result.assignments
    removed = rows[(rows["study_id"] == "s001") & (rows["code"] == "uk")]
    assert set(removed["status"]) == {"removed"} and "ana" in set(removed["reviewer"])  # kept for audit
    assert result.unmatched_decisions["study_id"].tolist() == ["s999"]


def test_bad_decisions_name_file_and_line(codebook, tmp_path) -> None:
    path = tmp_path / "codes.csv"
    path.write_text(
        "study_id,dimension,code,action,reviewer,timestamp\n"
        "s001,theme,trust,add,ana,2026-01-01\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"codes.csv:2: unknown code 'trust' for dimension 'theme'"):
        read_code_decisions(path, codebook)
    path.write_text("study_id,dimension,code,action,reviewer,timestamp\ns1,theme,approaches,add,,2026\n")
    with pytest.raises(ConfigError, match=r":2: reviewer is empty"):
        read_code_decisions(path, codebook)
    assert read_code_decisions(tmp_path / "absent.csv", codebook).empty


def test_term_patterns() -> None:
    assert term_pattern("trust").search(fold("Building trusts")) is not None
    assert term_pattern("trust").search(fold("trustworthy")) is None
    assert term_pattern("knowledge broker*").search(fold("Knowledge-brokering roles")) is not None
    assert term_pattern("co-production").search(fold("co production of research")) is not None
    found, sentence = match_terms(["Nothing here.", "Respect and trust."], ["trust", "respect", "power"])
    assert found == ["trust", "respect"] and sentence == "Respect and trust."


def _synthetic_corpus(n_per: int = 12) -> tuple[list[str], list[str], np.ndarray, list[str]]:
    themes = {
        "trust": "trust respect reciprocity partners relationship honesty",
        "funding": "funding grant budget money finance council sustainability",
        "coprod": "co-production residents participatory community design workshop",
    }
    ids, docs, truth = [], [], []
    rng = np.random.default_rng(0)
    for name, words in themes.items():
        vocab = words.split()
        for i in range(n_per):
            ids.append(f"s{name}{i:02d}")
            docs.append(" ".join(rng.choice(vocab, size=12)))
            truth.append(name)
    backend = TfidfSvdBackend(dim=16).fit(docs)
    return ids, docs, backend.encode(docs), truth


@pytest.mark.slow
@pytest.mark.ml
def test_bertopic_finds_separable_topics_saves_and_reassigns(tmp_path) -> None:
    pytest.importorskip("bertopic")
    ids, docs, vectors, truth = _synthetic_corpus()
    config = TopicConfig(reducer="pca", min_topic_size=5, min_docs=30, seed=1)
    result = fit_topics(ids, docs, vectors, config=config)
    topics = result.per_study["topic"].tolist()
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(truth, topics) > 0.9
    assert result.topics["size"].sum() == len(ids)
    assert set(result.topics.columns) >= {"topic", "size", "top_words", "representative_study_ids", "label"}
    from evreview.code.topics import save_topic_model

    save_topic_model(result, tmp_path / "model", model_id="m1", codebook_version="cb-x")
    assert (tmp_path / "model" / "topic_embeddings.safetensors").exists()
    new_topics, _ = assign_to_saved_topics(tmp_path / "model", docs[:3], vectors[:3], model_id="m1")
    assert new_topics == topics[:3]
    from evreview.errors import EvreviewError

    with pytest.raises(EvreviewError, match="fitted with embeddings 'm1'"):
        assign_to_saved_topics(tmp_path / "model", docs[:3], vectors[:3], model_id="other")
