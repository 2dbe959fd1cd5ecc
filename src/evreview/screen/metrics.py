"""Screening-prioritisation metrics (WSS@95, RRF@10, ATD), in percent.

Convention (benchmarks/screening/README, as in Ferdinands et al. 2023): the prior records
are excluded; ``N`` = records left to screen, ``R`` = relevant records among them, and a
record's rank is its 1-based position in the screening order.

* WSS@95 = (N - n95) / N - 0.05, where n95 = records screened until ceil(0.95 R) are found.
* RRF@10 = share of R found within the first floor(0.1 N) records.
* ATD = mean over relevant records of rank / N.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def relevant_ranks(order_labels: Sequence[int]) -> np.ndarray:
    """1-based positions of the relevant (label 1) records in a screening order."""
    arr = np.asarray(order_labels, dtype=np.int64)
    return np.flatnonzero(arr == 1) + 1


def wss(ranks: np.ndarray, n_total: int, recall: float = 0.95) -> float:
    """Work saved over sampling at ``recall``, in percent (``ranks`` from :func:`relevant_ranks`)."""
    r = len(ranks)
    if r == 0 or n_total == 0:
        return float("nan")
    need = math.ceil(round(recall * r, 9))
    n_at = int(np.sort(ranks)[need - 1])
    return 100.0 * ((n_total - n_at) / n_total - (1.0 - recall))


def rrf(ranks: np.ndarray, n_total: int, share: float = 0.10) -> float:
    """Relevant records found after screening ``share`` of the records, in percent."""
    r = len(ranks)
    if r == 0:
        return float("nan")
    cutoff = math.floor(round(share * n_total, 9))
    return 100.0 * float(np.sum(ranks <= cutoff)) / r


def atd(ranks: np.ndarray, n_total: int) -> float:
    """Average time to discovery: mean rank of the relevant records over N, in percent."""
    if len(ranks) == 0 or n_total == 0:
        return float("nan")
    return 100.0 * float(np.mean(ranks)) / n_total


def summarise(ranks: np.ndarray, n_total: int) -> dict[str, float]:
    """The three benchmark figures for one simulated run."""
    return {"wss95": wss(ranks, n_total), "rrf10": rrf(ranks, n_total), "atd": atd(ranks, n_total)}
