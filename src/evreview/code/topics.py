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

Later search rounds reuse the saved model instead of refitting, so a topic id means the same
thing in every round: :func:`save_topic_model` writes, beside BERTopic's safetensors files,
the topic centroids (safetensors), the fitted topic table and every study's topic (Parquet).
:func:`assign_with_saved_topics` keeps the topic of every study the model already holds and
puts each new study in the topic whose centroid is nearest by cosine (the rule of the
``"reduce"`` outlier step), scored by that cosine. :func:`reuse_decision` refits instead, and
says why, when the embedding model, codebook version or topic settings differ.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from evreview.embed.backends import l2_normalise
from evreview.reporting import write_atomically

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
    #: topic id -> unit centroid of its members' vectors (what new studies are compared with)
    centroids: dict[int, np.ndarray] = field(default_factory=dict)
    #: the saved model this result reused (``None``: fitted in this run)
    reused: SavedTopics | None = None


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
    labels = np.asarray(labels)
    order = np.argsort(labels, kind="stable")  # members of each topic in index order, in one pass
    topic_ids, starts = np.unique(labels[order], return_index=True)
    bounds = [*starts.tolist(), len(labels)]
    groups = {int(t): order[a:b].tolist() for t, (a, b) in zip(topic_ids, pairwise(bounds))}
    for topic in sorted(groups):
        members = groups[topic]
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
        return TopicResult(per_study, table, None, note, config.as_dict(), {0: centroid})

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
        # pass our vectoriser: without it BERTopic falls back to a plain CountVectorizer and the
        # topic words fill with stop words ("and; the; of")
        model.update_topics(list(docs), topics=labels.tolist(), top_n_words=config.top_n_words,
                            vectorizer_model=model.vectorizer_model)
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
    return TopicResult(per_study, table, model, note, config.as_dict(), centroids_by_topic)


def topics_over_time(per_study: pd.DataFrame, years: pd.Series) -> pd.DataFrame:
    """Studies per (topic, year); studies without a year are counted under year ``<NA>``."""
    frame = per_study[["study_id", "topic"]].merge(
        pd.DataFrame({"study_id": years.index.astype(str), "year": years.to_numpy()}), on="study_id", how="left"
    )
    frame["year"] = frame["year"].astype("Int64")
    out = frame.groupby(["topic", "year"], dropna=False).size().reset_index(name="n_studies")
    return out.sort_values(["topic", "year"], na_position="last").reset_index(drop=True)


MODEL_META = "evreview_topics.json"
CENTROIDS_FILE = "topic_centroids.safetensors"
MEMBERS_FILE = "study_topics.parquet"
TABLE_FILE = "topics.parquet"


@dataclass
class SavedTopics:
    """A previous round's topic model as :func:`save_topic_model` left it (see the module docstring)."""

    folder: Path
    meta: dict[str, Any]
    per_study: pd.DataFrame  # study_id, topic, score, outlier_reassigned: every study the model holds
    topics: pd.DataFrame  # the topic table as fitted
    centroids: dict[int, np.ndarray]
    problem: str = ""  # why it cannot be reused (e.g. written by an older evreview)


def _save_centroids(path: Path, centroids: dict[int, np.ndarray]) -> None:
    from safetensors.numpy import save_file

    topics = sorted(centroids)
    matrix = (
        np.vstack([np.asarray(centroids[t], dtype=np.float32) for t in topics])
        if topics
        else np.zeros((0, 1), dtype=np.float32)
    )
    tensors = {"topics": np.asarray(topics, dtype=np.int64).reshape(-1), "centroids": np.ascontiguousarray(matrix)}
    write_atomically(path, lambda tmp: save_file(tensors, str(tmp)))


def save_topic_model(result: TopicResult, folder: str | Path, *, model_id: str, codebook_version: str) -> None:
    """Save the fitted model with safetensors (no pickle) plus what later rounds reuse.

    The embedding model is deliberately not saved or named inside BERTopic's config: loading
    must never try to fetch it; new studies are assigned with embeddings from our cache.
    A reused model is not re-saved: only its membership grows by this run's new studies, so a
    third round keeps the topics of the first two.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    members = result.per_study[list(STUDY_TOPIC_COLUMNS)]
    if result.reused is None:
        if result.model is not None:
            result.model.save(folder, serialization="safetensors", save_ctfidf=True, save_embedding_model=False)
        meta = {
            "embedding_model_id": model_id,
            "codebook_version": codebook_version,
            "config": result.config,
            "note": result.note,
            "fitted": result.model is not None,
        }
        table = result.topics
    else:
        meta = result.reused.meta
        table = result.reused.topics
        earlier = result.reused.per_study[~result.reused.per_study["study_id"].isin(members["study_id"])]
        members = pd.concat([earlier[list(STUDY_TOPIC_COLUMNS)], members], ignore_index=True)
    members = members.sort_values("study_id", kind="stable").reset_index(drop=True)
    members = members.astype({"study_id": str, "topic": "int64", "score": "float64", "outlier_reassigned": bool})
    _save_centroids(folder / CENTROIDS_FILE, result.centroids)
    write_atomically(folder / MEMBERS_FILE, lambda tmp: members.to_parquet(tmp, index=False))
    write_atomically(folder / TABLE_FILE, lambda tmp: table.to_parquet(tmp, index=False))
    text = json.dumps(meta, indent=2, sort_keys=True) + "\n"
    write_atomically(folder / MODEL_META, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def load_saved_topics(folder: str | Path) -> SavedTopics | None:
    """The saved topic model in ``folder``; ``None`` when there is none.

    A folder from an older evreview (no centroids or membership) loads with ``problem`` set,
    so the caller refits and says why; unreadable files are an :class:`EvreviewError`.
    """
    from evreview.errors import EvreviewError

    folder = Path(folder)
    meta_path = folder / MODEL_META
    if not meta_path.exists():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EvreviewError(f"not a saved evreview topic model: {exc}", path=meta_path) from exc
    if not isinstance(meta, dict):
        raise EvreviewError("not a saved evreview topic model: expected a JSON object", path=meta_path)
    empty = pd.DataFrame(columns=list(STUDY_TOPIC_COLUMNS))
    missing = [name for name in (CENTROIDS_FILE, MEMBERS_FILE, TABLE_FILE) if not (folder / name).exists()]
    if missing:
        problem = f"the saved topic model lacks {', '.join(missing)} (written by an older evreview)"
        return SavedTopics(folder, meta, empty, pd.DataFrame(columns=list(TOPIC_COLUMNS)), {}, problem)
    try:
        from safetensors.numpy import load_file

        tensors = load_file(str(folder / CENTROIDS_FILE))
        centroids = {int(t): tensors["centroids"][i] for i, t in enumerate(tensors["topics"].tolist())}
    except Exception as exc:  # safetensors raises its own error types
        raise EvreviewError(f"unreadable topic centroids: {exc}", path=folder / CENTROIDS_FILE) from exc
    frames = []
    for name, columns in ((MEMBERS_FILE, STUDY_TOPIC_COLUMNS), (TABLE_FILE, TOPIC_COLUMNS)):
        try:
            frame = pd.read_parquet(folder / name)
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise EvreviewError(f"unreadable saved topic table: {exc}", path=folder / name) from exc
        lacking = [c for c in columns if c not in frame.columns]
        if lacking:
            raise EvreviewError(f"saved topic table lacks column(s) {', '.join(lacking)}", path=folder / name)
        frames.append(frame)
    per_study, table = frames
    per_study = per_study.assign(study_id=per_study["study_id"].astype(str))
    unknown = sorted(set(per_study["topic"].astype(int)) - set(centroids))
    if unknown:
        raise EvreviewError(
            f"saved studies are in topic {unknown[0]}, which has no centroid", path=folder / MEMBERS_FILE
        )
    return SavedTopics(folder, meta, per_study, table, centroids)


def reuse_decision(
    saved: SavedTopics | None, *, model_id: str, codebook_version: str, config: TopicConfig, refit: bool = False
) -> tuple[bool, str]:
    """Whether this run may reuse ``saved`` instead of refitting, and the reason either way."""
    if refit:
        return False, "refitted (--refit-topics)"
    if saved is None:
        return False, "fitted (no saved topic model)"
    where = str(saved.folder)
    if saved.problem:
        return False, f"refitted: {saved.problem}"
    meta = saved.meta
    if meta.get("embedding_model_id") != model_id:
        return False, (
            f"refitted: the topic model in {where} was fitted with embeddings {meta.get('embedding_model_id')!r}, "
            f"this run uses {model_id!r}"
        )
    if meta.get("codebook_version") != codebook_version:
        return False, (
            f"refitted: the topic model in {where} was fitted with codebook {meta.get('codebook_version')!r}, "
            f"this run uses {codebook_version!r}"
        )
    if not meta.get("fitted"):
        return False, f"refitted: the topics in {where} were the small-corpus fallback, not a fitted model"
    old, new = meta.get("config") or {}, config.as_dict()
    changed = [f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    if changed:
        return False, f"refitted: topic settings changed ({'; '.join(changed)})"
    return True, f"reused {where} (fitted earlier; --refit-topics refits)"


def _nearest_topic(centroids: dict[int, np.ndarray], vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Topic whose centroid is nearest by cosine (outliers' -1 only if it is the only topic), and that cosine."""
    topics = sorted(t for t in centroids if t != -1) or sorted(centroids)
    if not topics or len(vectors) == 0:
        return np.full(len(vectors), -1, dtype=np.int64), np.full(len(vectors), np.nan)
    matrix = np.vstack([centroids[t] for t in topics]).astype(np.float32)
    sims = np.asarray(vectors, dtype=np.float32) @ matrix.T
    best = np.argmax(sims, axis=1)
    return np.asarray(topics, dtype=np.int64)[best], np.round(sims[np.arange(len(best)), best].astype(np.float64), 4)


def assign_with_saved_topics(saved: SavedTopics, study_ids: Sequence[str], vectors: np.ndarray) -> TopicResult:
    """Topics of this run's studies from a saved model, without refitting.

    Studies the saved model holds keep their topic, score and outlier flag (their evidence is
    what the fit wrote); every other study goes to the nearest saved topic centroid (cosine,
    as the ``"reduce"`` outlier rule), and its evidence says so. Topic sizes count this run's
    studies; labels, words and representatives stay those of the fit.
    """
    ids = [str(s) for s in study_ids]
    known = saved.per_study.drop_duplicates("study_id").set_index("study_id")
    old = np.array([sid in known.index for sid in ids], dtype=bool)
    topic = np.zeros(len(ids), dtype=np.int64)
    score = np.zeros(len(ids), dtype=np.float64)
    moved = np.zeros(len(ids), dtype=bool)
    notes = [""] * len(ids)
    if old.any():
        rows = known.loc[[sid for sid, o in zip(ids, old) if o]]
        topic[old] = rows["topic"].astype("int64").to_numpy()
        score[old] = rows["score"].astype("float64").to_numpy()
        moved[old] = rows["outlier_reassigned"].astype(bool).to_numpy()
    new = np.flatnonzero(~old)
    if len(new):
        topic[new], score[new] = _nearest_topic(saved.centroids, np.asarray(vectors)[new])
        for i in new:
            notes[i] = " (new study: nearest topic centroid of the saved model)"
    per_study = pd.DataFrame(
        {
            "study_id": pd.Series(ids, dtype="str"),  # typed even when empty (it is merged on)
            "topic": topic,
            "score": score,
            "outlier_reassigned": moved,
            "evidence_note": pd.Series(notes, dtype="str"),
        }
    )
    table = saved.topics.copy()
    counts = per_study["topic"].value_counts()
    table["size"] = table["topic"].map(counts).fillna(0).astype("int64")
    n_gone = int((~saved.per_study["study_id"].isin(ids)).sum())
    note = str(saved.meta.get("note", ""))
    if len(new) or n_gone:
        extra = f"saved model reused: {len(new)} new studies placed at the nearest topic centroid"
        if n_gone:
            extra += f", {n_gone} of its studies not in this run"
        table["note"] = table["note"].astype(str) + "; " + extra
        note += "; " + extra
    return TopicResult(per_study, table, None, note, dict(saved.meta.get("config") or {}), saved.centroids, saved)


def assign_to_saved_topics(
    folder: str | Path, docs: Sequence[str], embeddings: np.ndarray, *, model_id: str
) -> tuple[list[int], np.ndarray]:
    """Assign studies to a previous round's topics: nearest saved topic centroid by cosine.

    Returns (topics, cosines). ``docs`` is accepted for symmetry with :func:`fit_topics`; only
    the vectors are used. Refuses vectors from a different embedding model: they live in
    another space.
    """
    from evreview.errors import EvreviewError

    folder = Path(folder)
    meta_path = folder / MODEL_META
    saved = load_saved_topics(folder)
    if saved is None:
        raise EvreviewError("not a saved evreview topic model (no metadata)", path=meta_path)
    if saved.meta.get("embedding_model_id") != model_id:
        raise EvreviewError(
            f"topic model was fitted with embeddings {saved.meta.get('embedding_model_id')!r}, not {model_id!r}",
            path=meta_path,
        )
    if saved.problem:
        raise EvreviewError(saved.problem, path=folder)
    if len(docs) != len(embeddings):
        raise ValueError("docs and embeddings differ in length")
    topics, scores = _nearest_topic(saved.centroids, np.asarray(embeddings))
    return [int(t) for t in topics], scores
