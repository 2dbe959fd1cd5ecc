"""Reviewers' duplicate decisions (``data/decisions/duplicates.csv``) and previous study keys.

The decisions file is an input only: the pipeline reads it on every run and its decisions
always win over the algorithm. Each row names two records, ``same`` or ``different``, the
reviewer and the time. A malformed row is a user error naming the file and line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from evreview.decisionfiles import read_rows, reviewer_key
from evreview.errors import ConfigError
from evreview.records import gone_id_hint

DECISION_COLUMNS = ("record_id_a", "record_id_b", "decision", "reviewer", "timestamp")
VALID_DECISIONS = frozenset({"same", "different"})


def empty_decisions() -> pd.DataFrame:
    """A decisions table with no rows."""
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in (*DECISION_COLUMNS, "line", "overruled")})


def validate_decisions(frame: pd.DataFrame, path: str | Path = "<decisions>") -> pd.DataFrame:
    """Check and normalise a decisions table; the last row about a pair wins.

    Two reviewers may disagree about a pair. The last row still wins, as the file's order is
    the reviewers' own, but the disagreement must not vanish: ``overruled`` names every other
    reviewer whose own latest word on the pair differs ("alice: different (line 3)"), so the
    run can list it for resolution. A reviewer changing their own mind is no conflict.

    Raises :class:`ConfigError` naming the line for a missing column, an empty record id, a
    pair of a record with itself or a decision other than same/different.
    """
    missing = [c for c in DECISION_COLUMNS if c not in frame.columns]
    if missing:
        raise ConfigError(f"missing column(s) {', '.join(missing)}; expected {', '.join(DECISION_COLUMNS)}",
                          path=path)
    out = frame.loc[:, list(DECISION_COLUMNS)].copy()
    for col in DECISION_COLUMNS:
        out[col] = out[col].map(lambda v: "" if v is None or v != v else str(v).strip()).astype(object)
    out["decision"] = out["decision"].str.lower()
    lines = frame["line"].tolist() if "line" in frame else list(range(2, len(frame) + 2))
    out["line"] = lines
    for row in out.itertuples(index=False):
        if not row.record_id_a or not row.record_id_b:
            raise ConfigError("record_id_a and record_id_b must both be given", path=path, line=row.line)
        if row.record_id_a == row.record_id_b:
            raise ConfigError(f"a record cannot be paired with itself ({row.record_id_a})", path=path, line=row.line)
        if row.decision not in VALID_DECISIONS:
            raise ConfigError(f"decision must be 'same' or 'different', not {row.decision!r}",
                              path=path, line=row.line)
        if not row.reviewer:
            raise ConfigError("reviewer is empty: every decision names its reviewer", path=path, line=row.line)
    a = out[["record_id_a", "record_id_b"]].min(axis=1)
    b = out[["record_id_a", "record_id_b"]].max(axis=1)
    out["record_id_a"], out["record_id_b"] = a, b
    out["overruled"] = _overruled(out)
    out = out.drop_duplicates(["record_id_a", "record_id_b"], keep="last")
    return out.sort_values(["record_id_a", "record_id_b"], kind="stable").reset_index(drop=True)


def _overruled(rows: pd.DataFrame) -> list[str]:
    """Per row: the other reviewers' latest decisions on its pair that differ from it ("" if none)."""
    latest: dict[tuple[str, str], dict[str, tuple[str, int]]] = {}
    for a, b, decision, reviewer, line in zip(rows["record_id_a"], rows["record_id_b"], rows["decision"],
                                              rows["reviewer"], rows["line"]):
        # one reviewer whatever the case of the name ("Ana", "ana"), as in screening.csv
        latest.setdefault((a, b), {})[reviewer_key(reviewer)] = (decision, int(line), reviewer)
    out = []
    for a, b, decision, reviewer in zip(rows["record_id_a"], rows["record_id_b"], rows["decision"], rows["reviewer"]):
        others = latest[(a, b)]
        out.append("; ".join(f"{name}: {said} (line {line})" for who, (said, line, name) in others.items()
                             if who != reviewer_key(reviewer) and said != decision) if len(others) > 1 else "")
    return out


def read_decisions(path: str | Path) -> pd.DataFrame:
    """Read and validate a reviewers' duplicate decisions CSV (absent file = no decisions).

    Read like the other decision files (:mod:`evreview.decisionfiles`): Excel's empty rows
    and header names in any case are accepted, a ``;``-separated or non-UTF-8 file is an
    error naming the line.
    """
    path = Path(path)
    if not path.exists():
        return empty_decisions()
    header, rows = read_rows(path, DECISION_COLUMNS)
    if not header:  # an empty file, like a missing one
        return empty_decisions()
    frame = pd.DataFrame([{**row, "line": line} for line, row in rows], columns=[*header, "line"])
    return validate_decisions(frame, path)


def check_known(decisions: pd.DataFrame, record_ids: Iterable[str], path: str | Path = "<decisions>") -> None:
    """Every record a decision names must be in the run; otherwise a ConfigError with its line.

    Record ids are stable (search round, file, position), so a decision naming no record is a
    typo or an export that was replaced: skipping it would quietly lose the reviewer's word
    (the screening stage treats an unknown key the same way).
    """
    known = set(map(str, record_ids))
    unknown = [(rid, int(line)) for a, b, line in zip(decisions["record_id_a"], decisions["record_id_b"],
                                                      decisions["line"])
               for rid in (a, b) if rid not in known]
    if unknown:
        rid, line = min(unknown, key=lambda u: u[1])
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise ConfigError(f"record {rid!r} is not a record_id of this run{more}{gone_id_hint(rid)}",
                          path=path, line=line)


def read_previous(path: str | Path) -> dict[str, str]:
    """record_id -> study_id from a previous run's ``duplicates.csv``."""
    path = Path(path)
    if not path.exists():
        raise ConfigError("no such previous duplicates file", path=path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    for col in ("record_id", "study_id"):
        if col not in frame:
            raise ConfigError(f"missing column {col!r} (expected a duplicates.csv from evreview dedup)", path=path)
    return normalise_previous(dict(zip(frame["record_id"], frame["study_id"])))


def normalise_previous(previous: Mapping[str, str] | None) -> dict[str, str]:
    """Drop empty entries of a record_id -> study_id mapping."""
    if not previous:
        return {}
    return {str(k): str(v) for k, v in previous.items() if k and v and v == v}
