"""Cold start: where the relevant studies land in the first worklist, before any decision.

On the demo review (``data/raw/2024-03_initial``, planted truth in ``data/demo/truth``) this
ingests and deduplicates the exports with the ``evreview`` commands into a temporary folder,
then builds the worklist with no decisions twice: in study-id order (no review question) and
ordered by the review's title and question from ``config/config.yaml`` (the cold start). It
prints, for each, how many relevant studies (``include_expected`` in the truth) are in the
first 10/25/50 and how many studies are screened before half of them are found.

    python benchmarks/cold_start.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from evreview.screen.commands import load_config, review_query
from evreview.screen.pipeline import screen_studies

REPO = Path(__file__).resolve().parents[1]
ROUND = "2024-03_initial"


def demo_studies(work: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(studies, duplicates) of the demo's first round, through ``evreview ingest`` and ``dedup``."""
    exe = [sys.executable, "-m", "evreview.cli"]
    tables = []
    for export in sorted((REPO / "data" / "raw" / ROUND).iterdir()):
        if export.suffix == ".yaml":
            continue
        out = work / f"{export.name}.parquet"
        subprocess.run([*exe, "ingest", str(export), "--search", ROUND, "--root", str(REPO), "--out", str(out),
                        "--config", str(REPO / "config" / "config.yaml")], check=True, capture_output=True)
        tables.append(str(out))
    subprocess.run([*exe, "dedup", *tables, "--out", str(work / "dedup")], check=True, capture_output=True)
    return (pd.read_parquet(work / "dedup" / "studies.parquet"),
            pd.read_csv(work / "dedup" / "duplicates.csv", dtype=str))


def main() -> int:
    truth_records = pd.read_csv(REPO / "data" / "demo" / "truth" / "records.csv", dtype=str)
    truth_studies = pd.read_csv(REPO / "data" / "demo" / "truth" / "studies.csv", dtype=str)
    key_of = dict(zip(truth_records["record_id"], truth_records["study_key"]))
    included = dict(zip(truth_studies["study_key"], truth_studies["include_expected"] == "1"))
    config = REPO / "config" / "config.yaml"
    rules = yaml.safe_load(config.read_text(encoding="utf-8"))["screening"]["rules"]
    with tempfile.TemporaryDirectory() as tmp:
        studies, duplicates = demo_studies(Path(tmp))
    relevant = {sid: any(included.get(key_of.get(r), False) for r in group["record_id"])
                for sid, group in duplicates.groupby("study_id")}
    for name, query in (("study-id order", None), ("cold start", review_query(load_config(config)))):
        worklist = screen_studies(studies, rules, None, None, query=query).worklist["study_id"].tolist()
        flags = np.array([relevant[s] for s in worklist])
        half = int(np.searchsorted(np.cumsum(flags), (flags.sum() + 1) // 2)) + 1
        top = "/".join(str(int(flags[:k].sum())) for k in (10, 25, 50))
        print(f"{name:15s} {len(worklist)} to screen, {int(flags.sum())} relevant: in the first 10/25/50 {top}; "
              f"half of them found after {half} (fewest possible {(int(flags.sum()) + 1) // 2})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
