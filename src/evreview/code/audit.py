"""Double-coding audit: a seeded, stratified sample for a reviewer, then agreement statistics.

The sample is *blind*: the reviewer sees the study and the allowed codes, not the machine's
codes, so agreement is not inflated by anchoring. Strata are (dimension, code) of the
machine's assignments plus one "uncoded" stratum per dimension (to measure recall too).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from evreview.code.codebook import Codebook
from evreview.decisionfiles import read_rows
from evreview.errors import ConfigError

AUDIT_COLUMNS = (
    "study_id",
    "dimension",
    "stratum",
    "title",
    "abstract",
    "allowed_codes",
    "human_codes",
    "reviewer",
    "notes",
)
MACHINE_METHODS = ("metadata", "terms", "zero-shot")


def machine_codes(assignments: pd.DataFrame) -> dict[tuple[str, str], set[str]]:
    """(study, dimension) -> codes the machine assigned (including ones a reviewer later removed)."""
    machine = assignments["method"].isin(MACHINE_METHODS)
    rows = assignments[machine & assignments["status"].isin(["assigned", "removed"])]
    return rows.groupby(["study_id", "dimension"])["code"].agg(lambda s: set(s)).to_dict()


def draw_audit_sample(
    assignments: pd.DataFrame,
    studies: pd.DataFrame,
    codebook: Codebook,
    *,
    per_code: int = 5,
    seed: int = 0,
    dimensions: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Up to ``per_code`` studies per (dimension, code) stratum and per dimension's uncoded stratum.

    Only coded studies (those in ``assignments``) are drawn, whatever else ``studies`` holds.
    """
    rng = np.random.default_rng(seed)
    coded = machine_codes(assignments)
    dims = [d for d in codebook.dimensions if dimensions is None or d.id in dimensions]
    studies = studies.assign(study_id=studies["study_id"].astype(str)).set_index("study_id")
    # only the studies the coder saw: the studies table also holds every excluded and undecided
    # study, which the "(uncoded)" stratum drew from as if the machine had found no code in them
    all_ids = sorted(set(studies.index) & set(assignments["study_id"].astype(str)))
    chosen: dict[tuple[str, str], str] = {}
    for dim in dims:
        strata = [(c, sorted(s for s in all_ids if c in coded.get((s, dim.id), set()))) for c in dim.code_ids()]
        strata.append(("(uncoded)", sorted(s for s in all_ids if not coded.get((s, dim.id)))))
        for stratum, members in strata:
            pool = [s for s in members if (s, dim.id) not in chosen]
            if not pool:
                continue
            picks = rng.choice(len(pool), size=min(per_code, len(pool)), replace=False)
            for p in sorted(int(i) for i in picks):
                chosen[(pool[p], dim.id)] = stratum
    rows = []
    for (sid, dim_id), stratum in sorted(chosen.items()):
        study = studies.loc[sid]
        rows.append(
            {
                "study_id": sid,
                "dimension": dim_id,
                "stratum": stratum,
                "title": str(study.get("title", "") or ""),
                "abstract": str(study.get("abstract", "") or ""),
                "allowed_codes": ";".join(codebook.dimension(dim_id).code_ids()),
                "human_codes": "",
                "reviewer": "",
                "notes": "",
            }
        )
    return pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))


AUDIT_REQUIRED = ("study_id", "dimension", "human_codes", "reviewer")


def read_audit(path: str | Path, codebook: Codebook, study_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Read a filled-in audit CSV; unknown codes and rows without a reviewer are errors.

    Read like the reviewers' decision files (:mod:`evreview.decisionfiles`): Excel's BOM, CRLF,
    empty rows and header case are fine, a ``;``-separated or non-UTF-8 sheet is named as such,
    and every error names the row's own file line (an abstract over several lines no longer
    shifts it). ``study_ids``: the coded studies; a row naming another study is an error (it
    would count as the machine finding no code). Adds a ``line`` column.
    """
    header, rows = read_rows(path, AUDIT_REQUIRED)
    frame = pd.DataFrame([row for _, row in rows], columns=header or list(AUDIT_REQUIRED), dtype=object)
    frame["line"] = [line for line, _ in rows]
    dims = {d.id: set(d.code_ids()) for d in codebook.dimensions}
    known = None if study_ids is None else set(map(str, study_ids))
    for row in frame.itertuples(index=False):
        if row.dimension not in dims:
            known_dims = ", ".join(sorted(dims))
            raise ConfigError(f"unknown dimension {row.dimension!r} (codebook has: {known_dims})", path=path,
                              line=row.line)
        if known is not None and row.study_id not in known:
            raise ConfigError(f"study_id {row.study_id!r} is not among the coded studies", path=path, line=row.line)
        unknown = [c for c in split_codes(row.human_codes) if c not in dims[row.dimension]]
        if unknown:
            raise ConfigError(f"unknown code(s) {', '.join(unknown)} for {row.dimension!r}", path=path, line=row.line)
        if not str(row.reviewer).strip():
            raise ConfigError("reviewer is empty: fill in who coded this row", path=path, line=row.line)
    return frame


def split_codes(value: object) -> list[str]:
    return [c.strip() for c in str(value or "").replace(",", ";").split(";") if c.strip()]


def cohen_kappa(a: Sequence[object], b: Sequence[object]) -> float:
    """Cohen's kappa of two raters' labels for the same items (nan when undefined)."""
    if len(a) != len(b):
        raise ValueError("raters must label the same items")
    n = len(a)
    if n == 0:
        return float("nan")
    observed = sum(x == y for x, y in zip(a, b)) / n
    labels = set(a) | set(b)
    expected = sum((list(a).count(k) / n) * (list(b).count(k) / n) for k in labels)
    if expected == 1.0:
        return 1.0 if observed == 1.0 else float("nan")
    return (observed - expected) / (1 - expected)


def agreement(assignments: pd.DataFrame, audit: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """Per-code precision/recall/kappa of machine vs human, plus a pooled row per dimension.

    Multi-label dimensions: every (study, code) is a yes/no decision; the pooled kappa is over
    all of them. Single-label: the pooled kappa compares the single chosen labels ("none" when
    a rater chose nothing).
    """
    coded = machine_codes(assignments)
    rows = []
    for dim in codebook.dimensions:
        part = audit[audit["dimension"] == dim.id]
        if part.empty:
            continue
        machine = [coded.get((str(s), dim.id), set()) for s in part["study_id"]]
        human = [set(split_codes(h)) for h in part["human_codes"]]
        pooled_m: list[object] = []
        pooled_h: list[object] = []
        for code in dim.code_ids():
            m = [code in s for s in machine]
            h = [code in s for s in human]
            tp = sum(x and y for x, y in zip(m, h))
            fp = sum(x and not y for x, y in zip(m, h))
            fn = sum(y and not x for x, y in zip(m, h))
            tn = len(m) - tp - fp - fn
            rows.append(_stats_row(dim.id, code, len(m), tp, fp, fn, tn, cohen_kappa(m, h)))
            pooled_m += m
            pooled_h += h
        if not dim.multi_label:
            pooled_m = [";".join(sorted(s)) or "none" for s in machine]
            pooled_h = [";".join(sorted(s)) or "none" for s in human]
        tp = sum(r["tp"] for r in rows if r["dimension"] == dim.id)
        fp = sum(r["fp"] for r in rows if r["dimension"] == dim.id)
        fn = sum(r["fn"] for r in rows if r["dimension"] == dim.id)
        tn = sum(r["tn"] for r in rows if r["dimension"] == dim.id)
        rows.append(_stats_row(dim.id, "(all)", len(part), tp, fp, fn, tn, cohen_kappa(pooled_m, pooled_h)))
    return pd.DataFrame(rows)


def _stats_row(dim: str, code: str, n: int, tp: int, fp: int, fn: int, tn: int, kappa: float) -> dict[str, object]:
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    return {
        "dimension": dim,
        "code": code,
        "n_items": n,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "kappa": round(kappa, 4),
    }
