"""End to end: the Snakemake workflow on the bundled (synthetic) demo review.

Runs the real workflow in a temporary copy of the project and checks the outputs against
the planted truth in data/demo/truth/: every record accounted for, no false merge, and the
counts that later stages depend on.
"""

from __future__ import annotations

import json
import os
import re
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


@pytest.mark.parametrize("how", [["--configfile", "config/config.yaml"], ["--profile", "profiles/local"]])
def test_rerun_the_way_make_run_or_a_profile_does_is_a_no_op(demo_run: Path, how: list[str]):
    """--configfile (as `make run` passed it) is made absolute by Snakemake; the config path, an
    ingest param, then differed from a run without it (a profile, the tests), and switching
    between the two re-ingested every export and re-ran every stage after it."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if how[0] == "--profile":
        shutil.copytree(REPO / "profiles", demo_run / "profiles", dirs_exist_ok=True)
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", "-n", *how], cwd=demo_run, env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Nothing to be done" in proc.stdout + proc.stderr, (proc.stdout + proc.stderr)[-3000:]


def _dry_run(project: Path) -> str:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", "-n"], cwd=project, env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return proc.stdout + proc.stderr


def test_a_config_edit_reruns_only_the_jobs_that_read_its_section(demo_run: Path):
    """The config file was an input of screening: a changed map threshold re-ran screening, and
    after it embedding and coding. Screening and the map now depend on their own sections."""
    config = demo_run / "config" / "config.yaml"
    text, stat = config.read_text(encoding="utf-8"), config.stat()
    try:
        config.write_text(text.replace("sparse_threshold: 2", "sparse_threshold: 3"), encoding="utf-8")
        plan = _dry_run(demo_run)
        assert "rule evidence_gap_map:" in plan
        for rule in ("screen", "embed_shard", "code", "deduplicate"):
            assert f"rule {rule}:" not in plan, rule
        config.write_text(text.replace("machine_include_above: 0.0", "machine_include_above: 0.5"), encoding="utf-8")
        assert "rule screen:" in _dry_run(demo_run)
    finally:
        config.write_text(text, encoding="utf-8")
        os.utime(config, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert "Nothing to be done" in _dry_run(demo_run)


def test_an_ingest_setting_for_one_export_reingests_only_that_export(demo_run: Path):
    """Every ingest job took the whole ``ingest`` section as a param: a database glob added for
    one file (say, a new round's export) re-ingested every export of every round."""
    config = demo_run / "config" / "config.yaml"
    text, stat = config.read_text(encoding="utf-8"), config.stat()
    glob = '"*/scholar.bib": "Google Scholar"'
    try:
        config.write_text(text.replace(glob, f'{glob}\n    "2024-03_initial/wos.txt": "Web of Science"'),
                          encoding="utf-8")
        plan = _dry_run(demo_run)
        assert plan.count("rule ingest_file:") == 1, plan[-3000:]
        assert "file=wos.txt" in plan
    finally:
        config.write_text(text, encoding="utf-8")
        os.utime(config, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert "Nothing to be done" in _dry_run(demo_run)


def test_an_ingest_setting_for_no_export_yet_reruns_nothing(demo_run: Path):
    """The gather job took the whole ``ingest`` section as a param (for its column_map check):
    an encoding glob written for the next round's exports, before they arrive, re-gathered the
    records and re-ran dedup, screening, coding and every stage after them for nothing."""
    config = demo_run / "config" / "config.yaml"
    text, stat = config.read_text(encoding="utf-8"), config.stat()
    try:
        config.write_text(text.replace("encodings: {}", 'encodings: {"2025-01_update/*.csv": cp1252}'),
                          encoding="utf-8")
        plan = _dry_run(demo_run)
        # (prisma and changes read the config file itself: cheap, and not this test's concern)
        for rule in ("ingest_file", "gather_records", "deduplicate", "screen", "embed_shard", "code"):
            assert f"rule {rule}:" not in plan, (rule, plan[-3000:])
    finally:
        config.write_text(text, encoding="utf-8")
        os.utime(config, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert "Nothing to be done" in _dry_run(demo_run)


def test_a_deleted_deliverable_is_rebuilt(demo_run: Path):
    """``rule all`` asks for every deliverable, so a deleted report is planned again (dry run)."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    report = demo_run / "results" / "report.html"
    aside = report.with_name("report.html.aside")
    report.rename(aside)
    try:
        proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", "-n"], cwd=demo_run, env=env,
                              capture_output=True, text=True, check=False)
    finally:
        aside.rename(report)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "run_report" in out and "provenance" in out and "deduplicate" not in out


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
    # inclusions: every include-expected study except those reviewers hold back (a "maybe" or an
    # unresolved conflict), and no machine inclusion of a study that should be excluded
    truth = json.loads((TRUTH / "expected_counts.json").read_text())
    held = truth["decisions"]["held_by_reviewers"]
    assert counts["new_studies"] == planted["include_expected"] - len(held) == 213
    study_truth = pd.read_csv(TRUTH / "studies.csv", dtype=str).set_index("study_key")["include_expected"]
    dups = pd.read_csv(demo_run / "results" / "dedup" / "duplicates.csv", dtype=str)
    keyed = dups.merge(_truth_records()[["record_id", "study_key"]], on="record_id")
    key_of = keyed.groupby("study_id")["study_key"].first()
    included = screening[screening["status"] == "included"]["study_id"].map(key_of)
    assert (included.map(study_truth) == "1").all()
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
    # truth: 0 (issue #7: "set up" as a seed term put a longitudinal study of an established
    # partnership's steering group into set-up)
    assert cells.loc[("initiation_setup", "longitudinal"), "n_studies"] == 0
    assert cells.loc[("delivery", "longitudinal"), "n_studies"] >= 5
    gaps_md = (demo_run / "results" / "map" / "gaps.md").read_text()
    assert "- no study: Initiation and set-up x Longitudinal study\n" in gaps_md  # an empty combination
    stage_totals = res.filter_coded({"stage": "initiation_setup"})
    assert len(stage_totals) < 0.25 * len(res.coded)  # early-stage set-up is thin


def test_planted_synthesis_gap_is_reported(demo_run: Path):
    """Issue #7: many primary studies on behaviours and values x organisational outcomes but no review
    was planted; no review may be coded into that cell, so the gap report lists it as a synthesis gap."""
    planted = [g for g in json.loads((TRUTH / "expected_counts.json").read_text())["gap_cells"]
               if g["gap"] == "synthesis"]
    assert len(planted) == 1
    cell = planted[0]
    gaps = pd.read_csv(demo_run / "results" / "map" / "gaps.csv", dtype=str, keep_default_na=False)
    found = gaps[(gaps["kind"] == "synthesis") & (gaps["row"] == cell["row"]) & (gaps["column"] == cell["column"])
                 & (gaps["filter_dimension"] == "")]
    assert len(found) == 1, gaps[gaps["kind"] == "synthesis"].to_string()
    assert int(found["n_reviews"].iloc[0]) == 0 and int(found["n_primary"].iloc[0]) >= 15  # truth: 43 primary
    gaps_md = (demo_run / "results" / "map" / "gaps.md").read_text()
    assert "primary studies but no review on Behaviours and values x Organisational\n" in gaps_md


def test_planted_sparse_gap_is_reported(demo_run: Path):
    """Issue #7: implementation specifics (infrastructure and systems) are rarely independently
    evaluated: 1 planted study. Partners' self-evaluations and case studies that used surveys or
    interviews must not be coded as independent evaluations, so the cell stays sparse and the gap
    report lists infrastructure x outcome cells with no independent evaluation."""
    planted = [g for g in json.loads((TRUTH / "expected_counts.json").read_text())["gap_cells"]
               if g["gap"] == "sparse" and g["columns"] == "evidence_type"]
    assert len(planted) == 1
    cell = planted[0]
    limit = int(cell["expected"].removeprefix("<=").strip())  # "<= 2"
    import evreview

    res = evreview.load_results(demo_run)
    cells = res.cells(rows=cell["rows"], columns=cell["columns"]).query("segment == ''").set_index(["row", "column"])
    assert cells.loc[(cell["row"], cell["column"]), "n_studies"] <= limit  # truth: 1
    assert cells.loc[(cell["row"], "participant_perception"), "n_studies"] >= 10  # the row itself is well filled
    gaps = pd.read_csv(demo_run / "results" / "map" / "gaps.csv", dtype=str, keep_default_na=False)
    found = gaps[(gaps["kind"] == "segment") & (gaps["row"] == cell["row"]) & (gaps["segment"] == cell["column"])
                 & (gaps["filter_dimension"] == "")]
    assert len(found) >= 1, gaps[(gaps["kind"] == "segment") & (gaps["filter_dimension"] == "")].to_string()
    gaps_md = (demo_run / "results" / "map" / "gaps.md").read_text()
    assert "no study of type 'Independent evaluation' on Infrastructure and systems x " in gaps_md


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


def _output_hashes(project: Path) -> dict[str, str]:
    """sha256 of every output (results/ and data/coded/), logs and timing benchmarks aside."""
    import hashlib

    hashes = {}
    for folder in (project / "results", project / "data" / "coded"):
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            hashes[path.relative_to(project).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def test_two_runs_give_byte_identical_outputs(demo_run: Path, tmp_path_factory: pytest.TempPathFactory):
    """Reproducibility (issue 8): same inputs, another folder, another process -> same bytes."""
    other = _copy_project(tmp_path_factory.mktemp("demo_again"))
    run_workflow(other)
    first, second = _output_hashes(demo_run), _output_hashes(other)
    assert len(first) > 30
    assert sorted(first) == sorted(second)
    differing = [name for name in first if first[name] != second[name]]
    assert not differing, f"outputs differ between two identical runs: {differing}"


def test_outputs_record_their_provenance(demo_run: Path):
    """provenance.json: version, config hash, every input's sha256, model ids, every output's sha256;
    the map, figures and Parquet tables carry the same block themselves."""
    import hashlib

    import evreview
    from evreview.provenance import KEY, read_parquet_provenance

    doc = json.loads((demo_run / "results" / "provenance.json").read_text())
    assert doc["evreview_version"] == evreview.__version__
    assert len(doc["config_sha256"]) == 64
    raw = sorted(p.relative_to(demo_run).as_posix() for p in (demo_run / "data" / "raw").rglob("*") if p.is_file())
    for name in [*raw, "data/decisions/screening.csv", "config/codebook.yaml"]:
        assert doc["inputs"][name] == hashlib.sha256((demo_run / name).read_bytes()).hexdigest(), name
    assert "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db" in doc["models"]["embedding"]
    for name in ("results/report.html", "results/map/egm.html", "results/ledger.csv", "data/coded/assignments.csv",
                 "results/prisma/prisma.csv", "results/dedup/duplicates.csv"):
        assert doc["outputs"][name] == hashlib.sha256((demo_run / name).read_bytes()).hexdigest(), name
    block = {k: doc[k] for k in ("evreview_version", "config_sha256", "inputs", "models")}
    assert f'name="{KEY}"' in (demo_run / "results" / "map" / "egm.html").read_text()
    assert doc["config_sha256"] in (demo_run / "results" / "prisma" / "prisma.svg").read_text()
    assert doc["config_sha256"].encode() in (demo_run / "results" / "map" / "egm.png").read_bytes()
    assert read_parquet_provenance(demo_run / "results" / "records.parquet") == block


@pytest.fixture(scope="module")
def update_run(demo_run: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The demo after its first run, plus the planted update round, run again."""
    project = tmp_path_factory.mktemp("demo_update") / "project"
    shutil.copytree(demo_run, project, symlinks=True)  # outputs, logs and .snakemake metadata with their mtimes
    update = REPO / "data" / "demo" / "update_round" / "2025-03_update"
    shutil.copytree(update, project / "data" / "raw" / update.name)
    plan = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1"], cwd=project, capture_output=True,
                          text=True, check=False, env=dict(os.environ, PATH=f"{Path(sys.executable).parent}"
                                                          f"{os.pathsep}{os.environ.get('PATH', '')}"))
    run_workflow(project)
    return project, plan.stdout + plan.stderr


def test_update_round_ingests_only_new_files_and_keeps_every_earlier_decision(demo_run: Path, update_run):
    project, plan = update_run
    # only the two new exports are ingested again
    ingest_jobs = sorted(set(re.findall(r"wildcards: search=([^,\s]+), file=(\S+)", plan)))
    assert ingest_jobs == [("2025-03_update", "pubmed.nbib"), ("2025-03_update", "scopus.ris")], plan[-3000:]
    before = pd.read_csv(demo_run / "results" / "dedup" / "duplicates.csv", dtype=str).set_index("record_id")
    after = pd.read_csv(project / "results" / "dedup" / "duplicates.csv", dtype=str).set_index("record_id")
    assert len(after) == len(before) + 60
    # every round-1 record keeps its record key and its study
    assert after.loc[before.index, "study_id"].equals(before["study_id"])
    # reviewers' screening decisions still stand on the same studies
    s0 = pd.read_csv(demo_run / "results" / "screen" / "screening.csv", dtype=str, keep_default_na=False)
    s1 = pd.read_csv(project / "results" / "screen" / "screening.csv", dtype=str, keep_default_na=False)
    old = s0[s0["decided_by"].isin(["reviewer", "rule"])].set_index("study_id")
    new = s1.set_index("study_id").loc[old.index]
    assert (new["status"] == old["status"]).all() and (new["decided_by"] == old["decided_by"]).all()
    # only the new studies' text was embedded (by the embedding shard job; coding found all cached)
    def embedded(folder: Path) -> int:
        log = (folder / "logs" / "embed" / "0-of-1.log").read_text()
        return int(re.search(r"(\d+) embedded in", log).group(1))

    newly, first = embedded(project), embedded(demo_run)
    assert 0 < newly < first / 4, (newly, first)
    assert " 0 sentences newly embedded" in (project / "logs" / "code.log").read_text()
    # new studies joined the saved topics: no refit
    assert "topic model: reused" in (project / "logs" / "code.log").read_text()


def test_update_round_reports_what_changed_and_the_updated_prisma(update_run):
    project, _ = update_run
    planted = json.loads((TRUTH / "expected_counts.json").read_text())["round2"]
    changes = json.loads((project / "results" / "changes" / "changes.json").read_text())
    assert changes["status"] == "compared" and changes["latest_round"] == "2025-03_update"
    summary = changes["summary"]
    assert summary["new_records"] == planted["total_records"] == 60
    assert abs(summary["new_duplicates_of_previous_studies"] - planted["re_exported_round1_studies"]) <= 2
    assert abs(summary["new_studies"] - planted["new_studies"]) <= 2
    assert (summary["new_duplicates_of_previous_studies"] + summary["new_duplicates_within_new_studies"]
            + summary["new_studies"] + summary["new_records_unparsed"]) == summary["new_records"]
    assert "cells_changed" in changes["map"]
    counts = json.loads((project / "results" / "prisma" / "prisma_counts.json").read_text())
    assert counts["template"] == "updated"
    assert counts["database_results"] == planted["total_records"]  # 60 records identified in the new round
    assert counts["previous_studies"] + counts["new_studies"] == counts["total_studies"]
    report = (project / "results" / "report.html").read_text()
    assert "What changed" in report and "2025-03_update" in report
