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
from evreview.screen.options import settings

MODELS = ("nb", "logreg", "svm", "nb+svm")
BALANCES = ("ratio", "double", "none")
COMBINES = ("zscore", "rank")
EMPTIES = ("model", "mean", "median")


@dataclass(frozen=True)
class ModelConfig:
    """Classifier choice and its parameters (recorded as evidence with every machine score).

    Default (issue #5), after the early phase described below: ``nb+svm``, a linear SVM
    (squared hinge, C=0.75 on mean-1 weights, relevant class x2 the irrelevant one) plus
    multinomial NB at half weight, summed as z-scores over TF-IDF 1-2-grams (sublinear tf).
    Why: the SVM margin ranks the typical relevant records well, but the last few (what
    WSS@95 measures) are often atypical ones that NB's word-level evidence surfaces sooner;
    NB alone is strong on the drug-class reviews and weak on nudging, and at half weight it
    adds its strength without its weakness (ace, nudging, virus, WSS@95: 78.5, 73.4, 71.7
    against the SVM alone's 76.0, 72.0, 69.3). NB's incremental sums keep the ensemble
    nearly as fast as the SVM alone.

    ``empty``: where records with no text at all (no title, abstract or keywords: an all-zero
    row) are ranked. Such a record carries no evidence, so the linear models give it only
    their intercepts, and where that lands is an artefact of the intercepts and of the
    z-score centring (``"model"``: on Cohen ADHD the one relevant empty record came at 87 %
    of the screening order in every seed, which set WSS@95 to 8). ``"median"`` scores it as a
    typical record (the median score of the records with text), ``"mean"`` at the mean (which
    sits higher, so irrelevant empty records come ahead of the last relevant ones).

    Early phase (``early_share``, ``early_C``, ``early_relevant_weight``): until 20 % of the
    records are decided, C and the relevant weight are ASReview elas_u4's (0.11 and 9.8, for
    the SVM and NB's class weights); afterwards the values above. Why: with few decisions, a
    strongly regularised, relevant-heavy fit ranks by likeness to the few relevant records
    found (close to a weighted centroid) and moves on faster from an unlucky start (a
    relevant prior with no text, or an atypical one); once many decisions are known, the
    less regularised fit separates the atypical last relevant records better (that setting
    throughout lost WSS@95 on the sets with many relevant records: Bannach 39.5 -> 27.5).
    The switch depends only on how many records are decided (pipeline and replay rank
    alike). Over the 24 development sets (seeds 11-14, before the priors were drawn as
    ASReview draws them) it raised RRF@10 from 58.67 to 60.37 at the same WSS@95 (52.00, 52.02).

    Tuned on seeds 11-14, never the reported 1-5. Every setting tried (weights, C, NB's
    share and alpha, n-grams, where the phase switches and how, model choice while screening,
    presumed irrelevant records, LSA, sentence embeddings, NBSVM, refit schedules) and what
    it scored: benchmarks/screening_tuning.md. Reported figures for every dataset, against
    ASReview: benchmarks/screening_benchmark.py's docstring.
    """

    model: str = "nb+svm"
    balance: str = "ratio"
    relevant_weight: float = 2.0
    C: float = 0.75
    alpha: float = 3.822
    combine: str = "zscore"
    nb_weight: float = 0.5
    empty: str = "median"
    early_share: float = 0.2
    early_C: float = 0.11
    early_relevant_weight: float = 9.8

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any] | None) -> ModelConfig:
        """Build from config, rejecting unknown keys and models."""
        out = settings(cls, cfg, "screening model")
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
        if self.empty not in EMPTIES:
            raise ConfigError(f"screening empty must be one of {', '.join(EMPTIES)}, not {self.empty!r}")
        if not 0.0 <= self.early_share <= 1.0:
            raise ConfigError(f"screening early_share must be between 0 and 1, not {self.early_share!r}")
        if self.early_C <= 0 or self.early_relevant_weight <= 0:
            raise ConfigError("screening early_C and early_relevant_weight must be positive")

    def in_force(self, n_decided: int, n_records: int) -> ModelConfig:
        """The settings that rank once ``n_decided`` of ``n_records`` records are decided.

        Until ``early_share`` of the records are decided, ``C`` and ``relevant_weight`` are
        ``early_C`` and ``early_relevant_weight`` (for the SVM and NB's class weights alike);
        afterwards the configured ones. Depends only on how many records are decided, not on
        which or in what order, so the screening stage (a pure function of the decisions) and
        a replay rank alike.
        """
        # in whole records (0.7 * 90 is 62.99999999999999 in floating point): rounded to 9 digits first
        if n_decided < math.ceil(round(self.early_share * n_records, 9)):
            return replace(self, C=self.early_C, relevant_weight=self.early_relevant_weight, early_share=0.0)
        return self

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
        fitted = _liblinear_svm(X, y, w, config.C)
        if fitted is not None:
            return fitted
        from sklearn.svm import LinearSVC

        clf = LinearSVC(C=config.C, max_iter=SVM_MAX_ITER, dual=True, random_state=0)
    clf.fit(X, y, sample_weight=w)
    return np.asarray(clf.coef_, dtype=np.float64).ravel(), float(np.ravel(clf.intercept_)[0])


#: LinearSVC(dual=True, max_iter=5000, random_state=0) as liblinear sees it: solver 1 (L2-regularised
#: squared hinge, dual), tol 1e-4, bias feature 1.0 (intercept_scaling), and the srand seed that
#: ``check_random_state(0).randint(np.iinfo("i").max)`` draws.
SVM_MAX_ITER = 5000
_LIBLINEAR_ARGS = {"solver": 1, "tol": 1e-4, "bias": 1.0, "seed": 209652396, "epsilon": 0.1}


def _liblinear_svm(X: sp.csr_matrix, y: np.ndarray, w: np.ndarray, C: float) -> tuple[np.ndarray, float] | None:
    """The same fit as ``LinearSVC(C, dual=True, max_iter=5000, random_state=0)``, bit for bit, minus its overhead.

    Why: a replay fits the SVM ~300 times and LinearSVC's validation (label encoding, class
    weights, input checks) cost ~4 ms per fit, as much as liblinear itself on the first 200
    decisions. This passes exactly the arguments LinearSVC passes to liblinear (a test
    compares the two bit for bit). None when the private wrapper is unavailable or its
    signature changed (a scikit-learn upgrade): the caller then uses LinearSVC itself.
    """
    if not (sp.isspmatrix_csr(X) and X.dtype == np.float64 and X.indices.dtype == np.int32):
        return None
    try:
        from sklearn.svm import _liblinear as liblinear
    except ImportError:  # pragma: no cover - scikit-learn moved its private module
        return None
    a = _LIBLINEAR_ARGS
    try:
        liblinear.set_verbosity_wrap(0)
        raw, n_iter = liblinear.train_wrap(
            X, np.require(y.astype(np.float64), requirements="W"), True, a["solver"], a["tol"], a["bias"],
            float(C), np.ones(2), SVM_MAX_ITER, a["seed"], a["epsilon"], np.require(w, np.float64, "C"),
        )
    except TypeError:  # pragma: no cover - the wrapper's signature changed
        return None
    if int(np.max(n_iter)) >= SVM_MAX_ITER:
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        warnings.warn("Liblinear failed to converge; increase the iterations.", ConvergenceWarning, stacklevel=3)
    return np.ascontiguousarray(raw[0, :-1]), float(a["bias"] * raw[0, -1])


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

    def __init__(self, X: sp.csr_matrix, config: ModelConfig, query: sp.csr_matrix | None = None) -> None:
        self.X = X
        self.config = config
        #: rows in X's columns (the review question, :func:`.features.build_features`): the cold start
        self.query = query if query is not None and query.shape[0] and query.nnz else None
        self.labels: dict[int, int] = {}
        n_features = X.shape[1]
        self._sums = {0: np.zeros(n_features), 1: np.zeros(n_features)}
        self._counts = {0: 0, 1: 0}
        self._empty = np.diff(X.indptr) == 0  # records without a single term (no title, no abstract)
        # after a remove the sums can carry float round-off below zero; until then they cannot
        self._removed = False
        # features that some decided record of each class contains (a superset after removes):
        # a mask, and their indices in the order first seen (see _nb_coefficients)
        self._present = {0: np.zeros(n_features, dtype=bool), 1: np.zeros(n_features, dtype=bool)}
        self._present_idx: dict[int, list[np.ndarray]] = {0: [], 1: []}

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
        new = cols[~self._present[label][cols]]
        if len(new):
            self._present[label][new] = True
            self._present_idx[label].append(new)

    def remove(self, i: int) -> None:
        """Withdraw the decision for row ``i`` (no-op when there is none)."""
        label = self.labels.pop(i, None)
        if label is None:
            return
        cols, vals = self._row(i)
        self._sums[label][cols] -= vals
        self._counts[label] -= 1
        self._removed = True

    @property
    def ready(self) -> bool:
        """A model needs at least one decision of each kind."""
        return self._counts[0] > 0 and self._counts[1] > 0

    def cold_scores(self) -> np.ndarray | None:
        """Scores before a model can be fitted (no relevant or no irrelevant decision yet), or None.

        Cosine similarity of each record to the review question plus the records decided
        relevant so far (each row l2-normalised, summed). Why: on the first day the worklist
        would otherwise start in study-id order, i.e. at random; the records most like the
        question come first instead, and the first relevant decisions pull their neighbours up.
        None when there is neither a question nor a relevant decision.
        """
        parts = [] if self.query is None else [np.asarray(self.query.sum(axis=0)).ravel()]
        relevant = sorted(i for i, label in self.labels.items() if label == 1)
        if relevant:
            parts.append(np.asarray(self.X[relevant].sum(axis=0)).ravel())
        if not parts:
            return None
        return np.asarray(self.X @ np.sum(parts, axis=0), dtype=np.float64).ravel()

    def priority(self) -> np.ndarray | None:
        """What orders the undecided records now: the model's :meth:`scores` once one can be
        fitted, before that :meth:`cold_scores` (None: no question and nothing included yet)."""
        return self.scores() if self.ready else self.cold_scores()

    def active_config(self) -> ModelConfig:
        """The settings in force now (:meth:`ModelConfig.in_force`: the early phase or not)."""
        return self.config.in_force(len(self.labels), self.X.shape[0])

    def coefficients(self) -> tuple[np.ndarray, float]:
        """Fit (incrementally for NB) and return the linear scorer."""
        cfg = self.active_config()
        return self._coefficients(cfg.model, cfg)

    def _coefficients(self, model: str, base: ModelConfig) -> tuple[np.ndarray, float]:
        """The linear scorer of ``model`` ("nb", "svm", "logreg") under the settings ``base``."""
        if not self.ready:
            raise ValueError("the ranker needs at least one relevant and one irrelevant decision")
        cfg = base if model == base.model else replace(base, model=model)
        if model == "nb":
            return self._nb_coefficients(cfg)
        idx = np.fromiter(sorted(self.labels), dtype=np.int64)
        y = np.fromiter((self.labels[i] for i in idx.tolist()), dtype=np.int64, count=len(idx))
        return fit_scorer(self.X[idx], y, cfg)

    def _nb_coefficients(self, cfg: ModelConfig) -> tuple[np.ndarray, float]:
        """NB log-odds from the running per-class sums: the same float operations as a refit.

        Why it is written this way: a replay computes this ~300 times over every feature, and
        the logarithms were nearly all of it. A feature no record of a class contains has the
        same smoothed share ``alpha / total`` as every other such feature, so its logarithm is
        taken once and only the features present in that class get their own (bit for bit
        what ``log`` of the whole array gives; a test checks this against a refit). Clipping
        is only needed after a decision was withdrawn (round-off can leave a sum below zero).
        """
        n_pos, n_neg = self._counts[1], self._counts[0]
        w_pos, w_neg = class_weights(n_pos, n_neg, cfg)
        sides = []
        for label, weight in ((1, w_pos), (0, w_neg)):
            if self._removed:
                arr = np.clip(self._sums[label], 0, None)
                arr *= weight
            else:
                arr = self._sums[label] * weight
            present = self._present_indices(label)
            arr += cfg.alpha
            total = arr.sum()
            out = np.empty_like(arr)
            out.fill(np.log(np.array([cfg.alpha]) / total)[0])
            out[present] = np.log(arr[present] / total)
            sides.append(out)
        coef = np.subtract(sides[0], sides[1], out=sides[0])
        return coef, float(np.log(w_pos * n_pos) - np.log(w_neg * n_neg))

    def _present_indices(self, label: int) -> np.ndarray:
        """Indices of the features some record decided as ``label`` contains (maintained by ``add``).

        Kept incrementally because ``np.flatnonzero`` over every feature cost as much as the
        logarithms it saves. After a ``remove`` it is a superset, which is still exact: a
        feature whose sum is back to zero gets ``log(alpha / total)`` either way.
        """
        parts = self._present_idx[label]
        if len(parts) > 1:
            parts[:] = [np.concatenate(parts)]
        return parts[0] if parts else np.zeros(0, dtype=np.int64)

    def scores(self) -> np.ndarray:
        """Relevance score of every row under the current decisions.

        ``nb+svm`` sums the two models' standardised scores (NB weighted ``nb_weight``): NB on
        word evidence and the SVM's margin disagree most on the hard-to-find relevant records,
        and the sum finds them sooner than either alone on the development sets.
        """
        cfg = self.active_config()
        if cfg.model != "nb+svm":
            out = score(self.X, *self._coefficients(cfg.model, cfg))
        else:
            parts = [score(self.X, *self._coefficients(name, cfg)) for name in ("nb", "svm")]
            out = combine(parts, cfg.combine, (cfg.nb_weight, 1.0))
        if cfg.empty != "model" and self._empty.any() and not self._empty.all():
            rest = out[~self._empty]
            out[self._empty] = rest.mean() if cfg.empty == "mean" else np.median(rest)
        return out


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
