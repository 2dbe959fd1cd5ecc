"""Replay screening on a fully labelled set: the benchmark behind ``evreview simulate``.

The replay follows the README convention: one random relevant and one random irrelevant
record (drawn with the seed) are the priors and are not counted; then the model is refitted
and the top-scored unseen record is "screened" (its true label revealed), until every
relevant record is found. Records after the last relevant one cannot change WSS, RRF or ATD,
so the replay stops there. When the stopping rule is evaluated and has not fired by then, the
labels it would see later are known (all irrelevant), so where it fires is computed without
screening further (:func:`stop_in_irrelevant_tail`): ``order`` always ends at the last
relevant record.

Refitting after every decision is what a reviewer gets in the interactive session; in a
replay the same schedule is used up to ``refit_every_until`` labels and afterwards the model
is refitted every ``refit_fraction`` of the labelled count, which is how the replay of
thousands of records stays fast (the ranking barely moves between nearby refits).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from evreview.screen import metrics
from evreview.screen.features import FeatureConfig, build_matrix
from evreview.screen.ranker import Learner, ModelConfig
from evreview.screen.stopping import StoppingConfig, should_stop


@dataclass(frozen=True)
class ScheduleConfig:
    """When to refit during a replay."""

    refit_every_until: int = 200
    refit_fraction: float = 0.02


@dataclass
class SimulationRun:
    """One seed's replay: the screening order (indices, priors excluded) and figures."""

    seed: int
    priors: list[int]
    order: list[int]
    n_total: int
    ranks: np.ndarray
    figures: dict[str, float]
    stop_at: int | None = None
    recall_at_stop: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _top_unseen(scores: np.ndarray, seen: np.ndarray, k: int) -> list[int]:
    """The ``k`` best unseen rows, by descending score then ascending index (a total order)."""
    s = np.where(seen, -np.inf, scores)
    if k == 1:
        return [int(np.argmax(s))]  # argmax returns the first (lowest index) maximum
    k = min(k, int((~seen).sum()))
    part = np.argpartition(-s, k - 1)[:k] if k < len(s) else np.arange(len(s))
    cutoff = s[part].min()
    cand = np.flatnonzero(s >= cutoff)  # include every row tied at the cut-off
    cand = cand[np.lexsort((cand, -s[cand]))]
    return cand[:k].tolist()


def pick_priors(labels: np.ndarray, seed: int) -> list[int]:
    """One random relevant and one random irrelevant record, drawn from ``seed`` as ASReview draws them.

    ``asreview simulate --n-prior-included 1 --n-prior-excluded 1 --prior-seed SEED`` draws
    ``RandomState(SEED).choice(rows, 1, replace=False)`` once over the relevant rows and once,
    from a fresh ``RandomState(SEED)``, over the irrelevant ones (asreview/simulation/cli.py,
    3.0). Drawing the same way means a seed starts both tools from the same two records of the
    same file, so a comparison seed by seed is paired: the luck of the starting records (one
    atypical relevant prior can cost 20 RRF points) cancels out instead of adding noise.
    ``RandomState``'s stream is also frozen by NumPy's compatibility policy, so a seed's
    priors stay the same across NumPy versions.
    """
    if not 0 <= int(seed) < 2**32:
        raise ValueError(f"a seed must be a whole number from 0 to 2**32 - 1, not {seed!r}")
    pos = np.flatnonzero(labels == 1)
    neg = np.flatnonzero(labels == 0)
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("a simulation needs at least one relevant and one irrelevant record")
    return [int(np.random.RandomState(seed).choice(rows, 1, replace=False)[0]) for rows in (pos, neg)]


def replay(
    X: sp.csr_matrix,
    labels: np.ndarray,
    seed: int,
    model: ModelConfig | None = None,
    schedule: ScheduleConfig | None = None,
    stopping: StoppingConfig | None = None,
    priors: list[int] | None = None,
) -> SimulationRun:
    """Simulate prioritised screening of ``X`` with true ``labels`` from ``seed``'s priors.

    ``priors`` (row indices, at least one relevant and one irrelevant) replaces the seeded
    draw, e.g. to start from exactly the records another tool's run started from.
    """
    model = model or ModelConfig()
    schedule = schedule or ScheduleConfig()
    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    if priors is None:
        priors = pick_priors(labels, seed)
    else:
        priors = [int(p) for p in priors]
        if not all(0 <= p < n for p in priors):
            raise ValueError(f"priors must be row numbers from 0 to {n - 1}")
        if len(set(priors)) != len(priors) or {int(labels[p]) for p in priors} != {0, 1}:
            raise ValueError("priors must be distinct rows with at least one relevant and one irrelevant record")
    seen = np.zeros(n, dtype=bool)
    seen[priors] = True
    labelled = list(priors)
    learner = Learner(X, model)
    for p in priors:
        learner.add(p, int(labels[p]))
    order: list[int] = []
    total_rel = int(labels.sum())
    found = int(labels[priors].sum())
    stop_at: int | None = None
    recall_at_stop: float | None = None
    n_rest = n - len(priors)
    rel_rest = total_rel - found
    next_fit = 0
    ranked: list[int] = []
    cursor = 0
    next_check = 1
    while len(order) < n_rest:
        if len(labelled) >= next_fit or cursor >= len(ranked):
            k = len(labelled)
            step = 1 if k < schedule.refit_every_until else max(1, int(k * schedule.refit_fraction))
            ranked = _top_unseen(learner.scores(), seen, step)
            cursor = 0
            next_fit = k + step
        i = ranked[cursor]
        cursor += 1
        seen[i] = True
        labelled.append(i)
        learner.add(i, int(labels[i]))
        order.append(i)
        found += int(labels[i])
        if stopping is not None and stop_at is None and len(order) >= next_check:
            seen_labels = labels[np.asarray(order)]
            if should_stop(seen_labels, n_rest, stopping):
                stop_at = len(order)
                recall_at_stop = float(seen_labels.sum()) / rel_rest if rel_rest else 1.0
            next_check = len(order) + max(1, math.ceil(len(order) * stopping.check_fraction))
        if found == total_rel:
            if stopping is not None and stop_at is None:
                stop_at = stop_in_irrelevant_tail(labels[np.asarray(order)], n_rest, next_check, stopping)
                recall_at_stop = None if stop_at is None else 1.0
            break
    ranks = metrics.relevant_ranks(labels[np.asarray(order, dtype=np.int64)])
    return SimulationRun(
        seed=seed,
        priors=priors,
        order=order,
        n_total=n_rest,
        ranks=ranks,
        figures=metrics.summarise(ranks, n_rest),
        stop_at=stop_at,
        recall_at_stop=recall_at_stop,
    )


def stop_in_irrelevant_tail(
    seen_labels: np.ndarray, n_rest: int, next_check: int, stopping: StoppingConfig
) -> int | None:
    """Where the stopping test fires once every relevant record has been screened (None: never).

    Every record still unseen is then irrelevant, so the labels the test would see at each
    later check are known without ranking (``seen_labels`` followed by zeros), whichever
    irrelevant record the model would have shown. The checks run at the same positions as in
    the replay loop (``next_check``, then each time ``ceil(check_fraction * screened)`` later),
    so the answer is the replay's own; the model is not refitted for records that cannot
    change any figure (this was a quarter of a replay's time).
    """
    check = next_check
    while check <= n_rest:
        seen = np.zeros(check, dtype=np.int64)
        seen[: len(seen_labels)] = seen_labels
        if should_stop(seen, n_rest, stopping):
            return check
        check += max(1, math.ceil(check * stopping.check_fraction))
    return None


def simulate(
    X: sp.csr_matrix,
    labels: np.ndarray,
    seeds: list[int],
    model: ModelConfig | None = None,
    schedule: ScheduleConfig | None = None,
    stopping: StoppingConfig | None = None,
) -> list[SimulationRun]:
    """One :func:`replay` per seed."""
    return [replay(X, labels, s, model, schedule, stopping) for s in seeds]


def metrics_json(runs: list[SimulationRun]) -> dict[str, Any]:
    """The ``metrics.json`` shape: per-seed figures and their mean (rounded to 4 decimals)."""
    seeds = [{"seed": r.seed, **{k: round(v, 4) for k, v in r.figures.items()}} for r in runs]
    mean = {
        k: round(float(np.mean([r.figures[k] for r in runs])), 4) for k in ("wss95", "rrf10", "atd")
    }
    return {"seeds": seeds, "mean": mean}


def stopping_json(runs: list[SimulationRun]) -> list[dict[str, Any]]:
    """Where the stopping rule fired in each replay, the recall then and the work saved."""
    out = []
    for r in runs:
        out.append(
            {
                "seed": r.seed,
                "stopped_at": r.stop_at,
                "recall_at_stop": None if r.recall_at_stop is None else round(r.recall_at_stop, 4),
                "work_saved": None if r.stop_at is None else round(1 - r.stop_at / r.n_total, 4),
            }
        )
    return out


def options_from(cfg: Mapping[str, Any] | None) -> tuple[ModelConfig, ScheduleConfig]:
    """Model and schedule from a config mapping (``model``/``balance``/``C``/``alpha``/schedule keys)."""
    cfg = dict(cfg or {})
    sched_keys = set(ScheduleConfig.__dataclass_fields__)
    sched = ScheduleConfig(**{k: cfg.pop(k) for k in list(cfg) if k in sched_keys})
    return ModelConfig.from_mapping(cfg), sched


TITLE_COLUMNS = ("title", "Title", "Document Title", "TI", "primary_title")
ABSTRACT_COLUMNS = ("abstract", "Abstract", "AB", "notes_abstract")
KEYWORD_COLUMNS = ("keywords", "Keywords", "Author Keywords")
_TRUE = {"1", "yes", "y", "true", "include", "included", "1.0"}
_FALSE = {"0", "no", "n", "false", "exclude", "excluded", "0.0", "-1"}


def _pick(columns: list[str], wanted: tuple[str, ...]) -> str | None:
    for name in wanted:
        if name in columns:
            return name
    lower = {c.lower().strip(): c for c in columns}
    for name in wanted:
        if name.lower() in lower:
            return lower[name.lower()]
    return None


def _separator(path: str, encoding: str) -> str:
    """The field separator of a labelled file: ``,`` unless its header line has none but tabs or semicolons."""
    with open(path, encoding=encoding, newline="") as fh:
        header = fh.readline()
    return next((sep for sep in (",", "\t", ";") if sep in header), ",")


def labelled_matrix(frame: Any, features: FeatureConfig | None = None) -> sp.csr_matrix:
    """The TF-IDF matrix of a labelled frame (:func:`load_labelled`'s ``title``, ``abstract``
    and ``keywords``), as ``evreview simulate`` and the screening benchmark build it."""
    return build_matrix(frame["title"], frame["abstract"], frame["keywords"], features)


def load_labelled(path: str, label_column: str, encoding: str | None = None) -> Any:
    """Read a labelled CSV into a frame with ``title``, ``abstract``, ``keywords``, ``label`` (0/1).

    Column names vary between datasets (``title``/``Title``/``Document Title``); the file is
    read as UTF-8 and, failing that, as cp1252 and then latin-1 (the Radjenovic exports; latin-1
    never fails), or as UTF-16 when it starts with that byte-order mark. Fields are separated
    by commas, or by tabs or semicolons when the header line has no comma (Excel's "Unicode
    text" and semicolon CSVs). A label that is not 0/1/yes/no is an error naming the file and
    line, never a silent drop.
    """
    import codecs

    import pandas as pd

    from evreview.errors import EvreviewError

    try:
        with open(path, "rb") as fh:
            utf16 = fh.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    except OSError as exc:
        raise EvreviewError(f"cannot read labelled CSV: {exc.strerror}", path=path) from None
    encodings = [encoding] if encoding else ["utf-16"] if utf16 else ["utf-8-sig", "cp1252", "latin-1"]
    frame = None
    for enc in encodings:
        try:
            frame = pd.read_csv(path, encoding=enc, sep=_separator(path, enc), dtype=str, keep_default_na=False)
            break
        except UnicodeError:  # UTF-16 without its byte-order mark is not a UnicodeDecodeError
            continue
        except LookupError:
            raise EvreviewError(f"unknown encoding {enc!r}", path=path) from None
        except (pd.errors.ParserError, OSError, pd.errors.EmptyDataError) as exc:
            raise EvreviewError(f"cannot read labelled CSV: {exc}", path=path) from exc
    if frame is None:
        raise EvreviewError(f"cannot decode as {' or '.join(encodings)}", path=path)
    cols = list(frame.columns)
    if label_column not in cols:
        raise EvreviewError(f"no label column {label_column!r} (columns: {', '.join(cols)})", path=path)
    tcol, acol, kcol = _pick(cols, TITLE_COLUMNS), _pick(cols, ABSTRACT_COLUMNS), _pick(cols, KEYWORD_COLUMNS)
    if tcol is None and acol is None:
        raise EvreviewError("no title or abstract column found", path=path)
    labels = []
    for i, raw in enumerate(frame[label_column].tolist()):
        v = str(raw).strip().lower()
        if v in _TRUE:
            labels.append(1)
        elif v in _FALSE:
            labels.append(0)
        else:
            raise EvreviewError(
                f"label {raw!r} in column {label_column!r} is not 0/1 or yes/no", path=path, line=i + 2
            )
    n = len(frame)
    return pd.DataFrame(
        {
            "title": frame[tcol].tolist() if tcol else [""] * n,
            "abstract": frame[acol].tolist() if acol else [""] * n,
            "keywords": frame[kcol].tolist() if kcol else [""] * n,
            "label": np.asarray(labels, dtype=np.int64),
        }
    )


def check_label_counts(labels: np.ndarray, path: str | Path, label_column: str) -> None:
    """A clear error unless ``labels`` hold at least two relevant and one irrelevant record.

    One relevant and one irrelevant record are drawn as the priors and not counted, so with a
    single relevant record there is nothing left to find and every figure is undefined (NaN).
    """
    from evreview.errors import EvreviewError

    n_pos = int((labels == 1).sum())
    n_neg = len(labels) - n_pos
    if n_pos < 2 or n_neg < 1:
        raise EvreviewError(
            f"column {label_column!r} marks {n_pos} of {len(labels)} record(s) relevant; a simulation needs at "
            "least 2 relevant and 1 irrelevant record (one of each is the prior, and a relevant record must be "
            "left to find)",
            path=path,
        )


def recall_curve_png(runs: list[SimulationRun], path: str | Path, title: str = "") -> None:
    """Recall against share screened, one line per seed plus random order (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=100)
    for r in runs:
        total = len(r.ranks)
        xs = np.concatenate([[0], np.sort(r.ranks), [r.n_total]]) / r.n_total * 100
        ys = np.concatenate([[0], np.arange(1, total + 1), [total]]) / max(total, 1) * 100
        ax.step(xs, ys, where="post", lw=1.2, label=f"seed {r.seed}")
    ax.plot([0, 100], [0, 100], ls="--", color="grey", lw=1, label="random order")
    ax.axhline(95, color="red", lw=0.6, ls=":")
    ax.set_xlabel("records screened (%)")
    ax.set_ylabel("relevant records found (%)")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 101)
    ax.set_title((title or "recall curve").replace("$", r"\$"))  # a file name, not mathtext
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def run_simulation_files(
    file: str | Path,
    label_column: str,
    seeds: list[int],
    out: str | Path,
    *,
    model_config: Mapping[str, Any] | None = None,
    encoding: str | None = None,
    stopping: bool = False,
) -> dict[str, Any]:
    """``evreview simulate``: replay ``file`` per seed; write metrics.json and recall_curve.png in ``out``."""
    import json

    from evreview.screen.pipeline import parse_options

    opts = parse_options(model_config)
    frame = load_labelled(str(file), label_column, encoding)
    check_label_counts(frame["label"].to_numpy(), file, label_column)
    X = labelled_matrix(frame, opts.features)
    runs = simulate(X, frame["label"].to_numpy(), seeds, opts.model, None, opts.stopping if stopping else None)
    result = metrics_json(runs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    doc = dict(result)
    if stopping:
        doc = {**result, "stopping": stopping_json(runs)}
    (out / "metrics.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    recall_curve_png(runs, out / "recall_curve.png", title=Path(file).name)
    return result
