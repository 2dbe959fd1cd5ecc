"""When is it reasonably safe to stop screening? The hypergeometric stopping test.

Method: Callaghan & Müller-Hansen (2020), "Statistical stopping criteria for automated
screening in systematic reviews", Systematic Reviews 9:273. Treat the last ``n`` screened
records as a random sample drawn without replacement from an urn made of those ``n`` plus all
still-unseen records. Under the null hypothesis "recall so far is below the target
``τ``", the urn holds at least ``K = floor(r_seen/τ - r_before) + 1`` relevant records
(``r_before`` = relevant found before the sample). If finding only ``k`` relevant in the
sample is improbable under that null (hypergeometric p < ``1 - confidence``) for some ``n``,
the null is rejected and screening may stop.

Assumptions (shown to reviewers with every estimate):

* the recently screened records are no *more* likely to be relevant than the unseen ones,
  i.e. the ranking is at least as good as random at the tail (true for a model that ranks
  relevant records first; conservative, so the test stops late rather than early);
* decisions are correct (the screened labels are the truth);
* the candidate set is fixed (a new search round restarts the count).

The estimate of relevant records still unseen is given two ways, both from the sample the
test decides on (the ``n`` with the smallest p-value, ``sample_size``): a point estimate, the
sample's rate of relevant records projected onto the unseen ones, and the one-sided upper
confidence bound of the same hypergeometric model, so the estimate never exceeds its bound
(from a window of the last 50 decisions instead, the session showed "est. relevant unseen
142.11, upper bound 128"). Before the test can run (nothing relevant found yet, or fewer than
``min_screened`` decisions), the point estimate is the rate of the most recent window.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from evreview.errors import ConfigError
from evreview.screen.options import settings

METHOD = "hypergeometric stopping test (Callaghan & Mueller-Hansen 2020)"
ASSUMPTIONS = (
    "recently screened records are no more likely to be relevant than unseen ones "
    "(ranking no worse than random at the tail); screening decisions are correct; "
    "the candidate set is fixed"
)


@dataclass(frozen=True)
class StoppingConfig:
    """Recall target and confidence of the stopping test."""

    recall_target: float = 0.95
    confidence: float = 0.95
    min_screened: int = 10
    check_fraction: float = 0.01

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any] | None) -> StoppingConfig:
        """Build from config, validating the ranges."""
        out = settings(cls, cfg, "screening model 'stopping'")
        if not (0 < out.recall_target < 1 and 0 < out.confidence < 1):
            raise ConfigError("stopping recall_target and confidence must be between 0 and 1")
        return out


def _p_values(
    seen: np.ndarray, n_total: int, tau: float, run_ends_only: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """p-value of the null "recall < tau" for every sample size n = 1..len(seen) (last n records).

    ``run_ends_only``: only the sample sizes just before the next (older) relevant record and
    n = len(seen). While the sample's relevant count k stays the same, growing the sample by
    one irrelevant record also adds one irrelevant ball to the urn with the same K, which can
    only lower P(X <= k); so the smallest p-value is always at the end of such a run. This
    gives the same minimum from r_seen + 1 evaluations instead of len(seen) (the replays call
    the test hundreds of times; it was over half of a replay's time).
    """
    n_seen = len(seen)
    r_seen = int(seen.sum())
    n_vec = np.arange(1, n_seen + 1)
    k_vec = np.cumsum(seen[::-1])
    if run_ends_only:
        rev = seen[::-1]
        ends = np.flatnonzero(np.append(rev[1:] == 1, True))  # next older record relevant, or the oldest
        n_vec, k_vec = n_vec[ends], k_vec[ends]
    r_before = r_seen - k_vec
    urn = n_total - n_seen + n_vec
    k_null = np.floor(r_seen / tau - r_before + 1e-9).astype(np.int64) + 1
    k_null = np.minimum(k_null, urn)
    p = hypergeom_cdf(k_vec, urn, k_null, n_vec)
    return p, n_vec, k_vec


def hypergeom_cdf(k: np.ndarray, M: np.ndarray, n: np.ndarray, N: np.ndarray) -> np.ndarray:
    """``scipy.stats.hypergeom.cdf(k, M, n, N)`` for valid integer arguments, bit for bit, without its overhead.

    Why: the replays evaluate the stopping test hundreds of times per seed, and the generic
    ``rv_discrete`` machinery (argument parsing, broadcasting, support masks) cost ~30x the
    Boost CDF it finally calls. Same rule as scipy: 1 at or above the top of the support
    ``min(n, N)``, 0 below its bottom ``max(0, N - (M - n))``, else Boost's CDF clipped to
    [0, 1]. Arguments must satisfy ``0 <= n <= M`` and ``0 <= N <= M`` (a test compares with
    scipy.stats on a grid).
    """
    try:
        from scipy.special import _ufuncs

        boost_cdf = _ufuncs._hypergeom_cdf
    except (ImportError, AttributeError):  # pragma: no cover - a SciPy upgrade moved the private ufunc
        from scipy.stats import hypergeom

        return np.asarray(hypergeom.cdf(k, M, n, N), dtype=np.float64)
    k, M, n, N = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (k, M, n, N)))
    low, high = np.maximum(N - (M - n), 0), np.minimum(n, N)
    out = np.where(k >= high, 1.0, 0.0)
    inside = (k >= low) & (k < high)
    if inside.any():
        out[inside] = np.clip(boost_cdf(k[inside], n[inside], N[inside], M[inside]), 0, 1)
    return out


def _upper_missed(k: int, n: int, urn: int, alpha: float) -> int:
    """Largest number of relevant records still unseen that the sample (k of n) does not rule out."""
    unseen = urn - n
    cand = np.arange(k, k + unseen + 1)
    p = hypergeom_cdf(k, urn, cand, n)
    ok = np.flatnonzero(p >= alpha)
    return int(cand[ok[-1]] - k) if len(ok) else 0


def should_stop(seen_labels: Sequence[int] | np.ndarray, n_total: int, config: StoppingConfig | None = None) -> bool:
    """Only the decision of :func:`hypergeometric_test` (same answer), for replays.

    Skips the bounds and estimates and evaluates the p-value at run ends only (see
    :func:`_p_values`), so checking the rule hundreds of times in a replay stays cheap.
    """
    cfg = config or StoppingConfig()
    seen = np.asarray(seen_labels, dtype=np.int64)
    n_seen = len(seen)
    if n_total - n_seen <= 0:
        return True
    if int(seen.sum()) == 0 or n_seen < cfg.min_screened:
        return False
    p, _, _ = _p_values(seen, n_total, cfg.recall_target, run_ends_only=True)
    return bool(p.min() < 1.0 - cfg.confidence)


def hypergeometric_test(
    seen_labels: Sequence[int] | np.ndarray, n_total: int, config: StoppingConfig | None = None
) -> dict[str, Any]:
    """Run the test on the labels in screening order (1 relevant, 0 not) out of ``n_total`` records.

    Returns a JSON-able dict: ``stop`` (bool), ``p_value`` (smallest over sample sizes),
    ``sample_size`` (the n achieving it), counts, and the estimates of relevant records unseen.
    """
    cfg = config or StoppingConfig()
    seen = np.asarray(seen_labels, dtype=np.int64)
    n_seen = len(seen)
    r_seen = int(seen.sum())
    unseen = max(n_total - n_seen, 0)
    alpha = 1.0 - cfg.confidence
    out: dict[str, Any] = {
        "method": METHOD,
        "assumptions": ASSUMPTIONS,
        "parameters": asdict(cfg),
        "n_total": int(n_total),
        "n_screened": n_seen,
        "n_unseen": unseen,
        "relevant_found": r_seen,
        "stop": False,
        "p_value": 1.0,
        "sample_size": None,
    }
    window = min(n_seen, max(50, math.ceil(0.1 * n_seen)))
    recent = int(seen[n_seen - window :].sum()) if window else 0
    missed_hat = (recent / window) * unseen if window else float(unseen)
    out["estimated_relevant_unseen"] = round(missed_hat, 2)
    out["estimated_recall"] = round(r_seen / (r_seen + missed_hat), 4) if r_seen + missed_hat > 0 else None
    if unseen == 0:
        out.update(stop=True, p_value=0.0, upper_bound_relevant_unseen=0, recall_lower_bound=1.0)
        return out
    if r_seen == 0 or n_seen < cfg.min_screened:
        out.update(upper_bound_relevant_unseen=unseen, recall_lower_bound=0.0)
        return out
    p, n_vec, k_vec = _p_values(seen, n_total, cfg.recall_target)
    best = int(np.argmin(p))
    n_best, k_best = int(n_vec[best]), int(k_vec[best])
    upper = _upper_missed(k_best, n_best, unseen + n_best, alpha)
    missed_hat = k_best / n_best * unseen  # the maximum-likelihood count of the bound's own model
    out.update(
        estimated_relevant_unseen=round(missed_hat, 2),
        estimated_recall=round(r_seen / (r_seen + missed_hat), 4),
        stop=bool(p[best] < alpha),
        p_value=float(round(p[best], 6)),
        sample_size=n_best,
        upper_bound_relevant_unseen=upper,
        recall_lower_bound=round(r_seen / (r_seen + upper), 4),
    )
    return out
