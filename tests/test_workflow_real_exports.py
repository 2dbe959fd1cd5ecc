"""End to end on real exports: the 26 shared export files (14 databases) as one search round.

What a user does on the first day: drop the exports as downloaded into ``data/raw/<round>/``
with no decisions yet and run the workflow. Every record must be accounted for, the records
of one study found in several databases must merge, and the PRISMA diagram must name each
database once (Ovid writes a segment name per record); tests/test_ledger_prisma.py checks that
the diagram fits any number of names.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from test_workflow import _copy_project, run_workflow

pytestmark = pytest.mark.slow
ROUND = "2026-12_real"


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    from conftest import SHARED

    manifest = SHARED / "fixtures" / "exports" / "MANIFEST.csv"
    if not manifest.exists():
        pytest.skip(f"shared data not found at {SHARED} (fresh clone without ../shared)")
    project = _copy_project(tmp_path_factory.mktemp("real"))
    raw = project / "data" / "raw"
    shutil.rmtree(raw)
    (raw / ROUND).mkdir(parents=True)
    expected = {}
    with open(manifest, encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            name = row["path"].replace("/", "__")  # two databases' files may share a name
            shutil.copy2(manifest.parent / row["path"], raw / ROUND / name)
            expected[name] = int(row["records"])
    expected["ais_elibrary__ais_enl.txt"] = 6  # the manifest counted %0 lines; the file holds 6 records
    for decisions in (project / "data" / "decisions").glob("*.csv"):  # the first day: nothing decided yet
        decisions.write_text(decisions.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    config_path = project / "config" / "config.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["searches"] = {ROUND: {"date": "2026-12-01", "description": "26 real exports"}}
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    run_workflow(project)
    return project, expected


def test_every_record_of_every_export_is_accounted_for(real_run):
    project, expected = real_run
    report = pd.read_csv(project / "results" / "ingest_report.csv", dtype={"found": int, "parsed": int})
    found = {Path(f).name: n for f, n in zip(report["source_file"], report["parsed"])}
    assert found == expected
    ledger = pd.read_csv(project / "results" / "ledger.csv", dtype=str, keep_default_na=False)
    assert len(ledger) == sum(expected.values()) and ledger["record_id"].is_unique
    assert set(ledger["fate"]) <= {"duplicate", "excluded_automation", "undecided"}


def test_one_study_in_several_databases_merges(real_run):
    project, _ = real_run
    dups = pd.read_csv(project / "results" / "dedup" / "duplicates.csv", dtype=str)
    dups["file"] = dups["source_file"].map(lambda p: Path(p).name)
    blue = dups[dups["file"].str.contains("blue-light")].groupby("study_id")["file"].apply(frozenset)
    # 102 records in EndNote RIS and XML, 80 of them also in PubMed: 102 studies
    assert len(blue) == 102
    assert blue.map(len).value_counts().to_dict() == {3: 80, 2: 22}


def test_prisma_names_each_database_once_and_reconciles(real_run):
    project, expected = real_run
    counts = json.loads((project / "results" / "prisma" / "prisma_counts.json").read_text(encoding="utf-8"))
    per_db = counts["database_specific_results"]
    assert per_db["Ovid MEDLINE(R)"] == 84 and not any("<" in name for name in per_db)
    assert sum(per_db.values()) == counts["database_results"] == sum(expected.values())
    assert counts["records_screened"] == 0 and counts["awaiting_screening"] > 0
    stopping = json.loads((project / "results" / "screen" / "stopping.json").read_text(encoding="utf-8"))
    assert stopping["stopping"]["ranker"]["in_force"]["phase"] == "cold start"  # ranked by the review question
    gaps = (project / "results" / "map" / "gaps.md").read_text(encoding="utf-8")
    assert "No study is included yet" in gaps
    assert (project / "results" / "report.html").stat().st_size > 0
