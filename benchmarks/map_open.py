"""Benchmark: how long a 10,000-study evidence-gap map takes to open in headless Chromium.

Builds a synthetic coded table of N studies (default 10,000) over the demo codebook's
dimensions, writes the self-contained egm.html, opens it from file:// in Debian's chromium
(via selenium + chromedriver) and prints the seconds until the page's script has drawn the
map (window.EGM_READY), best and median of several loads, plus the file size. Target: < 3 s.

Usage: python benchmarks/map_open.py [--studies 10000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from evreview.code.codebook import load_codebook
from evreview.maps import build_map, spec_from_config, vocab_from_codebook

REPO = Path(__file__).resolve().parents[1]


def synthetic_coded(n: int, vocab: dict, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {"study_id": [f"s{i:06d}" for i in range(n)], "title": [f"Study {i} <b>title</b>" for i in range(n)],
            "year": rng.integers(2000, 2026, n), "journal": "Evidence & Policy",
            "doi": [f"10.1234/{i}" for i in range(n)], "source_databases": [["Scopus"]] * n}
    for dim, codes in vocab.items():
        ids = [c for c, _ in codes]
        data[dim] = [";".join(sorted(set(rng.choice(ids, size=rng.integers(1, 3))))) for _ in range(n)]
    return pd.DataFrame(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--studies", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from selenium import webdriver

    vocab = vocab_from_codebook(load_codebook(REPO / "config" / "codebook.yaml"))
    spec = spec_from_config({"rows": "theme", "columns": "outcome_level", "segment": "evidence_type",
                             "filters": ["stage", "place"]}, vocab)
    start = time.perf_counter()
    result = build_map(synthetic_coded(args.studies, vocab), vocab, spec, title="Benchmark map")
    build_s = time.perf_counter() - start
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService("/usr/bin/chromedriver"))
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "egm.html"
        page.write_text(result.html, encoding="utf-8")
        for _ in range(args.repeats):
            driver.get("about:blank")
            t0 = time.perf_counter()
            driver.get(page.as_uri())
            while not driver.execute_script("return window.EGM_READY === true"):
                time.sleep(0.01)
            times.append(time.perf_counter() - t0)
        size = page.stat().st_size
    driver.quit()
    print(f"{args.studies} studies: egm.html {size / 1e6:.1f} MB, built in {build_s:.1f} s; "
          f"opened in best {min(times):.2f} s, median {statistics.median(times):.2f} s (target < 3 s)")


if __name__ == "__main__":
    main()
