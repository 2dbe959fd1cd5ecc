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


def test_ledger_refuses_inconsistent_stage_outputs():
    tables = _tables()
    broken = StageTables(tables.records, None, tables.duplicates.iloc[1:], None, None)
    with pytest.raises(LedgerError, match="missing from the dedup output"):
        build_ledger(broken)
    two_kept = tables.duplicates.copy()
    two_kept.loc[two_kept["record_id"] == "r001", "kept"] = True
    with pytest.raises(LedgerError, match="more than one kept"):
        build_ledger(StageTables(tables.records, None, two_kept))


def test_ledger_before_dedup_treats_each_record_as_a_study():
    ledger = build_ledger(StageTables(_records(5)))
    check_ledger(ledger)
    assert (ledger["fate"] == "undecided").all() and ledger["kept"].all()
