"""Benchmark: ingesting a ~100,000-record RIS file, against rispy's raw parse.

Builds a large RIS file by repeating the shared Scopus export (400 copies = 102,000 records,
~255 MB) in a temporary folder, then measures, each in a fresh subprocess so that peak memory
is that step's own:

(a) ``rispy.load`` on the file: the raw parse alone (no normalisation, no output);
(r) evreview's RIS reader alone: read, decode, ``RisReader.parse`` (tokenise + map fields);
(b) evreview's ``ingest_file`` (decode, detect, parse, normalise, DataFrame) plus
    ``write_records`` to Parquet.

The target is (b) at least as fast as (a) with peak RSS under 1.5 GB. Wall seconds and CPU
seconds (user + system) are both printed: on a shared machine wall time swings with the
load, so compare the ratios, which come from the same run. Figures are printed, never
asserted.

Usage::

    python benchmarks/ingest_ris.py [--copies 400] [--shared ../shared] [--profile]

``--profile`` adds a fourth subprocess timing (b)'s stages separately (read+decode, RIS
parse, ``finalise_record`` + provenance, ``json.dumps`` of ``raw``, DataFrame build).
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
    from evreview.ingest.formats.ris import RisReader
    from evreview.ingest.registry import Source
    from evreview.ingest.textio import decode

    def work() -> int:
        data = path.read_bytes()
        text = decode(data, path.name)
        return len(RisReader().parse(Source(path=path, data=data, text=text)).records)

    return measure(work)


def child_evreview(path: Path, out_dir: Path) -> dict[str, float]:
    """(b): evreview's full ingest of the file, written to Parquet."""
    from evreview.ingest import ingest_file, write_records

    split: dict[str, float] = {}

    def work() -> int:
        start = time.perf_counter()
        result = ingest_file(path, search="bench", root=path.parent)
        split["ingest_s"] = time.perf_counter() - start
        write_records(result.records, out_dir / "records.parquet")
        split["write_s"] = time.perf_counter() - start - split["ingest_s"]
        return len(result.records)

    figures = measure(work)
    figures.update(split)
    figures["parquet_mb"] = (out_dir / "records.parquet").stat().st_size / 1e6
    return figures


def child_profile(path: Path, out_dir: Path) -> dict[str, float]:
    """Time (b)'s stages separately, mirroring ``ingest_file``'s steps (CPU seconds each).

    Where the time goes when (b) misses its target: read+decode, RIS parse, the driver's
    ``finalise_record`` + provenance, ``json.dumps`` of ``raw``, and the DataFrame build.
    """
    import json as json_mod

    from evreview.ingest import _to_frame
    from evreview.ingest.formats.ris import RisReader
    from evreview.ingest.registry import Source
    from evreview.ingest.textio import decode
    from evreview.records import finalise_record, make_record_id

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    t0 = cpu()
    data = path.read_bytes()
    text = decode(data, path.name)
    t1 = cpu()
    result = RisReader().parse(Source(path=path, data=data, text=text))
    t2 = cpu()
    rows = []
    for index, parsed in enumerate(result.records):
        row = finalise_record(dict(parsed.fields))
        row.update(
            record_id=make_record_id("bench", path.name, index),
            search="bench",
            source_file=path.name,
            source_format="ris",
            source_index=index,
            source_line=parsed.line,
        )
        rows.append(row)
    t3 = cpu()
    raws = [json_mod.dumps(p.raw, ensure_ascii=False, sort_keys=True, default=str) for p in result.records]
    t4 = cpu()
    for row, raw in zip(rows, raws):
        row["raw"] = raw
    _to_frame(rows)
    t5 = cpu()
    return {
        "read_decode_cpu_s": t1 - t0,
        "ris_parse_cpu_s": t2 - t1,
        "finalise_cpu_s": t3 - t2,
        "json_raw_cpu_s": t4 - t3,
        "dataframe_cpu_s": t5 - t4,
    }


CHILDREN: dict[str, Callable[[Path, Path], dict[str, float]]] = {
    "rispy": child_rispy,
    "reader": child_reader,
    "evreview": child_evreview,
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
        names = ["rispy", "reader", "evreview", *(["profile"] if args.profile else [])]
        figs = {name: run_child(name, big, tmp_dir) for name in names}

    rispy_fig, reader_fig, ev_fig = figs["rispy"], figs["reader"], figs["evreview"]
    print(line("(a) rispy.load raw parse", rispy_fig))
    print(line("(r) evreview RIS reader alone", reader_fig))
    print(
        line("(b) evreview ingest + Parquet", ev_fig)
        + f"\n    (ingest {ev_fig['ingest_s']:.2f} s + write {ev_fig['write_s']:.2f} s wall; "
        f"Parquet {ev_fig['parquet_mb']:.1f} MB)"
    )
    for label, fig in (("(r)", reader_fig), ("(b)", ev_fig)):
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
    for name in ("rispy", "reader", "evreview"):
        if figs[name]["records"] != expected:
            print(f"WARNING: {name} found {figs[name]['records']} records, expected {expected}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
