"""What changed with a new search round: on the demo plus its update round, and on a constructed map."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from evreview.changes import FIRST_ROUND, MapInputs, changes_markdown, compute_changes, write_changes
from evreview.code.codebook import load_codebook
from evreview.config import load_config
from evreview.dedup import Deduplicator
from evreview.ingest import ingest_files
from evreview.ledger import StageTables, build_ledger, check_ledger
from evreview.maps import spec_from_config, vocab_from_codebook
from evreview.maps.cells import MapSpec
from evreview.prisma import check_reconciles, prisma_counts
from evreview.reporting import write_csv
from evreview.rounds import round_order, rounds_for

REPO = Path(__file__).resolve().parents[1]
TRUTH = REPO / "data" / "demo" / "truth"
ROUND1, ROUND2 = "2024-03_initial", "2025-03_update"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The demo review with its update round copied into a temporary ``data/raw``, ingested and
    deduplicated through the Python API; screening and codes from the planted truth."""
    root = tmp_path_factory.mktemp("two_rounds")
    raw = root / "data" / "raw"
    shutil.copytree(REPO / "data" / "raw" / ROUND1, raw / ROUND1)
    shutil.copytree(REPO / "data" / "demo" / "update_round" / ROUND2, raw / ROUND2)
    (raw / ROUND2 / "search.yaml").write_text("date: 2025-03-10\ndescription: update search\n", encoding="utf-8")
    files = sorted(p for p in raw.glob("*/*") if p.name != "search.yaml")
    ingested = ingest_files(files, root=root)
    records = ingested.records
    before = Deduplicator().fit(records[records["search"] == ROUND1])
    after = Deduplicator().fit(records)

    truth_records = pd.read_csv(TRUTH / "records.csv", dtype=str, keep_default_na=False)
    truth = pd.read_csv(TRUTH / "studies.csv", dtype=str, keep_default_na=False)
    dups = after.duplicates_.assign(study_key=after.duplicates_["record_id"].map(
        dict(zip(truth_records["record_id"], truth_records["study_key"]))))
    truth["study_id"] = truth["study_key"].map(dups.groupby("study_key")["study_id"].first())
    status = [
        ("excluded", "rule", rule) if rule else ("included", "reviewer", "") if inc == "1"
        else ("excluded", "reviewer", "off topic")
        for rule, inc in zip(truth["exclude_rule"], truth["include_expected"])
    ]
    screening = pd.DataFrame(status, columns=["status", "decided_by", "reason"]).assign(study_id=truth["study_id"])
    included = truth[screening["status"].to_numpy() == "included"]
    coded = pd.DataFrame(
        {
            "study_id": included["study_id"],
            "theme": included["themes"],
            "outcome_level": included["outcome_levels"],
            "evidence_type": included["evidence_type"],
            "stage": included["stage"],
            "place": included["place"],
        }
    )
    ledger = build_ledger(StageTables(records, ingested.problems, after.duplicates_, screening, coded))
    check_ledger(ledger)

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text(encoding="utf-8"))
    config["paths"]["raw"] = str(raw)
    config_path = root / "config.yaml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    config = load_config(config_path)
    codebook = REPO / "config" / "codebook.yaml"
    vocab = vocab_from_codebook(load_codebook(codebook))
    map_inputs = MapInputs(coded, spec_from_config(config["map"], vocab), vocab, tuple(config["map"]["cross"]))
    rounds = rounds_for(config, extra_rounds=set(ledger["search"]))
    changes = compute_changes(ledger, round_order(rounds, ledger["search"]), rounds=rounds, studies=after.studies_,
                              map_inputs=map_inputs)
    return {
        "root": root, "raw": raw, "records": records, "before": before, "after": after, "ledger": ledger,
        "coded": coded, "config_path": config_path, "codebook": codebook, "changes": changes,
        "truth_records": truth_records, "expected": json.loads((TRUTH / "expected_counts.json").read_text()),
    }


def test_old_study_ids_unchanged_by_the_update_round(demo):
    before = demo["before"].duplicates_.set_index("record_id")["study_id"]
    after = demo["after"].duplicates_.set_index("record_id")["study_id"]
    assert (after.loc[before.index] == before).all()
    assert demo["after"].n_studies_ == demo["expected"]["round2"]["unique_studies_after_update"]


def test_new_duplicates_of_old_studies_counted(demo):
    changes, expected = demo["changes"], demo["expected"]["round2"]
    s = changes["summary"]
    assert changes["status"] == "compared" and changes["latest_round"] == ROUND2
    assert s["new_records"] == expected["total_records"] == 60
    assert s["new_duplicates_of_previous_studies"] == expected["re_exported_round1_studies"] == 30
    assert s["new_studies"] == expected["new_studies"] == 30
    assert s["new_studies_included"] == expected["new_on_topic"] == 24
    assert s["previous_studies_included"] == demo["expected"]["round1"]["include_expected"] == 217
    assert s["total_studies_included"] == 241
    # every new study in one line of the summary (a maybe is awaiting classification, as in PRISMA)
    assert (s["new_studies_included"] + s["new_studies_excluded"] + s["new_studies_awaiting"]
            + s["new_studies_awaiting_classification"]) == s["new_studies"]
    # exactly the planted re-exports, each pointing at a round-1 study
    truth = demo["truth_records"]
    re_exports = set(truth.loc[truth["variations"].str.contains("re_export"), "record_id"])
    assert {d["record_id"] for d in changes["duplicates_of_previous"]} == re_exports
    round1_studies = set(demo["before"].duplicates_["study_id"])
    assert all(d["study_id"] in round1_studies and d["first_round"] == ROUND1
               for d in changes["duplicates_of_previous"])
    by_db = {r["database"]: r for r in changes["new_records_by_database"]}
    assert sum(r["records"] for r in by_db.values()) == 60
    assert sum(r["of_earlier_studies"] for r in by_db.values()) == 30
    round1 = [r for r in changes["records_by_round"] if r["round"] == ROUND1]
    assert sum(r["records"] for r in round1) == 401 and all(r["of_earlier_studies"] == 0 for r in round1)
    # the planted gaps still hold after the update (data/demo/truth/README.md): none closes
    closed = {(g["kind"], g["row"], g["column"]) for g in changes["map"]["gaps_closed"]}
    assert ("synthesis", "behaviours_values", "organisational") not in closed
    assert not any(g["filter_dimension"] == "" for g in changes["map"]["gaps_closed"])
    assert {(g["label_a"], g["label_b"]) for g in changes["map"].get("empty_combinations_closed", [])} == set()


def test_prisma_update_counts_reconcile_with_ledger(demo):
    ledger = demo["ledger"]
    counts = prisma_counts(ledger, order=[ROUND1, ROUND2])
    check_reconciles(counts, ledger)
    assert counts["template"] == "updated"
    assert counts["database_results"] == 60 and counts["previous_records"] == 401 == len(ledger) - 60
    assert counts["duplicates_of_previous"] == 30 == counts["duplicates"]
    assert counts["previous_studies"] == 217 and counts["new_studies"] == 24 and counts["total_studies"] == 241
    assert counts["records_screened"] == 30 and counts["records_excluded"] == 6
    assert counts["database_specific_results"] == {"PubMed": 14, "Scopus": 46}
    assert counts["total_studies"] == demo["changes"]["summary"]["total_studies_included"]


def _cli(argv: list[str]) -> int:
    from evreview.changes.commands import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_changes_command_writes_stable_json_and_markdown(demo, tmp_path: Path):
    root = demo["root"]
    ledger_csv, studies, coded = root / "ledger.csv", root / "studies.parquet", root / "coded.parquet"
    write_csv(demo["ledger"], ledger_csv)
    demo["after"].studies_.to_parquet(studies)
    demo["coded"].to_parquet(coded)
    argv = ["changes", "--ledger", str(ledger_csv), "--studies", str(studies), "--coded", str(coded),
            "--codebook", str(demo["codebook"]), "--config", str(demo["config_path"])]
    assert _cli([*argv, "--out-dir", str(tmp_path / "a")]) == 0
    # the command's file is byte-identical to the API's result written again (deterministic, sorted keys)
    write_changes(demo["changes"], tmp_path / "b")
    text = (tmp_path / "a" / "changes.json").read_text(encoding="utf-8")
    assert text == (tmp_path / "b" / "changes.json").read_text(encoding="utf-8")
    data = json.loads(text)
    assert list(data) == sorted(data) and list(data["summary"]) == sorted(data["summary"])
    assert [(r["round"], r["date"], r["date_source"]) for r in data["rounds"]] == [
        (ROUND1, "2024-03-15", "config"), (ROUND2, "2025-03-10", "search.yaml")
    ]
    md = (tmp_path / "a" / "changes.md").read_text(encoding="utf-8")
    assert "new records that are duplicates of previously found studies: 30" in md
    assert "## New inclusions (24)" in md

    # one round only: nothing to compare, said in both files
    one = demo["ledger"][demo["ledger"]["search"] == ROUND1]
    write_csv(one, root / "ledger1.csv")
    assert _cli(["changes", "--ledger", str(root / "ledger1.csv"), "--config", str(demo["config_path"]),
                 "--out-dir", str(tmp_path / "c")]) == 0
    first = json.loads((tmp_path / "c" / "changes.json").read_text(encoding="utf-8"))
    assert first["status"] == "first_round" and first["message"] == FIRST_ROUND
    assert FIRST_ROUND in (tmp_path / "c" / "changes.md").read_text(encoding="utf-8")


# --- a constructed case: every changed cell and every opened/closed gap known by hand ---------

VOCAB = {
    "theme": [("a", "A"), ("b", "B")],
    "outcome": [("x", "X"), ("y", "Y")],
    "evidence": [("case", "Case study"), ("long", "Longitudinal"), ("review", "Review")],
    "stage": [("setup", "Set-up"), ("delivery", "Delivery")],
}
SPEC = MapSpec(rows="theme", columns="outcome", segment="evidence", filters=("stage",), sparse_threshold=1,
               synthesis_min_primary=3, review_dimension="evidence", review_code="review", min_filter_studies=2)
STUDIES = [
    # id, round, theme, outcome, evidence, stage
    ("s1", "r1", "a", "x", "case", "setup"),
    ("s2", "r1", "a", "x", "case", "delivery"),
    ("s3", "r1", "a", "y", "long", "delivery"),
    ("s4", "r1", "b", "x", "review", "delivery"),
    ("s5", "r2", "b", "y", "case", "delivery"),
    ("s6", "r2", "a", "x", "case", "delivery"),
    ("s7", "r2", "b", "x", "long", "setup"),
]


def _constructed() -> dict:
    records = pd.DataFrame(
        {
            "record_id": [f"r{i}" for i in range(len(STUDIES) + 1)],
            "search": [s[1] for s in STUDIES] + ["r2"],
            "source_file": [f"data/raw/{s[1]}/x.ris" for s in STUDIES] + ["data/raw/r2/x.ris"],
            "source_database": "Scopus",
            "source_index": range(len(STUDIES) + 1),
        }
    )
    # the last record is a round-2 copy of s2 (kept: the more complete copy)
    duplicates = pd.DataFrame(
        {
            "record_id": records["record_id"],
            "study_id": [s[0] for s in STUDIES] + ["s2"],
            "kept": [s[0] != "s2" for s in STUDIES] + [True],
        }
    )
    screening = pd.DataFrame({"study_id": [s[0] for s in STUDIES], "status": "included", "decided_by": "reviewer",
                              "reason": ""})
    coded = pd.DataFrame(
        {"study_id": [s[0] for s in STUDIES], "theme": [s[2] for s in STUDIES], "outcome": [s[3] for s in STUDIES],
         "evidence": [s[4] for s in STUDIES], "stage": [s[5] for s in STUDIES]}
    )
    ledger = build_ledger(StageTables(records, None, duplicates, screening, coded))
    return compute_changes(ledger, ["r1", "r2"], map_inputs=MapInputs(coded, SPEC, VOCAB, ("stage", "evidence")))


def test_changed_cells_and_gaps_on_a_constructed_case(tmp_path: Path):
    changes = _constructed()
    s = changes["summary"]
    assert s["new_studies"] == 3 and s["new_duplicates_of_previous_studies"] == 1
    assert s["previous_studies_included"] == 4 and s["total_studies_included"] == 7
    m = changes["map"]
    cells = {(c["row"], c["column"], c["segment"]): (c["n_before"], c["n_after"]) for c in m["cells_changed"]}
    assert cells == {
        ("a", "x", ""): (2, 3), ("a", "x", "case"): (2, 3),
        ("b", "x", ""): (1, 2), ("b", "x", "long"): (0, 1),
        ("b", "y", ""): (0, 1), ("b", "y", "case"): (0, 1),
    }
    assert next(c for c in m["cells_changed"] if c["row"] == "b" and c["column"] == "y")["studies_added"] == "s5"

    def keys(gaps: list[dict]) -> set[tuple]:
        return {(g["kind"], g["row"], g["column"], g["segment"], g["filter_code"]) for g in gaps}

    assert keys(m["gaps_opened"]) == {
        ("synthesis", "a", "x", "", ""),  # 3 primary studies now, still no review
        ("sparse", "b", "y", "", ""),  # from no study to one
        ("segment", "b", "y", "long", ""),
    }
    assert keys(m["gaps_closed"]) == {
        ("sparse", "b", "x", "", ""),
        ("absolute", "b", "y", "", ""),
        ("segment", "b", "x", "long", ""),
    }
    # reported now but not new: "no study on A x Y where stage = setup" was as true before, when
    # set-up had too few studies to be reported on its own
    assert not any(g["filter_code"] for g in m["gaps_opened"])
    assert [(g["code_a"], g["code_b"], g["n_studies_before"], g["n_studies"])
            for g in m["empty_combinations_closed"]] == [("setup", "long", 0, 1)]
    assert m["empty_combinations_opened"] == []

    md = changes_markdown(changes)
    assert "- B x Y: 0 -> 1 studies" in md and "## Gaps opened (3)" in md and "## Gaps closed (3)" in md
    paths = write_changes(changes, tmp_path)
    assert json.loads(paths["json"].read_text(encoding="utf-8")) == json.loads(json.dumps(changes))


def test_first_round_compares_nothing():
    records = pd.DataFrame({"record_id": ["r1", "r2"], "search": "r1", "source_file": "a.ris",
                            "source_database": "Scopus", "source_index": [0, 1]})
    changes = compute_changes(build_ledger(StageTables(records)))
    assert changes["status"] == "first_round" and changes["latest_round"] == "r1"
    assert changes["rounds"][0]["records"] == 2 and changes["rounds"][0]["date"] == "unknown"
    assert FIRST_ROUND in changes_markdown(changes)


def test_rounds_with_the_same_search_date_are_noted():
    """Two rounds dated alike were ordered by folder name alone, silently: one became "the
    latest search" and changes.md compared it with the other as if it came later."""
    records = pd.DataFrame({"record_id": ["r1", "r2", "r3"], "search": ["2024-a", "2024-b", "2025"],
                            "source_file": ["a.ris", "b.ris", "c.ris"], "source_database": "Scopus",
                            "source_index": [0, 0, 0]})
    rounds = pd.DataFrame({"round": ["2024-a", "2024-b", "2025"], "date": ["2024-03-01", "2024-03-01", "2025-03-01"],
                           "date_source": "config", "description": "", "files": [[], [], []]})
    changes = compute_changes(build_ledger(StageTables(records)), ["2024-a", "2024-b", "2025"], rounds=rounds)
    assert changes["notes"] == ["rounds 2024-a, 2024-b have the same search date 2024-03-01: they are ordered by "
                                "folder name, so 2024-b counts as the later search; if they are one search, put "
                                "their exports in one round folder"]
    assert "- note: rounds 2024-a, 2024-b have the same search date" in changes_markdown(changes)
    rounds.loc[1, "date"] = "2024-06-01"
    assert "notes" not in compute_changes(build_ledger(StageTables(records)), ["2024-a", "2024-b", "2025"],
                                          rounds=rounds)

def test_unreadable_inputs_are_user_errors(tmp_path: Path):
    from evreview.errors import EvreviewError

    config = REPO / "config" / "config.yaml"
    with pytest.raises(EvreviewError, match="no such ledger"):
        _cli(["changes", "--ledger", str(tmp_path / "none.csv"), "--config", str(config), "--out-dir", str(tmp_path)])
    records = pd.DataFrame({"record_id": ["r1"], "search": "r1", "source_file": "a.ris", "source_database": "",
                            "source_index": [0]})
    write_csv(build_ledger(StageTables(records)), tmp_path / "ledger.csv")
    with pytest.raises(EvreviewError, match="needs --codebook"):
        _cli(["changes", "--ledger", str(tmp_path / "ledger.csv"), "--config", str(config), "--coded",
              str(tmp_path / "c.csv"), "--out-dir", str(tmp_path)])

