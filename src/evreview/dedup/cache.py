"""What deduplication remembers between runs, so a new search round costs only its new records.

Two caches live in one folder (the workflow's ``results/dedup/cache``; never a declared
output, so Snakemake does not delete it before the job):

* **Matching keys per export file.** :func:`~evreview.dedup.keys.build_keys` is a function of
  each record's fields and, for the "issue is a record counter" test, of the other records of
  the *same file* only. So the keys of a file are cached under a digest of that file's key
  fields (in record order); an unchanged file is never normalised again, a new file is.
* **Field scores per pair.** :func:`~evreview.dedup.compare.compare_pairs` scores a pair from
  the two records' key rows alone. Each key row gets a 64-bit content hash; a pair's scores are
  stored under (hash of a, hash of b) in that orientation, so a cached score is reused only for
  exactly the same two key rows. Decisions, reviewer overrides and clustering are recomputed
  every run (they are cheap and depend on the whole set).

Either cache can be deleted at any time: results do not change, only the time taken. The file
names carry :data:`CACHE_VERSION`; bump it whenever keys or scores change meaning.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evreview.dedup.compare import SCORE_COLUMNS, compare_pairs
from evreview.dedup.keys import build_keys
from evreview.reporting import write_atomically

#: Part of every cache file name; a new version ignores (and replaces) older files.
CACHE_VERSION = "k5"
#: Record fields that :func:`build_keys` reads.
KEY_FIELDS = ("title", "authors", "year", "pages", "volume", "issue", "journal", "doc_type", "doi", "pmid",
              "source_file")
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


class DedupCache:
    """A cache folder; ``None`` as folder gives a cache that remembers nothing."""

    def __init__(self, folder: str | Path | None) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.stats = CacheStats()

    # -- keys ---------------------------------------------------------------------------------

    def keys(self, records: pd.DataFrame) -> pd.DataFrame:
        """``build_keys(records)``, reusing the keys of every file seen before."""
        if self.folder is None:
            self.stats.key_files_built = 1
            self.stats.records_keyed = len(records)
            return build_keys(records)
        files = (records["source_file"].astype(str).to_numpy() if "source_file" in records
                 else np.full(len(records), "", dtype=object))
        codes, names = pd.factorize(files)
        hashes = record_hashes(records)
        parts: dict[int, pd.DataFrame] = {}
        missing: list[tuple[int, str, np.ndarray]] = []
        in_use: set[str] = set()
        for code, name in enumerate(names):
            rows = np.flatnonzero(codes == code)
            digest = hashlib.sha1(str(name).encode() + b"\x00" + hashes[rows].tobytes()).hexdigest()[:20]
            in_use.add(f"keys-{CACHE_VERSION}-{digest}.pkl")
            cached = self._load_pickle(f"keys-{CACHE_VERSION}-{digest}.pkl")
            if isinstance(cached, pd.DataFrame) and len(cached) == len(rows):
                parts[code] = cached.set_axis(records.index[rows])
                self.stats.key_files_cached += 1
            else:
                missing.append((code, digest, rows))
        if missing:
            rows_all = np.concatenate([rows for _, _, rows in missing])
            built = build_keys(records.iloc[rows_all])
            self.stats.key_files_built += len(missing)
            self.stats.records_keyed += len(rows_all)
            start = 0
            for code, digest, rows in missing:
                part = built.iloc[start:start + len(rows)]
                start += len(rows)
                self._save_pickle(f"keys-{CACHE_VERSION}-{digest}.pkl", part.reset_index(drop=True))
                parts[code] = part
        self._forget("keys-", keep=in_use)
        keys = pd.concat([parts[c] for c in range(len(names))]) if len(names) else build_keys(records)
        return keys.loc[records.index]

    # -- pair scores --------------------------------------------------------------------------

    def compare(self, keys: pd.DataFrame, pairs: pd.DataFrame, workers: int = 1) -> pd.DataFrame:
        """``compare_pairs(keys, pairs)``, reusing the scores of every pair of unchanged key rows."""
        if self.folder is None or not len(pairs):
            self.stats.pairs_compared += len(pairs)
            return compare_pairs(keys, pairs, workers=workers)
        row_hash = key_row_hashes(keys)
        pair_hash = row_hash[pairs["i"].to_numpy()] * _MIX ^ row_hash[pairs["j"].to_numpy()]
        stored = self._load_scores()
        hit = np.zeros(len(pairs), dtype=bool)
        where = np.zeros(len(pairs), dtype=np.int64)
        if stored is not None and len(stored["pair_hash"]):
            # a hash table lookup: binary search of millions of random keys thrashed the CPU cache
            where = pd.Index(stored["pair_hash"]).get_indexer(pair_hash)
            hit = where >= 0
        new = np.flatnonzero(~hit)
        fresh = compare_pairs(keys, pairs.iloc[new].reset_index(drop=True), workers=workers)
        out = pairs.copy()
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
        self._save_scores(pair_hash, out)
        return out

    def _load_scores(self) -> dict[str, np.ndarray] | None:
        loaded = self._load_pickle(f"scores-{CACHE_VERSION}.pkl")
        if not isinstance(loaded, dict) or any(col not in loaded for col in ("pair_hash", *SCORE_COLUMNS)):
            return None
        return loaded

    def _save_scores(self, pair_hash: np.ndarray, scored: pd.DataFrame) -> None:
        # one row per distinct hash (identical key rows give identical scores), so lookups are unique
        _, order = np.unique(pair_hash, return_index=True)
        arrays = {"pair_hash": pair_hash[order]}
        for col in SCORE_COLUMNS:
            arrays[col] = scored[col].to_numpy()[order]
        # a pickle of plain arrays: same bytes for the same scores (np.savez stamps the time into its zip)
        name = f"scores-{CACHE_VERSION}.pkl"
        self._save_pickle(name, arrays)
        self._forget("scores-", keep={name})

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
