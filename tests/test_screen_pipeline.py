"""The screen stage's pure function: authority order, ranking, determinism, worklist files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from evreview.errors import ConfigError
from evreview.screen.decisions import parse_decisions
from evreview.screen.pipeline import included_studies, screen_studies
from evreview.screen.worklist import to_ris, write_worklist

HEADER = "key,decision,reviewer,reason,timestamp\n"


@pytest.fixture()
def studies(fixtures_dir):
    return pd.read_csv(fixtures_dir / "screen" / "studies.csv", dtype={"year": "Int64"}, keep_default_na=False)


def decisions(text):
    return parse_decisions(HEADER + text)


RULES = {"languages": ["eng"], "exclude_doc_types": ["erratum"]}


def test_rules_reviewers_and_ranking(studies):
    d = decisions(
        "s001,include,ann,,2024-01-01T00:00:01Z\n"
        "s002,exclude,ann,off topic,2024-01-01T00:00:02Z\n"
        "s007,include,ann,,2024-01-01T00:00:03Z\n"  # French: reviewer overrides the language rule
        "s003,include,ann,,t\ns003,exclude,bob,,t\n"  # conflict
    )
    res = screen_studies(studies, RULES, d, {"model": "nb"})
    t = res.table.set_index("study_id")
    assert tuple(res.table.columns) == ("study_id", "status", "decided_by", "reason", "reviewer", "score",
                                        "rank", "evidence")
    assert t.loc["s001", ["status", "decided_by"]].tolist() == ["included", "reviewer"]
    assert t.loc["s002", ["status", "reason"]].tolist() == ["excluded", "off topic"]
    assert t.loc["s007", ["status", "decided_by"]].tolist() == ["included", "reviewer"]
    assert t.loc["s008", ["status", "decided_by", "reason"]].tolist() == ["excluded", "rule", "doc_type"]
    assert t.loc["s003", ["status", "reason"]].tolist() == ["undecided", "reviewer_conflict"]
    assert res.conflicts["study_id"].tolist() == ["s003"]
    assert res.agreement[0]["reviewers"] == ["ann", "bob"]
    # ranked: every open study (undecided/maybe) gets a rank, decided ones do not
    open_ = t[t["status"].isin(["undecided", "maybe"])]
    assert sorted(open_["rank"].tolist()) == list(range(1, len(open_) + 1))
    assert t.loc[["s001", "s002", "s008"], "rank"].isna().all()
    # the synthetic relevant studies (every 6th) outrank the others
    top = res.worklist["study_id"].head(3).tolist()
    assert set(top) <= {"s013", "s019", "s025"}
    assert list(res.worklist["rank"]) == sorted(res.worklist["rank"])
    assert json.dumps(res.stopping)  # JSON-able
    assert res.stopping["method"].startswith("hypergeometric")


def test_decisions_keyed_by_record_id_survive_reclustering(studies):
    dups = pd.DataFrame({"record_id": ["rA", "rB"], "study_id": ["s001", "s002"]})
    d = decisions("rA,include,ann,,t\nrB,exclude,ann,,t\n")
    t = screen_studies(studies, None, d, None, duplicates=dups).table.set_index("study_id")
    assert t.loc["s001", "status"] == "included" and t.loc["s002", "status"] == "excluded"


def test_unknown_decision_key_is_an_error(studies):
    with pytest.raises(ConfigError, match="nope"):
        screen_studies(studies, None, decisions("nope,include,ann,,t\n"), None)


NUDGE = "Nudges: how do default options and choice architecture change organ donation enrolment?"
RELEVANT = {"s001", "s007", "s013", "s019", "s025"}  # the fixture's nudge studies (every 6th)


def test_without_both_kinds_of_decision_there_are_no_scores(studies):
    res = screen_studies(studies, None, decisions("s002,exclude,ann,,t\n"), None)
    assert res.table["score"].isna().all()
    # no question and nothing included: a total, deterministic order (by study_id)
    assert res.worklist["study_id"].tolist() == sorted(res.worklist["study_id"])
    assert res.stopping["ranker"]["in_force"]["phase"] == "no model yet"


def test_cold_start_ranks_by_the_review_question_then_by_what_is_included(studies):
    """Before a model can be fitted the worklist follows the question and the inclusions, never scores."""
    first_day = screen_studies(studies, None, None, {"machine_include_above": -100.0}, query=NUDGE)
    assert set(first_day.worklist["study_id"].head(5)) == RELEVANT
    assert first_day.table["score"].isna().all() and (first_day.table["decided_by"] != "machine").all()
    assert first_day.stopping["ranker"]["in_force"]["phase"] == "cold start"
    one = screen_studies(studies, None, decisions("s001,include,ann,,t\n"), None)  # no question: the inclusion
    assert set(one.worklist["study_id"].head(4)) == RELEVANT - {"s001"}
    assert one.table["score"].isna().all()
    # once both kinds are decided the model ranks, and the question no longer matters
    both = decisions("s001,include,ann,,t\ns002,exclude,ann,,t\n")
    a = screen_studies(studies, None, both, None, query=NUDGE)
    b = screen_studies(studies, None, both, None)
    assert a.worklist["study_id"].tolist() == b.worklist["study_id"].tolist()
    assert a.table["score"].equals(b.table["score"])


def test_session_starts_where_the_worklist_does(studies, tmp_path):
    from evreview.screen.session import open_session

    res = screen_studies(studies, None, None, None, query=NUDGE)
    sess = open_session(studies, tmp_path / "screening.csv", "ann", None, None, query=NUDGE)
    assert sess.studies["study_id"].iat[sess.next_index()] == res.worklist["study_id"].iat[0]


def test_machine_inclusion_only_when_configured(studies):
    d = decisions("s001,include,ann,,t\ns002,exclude,ann,,t\n")
    plain = screen_studies(studies, None, d, {"model": "nb"})
    assert not (plain.table["decided_by"] == "machine").any()
    auto = screen_studies(studies, None, d, {"model": "nb", "machine_include_above": 0.0})
    m = auto.table[auto.table["decided_by"] == "machine"]
    assert len(m) > 0 and (m["score"] > 0).all() and (m["status"] == "included").all()
    assert json.loads(m["evidence"].iloc[0])["classifier"]["model"] == "nb"
    inc = included_studies(auto, studies)
    assert set(inc["decided_by"]) == {"reviewer", "machine"}


def test_machine_inclusion_turns_the_early_phase_off_and_ranking_alone_keeps_it(studies):
    d = decisions("s001,include,ann,,t\ns002,exclude,ann,,t\n")
    ranked = screen_studies(studies, None, d, None)
    assert ranked.stopping["ranker"]["classifier"]["early_share"] == 0.2
    assert ranked.stopping["ranker"]["in_force"] == {"phase": "early", "C": 0.11, "relevant_weight": 9.8}
    plain = screen_studies(studies, None, d, {"early_share": 0.0})
    auto = screen_studies(studies, None, d, {"machine_include_above": 0.0})
    assert auto.stopping["ranker"]["classifier"]["early_share"] == 0.0
    assert auto.stopping["ranker"]["in_force"] == {"phase": "later", "C": 0.75, "relevant_weight": 2.0}
    pd.testing.assert_series_equal(auto.table["score"], plain.table["score"])
    assert not auto.table["score"].equals(ranked.table["score"])  # 2 of 30 studies decided: early phase


def test_same_inputs_same_outputs_whatever_the_row_order(studies):
    d = decisions("s001,include,ann,,t\ns002,exclude,ann,,t\ns004,exclude,ann,,t\n")
    a = screen_studies(studies, RULES, d, {"model": "svm"})
    b = screen_studies(studies.sample(frac=1, random_state=3), RULES, d, {"model": "svm"})
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.worklist, b.worklist)
    assert a.stopping == b.stopping


def test_bad_model_config_is_a_config_error(studies):
    with pytest.raises(ConfigError):
        screen_studies(studies, None, None, {"model": "forest"})
    with pytest.raises(ConfigError):
        screen_studies(studies, None, None, {"features": {"ngrams": 3}})


@pytest.mark.parametrize("cmd", ["screen-report", "simulate"])
def test_cli_config_with_a_misspelt_section_stops_naming_the_key(tmp_path, capsys, cmd):
    """The workflow validates config.yaml; screen-report, screen and simulate read it raw, so
    ``screening: {rulez: ...}`` screened with no rules at all and exit 0."""
    from evreview.cli import main

    config = tmp_path / "config.yaml"
    config.write_text("screening:\n  rulez:\n    years: [2000, null]\n", encoding="utf-8")
    args = {"screen-report": ["--studies", str(tmp_path / "s.csv"), "--out", str(tmp_path / "out")],
            "simulate": [str(tmp_path / "l.csv"), "--label-column", "y", "--out", str(tmp_path / "out")]}[cmd]
    assert main([cmd, *args, "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert f"{config}: invalid config at screening" in err and "'rulez' was unexpected" in err
    assert "Traceback" not in err
    config.write_text("screening:\n  rules:\n    years: [2000, null]\n", encoding="utf-8")  # partial is fine
    from evreview.screen.commands import load_config

    assert load_config(config) == {"screening": {"rules": {"years": [2000, None]}}}


def test_worklist_csv_and_ris(studies, tmp_path):
    d = decisions("s001,include,ann,,t\ns002,exclude,ann,,t\n")
    res = screen_studies(studies, None, d, None)
    wl = res.worklist.copy()
    wl.loc[0, "title"] = "=HYPERLINK(evil)\nsecond line"
    write_worklist(wl, tmp_path / "w.csv", tmp_path / "w.ris")
    back = pd.read_csv(tmp_path / "w.csv", keep_default_na=False)
    assert back.loc[0, "title"].startswith("'=")
    ris = (tmp_path / "w.ris").read_text(encoding="utf-8")
    assert ris.count("TY  - JOUR") == len(wl) == ris.count("ER  - ")
    assert "TI  - =HYPERLINK(evil) second line" in ris
    first_id = ris.split("ID  - ", 1)[1].split("\n", 1)[0]
    assert first_id == wl.loc[0, "study_id"]
    assert to_ris(wl.head(0)) == ""
    assert np.isfinite(back["score"]).all()


def test_worklist_list_columns_are_joined_not_numpy_reprs(studies, tmp_path):
    """Parquet gives list columns back as NumPy arrays; the CSV must hold "a; b", the RIS one AU per author."""
    d = decisions("s001,include,ann,,t\ns002,exclude,ann,,t\n")
    wl = screen_studies(studies, None, d, None).worklist.copy()
    wl["authors"] = [np.array([f"Smith, J{i}", "Lee, K."], dtype=object) for i in range(len(wl))]
    wl.loc[1, "authors"] = None
    write_worklist(wl, tmp_path / "w.csv", tmp_path / "w.ris")
    back = pd.read_csv(tmp_path / "w.csv", dtype=str, keep_default_na=False)
    assert back.loc[0, "authors"] == "Smith, J0; Lee, K."
    assert back.loc[1, "authors"] == ""
    assert not back["authors"].str.contains(r"\[|'", regex=True).any()
    ris = (tmp_path / "w.ris").read_text(encoding="utf-8")
    first = ris.split("ER  - ", 1)[0]
    assert "AU  - Smith, J0\nAU  - Lee, K.\n" in first
    assert ris.count("AU  - ") == 2 * (len(wl) - 1)


def _one_line(text: str) -> str:
    """The reference fold: every run of white space to one space, none at either end."""
    return " ".join(text.split())


def _ris_reference(worklist: pd.DataFrame) -> str:
    """The earlier per-row RIS writer (row dicts), kept as the reference for the column-wise one."""
    from evreview.screen.worklist import _str

    lines: list[str] = []
    for row in worklist.to_dict("records"):
        lines += ["TY  - JOUR", f"ID  - {_str(row.get('study_id'))}"]
        if _str(row.get("title")):
            lines.append(f"TI  - {_one_line(_str(row['title']))}")
        authors = row.get("authors")
        if isinstance(authors, (list, tuple)) or hasattr(authors, "tolist"):
            lines += [f"AU  - {_one_line(str(a))}" for a in list(authors)]
        elif _str(authors):
            lines += [f"AU  - {a.strip()}" for a in _str(authors).split(";") if a.strip()]
        for tag, key in (("PY", "year"), ("JO", "journal"), ("DO", "doi"), ("AB", "abstract")):
            if _str(row.get(key)):
                value = _str(row[key])
                lines.append(f"{tag}  - {value if key in ('year', 'doi') else _one_line(value)}")
        lines += [f"N1  - evreview rank {_str(row.get('rank'))}; score {_str(row.get('score'))}", "ER  - ", ""]
    return "\n".join(lines)


def test_ris_writer_matches_row_by_row_reference(studies):
    """The column-wise RIS writer gives exactly what the per-row writer gave."""
    d = decisions("s001,include,ann,,t\ns002,exclude,ann,,t\n")
    wl = screen_studies(studies, None, d, None).worklist.copy()
    wl["authors"] = ["Doe, A.; Roe, B.", np.array(["X, Y"], dtype=object)] + [None] * (len(wl) - 2)
    wl.loc[2, "abstract"] = "line one\n\tline two"
    wl.loc[3, "score"] = np.nan
    wl.loc[4, "year"] = pd.NA
    wl.loc[5, "title"] = "   "  # whitespace only: an empty TI line, as before
    wl.loc[6, "journal"] = "\n"
    ris = to_ris(wl)
    assert ris == _ris_reference(wl)
    assert "AU  - Doe, A.\nAU  - Roe, B.\n" in ris and "AB  - line one line two" in ris
    assert to_ris(wl.drop(columns=["authors", "journal"])) == _ris_reference(wl.drop(columns=["authors", "journal"]))


def test_ris_pieces_and_author_lists_match_the_reference(studies, tmp_path):
    """Written in pieces, with clean author lists joined at once: the reference's text, whatever the names."""
    d = decisions("s001,include,ann,,t\ns002,exclude,ann,,t\n")
    wl = screen_studies(studies, None, d, None).worklist.copy()
    names = [
        ["Smith, J.", "Lee, K."], ["a  b", "c"], [" lead", "x"], ["trail ", "y"], ["pipe | spaced", "z"],
        ["x|", " y"], ["tab\tname"], ["line\nbreak", "ok"], [""], [], ["nbsp\u00a0name"], ["a", None, 3],
        ["é ü 中文"], ["|", "|"], ["\u2003em space"],
    ]
    wl["authors"] = [np.array(names[i % len(names)], dtype=object) for i in range(len(wl))]
    wl.loc[0, "authors"] = ("Tuple, A.", "  Spaced ")  # a tuple cell, not an array
    wl.loc[1, "authors"] = "Doe, A.;  Roe, B. ;"  # a text cell: split on ";" and stripped, not folded
    wl.loc[2, "title"] = "two  spaces\u00a0and nbsp\u2028"
    wl.loc[3, "abstract"] = " padded "
    reference = _ris_reference(wl)
    assert to_ris(wl) == reference
    from evreview.screen.worklist import ris_chunks

    for rows in (1, 2, 3, len(wl) - 1, len(wl)):
        assert "".join(ris_chunks(wl, rows)) == reference
    write_worklist(wl, tmp_path / "w.csv", tmp_path / "w.ris")
    assert (tmp_path / "w.ris").read_bytes() == reference.encode("utf-8")


def test_one_line_fast_path_is_the_split_join() -> None:
    """A printable string with no double space and no space at either end is already folded:
    str.isprintable is false for every white-space character but the space."""
    from evreview.screen.worklist import _folded
    from evreview.screen.worklist import _one_line as one_line

    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace()]
    assert all(not c.isprintable() for c in spaces if c != " ")
    samples = ["", " ", "a", "a b", "a  b", " a", "a ", "a\tb", "x\u3000y", "x\x1cy", "é ü", "a\u200bb"]
    samples += [f"a{c}b" for c in spaces] + [f"{c}a" for c in spaces] + [f"a{c}" for c in spaces]
    assert [one_line(t) for t in samples] == [_one_line(t) for t in samples] == _folded(samples)


def test_a_rule_exclusion_shows_the_value_that_failed(studies):
    """Evidence of a rule exclusion named only the rule ("failed: doc_type"): a reviewer
    auditing it had to look the study up to see what made it fail."""
    studies = studies.copy()
    studies.loc[studies["study_id"] == "s009", ["year", "language"]] = [1990, "ger"]
    t = screen_studies(studies, RULES, None, {"model": "nb"}).table.set_index("study_id")
    assert t.loc["s008", "evidence"] == "failed: doc_type (erratum)"
    assert t.loc["s007", "evidence"] == "failed: language (fre)"
    t = screen_studies(studies, {**RULES, "years": [1995, None]}, None, {"model": "nb"}).table.set_index("study_id")
    assert t.loc["s009", ["reason", "evidence"]].tolist() == ["year", "failed: year (1990); language (ger)"]


def test_a_reviewer_overruling_their_own_decision_on_a_merged_study_is_in_the_evidence(studies):
    """ann included s001 and excluded s002; then the two merged (s002's record r002 now in
    s001). Her later row wins, and her include of the other study vanished without a trace."""
    studies = studies[studies["study_id"] != "s002"]
    dups = pd.DataFrame({"record_id": ["r001", "r002", "r003"], "study_id": ["s001", "s001", "s003"]})
    d = decisions("s001,include,ann,,2024-01-01T00:00:01Z\n"
                  "s002,exclude,ann,off topic,2024-01-01T00:00:02Z\n"
                  "s003,include,ann,,2024-01-01T00:00:03Z\n"
                  "s003,exclude,ann,changed my mind,2024-01-01T00:00:04Z\n")  # same key: no note
    t = screen_studies(studies, None, d, None, duplicates=dups).table.set_index("study_id")
    assert t.loc["s001", ["status", "reason"]].tolist() == ["excluded", "off topic"]  # the later row still wins
    assert t.loc["s001", "evidence"].endswith("; overrules ann's include of s001 (line 2)")
    assert t.loc["s003", ["status", "evidence"]].tolist() == ["excluded", "exclude at 2024-01-01T00:00:04Z"]


def test_reviewers_who_disagree_are_not_overruled_by_a_rule(studies):
    """ann included the erratum s008, bob excluded it: the rule excluded it all the same, so
    ann's include vanished and the study left the worklist. Reviewers' decisions beat rules,
    disagreeing ones too: the conflict stays open for them, with what the rules would do."""
    d = decisions("s008,include,ann,,2024-01-01T00:00:01Z\ns008,exclude,bob,,2024-01-01T00:00:02Z\n"
                  "s007,maybe,ann,,2024-01-01T00:00:03Z\n")  # French: a maybe beats the language rule
    res = screen_studies(studies, RULES, d, {"model": "nb"})
    t = res.table.set_index("study_id")
    assert t.loc["s008", ["status", "decided_by", "reason"]].tolist() == ["undecided", "", "reviewer_conflict"]
    assert t.loc["s008", "evidence"] == "rules would exclude: doc_type (erratum)"
    assert pd.notna(t.loc["s008", "rank"]) and "s008" in res.worklist["study_id"].tolist()
    assert res.conflicts["study_id"].tolist() == ["s008"]
    assert t.loc["s007", ["status", "decided_by"]].tolist() == ["maybe", "reviewer"]
    # every rule exclusion is one the rules made on a study no reviewer decided
    assert (t["decided_by"] == "rule").sum() == (t["reason"].isin(["language", "doc_type"])).sum()
