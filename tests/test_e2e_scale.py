"""The scale benchmark's generator (benchmarks/e2e_scale.py) must keep producing valid exports.

The full benchmark runs the whole workflow on 200,000 records and is run by hand; this test
generates 2,000 records only and ingests them through the evreview API (no Snakemake), so a
change to the demo generator or the readers that breaks the benchmark's input is caught here:
every export is read with its expected reader, with exactly the records and record ids the
generator planted, the planted duplicate and update shares hold, and the config it writes is
valid.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest

from evreview.config import load_config
from evreview.ingest import ingest_file
from evreview.screen.decisions import read_decisions

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

READER = {".ris": "ris", ".nbib": "medline", ".txt": "wos", ".bib": "bibtex"}


def _load_benchmark():
    name = "e2e_scale"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / "e2e_scale.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("e2e") / "work"
    work.mkdir()
    # chunk 600: the larger databases are split into several files, as the 200k run does
    generated = _load_benchmark().generate(work, 2000, seed=3, decisions=60, chunk=600)
    # what the benchmark does before its update run: the staged round joins data/raw/
    generated.staged_round2.rename(work / "data" / "raw" / generated.staged_round2.name)
    return generated


def test_exports_ingest_to_the_planted_records(generated):
    work: Path = generated.work
    truth = pd.read_csv(work / "truth" / "records.csv", dtype=str)
    seen = set()
    for export in generated.round1 + generated.round2:
        path = work / "data" / "raw" / export.search / export.name
        result = ingest_file(path, search=export.search, root=work)
        report = result.report.iloc[0]
        assert report["source_format"] == READER[path.suffix], export.name
        assert report["found"] == report["parsed"] == export.records, export.name
        assert result.problems.empty, result.problems.head().to_dict()
        expected = truth[(truth["search"] == export.search) & (truth["file"] == export.name)]
        assert len(expected) == export.records
        assert set(result.records["record_id"]) == set(expected["record_id"]), export.name
        assert (result.records["title"].str.len() > 0).all()
        seen.add((export.search, export.name))
    assert {s for s, _ in seen} == {"2024-03_initial", "2025-03_update"}
    assert len(seen) == len(truth.groupby(["search", "file"]))
    assert len(generated.round1) > 4  # split into several exports, four databases


def test_planted_shares(generated):
    summary = generated.summary()
    assert summary["records_round1"] == 2000
    assert 0.18 <= summary["duplicate_share_round1"] <= 0.32  # ~25 % cross-file duplicates
    assert summary["records_round2"] == 200  # a 10 % update round
    truth = pd.read_csv(generated.work / "truth" / "records.csv", dtype=str)
    r1 = truth[truth["search"] == "2024-03_initial"]
    r2 = truth[truth["search"] != "2024-03_initial"]
    assert r1["study_key"].nunique() == summary["studies_round1"]
    # some round-2 records re-export round-1 studies (duplicates across rounds), most are new
    again = r2["study_key"].isin(set(r1["study_key"])).mean()
    assert 0.1 <= again <= 0.3
    assert 0.08 <= summary["on_topic_studies_round1"] / summary["studies_round1"] <= 0.25


def test_config_and_decisions_are_valid(generated):
    work: Path = generated.work
    config = load_config(work / "config" / "config.yaml")
    assert config["code"]["backend"] == "tfidf"
    assert (work / config["code"]["codebook"]).is_file()
    decisions = read_decisions(work / "data" / "decisions" / "screening.csv")
    assert len(decisions) == generated.decisions == 60
    truth = pd.read_csv(work / "truth" / "records.csv", dtype=str).set_index("record_id")
    keys = decisions["key"]
    assert keys.isin(truth.index).all()
    on = truth.loc[keys, "on_topic"].eq("1").to_numpy()
    assert (decisions["decision"].to_numpy()[on] == "include").all()
    assert (decisions["decision"].to_numpy()[~on] == "exclude").all()


def test_refuses_a_used_work_dir(tmp_path: Path):
    (tmp_path / "something").write_text("x")
    with pytest.raises(SystemExit, match="not empty"):
        _load_benchmark().generate(tmp_path, 100)
