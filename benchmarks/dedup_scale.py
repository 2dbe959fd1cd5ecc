"""Dedup at scale: wall time, peak memory and accuracy on synthetic tables of 10k, 100k, 1M records.

    python benchmarks/dedup_scale.py [--sizes 10000 100000 1000000] [--seed 7]

For each size it generates a seeded table (``make_synthetic_records.py``; generation is not
timed), runs the ``evreview dedup`` command as a subprocess (start-up, reading and writing
included), and prints wall seconds, peak resident memory, seconds per 1k records (to show
how close to linear the cost is), CPU seconds and pairwise precision/recall plus lost entities against
the planted duplicates.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pandas as pd
from dedup_benchmark import compile_package, evreview_cmd, peak_of
from make_synthetic_records import make_records

from evreview.dedup.benchmark import score_clustering
from evreview.ingest import write_records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="*", type=int, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    compile_package()
    rows = []
    with tempfile.TemporaryDirectory(prefix="dedup_scale_") as tmp_name:
        tmp = Path(tmp_name)
        for size in args.sizes:
            records = make_records(size, args.seed)
            table = tmp / f"synthetic_{size}.parquet"
            write_records(records, table)
            gold = records.set_index("record_id")["source_id"].str.split("-").str[0]
            del records
            wall, peak, cpu, done = peak_of(evreview_cmd(table, tmp / f"out_{size}"))
            if done.returncode != 0:
                print(done.stderr, file=sys.stderr)
                return 1
            dup = pd.read_csv(tmp / f"out_{size}" / "duplicates.csv", dtype=str, keep_default_na=False)
            dup = dup.set_index("record_id").loc[gold.index]
            s = score_clustering(gold, dup["study_id"], dup["kept"] == "True")
            row = {"records": size, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
                   "s_per_1k": round(wall / size * 1000, 3),
                   "peak_mib": round(peak), "pair_precision": round(s.pair_precision, 5),
                   "pair_recall": round(s.pair_recall, 5), "sensitivity": round(s.sensitivity, 5),
                   "specificity": round(s.specificity, 5), "lost_entities": s.lost_entities}
            rows.append(row)
            print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    print(pd.DataFrame(rows).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
