"""Blocking: which record pairs are worth comparing at all.

Comparing every pair is quadratic; duplicates almost always share at least one cheap key
(DOI, PMID, the start or the end of the title, its four longest words, first author + year +
first page, volume + first page + year, first author + volume + first page). Title keys are
read from the title spelt the American way (``title_compact``, ``title_words``): a title's British
and American spellings ("programme ... ageing ... modelling" / "program ... aging ... modeling")
differ in its start, its end and its longest words, so no title key paired them. Each pass
groups records on one key and pairs the members of each group. A group larger than
``max_block`` (a generic key such as a title start "the effect of the") is not paired
all-with-all: its members are sorted by their full title and each is paired with its
``window`` nearest neighbours, so cost stays linear and the audit says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from evreview.dedup.codes import factorize
from evreview.dedup.keys import title_words

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: The keys table (:func:`~evreview.dedup.keys.build_keys`), or the same columns as NumPy
#: arrays (:func:`~evreview.dedup.keys.key_columns`): blocking needs no pandas.
Keys = Any


@dataclass(frozen=True)
class BlockingPass:
    """One blocking key: a name (written to the audit) and how to compute it from the keys."""

    name: str
    key: Callable[[Keys], Sequence[Any]]


# The keys are built over Python lists: pandas string methods on object columns loop in Python
# as well, with a few hundred microseconds of overhead per call (most of a small run's blocking).


def _values(k: Keys, name: str) -> list[Any]:
    """Column ``name`` of a keys table or of key columns, as a list."""
    column = k[name]
    return column if isinstance(column, list) else column.tolist()


def _title_prefix(k: Keys, n: int = 24) -> list[str]:
    return [t[:n] if len(t) >= 12 else "" for t in _values(k, "title_compact")]


def _title_suffix(k: Keys, n: int = 24) -> list[str]:
    return [t[-n:] if len(t) >= 12 else "" for t in _values(k, "title_compact")]


def _title_words(k: Keys) -> list[str]:
    # build_keys computes it per record (cached per file between runs); computed here for other key tables
    if "title_words" in k:
        return _values(k, "title_words")
    titles = _values(k, "title_spelled" if "title_spelled" in k else "title_key")
    return [title_words(t) for t in titles]


#: Default largest group paired all-with-all, and neighbours paired in a larger one (see the module text).
MAX_BLOCK = 50
WINDOW = 10

_MISSING_PART = frozenset({"", "-1"})


def _join(k: Keys, *names: str) -> list[str]:
    """The columns' text ``|``-joined; ``""`` where the first is empty or another is empty or -1.

    ``map(str, ...)`` and a set's ``isdisjoint`` on each row's other parts run in C, where a
    ``str()`` call and a generator per row cost half of these keys' time.
    """
    columns = [list(map(str, _values(k, name))) for name in names]
    return [
        "" if values[0] == "" or not _MISSING_PART.isdisjoint(values[1:]) else "|".join(values)
        for values in zip(*columns)
    ]


DEFAULT_PASSES: tuple[BlockingPass, ...] = (
    BlockingPass("doi", lambda k: _values(k, "doi_key")),
    BlockingPass("pmid", lambda k: _values(k, "pmid_key")),
    BlockingPass("registration", lambda k: _values(k, "registration_key")),
    BlockingPass("title_prefix", _title_prefix),
    BlockingPass("title_suffix", _title_suffix),
    BlockingPass("title_words", _title_words),
    BlockingPass("author_year_page", lambda k: _join(k, "first_author", "year_key", "first_page")),
    BlockingPass("volume_page_year", lambda k: _join(k, "volume_key", "first_page", "year_key")),
    # the same article dated by its online-first year in one database and its issue year in another
    BlockingPass("author_volume_page", lambda k: _join(k, "first_author", "volume_key", "first_page")),
)


def pairs_within_groups(codes: np.ndarray, order_key: np.ndarray, max_block: int, window: int) -> np.ndarray:
    """All index pairs (i < j) sharing a group code (``-1`` = no key), as an (m, 2) array.

    Groups larger than ``max_block`` contribute only pairs of neighbours within ``window``
    in ``order_key`` order. Vectorised by group size, so a million records take seconds.
    """
    valid = np.flatnonzero(codes >= 0)
    if len(valid) == 0:
        return np.empty((0, 2), dtype=np.int64)
    order = valid[np.lexsort((order_key[valid], codes[valid]))]
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    chunks: list[np.ndarray] = []
    for size in np.unique(sizes):
        if size < 2:
            continue
        group_starts = starts[sizes == size]
        members = order[group_starts[:, None] + np.arange(size)[None, :]]  # (g, size)
        if size <= max_block:
            a, b = np.triu_indices(size, 1)
        else:
            a_list, b_list = [], []
            for off in range(1, min(window, size - 1) + 1):
                a_list.append(np.arange(size - off))
                b_list.append(np.arange(off, size))
            a, b = np.concatenate(a_list), np.concatenate(b_list)
        left, right = members[:, a].ravel(), members[:, b].ravel()
        chunks.append(np.stack([np.minimum(left, right), np.maximum(left, right)], axis=1))
    if not chunks:
        return np.empty((0, 2), dtype=np.int64)
    return np.concatenate(chunks).astype(np.int64)


def candidate_pairs(
    keys: pd.DataFrame,
    passes: Sequence[BlockingPass] = DEFAULT_PASSES,
    max_block: int = MAX_BLOCK,
    window: int = WINDOW,
) -> pd.DataFrame:
    """Unique candidate pairs (positions ``i < j`` into ``keys``) and the passes that found them.

    Returns columns ``i``, ``j`` and ``blocked_by`` (the pass names, ``+``-joined), sorted
    by (i, j) so the result does not depend on pass order.
    """
    return pairs_frame(candidate_pair_arrays(keys, passes, max_block, window))


def pairs_frame(found: Mapping[str, np.ndarray] | None) -> pd.DataFrame:
    """The candidate pairs table of :func:`candidate_pair_arrays`' columns."""
    import pandas as pd

    if found is None:
        return pd.DataFrame({"i": [], "j": [], "blocked_by": []})
    return pd.DataFrame({**found, "blocked_by": pd.Series(found["blocked_by"], dtype=object)})


def candidate_pair_arrays(
    keys: Keys,
    passes: Sequence[BlockingPass] = DEFAULT_PASSES,
    max_block: int = MAX_BLOCK,
    window: int = WINDOW,
) -> Mapping[str, np.ndarray] | None:
    """:func:`candidate_pairs`' columns as NumPy arrays (None without passes), from a keys
    table or from key columns (no pandas needed)."""
    n = len(_values(keys, "title_compact"))
    order_key = factorize(_values(keys, "title_compact"), sort=True)
    found: list[np.ndarray] = []
    masks: list[np.ndarray] = []
    for bit, blocking_pass in enumerate(passes):
        codes = factorize(blocking_pass.key(keys), missing=(None, ""))
        pairs = pairs_within_groups(codes, order_key, max_block, window)
        found.append(pairs[:, 0] * n + pairs[:, 1])
        masks.append(np.full(len(pairs), 1 << bit, dtype=np.int64))
    if not found:
        return None
    codes_all = np.concatenate(found)
    mask_all = np.concatenate(masks)
    order = np.argsort(codes_all, kind="stable")
    codes_all, mask_all = codes_all[order], mask_all[order]
    uniq, first = np.unique(codes_all, return_index=True)
    combined = np.bitwise_or.reduceat(mask_all, first) if len(first) else mask_all[:0]
    names = [p.name for p in passes]
    # one label per distinct combination of passes (a few dozen), spread by index
    masks_seen, which = np.unique(combined, return_inverse=True)
    labels = np.array(["+".join(name for bit, name in enumerate(names) if int(m) >> bit & 1) for m in masks_seen],
                      dtype=object)
    return {
        "i": (uniq // max(n, 1)).astype(np.int64),
        "j": (uniq % max(n, 1)).astype(np.int64),
        "blocked_by": labels[which.reshape(-1)],
    }
