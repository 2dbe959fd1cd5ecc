"""Screening prioritisation benchmark: evreview vs ASReview on /work/shared/benchmarks/screening.

For every dataset (README there: label columns, metric convention) and seed, replays
screening from 1 random relevant + 1 random irrelevant prior (priors not counted) and prints
WSS@95, RRF@10, ATD (percent, mean over seeds), the stopping test replayed (recall when it
fired, work saved), and wall times. Where ASReview is installed (``--asreview``, default
/work/peers/asreview/bin/asreview) it runs ``asreview simulate FILE --n-prior-included 1
--n-prior-excluded 1 --prior-seed S --seed S -o OUT`` for the chosen datasets/seeds and computes
the same metrics from the project file's ``results`` table (priors excluded). ASReview runs are
cached under --work (project file + measured seconds), so reruns only add what is missing.
Also measures re-ranking 50,000 records after one new decision.

    python benchmarks/screening_benchmark.py --datasets ace,nudging,virus --seeds 5 \\
        --asreview-datasets ace,nudging --asreview-seeds 1

Measured (5 seeds, WSS@95 / RRF@10, %): default (SVM C=0.75 on mean-1 weights, ratio 2):
ace 76.6/85.0, nudging 71.7/65.1, virus 69.3/73.8, ~69 s/seed. ASReview elas_u4 setting
(``--model-config '{"relevant_weight":9.8,"C":0.11,"features":{"max_df":0.95}}'``): ace
77.6/85.0, nudging 70.5/64.8, virus 70.3/75.0, 34-59 s/seed with the stopping test on a loaded
2-core machine (10-20 s/seed without it). ASReview 3.0.8 elas_u4: ace 77.7/85.0, nudging
71.0/64.0; published NB: virus 71.2/73.9. Screening ideas on seeds 1-2 (ace/nudging/virus WSS):
"double" balance C=0.11 75.4/70.9/69.7; ratio 9.8 C=0.25 76.6/70.7/70.4; ratio 5 C=0.11
75.3/70.7/70.1; NB+SVM rank average 78.7/66.3/68.4; NB bigrams 78.7/68.0/65.6; NB ASReview-0.9
features (unigrams, English stop words) 77.8/47.6/66.8.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

from evreview.screen import metrics
from evreview.screen.features import build_matrix
from evreview.screen.pipeline import parse_options
from evreview.screen.simulate import load_labelled, replay

SHARED = Path(os.environ.get("EVREVIEW_SHARED", Path(__file__).resolve().parents[2] / "shared"))
ROOT = SHARED / "benchmarks" / "screening"

COHEN = (
    "ACEInhibitors", "ADHD", "Antihistamines", "AtypicalAntipsychotics", "BetaBlockers",
    "CalciumChannelBlockers", "Estrogens", "NSAIDS", "Opiods", "OralHypoglycemics",
    "ProtonPumpInhibitors", "SkeletalMuscleRelaxants", "Triptans", "UrinaryIncontinence",
)

#: name -> (files relative to ROOT, label column). Several files are concatenated in order.
DATASETS: dict[str, tuple[tuple[str, ...], str]] = {
    "ace": (("ace/ace.csv",), "label_included"),
    "nudging": (("nudging/nudging.csv",), "included"),
    "virus": (("virus/virus.csv",), "included"),
    "nagtegaal": (("nudging/Nagtegaal_2019.csv",), "label_included"),
    "bannach": (("Bannach-Brown_2019/Bannach-Brown_2019.csv",), "label_included"),
    "radjenovic": (("Radjenovic_2013/Radjenovic2005-.csv", "Radjenovic_2013/Radjenovic2005+.csv"), "label"),
    "wahono": (("Wahono_2015_partial/Wahono2008-.csv",), "label"),
    "proton_beam": (("Wallace_2010/proton_beam.csv",), "label_included"),
    "micro_nutrients": (("Wallace_2010/micro_nutrients.csv",), "label_included"),
    "copd": (("Wallace_2010/copd.csv",), "label_included"),
    **{f"cohen_{t}": ((f"Cohen_2006/{t}.csv",), "label_included") for t in COHEN},
}
MAIN = ("ace", "nudging", "virus")
#: ASReview 3.0.8 elas_u4 figures measured on this machine before (benchmarks/screening/README).
README_ASREVIEW = {"ace": (77.7, 85.0, 6.2), "nudging": (71.0, 64.0, 9.0)}
#: Published NB + TF-IDF (ASReview 0.9, Ferdinands et al. 2023) on the same files (README there).
PUBLISHED_NB = {"ace": (82.9, 90.5, 4.9), "nudging": (71.7, 65.3, 9.3), "virus": (71.2, 73.9, 8.2)}


def load(name: str):
    """Labelled frame for a dataset (several files concatenated)."""
    import pandas as pd

    files, label = DATASETS[name]
    return pd.concat([load_labelled(str(ROOT / f), label) for f in files], ignore_index=True)


def run_ours(name: str, seeds: list[int], model_config: dict | None) -> dict:
    """Our replays with the stopping test, timed (features once + every seed)."""
    opts = parse_options(model_config)
    frame = load(name)
    t0 = time.perf_counter()
    X = build_matrix(frame["title"], frame["abstract"], frame["keywords"], opts.features)
    t_feat = time.perf_counter() - t0
    y = frame["label"].to_numpy()
    runs, seconds = [], []
    for s in seeds:
        t = time.perf_counter()
        runs.append(replay(X, y, s, opts.model, None, opts.stopping))
        seconds.append(time.perf_counter() - t)
    figs = {k: float(np.mean([r.figures[k] for r in runs])) for k in ("wss95", "rrf10", "atd")}
    stops = [r for r in runs if r.stop_at is not None]
    return {
        "dataset": name,
        "n": len(y),
        "relevant": int(y.sum()),
        "per_seed": [{"seed": r.seed, **r.figures} for r in runs],
        "mean": figs,
        "sd_wss95": float(np.std([r.figures["wss95"] for r in runs])),
        "seconds_features": t_feat,
        "seconds_per_seed": seconds,
        "stopping": [
            {
                "seed": r.seed,
                "stopped_at": r.stop_at,
                "recall": r.recall_at_stop,
                "work_saved": None if r.stop_at is None else 1 - r.stop_at / r.n_total,
            }
            for r in runs
        ],
        "stop_ok": sum(1 for r in stops if r.recall_at_stop >= 0.95 and r.stop_at < r.n_total),
    }


def asreview_metrics(project: Path, labels: np.ndarray) -> dict[str, float]:
    """WSS/RRF/ATD from an ASReview project file: the results table in labelling order, priors dropped."""
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(project) as zf:
            db = next(n for n in zf.namelist() if n.endswith("results.db"))
            zf.extract(db, tmp)
        con = sqlite3.connect(Path(tmp) / db)
        cols = [r[1] for r in con.execute("PRAGMA table_info(results)")]
        order_col = "time" if "time" in cols else "rowid"
        rows = con.execute(f"SELECT record_id, label, querier FROM results ORDER BY {order_col}, rowid").fetchall()
        con.close()
    priors = [r for r in rows if r[2] in (None, "", "prior")]
    rest = [r for r in rows if r[2] not in (None, "", "prior")]
    n_rest = len(labels) - len(priors)
    ranks = metrics.relevant_ranks([int(r[1]) for r in rest])
    r_rest = int(labels.sum()) - sum(int(r[1]) for r in priors)
    if len(ranks) != r_rest:
        raise RuntimeError(f"{project}: found {len(ranks)} of {r_rest} relevant records")
    return metrics.summarise(ranks, n_rest)


def run_asreview(exe: Path, name: str, seeds: list[int], work: Path) -> dict | None:
    """ASReview simulate per seed (cached in ``work``); None when ASReview is not installed."""
    if not exe.exists():
        return None
    files, _ = DATASETS[name]
    if len(files) != 1:
        return None
    labels = load(name)["label"].to_numpy()
    work.mkdir(parents=True, exist_ok=True)
    figs, secs = [], []
    for s in seeds:
        project = work / f"{name}_{s}.asreview"
        timing = work / f"{name}_{s}.json"
        if not (project.exists() and timing.exists()):
            t = time.perf_counter()
            cmd = [str(exe), "simulate", str(ROOT / files[0]), "--n-prior-included", "1",
                   "--n-prior-excluded", "1", "--prior-seed", str(s), "--seed", str(s), "-o", str(project)]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            timing.write_text(json.dumps({"seconds": time.perf_counter() - t, "cmd": cmd}))
        secs.append(json.loads(timing.read_text())["seconds"])
        figs.append(asreview_metrics(project, labels))
    return {
        "mean": {k: float(np.mean([f[k] for f in figs])) for k in ("wss95", "rrf10", "atd")},
        "seconds_per_seed": secs,
        "seeds": seeds,
    }


def rerank_50k(model_config: dict | None, n_target: int = 50_000, n_decided: int = 1000) -> dict:
    """Time one new decision + re-rank over ~50,000 real records (all datasets stacked)."""
    import pandas as pd

    from evreview.screen.ranker import Learner

    opts = parse_options(model_config)
    frames = []
    total = 0
    for name in DATASETS:
        if total >= n_target:
            break
        f = load(name)
        frames.append(f)
        total += len(f)
    frame = pd.concat(frames, ignore_index=True)
    while len(frame) < n_target:
        frame = pd.concat([frame, frame], ignore_index=True)
    frame = frame.iloc[:n_target]
    t = time.perf_counter()
    X = build_matrix(frame["title"], frame["abstract"], frame["keywords"], opts.features)
    t_feat = time.perf_counter() - t
    y = frame["label"].to_numpy()
    rng = np.random.default_rng(0)
    pos = rng.choice(np.flatnonzero(y == 1), 50, replace=False)
    neg = rng.choice(np.flatnonzero(y == 0), n_decided - 50, replace=False)
    learner = Learner(X, opts.model)
    for i in np.concatenate([pos, neg]):
        learner.add(int(i), int(y[i]))
    learner.scores()
    times = []
    undecided = np.setdiff1d(np.arange(len(y)), np.concatenate([pos, neg]))
    for i in undecided[:5]:
        t = time.perf_counter()
        learner.add(int(i), int(y[i]))
        s = learner.scores()
        open_ = np.flatnonzero(~np.isin(np.arange(len(y)), list(learner.labels)))
        _ = open_[np.lexsort((open_, -s[open_]))]
        times.append(time.perf_counter() - t)
    return {"records": len(y), "features": X.shape[1], "decided": len(learner.labels),
            "seconds_features_once": t_feat, "seconds_rerank_median": float(np.median(times)),
            "seconds_rerank_max": float(np.max(times))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=",".join(MAIN), help=f"comma list, 'all' or 'none' ({', '.join(DATASETS)})")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--asreview", type=Path, default=Path("/work/peers/asreview/bin/asreview"))
    ap.add_argument("--asreview-datasets", default="ace,nudging", help="'none' to skip ASReview")
    ap.add_argument("--asreview-seeds", type=int, default=1)
    ap.add_argument("--work", type=Path, default=Path("/work/peers/asreview_runs"))
    ap.add_argument("--model-config", help="JSON screening model config (default: evreview's default)")
    ap.add_argument("--no-rerank", action="store_true", help="skip the 50,000-record re-rank timing")
    ap.add_argument("--json", type=Path, help="also write all figures here")
    args = ap.parse_args(argv)
    if args.datasets == "all":
        names = list(DATASETS)
    else:
        names = [] if args.datasets == "none" else args.datasets.split(",")
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        ap.error(f"unknown dataset(s): {', '.join(unknown)}")
    cfg = json.loads(args.model_config) if args.model_config else None
    seeds = list(range(1, args.seeds + 1))
    asr_names = [] if args.asreview_datasets == "none" else args.asreview_datasets.split(",")
    print(f"ranker: {parse_options(cfg).method()}", flush=True)
    hdr = (f"{'dataset':<26}{'N':>6}{'R':>5} | {'WSS@95':>7}{'RRF@10':>7}{'ATD':>6} | "
           f"{'ASR WSS':>7}{'RRF':>6}{'ATD':>6} | {'NB WSS':>7}{'RRF':>6} | {'stop ok':>7}{'saved%':>7} | "
           f"{'s/seed':>7}{'ASR s':>7}{'speed':>7}")
    print(hdr)
    print("-" * len(hdr), flush=True)
    results = []
    for name in names:
        ours = run_ours(name, seeds, cfg)
        asr = run_asreview(args.asreview, name, list(range(1, args.asreview_seeds + 1)), args.work) \
            if name in asr_names else None
        ours["asreview"] = asr
        results.append(ours)
        m = ours["mean"]
        per_seed = ours["seconds_features"] / len(seeds) + float(np.mean(ours["seconds_per_seed"]))
        saved = [s["work_saved"] for s in ours["stopping"] if s["work_saved"] is not None]
        if asr:
            a = asr["mean"]
            asr_txt = f"{a['wss95']:>7.1f}{a['rrf10']:>6.1f}{a['atd']:>6.1f}"
            a_sec = float(np.mean(asr["seconds_per_seed"]))
            time_txt = f"{a_sec:>7.1f}{a_sec / per_seed:>6.1f}x"
        elif name in README_ASREVIEW:
            w, r, d = README_ASREVIEW[name]
            asr_txt = f"{w:>6.1f}*{r:>6.1f}{d:>6.1f}"
            time_txt = f"{'-':>7}{'-':>7}"
        else:
            asr_txt, time_txt = f"{'-':>7}{'-':>6}{'-':>6}", f"{'-':>7}{'-':>7}"
        nb_txt = (f"{PUBLISHED_NB[name][0]:>7.1f}{PUBLISHED_NB[name][1]:>6.1f}" if name in PUBLISHED_NB
                  else f"{'-':>7}{'-':>6}")
        print(
            f"{name:<26}{ours['n']:>6}{ours['relevant']:>5} | {m['wss95']:>7.1f}{m['rrf10']:>7.1f}{m['atd']:>6.1f} | "
            f"{asr_txt} | {nb_txt} | {ours['stop_ok']:>4}/{len(seeds):<2}"
            f"{(100 * float(np.mean(saved)) if saved else math.nan):>7.1f} | {per_seed:>7.1f}{time_txt}",
            flush=True,
        )
    print("* ASReview 3.0.8 elas_u4 from the benchmark README (5 seeds, measured earlier on this machine)")
    print("NB = published NB + TF-IDF figures (ASReview 0.9, Ferdinands et al. 2023), same files and metric")
    print("stop ok = seeds where the stopping test fired at >= 95% recall; saved% = records not screened then")
    print("s/seed = wall seconds per seed (features shared); speed = ASReview s/seed over ours")
    extra = {}
    if not args.no_rerank:
        extra = rerank_50k(cfg)
        print(
            f"re-rank after one decision: {extra['records']} records, {extra['features']} features, "
            f"{extra['decided']} decided: median {extra['seconds_rerank_median']:.3f}s, "
            f"max {extra['seconds_rerank_max']:.3f}s (features once: {extra['seconds_features_once']:.1f}s)",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps({"results": results, "rerank": extra}, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
