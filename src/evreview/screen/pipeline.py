"""The screening stage as one pure function: studies + rules + decisions + model config in,
screening table + worklist + stopping estimate + conflicts/agreement out.

Authority, in order: reviewers' standing decisions (always win), then eligibility rules
(reason-coded automatic exclusions), then the ranker for everything still undecided. When
the config sets ``machine_include_above``, undecided studies scoring above it are marked
included by the machine (with method, parameters and score as evidence) so they can flow on
to coding; otherwise only reviewers include. With a threshold the ranker's early phase is off
(``early_share=0``, recorded in the evidence), so the threshold means the same on the same
model however many studies are decided.

Studies are sorted by ``study_id`` before anything order-sensitive, features are fitted on
that order and ties in score break by ``study_id``: same inputs, same outputs, bit for bit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evreview.errors import ConfigError
from evreview.screen import decisions as dec
from evreview.screen.features import FeatureConfig, build_features
from evreview.screen.options import section
from evreview.screen.ranker import Learner, ModelConfig
from evreview.screen.rules import VALUE_RULES, apply_rules, rule_evidence_text
from evreview.screen.stopping import StoppingConfig, hypergeometric_test

TABLE_COLUMNS = ("study_id", "status", "decided_by", "reason", "reviewer", "score", "rank", "evidence")
#: The columns of the studies table that :func:`screen_studies` reads: the rules' (year,
#: language, doc_type and the text), the ranker's text and the worklist's. ``evreview
#: screen-report`` reads only these from Parquet (URLs and member ids are a tenth of the bytes).
STUDY_COLUMNS = ("study_id", "title", "abstract", "keywords", "year", "language", "doc_type", "journal", "authors",
                 "doi")
MODEL_KEYS = frozenset({"features", "stopping", "machine_include_above"})


@dataclass
class ScreeningResult:
    """Everything the screen stage writes."""

    table: pd.DataFrame
    worklist: pd.DataFrame
    stopping: dict[str, Any]
    conflicts: pd.DataFrame
    agreement: list[dict[str, Any]]


@dataclass(frozen=True)
class ScreenOptions:
    """Parsed model config: features, classifier, stopping test, optional machine inclusion."""

    features: FeatureConfig
    model: ModelConfig
    stopping: StoppingConfig
    machine_include_above: float | None

    def method(self) -> str:
        """JSON description of the ranker, written as evidence beside every machine score."""
        from dataclasses import asdict

        return json.dumps(
            {"features": asdict(self.features), "classifier": self.model.describe()}, sort_keys=True
        )


def parse_options(cfg: Mapping[str, Any] | None) -> ScreenOptions:
    """Split the model config: ``features``, ``stopping``, ``machine_include_above``, classifier keys."""
    cfg = section(cfg, "screening model")
    features = cfg.pop("features", None)
    stopping = cfg.pop("stopping", None)
    threshold = cfg.pop("machine_include_above", None)
    if threshold is not None and not isinstance(threshold, (int, float)):
        raise ConfigError("screening 'machine_include_above' must be a number or null")
    model = ModelConfig.from_mapping(cfg)
    if threshold is not None and model.early_share:
        # The threshold is on the configured model's score scale. The early phase (a relevant-heavy,
        # strongly regularised fit while few records are decided) is for prioritising; with it, the
        # same threshold would include a different share of studies before and after the switch.
        # Here, not in one caller, so the pipeline and the interactive session rank alike.
        model = replace(model, early_share=0.0)
    return ScreenOptions(
        features=FeatureConfig.from_mapping(features),
        model=model,
        stopping=StoppingConfig.from_mapping(stopping),
        machine_include_above=None if threshold is None else float(threshold),
    )


def _reviewer_view(
    decisions: pd.DataFrame, duplicates: pd.DataFrame | None, study_ids: list[str], path: str
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, list[str]]]:
    """(standing decisions per reviewer, one consensus row per study, study_id -> the reviewers'
    own decisions under other keys that their standing ones overrule: :func:`dec.self_overruled`)."""
    if decisions is None or len(decisions) == 0:
        standing = dec.latest(dec.resolve(dec.empty_decisions(), {}, path).assign(study_id=[]))
        return standing, dec.consensus(standing), {}
    frame = decisions.copy()
    if "line" not in frame.columns:
        frame["line"] = np.arange(2, len(frame) + 2)
    resolved = dec.resolve(frame, dec.key_map(duplicates, study_ids), path)
    standing = dec.latest(resolved)
    return standing, dec.consensus(standing), dec.self_overruled(resolved, standing)


def _screening_sequence(standing: pd.DataFrame, eligible: set[str]) -> list[int]:
    """Consensus include(1)/exclude(0) labels in the order they were decided (first decision time).

    The stopping test reads this as the screening order; maybe/conflicting studies are left out.
    """
    if len(standing) == 0:
        return []
    # a per-row test, not Series.isin: isin converts the whole eligible set (164k ids) to Arrow, ~5 s
    rows = standing[np.array([sid in eligible for sid in standing["study_id"].tolist()], dtype=bool)]
    seq = []
    for _, g in sorted(rows.groupby("study_id"), key=lambda kv: (min(kv[1]["timestamp"]), min(kv[1]["line"]))):
        decs = set(g["decision"])
        if decs == {"include"}:
            seq.append(1)
        elif decs == {"exclude"}:
            seq.append(0)
    return seq


def study_table(studies: pd.DataFrame) -> pd.DataFrame:
    """``studies`` with text study ids, in study_id order; ConfigError when an id is missing or repeated.

    Screening (the pipeline and the session alike) keys every decision by study_id, so a table
    without them (e.g. ingest's records) or with one twice cannot be screened.
    """
    if "study_id" not in studies.columns:
        raise ConfigError("studies table has no study_id column (is it dedup's studies table?)")
    studies = studies.assign(study_id=studies["study_id"].astype(str))
    if not studies["study_id"].is_monotonic_increasing:  # dedup writes them sorted: skip copying every column
        studies = studies.sort_values("study_id", kind="stable")
    studies = studies.reset_index(drop=True)
    if studies["study_id"].duplicated().any():
        dup = studies.loc[studies["study_id"].duplicated(), "study_id"].iloc[0]
        raise ConfigError(f"studies table has study_id {dup!r} more than once")
    return studies


def screen_studies(
    studies: pd.DataFrame,
    rules_config: Mapping[str, Any] | None,
    decisions: pd.DataFrame | None,
    model_config: Mapping[str, Any] | None = None,
    *,
    duplicates: pd.DataFrame | None = None,
    decisions_path: str = "data/decisions/screening.csv",
    cache_dir: str | Path | None = None,
    query: str | None = None,
) -> ScreeningResult:
    """Screen ``studies`` (one row per study_id). See the module docstring for the order of authority.

    ``decisions`` is :func:`evreview.screen.decisions.read_decisions` output; its keys may be
    study ids or member record ids (resolved via ``duplicates``: record_id -> study_id).
    ``cache_dir`` keeps per-study term counts (content-hashed) so an update round only analyses
    new or changed text; the result is the same with or without it. ``query`` (the review
    question) orders the worklist while no model can be fitted yet (the cold start, see
    :meth:`Learner.cold_scores`); it never scores a study for machine inclusion.
    """
    opts = parse_options(model_config)
    studies = study_table(studies)
    ids = studies["study_id"].tolist()
    rules = apply_rules(studies, rules_config)
    standing, cons, overruled = _reviewer_view(decisions, duplicates, ids, decisions_path)
    by_study = cons.set_index("study_id").to_dict("index") if len(cons) else {}

    n = len(studies)
    status = np.array(["undecided"] * n, dtype=object)
    decided_by = np.array([""] * n, dtype=object)
    reason = np.array([""] * n, dtype=object)
    reviewer = np.array([""] * n, dtype=object)
    evidence = np.array([""] * n, dtype=object)
    names = {"include": "included", "exclude": "excluded", "maybe": "maybe"}
    rule_excluded = rules["rule_excluded"].tolist()  # plain lists: .iat per study cost seconds at 164k
    rule_reason = rules["rule_reason"].tolist()
    rule_evidence = rules["rule_evidence"].tolist()
    for i, sid in enumerate(ids):
        c = by_study.get(sid)
        if c is not None and c["decision"] != "conflict":
            status[i], decided_by[i] = names[c["decision"]], "reviewer"
            reason[i], reviewer[i] = c["reason"], c["reviewer"]
            evidence[i] = f"{c['decision']} at {c['timestamp']}"
            if sid in overruled:
                evidence[i] += "; overrules " + "; ".join(overruled[sid])
        elif c is not None:
            # reviewers disagree: theirs to settle, before any rule. A rule exclusion here hid
            # one reviewer's include (the study left the worklist and conflicts.csv's count)
            reason[i], reviewer[i] = "reviewer_conflict", c["reviewer"]
            if rule_excluded[i]:
                evidence[i] = "rules would exclude: " + rule_evidence_text(
                    rule_evidence[i], {f: studies.at[i, f] for f in VALUE_RULES.values() if f in studies.columns})
        elif rule_excluded[i]:
            status[i], decided_by[i] = "excluded", "rule"
            values = {f: studies.at[i, f] for f in VALUE_RULES.values() if f in studies.columns}
            reason[i], evidence[i] = rule_reason[i], "failed: " + rule_evidence_text(rule_evidence[i], values)

    scores = np.full(n, np.nan)
    label_of = {"included": 1, "excluded": 0}
    train = [(i, label_of[s]) for i, s in enumerate(status) if decided_by[i] == "reviewer" and s in label_of]
    method = opts.method()
    order_by = scores  # what orders the worklist: the model's scores, or the cold start's
    if n:
        # the question is analysed only while it can matter: before a relevant and an irrelevant decision
        queries = [query] if query and {y for _, y in train} != {0, 1} else []
        X, Q = build_features(
            studies["title"] if "title" in studies else [""] * n,
            studies["abstract"] if "abstract" in studies else [""] * n,
            studies.get("keywords", None),
            opts.features,
            queries=queries,
            cache_dir=cache_dir,
        )
        learner = Learner(X, opts.model, query=Q)
        for i, y in train:
            learner.add(i, y)
        priority = learner.priority()
        if priority is not None:
            order_by = priority
            if learner.ready:  # only the model's scores are scores (cold-start ones never include)
                scores = priority
        in_force = learner.active_config()
    open_mask = np.array([s in ("undecided", "maybe") and decided_by[i] != "rule" for i, s in enumerate(status)])
    open_idx = np.flatnonzero(open_mask)
    ranks = np.full(n, 0, dtype=np.int64)
    order = np.zeros(0, dtype=np.int64)  # positions of the ranked studies, in rank order
    if len(open_idx):
        key = np.nan_to_num(order_by[open_idx], nan=-np.inf)
        order = open_idx[np.lexsort((open_idx, -key))]  # ties: study_id order (rows are sorted)
        ranks[order] = np.arange(1, len(order) + 1)
    if opts.machine_include_above is not None and not np.isnan(scores).all():
        # open, undecided, no reviewer conflict, scored above the threshold (NaN never is)
        machine = open_idx[
            (status[open_idx] == "undecided")
            & (reason[open_idx] == "")
            & (scores[open_idx] > opts.machine_include_above)
        ]
        status[machine], decided_by[machine] = "included", "machine"
        reason[machine] = f"score>{opts.machine_include_above:g}"
        evidence[machine] = method

    table = pd.DataFrame(
        {
            "study_id": ids,
            "status": status.astype(str),
            "decided_by": decided_by.astype(str),
            "reason": reason.astype(str),
            "reviewer": reviewer.astype(str),
            "score": np.round(scores, 6),
            "rank": pd.array(np.where(ranks > 0, ranks, 0), dtype="Int64"),
            "evidence": evidence.astype(str),
        }
    )
    table.loc[ranks == 0, "rank"] = pd.NA
    from evreview.screen.worklist import WORKLIST_COLUMNS

    # the ranked studies in rank order with their listing columns: ``table`` and ``studies``
    # hold the same studies in the same row order, so rows are taken by position (a merge on
    # study_id of every column, then a sort by rank, gave the same table several times slower)
    listed = [c for c in WORKLIST_COLUMNS if c in studies.columns and c not in ("study_id", "rank", "score")]
    wl = pd.concat(
        [
            table[["study_id", "rank", "score", "status"]].take(order).reset_index(drop=True),
            studies[listed].take(order).reset_index(drop=True),
        ],
        axis=1,
    )
    for col in WORKLIST_COLUMNS:
        if col not in wl.columns:
            wl[col] = ""
    worklist = wl[[*WORKLIST_COLUMNS, "status"]]

    eligible = {sid for sid, by in zip(ids, decided_by) if by != "rule"}
    stopping = hypergeometric_test(_screening_sequence(standing, eligible), len(eligible), opts.stopping)
    stopping["ranker"] = json.loads(method)
    if n and learner.ready:
        # which of the configured phases ranked this time (the early phase ends once early_share is decided)
        early = in_force is not opts.model
        stopping["ranker"]["in_force"] = {"phase": "early" if early else "later", "C": in_force.C,
                                          "relevant_weight": in_force.relevant_weight}
    elif n:  # no model yet: the worklist is in cold-start or study-id order
        cold = priority is not None
        stopping["ranker"]["in_force"] = {
            "phase": "cold start" if cold else "no model yet",
            "ranked_by": "similarity to the review question and the studies included so far" if cold
            else "study_id (no review question and no relevant decision)",
        }
    stopping["note"] = (
        "decisions are taken in the order reviewers made them; the test assumes they followed "
        "the ranked worklist"
    )
    return ScreeningResult(
        table=table,
        worklist=worklist,
        stopping=stopping,
        conflicts=dec.conflicts(standing),
        agreement=dec.agreement(standing),
    )


def included_studies(result: ScreeningResult, studies: pd.DataFrame) -> pd.DataFrame:
    """Studies that flow on to coding: included by reviewers (or by the machine, if enabled)."""
    keep = result.table.loc[result.table["status"] == "included", ["study_id", "decided_by"]]
    return studies.assign(study_id=studies["study_id"].astype(str)).merge(keep, on="study_id", how="inner")
