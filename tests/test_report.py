"""The run report: counts from the ledger, escaped text, no script, deterministic."""

from __future__ import annotations

import re
from pathlib import Path

from test_ledger_prisma import _tables

from evreview.ledger import build_ledger
from evreview.report import ReportInputs, render_report


def test_report_counts_escape_and_determinism(tmp_path: Path):
    export = tmp_path / "scopus.ris"
    export.write_text("TY  - JOUR\nER  - \n", encoding="utf-8")
    ledger = build_ledger(_tables())
    inputs = ReportInputs(
        title="Review <script>alert(1)</script>",
        ledger=ledger,
        input_files=[export],
        searches={"round1": {"date": "2024-03-15", "description": "first <b>search</b>"}},
        gaps_md="# Gaps\n\n## Absolute gaps (1)\n\n- no study on <img src=x onerror=alert(1)>\n",
        stopping={"method": "hypergeometric", "recall_estimate": 0.9},
    )
    page = render_report(inputs)
    assert "<script>" not in page and "<img src=x" not in page and "<b>search</b>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<td>duplicate</td><td>3</td>" in page and "<td>total</td><td>13</td>" in page
    assert "hypergeometric" in page
    assert render_report(inputs) == page


def test_report_lists_rounds_and_what_changed(tmp_path: Path):
    from test_ledger_prisma import _two_round_tables

    from evreview.changes import compute_changes
    from evreview.rounds import load_rounds

    raw = tmp_path / "raw"
    for name, files in (("2024-01_a", ("scopus.ris", "wos.txt")), ("2023-12_b", ("pubmed.nbib",))):
        (raw / name).mkdir(parents=True)
        for f in files:
            (raw / name / f).write_text("x", encoding="utf-8")
    (raw / "2023-12_b" / "search.yaml").write_text("date: 2024-06-01\ndescription: update <i>b</i>\n",
                                                   encoding="utf-8")
    rounds = load_rounds(raw, {"2024-01_a": {"date": "2024-01-10"}})
    ledger = build_ledger(_two_round_tables())
    changes = compute_changes(ledger, list(rounds["round"]), rounds=rounds)
    page = render_report(ReportInputs(title="R", ledger=ledger, rounds=rounds, changes=changes))
    assert "<h3>Search rounds</h3>" in page and "update &lt;i&gt;b&lt;/i&gt;" in page
    row = "<td>2024-01_a</td><td>2024-01-10</td><td>config</td><td></td><td>scopus.ris; wos.txt</td><td>13</td>"
    assert row in page
    assert "<td>2023-12_b</td><td>2024-06-01</td><td>search.yaml</td>" in page
    assert "What changed since the previous round" in page
    assert "<th>of which duplicates of studies found in earlier searches</th><td>2</td>" in page
    assert "<td>s102</td>" in page  # the one new inclusion
    nothing = {"status": "first_round", "message": "first round: nothing to compare"}
    first = render_report(ReportInputs(title="R", ledger=ledger, changes=nothing))
    assert "<p>first round: nothing to compare</p>" in first and "Search rounds" not in first


def test_report_command_reads_changes_json_or_names_the_bad_file(tmp_path: Path):
    import argparse
    import json

    import pytest

    from evreview.errors import EvreviewError
    from evreview.report.commands import register
    from evreview.reporting import write_csv

    write_csv(build_ledger(_tables()), tmp_path / "ledger.csv")
    changes = tmp_path / "changes.json"
    changes.write_text(json.dumps({"status": "first_round", "message": "first round: nothing to compare"}),
                       encoding="utf-8")
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    config = Path(__file__).resolve().parents[1] / "config" / "config.yaml"
    argv = ["report", "--config", str(config), "--ledger", str(tmp_path / "ledger.csv"), "--raw", str(tmp_path),
            "--changes", str(changes), "--out", str(tmp_path / "report.html")]
    args = parser.parse_args(argv)
    assert args.func(args) == 0
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "first round: nothing to compare" in page
    assert "<td>2024-03_initial</td><td>2024-03-15</td><td>config</td>" in page  # config round, no folder here
    changes.write_text("{not json", encoding="utf-8")
    with pytest.raises(EvreviewError, match=r"changes\.json: cannot read the changes file"):
        args.func(parser.parse_args(argv))
    # a truncated stopping.json was a JSONDecodeError traceback, a JSON list an AttributeError one
    stopping = tmp_path / "stopping.json"
    argv = [a for a in argv if a not in ("--changes", str(changes))]
    for text, message in (('{"stopping": {"n_scr', "cannot read the stopping file"),
                          ("[1, 2]", "the stopping file holds a JSON list, not an object")):
        stopping.write_text(text, encoding="utf-8")
        with pytest.raises(EvreviewError, match=rf"stopping\.json: {message}"):
            args.func(parser.parse_args([*argv, "--stopping", str(stopping)]))
    changes.write_text("[]", encoding="utf-8")
    with pytest.raises(EvreviewError, match=r"changes\.json: the changes file holds a JSON list"):
        args.func(parser.parse_args([*argv, "--changes", str(changes)]))


def test_write_atomically_keeps_the_old_file_and_no_temp_when_writing_fails(tmp_path) -> None:
    """Every writer goes through write_atomically: a failed write leaves the previous file whole."""
    import pytest

    from evreview.reporting import write_atomically

    target = tmp_path / "sub" / "table.csv"
    write_atomically(target, lambda tmp: tmp.write_text("old\n"))
    assert target.read_text() == "old\n"

    def broken(tmp):
        tmp.write_text("half a fi")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomically(target, broken)
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["table.csv"]


def test_pair_counts_are_pandas_value_counts_for_parquet_and_csv(tmp_path: Path):
    """Counted by Arrow from dictionary-encoded columns: the counts pandas' value_counts gave."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from evreview.report.commands import dedup_summary, pair_counts

    decision = ["same", "different", None, "maybe", "different", "", "same"] * 50
    rule = ["doi_match", "title_differs", "doi_match", None, "year_conflict", "é rule", "doi_match"] * 50
    frame = pd.DataFrame({"decision": decision, "rule": rule, "score": range(len(decision))})
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, tmp_path / "pairs.parquet", row_group_size=60)  # several dictionaries
    frame.to_csv(tmp_path / "pairs.csv", index=False)
    expected = {c: frame[c].value_counts().sort_index().to_dict() for c in ("decision", "rule")}
    assert pair_counts(tmp_path / "pairs.parquet") == expected
    as_text = pd.read_csv(tmp_path / "pairs.csv", dtype=str, keep_default_na=False)  # a missing cell reads ""
    assert pair_counts(tmp_path / "pairs.csv")["rule"] == as_text["rule"].value_counts().sort_index().to_dict()
    pq.write_table(table.slice(0, 0), tmp_path / "empty.parquet")
    assert pair_counts(tmp_path / "empty.parquet") == {} and pair_counts(tmp_path / "none.parquet") is None
    pq.write_table(table.select(["rule"]), tmp_path / "rules.parquet")
    assert pair_counts(tmp_path / "rules.parquet") == {"rule": expected["rule"]}
    summary = dedup_summary(build_ledger(_tables()), pair_counts(tmp_path / "pairs.parquet"))
    assert summary["pairs compared, by decision"] == expected["decision"]
    assert "pairs compared, by decision" not in dedup_summary(build_ledger(_tables()), {})
    # pairs reviewers disagree on (the dedup pairs table's overruled column) are counted
    frame["overruled"] = ["", "", "ana: different (line 2)", "", "", "", ""] * 50
    frame.to_parquet(tmp_path / "disagree.parquet", index=False)
    summary = dedup_summary(build_ledger(_tables()), pair_counts(tmp_path / "disagree.parquet"))
    assert summary["pairs reviewers disagree on (latest decision applied; see the pairs' overruled column)"] == 50
    assert not any(key.startswith("pairs reviewers disagree") for key in dedup_summary(
        build_ledger(_tables()), pair_counts(tmp_path / "pairs.parquet")))


def test_stopping_estimate_reads_as_words_with_agreement_and_nested_details():
    """The screen stage's stopping.json becomes sentences and tables, not JSON text."""
    from evreview.report import stopping_html

    stopping = {
        "method": "hypergeometric stopping test", "assumptions": "the ranking is no worse than random at the tail",
        "n_screened": 400, "n_total": 1000, "relevant_found": 38, "stop": False, "p_value": 0.2,
        "upper_bound_relevant_unseen": 12, "parameters": {"recall_target": 0.95, "confidence": 0.95},
        "ranker": {"classifier": {"model": "nb+svm", "C": 0.75}},
    }
    agreement = [{"reviewers": ["ann", "bob"], "n_common": 50, "n_agree": 45, "kappa": 0.78}]
    page = stopping_html({"stopping": stopping, "agreement": agreement})
    assert ("Screened 400 of 1,000 studies (included or excluded by consensus, of those the eligibility rules "
            "leave; maybes and conflicts not counted); 38 relevant found; at most 12 relevant studies may still "
            "be unseen.") in page
    assert "Keep screening" in page and "95%" in page
    assert "<td>ann / bob</td><td>50</td><td>45</td><td>0.78</td>" in page
    assert "{" not in page  # nested settings as nested tables
    assert "<th>model</th><td>nb+svm</td>" in page

    done = stopping_html({"stopping": {**stopping, "stop": True, "p_value": 0.01}, "agreement": []})
    assert "screening can stop" in done and "fewer than two reviewers" in done
    none = stopping_html({"stopping": {**stopping, "n_screened": 0, "relevant_found": 0}, "agreement": []})
    assert "No study has been screened yet" in none and "may still be unseen" not in none


def test_stopping_estimate_survives_missing_and_null_values():
    """An edited or older stopping.json: nulls and missing keys give a page, never a traceback."""
    from evreview.report import stopping_html

    flat = stopping_html({"stopping": {"method": "M-METHOD", "assumptions": "A-ASSUME", "p_value": 0.3},
                          "agreement": []})
    assert "M-METHOD" in flat and "A-ASSUME" in flat  # not worded, so both stay in the details
    nulls = stopping_html({"stopping": {"n_screened": 5, "n_total": 10, "stop": False, "p_value": None,
                                        "parameters": None, "relevant_found": None, "method": None},
                           "agreement": [{"reviewers": ["a", "b"], "n_common": 0, "n_agree": 0, "kappa": None},
                                         {"reviewers": ["a", "c"], "n_common": 4, "n_agree": 4, "kappa": 1.0}]})
    assert "maybes and conflicts not counted); 0 relevant found." in nulls and "Keep screening" in nulls
    assert "Screened 5 of 10 studies" in nulls
    assert "<td>a / b</td><td>0</td><td>0</td><td>n/a</td>" in nulls and "nan" not in nulls
    assert "Method: ." not in nulls
    empty = stopping_html({"stopping": {"n_screened": 0, "n_total": 0, "stop": False}, "agreement": []})
    assert "No study is waiting for screening." in empty


def test_report_screening_summary_tells_the_prisma_story(tmp_path: Path):
    """The run report's screening summary counted maybes as "awaiting screening" (4), beside a
    PRISMA diagram showing 3 awaiting screening and the maybe awaiting classification."""
    import argparse
    import json

    from evreview.prisma import prisma_counts
    from evreview.report.commands import register
    from evreview.reporting import write_csv

    ledger = build_ledger(_tables())
    counts = prisma_counts(ledger)
    write_csv(ledger, tmp_path / "ledger.csv")
    stopping = tmp_path / "stopping.json"
    stopping.write_text(json.dumps({"stopping": {"n_screened": 4, "n_total": 7, "stop": False}}), encoding="utf-8")
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    config = Path(__file__).resolve().parents[1] / "config" / "config.yaml"
    args = parser.parse_args(["report", "--config", str(config), "--ledger", str(tmp_path / "ledger.csv"),
                              "--raw", str(tmp_path), "--stopping", str(stopping), "--out", str(tmp_path / "r.html")])
    assert args.func(args) == 0
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<tr><th>awaiting screening</th><td>3</td></tr>" in page  # was 4: the maybe too
    assert "<tr><th>awaiting classification (maybe)</th><td>1</td></tr>" in page
    # the summary's lines add up to every record that reached screening (model exclusions too)
    rows = dict(re.findall(r"<tr><th>([^<]+)</th><td>(\d+)</td></tr>", page))
    lines = ("included", "excluded by rules", "excluded by reviewers", "excluded by the model",
             "awaiting screening", "awaiting classification (maybe)")
    assert sum(int(rows[k]) for k in lines) == int((~ledger["fate"].isin(["duplicate", "unparsed"])).sum())
    assert counts["awaiting_screening"] == 3 and counts["awaiting_classification"] == 1
    # the ranker's inclusions are named (a part of "included"): s008 was the machine's
    assert rows["of which included by the model"] == "1" and rows["included"] == "2"
