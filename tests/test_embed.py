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


def _model_copy(tmp_path: Path) -> Path:
    """The packaged model's folder as symlinks (the 90 MB weights are not copied)."""
    try:
        source = packaged_model_dir()
    except EmbeddingError as exc:
        pytest.skip(str(exc))
    copy = tmp_path / "model"
    for path in source.rglob("*"):
        if path.is_file():
            (copy / path.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
            (copy / path.relative_to(source)).symlink_to(path)
    return copy


def test_packaged_model_files_beside_the_weights_are_checked(tmp_path: Path, monkeypatch) -> None:
    # only model.safetensors was hashed: a damaged or missing tokenizer vocabulary loaded
    # silently, made every word [UNK] and cached noise under the real model's id
    import evreview.embed.backends as backends

    copy = _model_copy(tmp_path)
    monkeypatch.setattr(backends, "packaged_model_dir", lambda: copy)
    (copy / "tokenizer.json").unlink()
    (copy / "tokenizer.json").write_text("{}", encoding="utf-8")
    with pytest.raises(EmbeddingError, match=r"tokenizer\.json: sha256 mismatch for model file tokenizer\.json"):
        SentenceTransformerBackend()
    (copy / "tokenizer.json").unlink()
    with pytest.raises(EmbeddingError, match=r"model file tokenizer\.json is missing; reinstall"):
        make_backend("minilm-static", cache_dir=tmp_path / "cache")


@pytest.mark.ml
def test_a_model_folder_without_its_vocabulary_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers")
    copy = _model_copy(tmp_path)
    for name in ("tokenizer.json", "vocab.txt"):
        (copy / name).unlink()
    backend = SentenceTransformerBackend(str(copy), sha256=DEFAULT_MODEL_SHA256)
    with pytest.raises(EmbeddingError, match=r"model: the model's tokenizer reads plain English words as unknown"):
        backend.encode(["Trust between partners grew."])


@pytest.mark.ml
def test_a_model_folder_with_broken_json_is_one_line_naming_the_file(tmp_path: Path) -> None:
    # a damaged modules.json was a JSONDecodeError traceback, a missing config.json a ValueError one
    pytest.importorskip("sentence_transformers")
    copy = _model_copy(tmp_path)
    (copy / "modules.json").unlink()
    (copy / "modules.json").write_text('[\n  {"idx": 0,}\n]', encoding="utf-8")
    backend = SentenceTransformerBackend(str(copy), sha256=DEFAULT_MODEL_SHA256)
    with pytest.raises(EmbeddingError, match=r"modules\.json:2: model file is not valid JSON"):
        backend.encode(["Trust between partners grew."])
    (copy / "modules.json").unlink()
    (copy / "modules.json").symlink_to(packaged_model_dir() / "modules.json")
    (copy / "config.json").unlink()
    with pytest.raises(EmbeddingError, match=r"model: cannot load the model: .*config\.json"):
        SentenceTransformerBackend(str(copy), sha256=DEFAULT_MODEL_SHA256).encode(["Trust grew."])


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


# --------------------------------------------------------------------------- devices


def test_device_check_accepts_cpu_and_refuses_unknown_or_unavailable() -> None:
    from evreview.embed.backends import check_device

    assert check_device("cpu") == "cpu" and check_device(None) == "cpu"
    with pytest.raises(EmbeddingError, match="unknown embedding device 'tpu'"):
        check_device("tpu")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():  # the usual CPU machine: no silent fallback to the CPU
        with pytest.raises(EmbeddingError, match="'cuda' is configured but CUDA is not available"):
            check_device("cuda")
    else:  # pragma: no cover - GPU machines
        assert check_device("cuda") == "cuda"
        with pytest.raises(EmbeddingError, match="CUDA device"):
            check_device(f"cuda:{torch.cuda.device_count()}")
    if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        with pytest.raises(EmbeddingError, match="'mps' is configured but Apple MPS is not available"):
            check_device("mps")


def test_unavailable_device_fails_when_the_backend_is_built() -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():  # pragma: no cover - GPU machines
        pytest.skip("CUDA is available here")
    try:
        packaged_model_dir()
    except EmbeddingError as exc:
        pytest.skip(str(exc))
    with pytest.raises(EmbeddingError, match="CUDA is not available"):
        make_backend("minilm", device="cuda")
    with pytest.raises(EmbeddingError, match="CPU only"):
        make_backend("tfidf", device="cuda")


def test_device_is_passed_to_sentence_transformers(monkeypatch: pytest.MonkeyPatch) -> None:
    st = pytest.importorskip("sentence_transformers")
    try:
        backend = SentenceTransformerBackend(device="cpu")
    except EmbeddingError as exc:
        pytest.skip(str(exc))
    seen: dict[str, object] = {}

    class Recorder:
        def __init__(self, path: str, device: str, local_files_only: bool) -> None:
            seen.update(path=path, device=device, local_files_only=local_files_only)

        def eval(self) -> None:
            pass

    monkeypatch.setattr(st, "SentenceTransformer", Recorder)
    backend.device = "cuda:1"  # as check_device would have accepted on a GPU machine
    backend._load()
    assert seen == {"path": str(backend.model_dir), "device": "cuda:1", "local_files_only": True}


# --------------------------------------------------------------------------- static (model2vec) backend


def _tiny_bert(folder: Path) -> Path:
    """A 1-layer, 32-wide BERT with a 200-token WordPiece vocabulary: distils in about a second.

    Same files and code path as the packaged MiniLM (safetensors weights, fast tokenizer),
    which takes a few CPU minutes because it forwards all 30,522 vocabulary tokens.
    """
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    words = ["trust", "between", "university", "and", "council", "partners", "one", "another", "enzyme", "assay"]
    letters = [chr(c) for c in range(97, 123)]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, *letters, *(f"##{c}" for c in letters)]
    vocab += [f"[unused{i}]" for i in range(200 - len(vocab))]
    folder.mkdir(parents=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    transformers.BertTokenizerFast(str(folder / "vocab.txt")).save_pretrained(str(folder))
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37
    )
    transformers.BertModel(config).save_pretrained(folder)
    return folder


@pytest.mark.ml
def test_static_backend_distils_once_caches_and_keeps_its_own_model_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("model2vec")
    pytest.importorskip("skeletoken")
    from evreview.embed.static import MANIFEST, StaticModelBackend

    source = _tiny_bert(tmp_path / "tiny")
    cache = tmp_path / "cache"
    backend = make_backend(f"static:{source}", pca_dims=16)
    assert isinstance(backend, StaticModelBackend)
    texts = ["Trust between university and council partners.", "Partners trust one another.", "Enzyme assay"]
    vectors, stats = embed_texts(texts, backend, cache, progress=False)  # attaches the cache dir, distils
    folder = backend.model_folder
    assert folder.parent == cache / "static-models" and (folder / MANIFEST).is_file()
    assert vectors.shape == (3, 16) and stats.n_embedded == 3
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert backend.model_id.startswith("m2v:tiny@") and "model2vec-" in backend.model_id
    assert not backend.model_id.startswith("st:")  # MiniLM's ids are st:..., so the caches never mix

    # a second backend (another process) loads the cached distillation and never distils again
    def refuse(self: object, folder: Path) -> None:
        raise AssertionError("distilled twice")

    monkeypatch.setattr(StaticModelBackend, "_distil", refuse)
    second = make_backend(f"static:{source}", pca_dims=16, cache_dir=cache)
    assert second.model_id == backend.model_id
    np.testing.assert_array_equal(second.encode(texts), backend.encode(texts))
    # other dimensions are another model: another folder, another id, so caches never mix
    other = StaticModelBackend(str(source), pca_dims=8, cache_dir=cache)
    assert other.model_folder != folder

    # altered distilled weights are refused, naming the folder to delete
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes() + b"x")
    with pytest.raises(EmbeddingError, match="changed since distillation"):
        _ = StaticModelBackend(str(source), pca_dims=16, cache_dir=cache).model_id


def test_static_model_id_differs_from_minilm_and_source_hash_is_checked(tmp_path: Path) -> None:
    pytest.importorskip("model2vec")
    from evreview.embed.static import StaticModelBackend

    (tmp_path / "model.safetensors").write_bytes(b"not the real weights")
    with pytest.raises(EmbeddingError, match="sha256 mismatch"):
        StaticModelBackend(str(tmp_path), sha256=DEFAULT_MODEL_SHA256)
    try:
        static = make_backend("minilm-static", cache_dir=tmp_path)
    except EmbeddingError as exc:
        pytest.skip(str(exc))
    # the folder is keyed by the source sha256 and the model2vec version (no distillation needed to know it)
    assert DEFAULT_MODEL_SHA256[:16] in static.model_folder.name and static.version in static.model_folder.name
    folder = static.model_folder
    folder.mkdir(parents=True)
    from evreview.embed.static import MANIFEST

    (folder / MANIFEST).write_text('{"source_sha256": "0", "model2vec": "0", "pca_dims": 256}', encoding="utf-8")
    with pytest.raises(EmbeddingError, match="source_sha256"):
        _ = static.model_id


def test_embed_stats_seconds_is_the_call_duration(tmp_path: Path) -> None:
    """More texts than one cache shard (SHARD_SIZE): the shard loop must not clobber the start time."""
    import time

    from evreview.embed import SHARD_SIZE

    texts = [f"text {i}" for i in range(SHARD_SIZE + 5)]
    before = time.perf_counter()
    _, stats = embed_texts(texts, CountingBackend(), tmp_path, progress=False)
    elapsed = time.perf_counter() - before
    assert stats.n_embedded == len(texts)
    assert 0 <= stats.seconds <= elapsed
