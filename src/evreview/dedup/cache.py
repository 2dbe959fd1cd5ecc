"""What deduplication remembers between runs, so a new search round costs only its new records.

Two caches live in one folder (the workflow's ``results/dedup/cache``; never a declared
output, so Snakemake does not delete it before the job):

* **Matching keys per export file.** :func:`~evreview.dedup.keys.build_keys` is a function of
  each record's fields and, for the "issue is a record counter" test, of the other records of
  the *same file* only. So the keys of a file are cached under a digest of that file's key
  fields (in record order); an unchanged file is never normalised again, a new file is.
* **Field scores per pair.** :func:`~evreview.dedup.compare.compare_pairs` scores a pair from
  the two records' key rows alone. Each key row gets a 64-bit content hash (kept with the file's
  keys, so unchanged files are not hashed again); a pair's scores are stored under (hash of a,
  hash of b) in that orientation, so a cached score is reused only for exactly the same two key
  rows. Scores are kept in segments: a run appends one segment with only the pairs it scored,
  rather than rewriting millions of unchanged ones, and the segments are compacted into one
  when stale entries (pairs no longer compared) would outnumber half the live ones or there are
  more than :data:`MAX_SEGMENTS`. Decisions, reviewer overrides and clustering are recomputed
  every run (they depend on the whole set).

Either cache can be deleted at any time: results do not change, only the time taken. The file
names carry :data:`CACHE_VERSION`; bump it whenever keys or scores change meaning.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evreview.dedup.compare import SCORE_COLUMNS, compare_pairs
from evreview.dedup.keys import build_keys
from evreview.reporting import write_atomically

#: Part of every cache file name; a new version ignores (and replaces) older files.
CACHE_VERSION = "k24"
#: More score segments than this are compacted into one.
MAX_SEGMENTS = 4
#: Record fields that :func:`build_keys` reads.
KEY_FIELDS = ("title", "authors", "year", "pages", "volume", "issue", "journal", "doc_type", "doi", "pmid",
              "source_file", "source_id", "source_database")
#: Multiplier that mixes two 64-bit row hashes into one ordered pair hash.
_MIX = np.uint64(0x9E3779B97F4A7C15)


@dataclass
class CacheStats:
    """What a run took from the cache and what it computed."""

    key_files_cached: int = 0
    key_files_built: int = 0
    records_keyed: int = 0
    pairs_cached: int = 0
    pairs_compared: int = 0
    segments_written: int = 0

    def summary(self) -> str:
        return (f"keys: {self.key_files_cached} file(s) from cache, {self.key_files_built} built "
                f"({self.records_keyed} records); pairs: {self.pairs_cached} from cache, "
                f"{self.pairs_compared} compared")


def _joined(value: object) -> object:
    """A list cell (authors) as one hashable string; other cells as they are."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return "\x1f".join(map(str, value))
    return value


def record_hashes(records: pd.DataFrame) -> np.ndarray:
    """64-bit hash per record of the fields :func:`build_keys` reads (absent fields hash as missing)."""
    cols = {}
    for name in KEY_FIELDS:
        if name not in records:
            cols[name] = pd.Series(None, index=records.index, dtype=object)
        elif records[name].dtype == object:
            cols[name] = pd.Series([_joined(v) for v in records[name].tolist()], index=records.index, dtype=object)
        else:
            cols[name] = records[name]
    return pd.util.hash_pandas_object(pd.DataFrame(cols), index=False).to_numpy()


def key_row_hashes(keys: pd.DataFrame) -> np.ndarray:
    """64-bit content hash of each key row (what :func:`compare_pairs` reads)."""
    return pd.util.hash_pandas_object(keys, index=False).to_numpy()


def _segment(pair_hash: np.ndarray, columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A score segment: one row per distinct pair hash, sorted by hash (identical key rows score alike)."""
    _, first = np.unique(pair_hash, return_index=True)
    return {"pair_hash": pair_hash[first], **{col: values[first] for col, values in columns.items()}}


def _concat_segments(segments: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray] | None:
    """All segments as one set of arrays (None when there are none)."""
    if not segments:
        return None
    if len(segments) == 1:
        return segments[0]
    return {col: np.concatenate([seg[col] for seg in segments]) for col in segments[0]}


class DedupCache:
    """A cache folder; ``None`` as folder gives a cache that remembers nothing."""

    def __init__(self, folder: str | Path | None) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.stats = CacheStats()
        # (keys frame, its row hashes) from the last keys() call, so compare() need not hash them again
        self._hashed: tuple[pd.DataFrame, np.ndarray] | None = None

    # -- keys ---------------------------------------------------------------------------------

    def keys(
        self, records: pd.DataFrame, build: Callable[[pd.DataFrame], pd.DataFrame] = build_keys
    ) -> pd.DataFrame:
        """``build(records)`` (:func:`build_keys` by default), reusing the keys of every file
        seen before: ``build`` is asked only for the records of files not in the cache."""
        if self.folder is None:
            self.stats.key_files_built = 1
            self.stats.records_keyed = len(records)
            return build(records)
        files = (records["source_file"].astype(str).to_numpy() if "source_file" in records
                 else np.full(len(records), "", dtype=object))
        codes, names = pd.factorize(files)
        hashes = record_hashes(records)
        parts: dict[int, pd.DataFrame] = {}
        part_hashes: dict[int, np.ndarray] = {}
        missing: list[tuple[int, str, np.ndarray]] = []
        in_use: set[str] = set()
        for code, name in enumerate(names):
            rows = np.flatnonzero(codes == code)
            digest = hashlib.sha1(str(name).encode() + b"\x00" + hashes[rows].tobytes()).hexdigest()[:20]
            in_use.add(f"keys-{CACHE_VERSION}-{digest}.pkl")
            cached = self._load_pickle(f"keys-{CACHE_VERSION}-{digest}.pkl")
            if (isinstance(cached, dict) and isinstance(cached.get("keys"), pd.DataFrame)
                    and len(cached["keys"]) == len(rows) and len(cached.get("row_hash", ())) == len(rows)):
                parts[code] = cached["keys"].set_axis(records.index[rows])
                part_hashes[code] = cached["row_hash"]
                self.stats.key_files_cached += 1
            else:
                missing.append((code, digest, rows))
        if missing:
            rows_all = np.concatenate([rows for _, _, rows in missing])
            built = build(records.iloc[rows_all])
            self.stats.key_files_built += len(missing)
            self.stats.records_keyed += len(rows_all)
            start = 0
            for code, digest, rows in missing:
                part = built.iloc[start:start + len(rows)]
                start += len(rows)
                part_hashes[code] = key_row_hashes(part)
                self._save_pickle(f"keys-{CACHE_VERSION}-{digest}.pkl",
                                  {"keys": part.reset_index(drop=True), "row_hash": part_hashes[code]})
                parts[code] = part
        self._forget("keys-", keep=in_use)
        if not len(names):
            return build(records)
        keys = pd.concat([parts[c] for c in range(len(names))])
        row_hash = np.concatenate([part_hashes[c] for c in range(len(names))])
        # back to the records' row order (parts are grouped by file)
        where = pd.Index(keys.index).get_indexer(records.index)
        keys, row_hash = keys.iloc[where], row_hash[where]
        self._hashed = (keys, row_hash)
        return keys

    def _row_hashes(self, keys: pd.DataFrame) -> np.ndarray:
        """Row hashes of ``keys``: those kept with the cached keys when ``keys`` is what :meth:`keys` gave."""
        if self._hashed is not None and self._hashed[0] is keys:
            return self._hashed[1]
        return key_row_hashes(keys)

    # -- pair scores --------------------------------------------------------------------------

    def compare(self, keys: pd.DataFrame, pairs: pd.DataFrame, workers: int = 1) -> pd.DataFrame:
        """``compare_pairs(keys, pairs)``, reusing the scores of every pair of unchanged key rows."""
        if self.folder is None or not len(pairs):
            self.stats.pairs_compared += len(pairs)
            return compare_pairs(keys, pairs, workers=workers)
        row_hash = self._row_hashes(keys)
        pair_hash = row_hash[pairs["i"].to_numpy()] * _MIX ^ row_hash[pairs["j"].to_numpy()]
        segments = self._load_segments()
        stored = _concat_segments(list(segments.values()))
        hit = np.zeros(len(pairs), dtype=bool)
        where = np.zeros(len(pairs), dtype=np.int64)
        overlap = False
        if stored is not None and len(stored["pair_hash"]):
            # a hash table lookup: binary search of millions of random keys thrashed the CPU cache
            index = pd.Index(stored["pair_hash"])
            overlap = not index.is_unique
            if overlap:
                # segments should be disjoint; a run stopped between writing a compacted segment
                # and deleting the ones it replaced leaves a hash twice. Keep one entry per hash
                # (the entries agree: the same key rows score alike) and compact below.
                stored = _segment(stored["pair_hash"], {c: stored[c] for c in SCORE_COLUMNS})
                index = pd.Index(stored["pair_hash"])
            where = index.get_indexer(pair_hash)
            hit = where >= 0
        new = np.flatnonzero(~hit)
        fresh = compare_pairs(keys, pairs.iloc[new].reset_index(drop=True), workers=workers)
        out = pairs.copy(deep=False)
        for col in SCORE_COLUMNS:
            dtype = fresh[col].dtype if len(new) or stored is None else stored[col].dtype
            values = np.empty(len(pairs), dtype=dtype)
            if len(new):
                values[new] = fresh[col].to_numpy()
            if stored is not None and hit.any():
                values[hit] = stored[col][where[hit]]
            out[col] = values
        self.stats.pairs_cached += int(hit.sum())
        self.stats.pairs_compared += len(new)
        used = np.zeros(0 if stored is None else len(stored["pair_hash"]), dtype=bool)
        used[where[hit]] = True  # a mask, not a sort of millions of positions
        live = np.flatnonzero(used)
        self._save_scores(segments, stored, live, pair_hash[new], fresh, compact=overlap)
        return out

    def _load_segments(self) -> dict[str, dict[str, np.ndarray]]:
        """Every readable score segment, by file name (sorted: the concatenation is deterministic)."""
        if self.folder is None or not self.folder.exists():
            return {}
        out = {}
        for path in sorted(self.folder.glob(f"scores-{CACHE_VERSION}-*.pkl")):
            loaded = self._load_pickle(path.name)
            if isinstance(loaded, dict) and all(col in loaded for col in ("pair_hash", *SCORE_COLUMNS)):
                out[path.name] = loaded
        return out

    def _save_scores(self, segments: dict[str, dict[str, np.ndarray]], stored: dict[str, np.ndarray] | None,
                     live: np.ndarray, new_hash: np.ndarray, fresh: pd.DataFrame, compact: bool = False) -> None:
        """Append a segment of the newly scored pairs, or compact everything still used into one.

        Hashes of stored entries never reappear among the new ones (a new pair is one the lookup
        missed), so segments stay disjoint and each lookup finds at most one entry.
        """
        n_stored = 0 if stored is None else len(stored["pair_hash"])
        stale = n_stored - len(live)
        new_part = _segment(new_hash, {col: fresh[col].to_numpy() for col in SCORE_COLUMNS})
        if compact or stale * 2 > len(live) + len(new_part["pair_hash"]) or len(segments) >= MAX_SEGMENTS:
            kept = [new_part]
            if stored is not None and len(live):
                kept.insert(0, {col: values[live] for col, values in stored.items()})
            merged = _concat_segments(kept)
            assert merged is not None
            whole = _segment(merged["pair_hash"], {c: merged[c] for c in SCORE_COLUMNS})
            keep = {self._write_segment(whole)} if len(whole["pair_hash"]) else set()
        else:
            keep = set(segments)
            if len(new_part["pair_hash"]):
                keep.add(self._write_segment(new_part))
        self._forget("scores-", keep=keep)

    def _write_segment(self, segment: dict[str, np.ndarray]) -> str:
        """Save one segment under a name made from its content (the same scores, the same file)."""
        digest = hashlib.sha1(segment["pair_hash"].tobytes()).hexdigest()[:20]
        name = f"scores-{CACHE_VERSION}-{digest}.pkl"
        # a pickle of plain arrays: same bytes for the same scores (np.savez stamps the time into its zip)
        self._save_pickle(name, segment)
        self.stats.segments_written += 1
        return name

    # -- files --------------------------------------------------------------------------------

    def _path(self, name: str) -> Path | None:
        return self.folder / name if self.folder is not None else None

    def _load_pickle(self, name: str) -> Any:
        path = self._path(name)
        if path is None or not path.exists():
            return None
        try:
            with path.open("rb") as fh:
                value = pickle.load(fh)  # our own cache folder, written by _save_pickle
        except Exception:  # a truncated or foreign file: rebuild, never fail on a cache
            return None
        return value

    def _save_pickle(self, name: str, value: object) -> None:
        path = self._path(name)
        assert path is not None
        write_atomically(path, lambda tmp: tmp.write_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)))

    def _forget(self, prefix: str, keep: set[str]) -> None:
        """Delete this cache's files of an older version or no longer used (the folder stays small)."""
        if self.folder is None or not self.folder.exists():
            return
        for path in self.folder.glob(f"{prefix}*"):
            if path.name not in keep and ".tmp" not in path.name:
                path.unlink(missing_ok=True)
