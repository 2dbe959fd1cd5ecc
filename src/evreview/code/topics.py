"""BERTopic on the included studies, with every sub-model injected and a stated small-corpus rule.

Why the pieces are explicit: determinism needs UMAP's ``random_state`` and single-threaded
layout, the cache needs BERTopic to take our precomputed vectors (never its own embedding
model), and a review of 12 studies must still produce a topic table rather than a crash.

* Embeddings: always passed in (from :mod:`evreview.embed`); BERTopic gets no embedding model.
* Reducer: anything with ``fit``/``transform`` (UMAP by default; PCA is the torch-free,
  numba-free alternative).
* Clusterer: anything with ``fit`` and ``labels_`` (HDBSCAN by default; k-means when the
  number of topics is fixed).

Outliers (HDBSCAN label -1) are handled as configured: ``"reduce"`` (default) moves each to the
topic whose centroid is nearest in embedding space and flags it (``outlier_reassigned``), so
every study is in a topic and the reassignment is visible; ``"keep"`` leaves them in topic -1.
Corpora smaller than ``min_docs`` (default 30) are not topic-modelled: every study goes to
topic 0 with the reason stated in the topic table; an empty corpus gives empty tables.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from evreview.embed.backends import l2_normalise

TOPIC_COLUMNS = (
    "topic",
    "size",
    "label",
    "top_words",
    "representative_study_ids",
    "nearest_code",
    "nearest_code_score",
    "note",
)
STUDY_TOPIC_COLUMNS = ("study_id", "topic", "score", "outlier_reassigned")


class Reducer(Protocol):
    def fit(self, X: np.ndarray, y: Any = None) -> Any: ...
    def transform(self, X: np.ndarray) -> np.ndarray: ...


class Clusterer(Protocol):
    labels_: np.ndarray

    def fit(self, X: np.ndarray, y: Any = None) -> Any: ...


@dataclass
class TopicConfig:
    """Topic-model settings (all part of the result's provenance)."""

    seed: int = 42
    min_docs: int = 30
    min_topic_size: int = 10
    reducer: str = "umap"
    n_components: int = 5
    n_neighbors: int = 15
    clusterer: str = "hdbscan"
    n_topics: int | None = None  # k-means only
    outliers: str = "reduce"
    top_n_words: int = 10
    n_representatives: int = 3

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def make_reducer(config: TopicConfig, n_docs: int) -> Reducer:
    """UMAP (seeded, hence single-threaded and reproducible) or PCA."""
    n_components = max(2, min(config.n_components, n_docs - 2))
    if config.reducer == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=n_components, random_state=config.seed)
    if config.reducer != "umap":
        raise ValueError(f"unknown reducer {config.reducer!r} (umap, pca)")
    from umap import UMAP

    return UMAP(
        n_neighbors=max(2, min(config.n_neighbors, n_docs - 1)),
        n_components=n_components,
        min_dist=0.0,
        metric="cosine",
        random_state=config.seed,
        low_memory=True,
    )


def make_clusterer(config: TopicConfig, n_docs: int) -> Clusterer:
    """HDBSCAN (outliers possible) or seeded k-means (fixed number of topics)."""
    if config.clusterer == "kmeans":
        from sklearn.cluster import KMeans

        k = config.n_topics or max(2, n_docs // max(config.min_topic_size, 1))
        return KMeans(n_clusters=min(k, n_docs), n_init=10, random_state=config.seed)
    if config.clusterer != "hdbscan":
        raise ValueError(f"unknown clusterer {config.clusterer!r} (hdbscan, kmeans)")
    from hdbscan import HDBSCAN

    return HDBSCAN(
        min_cluster_size=max(2, min(config.min_topic_size, n_docs // 2)),
        metric="euclidean",
        cluster_selection_method="eom",
        prediction_data=True,
    )


@dataclass
class TopicResult:
    """Per-study topics, the topic table, and the fitted model (``None`` for the fallback)."""

    per_study: pd.DataFrame
    topics: pd.DataFrame
    model: Any = None
    note: str = ""
    config: dict[str, Any] = field(default_factory=dict)


def _top_words_fallback(docs: Sequence[str], n: int) -> list[str]:
    from sklearn.feature_extraction.text import CountVectorizer

    try:
        vec = CountVectorizer(stop_words="english", strip_accents="unicode")
        counts = np.asarray(vec.fit_transform(docs).sum(axis=0)).ravel()
    except ValueError:  # only stop words / empty
        return []
    terms = vec.get_feature_names_out()
    order = sorted(range(len(terms)), key=lambda i: (-counts[i], terms[i]))
    return [str(terms[i]) for i in order[:n]]


def _representatives(ids: list[str], vectors: np.ndarray, centroid: np.ndarray, n: int) -> list[str]:
    sims = vectors @ centroid
    order = sorted(range(len(ids)), key=lambda i: (-round(float(sims[i]), 6), ids[i]))
    return [ids[i] for i in order[:n]]


def _nearest(centroid: np.ndarray, prototypes: np.ndarray | None, codes: Sequence[str]) -> tuple[str, float]:
    if prototypes is None or len(codes) == 0 or not np.any(centroid):
        return "", float("nan")
    sims = prototypes @ centroid
    best = int(np.argmax(sims))
    return codes[best], round(float(sims[best]), 4)


def _topic_table(
    ids: list[str],
    vectors: np.ndarray,
    labels: np.ndarray,
    words: dict[int, list[str]],
    prototypes: np.ndarray | None,
    codes: Sequence[str],
    config: TopicConfig,
    note: str,
) -> pd.DataFrame:
    rows = []
    for topic in sorted(set(int(t) for t in labels)):
        members = [i for i, t in enumerate(labels) if t == topic]
        member_ids = [ids[i] for i in members]
        centroid = l2_normalise(vectors[members].mean(axis=0, keepdims=True))[0]
        top = words.get(topic, [])
        code, score = _nearest(centroid, prototypes, codes) if topic != -1 else ("", float("nan"))
        rows.append(
            {
                "topic": topic,
                "size": len(members),
                "label": "outliers (not clustered)" if topic == -1 else f"{topic}_" + "_".join(top[:4]),
                "top_words": "; ".join(top),
                "representative_study_ids": "; ".join(
                    _representatives(member_ids, vectors[members], centroid, config.n_representatives)
                ),
                "nearest_code": code,
                "nearest_code_score": score,
                "note": note,
            }
        )
    return pd.DataFrame(rows, columns=list(TOPIC_COLUMNS))


def fit_topics(
    study_ids: Sequence[str],
    docs: Sequence[str],
    embeddings: np.ndarray,
    *,
    config: TopicConfig | None = None,
    code_prototypes: np.ndarray | None = None,
    code_ids: Sequence[str] = (),
    reducer: Reducer | None = None,
    clusterer: Clusterer | None = None,
) -> TopicResult:
    """Topic-model the studies (already sorted by id) and map each topic to its nearest code."""
    config = config or TopicConfig()
    ids = [str(s) for s in study_ids]
    vectors = np.asarray(embeddings, dtype=np.float32)
    n = len(ids)
    if n == 0:
        return TopicResult(
            pd.DataFrame(columns=list(STUDY_TOPIC_COLUMNS)),
            pd.DataFrame(columns=list(TOPIC_COLUMNS)),
            note="no studies to topic-model",
            config=config.as_dict(),
        )
    if n < config.min_docs:
        note = (
            f"corpus too small for topic modelling ({n} < {config.min_docs} studies): "
            "all studies placed in topic 0"
        )
        labels = np.zeros(n, dtype=int)
        words = {0: _top_words_fallback(docs, config.top_n_words)}
        centroid = l2_normalise(vectors.mean(axis=0, keepdims=True))[0]
        per_study = pd.DataFrame(
            {
                "study_id": ids,
                "topic": labels,
                "score": np.round(vectors @ centroid, 4),
                "outlier_reassigned": False,
            }
        )
        table = _topic_table(ids, vectors, labels, words, code_prototypes, code_ids, config, note)
        return TopicResult(per_study, table, None, note, config.as_dict())

    from bertopic import BERTopic
    from sklearn.feature_extraction.text import CountVectorizer

    logging.getLogger("BERTopic").setLevel(logging.ERROR)
    model = BERTopic(
        embedding_model=None,
        umap_model=reducer if reducer is not None else make_reducer(config, n),
        hdbscan_model=clusterer if clusterer is not None else make_clusterer(config, n),
        vectorizer_model=CountVectorizer(stop_words="english", strip_accents="unicode", min_df=1),
        top_n_words=config.top_n_words,
        min_topic_size=config.min_topic_size,
        calculate_probabilities=False,
    )
    logging.getLogger("BERTopic").setLevel(logging.ERROR)
    labels_list, _ = model.fit_transform(list(docs), embeddings=vectors)
    labels = np.asarray(labels_list, dtype=int)
    reassigned = np.zeros(n, dtype=bool)
    note = f"BERTopic ({config.reducer} + {config.clusterer}); outliers: {config.outliers}"
    clustered = sorted(t for t in set(labels.tolist()) if t != -1)
    if config.outliers == "reduce" and clustered and np.any(labels == -1):
        centroids = l2_normalise(np.vstack([vectors[labels == t].mean(axis=0) for t in clustered]))
        outliers = np.where(labels == -1)[0]
        nearest = np.argmax(vectors[outliers] @ centroids.T, axis=1)
        labels[outliers] = np.asarray(clustered)[nearest]
        reassigned[outliers] = True
        model.update_topics(list(docs), topics=labels.tolist(), top_n_words=config.top_n_words)
        note += f" ({len(outliers)} outliers moved to the nearest topic centroid)"
    words = {
        int(t): [w for w, _ in (model.get_topic(int(t)) or [])][: config.top_n_words] for t in set(labels.tolist())
    }
    centroids_by_topic = {
        t: l2_normalise(vectors[labels == t].mean(axis=0, keepdims=True))[0] for t in set(labels.tolist())
    }
    scores = np.array([float(vectors[i] @ centroids_by_topic[labels[i]]) for i in range(n)])
    per_study = pd.DataFrame(
        {"study_id": ids, "topic": labels, "score": np.round(scores, 4), "outlier_reassigned": reassigned}
    )
    table = _topic_table(ids, vectors, labels, words, code_prototypes, code_ids, config, note)
    return TopicResult(per_study, table, model, note, config.as_dict())


def topics_over_time(per_study: pd.DataFrame, years: pd.Series) -> pd.DataFrame:
    """Studies per (topic, year); studies without a year are counted under year ``<NA>``."""
    frame = per_study[["study_id", "topic"]].merge(
        pd.DataFrame({"study_id": years.index.astype(str), "year": years.to_numpy()}), on="study_id", how="left"
    )
    frame["year"] = frame["year"].astype("Int64")
    out = frame.groupby(["topic", "year"], dropna=False).size().reset_index(name="n_studies")
    return out.sort_values(["topic", "year"], na_position="last").reset_index(drop=True)


def save_topic_model(result: TopicResult, folder: str | Path, *, model_id: str, codebook_version: str) -> None:
    """Save the fitted model with safetensors (no pickle) plus our provenance beside it.

    The embedding model is deliberately not saved or named inside BERTopic's config: loading
    must never try to fetch it; new studies are assigned with embeddings from our cache.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if result.model is not None:
        result.model.save(folder, serialization="safetensors", save_ctfidf=True, save_embedding_model=False)
    meta = {
        "embedding_model_id": model_id,
        "codebook_version": codebook_version,
        "config": result.config,
        "note": result.note,
        "fitted": result.model is not None,
    }
    (folder / "evreview_topics.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def assign_to_saved_topics(
    folder: str | Path, docs: Sequence[str], embeddings: np.ndarray, *, model_id: str
) -> tuple[list[int], np.ndarray]:
    """Assign new studies to a previous round's topics (cosine to the saved topic embeddings).

    Refuses vectors from a different embedding model: they live in another space.
    """
    from evreview.errors import EvreviewError

    folder = Path(folder)
    meta_path = folder / "evreview_topics.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise EvreviewError(f"not a saved evreview topic model: {exc}", path=meta_path) from exc
    if meta.get("embedding_model_id") != model_id:
        raise EvreviewError(
            f"topic model was fitted with embeddings {meta.get('embedding_model_id')!r}, not {model_id!r}",
            path=meta_path,
        )
    if not meta.get("fitted"):
        return [0] * len(docs), np.ones(len(docs))
    from bertopic import BERTopic

    logging.getLogger("BERTopic").setLevel(logging.ERROR)
    model = BERTopic.load(str(folder))
    topics, probs = model.transform(list(docs), embeddings=np.asarray(embeddings, dtype=np.float32))
    return [int(t) for t in topics], np.asarray(probs)
