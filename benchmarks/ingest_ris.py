"""Benchmark: ingesting a ~100,000-record RIS file, against rispy's raw parse.

Builds a large RIS file by repeating the shared Scopus export (400 copies = 102,000 records,
~255 MB) in a temporary folder, then measures, each in a fresh process:

(a) ``rispy.load`` on the file: the raw parse alone (no normalisation, no output), as a
    ``python -c`` command: interpreter start-up and ``import rispy`` included;
(b) what users run: the ``evreview ingest FILE --out records.parquet`` command (start-up,
    decode, detect, parse and normalise -- in worker processes for a file this large --
    write Parquet row groups as it goes, report and problems CSVs);
(s) with ``--single``: (b) in one process (``EVREVIEW_INGEST_WORKERS=1``);
(r) evreview's RIS reader alone, timed inside its process: read, decode, ``RisReader.parse``
    (tokenise + map fields), its record stream exhausted with the GC paused;
(d) with ``--dataframe``: the Python API, ``ingest_file`` (a DataFrame) + ``write_records``,
    timed inside its process (CPU of its workers included; peak RSS is its own only).

(a), (b) and (s) are timed from outside: wall seconds from start to exit, CPU seconds
(user + system) of the process and every worker it waited for (``wait4``), and peak memory
as the largest sum of resident set sizes over the process and its workers, sampled every
20 ms (forked workers share pages with the parent, which RSS counts in each: an upper
bound). The target is (b) at least as fast as (a) in wall time, with peak memory under
1.5 GB. On a shared machine wall time swings with the load, so compare ratios from the
same run; the workers spend more CPU in total than one process (CPU ratio printed too).
Figures are printed, never asserted.

Usage::

    python benchmarks/ingest_ris.py [--copies 400] [--shared ../shared] [--profile] [--dataframe] [--single]
                                    [--repeat N]

``--profile`` adds a subprocess timing the single-process stages separately, all at once
rather than per batch (read+decode, RIS parse, ``normalise_columns``, provenance + ``raw``
JSON + Arrow table, Parquet write).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SCOPUS = Path("fixtures/exports/scopus/20221207_gambling-harms_scopus_255.ris")
PEAK_TARGET_MB = 1500


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


def _cpu_seconds() -> float:
    """User + system seconds of this process and of the worker processes it has waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def measure(work: Callable[[], int]) -> dict[str, float]:
    """Run ``work`` (returning a record count); wall and CPU seconds (workers included), this
    process's peak RSS (not its workers')."""
    before = _cpu_seconds()
    start = time.perf_counter()
    records = work()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = _cpu_seconds() - before
    # Linux reports ru_maxrss in KiB; figures are in MB (10^6 bytes) throughout
    return {"wall_s": wall, "cpu_s": cpu, "records": records, "peak_rss_mb": after.ru_maxrss * 1024 / 1e6}


def _tree_rss(pid: int) -> tuple[int, dict[int, int]]:
    """Resident set size (bytes) of ``pid`` and all its descendants now, and each one's peak
    so far (``VmHWM``), from ``/proc``; processes that exit meanwhile are skipped."""
    total = 0
    peaks: dict[int, int] = {}
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            for task in os.listdir(f"/proc/{current}/task"):
                children = Path(f"/proc/{current}/task/{task}/children").read_text().split()
                todo.extend(int(child) for child in children)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        for row in status.splitlines():
            if row.startswith("VmRSS:"):
                total += int(row.split()[1]) * 1024
            elif row.startswith("VmHWM:"):
                peaks[current] = int(row.split()[1]) * 1024
    return total, peaks


def external(command: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``command`` in a fresh process; wall and CPU seconds (its workers included) and
    peak memory (largest sampled RSS sum over the process tree; also the sum of each
    process's own peak, a looser upper bound). Stdout is returned for the caller to parse."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        peak = 0
        peaks: dict[int, int] = {}
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                total, seen = _tree_rss(proc.pid)
                peak = max(peak, total)
                peaks.update(seen)
                done.wait(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        sys.stderr.write(stderr)
        raise SystemExit(f"{command[:3]} failed with exit code {proc.returncode}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": peak / 1e6,
        "peak_hwm_sum_mb": sum(peaks.values()) / 1e6,
        "processes": len(peaks),
        "stdout": stdout,
    }


def run_rispy(path: Path) -> dict[str, Any]:
    """(a): rispy's raw parse of the whole file, start-up and import included."""
    code = "import sys, pathlib, rispy; print(len(rispy.load(pathlib.Path(sys.argv[1]), encoding='utf-8')))"
    figures = external([sys.executable, "-c", code, str(path)])
    figures["records"] = int(figures.pop("stdout").split()[-1])
    return figures


def evreview_command() -> list[str]:
    """The ``evreview`` console script of this interpreter's environment (``-m`` without one)."""
    script = Path(sys.executable).with_name("evreview")
    return [str(script)] if script.exists() else [sys.executable, "-m", "evreview"]


def run_evreview(path: Path, out_dir: Path, *, workers: int | None = None) -> dict[str, Any]:
    """(b)/(s): ``evreview ingest FILE --out records.parquet`` as users run it."""
    import pyarrow.parquet as pq

    out = out_dir / "records.parquet"
    env = dict(os.environ)
    if workers is not None:
        env["EVREVIEW_INGEST_WORKERS"] = str(workers)
    command = [*evreview_command(), "ingest", str(path), "--out", str(out), "--search", "bench"]
    command += ["--root", str(path.parent)]
    figures = external(command, env=env)
    figures.pop("stdout")
    figures["records"] = pq.ParquetFile(out).metadata.num_rows
    figures["parquet_mb"] = out.stat().st_size / 1e6
    out.unlink()
    return figures


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


def child_dataframe(path: Path, out_dir: Path) -> dict[str, float]:
    """(d): the Python API, ``ingest_file`` (whole DataFrame in memory) + ``write_records``."""
    from evreview.ingest import ingest_file, write_records

    def work() -> int:
        result = ingest_file(path, search="bench", root=path.parent)
        write_records(result.records, out_dir / "records_df.parquet")
        return len(result.records)

    return measure(work)


def child_profile(path: Path, out_dir: Path) -> dict[str, float]:
    """Time the single-process stages separately on the whole file (CPU seconds each).

    Where the time goes: read+decode, RIS parse (tokenise + field mapping), the columnar
    normalisation, provenance + ``raw`` JSON + Arrow table, and the Parquet write.
    """
    import gc

    import pyarrow.parquet as pq

    from evreview.ingest import records_table
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
    # normalises again: subtract (t3 - t2) for provenance + raw + table
    table = records_table(records, search="bench", shown=path.name, reader_name="ris", first_index=0)
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
    "reader": child_reader,
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


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median wall time (the lower middle one of an even number)."""
    return sorted(runs, key=lambda fig: fig["wall_s"])[(len(runs) - 1) // 2]


def line(label: str, fig: dict[str, Any]) -> str:
    text = (
        f"{label:<36} wall {fig['wall_s']:6.2f} s  cpu {fig['cpu_s']:6.2f} s  "
        f"{fig['records'] / fig['wall_s']:7,.0f} records/s  peak RSS {fig['peak_rss_mb']:5.0f} MB"
    )
    if fig.get("processes", 1) > 1:
        text += f" ({fig['processes']} processes; sum of their peaks {fig['peak_hwm_sum_mb']:.0f} MB)"
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=400, help="copies of the Scopus export (default 400)")
    parser.add_argument("--shared", type=Path, default=Path(os.environ.get("EVREVIEW_SHARED", REPO.parent / "shared")))
    parser.add_argument("--profile", action="store_true", help="also time the stages of (b) separately")
    parser.add_argument("--dataframe", action="store_true", help="also measure (d), the DataFrame API")
    parser.add_argument("--single", action="store_true", help="also measure (s), the ingest in one process")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="measure (a) and (b) this many times, alternating (a loaded machine: compare the medians)",
    )
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
        pairs = []
        for _ in range(max(args.repeat, 1)):
            pairs.append((run_rispy(big), run_evreview(big, tmp_dir)))
        figs = {"rispy": median_run([a for a, _ in pairs]), "evreview": median_run([b for _, b in pairs])}
        if args.single:
            figs["single"] = run_evreview(big, tmp_dir, workers=1)
        figs["reader"] = run_child("reader", big, tmp_dir)
        for name in ("dataframe", "profile"):
            if getattr(args, name):
                figs[name] = run_child(name, big, tmp_dir)

    rispy_fig, ev_fig = figs["rispy"], figs["evreview"]
    if len(pairs) > 1:
        for number, (a, b) in enumerate(pairs, 1):
            print(
                f"run {number}: (a) wall {a['wall_s']:6.2f} s cpu {a['cpu_s']:6.2f} s | (b) wall {b['wall_s']:6.2f} s "
                f"cpu {b['cpu_s']:6.2f} s peak {b['peak_rss_mb']:5.0f} MB | "
                f"wall ratio (a)/(b) {a['wall_s'] / b['wall_s']:.2f}"
            )
        print(f"(a) and (b) below: the run with the median wall time of {len(pairs)}")
    print(line("(a) rispy.load raw parse", rispy_fig))
    print(line("(b) evreview ingest --out .parquet", ev_fig) + f"  (Parquet {ev_fig['parquet_mb']:.1f} MB)")
    compared = [("(b)", ev_fig)]
    if "single" in figs:
        print(line("(s) (b) in one process", figs["single"]))
        compared.append(("(s)", figs["single"]))
    print(line("(r) evreview RIS reader alone [in-process]", figs["reader"]))
    compared.append(("(r)", figs["reader"]))
    if "dataframe" in figs:
        print(line("(d) ingest_file + write_records [in-process]", figs["dataframe"]))
        compared.append(("(d)", figs["dataframe"]))
    for label, fig in compared:
        print(
            f"speed (a)/{label}: wall {rispy_fig['wall_s'] / fig['wall_s']:.2f}, "
            f"cpu {rispy_fig['cpu_s'] / fig['cpu_s']:.2f}  (>= 1.00 means at least as fast as rispy)"
        )
    ok = ev_fig["wall_s"] <= rispy_fig["wall_s"]
    print(f"target (b) wall time <= (a) wall time: {'met' if ok else 'NOT met'}")
    print(
        f"target (b) peak RSS < {PEAK_TARGET_MB} MB: {'met' if ev_fig['peak_rss_mb'] < PEAK_TARGET_MB else 'NOT met'}"
    )
    if args.profile:
        for key, value in figs["profile"].items():
            print(f"  profile {key:<20} {value:7.2f} s")
    for name in ("rispy", "reader", "evreview", "single", "dataframe"):
        if name not in figs:
            continue
        if figs[name]["records"] != expected:
            print(f"WARNING: {name} found {figs[name]['records']} records, expected {expected}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
