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

Measured 2026-11-25, default ranker (linear SVM C=0.75 ratio 2 + NB x0.5, z-score sum; tuned
on seeds 11-14, reported seeds 1-5), ``--datasets all --seeds 5 --asreview-cache-only``, with
the stopping test (95 % recall, 95 % confidence) replayed. WSS@95 / RRF@10 / ATD, % (mean of 5):

    dataset                        N    R   WSS@95  RRF@10   ATD  stop>=95%  saved%  cpu s/seed
    ace                         2235   41    79.1    85.0    5.9    5/5      19.4      8.0
    nudging                     1847  100    73.2    64.2    9.0    5/5      28.2     13.3
    virus                       2304  114    71.2    74.3    7.8    5/5      36.6      7.3
    bannach                      1993  280    40.7    52.0   14.4    5/5      26.7     10.5
    radjenovic                   6000   48    87.2    95.7    2.9    5/5      21.6     21.4
    wahono                       3192   32    80.5    93.5    3.3    5/5      18.0      8.7
    proton_beam                  4751  243    83.1    91.5    5.0    5/5      49.2     19.9
    micro_nutrients              4010  258    65.5    68.2    9.8    5/5      45.8     35.7
    copd                         1606  196    65.4    59.6   11.0    5/5      36.2      9.8
    cohen_ACEInhibitors          2544   41    78.2    82.5    7.4    5/5      20.1      8.9
    cohen_ADHD                    851   20     8.1    66.3   13.8    5/5       7.6     12.0
    cohen_Antihistamines          310   16    -1.4    30.7   24.6    5/5       0.3      2.2
    cohen_AtypicalAntipsychotics 1120  146    26.5    37.4   22.6    5/5      20.1      5.0
    cohen_BetaBlockers           2072   42    55.4    69.8   11.2    5/5      21.7      6.9
    cohen_CalciumChannelBlockers 1218  100    27.5    37.2   20.0    5/5      19.6      5.9
    cohen_Estrogens               368   80    29.1    26.1   24.1    5/5      18.5      2.2
    cohen_NSAIDS                  393   41    73.0    55.0   11.6    5/5      26.3      2.3
    cohen_Opiods                 1915   15    13.9    78.6   17.2    5/5       1.2     20.5
    cohen_OralHypoglycemics       503  136    17.4    23.7   30.5    5/5      13.0      2.9
    cohen_ProtonPumpInhibitors   1333   51    42.7    65.2   14.9    5/5      15.9      5.4
    cohen_SkeletalMuscleRelaxants 1643    9    17.1     0.0   49.7    5/5       0.4     26.6
    cohen_Triptans                671   24    60.5    41.7   15.5    5/5      10.7      3.1
    cohen_UrinaryIncontinence     327   40    43.3    45.6   16.8    5/5      11.6      1.7
Since then records with no text at all are ranked as a typical record (``empty="median"``, see
ranker.ModelConfig; only the Cohen topics have such records), seeds 1-5, WSS@95 / RRF@10:
cohen_ADHD 34.2 / 66.3, cohen_Opiods 21.4 / 78.6, cohen_CalciumChannelBlockers 27.8 / 37.2,
cohen_AtypicalAntipsychotics 25.1 / 37.4, cohen_SkeletalMuscleRelaxants 14.0 / 0.0; the other
Cohen topics and every other dataset are unchanged (same orders). Seed 1 against ASReview's
seed 1: ADHD 34.5 vs 26.6, Opiods 21.4 vs 21.0 (both were below), Atypical 26.04 vs 26.04 (tie,
was 27.8), SkeletalMuscle 12.4 vs 18.3 (was 15.6), CalciumChannelBlockers 28.1 vs 25.7: WSS@95
at or above ASReview on 12 of 18 (was 10).
ASReview 3.0.8 elas_u4 (5 seeds, README): ace 77.7/85.0, nudging 71.0/64.0; published NB
(ASReview 0.9): virus 71.2/73.9 (ours 71.24: equal at the published precision). Same seed 1
(ours vs ASReview elas_u4, cached runs in /work/peers/asreview_runs; beat/lose = both figures):

    ace                          ours  79.1/ 85.0  ASReview  77.7/ 85.0  beat   (ASReview 640 s wall)
    nudging                      ours  72.9/ 62.6  ASReview  71.7/ 61.6  beat   (ASReview 461 s wall)
    virus                        ours  71.1/ 74.3  ASReview  70.8/ 76.1  mixed  (ASReview 29 s wall)
    bannach                      ours  42.5/ 31.9  ASReview  40.9/ 56.3  mixed  (ASReview 84 s wall)
    copd                         ours  64.2/ 60.5  ASReview  63.1/ 60.0  beat   (ASReview 104 s wall)
    cohen_ADHD                   ours   8.1/ 63.2  ASReview  26.6/ 63.2  mixed  (ASReview 1661 s wall)
    cohen_Antihistamines         ours  -1.4/ 40.0  ASReview  -1.4/ 46.7  mixed  (ASReview 19 s wall)
    cohen_AtypicalAntipsychotics ours  27.8/ 37.2  ASReview  26.0/ 37.9  mixed  (ASReview 1917 s wall)
    cohen_BetaBlockers           ours  55.3/ 68.3  ASReview  54.1/ 73.2  mixed  (ASReview 80 s wall)
    cohen_CalciumChannelBlockers ours  27.4/ 40.4  ASReview  25.7/ 32.3  beat   (ASReview 125 s wall)
    cohen_Estrogens              ours  27.5/ 30.4  ASReview  28.6/ 31.6  lose   (ASReview 25 s wall)
    cohen_NSAIDS                 ours  73.8/ 55.0  ASReview  73.8/ 60.0  mixed  (ASReview 53 s wall)
    cohen_Opiods                 ours  14.0/ 78.6  ASReview  21.0/ 78.6  mixed  (ASReview 83 s wall)
    cohen_OralHypoglycemics      ours  16.4/ 21.5  ASReview  17.4/ 27.4  lose   (ASReview 338 s wall)
    cohen_ProtonPumpInhibitors   ours  42.9/ 72.0  ASReview  46.5/ 66.0  mixed  (ASReview 37 s wall)
    cohen_SkeletalMuscleRelaxants ours  15.6/  0.0  ASReview  18.3/  0.0  mixed  (ASReview 130 s wall)
    cohen_Triptans               ours  59.0/ 52.2  ASReview  68.1/ 30.4  mixed  (ASReview 776 s wall)
    cohen_UrinaryIncontinence    ours  43.0/ 48.7  ASReview  44.5/ 10.3  mixed  (ASReview 34 s wall)
WSS@95 >= ASReview on 10 of 18 (ace, nudging, virus, bannach, copd, Atypical, BetaBlockers, CCB;
ties Antihistamines, NSAIDS), below on 8 (ADHD -18.5, Triptans -9.1, Opiods -7.0, PPI -3.6,
SkeletalMuscle -2.7, UrinaryIncontinence -1.5, Estrogens -1.1, OralHypoglycemics -1.0): the
small Cohen topics, where WSS@95 hangs on the last 1-2 relevant records.

Stopping: the test fired at >= 95 % recall in every seed of every dataset (lowest recall at
stop 0.951, Cohen BetaBlockers) while leaving 0.2-49.2 % of the records unscreened.
Speed: ASReview's wall times above depend on the load at the time (ace 640 s, virus 29 s).
Side by side at load ~2.5 on virus: ASReview 29 s/seed; ours features 3.4 s once + 5.2 s/seed
(7.1 s with the stopping test replayed), i.e. 5 seeds 4.9x faster (3.8x with stopping).
By CPU time (wall times were meaningless at load ~9), virus, 5 seeds, stopping test replayed,
one session, ``--datasets virus --seeds 5 --asreview-datasets virus --asreview-seeds 5 --work
DIR`` with a fresh DIR (ASReview run and CPU-timed in that session): ASReview 30.1 CPU s/seed
(28.7-31.8); ours before the speed-ups 8.35 (3.79 features / 5 + 7.59 replay), 3.6x; ours now
4.67 (2.84 / 5 + 4.10), 6.4x. Same orders, figures and stop points bit for bit. What changed:
liblinear called with LinearSVC's own arguments (its validation was ~4 ms of every fit), NB
logarithms only for features present in each class, SciPy's Boost hypergeometric CDF called
directly, and no refits after the last relevant record (where the stopping test fires is then
computed on the known all-irrelevant tail). What is left is mostly liblinear itself (a third) and
the two score products (a fifth). Cohen ADHD is the slow case (~9 CPU s/seed for 851 records):
liblinear needs up to ~300 iterations per fit there.
Re-rank after one decision (rerank_50k: 50,000 records, 1.74 M features, 1,005 decided):
median 5.4 s wall at load ~10-18; by CPU time (45,225 records, same features) 0.52 s for the
default ensemble (SVM alone 0.29 s, NB alone 0.25 s), so < 1 s only on an unloaded core.
Earlier figures (5 seeds): SVM alone (the previous default) ace 76.6/85.0, nudging 71.7/65.1,
virus 69.3/73.8; ASReview's elas_u4 setting (``--model-config '{"relevant_weight":9.8,"C":0.11,
"features":{"max_df":0.95}}'``) ace 77.6/85.0, nudging 70.5/64.8, virus 70.3/75.0. Tuning
(seeds 11-14, ace/nudging/virus WSS/RRF) is listed in ranker.ModelConfig's docstring.
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


#: Means closer than this (percentage points) are a tie: the same figures summed in another order.
TIE = 1e-6


def load(name: str):
    """Labelled frame for a dataset (several files concatenated)."""
    import pandas as pd

    files, label = DATASETS[name]
    return pd.concat([load_labelled(str(ROOT / f), label) for f in files], ignore_index=True)


def run_ours(name: str, seeds: list[int], model_config: dict | None) -> dict:
    """Our replays with the stopping test, timed (features once + every seed)."""
    opts = parse_options(model_config)
    frame = load(name)
    t0, c0 = time.perf_counter(), time.process_time()
    X = build_matrix(frame["title"], frame["abstract"], frame["keywords"], opts.features)
    t_feat, c_feat = time.perf_counter() - t0, time.process_time() - c0
    y = frame["label"].to_numpy()
    runs, seconds, cpu = [], [], []
    for s in seeds:
        t, c = time.perf_counter(), time.process_time()
        runs.append(replay(X, y, s, opts.model, None, opts.stopping))
        seconds.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
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
        "cpu_seconds_features": c_feat,
        "seconds_per_seed": seconds,
        "cpu_seconds_per_seed": cpu,
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


def _asreview_results(project: Path) -> list[tuple[int, int, str | None]]:
    """(record_id, label, querier) rows of an ASReview project's results table, in labelling order."""
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(project) as zf:
            db = next(n for n in zf.namelist() if n.endswith("results.db"))
            zf.extract(db, tmp)
        con = sqlite3.connect(Path(tmp) / db)
        cols = [r[1] for r in con.execute("PRAGMA table_info(results)")]
        order_col = "time" if "time" in cols else "rowid"
        rows = con.execute(f"SELECT record_id, label, querier FROM results ORDER BY {order_col}, rowid").fetchall()
        con.close()
    return rows


def asreview_priors(project: Path) -> list[int]:
    """Row indices of the prior records an ASReview run started from (its record_id is the 0-based row)."""
    return [int(r[0]) for r in _asreview_results(project) if r[2] in (None, "", "prior")]


def asreview_metrics(project: Path, labels: np.ndarray) -> dict[str, float]:
    """WSS/RRF/ATD from an ASReview project file: the results table in labelling order, priors dropped."""
    rows = _asreview_results(project)
    priors = [r for r in rows if r[2] in (None, "", "prior")]
    rest = [r for r in rows if r[2] not in (None, "", "prior")]
    n_rest = len(labels) - len(priors)
    ranks = metrics.relevant_ranks([int(r[1]) for r in rest])
    r_rest = int(labels.sum()) - sum(int(r[1]) for r in priors)
    if len(ranks) != r_rest:
        raise RuntimeError(f"{project}: found {len(ranks)} of {r_rest} relevant records")
    return metrics.summarise(ranks, n_rest)


def run_asreview(exe: Path, name: str, seeds: list[int], work: Path, cache_only: bool = False) -> dict | None:
    """ASReview simulate per seed (cached in ``work``); None when ASReview is not installed.

    ``cache_only``: use only the seeds already cached (None when there are none), so a long
    benchmark never blocks on a ~10-minute ASReview run; the missing ones can run separately.
    """
    if not exe.exists():
        return None
    if cache_only:
        seeds = [s for s in seeds if (work / f"{name}_{s}.asreview").exists() and (work / f"{name}_{s}.json").exists()]
        if not seeds:
            return None
    frame = load(name)
    labels = frame["label"].to_numpy()
    work.mkdir(parents=True, exist_ok=True)
    source = asreview_input(name, frame, work)
    figs, secs, cpu, priors = [], [], [], []
    for s in seeds:
        project = work / f"{name}_{s}.asreview"
        timing = work / f"{name}_{s}.json"
        if not (project.exists() and timing.exists()):
            t, c = time.perf_counter(), _children_cpu()
            cmd = [str(exe), "simulate", str(source), "--n-prior-included", "1",
                   "--n-prior-excluded", "1", "--prior-seed", str(s), "--seed", str(s), "-o", str(project)]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            timing.write_text(json.dumps({"seconds": time.perf_counter() - t, "cpu_seconds": _children_cpu() - c,
                                          "cmd": cmd}))
        done = json.loads(timing.read_text())
        secs.append(done["seconds"])
        cpu.append(done.get("cpu_seconds"))  # runs cached before CPU was recorded have none
        figs.append(asreview_metrics(project, labels))
        priors.append(asreview_priors(project))
    return {
        "mean": {k: float(np.mean([f[k] for f in figs])) for k in ("wss95", "rrf10", "atd")},
        "per_seed": figs,
        "seconds_per_seed": secs,
        "cpu_seconds_per_seed": None if None in cpu else cpu,
        "seeds": seeds,
        "priors": priors,
    }


def run_paired(name: str, seeds: list[int], priors: list[list[int]], model_config: dict | None) -> dict:
    """Our replays started from exactly ASReview's prior records (a paired comparison: no prior luck)."""
    opts = parse_options(model_config)
    frame = load(name)
    X = build_matrix(frame["title"], frame["abstract"], frame["keywords"], opts.features)
    y = frame["label"].to_numpy()
    runs = [replay(X, y, s, opts.model, None, None, priors=p) for s, p in zip(seeds, priors)]
    return {"per_seed": [{"seed": r.seed, "priors": r.priors, **r.figures} for r in runs],
            "mean": {k: float(np.mean([r.figures[k] for r in runs])) for k in ("wss95", "rrf10", "atd")}}


def asreview_input(name: str, frame, work: Path) -> Path:
    """The file ASReview simulates: the original when it is one file ASReview reads as is.

    ASReview recognises only ``title``/``primary_title`` as the title column, so the software
    engineering sets (``Document Title``) and the two-file Radjenovic set are written once to
    ``work/NAME.input.csv`` (title, abstract, keywords if any, label_included; same records, same order,
    the text exactly as our loader reads it), so both tools see the same records and text.
    """
    files, _ = DATASETS[name]
    if len(files) == 1:
        with open(ROOT / files[0], encoding="latin-1") as fh:
            header = [c.strip().strip('"').lower() for c in fh.readline().split(",")]
        if "title" in header or "primary_title" in header:
            return ROOT / files[0]
    out = work / f"{name}.input.csv"
    if not out.exists():
        cols = ["title", "abstract"] + (["keywords"] if (frame["keywords"] != "").any() else [])
        norm = frame[cols].copy()
        norm["label_included"] = frame["label"].astype(int)
        tmp = out.with_suffix(".tmp")
        norm.to_csv(tmp, index=False, encoding="utf-8")
        tmp.replace(out)
    return out


def _children_cpu() -> float:
    """User + system CPU seconds of finished child processes (ASReview runs as one)."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


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
    times, cpu = [], []
    undecided = np.setdiff1d(np.arange(len(y)), np.concatenate([pos, neg]))
    for i in undecided[:5]:
        t, c = time.perf_counter(), time.process_time()
        learner.add(int(i), int(y[i]))
        s = learner.scores()
        open_ = np.flatnonzero(~np.isin(np.arange(len(y)), list(learner.labels)))
        _ = open_[np.lexsort((open_, -s[open_]))]
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return {"records": len(y), "features": X.shape[1], "decided": len(learner.labels),
            "seconds_features_once": t_feat, "seconds_rerank_median": float(np.median(times)),
            "seconds_rerank_max": float(np.max(times)), "cpu_seconds_rerank_median": float(np.median(cpu))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=",".join(MAIN), help=f"comma list, 'all' or 'none' ({', '.join(DATASETS)})")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--asreview", type=Path, default=Path("/work/peers/asreview/bin/asreview"))
    ap.add_argument("--asreview-datasets", default="ace,nudging", help="'none' to skip ASReview")
    ap.add_argument("--asreview-seeds", type=int, default=1)
    ap.add_argument("--asreview-cache-only", action="store_true",
                    help="compare only with ASReview runs already cached in --work (never start one)")
    ap.add_argument("--work", type=Path, default=Path("/work/peers/asreview_runs"))
    ap.add_argument("--model-config", help="JSON screening model config (default: evreview's default)")
    ap.add_argument("--no-rerank", action="store_true", help="skip the 50,000-record re-rank timing")
    ap.add_argument("--paired", action="store_true",
                    help="also replay ours from ASReview's own prior records, seed by seed (paired comparison)")
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
        asr = run_asreview(args.asreview, name, list(range(1, args.asreview_seeds + 1)), args.work,
                           args.asreview_cache_only) if name in asr_names else None
        if asr:  # ours on exactly ASReview's seeds, for a like-for-like comparison
            same = [p for p in ours["per_seed"] if p["seed"] in asr["seeds"]]
            asr["ours_same_seeds"] = {k: float(np.mean([p[k] for p in same])) for k in ("wss95", "rrf10", "atd")} \
                if len(same) == len(asr["seeds"]) else None
            if args.paired:
                asr["ours_same_priors"] = run_paired(name, asr["seeds"], asr["priors"], cfg)
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
    tallies = {"same seeds": {"n": 0, "wss": [], "rrf": []}, "same priors": {"n": 0, "wss": [], "rrf": []}}
    for r in results:
        a = r["asreview"]
        if not (a and a.get("ours_same_seeds")):
            continue
        m = a["mean"]
        cpu = r["cpu_seconds_features"] / len(r["cpu_seconds_per_seed"]) + float(np.mean(r["cpu_seconds_per_seed"]))
        a_cpu = a["cpu_seconds_per_seed"]
        a_txt = (f"ASReview {np.mean(a_cpu):.1f}, {np.mean(a_cpu) / cpu:.1f}x" if a_cpu
                 else f"ASReview wall {np.mean(a['seconds_per_seed']):.0f}")
        paired = a.get("ours_same_priors")
        for kind, o in (("same seeds", a["ours_same_seeds"]), ("same priors", paired and paired["mean"])):
            if not o:
                continue
            t = tallies[kind]
            t["n"] += 1
            below = {k: o[k] < m[k] - TIE for k in ("wss95", "rrf10")}  # equal up to float summation order: a tie
            for key, k in (("wss", "wss95"), ("rrf", "rrf10")):
                if below[k]:
                    t[key].append(f"{r['dataset']} {o[k] - m[k]:+.1f}")
            verdict = "beat" if not any(below.values()) else ("lose" if all(below.values()) else "mixed")
            print(f"{kind} {a['seeds']} {r['dataset']:<28} ours {o['wss95']:5.1f}/{o['rrf10']:5.1f}  "
                  f"ASReview {m['wss95']:5.1f}/{m['rrf10']:5.1f}  {verdict}"
                  + (f"  (cpu s/seed incl. features: ours {cpu:.2f}, {a_txt})" if kind == "same seeds" else ""))
    for kind, t in tallies.items():
        for key, label in (("wss", "WSS@95"), ("rrf", "RRF@10")):
            if t["n"]:
                print(f"{kind}: {label} at or above ASReview on {t['n'] - len(t[key])} of {t['n']} datasets"
                      + (f"; below: {', '.join(t[key])}" if t[key] else ""))
    extra = {}
    if not args.no_rerank:
        extra = rerank_50k(cfg)
        print(
            f"re-rank after one decision: {extra['records']} records, {extra['features']} features, "
            f"{extra['decided']} decided: median {extra['seconds_rerank_median']:.3f}s, "
            f"max {extra['seconds_rerank_max']:.3f}s, CPU median {extra['cpu_seconds_rerank_median']:.3f}s "
            f"(features once: {extra['seconds_features_once']:.1f}s)",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps({"results": results, "rerank": extra}, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
