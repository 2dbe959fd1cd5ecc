"""Benchmark: the tabular readers on large files (figures printed, never asserted).

Builds, in a temporary folder, files of N data rows by repeating the data rows of real files
from ../shared (header kept once): the dedup benchmark CSV ``digital_work`` for the generic
reader (100k rows by default), and the Scopus CSV (with its shifted-column rows) and the WoS
tab-delimited export (20k rows by default: their rows are 10 KB / 3 KB). For each it prints
decode time, the reader's ``parse`` (wall and CPU: wall time is inflated on a shared machine)
and the whole ``ingest_file`` (detect + parse + the driver's normalisation + DataFrame).

Usage::

    python benchmarks/ingest_tabular.py [--rows 100000] [--export-rows 20000] [--shared ../shared]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from evreview.ingest import ingest_file
from evreview.ingest.formats._tabular import read_text_table
from evreview.ingest.registry import Source, get_reader
from evreview.ingest.textio import decode


def build(source: Path, rows: int, out: Path) -> int:
    """Write the header of ``source`` and its data rows repeated to reach ``rows``; return the count."""
    text = decode(source.read_bytes(), source)
    table = read_text_table(text, None, quoting="\t" not in text.split("\n", 1)[0])
    lines = text.split("\n")
    header, body = lines[table.header_line - 1], "\n".join(lines[table.header_line :]).rstrip("\n")
    per = len(table.rows)
    copies = -(-rows // per)
    out.write_text(header + "\n" + "\n".join([body] * copies) + "\n", encoding="utf-8")
    return per * copies


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared")
    ap.add_argument("--rows", type=int, default=100_000, help="rows for the generic CSV case")
    ap.add_argument("--export-rows", type=int, default=20_000, help="rows for the Scopus and WoS cases")
    args = ap.parse_args()
    cases = [
        ("generic_table", args.shared / "benchmarks/dedup/digital_work/records_pre_merged.csv", args.rows),
        ("scopus_csv", args.shared / "fixtures/exports/scopus/scopus.csv", args.export_rows),
        ("wos_tab", args.shared / "fixtures/exports/web_of_science/wos_2026_04_02_4071.txt", args.export_rows),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for name, src, rows in cases:
            path = Path(tmp) / f"{name}.txt"
            n = build(src, rows, path)
            size = path.stat().st_size / 1e6
            data = path.read_bytes()
            t0 = time.perf_counter()
            text = decode(data, path)
            t1, c1 = time.perf_counter(), time.process_time()
            result = get_reader(name).parse(Source(path, data, text, {}))
            t2, c2 = time.perf_counter(), time.process_time()
            full = ingest_file(path)
            t3 = time.perf_counter()
            if not len(result.records) == n == len(full.records):
                raise SystemExit(f"{name}: expected {n} records, got {len(result.records)} / {len(full.records)}")
            print(
                f"{name:14s} rows={n:7d} size={size:6.1f}MB decode={t1 - t0:5.2f}s "
                f"reader.parse={t2 - t1:5.2f}s (cpu {c2 - c1:5.2f}s) ingest_file={t3 - t2:5.2f}s",
                flush=True,
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB (whole run)", file=sys.stderr)


if __name__ == "__main__":
    main()
