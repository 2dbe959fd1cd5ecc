"""Embedding throughput per backend on real abstracts: records/s and sentences/s, wall and CPU.

Embeds the first ``--n`` records with a title and abstract of the ACE screening benchmark
(``../shared/benchmarks/screening/ace/ace.csv``) through :func:`evreview.embed.embed_studies`
on a cold cache, for each backend: the packaged MiniLM (a transformer over every sentence),
``minilm-static`` (model2vec distilled once from it; the distillation is cached under
``--model-cache`` and timed separately, not in the throughput), and TF-IDF + SVD (fit timed
separately too). Model loading is excluded from the throughput by a one-sentence warm-up.

CPU seconds are the process's (all its threads), so they stay comparable on a loaded machine
where wall time does not; torch is limited to ``--threads`` (default: the cores we may use).

Run: ``nice python benchmarks/embed_throughput.py [--n 2000] [--backends minilm,minilm-static,tfidf]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from evreview.embed import embed_studies, fit_backend, make_backend, study_text
from evreview.embed.backends import available_cores

REPO = Path(__file__).resolve().parents[1]
ACE = Path(os.environ.get("EVREVIEW_SHARED", REPO.parent / "shared")) / "benchmarks" / "screening" / "ace" / "ace.csv"


def load_records(path: Path, n: int) -> pd.DataFrame:
    """The first ``n`` records with both a title and an abstract, as a studies table."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = frame[(frame["title"].str.strip() != "") & (frame["abstract"].str.strip() != "")].head(n)
    columns = {"study_id": frame["pubmedID"], "title": frame["title"], "abstract": frame["abstract"]}
    studies = pd.DataFrame({k: v.tolist() for k, v in columns.items()})
    return studies.sort_values("study_id", kind="stable").reset_index(drop=True)


def measure(name: str, studies: pd.DataFrame, args: argparse.Namespace) -> dict[str, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    backend = make_backend(name, device="cpu", threads=args.threads, cache_dir=args.model_cache)
    fit_backend(backend, [study_text(t, a) for t, a in zip(studies["title"], studies["abstract"])])
    backend.encode(["warm-up sentence loads the model"])  # static: distils on first use (cached after)
    prepare = {"prepare_wall_s": round(time.perf_counter() - wall, 1),
               "prepare_cpu_s": round(time.process_time() - cpu, 1)}
    with tempfile.TemporaryDirectory() as cold:
        wall, cpu = time.perf_counter(), time.process_time()
        emb = embed_studies(studies, backend, cold, batch_size=args.batch_size, progress=False)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    n, sentences = len(studies), emb.stats.n_embedded
    return {
        "backend": name,
        "model_id": backend.model_id,
        "records": n,
        "sentences_embedded": sentences,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "records_per_s": round(n / wall, 1),
        "sentences_per_s": round(sentences / wall, 1),
        "records_per_cpu_s": round(n / cpu, 1) if cpu else None,
        **prepare,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--backends", default="minilm,minilm-static,tfidf")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=available_cores())
    parser.add_argument("--model-cache", type=Path,
                        default=Path(os.environ.get("EVREVIEW_CACHE", Path.home() / ".cache" / "evreview")) / "bench")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if not ACE.exists():
        print(f"ACE benchmark not found at {ACE}", file=sys.stderr)
        return 2
    studies = load_records(ACE, args.n)
    print(f"{len(studies)} ACE records (title + abstract), {args.threads} torch threads, load "
          f"{os.getloadavg()[0]:.1f}", file=sys.stderr)
    results = []
    for name in [b.strip() for b in args.backends.split(",") if b.strip()]:
        res = measure(name, studies, args)
        results.append(res)
        print(json.dumps(res), flush=True)
    print("\nbackend          records/s  sentences/s  records/CPU-s  wall s  CPU s  (prepare wall/CPU s)")
    for r in results:
        print(f"{r['backend']:<16} {r['records_per_s']:>9} {r['sentences_per_s']:>12} {r['records_per_cpu_s']:>14} "
              f"{r['wall_s']:>7} {r['cpu_s']:>6}  ({r['prepare_wall_s']}/{r['prepare_cpu_s']})")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
