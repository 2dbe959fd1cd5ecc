"""Screening metrics and the stopping test on hand-computed examples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evreview.screen import metrics
from evreview.screen.stopping import StoppingConfig, _p_values, hypergeometric_test, should_stop


def test_ranks_are_one_based_positions_of_relevant_records():
    assert metrics.relevant_ranks([1, 0, 1, 0, 0, 0, 0, 0, 0, 1]).tolist() == [1, 3, 10]


def test_wss_rrf_atd_on_a_perfect_ranking():
    # N = 20, R = 2 found first: n95 = ceil(1.9) = 2 -> WSS = 18/20 - 0.05 = 85 %
    ranks = metrics.relevant_ranks([1, 1] + [0] * 18)
    assert metrics.wss(ranks, 20) == pytest.approx(85.0)
    assert metrics.rrf(ranks, 20) == pytest.approx(100.0)  # cut-off floor(2) = 2 records
    assert metrics.atd(ranks, 20) == pytest.approx(7.5)  # mean(1, 2) / 20


def test_wss_uses_ceil_of_095_r_without_float_drift():
    # R = 20: 0.95 * 20 = 19 exactly (in floats 18.999...): n95 must be the 19th find (rank 19)
    ranks = np.arange(1, 21)
    assert metrics.wss(ranks, 100) == pytest.approx(100 * (81 / 100 - 0.05))
    assert metrics.rrf(ranks, 100) == pytest.approx(50.0)
    assert metrics.atd(ranks, 100) == pytest.approx(10.5)


def test_worst_case_last_relevant_at_the_end_gives_negative_wss():
    ranks = metrics.relevant_ranks([1, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    assert metrics.wss(ranks, 10) == pytest.approx(-5.0)
    assert metrics.rrf(ranks, 10) == pytest.approx(100 / 3)  # only rank 1 within floor(1.0) = 1
    assert metrics.atd(ranks, 10) == pytest.approx(100 * (14 / 3) / 10)


def test_metrics_undefined_without_relevant_records():
    assert math.isnan(metrics.wss(np.array([], dtype=int), 10))
    assert math.isnan(metrics.rrf(np.array([], dtype=int), 10))


def test_stopping_waits_while_relevant_records_keep_coming():
    seq = [1, 0] * 25  # half of the recent records relevant: clearly not done
    out = hypergeometric_test(seq, 1000)
    assert out["stop"] is False
    assert out["upper_bound_relevant_unseen"] > 0
    assert out["method"].startswith("hypergeometric")


def test_stopping_fires_after_a_long_run_of_irrelevant_records():
    # 100 found, then 500 irrelevant in a row, 400 unseen. Null "recall < 95 %" needs at least
    # K = floor(100/0.95 - 100) + 1 = 6 relevant among the 900 (sample + unseen); drawing 500
    # of them with none relevant has p = C(400, 6) / C(900, 6) ~= 0.0075 < 0.05.
    from scipy.stats import hypergeom

    seq = [1] * 100 + [0] * 500
    out = hypergeometric_test(seq, 1000)
    assert out["stop"] is True
    assert out["p_value"] == pytest.approx(hypergeom.cdf(0, 900, 6, 500), abs=1e-6)
    assert out["p_value"] == pytest.approx(0.0075, abs=5e-4)
    assert out["sample_size"] == 500
    assert out["recall_lower_bound"] >= 0.95


def test_stopping_is_conservative_with_few_relevant_records():
    # with 20 found the null allows just 2 missing: 400 misses in a row cannot reject it
    seq = [1] * 20 + [0] * 400
    assert hypergeometric_test(seq, 1000)["stop"] is False


def test_stopping_never_fires_on_a_short_run():
    seq = [1] * 20 + [0] * 10
    assert hypergeometric_test(seq, 1000)["stop"] is False


def test_stopping_null_is_stricter_with_a_higher_target():
    seq = [1] * 20 + [0] * 150
    p95 = hypergeometric_test(seq, 1000, StoppingConfig(recall_target=0.95))["p_value"]
    p99 = hypergeometric_test(seq, 1000, StoppingConfig(recall_target=0.99))["p_value"]
    assert p99 >= p95


@pytest.mark.parametrize("seed", range(12))
def test_fast_stop_decision_equals_the_full_test_and_its_minimum_p(seed):
    """The replay's run-ends-only check gives the full test's smallest p-value and decision."""
    rng = np.random.default_rng(seed)
    n_seen = int(rng.integers(20, 400))
    # a ranking that front-loads relevant records, with a tail of varying quality
    seq = (rng.random(n_seen) < np.linspace(0.6, 0.01 * (seed % 4), n_seen)).astype(int)
    n_total = n_seen + int(rng.integers(0, 600))
    for tau in (0.8, 0.95):
        full, _, _ = _p_values(seq, n_total, tau)
        fast, _, _ = _p_values(seq, n_total, tau, run_ends_only=True)
        if seq.sum():
            assert fast.min() == pytest.approx(full.min(), rel=1e-9, abs=1e-15)
        cfg = StoppingConfig(recall_target=tau)
        assert should_stop(seq, n_total, cfg) == hypergeometric_test(seq, n_total, cfg)["stop"]


def test_fast_stop_decision_on_the_hand_computed_cases():
    assert should_stop([1] * 100 + [0] * 500, 1000) is True
    assert should_stop([1] * 20 + [0] * 400, 1000) is False
    assert should_stop([0] * 50, 1000) is False  # nothing found yet: never stop
    assert should_stop([1, 0, 0], 3) is True  # nothing left unseen


@pytest.mark.parametrize("seed", range(20))
def test_the_estimate_of_relevant_unseen_never_exceeds_its_upper_bound(seed: int) -> None:
    """The point estimate came from the last 50 decisions and the bound from the test's own
    sample: ten relevant records then 40 irrelevant of 1,000 gave "190 unseen, at most 70"."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 400))
    labels = (rng.random(n) < np.linspace(0.6, 0.0, n)).astype(int)
    labels[0] = 1
    for seen in ([1] * 10 + [0] * 40, labels.tolist()):
        out = hypergeometric_test(seen, len(seen) + int(rng.integers(1, 2000)))
        assert out["estimated_relevant_unseen"] <= out["upper_bound_relevant_unseen"]
        assert out["estimated_recall"] >= out["recall_lower_bound"]
