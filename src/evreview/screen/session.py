"""``evreview screen``: an interactive terminal screening session.

Shows the next study by priority (title, abstract, year, source, highlighted rule terms);
keys ``i`` include, ``e`` exclude, ``m`` maybe, ``u`` undo, ``s`` skip, ``q`` quit (each
followed by Enter, so the session works on any terminal and from a script).

Kill safety: every key is appended to the decisions file and fsynced *before* the next study
is shown (:func:`evreview.screen.decisions.append_decision`); undo appends a ``retract`` row
instead of rewriting. Killing the process at any moment therefore loses nothing that was
confirmed on screen. The model is retrained after every decision (cheap: features are
fitted once, see :mod:`evreview.screen.ranker`).

The streams and the clock are injected, so tests drive a session with scripted keys.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from evreview.errors import EvreviewError
from evreview.screen import decisions as dec
from evreview.screen.features import build_features
from evreview.screen.pipeline import parse_options, study_table
from evreview.screen.ranker import Learner
from evreview.screen.rules import apply_rules, parse_rules, terms_of
from evreview.screen.stopping import hypergeometric_test

KEYS = {"i": "include", "e": "exclude", "m": "maybe"}
HELP = "[i]nclude  [e]xclude  [m]aybe  [u]ndo  [s]kip  [q]uit"
END_HELP = "[u]ndo the last decision  [q]uit"


def utc_now() -> str:
    """ISO-8601 UTC timestamp, second precision (the decisions file's time format)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def highlighter(terms: list[str], ansi: bool) -> Callable[[str], str]:
    """A function marking rule terms in text: bold on a terminal, ``[[term]]`` elsewhere."""
    pats = []
    for t in terms:
        parts = [re.escape(p) for p in t.split("*")]
        body = r"\w*".join(parts)
        if body.strip():
            pats.append(body.replace(r"\ ", r"\W+"))
    if not pats:
        return lambda s: s
    rx = re.compile(r"(?<!\w)(" + "|".join(pats) + r")(?!\w)", re.IGNORECASE)
    fmt = (lambda m: f"\x1b[1;33m{m.group(0)}\x1b[0m") if ansi else (lambda m: f"[[{m.group(0)}]]")
    return lambda s: rx.sub(fmt, s)


@dataclass
class Session:
    """State of one reviewer's session over a fixed set of studies."""

    studies: pd.DataFrame
    decisions_path: Path
    reviewer: str
    learner: Learner
    eligible: np.ndarray
    keys: dict[str, str]
    stopping_cfg: Any
    decided: dict[int, str] = field(default_factory=dict)
    sequence: list[int] = field(default_factory=list)
    history: list[int] = field(default_factory=list)
    skipped: set[int] = field(default_factory=set)

    def next_index(self) -> int | None:
        """Highest-scored eligible study this reviewer has not decided (ties: study_id order)."""
        open_ = np.array([self.eligible[i] and i not in self.decided and i not in self.skipped
                          for i in range(len(self.eligible))])
        idx = np.flatnonzero(open_)
        if not len(idx):
            return None
        priority = self.learner.priority()  # the model, or before one can be fitted the cold start
        if priority is None:
            return int(idx[0])
        s = priority[idx]
        return int(idx[np.lexsort((idx, -s))][0])

    def record(self, i: int, decision: str, now: str) -> None:
        """Append the decision durably, then update the model."""
        sid = self.studies["study_id"].iat[i]
        dec.append_decision(
            self.decisions_path,
            {"key": sid, "decision": decision, "reviewer": self.reviewer, "reason": "", "timestamp": now},
        )
        self.decided[i] = decision
        self.history.append(i)
        if decision in ("include", "exclude"):
            self.learner.add(i, 1 if decision == "include" else 0)
            self.sequence.append(1 if decision == "include" else 0)

    def undo(self, now: str) -> int | None:
        """Retract this session's latest decision (appends a ``retract`` row); returns its index."""
        if not self.history:
            return None
        i = self.history.pop()
        sid = self.studies["study_id"].iat[i]
        dec.append_decision(
            self.decisions_path,
            {"key": sid, "decision": dec.RETRACT, "reviewer": self.reviewer, "reason": "undo", "timestamp": now},
        )
        old = self.decided.pop(i)
        self.learner.remove(i)
        if old in ("include", "exclude") and self.sequence:
            self.sequence.pop()
        self.skipped.discard(i)
        return i

    def stopping(self) -> dict[str, Any]:
        return hypergeometric_test(self.sequence, int(self.eligible.sum()), self.stopping_cfg)


def open_session(
    studies: pd.DataFrame,
    decisions_path: str | Path,
    reviewer: str,
    rules_config: Mapping[str, Any] | None = None,
    model_config: Mapping[str, Any] | None = None,
    duplicates: pd.DataFrame | None = None,
    query: str | None = None,
) -> Session:
    """Build features once, apply rules, and replay the decisions already on file.

    ``query`` (the review question) orders the studies until a model can be fitted, as in the
    pipeline's worklist (:meth:`Learner.cold_scores`).
    """
    # the file keeps names as read back (stripped; a blank one makes the file unreadable), so the
    # session writes them so: "ann " would otherwise never find its own decisions on a restart
    reviewer = reviewer.strip()
    if not reviewer:
        raise EvreviewError("the reviewer name is empty")
    opts = parse_options(model_config)
    studies = study_table(studies)
    n = len(studies)
    X, Q = build_features(
        studies["title"] if "title" in studies else [""] * n,
        studies["abstract"] if "abstract" in studies else [""] * n,
        studies.get("keywords", None),
        opts.features,
        queries=[query] if query else [],
    )
    eligible = ~apply_rules(studies, rules_config)["rule_excluded"].to_numpy(dtype=bool)
    learner = Learner(X, opts.model, query=Q)
    path = Path(decisions_path)
    dec.check_appendable(path)
    frame = dec.read_decisions(path)
    reviewer = dec.reviewer_as_written(frame, reviewer)
    sess = Session(studies, path, reviewer, learner, eligible, {}, opts.stopping)
    ids = studies["study_id"].tolist()
    pos = {s: i for i, s in enumerate(ids)}
    if len(frame):
        resolved = dec.resolve(frame, dec.key_map(duplicates, ids), path)
        standing = dec.latest(resolved)
        # a reviewer's word beats the rules (the pipeline's order): a study another reviewer
        # decided stays in this reviewer's queue though a rule fails it, so double screening
        # can agree or disagree on it (hidden, a disagreement could never show)
        for sid in set(standing["study_id"]):
            sess.eligible[pos[sid]] = True
        # every reviewer's agreed decisions train the model; only this reviewer's hide studies
        for row in dec.consensus(standing).to_dict("records"):
            if row["decision"] in ("include", "exclude"):
                learner.add(pos[row["study_id"]], 1 if row["decision"] == "include" else 0)
        mine = standing[standing["reviewer"] == reviewer].sort_values("line")
        for row in mine.to_dict("records"):
            i = pos[row["study_id"]]
            sess.decided[i] = row["decision"]
            if row["decision"] in ("include", "exclude") and eligible[i]:
                sess.sequence.append(1 if row["decision"] == "include" else 0)
    return sess


def _field(row: Mapping[str, Any], name: str) -> str:
    v = row.get(name)
    if isinstance(v, (list, tuple)) or hasattr(v, "tolist"):
        return "; ".join(map(str, list(v)))
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return ""
    return str(v)


def render(sess: Session, i: int, mark: Callable[[str], str]) -> str:
    """The screen for study ``i``: progress, stopping estimate, then the record."""
    row = sess.studies.iloc[i].to_dict()
    total = int(sess.eligible.sum())
    done = sum(1 for j in sess.decided if sess.eligible[j])
    st = sess.stopping()
    stop_line = (
        f"stopping test: {'SAFE TO STOP' if st['stop'] else 'keep screening'} "
        f"(p={st['p_value']:.3f}, est. relevant unseen {st['estimated_relevant_unseen']}, "
        f"upper bound {st.get('upper_bound_relevant_unseen')})"
    )
    source = _field(row, "source_databases") or _field(row, "journal")
    return "\n".join(
        [
            "",
            f"--- {done}/{total} screened, {sum(sess.sequence)} included | {stop_line}",
            f"[{row['study_id']}]  {_field(row, 'year')}  {source}",
            mark(_field(row, "title")),
            "",
            mark(_field(row, "abstract")),
            "",
            HELP,
        ]
    )


def run_session(
    sess: Session,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    *,
    highlight_terms: list[str] | None = None,
    clock: Callable[[], str] = utc_now,
) -> int:
    """Run the key loop until ``q`` or end of input; returns decisions made.

    When no study is left, the last decision can still be undone (``u``); any other key ends.
    """
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    ansi = bool(getattr(stdout, "isatty", lambda: False)())
    mark = highlighter(highlight_terms or [], ansi)
    made = 0
    while True:
        i = sess.next_index()
        if i is None:
            skipped = f" ({len(sess.skipped)} skipped: shown again next session)" if sess.skipped else ""
            stdout.write(f"\nNothing left to screen{skipped}.\n")
            if not sess.history:
                stdout.flush()
                return made
            stdout.write(END_HELP + "\n> ")
        else:
            stdout.write(render(sess, i, mark) + "\n> ")
        stdout.flush()
        line = stdin.readline()
        if not line:
            return made
        key = line.strip().lower()[:1]
        if key == "q" or (i is None and key != "u"):
            return made
        if key in KEYS:
            sess.record(i, KEYS[key], clock())
            made += 1
        elif key == "u":
            j = sess.undo(clock())
            stdout.write("nothing to undo\n" if j is None else f"undone: {sess.studies['study_id'].iat[j]}\n")
        elif key == "s":
            sess.skipped.add(i)
        else:
            stdout.write(f"unknown key {line.strip()!r}; {HELP}\n")


def rule_terms(rules_config: Mapping[str, Any] | None) -> list[str]:
    """Positive terms of the rules' term queries, for highlighting."""
    rules = parse_rules(rules_config)
    out: list[str] = []
    for q in (rules.require, rules.exclude):
        if q is not None:
            out.extend(terms_of(q))
    return out
