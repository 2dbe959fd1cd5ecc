"""Simulation mode: metrics.json shape, determinism, the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from evreview import cli
from evreview.errors import EvreviewError
from evreview.screen.features import FeatureConfig, build_matrix
from evreview.screen.ranker import Learner, ModelConfig, fit_scorer
from evreview.screen.simulate import load_labelled, pick_priors, replay, run_simulation_files
from evreview.screen.stopping import StoppingConfig


@pytest.fixture()
def cli_main(monkeypatch):
    """The real CLI entry point with the screening commands registered (the lead adds them to cli.py)."""
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("evreview.screen.commands",))
    return cli.main


@pytest.fixture()
def labelled(fixtures_dir):
    return fixtures_dir / "screen" / "labelled.csv"


def test_load_labelled_maps_columns_and_labels(labelled, tmp_path):
    f = load_labelled(str(labelled), "included")
    assert list(f.columns) == ["title", "abstract", "keywords", "label"]
    assert f["label"].sum() == 10 and len(f) == 60
    bad = tmp_path / "bad.csv"
    bad.write_text("Title,label\na,1\nb,maybe\n", encoding="utf-8")
    with pytest.raises(EvreviewError) as err:
        load_labelled(str(bad), "label")
    assert err.value.line == 3
    cp = tmp_path / "cp.csv"
    cp.write_bytes("Document Title,Abstract,label\nCaf\xe9 study,x,yes\n".encode("cp1252"))
    assert load_labelled(str(cp), "label")["title"].tolist() == ["Café study"]


@pytest.mark.parametrize("model", ["nb", "logreg", "svm"])
def test_replay_is_deterministic_and_finds_everything(labelled, model):
    f = load_labelled(str(labelled), "included")
    X = build_matrix(f["title"], f["abstract"], None, FeatureConfig())
    a = replay(X, f["label"].to_numpy(), 3, ModelConfig(model=model))
    b = replay(X, f["label"].to_numpy(), 3, ModelConfig(model=model))
    assert a.order == b.order
    assert a.priors == pick_priors(f["label"].to_numpy(), 3)
    assert len(a.ranks) == 9  # every relevant record but the prior is found
    assert a.figures["wss95"] > 50  # an easy synthetic set: far better than random (~0)


def test_incremental_nb_equals_a_fresh_fit_after_add_and_remove(labelled):
    f = load_labelled(str(labelled), "included")
    X = build_matrix(f["title"], f["abstract"])
    y = f["label"].to_numpy()
    cfg = ModelConfig(model="nb")
    lr = Learner(X, cfg)
    for i in [0, 1, 2, 3, 6, 7]:
        lr.add(i, y[i])
    lr.add(5, 1)
    lr.remove(5)
    coef, b = lr.coefficients()
    idx = np.array([0, 1, 2, 3, 6, 7])
    coef2, b2 = fit_scorer(X[idx], y[idx], cfg)
    np.testing.assert_allclose(coef, coef2, rtol=1e-9, atol=1e-12)
    assert b == pytest.approx(b2)


def test_metrics_json_shape(labelled, tmp_path):
    res = run_simulation_files(labelled, "included", [1, 2], tmp_path / "out", model_config={"model": "nb"})
    doc = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert set(doc) == {"seeds", "mean"} and doc == res
    assert [s["seed"] for s in doc["seeds"]] == [1, 2]
    assert set(doc["seeds"][0]) == {"seed", "wss95", "rrf10", "atd"}
    assert doc["mean"]["wss95"] == pytest.approx(np.mean([s["wss95"] for s in doc["seeds"]]), abs=1e-3)
    png = (tmp_path / "out" / "recall_curve.png").read_bytes()
    assert png.startswith(b"\x89PNG")


def test_simulate_command_line_and_byte_identical_reruns(labelled, tmp_path, cli_main):
    args = ["simulate", str(labelled), "--label-column", "included", "--seeds", "2"]
    assert cli_main([*args, "--out", str(tmp_path / "a"), "--stopping"]) == 0
    assert cli_main([*args, "--out", str(tmp_path / "b"), "--stopping"]) == 0
    assert (tmp_path / "a" / "metrics.json").read_bytes() == (tmp_path / "b" / "metrics.json").read_bytes()
    assert (tmp_path / "a" / "recall_curve.png").read_bytes() == (tmp_path / "b" / "recall_curve.png").read_bytes()
    doc = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert len(doc["stopping"]) == 2
    assert cli_main(["simulate", str(labelled), "--label-column", "nope", "--out", str(tmp_path / "c")]) == 2


def test_stopping_replay_reports_recall_at_stop(labelled):
    f = load_labelled(str(labelled), "included")
    X = build_matrix(f["title"], f["abstract"])
    run = replay(X, f["label"].to_numpy(), 1, ModelConfig(model="nb"), stopping=StoppingConfig(min_screened=5))
    if run.stop_at is not None:
        assert 0 <= run.recall_at_stop <= 1 and run.stop_at <= run.n_total
