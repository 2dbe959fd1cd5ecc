"""Benchmark: ingesting a ~100,000-record RIS file, against rispy's raw parse.

Builds a large RIS file by repeating the shared Scopus export (400 copies = 102,000 records,
~255 MB) in a temporary folder, then measures, each in a fresh subprocess so that peak memory
is that step's own:

(a) ``rispy.load`` on the file: the raw parse alone (no normalisation, no output);
(r) evreview's RIS reader alone: read, decode, ``RisReader.parse`` (tokenise + map fields),
    its record stream exhausted with the GC paused (as the driver runs it);
(b) what users run: ``evreview ingest FILE --out records.parquet`` (decode, detect, parse,
    normalise in batches, write Parquet row groups as it goes, report and problems CSVs);
(d) with ``--dataframe``: the Python API, ``ingest_file`` (a DataFrame) + ``write_records``.

The target is (b) at least as fast as (a) with peak RSS under 1.5 GB. Wall seconds and CPU
seconds (user + system) are both printed: on a shared machine wall time swings with the
load, so compare the ratios, which come from the same run. Figures are printed, never
asserted.

Usage::

    python benchmarks/ingest_ris.py [--copies 400] [--shared ../shared] [--profile] [--dataframe]

``--profile`` adds a subprocess timing (b)'s stages separately, all at once rather than per
batch (read+decode, RIS parse, ``normalise_columns``, provenance + ``raw`` JSON + Arrow table,
Parquet write).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SCOPUS = Path("fixtures/exports/scopus/20221207_gambling-harms_scopus_255.ris")
PEAK_TARGET_MB = 1536


def build_file(source: Path, copies: int, out: Path) -> int:
    """Write ``copies`` concatenated copies of ``source`` to ``out``; return the record count."""
    data = source.read_bytes()
    if not data.endswith(b"\n"):
        data += b"\n"
    with out.open("wb") as handle:
        for _ in range(copies):
            handle.write(data)
    per_copy = data.count(b"\nER  -") + (1 if data.startswith(b"ER  -") else 0)
    return per_copy * copies


def measure(work: Callable[[], int]) -> dict[str, float]:
    """Run ``work`` (returning a record count); wall and CPU seconds, this process's peak RSS."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    records = work()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # Linux reports ru_maxrss in KiB
    return {"wall_s": wall, "cpu_s": cpu, "records": records, "peak_rss_mb": after.ru_maxrss / 1024}


def child_rispy(path: Path, out_dir: Path) -> dict[str, float]:
    """(a): rispy's raw parse of the whole file."""
    import rispy

    return measure(lambda: len(rispy.load(path, encoding="utf-8")))


def child_reader(path: Path, out_dir: Path) -> dict[str, float]:
    """(r): the RIS reader alone, as the driver calls it (bytes read and decoded first)."""
    import gc

    from evreview.ingest.formats.ris import RisReader
    from evreview.ingest.registry import Source
    from evreview.ingest.textio import decode

    def work() -> int:
        data = path.read_bytes()
        text = decode(data, path.name)
        gc.disable()
        return sum(1 for _ in RisReader().parse(Source(path=path, data=data, text=text)).records)

    return measure(work)


def child_evreview(path: Path, out_dir: Path) -> dict[str, float]:
    """(b): ``evreview ingest FILE --out records.parquet``, in process (the streaming path)."""
    from evreview.cli import main

    out = out_dir / "records.parquet"

    def work() -> int:
        code = main(["ingest", str(path), "--out", str(out), "--search", "bench", "--root", str(path.parent)])
        if code != 0:
            raise SystemExit(f"evreview ingest failed with {code}")
        import pyarrow.parquet as pq

        return pq.ParquetFile(out).metadata.num_rows

    figures = measure(work)
    figures["parquet_mb"] = out.stat().st_size / 1e6
    return figures


def child_dataframe(path: Path, out_dir: Path) -> dict[str, float]:
    """(d): the Python API, ``ingest_file`` (whole DataFrame in memory) + ``write_records``."""
    from evreview.ingest import ingest_file, write_records

    def work() -> int:
        result = ingest_file(path, search="bench", root=path.parent)
        write_records(result.records, out_dir / "records_df.parquet")
        return len(result.records)

    return measure(work)


def child_profile(path: Path, out_dir: Path) -> dict[str, float]:
    """Time (b)'s stages separately on the whole file (CPU seconds each; memory not representative).

    Where the time goes: read+decode, RIS parse (tokenise + field mapping), the columnar
    normalisation, provenance + ``raw`` JSON + Arrow table, and the Parquet write.
    """
    import gc

    import pyarrow.parquet as pq

    from evreview.ingest import _FileIngest
    from evreview.ingest.formats.ris import RisReader
    from evreview.ingest.registry import Source
    from evreview.ingest.textio import decode
    from evreview.records import normalise_columns

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    gc.disable()
    t0 = cpu()
    data = path.read_bytes()
    text = decode(data, path.name)
    t1 = cpu()
    records = list(RisReader().parse(Source(path=path, data=data, text=text)).records)
    t2 = cpu()
    normalise_columns([r.fields for r in records])
    t3 = cpu()
    job = _FileIngest.__new__(_FileIngest)
    job.search, job.shown, job.reader = "bench", path.name, RisReader()
    table = job._table(records, 0)  # normalises again: subtract (t3 - t2) for provenance + raw + table
    t4 = cpu()
    pq.write_table(table, out_dir / "profile.parquet")
    t5 = cpu()
    return {
        "read_decode_cpu_s": t1 - t0,
        "ris_parse_cpu_s": t2 - t1,
        "normalise_cpu_s": t3 - t2,
        "raw_json_table_cpu_s": (t4 - t3) - (t3 - t2),
        "parquet_cpu_s": t5 - t4,
    }


CHILDREN: dict[str, Callable[[Path, Path], dict[str, float]]] = {
    "rispy": child_rispy,
    "reader": child_reader,
    "evreview": child_evreview,
    "dataframe": child_dataframe,
    "profile": child_profile,
}


def run_child(name: str, path: Path, out_dir: Path) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter and return the figures it prints as JSON."""
    env = dict(os.environ)
    env.setdefault("PYTHONHASHSEED", "0")
    proc = subprocess.run(
        [sys.executable, __file__, "--child", name, "--path", str(path), "--out-dir", str(out_dir)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"benchmark child {name!r} failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def line(label: str, fig: dict[str, Any]) -> str:
    return (
        f"{label:<32} wall {fig['wall_s']:7.2f} s  cpu {fig['cpu_s']:7.2f} s  "
        f"{fig['records'] / fig['wall_s']:8,.0f} records/s  peak RSS {fig['peak_rss_mb']:6.0f} MB"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=400, help="copies of the Scopus export (default 400)")
    parser.add_argument("--shared", type=Path, default=Path(os.environ.get("EVREVIEW_SHARED", REPO.parent / "shared")))
    parser.add_argument("--profile", action="store_true", help="also time the stages of (b) separately")
    parser.add_argument("--dataframe", action="store_true", help="also measure (d), the DataFrame API")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(CHILDREN[args.child](args.path, args.out_dir)))
        return 0

    source = args.shared / SCOPUS
    if not source.exists():
        raise SystemExit(f"shared export not found: {source} (pass --shared)")
    with tempfile.TemporaryDirectory(prefix="evreview-bench-ris-") as tmp:
        tmp_dir = Path(tmp)
        big = tmp_dir / f"scopus_x{args.copies}.ris"
        expected = build_file(source, args.copies, big)
        print(f"input: {big.name}: {expected} records, {big.stat().st_size / 1e6:.1f} MB")
        names = [
            "rispy",
            "reader",
            "evreview",
            *(["dataframe"] if args.dataframe else []),
            *(["profile"] if args.profile else []),
        ]
        figs = {name: run_child(name, big, tmp_dir) for name in names}

    rispy_fig, reader_fig, ev_fig = figs["rispy"], figs["reader"], figs["evreview"]
    print(line("(a) rispy.load raw parse", rispy_fig))
    print(line("(r) evreview RIS reader alone", reader_fig))
    print(line("(b) evreview ingest --out .parquet", ev_fig) + f"  (Parquet {ev_fig['parquet_mb']:.1f} MB)")
    compared = [("(r)", reader_fig), ("(b)", ev_fig)]
    if "dataframe" in figs:
        print(line("(d) ingest_file + write_records", figs["dataframe"]))
        compared.append(("(d)", figs["dataframe"]))
    for label, fig in compared:
        print(
            f"speed (a)/{label}: wall {rispy_fig['wall_s'] / fig['wall_s']:.2f}, "
            f"cpu {rispy_fig['cpu_s'] / fig['cpu_s']:.2f}  (>= 1.00 means at least as fast as rispy)"
        )
    ok = ev_fig["cpu_s"] <= rispy_fig["cpu_s"] and ev_fig["wall_s"] <= rispy_fig["wall_s"]
    print(f"target (b) at least as fast as (a): {'met' if ok else 'NOT met'}")
    print(
        f"target (b) peak RSS < {PEAK_TARGET_MB} MB: {'met' if ev_fig['peak_rss_mb'] < PEAK_TARGET_MB else 'NOT met'}"
    )
    if args.profile:
        for key, value in figs["profile"].items():
            print(f"  profile {key:<20} {value:7.2f} s")
    for name in ("rispy", "reader", "evreview", "dataframe"):
        if name not in figs:
            continue
        if figs[name]["records"] != expected:
            print(f"WARNING: {name} found {figs[name]['records']} records, expected {expected}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
