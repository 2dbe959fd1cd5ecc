"""End to end: the Snakemake workflow on the bundled (synthetic) demo review.

Runs the real workflow in a temporary copy of the project and checks the outputs against
the planted truth in data/demo/truth/: every record accounted for, no false merge, and the
counts that later stages depend on.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from evreview.ingest import read_records

REPO = Path(__file__).resolve().parents[1]
TRUTH = REPO / "data" / "demo" / "truth"

pytestmark = pytest.mark.slow


def _copy_project(dest: Path) -> Path:
    for name in ("Snakefile", "workflow", "config", "data"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("coded"))
        else:
            shutil.copy2(src, dest / name)
    return dest


def run_workflow(project: Path, *targets: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["HF_HUB_OFFLINE"] = "1"
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", *targets]
    proc = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, check=False, timeout=1800)
    if proc.returncode != 0:
        logs = "\n".join(f"--- {p}\n{p.read_text(errors='replace')[-3000:]}" for p in (project / "logs").rglob("*.log"))
        raise AssertionError(f"snakemake failed:\n{proc.stderr[-5000:]}\n{logs}")
    return proc


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = _copy_project(tmp_path_factory.mktemp("demo"))
    run_workflow(project)
    return project


def _truth_records(search: str = "2024-03_initial") -> pd.DataFrame:
    truth = pd.read_csv(TRUTH / "records.csv", dtype=str)
    return truth[truth["search"] == search]


def test_every_record_is_ingested(demo_run: Path):
    truth = _truth_records()
    records = read_records(demo_run / "results" / "records.parquet")
    assert len(records) == len(truth) == 401
    assert set(records["record_id"]) == set(truth["record_id"])
    report = pd.read_csv(demo_run / "results" / "ingest_report.csv")
    assert (report["found"] == report["parsed"]).all()
    assert (records["title"].str.len() > 0).all()
    assert set(records["search"]) == {"2024-03_initial"}


def test_dedup_never_merges_distinct_studies(demo_run: Path):
    truth = _truth_records().set_index("record_id")["study_key"]
    dups = pd.read_csv(demo_run / "results" / "dedup" / "duplicates.csv", dtype=str)
    assert len(dups) == len(truth)
    dups["truth"] = dups["record_id"].map(truth)
    # precision: each predicted study holds one true study
    assert (dups.groupby("study_id")["truth"].nunique() == 1).all()
    # recall: nearly every true study is one predicted study
    split = (dups.groupby("truth")["study_id"].nunique() > 1).sum()
    assert split <= 3, f"{split} true studies split over several clusters"
    kept = dups[dups["kept"].astype(str) == "True"]
    assert kept["study_id"].is_unique and set(kept["study_id"]) == set(dups["study_id"])


def test_rerun_is_a_no_op(demo_run: Path):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", "-n"], cwd=demo_run, env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_planted_counts_are_what_the_truth_says():
    counts = json.loads((TRUTH / "expected_counts.json").read_text())
    assert counts["synthetic"] is True
    assert counts["round1"]["total_records"] == 401


def test_prisma_reconciles_with_the_ledger(demo_run: Path):
    from evreview.ledger import check_ledger, fate_counts, read_ledger
    from evreview.prisma import check_reconciles

    ledger = read_ledger(demo_run / "results" / "ledger.csv")
    check_ledger(ledger)
    counts = json.loads((demo_run / "results" / "prisma" / "prisma_counts.json").read_text())
    check_reconciles(counts)
    fates = fate_counts(ledger)
    assert counts["database_results"] == len(ledger) == 401
    assert counts["duplicates"] == fates["duplicate"]
    assert counts["new_studies"] == fates["included"]
    assert counts["database_specific_results"]["Scopus"] == 157
    planted = json.loads((TRUTH / "expected_counts.json").read_text())["round1"]
    assert counts["duplicates"] == planted["duplicates_to_remove"]  # 109
    # the planted rule exclusions: 3 too old, 5 by document type, 2 studies in other languages
    screening = pd.read_csv(demo_run / "results" / "screen" / "screening.csv", dtype=str, keep_default_na=False)
    by_rule = screening[screening["decided_by"] == "rule"]["reason"].value_counts().to_dict()
    assert by_rule == {"year": 3, "doc_type": 5, "language": 2}
    assert counts["excluded_automatic"] == planted["rule_exclusions_total"]
    # every included study is coded, and the map counts only included studies
    coded = pd.read_parquet(demo_run / "data" / "coded" / "coded_records.parquet")
    assert len(coded) == fates["included"]
    for name in ("egm.html", "egm.svg", "egm.png", "egm_cells.csv", "gaps.md"):
        assert (demo_run / "results" / "map" / name).stat().st_size > 0
    report = (demo_run / "results" / "report.html").read_text()
    assert f"<td>total</td><td>{len(ledger)}</td>" in report


def test_planted_gap_is_visible(demo_run: Path):
    """No longitudinal study of early-stage set-up was planted: the map must show it as (near) empty."""
    import evreview

    res = evreview.load_results(demo_run)
    cells = res.cells(rows="stage", columns="evidence_type").query("segment == ''").set_index(["row", "column"])
    assert cells.loc[("initiation_setup", "longitudinal"), "n_studies"] <= 1
    assert cells.loc[("delivery", "longitudinal"), "n_studies"] >= 5
    stage_totals = res.filter_coded({"stage": "initiation_setup"})
    assert len(stage_totals) < 0.25 * len(res.coded)  # early-stage set-up is thin


def test_notebook_runs_against_the_demo_results(demo_run: Path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(REPO / "notebooks" / "explore_gaps.ipynb", as_version=4)
    os.environ["EVREVIEW_PROJECT"] = str(demo_run)
    try:
        client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                         resources={"metadata": {"path": str(REPO / "notebooks")}})
        client.execute()
    finally:
        os.environ.pop("EVREVIEW_PROJECT", None)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
