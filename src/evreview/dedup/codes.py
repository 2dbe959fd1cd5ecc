"""Integer codes for values, and the records' processing order, without pandas.

The ``evreview dedup`` program ingests its exports, builds their keys, finds the candidate
pairs and scores them in a reader process of its own while its main process imports pandas
(:mod:`evreview.dedup.commands`); these are the pieces that process needs, used by the
pandas path too, so both number, order and pair records alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat
from typing import Any

import numpy as np


def factorize(values: Sequence[Any], *, sort: bool = False, missing: tuple[Any, ...] = (None,)) -> np.ndarray:
    """An integer code per value, the same exactly for equal values, numbered as
    ``pandas.factorize`` numbers them (by first appearance, or in sorted order with ``sort``);
    ``-1`` for the ``missing`` values (pandas': None).

    Plain Python (a dict, filled in C by ``dict.fromkeys``): blocking and scoring run without
    pandas in the ``evreview dedup`` program's reader process.
    """
    distinct = dict.fromkeys(values)
    for value in missing:
        distinct.pop(value, None)
    number = {value: code for code, value in enumerate(sorted(distinct) if sort else distinct)}
    return np.fromiter(map(number.get, values, repeat(-1)), dtype=np.int64, count=len(values))


def order_ranks(
    search: Sequence[str],
    files: Sequence[str],
    index: Sequence[int] | np.ndarray,
    record_ids: Sequence[str],
    round_order: Sequence[str] | None = None,
) -> np.ndarray:
    """:func:`evreview.dedup.merge.record_order` of the records' columns as plain sequences (no pandas)."""
    # every key as integer codes (strings compared once, when factorised sorted): lexsort over
    # object arrays compares Python strings at every step
    search_names = sorted(set(search))
    rounds = list(round_order) if round_order else search_names
    rank = {name: pos for pos, name in enumerate(rounds)}
    round_rank = np.fromiter((rank.get(name, len(rounds)) for name in search), dtype=np.int64, count=len(search))
    order = np.lexsort((factorize(record_ids, sort=True), np.asarray(index), factorize(files, sort=True), round_rank))
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(len(order))
    return ranks
