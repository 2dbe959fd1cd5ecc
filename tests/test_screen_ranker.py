"""Ranker weighting and ensembles: class weights, the "double" balance, rank combination."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from evreview.errors import ConfigError
from evreview.screen.features import FeatureConfig, build_matrix
from evreview.screen.ranker import Learner, ModelConfig, class_weights, combine
from evreview.screen.simulate import load_labelled, replay


@pytest.fixture()
def labelled(fixtures_dir):
    return load_labelled(str(fixtures_dir / "screen" / "labelled.csv"), "included")


@pytest.mark.parametrize("n_pos,n_neg", [(1, 1), (1, 99), (7, 400), (50, 1950)])
def test_ratio_weights_give_the_relevant_class_ratio_times_the_weight_with_mean_one(n_pos, n_neg):
    w_pos, w_neg = class_weights(n_pos, n_neg, ModelConfig(relevant_weight=9.8))
    assert (w_pos * n_pos) / (w_neg * n_neg) == pytest.approx(9.8)
    assert (w_pos * n_pos + w_neg * n_neg) / (n_pos + n_neg) == pytest.approx(1.0)


def test_ratio_weights_match_asreview_balanced_sample_weights():
    """ASReview 3 'balanced': weight 1 for relevant, n_pos/(ratio*n_neg) for irrelevant, rescaled to mean 1."""
    y = np.array([1] * 3 + [0] * 40)
    ref = np.where(y == 1, 1.0, 3 / (9.8 * 40))
    ref = ref * len(y) / ref.sum()
    w_pos, w_neg = class_weights(3, 40, ModelConfig(relevant_weight=9.8))
    np.testing.assert_allclose(np.where(y == 1, w_pos, w_neg), ref)


def test_double_balance_tilts_less_as_relevant_records_accumulate():
    """ASReview 0.x 'double': relevant share of the training weight falls as n_pos/n_neg rises."""
    cfg = ModelConfig(balance="double")
    shares = []
    for n_pos, n_neg in [(1, 50), (5, 50), (25, 50)]:
        w_pos, w_neg = class_weights(n_pos, n_neg, cfg)
        assert (w_pos * n_pos + w_neg * n_neg) / (n_pos + n_neg) == pytest.approx(1.0)
        assert w_pos > w_neg
        shares.append(w_pos * n_pos / (w_pos * n_pos + w_neg * n_neg))
    # oversampled at first, but the per-record relevant weight shrinks with (n_pos/n_neg)**-0.94
    per_record = [class_weights(p, 50, cfg)[0] / class_weights(p, 50, cfg)[1] for p in (1, 5, 25)]
    assert per_record[0] > per_record[1] > per_record[2]
    assert all(0.5 < s < 1 for s in shares)


def test_balance_none_and_old_boolean_spelling():
    assert class_weights(3, 40, ModelConfig(balance="none")) == (1.0, 1.0)
    assert ModelConfig.from_mapping({"balance": False}).balance == "none"
    assert ModelConfig.from_mapping({"balance": True}).balance == "ratio"
    with pytest.raises(ConfigError, match="balance"):
        ModelConfig.from_mapping({"balance": "triple"})
    with pytest.raises(ConfigError, match="combine"):
        ModelConfig.from_mapping({"combine": "vote"})


def test_rank_combination_ignores_score_scale():
    a = np.array([0.1, 0.5, 0.3, 0.9])
    b = np.array([300.0, -2.0, 5.0, 10.0])
    # scaling one model's scores by 1000 changes a z-score sum's inputs but not ranks
    np.testing.assert_array_equal(combine([a, b], "rank"), combine([a * 1000, b], "rank"))
    r = combine([a, b], "rank")
    assert r.max() == pytest.approx(r[3]) and r.min() == pytest.approx(r[1])
    assert r.max() <= 2.0 and r.min() >= 0.0


@pytest.mark.parametrize(
    "cfg",
    [
        {"model": "svm", "balance": "double", "C": 0.11},
        {"model": "nb+svm", "combine": "rank", "relevant_weight": 9.8, "C": 0.11},
        {},  # the default: SVM + NB x0.5, z-scores
    ],
)
def test_new_options_replay_deterministically_and_beat_random(labelled, cfg):
    X = build_matrix(labelled["title"], labelled["abstract"], None, FeatureConfig(max_df=0.95))
    y = labelled["label"].to_numpy()
    a = replay(X, y, 5, ModelConfig.from_mapping(cfg))
    b = replay(X, y, 5, ModelConfig.from_mapping(cfg))
    assert a.order == b.order
    assert len(a.ranks) == int(y.sum()) - 1
    assert a.figures["wss95"] > 50


def test_learner_scores_are_bit_identical_across_instances(labelled):
    X = build_matrix(labelled["title"], labelled["abstract"])
    y = labelled["label"].to_numpy()
    cfg = ModelConfig()
    first, second = Learner(X, cfg), Learner(X, cfg)
    for i in range(12):
        first.add(i, int(y[i]))
        second.add(i, int(y[i]))
    assert np.array_equal(first.scores(), second.scores())


def test_nb_weight_zero_leaves_the_svm_order_and_weights_scale_each_model():
    a = np.array([0.1, 0.5, 0.3, 0.9])
    b = np.array([300.0, -2.0, 5.0, 10.0])
    only_b = combine([a, b], "zscore", (0.0, 1.0))
    assert np.array_equal(np.argsort(only_b), np.argsort(b))
    # a weighted rank sum stays within [0, sum of weights]
    r = combine([a, b], "rank", (0.4, 1.0))
    assert r.max() <= 1.4 + 1e-12 and r.min() >= 0.0


def test_char_ngrams_link_records_that_share_no_whole_word():
    titles = ["ace inhibitors in hypertension", "inhibitor of angiotensin", "weather patterns in spring"]
    words = build_matrix(titles, [""] * 3)
    chars = build_matrix(titles, [""] * 3, None, FeatureConfig(char_ngram_max=5))
    assert chars.shape[1] > words.shape[1]
    np.testing.assert_allclose(np.asarray(chars.multiply(chars).sum(axis=1)).ravel(), 1.0)
    # "inhibitors" / "inhibitor": no word or bigram in common, but many character n-grams
    assert (words[0] @ words[1].T).toarray()[0, 0] == 0.0
    assert (chars[0] @ chars[1].T).toarray()[0, 0] > (chars[0] @ chars[2].T).toarray()[0, 0]


def _noisy_set(n: int = 240, n_rel: int = 24, seed: int = 0) -> tuple[list[str], list[str], np.ndarray]:
    """A labelled set where ranking is far from trivial: shared vocabulary, weak topic words, empty records."""
    rng = np.random.default_rng(seed)
    common = [f"w{i}" for i in range(400)]
    topic = [f"t{i}" for i in range(12)]
    titles, abstracts, labels = [], [], []
    for i in range(n):
        rel = i % (n // n_rel) == 0
        words = list(rng.choice(common, size=int(rng.integers(5, 40))))
        if rel or rng.random() < 0.1:
            words += list(rng.choice(topic, size=int(rng.integers(1, 4))))
        if i % 37 == 5:
            words = []
        titles.append(" ".join(words[:6]))
        abstracts.append(" ".join(words[6:]))
        labels.append(int(rel))
    return titles, abstracts, np.asarray(labels)


def test_direct_liblinear_fit_is_linearsvc_bit_for_bit():
    """The SVM is fitted through liblinear directly; it must be exactly LinearSVC's fit (same arguments)."""
    from sklearn.svm import LinearSVC

    from evreview.screen.ranker import _liblinear_svm, _weights

    titles, abstracts, y = _noisy_set()
    X = build_matrix(titles, abstracts)
    for rows, C in ((slice(0, 40), 0.75), (slice(0, 240), 0.11)):
        Xs, ys = X[rows], y[rows]
        w = _weights(ys, ModelConfig(relevant_weight=9.8))
        coef, b = _liblinear_svm(Xs, ys, w, C)
        ref = LinearSVC(C=C, max_iter=5000, dual=True, random_state=0).fit(Xs, ys, sample_weight=w)
        assert np.array_equal(coef, ref.coef_.ravel()) and b == float(ref.intercept_[0])


def _nb_full_formula(learner: Learner) -> tuple[np.ndarray, float]:
    """The NB coefficients as they were computed before (log over every feature, always clipped)."""
    cfg = replace(learner.active_config(), model="nb")
    n_pos, n_neg = learner._counts[1], learner._counts[0]
    w_pos, w_neg = class_weights(n_pos, n_neg, cfg)
    pos = np.clip(learner._sums[1], 0, None) * w_pos + cfg.alpha
    neg = np.clip(learner._sums[0], 0, None) * w_neg + cfg.alpha
    return np.log(pos / pos.sum()) - np.log(neg / neg.sum()), float(np.log(w_pos * n_pos) - np.log(w_neg * n_neg))


def test_nb_logs_of_present_features_only_equal_the_full_computation_bit_for_bit():
    titles, abstracts, y = _noisy_set()
    X = build_matrix(titles, abstracts)
    learner = Learner(X, ModelConfig(model="nb"))
    for i in range(0, 120, 3):
        learner.add(i, int(y[i]))
        if learner.ready:
            coef, b = learner.coefficients()
            ref, ref_b = _nb_full_formula(learner)
            assert np.array_equal(coef, ref) and b == ref_b
    # withdrawn decisions leave a superset of present features and float round-off: still exact
    for i in (0, 3, 30, 60):
        learner.remove(i)
    learner.add(3, 1 - int(y[3]))
    coef, b = learner.coefficients()
    ref, ref_b = _nb_full_formula(learner)
    assert np.array_equal(coef, ref) and b == ref_b


def test_ensemble_scores_unchanged_by_the_fast_paths():
    """nb+svm scores = the z-score sum of separately fitted NB (full formula) and LinearSVC, bit for bit."""
    from sklearn.svm import LinearSVC

    from evreview.screen.ranker import _weights, score

    titles, abstracts, y = _noisy_set()
    X = build_matrix(titles, abstracts)
    cfg = ModelConfig(empty="model")
    learner = Learner(X, cfg)
    idx = list(range(0, 200, 2))
    for i in idx:
        learner.add(i, int(y[i]))
    ys = y[idx]
    svm = LinearSVC(C=cfg.C, max_iter=5000, dual=True, random_state=0).fit(X[idx], ys, sample_weight=_weights(ys, cfg))
    parts = [score(X, *_nb_full_formula(learner)), score(X, svm.coef_.ravel(), float(svm.intercept_[0]))]
    assert np.array_equal(learner.scores(), combine(parts, "zscore", (cfg.nb_weight, 1.0)))


def test_empty_records_rank_as_an_average_record_only_when_asked():
    titles, abstracts, y = _noisy_set()
    X = build_matrix(titles, abstracts)
    empty = np.diff(X.indptr) == 0
    assert empty.sum() == 7
    plain, centred = Learner(X, ModelConfig(empty="model")), Learner(X, ModelConfig(empty="mean"))
    for i in range(0, 100, 2):
        plain.add(i, int(y[i]))
        centred.add(i, int(y[i]))
    a, b = plain.scores(), centred.scores()
    assert np.array_equal(a[~empty], b[~empty])  # records with text keep their scores
    assert np.allclose(b[empty], a[~empty].mean()) and len(set(b[empty].tolist())) == 1
    typical = Learner(X, ModelConfig(empty="median"))
    for i in range(0, 100, 2):
        typical.add(i, int(y[i]))
    c = typical.scores()
    assert np.array_equal(c[~empty], a[~empty]) and np.all(c[empty] == np.median(a[~empty]))
    with pytest.raises(ConfigError, match="empty"):
        ModelConfig.from_mapping({"empty": "last"})


def test_early_phase_uses_its_own_c_and_weight_until_the_share_is_decided():
    cfg = ModelConfig(early_share=0.2, early_C=0.11, early_relevant_weight=9.8)
    early = cfg.in_force(19, 100)
    assert (early.C, early.relevant_weight, early.early_share) == (0.11, 9.8, 0.0)
    assert (early.model, early.nb_weight, early.alpha) == (cfg.model, cfg.nb_weight, cfg.alpha)
    assert cfg.in_force(20, 100) is cfg and cfg.in_force(500, 100) is cfg
    off = ModelConfig(early_share=0.0)
    assert off.in_force(0, 100) is off
    # counted in whole records, whatever the floating-point product: 0.07 * 100 is 7.000000000000001
    # and 0.7 * 90 is 62.99999999999999, but 7 and 63 decided records end the early phase
    for share, n, cut in ((0.7, 90, 63), (0.07, 100, 7), (0.57, 100, 57), (0.2, 11, 3)):
        cfg = ModelConfig(early_share=share)
        assert cfg.in_force(cut - 1, n) is not cfg and cfg.in_force(cut, n) is cfg


def test_early_phase_scores_are_the_early_settings_scores_bit_for_bit():
    """Below the share the ranker is exactly a model with C/relevant_weight = the early ones; above, the plain one."""
    titles, abstracts, y = _noisy_set()
    X = build_matrix(titles, abstracts)
    n = X.shape[0]
    cfg = ModelConfig(early_share=0.3)
    as_early = ModelConfig(C=cfg.early_C, relevant_weight=cfg.early_relevant_weight, early_share=0.0)
    as_late = replace(cfg, early_share=0.0)
    phased, early, late = Learner(X, cfg), Learner(X, as_early), Learner(X, as_late)
    decided = 0
    for i in range(0, n, 2):
        for learner in (phased, early, late):
            learner.add(i, int(y[i]))
        decided += 1
        if not phased.ready or decided % 10:
            continue
        want, want_c = (early, cfg.early_C) if decided < 0.3 * n else (late, cfg.C)
        assert np.array_equal(phased.scores(), want.scores())
        assert np.isclose(phased.active_config().C, want_c)
    assert decided >= 0.3 * n  # both phases were checked


def test_early_phase_options_are_validated_and_recorded():
    cfg = ModelConfig.from_mapping({"early_share": 0.1, "early_C": 0.2, "early_relevant_weight": 5})
    assert cfg.describe()["early_share"] == 0.1 and cfg.describe()["early_C"] == 0.2
    for bad in ({"early_share": 1.5}, {"early_share": -0.1}, {"early_C": 0}, {"early_relevant_weight": -1}):
        with pytest.raises(ConfigError, match="early"):
            ModelConfig.from_mapping(bad)


def test_config_schema_checks_the_early_phase_keys():
    from evreview.config import validate_config

    base = {"review": {"title": "t"}, "paths": {}}
    ok = validate_config({**base, "screening": {"model": {"early_share": 0.3, "early_C": 0.2}}})
    assert ok["screening"]["model"]["early_share"] == 0.3
    for bad in ({"early_share": 2}, {"early_C": 0}, {"early_relevant_weight": "x"}):
        with pytest.raises(ConfigError, match="early"):
            validate_config({**base, "screening": {"model": bad}})
