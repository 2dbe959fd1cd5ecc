"""Reviewers' screening decisions: plain append-only CSV files, conflicts and agreement.

``data/decisions/screening.csv`` has the columns ``key, decision, reviewer, reason,
timestamp``. ``key`` is a study_id or any member record_id (resolved through dedup's
duplicates table), so decisions survive a new search round that re-clusters records.
``decision`` is ``include``, ``exclude``, ``maybe`` or ``retract`` (written by the
session's undo: it withdraws that reviewer's latest decision on that key; the file is never
rewritten). For each (study, reviewer) the last row in file order wins.

The pipeline only reads these files; a malformed row is a ConfigError naming file and line.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from evreview.decisionfiles import decode_text, parse_rows, read_text, reviewer_key
from evreview.errors import ConfigError
from evreview.records import gone_id_hint

COLUMNS = ("key", "decision", "reviewer", "reason", "timestamp")
DECISIONS = ("include", "exclude", "maybe")
RETRACT = "retract"


def read_decisions(path: str | Path) -> pd.DataFrame:
    """Parse a decisions file into a frame with :data:`COLUMNS` plus ``line`` (1-based file line).

    A missing file means no decisions yet (empty frame). Every row is checked: a missing
    column, an empty key or reviewer, or an unknown decision raises ConfigError with the line.
    """
    path = Path(path)
    if not path.exists():
        return empty_decisions()
    return parse_decisions(read_text(path), path)


def empty_decisions() -> pd.DataFrame:
    """A decisions frame with no rows."""
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in (*COLUMNS, "line")})


def parse_decisions(text: str, path: str | Path = "<decisions>") -> pd.DataFrame:
    """Parse decisions CSV text (see :func:`read_decisions` and :mod:`evreview.decisionfiles`)."""
    rows: list[dict[str, Any]] = []
    for line, row in parse_rows(text, COLUMNS, path)[1]:
        decision = row["decision"].lower()
        if decision not in (*DECISIONS, RETRACT):
            raise ConfigError(
                f"decision {row['decision']!r} is not include, exclude, maybe or retract",
                path=path,
                line=line,
            )
        if not row["key"]:
            raise ConfigError("empty key", path=path, line=line)
        if not row["reviewer"]:
            raise ConfigError("empty reviewer", path=path, line=line)
        rows.append({**{c: row[c] for c in COLUMNS}, "decision": decision, "line": line})
    if not rows:
        return empty_decisions()
    # "Alice" and "alice" are one reviewer (typed twice, or by another tool): as two, one
    # person disagreed with themself in conflicts.csv and in the kappa; the first spelling stays
    spelling: dict[str, str] = {}
    for row in rows:
        row["reviewer"] = spelling.setdefault(reviewer_key(row["reviewer"]), row["reviewer"])
    frame = pd.DataFrame(rows, columns=[*COLUMNS, "line"])
    frame["line"] = frame["line"].astype("int64")
    return frame


def reviewer_as_written(frame: pd.DataFrame, reviewer: str) -> str:
    """``reviewer`` as the decisions already spell it (case aside), so a session adds to its own."""
    known = {reviewer_key(name): name for name in frame["reviewer"].unique()} if len(frame) else {}
    return known.get(reviewer_key(reviewer), reviewer)


def _layout(path: Path) -> tuple[list[str] | None, bool]:
    """An existing file's header (None: no header yet) and whether its last line lacks a line end.

    A file written or edited by hand may order the columns differently, add its own (a reader
    matches them by name) or end without a newline; an appended row must follow it. This runs
    at every key pressed and the file grows by a row each time, so only its head (up to the
    first non-empty line) and its last byte are read.
    """
    head = b""
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(1 << 16)
            head += chunk
            if not chunk or any(line.strip(b" ,;\t\r") for line in head.split(b"\n")[:-1]):
                break
        fh.seek(-1, os.SEEK_END)
        unended = fh.read(1) not in (b"\n", b"\r")
    lines = head.split(b"\n")
    upto = next((n for n, line in enumerate(lines, 1) if line.strip(b" ,;\t\r")), len(lines))
    header = parse_rows(decode_text(b"\n".join(lines[:upto]), path), COLUMNS, path)[0]
    return header or None, unended


def key_map(duplicates: pd.DataFrame | None, study_ids: list[str]) -> dict[str, str]:
    """Every key a reviewer may use (study ids, member record ids) -> study_id.

    A study id that no longer exists still resolves: study ids are "s" + a record id, so
    when two studies merge (a reviewer's ``same`` in duplicates.csv, or a new round's record
    bridging them) the decisions made on the retired id follow its record into the merged
    study instead of stopping the run as an unknown key. Current study and record ids win.
    """
    from evreview.dedup.merge import retired_ids

    out = {s: s for s in study_ids}
    if duplicates is not None and len(duplicates):
        # lists, not Series: element access on Arrow-backed strings cost seconds at 200k records
        pairs = list(zip(duplicates["record_id"].astype(str).tolist(), duplicates["study_id"].astype(str).tolist()))
        for rid, sid in pairs:
            out.setdefault(rid, sid)
        for old, sid in retired_ids(pairs, set(study_ids)).items():
            out.setdefault(old, sid)
    return out


def resolve(decisions: pd.DataFrame, keys: Mapping[str, str], path: str | Path = "<decisions>") -> pd.DataFrame:
    """Add ``study_id`` to each decision; a key that names no study is an error with its line.

    Unknown keys are not dropped silently: a typo would otherwise lose a reviewer's decision.
    """
    out = decisions.copy()
    unknown = [(k, ln) for k, ln in zip(out["key"], out["line"]) if k not in keys]
    if unknown:
        key, line = unknown[0]
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise ConfigError(f"key {key!r} is not a known study_id or record_id{more}{gone_id_hint(key)}",
                          path=path, line=int(line))
    out["study_id"] = [keys[k] for k in out["key"]]
    return out


def latest(decisions: pd.DataFrame) -> pd.DataFrame:
    """Each reviewer's standing decision per study: the last row wins; a retraction withdraws.

    A ``retract`` row cancels that reviewer's most recent standing decision on the study,
    restoring the one before it (so undo twice goes back two steps).
    """
    stacks: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in decisions.sort_values("line", kind="stable").to_dict("records"):
        k = (row["study_id"], row["reviewer"])
        if row["decision"] == RETRACT:
            if stacks.get(k):
                stacks[k].pop()
        else:
            stacks.setdefault(k, []).append(row)
    rows = [s[-1] for s in stacks.values() if s]
    cols = [*COLUMNS, "line", "study_id"]
    if not rows:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    return pd.DataFrame(rows, columns=cols).sort_values(["study_id", "reviewer"], kind="stable").reset_index(
        drop=True
    )


def self_overruled(resolved: pd.DataFrame, standing: pd.DataFrame) -> dict[str, list[str]]:
    """study_id -> a note for each reviewer's own decision, made under another key, that their
    standing decision on the study overrules (``"ann's exclude of s0bc5... (line 9)"``).

    Keys are resolved to today's studies, so when two studies merge (a reviewer's ``same``, a
    new round's bridging record), one reviewer's include of the one and exclude of the other
    meet on one study and the later row wins (:func:`latest`). Which row is later says
    nothing about the merged study, and the other decision vanished without a trace: the note
    keeps it in the audit trail. ``resolved`` is :func:`resolve`'s output, ``standing`` :func:`latest`'s.
    """
    if len(resolved) == 0:
        return {}
    per_key = latest(resolved.assign(study_id=resolved["study_id"] + "\x00" + resolved["key"].astype(str)))
    per_key = per_key.assign(study_id=per_key["study_id"].str.split("\x00").str[0])
    won = {(r.study_id, r.reviewer): (r.key, r.decision) for r in standing.itertuples(index=False)}
    notes: dict[str, list[str]] = {}
    for row in per_key.sort_values("line", kind="stable").itertuples(index=False):
        key, decision = won.get((row.study_id, row.reviewer), (row.key, row.decision))
        if row.key != key and row.decision != decision:
            notes.setdefault(row.study_id, []).append(f"{row.reviewer}'s {row.decision} of {row.key} (line {row.line})")
    return notes


def conflicts(standing: pd.DataFrame) -> pd.DataFrame:
    """Studies on which reviewers disagree (one row per study, decisions listed by reviewer)."""
    rows = []
    for sid, group in standing.groupby("study_id", sort=True):
        if group["decision"].nunique() > 1:
            pairs = sorted(zip(group["reviewer"], group["decision"]))
            rows.append(
                {
                    "study_id": sid,
                    "reviewers": "; ".join(r for r, _ in pairs),
                    "decisions": "; ".join(f"{r}={d}" for r, d in pairs),
                }
            )
    return pd.DataFrame(rows, columns=["study_id", "reviewers", "decisions"])


def cohen_kappa(a: list[str], b: list[str]) -> float | None:
    """Cohen's kappa of two raters over the same items; ``None`` when undefined (no items).

    kappa = (p_o - p_e) / (1 - p_e); when both raters use a single identical category
    (p_e = 1) agreement is perfect and kappa is reported as 1.0.
    """
    n = len(a)
    if n == 0:
        return None
    cats = sorted(set(a) | set(b))
    p_o = sum(x == y for x, y in zip(a, b)) / n
    p_e = sum((a.count(c) / n) * (b.count(c) / n) for c in cats)
    if p_e >= 1.0:
        return 1.0
    return (p_o - p_e) / (1.0 - p_e)


def agreement(standing: pd.DataFrame) -> list[dict[str, Any]]:
    """Cohen's kappa for every pair of reviewers over the studies both decided."""
    reviewers = sorted(standing["reviewer"].unique()) if len(standing) else []
    by = {r: dict(zip(g["study_id"], g["decision"])) for r, g in standing.groupby("reviewer")}
    out = []
    for i, r1 in enumerate(reviewers):
        for r2 in reviewers[i + 1 :]:
            common = sorted(set(by[r1]) & set(by[r2]))
            k = cohen_kappa([by[r1][s] for s in common], [by[r2][s] for s in common])
            agree = sum(by[r1][s] == by[r2][s] for s in common)
            out.append(
                {
                    "reviewers": [r1, r2],
                    "n_common": len(common),
                    "n_agree": agree,
                    "kappa": None if k is None else round(k, 4),
                }
            )
    return out


def consensus(standing: pd.DataFrame) -> pd.DataFrame:
    """One decision per study: unanimous reviewers decide; disagreement leaves it ``conflict``.

    Columns: study_id, decision (include/exclude/maybe/conflict), reviewer (``;``-joined),
    reason, timestamp (latest).
    """
    rows = []
    for sid, g in standing.groupby("study_id", sort=True):
        decs = set(g["decision"])
        decision = decs.pop() if len(decs) == 1 else "conflict"
        rows.append(
            {
                "study_id": sid,
                "decision": decision,
                "reviewer": "; ".join(sorted(g["reviewer"])),
                "reason": "; ".join(r for r in g.sort_values("reviewer")["reason"] if r),
                "timestamp": max(g["timestamp"]),
            }
        )
    return pd.DataFrame(rows, columns=["study_id", "decision", "reviewer", "reason", "timestamp"])


def check_appendable(path: str | Path) -> None:
    """ConfigError naming ``path`` unless :func:`append_decision` can write to it (nothing is created).

    Checked when a session opens, so the reviewer learns it before deciding anything.
    """
    from evreview.outputs import first_existing

    path = Path(path)
    p = first_existing(path)
    if p is None:
        return
    if p == path and p.is_dir():
        problem = "it is a folder"
    elif p != path and not p.is_dir():
        problem = f"{p} is a file, not a folder"
    elif not os.access(p, os.W_OK | (os.X_OK if p != path else 0)):
        problem = "permission denied" if p == path else f"cannot create files in {p}: permission denied"
    else:
        return
    raise ConfigError(f"cannot write decisions here: {problem}", path=path)


def append_decision(path: str | Path, row: Mapping[str, str]) -> None:
    """Append one decision row and make it durable (flush + fsync) before returning.

    Writes the header first when the file has none; otherwise the row follows the file's own
    header (its column order, empty cells for columns of its own) and starts on a new line.
    This is the only writer of a decisions file and it only ever appends, so a session killed
    at any moment loses at most the key being pressed, never an earlier decision.
    """
    path = Path(path)
    try:
        _append(path, row)
    except OSError as exc:
        raise ConfigError(f"cannot write the decision ({row.get('key')}): {exc.strerror}", path=path) from None


def _append(path: Path, row: Mapping[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    header, unended = _layout(path) if path.exists() and path.stat().st_size else (None, False)
    buf = io.StringIO()
    if unended:
        buf.write("\n")
    writer = csv.writer(buf, lineterminator="\n")
    if header is None:
        header = list(COLUMNS)
        writer.writerow(header)
    writer.writerow([str(row.get(c, "")) for c in header])
    with open(path, "a", encoding="utf-8", newline="") as fh:
        fh.write(buf.getvalue())
        fh.flush()
        os.fsync(fh.fileno())
