"""The interactive session, driven by scripted keys without a tty; kill safety."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from evreview.errors import EvreviewError
from evreview.screen.decisions import append_decision, read_decisions
from evreview.screen.session import highlighter, open_session, run_session

# the real CLI, with the screening commands registered (the lead adds them to cli.py)
CLI = (
    "import sys, evreview.cli as c; c.COMMAND_MODULES = ('evreview.screen.commands',); "
    "sys.exit(c.main(sys.argv[1:]))"
)
CLOCK = iter(f"2024-01-01T00:00:{s:02d}Z" for s in range(60))


@pytest.fixture()
def studies(fixtures_dir):
    return pd.read_csv(fixtures_dir / "screen" / "studies.csv", dtype={"year": "Int64"}, keep_default_na=False)


class CheckingInput(io.StringIO):
    """Feeds scripted keys; before each key, records what the decisions file holds on disk."""

    def __init__(self, keys, path):
        super().__init__("".join(k + "\n" for k in keys))
        self.path = path
        self.on_disk = []

    def readline(self, *args):
        rows = read_decisions(self.path)
        self.on_disk.append(list(zip(rows["key"], rows["decision"])))
        return super().readline(*args)


def clock():
    return next(CLOCK)


def test_scripted_session_appends_each_key_before_showing_the_next(studies, tmp_path):
    path = tmp_path / "screening.csv"
    keys = ["i", "e", "m", "u", "x", "e", "q"]
    inp, out = CheckingInput(keys, path), io.StringIO()
    sess = open_session(studies, path, "ann", {"exclude_doc_types": ["erratum"]}, {"model": "nb"})
    made = run_session(sess, inp, out, clock=clock)
    assert made == 4
    # what was on disk when each key was asked for: every earlier key already there
    sizes = [len(s) for s in inp.on_disk]
    assert sizes == [0, 1, 2, 3, 4, 4, 5]
    rows = read_decisions(path)
    assert rows["decision"].tolist() == ["include", "exclude", "maybe", "retract", "exclude"]
    assert rows.loc[3, "key"] == rows.loc[2, "key"]  # undo retracts the last decision
    assert rows.loc[4, "key"] == rows.loc[2, "key"]  # ... and the study is shown again
    assert (rows["reviewer"] == "ann").all()
    text = out.getvalue()
    assert "unknown key 'x'" in text and "stopping test:" in text and "screened" in text
    assert "s008" not in rows["key"].tolist()  # rule-excluded studies are never shown


def test_session_resumes_from_the_file_and_ranks_by_the_model(studies, tmp_path):
    path = tmp_path / "screening.csv"
    path.write_text(
        "key,decision,reviewer,reason,timestamp\ns001,include,ann,,t\ns002,exclude,ann,,t\n", encoding="utf-8"
    )
    sess = open_session(studies, path, "ann", None, {"model": "nb"})
    assert sess.learner.ready
    out = io.StringIO()
    run_session(sess, io.StringIO("i\nq\n"), out, clock=clock)
    rows = read_decisions(path)
    # the first study shown after resuming is a synthetic relevant one (every 6th)
    assert rows["key"].iloc[-1] in {"s007", "s013", "s019", "s025"}
    assert "s001" not in out.getvalue()  # already decided by this reviewer


def test_highlighting_marks_rule_terms():
    mark = highlighter(["nudg*", "public administration"], ansi=False)
    assert mark("Nudging in Public  administration") == "[[Nudging]] in [[Public  administration]]"
    assert highlighter([], ansi=True)("x") == "x"


@pytest.mark.slow
def test_kill_mid_session_loses_nothing(studies, tmp_path):
    """A real process killed with SIGKILL keeps every decision it confirmed."""
    src = tmp_path / "studies.csv"
    studies.to_csv(src, index=False)
    path = tmp_path / "screening.csv"
    proc = subprocess.Popen(
        [sys.executable, "-c", CLI, "screen", "--studies", str(src), "--decisions", str(path),
         "--reviewer", "ann"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        for n, key in enumerate(["i", "e", "e"], start=1):
            proc.stdin.write(key + "\n")
            proc.stdin.flush()
            deadline = time.time() + 60
            while time.time() < deadline:
                if path.exists() and len(read_decisions(path)) == n:
                    break
                time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert read_decisions(path)["decision"].tolist() == ["include", "exclude", "exclude"]


def test_session_ranks_like_the_pipeline_when_machines_may_include(studies, tmp_path):
    """With ``machine_include_above`` the pipeline turns the ranker's early phase off; the
    interactive session, ranking for the same reviewers, must do the same."""
    from evreview.screen.pipeline import screen_studies

    path = tmp_path / "screening.csv"
    path.write_text(
        "key,decision,reviewer,reason,timestamp\ns001,include,ann,,t\ns002,exclude,ann,,t\n", encoding="utf-8"
    )
    config = {"machine_include_above": 5.0}
    sess = open_session(studies, path, "ann", None, config)
    assert sess.learner.config.early_share == 0.0
    piped = screen_studies(studies, None, read_decisions(path), config)
    scores = pd.Series(sess.learner.scores(), index=sess.studies["study_id"])
    expected = piped.table.set_index("study_id")["score"]
    open_ids = expected.dropna().index
    # the pipeline writes scores to 6 decimal places
    np.testing.assert_allclose(scores[open_ids].to_numpy(), expected[open_ids].to_numpy(), atol=1e-6)


def test_session_defaults_to_the_project_config(studies, tmp_path):
    """Run from the project folder, `evreview screen` uses config/config.yaml as the workflow does:
    here its review question (kinase signalling) decides the first study shown, not study-id order."""
    src = tmp_path / "studies.csv"
    studies.to_csv(src, index=False)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(
        "review:\n  title: Kinase inhibitors\n  question: 'Which kinase inhibitors block receptor signalling in tumour "
        "cells?'\n", encoding="utf-8")
    path = tmp_path / "screening.csv"
    out = subprocess.run(
        [sys.executable, "-c", CLI, "screen", "--studies", str(src), "--decisions", str(path), "--reviewer", "ann"],
        input="i\nq\n", capture_output=True, text=True, cwd=tmp_path, timeout=120, check=True,
    )
    first = read_decisions(path)["key"].tolist()
    assert len(first) == 1, out.stderr
    nudge = {"s001", "s007", "s013", "s019", "s025"}  # study-id order would start with s001
    assert first[0] not in nudge


def test_session_appends_where_the_config_keeps_the_decisions(studies, tmp_path):
    """With ``paths.decisions: reviews`` in the config, the session still wrote to
    data/decisions/screening.csv, which no run reads: the reviewer's decisions were lost."""
    src = tmp_path / "studies.csv"
    studies.to_csv(src, index=False)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(
        "review:\n  title: Nudges\npaths:\n  decisions: reviews\n  results: out\n", encoding="utf-8")
    (tmp_path / "out" / "dedup").mkdir(parents=True)
    pd.DataFrame({"record_id": ["r001"], "study_id": ["s001"]}).to_csv(tmp_path / "out" / "dedup" / "duplicates.csv",
                                                                       index=False)
    (tmp_path / "reviews").mkdir()
    # keyed by a record id: readable only through the duplicates table under paths.results
    (tmp_path / "reviews" / "screening.csv").write_text(
        "key,decision,reviewer,reason,timestamp\nr001,include,ann,,2024-01-01T00:00:00Z\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-c", CLI, "screen", "--studies", str(src), "--reviewer", "ann"],
                         input="e\nq\n", capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert "recorded in reviews/screening.csv" in out.stderr
    assert not (tmp_path / "data").exists()
    keys = read_decisions(tmp_path / "reviews" / "screening.csv")["key"].tolist()
    assert keys[0] == "r001" and len(keys) == 2 and keys[1] != "s001"  # s001 was decided already


@pytest.mark.parametrize("name", ["ann ", " ann", "ann\n"])
def test_reviewer_name_with_spaces_finds_its_decisions_after_a_restart(studies, tmp_path, name):
    """The file's reader strips names, so "ann " wrote rows a restart did not recognise as its own:
    every study was shown again and decided twice."""
    path = tmp_path / "screening.csv"
    run_session(open_session(studies, path, name, None, {"model": "nb"}), io.StringIO("i\ne\nq\n"), io.StringIO(),
                clock=clock)
    again = open_session(studies, path, name, None, {"model": "nb"})
    assert len(again.decided) == 2
    run_session(again, io.StringIO("i\nq\n"), io.StringIO(), clock=clock)
    rows = read_decisions(path)
    assert rows["key"].is_unique and (rows["reviewer"] == "ann").all()


def test_a_reviewer_name_in_another_case_is_the_same_reviewer(studies, tmp_path):
    """"Ann" and "ann" were two reviewers: a session as "ann" showed Ann's studies again, and a
    study each spelling decided differently was a conflict of one person with themself."""
    path = tmp_path / "screening.csv"
    run_session(open_session(studies, path, "Ann", None, {"model": "nb"}), io.StringIO("i\ne\nq\n"), io.StringIO(),
                clock=clock)
    again = open_session(studies, path, "ann", None, {"model": "nb"})
    assert len(again.decided) == 2
    run_session(again, io.StringIO("i\nq\n"), io.StringIO(), clock=clock)
    rows = read_decisions(path)
    assert rows["key"].is_unique and (rows["reviewer"] == "Ann").all()
    from evreview.screen import decisions as dec

    frame = dec.parse_decisions("key,decision,reviewer,reason,timestamp\ns1,include,Bo,,t1\ns1,exclude,bo ,,t2\n")
    standing = dec.latest(dec.resolve(frame, {"s1": "s1"}, "screening.csv"))
    assert standing["decision"].tolist() == ["exclude"]  # Bo changed their mind: no conflict
    assert dec.conflicts(standing).empty and dec.agreement(standing) == []

@pytest.mark.parametrize("name", ["", "  "])
def test_blank_reviewer_name_is_refused_before_anything_is_written(studies, tmp_path, name):
    """A blank name was written with the first key; the file then failed to read ("empty reviewer")
    for the next session and for screen-report."""
    path = tmp_path / "screening.csv"
    with pytest.raises(EvreviewError, match="reviewer name is empty"):
        open_session(studies, path, name, None, {"model": "nb"})
    assert not path.exists()


def test_unwritable_decisions_file_is_an_error_before_the_first_key(studies, tmp_path, monkeypatch):
    """A folder as --decisions, or a path under a file, was an IsADirectoryError/FileExistsError
    traceback (under a file: only after the first key, whose decision was lost)."""
    taken = tmp_path / "taken"
    taken.write_text("x", encoding="utf-8")
    for path, problem in [(tmp_path, "it is a folder"), (taken / "screening.csv", f"{taken} is a file, not a folder")]:
        with pytest.raises(EvreviewError) as err:
            open_session(studies, path, "ann", None, {"model": "nb"})
        assert str(err.value) == f"{path}: cannot write decisions here: {problem}"
    ro = tmp_path / "ro.csv"
    ro.write_text("key,decision,reviewer,reason,timestamp\n", encoding="utf-8")
    monkeypatch.setattr(os, "access", lambda p, mode: p != ro)  # as if read-only (root may write anyway)
    with pytest.raises(EvreviewError, match=r"ro\.csv: cannot write decisions here: permission denied"):
        open_session(studies, ro, "ann", None, {"model": "nb"})
    with pytest.raises(EvreviewError, match=r"cannot write the decision \(s1\)"):
        append_decision(taken / "screening.csv", {"key": "s1", "decision": "include", "reviewer": "ann"})
    with pytest.raises(EvreviewError, match="cannot read the file: Is a directory"):
        read_decisions(tmp_path)


def test_studies_without_or_with_repeated_study_ids_are_refused(studies, tmp_path):
    """ingest's records table (no study_id) was a KeyError traceback; a study_id given twice was
    shown and decided twice, and a restart then counted it as one (1/2 screened for ever)."""
    with pytest.raises(EvreviewError, match="studies table has no study_id column"):
        open_session(studies.drop(columns="study_id"), tmp_path / "d.csv", "ann")
    twice = pd.concat([studies.head(2), studies.head(1)])
    with pytest.raises(EvreviewError, match="studies table has study_id 's001' more than once"):
        open_session(twice, tmp_path / "d.csv", "ann")


def test_text_the_terminal_cannot_show_or_decode_does_not_end_the_session(studies, tmp_path, monkeypatch):
    """On a terminal whose encoding lacks a title's characters (latin-1 here; Windows' cp1252 when
    redirected) the session stopped with a UnicodeEncodeError traceback at that study."""
    import evreview.cli as cli

    src = tmp_path / "studies.csv"
    studies.assign(title="β-catenin 中文 signalling").to_csv(src, index=False)
    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, encoding="latin-1"))
    monkeypatch.setattr(sys, "stdin", io.StringIO("i\nq\n"))
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("evreview.screen.commands",))
    path = tmp_path / "screening.csv"
    assert cli.main(["screen", "--studies", str(src), "--decisions", str(path), "--reviewer", "ann"]) == 0
    sys.stdout.flush()
    assert "?-catenin ?? signalling" in raw.getvalue().decode("latin-1")
    assert len(read_decisions(path)) == 1
    # a byte that is not UTF-8 in the keys was a UnicodeDecodeError before even the first key counted
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"i\n\xe9\ne\nq\n"), encoding="utf-8"))
    assert cli.main(["screen", "--studies", str(src), "--decisions", str(path), "--reviewer", "ann"]) == 0
    assert read_decisions(path)["decision"].tolist() == ["include", "include", "exclude"]


def test_the_last_decision_can_be_undone_when_nothing_is_left(studies, tmp_path):
    """The session ended the moment the last study was decided, so a wrong last key could not be
    undone (and a restarted session has nothing to undo): it had to be edited out of the file."""
    path = tmp_path / "screening.csv"
    few = studies.head(2)
    out = io.StringIO()
    run_session(open_session(few, path, "ann", None, {"model": "nb"}), io.StringIO("s\ni\nu\ne\nq\n"), out,
                clock=clock)
    assert "Nothing left to screen (1 skipped: shown again next session)." in out.getvalue()
    rows = read_decisions(path)
    assert rows["decision"].tolist() == ["include", "retract", "exclude"]
    assert rows["key"].nunique() == 1
    done = tmp_path / "done.csv"  # nothing left and nothing decided in this session: it ends at once
    done.write_text("key,decision,reviewer,reason,timestamp\ns001,include,ann,,t\ns002,exclude,ann,,t\n",
                    encoding="utf-8")
    out = io.StringIO()
    assert run_session(open_session(few, done, "ann", None, {"model": "nb"}), io.StringIO("u\n"), out) == 0
    assert out.getvalue().strip() == "Nothing left to screen."
    assert len(read_decisions(done)) == 2


def test_a_study_a_reviewer_decided_stays_in_the_other_reviewers_queue_whatever_the_rules(studies, tmp_path):
    """The pipeline lets a reviewer's decision beat the rules; the session hid a rule-excluded
    study from the second reviewer although the first had included it, so the two could never
    disagree on it (no conflict, no kappa pair). A study nobody decided stays hidden."""
    path = tmp_path / "screening.csv"
    rules = {"years": [2100, None]}  # every study fails
    append_decision(path, {"key": "s001", "decision": "include", "reviewer": "ann", "reason": "",
                           "timestamp": "2024-01-01T00:00:00Z"})
    bob = open_session(studies, path, "bob", rules, {"model": "nb"})
    assert np.flatnonzero(bob.eligible).tolist() == [0]
    out = io.StringIO()
    run_session(bob, io.StringIO("e\nq\n"), out, clock=clock)
    rows = read_decisions(path)
    assert rows[rows["reviewer"] == "bob"]["key"].tolist() == ["s001"]
