"""The prioritisation model: linear classifiers over fixed TF-IDF features.

The default sums a linear SVM's and a naive Bayes model's standardised scores; a weighted sum
of linear scores is itself linear, so everything below holds for the ensemble too.

Only the classifier is refitted after a decision; the features never change (see
:mod:`evreview.screen.features`). Every model is linear, so scoring N records is one sparse
product and fitting touches only the labelled rows: retraining stays cheap at 50,000 records.

Relevant records are rare (1-15 %), so the classes are balanced with sample weights (see
:func:`class_weights`: a fixed relevant/irrelevant ratio as in ASReview 2-3, or the expected
shares of ASReview 0.x's "double" balancer). Weights rather than ASReview-style resampling keep
the fit deterministic without a random draw per step. Weights are scaled to mean 1 so ``C``
means the same whatever the ratio (the old unscaled default C=0.5 with ratio 2 is C=0.75 now).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from evreview.errors import ConfigError

MODELS = ("nb", "logreg", "svm", "nb+svm")
BALANCES = ("ratio", "double", "none")
COMBINES = ("zscore", "rank")


@dataclass(frozen=True)
class ModelConfig:
    """Classifier choice and its parameters (recorded as evidence with every machine score).

    Default (issue #5): ``nb+svm``, a linear SVM (squared hinge, C=0.75 on mean-1 weights,
    relevant class x2 the irrelevant one) plus multinomial NB at half weight, summed as
    z-scores over TF-IDF 1-2-grams (sublinear tf). Why: the SVM margin ranks the typical
    relevant records well, but the last few (what WSS@95 measures) are often atypical ones
    that NB's word-level evidence surfaces sooner; NB alone is strong on the drug-class
    reviews and weak on nudging, and at half weight it adds its strength without its
    weakness. Tuned on seeds 11-14 (never the reported 1-5), WSS@95/RRF@10 on ace, nudging,
    virus: this default 78.5/85.0, 73.4/64.4, 71.7/74.8; SVM alone 76.0/83.1, 72.0/64.4,
    69.3/75.2; ASReview's elas_u4 setting (``relevant_weight=9.8, C=0.11,
    features.max_df=0.95``) 76.9/83.8, 69.8/64.6, 70.3/75.2, and with NB x0.5 79.1/83.1,
    71.0/65.9, 70.0/76.8; a rank average (NB x0.4) 78.5/83.1, 72.5/63.6, 68.8/76.5. NB's
    incremental sums keep the ensemble nearly as fast as the SVM alone. Reported seeds 1-5
    for every dataset: benchmarks/screening_benchmark.py's docstring.
    """

    model: str = "nb+svm"
    balance: str = "ratio"
    relevant_weight: float = 2.0
    C: float = 0.75
    alpha: float = 3.822
    combine: str = "zscore"
    nb_weight: float = 0.5

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any] | None) -> ModelConfig:
        """Build from config, rejecting unknown keys and models."""
        cfg = dict(cfg or {})
        unknown = sorted(set(cfg) - set(cls.__dataclass_fields__))
        if unknown:
            raise ConfigError(f"unknown screening model option(s): {', '.join(unknown)}")
        out = cls(**cfg)
        if out.model not in MODELS:
            raise ConfigError(f"screening model must be one of {', '.join(MODELS)}, not {out.model!r}")
        return out

    def __post_init__(self) -> None:
        """Accept the older boolean ``balance`` (True = "ratio", False = "none") and check the name."""
        if isinstance(self.balance, bool):
            object.__setattr__(self, "balance", "ratio" if self.balance else "none")
        if self.balance not in BALANCES:
            raise ConfigError(f"screening balance must be one of {', '.join(BALANCES)}, not {self.balance!r}")
        if self.combine not in COMBINES:
            raise ConfigError(f"screening combine must be one of {', '.join(COMBINES)}, not {self.combine!r}")

    def describe(self) -> dict[str, Any]:
        """JSON-able parameters for the audit trail."""
        return asdict(self)


#: ASReview 0.x "double" balance constants (a, alpha, b, beta): the relevant weight shrinks
#: as relevant records accumulate, the irrelevant weight grows with the number screened.
DOUBLE = (2.155, 0.94, 0.789, 1.0)


def class_weights(n_pos: int, n_neg: int, config: ModelConfig) -> tuple[float, float]:
    """(relevant, irrelevant) per-sample weights, scaled so the mean weight is 1.

    ``balance="ratio"`` (ASReview 2-3's "balanced" sample weights): the relevant class in total
    weighs ``relevant_weight`` times the irrelevant class. ``balance="double"``: the expected
    class shares of ASReview 0.x's "double" balancer (which oversamples relevant records with
    weight ``a * (n_pos/n_neg)**-alpha`` and irrelevant ones with ``1 - (1-b)(1+ln n)**-beta``)
    as deterministic weights, i.e. without its random draw. ``balance="none"``: all 1.
    Scaling to mean 1 keeps ``C`` meaning the same whatever the ratio (as in ASReview).
    """
    n = n_pos + n_neg
    if config.balance == "none" or n_pos == 0 or n_neg == 0:
        return 1.0, 1.0
    if config.balance == "double":
        a, alpha, b, beta = DOUBLE
        w_pos = a * (n_pos / n_neg) ** (-alpha)
        w_neg = 1.0 - (1.0 - b) * (1.0 + math.log(n)) ** (-beta)
    else:
        w_pos, w_neg = config.relevant_weight / n_pos, 1.0 / n_neg
    scale = n / (w_pos * n_pos + w_neg * n_neg)
    return w_pos * scale, w_neg * scale


def _weights(y: np.ndarray, config: ModelConfig) -> np.ndarray:
    """Per-sample weights from :func:`class_weights`."""
    pos = int(y.sum())
    w_pos, w_neg = class_weights(pos, len(y) - pos, config)
    return np.where(y == 1, w_pos, w_neg)


def fit_scorer(X: sp.csr_matrix, y: np.ndarray, config: ModelConfig) -> tuple[np.ndarray, float]:
    """Fit on labelled rows; return a linear scorer ``(coef, intercept)`` with score = X @ coef + b.

    Returning plain arrays (not the estimator) keeps scoring a single sparse product and
    makes the fitted state trivially comparable in determinism tests.
    """
    y = np.asarray(y, dtype=np.int64)
    if len(np.unique(y)) < 2:
        raise ValueError("the ranker needs at least one relevant and one irrelevant decision")
    w = _weights(y, config)
    if config.model == "nb":
        # Multinomial NB with Laplace/Lidstone smoothing written out: the log-odds of each
        # feature is the linear coefficient. Same result as sklearn's MultinomialNB, no overhead.
        pos = np.asarray(X.T @ (w * (y == 1)), dtype=np.float64).ravel() + config.alpha
        neg = np.asarray(X.T @ (w * (y == 0)), dtype=np.float64).ravel() + config.alpha
        coef = np.log(pos / pos.sum()) - np.log(neg / neg.sum())
        prior = np.log(w[y == 1].sum()) - np.log(w[y == 0].sum())
        return coef, float(prior)
    if config.model == "logreg":
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(C=config.C, solver="liblinear", max_iter=1000)
    else:
        from sklearn.svm import LinearSVC

        clf = LinearSVC(C=config.C, max_iter=5000, dual=True, random_state=0)
    clf.fit(X, y, sample_weight=w)
    return np.asarray(clf.coef_, dtype=np.float64).ravel(), float(np.ravel(clf.intercept_)[0])


def score(X: sp.csr_matrix, coef: np.ndarray, intercept: float) -> np.ndarray:
    """Relevance score of every row (higher = screen sooner)."""
    return np.asarray(X @ coef, dtype=np.float64).ravel() + intercept


def rank_order(scores: np.ndarray, keys: np.ndarray | None = None) -> np.ndarray:
    """Indices by descending score; ties broken by position (or ``keys``) so order is total."""
    idx = np.arange(len(scores))
    tie = idx if keys is None else np.argsort(np.argsort(keys, kind="stable"), kind="stable")
    return np.lexsort((tie, -scores))


class Learner:
    """The classifier state over a fixed matrix, updated one decision at a time.

    For naive Bayes the per-class feature sums are kept and updated with each decision's row,
    so a refit costs O(features) and a re-rank one sparse product: this is what keeps the
    interactive session and the replays fast. Other models refit on the labelled rows.
    Decisions can be withdrawn (``remove``), which the session's undo needs.
    """

    def __init__(self, X: sp.csr_matrix, config: ModelConfig) -> None:
        self.X = X
        self.config = config
        self.labels: dict[int, int] = {}
        n_features = X.shape[1]
        self._sums = {0: np.zeros(n_features), 1: np.zeros(n_features)}
        self._counts = {0: 0, 1: 0}

    def _row(self, i: int) -> np.ndarray:
        start, end = self.X.indptr[i], self.X.indptr[i + 1]
        return self.X.indices[start:end], self.X.data[start:end]

    def add(self, i: int, label: int) -> None:
        """Record decision ``label`` (1 relevant, 0 not) for row ``i`` (replacing an earlier one)."""
        if i in self.labels:
            self.remove(i)
        label = int(label)
        self.labels[i] = label
        cols, vals = self._row(i)
        self._sums[label][cols] += vals
        self._counts[label] += 1

    def remove(self, i: int) -> None:
        """Withdraw the decision for row ``i`` (no-op when there is none)."""
        label = self.labels.pop(i, None)
        if label is None:
            return
        cols, vals = self._row(i)
        self._sums[label][cols] -= vals
        self._counts[label] -= 1

    @property
    def ready(self) -> bool:
        """A model needs at least one decision of each kind."""
        return self._counts[0] > 0 and self._counts[1] > 0

    def coefficients(self) -> tuple[np.ndarray, float]:
        """Fit (incrementally for NB) and return the linear scorer."""
        if not self.ready:
            raise ValueError("the ranker needs at least one relevant and one irrelevant decision")
        cfg = self.config
        if cfg.model == "nb":
            n_pos, n_neg = self._counts[1], self._counts[0]
            w_pos, w_neg = class_weights(n_pos, n_neg, cfg)
            # the sums can carry float round-off after add/remove; clip so logs stay defined
            pos = np.clip(self._sums[1], 0, None) * w_pos + cfg.alpha
            neg = np.clip(self._sums[0], 0, None) * w_neg + cfg.alpha
            coef = np.log(pos / pos.sum()) - np.log(neg / neg.sum())
            return coef, float(np.log(w_pos * n_pos) - np.log(w_neg * n_neg))
        idx = np.fromiter(sorted(self.labels), dtype=np.int64)
        y = np.asarray([self.labels[i] for i in idx.tolist()], dtype=np.int64)
        return fit_scorer(self.X[idx], y, cfg)

    def scores(self) -> np.ndarray:
        """Relevance score of every row under the current decisions.

        ``nb+svm`` sums the two models' standardised scores (NB weighted ``nb_weight``): NB on
        word evidence and the SVM's margin disagree most on the hard-to-find relevant records,
        and the sum finds them sooner than either alone on the development sets.
        """
        if self.config.model != "nb+svm":
            coef, b = self.coefficients()
            return score(self.X, coef, b)
        parts = []
        for name in ("nb", "svm"):
            sub = Learner.__new__(Learner)
            sub.__dict__.update(self.__dict__)
            sub.config = replace(self.config, model=name)
            parts.append(score(self.X, *sub.coefficients()))
        return combine(parts, self.config.combine, (self.config.nb_weight, 1.0))


def combine(parts: list[np.ndarray], how: str, weights: tuple[float, ...] | None = None) -> np.ndarray:
    """One score from several models' scores: weighted sum of z-scores or of rank fractions (0-1).

    Ranks ignore how spread out each model's scores are (NB log-odds span far more than SVM
    margins), so neither model dominates the ensemble by scale alone.
    """
    weights = weights or (1.0,) * len(parts)
    n = len(parts[0])
    out = np.zeros(n)
    for w, s in zip(weights, parts):
        if how == "rank":
            out += w * np.argsort(np.argsort(s, kind="stable"), kind="stable") / max(n - 1, 1)
        else:
            sd = float(s.std())
            out += w * ((s - s.mean()) / sd if sd > 0 else s - s.mean())
    return out
