"""Embedding stage: content-hash cache, backends, offline model checks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evreview.embed import (
    DEFAULT_MODEL_SHA256,
    EmbeddingError,
    SentenceTransformerBackend,
    TfidfSvdBackend,
    content_hash,
    embed_studies,
    embed_texts,
    split_sentences,
    study_sentences,
)
from evreview.embed.backends import make_backend, packaged_model_dir


class CountingBackend:
    """A tiny deterministic fake: vector = letter counts; records every text it is asked to encode."""

    def __init__(self, model_id: str = "fake:letters") -> None:
        self._model_id = model_id
        self.seen: list[str] = []

    @property
    def model_id(self) -> str:
        return self._model_id

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        self.seen.extend(texts)
        out = np.zeros((len(texts), 26), dtype=np.float32)
        for i, text in enumerate(texts):
            for ch in text.lower():
                if "a" <= ch <= "z":
                    out[i, ord(ch) - 97] += 1
        return out


def test_cache_hits_and_misses(tmp_path: Path) -> None:
    backend = CountingBackend()
    texts = ["trust and respect", "shared governance", "trust and respect"]
    first, stats = embed_texts(texts, backend, tmp_path, progress=False)
    assert stats.n_unique == 2 and stats.n_embedded == 2 and stats.n_cached == 0
    assert backend.seen == sorted(backend.seen, key=content_hash)  # deterministic order
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-6)

    backend.seen.clear()
    second, stats = embed_texts(texts, CountingBackend(), tmp_path, progress=False)
    assert stats.n_embedded == 0 and stats.n_cached == 2
    np.testing.assert_array_equal(first, second)

    changed = CountingBackend()
    _, stats = embed_texts(["trust and respect", "new funding model"], changed, tmp_path, progress=False)
    assert changed.seen == ["new funding model"] and stats.n_embedded == 1


def test_cache_is_keyed_by_model_id(tmp_path: Path) -> None:
    embed_texts(["a text"], CountingBackend("fake:one"), tmp_path, progress=False)
    other = CountingBackend("fake:two")
    _, stats = embed_texts(["a text"], other, tmp_path, progress=False)
    assert stats.n_embedded == 1 and other.seen == ["a text"]


def test_empty_text_gets_zero_vector_without_model_call(tmp_path: Path) -> None:
    backend = CountingBackend()
    vectors, _ = embed_texts(["", "words"], backend, tmp_path, progress=False)
    assert backend.seen == ["words"]
    assert not vectors[0].any() and vectors[1].any()


def test_embed_studies_counts_only_changed_records(tmp_path: Path) -> None:
    studies = pd.DataFrame(
        {"study_id": ["s1", "s2"], "title": ["Trust", "Funding"], "abstract": ["One. Two.", ""], "keywords": [[], []]}
    )
    first = embed_studies(studies, CountingBackend(), tmp_path, progress=False)
    assert first.stats.n_records_embedded == 2
    assert first.sentences[0] == ["Trust", "One.", "Two."]
    studies.loc[1, "abstract"] = "Now with an abstract."
    again = embed_studies(studies, CountingBackend(), tmp_path, progress=False)
    assert again.stats.n_records_embedded == 1 and again.stats.n_embedded == 1
    np.testing.assert_array_equal(first.study_vectors[0], again.study_vectors[0])


def test_corrupt_shard_is_a_clear_error(tmp_path: Path) -> None:
    from evreview.embed.cache import EmbeddingCache
    from evreview.errors import EvreviewError

    embed_texts(["x y z"], CountingBackend(), tmp_path, progress=False)
    keys = next(tmp_path.rglob("*.keys"))
    keys.write_text(keys.read_text() + "deadbeef\n")
    with pytest.raises(EvreviewError, match="corrupt cache shard"):
        EmbeddingCache(tmp_path, "fake:letters").load()


def test_sentence_split_keeps_title_and_keywords() -> None:
    assert split_sentences("BACKGROUND: We asked. RESULTS: It worked! e.g. this stays.") == [
        "We asked.",
        "It worked! e.g. this stays.",
    ]
    assert study_sentences("T", "", ["a", "b"]) == ["T", "a; b"]
    assert study_sentences(None, None, None) == []


def test_tfidf_backend_deterministic_and_fit_fingerprinted() -> None:
    texts = ["trust between partners", "funding and governance", "co-production with residents", "trust again"]
    a = TfidfSvdBackend(dim=3).fit(texts)
    b = TfidfSvdBackend(dim=3).fit(list(reversed(texts)))
    assert a.model_id == b.model_id
    np.testing.assert_array_equal(a.encode(texts), b.encode(texts))
    c = TfidfSvdBackend(dim=3).fit([*texts, "something else entirely"])
    assert c.model_id != a.model_id
    with pytest.raises(EmbeddingError, match="fitted"):
        _ = TfidfSvdBackend().model_id


def test_tfidf_backend_single_document() -> None:
    backend = TfidfSvdBackend().fit(["only one document here"])
    vectors = backend.encode(["only one document", "unrelated"])
    assert vectors.shape[0] == 2


def test_weights_hash_mismatch_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"not the real weights")
    with pytest.raises(EmbeddingError, match="sha256 mismatch"):
        SentenceTransformerBackend(str(tmp_path), sha256=DEFAULT_MODEL_SHA256)


def test_model_needing_download_is_refused() -> None:
    with pytest.raises(EmbeddingError, match="does not download"):
        make_backend("sentence-transformers/all-mpnet-base-v2")


def test_local_folder_without_safetensors_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingError, match=r"model\.safetensors not found"):
        SentenceTransformerBackend(str(tmp_path))


@pytest.mark.ml
def test_packaged_minilm_loads_offline_and_embeds(tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers")
    try:
        packaged_model_dir()
    except EmbeddingError as exc:
        pytest.skip(str(exc))
    backend = SentenceTransformerBackend()
    assert backend.weights_sha256 == DEFAULT_MODEL_SHA256
    sentences = [
        "Trust between university and council partners grew over time.",
        "Partners came to trust one another.",
        "The enzyme was purified by column chromatography.",
    ]
    vectors, stats = embed_texts(sentences, backend, tmp_path, progress=False)
    assert vectors.shape == (3, 384) and stats.n_embedded == 3
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    _, again = embed_texts(sentences, backend, tmp_path, progress=False)
    assert again.n_embedded == 0


class BatchRecordingBackend(CountingBackend):
    """Remembers each batch it was given, to check what the driver sends together."""

    def __init__(self) -> None:
        super().__init__("fake:batches")
        self.batches: list[list[str]] = []

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        self.batches.append(list(texts))
        return super().encode(texts, batch_size)


def test_missing_texts_are_batched_by_length_and_returned_in_input_order(tmp_path: Path) -> None:
    # Lengths interleaved on purpose: hash order would mix long and short in every batch.
    texts = [("a" * n) + f" b{n}" for n in (1, 90, 3, 70, 5, 50, 7, 30)]
    backend = BatchRecordingBackend()
    vectors, stats = embed_texts(texts, backend, tmp_path, batch_size=2, progress=False)
    assert stats.n_embedded == len(texts)
    lengths = [[len(t) for t in batch] for batch in backend.batches]
    flat = [n for batch in lengths for n in batch]
    assert flat == sorted(flat, reverse=True)  # longest first, so each batch has similar lengths
    expected = CountingBackend().encode(texts)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(vectors, expected, rtol=1e-6)  # row i is still text i


def test_length_order_is_stable_for_ties() -> None:
    from evreview.embed import length_order

    assert length_order(["bb", "a", "cc", "ddd"]).tolist() == [3, 0, 2, 1]


def test_minilm_threads_default_to_available_cores() -> None:
    from evreview.embed.backends import available_cores

    assert available_cores() >= 1
    try:
        backend = make_backend("minilm", threads=0)  # 0/None: use what this process may run on
    except EmbeddingError as exc:
        pytest.skip(str(exc))
    assert backend.threads == available_cores()
