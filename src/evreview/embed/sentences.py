"""Study sentences, memoised by content: each study's (title, abstract, keywords) is split once.

Why: :func:`~evreview.embed.text.study_sentences` costs ~80 µs a study (whitespace collapse,
entity check, regex split, cleaning every keyword), and the shard jobs and the code job
split *every* included study on every run, then hash every sentence again for the vector
cache: ~3 s of a 200,000-record update round that adds 2,400 included studies to 23,700.
With a cache folder, each study's split is kept in ``CACHE/study-sentences/<fingerprint>/``:
its sentences, their content hashes (the vector cache's keys) and whether the last sentence
is the keyword line (which the coder needs, see :func:`evreview.code.assign.keyword_line_flags`).
A run then splits only studies whose text it has not seen.

Why it is exactly what splitting gives:

* a study's key is the sha256 of the JSON of its three cell values, of a few exact types
  (:func:`study_key`), so two studies share a key only when ``study_sentences`` is handed
  equal values of equal types; a value of any other type (say a number in a title cell) is
  split every time and never stored;
* the folder is named by a fingerprint of everything else the split depends on: the source
  of the modules that split and clean text (``embed/text.py``, ``records.py``), that hash
  sentences (``embed/cache.py``) and of this one, the sentence limit, the package version,
  Python's version and its Unicode database (whitespace and case rules), so changed code
  never reads an old split (folders of other fingerprints are left for anyone to delete);
* every file is named by the sha256 of its bytes and checked on reading; a file that fails
  the check, or does not have the expected columns, is ignored (and removed), so a damaged
  cache costs a re-split, never a wrong sentence.

Layout: Arrow IPC files of columns ``key`` (study key), ``sentences`` and ``hashes`` (lists of
strings), ``keyword_line`` (bool). A run that split new studies adds one file holding only
those, written atomically, so parallel shard jobs never contend (they add the same file).
Deleting the folder at any time changes no result, only the time the next run takes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from evreview.embed.cache import content_hash
from evreview.embed.text import MAX_SENTENCES, _as_text, study_sentences

#: Folder under the cache dir; beside the model folders (``<slug>-<hash>``), which never clash with it.
FOLDER = "study-sentences"
#: Identifies the file layout and key encoding; part of the fingerprint.
FORMAT = "evreview-study-sentences/2"


@dataclass
class SplitStudies:
    """Every study's sentences, flat and per study, with their content hashes.

    ``flat[offsets[i]:offsets[i + 1]]`` are study i's sentences (``sentences[i]``), ``keys`` the
    vector cache key of each flat sentence (``""`` for a blank one), and ``keyword_lines[i]``
    whether study i's last sentence is its keyword line.
    """

    sentences: list[list[str]]
    flat: list[str]
    keys: list[str]
    offsets: np.ndarray
    keyword_lines: np.ndarray
    n_split: int = 0  # studies split by this call (the rest came from the cache)


def sentence_key(text: str) -> str:
    """The vector cache key of a sentence, as :func:`evreview.embed.embed_texts` computes it."""
    return content_hash(text) if text.strip() else ""


def keyword_line_flag(sentences: Sequence[str], keywords: Any) -> bool:
    """Whether ``sentences`` (a study's split) end with the line its ``keywords`` make.

    The same answer as :func:`evreview.code.assign.keyword_line_flags`: the keyword line is
    ``_as_text(keywords)`` when that is non-empty (``None`` and NaN give ``""``).
    """
    if not sentences:
        return False
    line = _as_text(keywords)
    return bool(line) and sentences[-1] == line


#: Cell types whose handling by ``_as_text`` follows from their JSON text (``repr`` for floats).
_SCALARS = frozenset({str, float, type(None)})
_UNKEYED = object()


def _plain(value: Any) -> Any:
    """The cell as JSON-able data that keeps what ``_as_text`` tells apart, or ``_UNKEYED``.

    ``None``, ``str`` and ``float`` as they are (JSON writes a float by its ``repr``, so NaN and
    12.0 differ from ``""`` and ``"12"``); a list, tuple or 1-D array of those as a list
    (``_as_text`` treats the three alike). Only these exact types: anything else (an int, a
    nested list, a subclass) is split every time, never stored.
    """
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is np.ndarray:
        if value.ndim != 1:
            return _UNKEYED
        value = value.tolist()
    elif kind is not list and kind is not tuple:
        return _UNKEYED
    return value if set(map(type, value)) <= _SCALARS else _UNKEYED


def study_key(title: Any, abstract: Any, keywords: Any) -> str | None:
    """sha256 of the exact cell values a study is split from, or None when they cannot be keyed.

    The cells go through :func:`json.dumps` (ASCII, so any string encodes): equal JSON means
    equal strings, equal floats and equal lists in the same order, hence the same split.
    """
    cells = [_plain(title), _plain(abstract), _plain(keywords)]
    if any(c is _UNKEYED for c in cells):
        return None
    return hashlib.sha256(json.dumps(cells).encode("ascii")).hexdigest()


def _module_source(module_name: str) -> bytes:
    module = sys.modules.get(module_name)
    if module is None:
        import importlib

        module = importlib.import_module(module_name)
    path = getattr(module, "__file__", None)
    return Path(path).read_bytes() if path else b""


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """What a stored split depends on besides the study's cells (see the module docstring)."""
    import evreview

    h = hashlib.sha256()
    for part in (FORMAT, evreview.__version__, str(MAX_SENTENCES), sys.version.split()[0],
                 unicodedata.unidata_version):
        h.update(part.encode() + b"\0")
    for name in ("evreview.embed.text", "evreview.records", "evreview.embed.cache", __name__):
        h.update(_module_source(name) + b"\0")
    return h.hexdigest()[:24]


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema([
        ("key", pa.string()),
        ("sentences", pa.list_(pa.string())),
        ("hashes", pa.list_(pa.string())),
        ("keyword_line", pa.bool_()),
    ])


def _read_file(path: Path) -> Any | None:
    """The table in one cache file, or None (and the file removed) when it is damaged."""
    import pyarrow as pa

    try:
        data = path.read_bytes()
    except OSError:  # removed meanwhile, unreadable: treated as absent
        return None
    ok = hashlib.sha256(data).hexdigest()[:32] == path.stem
    table = None
    if ok:
        try:
            table = pa.ipc.open_file(pa.BufferReader(data)).read_all()
            ok = table.schema.equals(_schema()) and table.column("key").null_count == 0
            if ok:
                import pyarrow.compute as pc

                n_sent = pc.list_value_length(table.column("sentences"))
                n_hash = pc.list_value_length(table.column("hashes"))
                nulls = sum(table.column(c).null_count for c in ("sentences", "hashes", "keyword_line"))
                ok = nulls == 0 and pc.all(pc.equal(n_sent, n_hash)).as_py() in (True, None)
        except (pa.ArrowException, ValueError, OSError):
            ok = False
    if not ok:
        with contextlib.suppress(OSError):  # another process removed it first, or a read-only cache
            path.unlink()
        return None
    return table


def _load(folder: Path) -> Any | None:
    """Every valid file of ``folder`` as one table (earlier files first), or None."""
    import pyarrow as pa

    if not folder.is_dir():
        return None
    tables = [t for t in (_read_file(p) for p in sorted(folder.glob("*.arrow"))) if t is not None and t.num_rows]
    if not tables:
        return None
    return pa.concat_tables(tables)


def _store(folder: Path, keys: list[str], split: list[list[str]], hashes: list[list[str]], flags: list[bool]) -> None:
    """Add one file holding these studies' splits (named by the sha256 of its bytes, written atomically)."""
    import pyarrow as pa

    table = pa.table(
        {
            "key": pa.array(keys, pa.string()),
            "sentences": pa.array(split, pa.list_(pa.string())),
            "hashes": pa.array(hashes, pa.list_(pa.string())),
            "keyword_line": pa.array(flags, pa.bool_()),
        },
        schema=_schema(),
    )
    sink = io.BytesIO()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    data = sink.getvalue()
    path = folder / f"{hashlib.sha256(data).hexdigest()[:32]}.arrow"
    if path.exists():
        return
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:  # a read-only or full cache dir: the next run splits these again
        pass
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _cached_rows(
    table: Any, keys: Sequence[str | None]
) -> tuple[list[int], list[str], list[str], np.ndarray, np.ndarray]:
    """The studies found in ``table``: their indices, flat sentences and hashes, bounds, keyword flags."""
    import pyarrow as pa
    import pyarrow.compute as pc

    stored = table.column("key").to_pylist()
    where = dict(zip(reversed(stored), range(len(stored) - 1, -1, -1)))  # the earliest file wins
    hit = [i for i, k in enumerate(keys) if k is not None and k in where]
    rows = table.take(pa.array([where[keys[i]] for i in hit], pa.int64()))
    sentences = rows.column("sentences").combine_chunks()
    bounds = np.zeros(len(hit) + 1, dtype=np.int64)
    bounds[1:] = np.cumsum(np.asarray(pc.list_value_length(sentences), dtype=np.int64))
    return (
        hit,
        sentences.flatten().to_pylist(),
        rows.column("hashes").combine_chunks().flatten().to_pylist(),
        bounds,
        np.asarray(rows.column("keyword_line").combine_chunks(), dtype=bool),
    )


def split_studies(
    titles: Sequence[Any],
    abstracts: Sequence[Any],
    keywords: Sequence[Any],
    cache_dir: str | Path | None = None,
) -> SplitStudies:
    """``study_sentences`` of every study (row i from the i-th title, abstract, keywords), via the cache.

    Without ``cache_dir`` every study is split; with it, only those not split before (by any
    run with the same code), and their splits are added to the cache.
    """
    n = len(titles)
    skeys = [study_key(t, a, k) for t, a, k in zip(titles, abstracts, keywords)]
    folder = Path(cache_dir) / FOLDER / fingerprint() if cache_dir is not None else None
    table = _load(folder) if folder is not None else None
    if table is not None:
        hit, flat_s, flat_h, bounds, kw = _cached_rows(table, skeys)
    else:
        hit, flat_s, flat_h, bounds, kw = [], [], [], np.zeros(1, dtype=np.int64), np.zeros(0, dtype=bool)
    groups_hit = [flat_s[a:b] for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist())]
    if len(hit) == n:  # everything from the cache, in study order
        return SplitStudies(groups_hit, flat_s, flat_h, bounds, kw, 0)
    per_sentences: list[list[str] | None] = [None] * n
    per_hashes: list[list[str] | None] = [None] * n
    flags = np.zeros(n, dtype=bool)
    for j, i in enumerate(hit):
        per_sentences[i] = groups_hit[j]
        per_hashes[i] = flat_h[bounds[j] : bounds[j + 1]]
    flags[hit] = kw
    new: dict[str, tuple[list[str], list[str], bool]] = {}
    n_split = 0
    for i in range(n):
        if per_sentences[i] is not None:
            continue
        sents = study_sentences(titles[i], abstracts[i], keywords[i])
        hashes = [sentence_key(s) for s in sents]
        flag = keyword_line_flag(sents, keywords[i])
        per_sentences[i], per_hashes[i], flags[i] = sents, hashes, flag
        n_split += 1
        if skeys[i] is not None:
            new.setdefault(skeys[i], (sents, hashes, flag))  # type: ignore[arg-type]
    if folder is not None and new:
        _store(folder, list(new), [v[0] for v in new.values()], [v[1] for v in new.values()],
               [v[2] for v in new.values()])
    groups: list[list[str]] = per_sentences  # type: ignore[assignment]  # every row filled above
    offsets = np.zeros(n + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(g) for g in groups])
    flat = [s for g in groups for s in g]
    keys = [h for g in per_hashes for h in g]  # type: ignore[union-attr]
    return SplitStudies(groups, flat, keys, offsets, flags, n_split)
