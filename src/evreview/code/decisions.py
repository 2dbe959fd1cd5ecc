"""Reviewers' code decisions (``data/decisions/codes.csv``): validated, applied last, always win.

Columns: ``study_id, dimension, code, action (add|remove), reviewer, timestamp``. Decisions
are applied in timestamp order (file order breaks ties), so the latest decision on a
(study, dimension, code) wins, and its evidence names the earlier decisions it overrules
(``; overrules ann's remove (line 3)``): two reviewers' disagreement stays visible. Machine
rows a reviewer removes are kept with status ``removed`` (audit trail), never deleted; so is
a reviewer's code that a later one replaces in a single-label dimension, with its author and
``; replaced by ben's ...``. Decisions naming studies of the run that are not
coded (e.g. excluded since) are returned as ``unmatched`` for the report rather than dropped;
``evreview code`` refuses one naming no study of the run (:func:`check_known_studies`).
The pipeline only reads this file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from evreview.code.codebook import Codebook
from evreview.decisionfiles import read_rows
from evreview.errors import ConfigError

DECISION_COLUMNS = ("study_id", "dimension", "code", "action", "reviewer", "timestamp")
ACTIONS = ("add", "remove")


def read_code_decisions(path: str | Path, codebook: Codebook) -> pd.DataFrame:
    """Read and validate a decisions CSV; a missing file means no decisions yet.

    Read like the other decision files (:mod:`evreview.decisionfiles`), so each row keeps its
    own file line (a blank line before it no longer shifts the line an error names) and a
    row with an extra cell is an error, not a row whose cells moved one column over.
    """
    path = Path(path)
    if not path.exists():
        return pd.DataFrame(columns=[*DECISION_COLUMNS, "line"])
    header, rows = read_rows(path, DECISION_COLUMNS)
    if not header:  # an empty file, like a missing one
        return pd.DataFrame(columns=[*DECISION_COLUMNS, "line"])
    frame = pd.DataFrame([row for _, row in rows], columns=header, dtype=object)
    return validate_code_decisions(frame, codebook, source=str(path), lines=[line for line, _ in rows])


def validate_code_decisions(
    frame: pd.DataFrame, codebook: Codebook, *, source: str = "decisions", lines: list[int] | None = None
) -> pd.DataFrame:
    """Check columns, actions, dimensions, codes, reviewer and timestamp; add a ``line`` column.

    ``lines`` are the rows' file lines (default: row n on line n + 1, a file without blank lines).
    """
    frame = frame.copy()
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in DECISION_COLUMNS if c not in frame.columns]
    if missing:
        raise ConfigError(f"code decisions lack column(s) {', '.join(missing)}", path=source, line=1)
    frame = frame[list(DECISION_COLUMNS)].astype(str).apply(lambda s: s.str.strip())
    frame["line"] = list(lines) if lines is not None else range(2, len(frame) + 2)
    dims = {d.id: set(d.code_ids()) for d in codebook.dimensions}
    stamps = parse_timestamps(frame["timestamp"]).isna().tolist()
    for row, no_time in zip(frame.itertuples(index=False), stamps):
        where: dict[str, Any] = {"path": source, "line": row.line}
        if not row.study_id:
            raise ConfigError("empty study_id", **where)
        if row.action.lower() not in ACTIONS:
            raise ConfigError(f"action must be add or remove, not {row.action!r}", **where)
        if row.dimension not in dims:
            raise ConfigError(
                f"unknown dimension {row.dimension!r} (codebook has: {', '.join(sorted(dims))})", **where
            )
        if row.code not in dims[row.dimension]:
            raise ConfigError(
                f"unknown code {row.code!r} for dimension {row.dimension!r} "
                f"(codes: {', '.join(sorted(dims[row.dimension]))})",
                **where,
            )
        if not row.reviewer:
            raise ConfigError("reviewer is empty: every decision must name its reviewer", **where)
        if no_time:
            raise ConfigError(
                f"timestamp {row.timestamp!r} is not an ISO 8601 date/time such as 2026-04-02 or "
                "2026-04-02T09:30:00Z",
                **where,
            )
    frame["action"] = frame["action"].str.lower()
    return frame.reset_index(drop=True)


def retired_study_ids(studies: pd.DataFrame) -> dict[str, str]:
    """Study ids that no longer exist -> the study that now holds their record
    (:func:`evreview.dedup.merge.retired_ids`, the rule screening decisions follow too).

    Without it, a merged study's other id would have its code decisions set aside as about
    "studies not in this run". ``studies`` needs ``study_id`` and ``member_record_ids``.
    """
    from evreview.dedup.merge import retired_ids

    if "member_record_ids" not in studies.columns:
        return {}
    return retired_ids(member_pairs(studies), set(studies["study_id"].astype(str)))


def member_pairs(studies: pd.DataFrame) -> list[tuple[str, str]]:
    """(record_id, study_id) of every member record of ``studies`` (``member_record_ids``: a
    list, or a studies CSV's "r1; r2"); none without that column."""
    if "member_record_ids" not in studies.columns:
        return []
    members = []
    for sid, records in zip(studies["study_id"].astype(str), studies["member_record_ids"]):
        if records is None or isinstance(records, float):
            records = []
        elif isinstance(records, str):  # a studies CSV joins the list with "; "
            records = [m.strip() for m in records.split(";") if m.strip()]
        members += [(str(rid), sid) for rid in records]
    return members


def resolve_retired(decisions: pd.DataFrame, retired: dict[str, str]) -> pd.DataFrame:
    """Decisions with retired study ids (see :func:`retired_study_ids`) moved to today's study."""
    if decisions.empty or not retired:
        return decisions
    return decisions.assign(study_id=[retired.get(s, s) for s in decisions["study_id"]])


def check_known_studies(decisions: pd.DataFrame, study_ids: set[str], path: str | Path,
                        record_study: dict[str, str] | None = None) -> None:
    """A decision naming no study of the run at all (a typo, an export removed) is an error
    naming its line, as in the screening and duplicate decision files.

    Only a study that exists but is not coded (excluded since) is set aside as ``unmatched``;
    a typo was set aside the same way, so the run succeeded without the reviewer's decision.
    ``decisions`` have retired ids resolved (:func:`resolve_retired`); ``record_study`` (record
    id -> study id) lets the error name the study of a record id given in place of one.
    """
    from evreview.records import gone_id_hint

    unknown = decisions[~decisions["study_id"].isin(study_ids)]
    if len(unknown):
        row = unknown.sort_values("line", kind="stable").iloc[0]
        key = str(row["study_id"])
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        if key in (record_study or {}):
            hint = f": it is a record id, of study {record_study[key]!r}; codes.csv names studies"  # type: ignore[index]
        else:
            hint = gone_id_hint(key)
        raise ConfigError(f"study_id {key!r} is not a study of this run{more}{hint}", path=path, line=int(row["line"]))


def explain_unmatched(unmatched: pd.DataFrame, statuses: dict[str, str]) -> pd.DataFrame:
    """``unmatched`` decisions with their ``reason`` naming the study's screening status
    (``statuses``: study id -> status), e.g. "study is excluded in screening, so it is not coded".

    Why: "not among the studies coded in this run" left the reviewer to find out what became of
    the study; a code decision on a study excluded since is the usual case and says what to do.
    """
    if unmatched.empty or not statuses:
        return unmatched
    reasons = [
        f"study is {statuses[sid]} in screening, so it is not coded" if statuses.get(sid) else reason
        for sid, reason in zip(unmatched["study_id"], unmatched["reason"])
    ]
    return unmatched.assign(reason=reasons)


def parse_timestamps(values: pd.Series) -> pd.Series:
    """ISO 8601 date/times as UTC (a date alone is midnight; no zone is UTC); anything else NaT.

    Each value is read on its own terms: pandas otherwise infers one format from the first
    value and makes every differently written one NaT, which sorted a ``2026-01-01T10:00:00Z``
    after a ``2026-01-02`` and let the older decision win. Only ISO 8601 is accepted because a
    spreadsheet's ``02/04/2026`` is 2 April or 4 February depending on who typed it.
    """
    return pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")


def overruled_decisions(ordered: pd.DataFrame) -> dict[int, list[str]]:
    """File line of each standing decision -> the earlier decisions on the same (study,
    dimension, code) that said otherwise (``"ann's remove (line 3)"``), oldest first.

    ``ordered``: the decisions in the order they apply (time, then file line). Why: when two
    reviewers disagree the later decision wins, and the other one vanished from the outputs;
    screening names the decision its standing one overrules, and so do code decisions now.
    """
    out: dict[int, list[str]] = {}
    for _, group in ordered.groupby(["study_id", "dimension", "code"], sort=False):
        if len(group) < 2:
            continue
        *earlier, last = group.itertuples(index=False)
        said = [f"{d.reviewer}'s {d.action} (line {d.line})" for d in earlier if d.action != last.action]
        if said:
            out[int(last.line)] = said
    return out


def apply_decisions(
    machine: pd.DataFrame, decisions: pd.DataFrame | None, codebook: Codebook, study_ids: set[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (assignments with reviewers' decisions applied, decisions about unknown studies)."""
    unmatched_cols = [*DECISION_COLUMNS, "line", "reason"]
    if decisions is None or decisions.empty:
        return machine.copy(), pd.DataFrame(columns=unmatched_cols)
    out = machine.copy()
    order = decisions.assign(_t=parse_timestamps(decisions["timestamp"]))
    order = order.sort_values(["_t", "line"], kind="stable")
    latest = order.groupby(["study_id", "dimension", "code"], sort=True).tail(1)
    overrules = overruled_decisions(order)
    known = latest["study_id"].isin(study_ids)
    unmatched = latest[~known].drop(columns="_t").assign(reason="study is not among the studies coded in this run")
    for row in latest[known].sort_values(["_t", "line"], kind="stable").itertuples(index=False):
        same = (out["study_id"] == row.study_id) & (out["dimension"] == row.dimension)
        if row.action == "remove":
            hit = same & (out["code"] == row.code) & (out["status"] == "assigned")
        else:
            hit = same & (out["status"] == "uncoded")
            if not codebook.dimension(row.dimension).multi_label:
                # single-label: the reviewer's code replaces whatever was chosen before
                hit |= same & (out["status"] == "assigned") & (out["code"] != row.code)
        # a machine row names the reviewer who took it away; a reviewer's own code replaced by a
        # later one keeps its author (it named the later reviewer, as if they had added it)
        by_reviewer = hit & (out["method"] == "reviewer")
        out.loc[hit & ~by_reviewer, ["status", "reviewer", "timestamp"]] = ["removed", row.reviewer, row.timestamp]
        out.loc[by_reviewer, "status"] = "removed"
        out.loc[by_reviewer, "evidence"] = out.loc[by_reviewer, "evidence"] + (
            f"; replaced by {row.reviewer}'s {row.code} (decisions line {row.line})")
        verb = "added" if row.action == "add" else "removed"
        new_row = {
            "study_id": row.study_id,
            "dimension": row.dimension,
            "code": row.code,
            "method": "reviewer",
            "status": "assigned" if row.action == "add" else "removed",
            "score": 1.0,
            "evidence": f"{verb} by reviewer (decisions line {row.line})"
            + "".join(f"; overrules {o}" for o in overrules.get(int(row.line), [])),
            "model_id": "",
            "codebook_version": codebook.version,
            "reviewer": row.reviewer,
            "timestamp": row.timestamp,
        }
        out = pd.concat([out, pd.DataFrame([new_row], columns=out.columns)], ignore_index=True)
    return out.reset_index(drop=True), unmatched.reset_index(drop=True)[unmatched_cols]
