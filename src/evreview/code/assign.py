"""Coding included studies into the codebook: seed terms, zero-shot similarity, topics.

``code_studies`` is a pure function of (studies, codebook, embeddings, decisions): it returns
DataFrames; :func:`evreview.code.write_coding` does the I/O. Every machine row says which
method produced it, its score, the evidence (the sentence or the matched terms), the model
id and the codebook version, so a reviewer can audit and override each one.

Zero-shot score of code c for a study = ``w * max_sentence cos + (1 - w) * study cos``, where
the prototype of c is the normalised sum of the embeddings of "label: description" and of its
seed terms. Calibration: each code's scores are centred on that code's corpus median (plus the
dimension's overall median), because a generic description is close to every abstract and
would otherwise win everywhere. A code is assigned when its raw cosine reaches
``min_similarity`` and, for multi-label dimensions, its calibrated score is within ``margin``
of the study's best; single-label dimensions take the one best code (terms add
``term_weight``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evreview.code.codebook import Codebook, Dimension
from evreview.code.topics import TopicConfig, TopicResult, fit_topics, topics_over_time
from evreview.embed import StudyEmbeddings, embed_texts
from evreview.embed.backends import EmbeddingBackend, l2_normalise
from evreview.records import clean_text, fold

ASSIGNMENT_COLUMNS: tuple[str, ...] = (
    "study_id",
    "dimension",
    "code",
    "method",
    "status",
    "score",
    "evidence",
    "model_id",
    "codebook_version",
    "reviewer",
    "timestamp",
)

#: Row status: ``assigned`` counts in the coded table; ``uncoded`` explains a gap;
#: ``removed`` is a machine code a reviewer took away (kept for the audit trail).
STATUSES = ("assigned", "uncoded", "removed")
EVIDENCE_CHARS = 300


@dataclass
class CodingResult:
    """Everything the code stage produces, as tables (see :func:`evreview.code.write_coding`)."""

    assignments: pd.DataFrame
    coded: pd.DataFrame
    topics: pd.DataFrame
    topics_over_time: pd.DataFrame
    unmatched_decisions: pd.DataFrame
    topic_result: TopicResult | None = None
    stats: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- terms


def term_pattern(term: str) -> re.Pattern[str]:
    """Whole-word regex for a seed term on folded text: plural -s/-es allowed, ``*`` = any ending."""
    star = term.endswith("*")
    folded = fold(term.rstrip("*"))
    body = r"\s+".join(re.escape(part) for part in folded.split())
    suffix = r"\w*" if star else r"(?:s|es)?"
    return re.compile(rf"(?<!\w){body}{suffix}(?!\w)")


@dataclass(frozen=True)
class TermMatcher:
    """Seed-term patterns of one code, with a combined pattern to skip studies quickly."""

    terms: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    any_pattern: re.Pattern[str] | None

    @classmethod
    def for_terms(cls, terms: Sequence[str]) -> TermMatcher:
        patterns = tuple(term_pattern(t) for t in terms)
        combined = re.compile("|".join(f"(?:{p.pattern})" for p in patterns)) if patterns else None
        return cls(tuple(terms), patterns, combined)

    def match(self, sentences: Sequence[str], folded: Sequence[str]) -> tuple[list[str], str]:
        """Distinct seed terms found, and the first sentence that had one (``folded`` = folded sentences)."""
        if self.any_pattern is None or not self.any_pattern.search(" \n ".join(folded)):
            return [], ""
        found: list[str] = []
        first_index: int | None = None
        for term, pattern in zip(self.terms, self.patterns):
            for index, text in enumerate(folded):
                if pattern.search(text):
                    found.append(term)
                    first_index = index if first_index is None else min(first_index, index)
                    break
        return found, sentences[first_index] if first_index is not None else ""


def match_terms(sentences: Sequence[str], terms: Sequence[str]) -> tuple[list[str], str]:
    """Distinct seed terms found in the sentences, and the first sentence that had one."""
    return TermMatcher.for_terms(terms).match(sentences, [fold(s) for s in sentences])


def _clip(text: str) -> str:
    text = clean_text(text)
    return text if len(text) <= EVIDENCE_CHARS else text[: EVIDENCE_CHARS - 1] + "…"


# --------------------------------------------------------------------------- zero-shot


def code_prototypes(
    dim: Dimension, backend: EmbeddingBackend, cache_dir: Any = None, *, batch_size: int = 32
) -> np.ndarray:
    """One unit vector per code: description + seed terms, embedded with the coding backend."""
    texts = [c.prototype_text for c in dim.codes] + [", ".join(c.terms) for c in dim.codes]
    vectors, _ = embed_texts(texts, backend, cache_dir, batch_size=batch_size, progress=False)
    n = len(dim.codes)
    return l2_normalise(vectors[:n] + vectors[n:])


def zero_shot_scores(
    emb: StudyEmbeddings, prototypes: np.ndarray, sentence_weight: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw scores ``(n_studies, n_codes)``, best-sentence index and best-sentence cosine."""
    n, k = len(emb.study_ids), prototypes.shape[0]
    raw = np.zeros((n, k), dtype=np.float64)
    best_idx = np.zeros((n, k), dtype=np.int64)
    best_sim = np.zeros((n, k), dtype=np.float64)
    if emb.sentence_vectors.size == 0:
        return raw, best_idx, best_sim
    sims = emb.sentence_vectors @ prototypes.T
    study = emb.study_vectors @ prototypes.T
    for i in range(n):
        lo, hi = emb.offsets[i], emb.offsets[i + 1]
        if hi == lo:
            continue
        block = sims[lo:hi]
        best_idx[i] = np.argmax(block, axis=0)
        best_sim[i] = block[best_idx[i], np.arange(k)]
        raw[i] = sentence_weight * best_sim[i] + (1 - sentence_weight) * study[i]
    return raw, best_idx, best_sim


def calibrate(raw: np.ndarray, codable: np.ndarray, min_studies: int) -> np.ndarray:
    """Centre each code's column on its median over codable studies (see module docstring)."""
    if raw.size == 0 or codable.sum() < min_studies:
        return raw.copy()
    sub = raw[codable]
    return raw - np.median(sub, axis=0) + np.median(sub)


# --------------------------------------------------------------------------- per-study coding


def _row(study_id: str, dim: str, code: str, method: str, status: str, score: float, evidence: str) -> dict[str, Any]:
    return {
        "study_id": study_id,
        "dimension": dim,
        "code": code,
        "method": method,
        "status": status,
        "score": round(float(score), 4) if score == score else float("nan"),
        "evidence": evidence,
        "reviewer": "",
        "timestamp": "",
    }


def _uncoded_reason(language: str, sentences: list[str], languages: Sequence[str]) -> str:
    if not sentences:
        return "no title, abstract or keywords to code"
    if language and language not in languages:
        return (
            f"language {language!r} is not one the models code ({', '.join(languages)}): "
            "left for a reviewer to code by hand"
        )
    return ""


def code_dimension(
    dim: Dimension,
    emb: StudyEmbeddings,
    codable: np.ndarray,
    prototypes: np.ndarray | None,
    codebook: Codebook,
    folded: list[list[str]] | None = None,
) -> list[dict[str, Any]]:
    """Assignment (and per-dimension 'uncoded') rows of one dimension for all codable studies."""
    min_sim = float(codebook.setting("min_similarity"))
    margin = float(codebook.setting("margin"))
    term_weight = float(codebook.setting("term_weight"))
    use_terms = "terms" in dim.methods
    use_zero_shot = "zero-shot" in dim.methods and prototypes is not None
    k = len(dim.codes)
    if use_zero_shot:
        raw, best_idx, best_sim = zero_shot_scores(emb, prototypes, float(codebook.setting("sentence_weight")))
        cal = (
            calibrate(raw, codable, int(codebook.setting("calibration_min_studies")))
            if codebook.setting("calibrate")
            else raw
        )
    matchers = [TermMatcher.for_terms(c.terms) for c in dim.codes]
    folded_all = folded if folded is not None else [[fold(x) for x in group] for group in emb.sentences]
    rows: list[dict[str, Any]] = []
    for i, study_id in enumerate(emb.study_ids):
        if not codable[i]:
            continue
        sentences = emb.sentences[i]
        terms = [matchers[j].match(sentences, folded_all[i]) if use_terms else ([], "") for j in range(k)]
        n_terms = np.array([len(found) for found, _ in terms], dtype=np.float64)
        term_score = 1 - 0.5**n_terms
        if use_zero_shot:
            eligible = raw[i] >= min_sim
            rank = cal[i] + term_weight * n_terms
        else:
            eligible = np.zeros(k, dtype=bool)
            rank = n_terms + 0.01 * term_score
        has_terms = term_score > 0
        if dim.multi_label:
            best = cal[i][eligible].max() if use_zero_shot and eligible.any() else None
            zs_codes = [j for j in range(k) if eligible[j] and best is not None and cal[i, j] >= best - margin]
            term_codes = [j for j in range(k) if has_terms[j]]
        else:
            candidates = [j for j in range(k) if eligible[j] or has_terms[j]]
            winner = max(candidates, key=lambda j: (rank[j], -j)) if candidates else None
            zs_codes = [winner] if winner is not None and eligible[winner] else []
            term_codes = [winner] if winner is not None and has_terms[winner] else []
        for j in zs_codes:
            sentence = sentences[best_idx[i, j]]
            evidence = f'"{_clip(sentence)}" (sentence cos {best_sim[i, j]:.3f}; study score {raw[i, j]:.3f})'
            rows.append(_row(study_id, dim.id, dim.codes[j].id, "zero-shot", "assigned", cal[i, j], evidence))
        for j in term_codes:
            found, sentence = terms[j]
            evidence = f'terms: {", ".join(found)} in "{_clip(sentence)}"'
            rows.append(_row(study_id, dim.id, dim.codes[j].id, "terms", "assigned", term_score[j], evidence))
        if not zs_codes and not term_codes:
            if use_zero_shot:
                j = int(np.argmax(raw[i]))
                why = f"no code reached min_similarity {min_sim} (best {dim.codes[j].id} {raw[i, j]:.3f})"
            else:
                why = "no seed term of this dimension found"
            if use_terms and use_zero_shot:
                why += " and no seed term found"
            rows.append(_row(study_id, dim.id, "", "none", "uncoded", float("nan"), why))
    return rows


def _topic_rows(result: TopicResult, dimension: str = "topic") -> list[dict[str, Any]]:
    words = dict(zip(result.topics["topic"], result.topics["top_words"]))
    rows = []
    for sid, topic, score, moved in result.per_study[list(result.per_study.columns[:4])].itertuples(index=False):
        evidence = f"topic words: {words.get(topic, '')}"
        if moved:
            evidence += " (outlier moved to nearest topic)"
        rows.append(_row(sid, dimension, f"topic_{int(topic)}", "topic", "assigned", score, evidence))
    return rows


def code_studies(
    studies: pd.DataFrame,
    codebook: Codebook,
    embeddings: StudyEmbeddings,
    backend: EmbeddingBackend,
    *,
    decisions: pd.DataFrame | None = None,
    cache_dir: Any = None,
    topic_config: TopicConfig | None = None,
    fit_topic_model: bool = True,
    batch_size: int = 32,
) -> CodingResult:
    """Code every study (one row per ``study_id`` in ``studies``) into every dimension.

    ``embeddings`` must come from :func:`evreview.embed.embed_studies` on ``studies`` sorted
    by ``study_id`` with the same ``backend``. Reviewers' ``decisions`` (see
    :mod:`evreview.code.decisions`) are applied last and always win.
    """
    from evreview.code.decisions import apply_decisions

    frame = studies.sort_values("study_id", kind="stable").reset_index(drop=True)
    ids = frame["study_id"].astype(str).tolist()
    if ids != embeddings.study_ids:
        raise ValueError("embeddings do not match the studies (embed the study_id-sorted table)")
    languages = list(codebook.setting("languages"))
    lang_col = frame["language"].fillna("").astype(str).tolist() if "language" in frame else [""] * len(ids)
    reasons = [_uncoded_reason(lang, embeddings.sentences[i], languages) for i, lang in enumerate(lang_col)]
    codable = np.array([not r for r in reasons], dtype=bool)
    rows: list[dict[str, Any]] = []
    for i, reason in enumerate(reasons):
        if reason:
            rows.append(_row(ids[i], "", "", "none", "uncoded", float("nan"), reason))
    prototypes: dict[str, np.ndarray] = {}
    folded = [[fold(x) for x in group] if codable[i] else [] for i, group in enumerate(embeddings.sentences)]
    for dim in codebook.dimensions:
        proto = (
            code_prototypes(dim, backend, cache_dir, batch_size=batch_size) if "zero-shot" in dim.methods else None
        )
        if proto is not None:
            prototypes[dim.id] = proto
        rows.extend(code_dimension(dim, embeddings, codable, proto, codebook, folded))
    topic_result = None
    topics = pd.DataFrame()
    over_time = pd.DataFrame(columns=["topic", "year", "n_studies"])
    if fit_topic_model:
        topic_dim = codebook.setting("topic_dimension")
        idx = np.where(codable)[0]
        docs = [" ".join(embeddings.sentences[i]) for i in idx]
        code_ids = codebook.dimension(topic_dim).code_ids() if topic_dim else []
        topic_result = fit_topics(
            [ids[i] for i in idx],
            docs,
            embeddings.study_vectors[idx],
            config=topic_config,
            code_prototypes=prototypes.get(topic_dim) if topic_dim else None,
            code_ids=code_ids,
        )
        topics = topic_result.topics
        rows.extend(_topic_rows(topic_result))
        years = frame.set_index("study_id")["year"] if "year" in frame else pd.Series(dtype="Int64")
        over_time = topics_over_time(topic_result.per_study, years)
    machine = pd.DataFrame(rows, columns=[c for c in ASSIGNMENT_COLUMNS if c not in ("model_id", "codebook_version")])
    machine.insert(7, "model_id", backend.model_id)
    machine.insert(8, "codebook_version", codebook.version)
    machine = machine[list(ASSIGNMENT_COLUMNS)]
    assignments, unmatched = apply_decisions(machine, decisions, codebook, set(ids))
    assignments = sort_assignments(assignments)
    coded = wide_table(frame, assignments, codebook, topic_result is not None)
    stats = {
        "n_studies": len(ids),
        "n_codable": int(codable.sum()),
        "n_uncoded": int((~codable).sum()),
        "model_id": backend.model_id,
        "codebook_version": codebook.version,
        "topics": topic_result.note if topic_result is not None else "not fitted",
        "n_decisions_applied": 0 if decisions is None else len(decisions) - len(unmatched),
    }
    return CodingResult(assignments, coded, topics, over_time, unmatched, topic_result, stats)


_METHOD_ORDER = {"reviewer": 0, "terms": 1, "zero-shot": 2, "topic": 3, "none": 4}


def sort_assignments(frame: pd.DataFrame) -> pd.DataFrame:
    """Stable, documented order: study, dimension, code, method, status."""
    out = frame.assign(_m=frame["method"].map(_METHOD_ORDER).fillna(9))
    out = out.sort_values(["study_id", "dimension", "code", "_m", "status"], kind="stable")
    return out.drop(columns="_m").reset_index(drop=True)


def wide_table(
    studies: pd.DataFrame, assignments: pd.DataFrame, codebook: Codebook, with_topics: bool
) -> pd.DataFrame:
    """One row per study: one column per dimension with its assigned codes joined by ";".

    Codes are listed in codebook order; ``uncoded_reason`` explains empty rows.
    """
    base_cols = [c for c in ("study_id", "title", "year") if c in studies.columns]
    out = studies[base_cols].copy()
    out["study_id"] = out["study_id"].astype(str)
    assigned = assignments[assignments["status"] == "assigned"]
    dims: list[tuple[str, list[str]]] = [(d.id, d.code_ids()) for d in codebook.dimensions]
    if with_topics:
        topic_codes = sorted(assigned.loc[assigned["dimension"] == "topic", "code"].unique().tolist())
        dims.append(("topic", topic_codes))
    grouped = assigned.groupby(["study_id", "dimension"])["code"].agg(lambda s: set(s)).to_dict()
    for dim_id, order in dims:
        out[dim_id] = [
            ";".join(c for c in order if c in grouped.get((sid, dim_id), set())) for sid in out["study_id"]
        ]
    uncoded = assignments[(assignments["status"] == "uncoded") & (assignments["dimension"] == "")]
    reason = dict(zip(uncoded["study_id"], uncoded["evidence"]))
    out["uncoded_reason"] = [reason.get(s, "") for s in out["study_id"]]
    return out.sort_values("study_id", kind="stable").reset_index(drop=True)
