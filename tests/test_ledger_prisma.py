"""Ledger fates and the PRISMA counts drawn from them must reconcile exactly."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from evreview.ledger import LedgerError, StageTables, build_ledger, check_ledger, fate_counts
from evreview.prisma import check_reconciles, draw_prisma, prisma_counts, prisma_table


def _records(n: int) -> pd.DataFrame:
    dbs = ["Scopus", "PubMed", "Web of Science"]
    return pd.DataFrame(
        {
            "record_id": [f"r{i:03d}" for i in range(n)],
            "search": "round1",
            "source_file": [f"data/raw/round1/{dbs[i % 3].lower()}.ris" for i in range(n)],
            "source_database": [dbs[i % 3] for i in range(n)],
            "source_index": [i // 3 for i in range(n)],
        }
    )


def _tables() -> StageTables:
    records = _records(12)
    # studies: s000 = {r000, r001, r002}; s003 = {r003, r004}; the rest singletons
    study = {f"r{i:03d}": f"s{i:03d}" for i in range(12)}
    study.update({"r001": "s000", "r002": "s000", "r004": "s003"})
    duplicates = pd.DataFrame(
        {
            "record_id": list(study),
            "study_id": list(study.values()),
            "kept": [rid not in {"r001", "r002", "r004"} for rid in study],
        }
    )
    screening = pd.DataFrame(
        [
            ("s000", "included", "reviewer", ""),
            ("s003", "excluded", "rule", "year_range"),
            ("s005", "excluded", "reviewer", "off topic"),
            ("s006", "excluded", "machine", "model"),
            ("s007", "maybe", "reviewer", ""),
            ("s008", "included", "machine", "model"),
            ("s009", "undecided", "", ""),
        ],
        columns=["study_id", "status", "decided_by", "reason"],
    )
    problems = pd.DataFrame(
        [
            {"search": "round1", "source_file": "data/raw/round1/scopus.ris", "source_index": 4,
             "severity": "error", "reason": "no fields"},
            {"search": "round1", "source_file": "data/raw/round1/scopus.ris", "source_index": 1,
             "severity": "warning", "reason": "truncated"},
        ]
    )
    coded = pd.DataFrame({"study_id": ["s000", "s008"]})
    return StageTables(records, problems, duplicates, screening, coded)


def test_every_record_has_one_fate():
    ledger = build_ledger(_tables())
    check_ledger(ledger)
    assert len(ledger) == 13  # 12 parsed + 1 unparsed
    counts = fate_counts(ledger)
    assert counts == {
        "unparsed": 1,
        "duplicate": 3,
        "excluded_automation": 1,
        "excluded_reviewer": 1,
        "excluded_machine": 1,
        "maybe": 1,
        "included": 2,
        "undecided": 3,  # s009 explicitly, s010 and s011 never screened
    }
    row = ledger.set_index("record_id").loc["r002"]
    assert row["fate"] == "duplicate" and row["duplicate_of"] == "r000"
    assert ledger["coded"].sum() == 2


def test_prisma_counts_reconcile_with_ledger(tmp_path: Path):
    ledger = build_ledger(_tables())
    counts = prisma_counts(ledger)
    check_reconciles(counts)
    assert counts["database_results"] == len(ledger)
    assert counts["duplicates"] == 3
    assert counts["excluded_automatic"] == 2
    assert counts["excluded_other"] == 1
    assert counts["records_screened"] == 4
    assert counts["records_excluded"] == 1
    assert counts["new_studies"] == 2
    assert counts["database_specific_results"] == {"PubMed": 4, "Scopus": 5, "Web of Science": 4}
    table = prisma_table(counts)
    assert list(table.columns) == ["data", "node", "box", "description", "boxtext", "tooltips", "url", "n"]
    assert table.set_index("data").loc["duplicates", "n"] == 3

    draw_prisma(counts, tmp_path / "a.svg", tmp_path / "a.png")
    draw_prisma(counts, tmp_path / "b.svg", tmp_path / "b.png")
    svg = (tmp_path / "a.svg").read_text()
    assert "Duplicate records (n = 3)" in svg  # text stays text
    for ext in ("svg", "png"):  # deterministic bytes
        a = hashlib.sha256((tmp_path / f"a.{ext}").read_bytes()).hexdigest()
        b = hashlib.sha256((tmp_path / f"b.{ext}").read_bytes()).hexdigest()
        assert a == b


@pytest.mark.parametrize("template", ["new", "updated"])
def test_records_from_trial_registers_are_counted_apart_from_databases(tmp_path: Path, template: str):
    """PRISMA 2020 has "Records identified from: Databases (n) / Registers (n)": the register box
    was always 0, and ClinicalTrials.gov's records were listed as one more database."""
    tables = _tables()
    tables.records.loc[tables.records["source_database"] == "Web of Science", "source_database"] = "ClinicalTrials.gov"
    ledger = build_ledger(tables)
    counts = prisma_counts(ledger, template=template)
    check_reconciles(counts, ledger)
    assert counts["database_specific_results"] == {"PubMed": 4, "Scopus": 5}
    assert counts["register_specific_results"] == {"ClinicalTrials.gov": 4}
    assert (counts["database_results"], counts["register_results"]) == (9, 4)
    table = prisma_table(counts).set_index("data")
    assert table.loc["register_results", "n"] == 4
    assert table.loc["register_specific_results", "n"] == "ClinicalTrials.gov, 4"
    draw_prisma(counts, tmp_path / "p.svg", tmp_path / "p.png")
    svg = (tmp_path / "p.svg").read_text()
    assert "Records identified from registers (n = 4):" in svg and "ClinicalTrials.gov (n = 4)" in svg
    # a register's records may not be dropped from the sum
    broken = dict(counts, register_specific_results={"ClinicalTrials.gov": 3})
    with pytest.raises(AssertionError, match="per-register"):
        check_reconciles(broken, ledger)


@pytest.mark.parametrize(
    ("name", "register"),
    [("ClinicalTrials.gov", True), ("ICTRP (WHO)", True), ("WHO International Clinical Trials Registry Platform", True),
     ("ISRCTN registry", True), ("The Netherlands Trial Register", True), ("ChiCTR", True),
     ("RePEc", False), ("PubMed", False), ("Cochrane Central Register of Controlled Trials", False)],
)
def test_a_register_is_known_by_its_short_or_full_name(name: str, register: bool):
    """CENTRAL is a database of trials, not a register; RePEc (economics) shares its acronym
    with Peru's register, which is known by its full name only."""
    from evreview.prisma import is_register

    assert is_register(name) is register


def test_maybe_studies_are_awaiting_classification_in_the_csv_as_in_the_diagram(tmp_path: Path):
    """A study a reviewer marked "maybe" is undecided: the diagram shows it as awaiting a
    decision, but the CSV counted it under "Reports excluded" (dbr_excluded, and assessed -
    excluded = included only held because of it). Both now say "Studies awaiting
    classification" (PRISMA 2020's term) with its own row, and no report is excluded."""
    ledger = build_ledger(_tables())
    counts = prisma_counts(ledger)
    check_reconciles(counts, ledger)
    table = prisma_table(counts).set_index("data")
    assert table.loc["dbr_excluded", "n"] == 0  # was "awaiting decision (maybe), 1": a report excluded
    assert table.loc["awaiting_classification", "n"] == 1
    assert "awaiting classification" in table.loc["awaiting_classification", "description"].lower()
    assert counts["awaiting_classification"] == 1 and counts["dbr_excluded"] == 0
    assert counts["dbr_assessed"] == 3 and counts["new_studies"] == 2
    draw_prisma(counts, tmp_path / "a.svg")
    svg = (tmp_path / "a.svg").read_text()
    assert "Reports excluded (n = 0)" in svg and "awaiting classification (maybe) (n = 1)" in svg
    assert "excluded / awaiting" not in svg
    # s008 was included by the ranker (machine_include_above), no reviewer saw it: the boxes say
    # so, as they say the ranker's exclusions ("automation tools"); s000 was a reviewer's
    assert counts["new_studies_included_by_machine"] == 1
    assert "of which included by the ranker, not a reviewer (n = 1)" in svg
    assert "of which decided by the ranker, not a reviewer (n = 1)" in svg

    # the updated template: the latest round's maybes only (none in round 2; s007 is round 1's)
    two = build_ledger(_two_round_tables())
    updated = prisma_counts(two, order=["2024-01_a", "2023-12_b"])
    check_reconciles(updated, two)
    assert updated["awaiting_classification"] == 0 and updated["dbr_excluded"] == 0


def _terminal_boxes(counts: dict) -> int:
    """The boxes a record ends in: each record identified is in exactly one of them."""
    return sum(counts[k] for k in ("duplicates", "excluded_automatic", "excluded_other", "awaiting_screening",
                                   "records_excluded", "dbr_notretrieved_reports", "dbr_excluded",
                                   "awaiting_classification", "new_studies"))


@pytest.mark.parametrize("template", ["new", "updated"])
def test_every_record_is_in_one_box_at_every_step(template: str):
    """Nothing is lost: what enters each box leaves it into the next ones, and the boxes a
    record ends in add up to the records identified (and, with every round, to the ledger)."""
    for tables, order in ((_tables(), None), (_two_round_tables(), ["2024-01_a", "2023-12_b"])):
        ledger = build_ledger(tables)
        counts = prisma_counts(ledger, order=order, template=template)
        check_reconciles(counts, ledger)
        assert counts["records_screened"] == counts["records_excluded"] + counts["dbr_sought_reports"]
        assert counts["dbr_sought_reports"] == counts["dbr_notretrieved_reports"] + counts["dbr_assessed"]
        assert counts["dbr_assessed"] == (counts["dbr_excluded"] + counts["awaiting_classification"]
                                          + counts["new_studies"])
        assert _terminal_boxes(counts) == counts["database_results"]
        assert _terminal_boxes(counts) + counts.get("previous_records", 0) == len(ledger)
    counts = prisma_counts(build_ledger(_tables()))
    for key, message in (("awaiting_classification", "assessed"), ("dbr_assessed", "sought"),
                         ("records_excluded", "screened")):
        with pytest.raises(AssertionError, match=message):
            check_reconciles({**counts, key: counts[key] + 1})


def test_ledger_refuses_inconsistent_stage_outputs():
    tables = _tables()
    broken = StageTables(tables.records, None, tables.duplicates.iloc[1:], None, None)
    with pytest.raises(LedgerError, match="missing from the dedup output"):
        build_ledger(broken)
    two_kept = tables.duplicates.copy()
    two_kept.loc[two_kept["record_id"] == "r001", "kept"] = True
    with pytest.raises(LedgerError, match="more than one kept"):
        build_ledger(StageTables(tables.records, None, two_kept))


def test_ledger_refuses_repeated_keys_and_any_broken_invariant():
    tables = _tables()
    twice = pd.concat([tables.duplicates, tables.duplicates.iloc[[5]]])
    with pytest.raises(LedgerError, match="record_id occurs more than once in the dedup output"):
        build_ledger(StageTables(tables.records, None, twice))
    screened_twice = pd.concat([tables.screening, tables.screening.iloc[[1]]])
    with pytest.raises(LedgerError, match="study_id occurs more than once in the screening table"):
        build_ledger(StageTables(tables.records, None, tables.duplicates, screened_twice))
    orphan = tables.duplicates.copy()
    orphan.loc[orphan["record_id"] == "r000", "kept"] = False  # s000 left without its kept record
    with pytest.raises(LedgerError, match="no kept record"):
        build_ledger(StageTables(tables.records, None, orphan))

    good = build_ledger(tables)
    check_ledger(good)
    broken = {
        "unknown fate": good.assign(fate=good["fate"].replace("maybe", "perhaps")),
        "more than one kept": good.assign(kept=good["kept"] | (good["record_id"] == "r001")),
        "no kept record": good.assign(kept=good["kept"] & (good["record_id"] != "r003")),
        "other than duplicate": good.assign(fate=good["fate"].where(good["record_id"] != "r002", "included")),
        "coded study is not included": good.assign(coded=good["coded"] | (good["record_id"] == "r005")),
    }
    for message, ledger in broken.items():
        with pytest.raises(LedgerError, match=message):
            check_ledger(ledger)


def test_ledger_rows_follow_search_file_and_position_whatever_the_record_order():
    tables = _tables()
    shuffled = tables.records.sample(frac=1, random_state=4)
    ledger = build_ledger(StageTables(shuffled, *[getattr(tables, f) for f in ("problems", "duplicates",
                                                                               "screening", "coded")]))
    pd.testing.assert_frame_equal(ledger, build_ledger(tables))
    parsed = ledger[ledger["fate"] != "unparsed"]
    assert parsed["record_id"].tolist() == sorted(parsed["record_id"], key=lambda r: (
        parsed.set_index("record_id").loc[r, "source_file"], parsed.set_index("record_id").loc[r, "source_index"]))


def test_ledger_before_dedup_treats_each_record_as_a_study():
    ledger = build_ledger(StageTables(_records(5)))
    check_ledger(ledger)
    assert (ledger["fate"] == "undecided").all() and ledger["kept"].all()


def _two_round_tables() -> StageTables:
    """Round 1 (``2024-01_a``) as in :func:`_tables`; round 2 (``2023-12_b``, a name that sorts
    first although it was searched later) adds: r100, a re-found copy of s000 that dedup keeps
    (more complete); r101, a re-found copy of s005; r102/r103, one new study (s102) found twice,
    included; r104 a new study excluded by a rule; r105 a new study not yet screened; and one
    unparsable record."""
    base = _tables()
    first = base.records.assign(search="2024-01_a")
    second = pd.DataFrame(
        {
            "record_id": [f"r{i}" for i in range(100, 106)],
            "search": "2023-12_b",
            "source_file": ["data/raw/2023-12_b/scopus.ris"] * 4 + ["data/raw/2023-12_b/pubmed.nbib"] * 2,
            "source_database": ["Scopus"] * 4 + ["PubMed"] * 2,
            "source_index": [0, 1, 2, 3, 0, 1],
        }
    )
    records = pd.concat([first, second], ignore_index=True)
    dups = base.duplicates.copy()
    dups.loc[dups["record_id"] == "r000", "kept"] = False  # round 2's copy r100 is the kept one now
    dups = pd.concat(
        [
            dups,
            pd.DataFrame(
                {
                    "record_id": ["r100", "r101", "r102", "r103", "r104", "r105"],
                    "study_id": ["s000", "s005", "s102", "s102", "s104", "s105"],
                    "kept": [True, False, True, False, True, True],
                }
            ),
        ],
        ignore_index=True,
    )
    screening = pd.concat(
        [
            base.screening,
            pd.DataFrame(
                [("s102", "included", "reviewer", ""), ("s104", "excluded", "rule", "year_range")],
                columns=["study_id", "status", "decided_by", "reason"],
            ),
        ],
        ignore_index=True,
    )
    problems = pd.concat(
        [
            base.problems.assign(search="2024-01_a"),
            pd.DataFrame([{"search": "2023-12_b", "source_file": "data/raw/2023-12_b/pubmed.nbib",
                           "source_index": 2, "severity": "error", "reason": "no title"}]),
        ],
        ignore_index=True,
    )
    return StageTables(records, problems, dups, screening, base.coded)


def test_prisma_updated_review_template_reconciles_with_ledger(tmp_path: Path):
    ledger = build_ledger(_two_round_tables())
    check_ledger(ledger)
    order = ["2024-01_a", "2023-12_b"]  # by search date, not by name
    counts = prisma_counts(ledger, order=order)
    check_reconciles(counts, ledger)
    assert counts["template"] == "updated" and counts["latest_round"] == "2023-12_b"
    assert counts["previous_records"] == 13 and counts["database_results"] == 7
    # r100 (kept copy of s000) and r101 (copy of s005) re-found an earlier study; r103 copies new s102
    assert counts["duplicates_of_previous"] == 2 and counts["duplicates"] == 3
    assert counts["excluded_other"] == 1 and counts["excluded_automatic"] == 1
    assert counts["awaiting_screening"] == 1 and counts["records_screened"] == 1
    assert counts["database_specific_results"] == {"PubMed": 3, "Scopus": 4}
    assert counts["previous_studies"] == 2 and counts["previous_reports"] == 2  # s000 and s008
    assert counts["new_studies"] == 1 and counts["new_reports"] == 1  # s102
    assert counts["total_studies"] == 3 == int((ledger["fate"] == "included").sum())
    # the first search's studies a reviewer has not finished with (s007 maybe; s009, s010, s011
    # undecided) were in no box of the updated template; the previous box counts them
    assert counts["previous_studies_awaiting"] == 4

    table = prisma_table(counts).set_index("data")
    assert list(prisma_table(counts).columns) == ["data", "node", "box", "description", "boxtext", "tooltips",
                                                  "url", "n"]
    assert table.loc["previous_studies", "node"] == "node5" and table.loc["previous_studies", "box"] == "box1"
    assert table.loc["previous_studies", "n"] == 2 and table.loc["previous_reports", "n"] == 2
    assert table.loc["new_studies", "n"] == 1 and table.loc["total_studies", "n"] == 3
    assert table.loc["total_reports", "n"] == 3 and table.loc["database_results", "n"] == 7

    draw_prisma(counts, tmp_path / "u.svg", tmp_path / "u.png")
    svg = (tmp_path / "u.svg").read_text()
    assert "Studies included in previous" in svg and "Total studies included in review (n = 3)" in svg
    assert "of studies found in earlier searches: 2" in svg
    assert "still awaiting screening (n = 4)" in svg
    assert table.loc["previous_studies_awaiting", "n"] == 4 and table.loc["previous_studies_awaiting", "box"] == "box1"

    # name order would make 2024-01_a the latest search: different boxes, still reconciling
    by_name = prisma_counts(ledger)
    check_reconciles(by_name, ledger)
    assert by_name["latest_round"] == "2024-01_a" and by_name["database_results"] == 13
    # the new-review template on demand: one flow over every record, same total
    flat = prisma_counts(ledger, order=order, template="new")
    check_reconciles(flat, ledger)
    assert flat["database_results"] == 20 and flat["total_studies"] == 3
    assert "previous_studies" not in set(prisma_table(flat)["data"])


def test_prisma_updated_template_on_one_round_and_mismatch_detected():
    ledger = build_ledger(_tables())
    counts = prisma_counts(ledger, template="updated")
    check_reconciles(counts, ledger)
    assert counts["previous_studies"] == 0 and counts["new_studies"] == counts["total_studies"] == 2
    assert counts["database_results"] == len(ledger)
    assert prisma_counts(ledger)["template"] == "new"
    with pytest.raises(AssertionError, match="ledger includes 2"):
        check_reconciles({**counts, "new_studies": 3, "total_studies": 3, "dbr_assessed": 4, "dbr_sought_reports": 4,
                          "records_screened": 5, "awaiting_screening": 2}, ledger)
    with pytest.raises(ValueError, match="template"):
        prisma_counts(ledger, template="old")


def test_prisma_command_orders_rounds_by_their_dates(tmp_path: Path):
    import argparse
    import json

    from evreview.ledger.commands import register
    from evreview.reporting import write_csv

    ledger = build_ledger(_two_round_tables())
    write_csv(ledger, tmp_path / "ledger.csv")
    raw = tmp_path / "raw"
    for name, date in (("2024-01_a", "2024-01-10"), ("2023-12_b", "2024-06-01")):
        (raw / name).mkdir(parents=True)
        (raw / name / "search.yaml").write_text(f"date: {date}\n", encoding="utf-8")
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    config = Path(__file__).resolve().parents[1] / "config" / "config.yaml"
    args = parser.parse_args(["prisma", "--ledger", str(tmp_path / "ledger.csv"), "--out-dir", str(tmp_path / "p"),
                              "--config", str(config), "--raw", str(raw)])
    assert args.func(args) == 0
    counts = json.loads((tmp_path / "p" / "prisma_counts.json").read_text(encoding="utf-8"))
    assert counts["latest_round"] == "2023-12_b" and counts["previous_studies"] == 2
    table = pd.read_csv(tmp_path / "p" / "prisma.csv", dtype=str, keep_default_na=False).set_index("data")
    assert table.loc["previous_studies", "n"] == "2" and table.loc["total_studies", "n"] == "3"
    args = parser.parse_args(["prisma", "--ledger", str(tmp_path / "ledger.csv"), "--out-dir", str(tmp_path / "q"),
                              "--template", "new"])
    assert args.func(args) == 0
    flat = json.loads((tmp_path / "q" / "prisma_counts.json").read_text(encoding="utf-8"))
    assert flat["template"] == "new" and flat["database_results"] == len(ledger)


def test_vectorised_fates_match_the_per_record_rule():
    """_fates/_truthy replaced per-record loops: every status/decider pair (known or not),
    kept cells in any spelling or type, and missing ones must give what the loops gave."""
    import numpy as np

    from evreview.ledger import _SCREEN_FATE, _fates, _truthy

    kept_cells = pd.Series(["True", "false", "1", "YES", "0", None, float("nan"), True, 1, 1.0, "", "no"], dtype=object)
    assert _truthy(kept_cells).tolist() == [str(v).lower() in {"true", "1", "yes"} for v in kept_cells]
    assert _truthy(pd.Series([], dtype="str")).tolist() == []
    for cells in (pd.Series(["True", "False", "TRUE", None], dtype="str"), pd.Series([True, False])):
        assert _truthy(cells).tolist() == [str(v).lower() in {"true", "1", "yes"} for v in cells]

    statuses = ["included", "excluded", "maybe", "undecided", ""]
    deciders = ["reviewer", "machine", "rule", ""]
    pairs = [(k, s, d) for k in (True, False) for s in statuses for d in deciders]
    kept = pd.Series([p[0] for p in pairs])
    status = pd.Series([p[1] for p in pairs], dtype="str")
    by = pd.Series([p[2] for p in pairs], dtype="str")
    want = ["duplicate" if not k else _SCREEN_FATE.get((s, d), "undecided") for k, s, d in pairs]
    assert list(_fates(kept, status, by)) == want
    assert list(_fates(kept.iloc[:0], status.iloc[:0], by.iloc[:0])) == [] and np.ndim(_fates(kept, status, by)) == 1


def test_study_first_round_and_fate_lookups_match_per_study_lookups():
    """study_first_round (vectorised ranks) and changes.fates_of (one index look-up) against the
    per-study answers, with an unknown round, unparsed rows and ids without a fate."""
    from evreview.changes import fate_table, fates_of
    from evreview.ledger import study_fates, study_first_round

    ledger = pd.DataFrame(
        {
            "record_id": ["r1", "r2", "r3", "r4", "r5", "r6"],
            "search": ["2025", "2024", "2025", "odd", "2024", "2024"],
            "study_id": ["s1", "s1", "s2", "s3", "", "s4"],
            "kept": [True, False, True, True, False, True],
            "fate": ["included", "duplicate", "maybe", "undecided", "unparsed", "excluded_reviewer"],
        }
    )
    first = study_first_round(ledger, ["2024", "2025"])
    assert first.to_dict() == {"s1": "2024", "s2": "2025", "s3": "", "s4": "2024"}
    fates = study_fates(ledger)
    ids = ["s4", "s9", "s1", "s2", "s1"]  # s9: no kept record, so undecided
    assert fates_of(fates, ids) == [str(fates.get(s, "undecided")) for s in ids]
    assert fate_table(fates, ids)["included"] == 2 and fate_table(fates, ids)["undecided"] == 1
    assert fates_of(fates, []) == []


def test_study_first_round_and_lookups_on_awkward_ledgers(tmp_path: Path):
    import numpy as np

    from evreview.ledger import lookup_rows, read_ledger, study_first_round

    ledger = pd.DataFrame({
        "search": ["b", "a", "b", "zz", "a", np.nan],
        "study_id": ["s2", "s2", "s1", "s3", np.nan, "s4"],
        "fate": ["included", "duplicate", "undecided", "undecided", "undecided", "unparsed"],
    })
    first = study_first_round(ledger, ["a", "b"])
    assert first.index.tolist() == ["s1", "s2", "s3"]  # sorted; no study id and unparsed left out
    assert first.tolist() == ["b", "a", ""]  # a round outside the order maps to ""
    assert str(first.dtype) == "str" and first.name == "first_round"

    rows = lookup_rows(np.array(["x", "y", "q"], dtype=object), np.array(["y", "x"], dtype=object))
    assert rows.tolist() == [1, 0, -1]
    assert lookup_rows(pd.Series(["x"]), pd.Series(["x", "x"])) is None  # a repeated key
    assert lookup_rows(np.array([1, 2], dtype=object), np.array([2, 3], dtype=object)).tolist() == [-1, 0]  # not text
    assert lookup_rows(np.array([np.nan, "a"], dtype=object), np.array(["a", None], dtype=object)).tolist() == [1, 0]

    write_ledger = build_ledger(_tables())
    from evreview.reporting import write_csv

    write_csv(write_ledger, tmp_path / "ledger.csv")
    part = read_ledger(tmp_path / "ledger.csv", columns=("study_id", "kept", "fate", "nope"))
    assert list(part.columns) == ["study_id", "kept", "fate"] and part["kept"].dtype == bool


def test_factorize_sorted_is_pandas_factorize_sort():
    import numpy as np

    from evreview.ledger import _factorize_sorted

    for values in (["b", "a", np.nan, "b", "é", "Z", "a", "中", ""], [], [np.nan, None], [3, 1, 3], ["x"]):
        array = np.array(values, dtype=object)
        codes, uniques = pd.factorize(array, sort=True)
        got_codes, got_uniques = _factorize_sorted(array)
        assert got_codes.tolist() == codes.tolist() and list(got_uniques) == list(uniques)


def _many_counts(updated: bool) -> dict:
    """Counts with 40 databases (some with long Ovid-style names) and many exclusion reasons."""
    dbs = {f"Database number {i} with a long segment name <{1990 + i} to {1991 + i}>": i + 1 for i in range(40)}
    dbs["A" * 120] = 1  # one name with no space to break at
    dbs["Costs in $ and $x_{2$ (a dollar sign is text)"] = 1
    counts = {
        "database_specific_results": dbs, "database_results": sum(dbs.values()), "duplicates": 120,
        "excluded_automatic": 30, "excluded_automatic_reasons": {f"reason_{i}": 3 for i in range(10)},
        "excluded_other": 2, "records_excluded": 50,
        "records_excluded_reasons": {f"not a place-based partnership, variant {i}": 5 for i in range(10)},
        "records_screened": 600, "awaiting_screening": 40, "dbr_sought_reports": 80, "dbr_notretrieved_reports": 0,
        "dbr_assessed": 80, "dbr_excluded": 0, "awaiting_classification": 20, "new_studies": 60,
        "new_reports": 60,
    }
    if updated:
        counts.update(template="updated", latest_round="2025-03_update", duplicates_of_previous=9,
                      previous_rounds=["2023-03_initial", "2024-03_update"], previous_studies=40,
                      previous_reports=44, total_studies=100, total_reports=104, previous_studies_awaiting=265)
    return counts


@pytest.mark.parametrize("updated", [False, True])
def test_prisma_boxes_grow_with_their_text_and_never_overlap(updated):
    """A long database list (Ovid names one per segment) pushes the rows below down; no text leaves its box."""
    from evreview.figures import figure_style
    from evreview.prisma import prisma_figure

    with figure_style() as plt:
        fig = prisma_figure(_many_counts(updated), plt)
        renderer = fig.canvas.get_renderer()
        ax = fig.axes[0]
        patches = {p.get_gid()[4:]: p.get_window_extent(renderer) for p in ax.patches if p.get_gid()}
        texts = {t.get_gid()[5:]: t.get_window_extent(renderer) for t in ax.texts if t.get_gid()}
        plt.close(fig)
    assert set(patches) == set(texts) and "identified" in patches
    if updated:
        assert {"previous", "total"} <= set(patches)
    for key, box in patches.items():
        text = texts[key]
        assert box.x0 <= text.x0 and text.x1 <= box.x1, f"{key}: text wider than its box"
        assert box.y0 <= text.y0 and text.y1 <= box.y1, f"{key}: text taller than its box"
    keys = sorted(patches)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            assert not patches[a].overlaps(patches[b]), f"boxes {a} and {b} overlap"
    # the identification box holds all 40 databases, so the screening row starts below it
    assert patches["screened"].y1 < patches["identified"].y0


def test_the_diagram_says_what_an_eligibility_rule_reason_means(tmp_path: Path):
    """The diagram listed the rules' reason codes ("required_terms: 1") under "Marked ineligible by
    automation tools"; it now says what they mean, and the counts keep the codes."""
    tables = _tables()
    screening = tables.screening.copy()
    screening.loc[screening["study_id"] == "s003", "reason"] = "required_terms"
    counts = prisma_counts(build_ledger(StageTables(tables.records, tables.problems, tables.duplicates,
                                                    screening, tables.coded)))
    assert counts["excluded_automatic_reasons"]["required_terms"] == 1
    draw_prisma(counts, tmp_path / "r.svg")
    svg = (tmp_path / "r.svg").read_text()
    assert "required terms absent: 1" in svg and "required_terms" not in svg
