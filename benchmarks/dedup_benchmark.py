"""Deduplication benchmark: evreview vs. the peer bib-dedupe on the labelled sets in ../shared.

For every group-labelled set in ``<shared>/benchmarks/dedup`` this prints record-level
sensitivity/specificity (ASySD / bib-dedupe removal convention), pairwise precision/recall/F1,
lost entities, wall seconds and peak memory of the ``evreview dedup`` command run as a
subprocess (start-up included), and the same for bib-dedupe run from its own venv, with the
ratios. It also runs the 25 curated pair cases through the pairwise matcher.

    python benchmarks/dedup_benchmark.py [--shared ../shared] [--peer /work/peers/bibdedupe/bin/python]

Both tools get the same ``records_pre_merged.csv``: ours is timed as ``evreview dedup CSV --out
DIR`` end to end (interpreter start-up, the generic CSV reader of ``evreview ingest``, dedup and
writing every output, merged studies included; for exports this small the command reads them,
builds their keys and scores their pairs in a second process while its first imports pandas,
and ``cpu_s`` counts both), the peer as its documented pipeline in a fresh
interpreter: prep, block, match, cluster, then merge with the merged records written to CSV, the
same work as ours minus our audit tables. ``wall_ratio`` is against that whole run;
``link_wall_ratio`` against the same runs without their merge step (timed inside the peer's
process), i.e. against finding the duplicates alone.
Before timing, the evreview package is byte-compiled (``compileall``), as a pip install does
and as the peer's venv is: with PYTHONDONTWRITEBYTECODE set, an editable install would
otherwise recompile every evreview module on each run (about 0.1 s of start-up).
``--list-missed`` prints, per set, the gold groups evreview split (its false negatives).
The EndNote XML libraries labelled only by per-record "Duplicate" flags (IEBH copper and
tafenoquine, and the original Respiratory.xml of sra_respiratory; SRA convention, every member
of a duplicate set flagged) are run through the same command and scored by record: flagged
records put with another record (sensitivity), and unflagged records grouped (to look at: a
false merge, or a duplicate the labellers missed). bib-dedupe does not read EndNote XML, so
these have no peer column.
Records are matched to the gold groups through ``duplicates.csv``'s ``source_id`` (the CSV's
``ID`` column). Nothing from the peer is stored in the repository: its runner script and
outputs live in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from evreview.dedup import Deduplicator
from evreview.dedup.benchmark import caption_flags, gold_clusters, pair_case_records, score_clustering, score_flags

REPO = Path(__file__).resolve().parents[1]
SETS = ("sra_haematology", "sra_cytology_screening", "sra_respiratory", "digital_work", "bibdedupe_special_cases")
#: flag-labelled sets: name -> EndNote XML library under the dedup benchmark folder
FLAG_SETS = {"iebh_copper": "iebh_copper/copper.xml", "iebh_tafenoquine": "iebh_tafenoquine/tafenoquine.xml",
             "sra_respiratory_xml": "sra_respiratory/Respiratory.xml"}
BIBDEDUPE_REPORTED = {"sra_haematology": 0.889, "sra_cytology_screening": 0.992, "sra_respiratory": 0.936,
                      "digital_work": 0.997}

PEER_RUNNER = """
import json, sys, time
import pandas as pd
from bib_dedupe.bib_dedupe import prep, block, match, cluster, merge
records = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False).replace({"": None})
prepped = prep(records, verbosity_level=0)
pairs = block(prepped, verbosity_level=0)
matched = match(pairs, verbosity_level=0)
sets = cluster(matched, verbosity_level=0)
json.dump([sorted(map(str, s)) for s in sets], open(sys.argv[2], "w"))
start = time.perf_counter()
merge(records, duplicate_id_sets=sets, verbosity_level=0).to_csv(sys.argv[3], index=False)
print(json.dumps({"merge_s": time.perf_counter() - start}))
"""


def run_timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run ``cmd``; wall seconds and peak resident memory (MiB) of the process tree's largest member."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    # ru_maxrss of waited-for children: the largest process so far (monotone across runs)
    import resource

    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    done = subprocess.CompletedProcess(cmd, proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))
    return wall, peak, done


def peak_of(
    cmd: list[str], env: dict[str, str] | None = None
) -> tuple[float, float, float, subprocess.CompletedProcess]:
    """Wall s, peak MiB and CPU s (user + system) of ``cmd``, via /usr/bin/time when present.

    CPU seconds are printed beside wall seconds because wall time on a shared machine depends
    on what else runs; CPU time much less so.
    """
    if Path("/usr/bin/time").exists():
        with tempfile.NamedTemporaryFile(suffix=".txt", delete=False) as tmp:
            wall, _, done = run_timed(["/usr/bin/time", "-f", "%M %U %S", "-o", tmp.name, *cmd], env)
            text = Path(tmp.name).read_text().strip().splitlines()
        os.unlink(tmp.name)
        try:
            peak, user, system = text[-1].split()
            return wall, int(peak) / 1024, float(user) + float(system), done
        except (ValueError, IndexError):
            pass
        return wall, float("nan"), float("nan"), done
    wall, peak, done = run_timed(cmd, env)
    return wall, peak, float("nan"), done


def _median_run(runs: list[tuple[float, float, float, subprocess.CompletedProcess]]):
    """The median wall and CPU seconds of repeated runs, their largest peak, and the last run's result."""
    import statistics

    return (statistics.median(r[0] for r in runs), max(r[1] for r in runs), statistics.median(r[2] for r in runs),
            runs[-1][3])


def evreview_cmd(records: Path, out: Path) -> list[str]:
    """`evreview dedup` on the export itself, or the module entry point while the CLI list lacks it."""
    from evreview.cli import COMMAND_MODULES

    if "evreview.dedup.commands" in COMMAND_MODULES:
        exe = Path(sys.executable).with_name("evreview")
        return [str(exe), "dedup", str(records), "--out", str(out)]
    return [sys.executable, "-m", "evreview.dedup.commands", "dedup", str(records), "--out", str(out)]


def compile_package() -> None:
    """Byte-compile the evreview sources so timed runs load bytecode, as an installed package does."""
    import compileall

    import evreview

    compileall.compile_dir(str(Path(evreview.__file__).parent), quiet=1)


def missed_groups(ids: pd.Series, out: Path, groups_csv: Path) -> list[list[str]]:
    """Gold groups whose records evreview put into more than one study (each as its source ids)."""
    dup = pd.read_csv(out / "duplicates.csv", dtype=str, keep_default_na=False).set_index("source_id")
    groups = pd.read_csv(groups_csv, dtype=str)["merged_ids"].str.split(";")
    return [g for g in groups if dup.loc[g, "study_id"].nunique() > 1]


def score_ours(ids: pd.Series, out: Path, gold: pd.Series) -> dict:
    """Score ``duplicates.csv`` against the gold groups; every input ID must be in it once."""
    dup = pd.read_csv(out / "duplicates.csv", dtype=str, keep_default_na=False)
    if len(dup) != len(ids) or set(dup["source_id"]) != set(ids):
        raise SystemExit(f"{out}: duplicates.csv does not hold every input record exactly once")
    dup = dup.set_index("source_id").loc[ids]
    return score_clustering(gold, dup["study_id"], dup["kept"] == "True").as_dict()


def score_peer(ids: pd.Series, sets_json: Path, gold: pd.Series) -> dict:
    sets = json.loads(sets_json.read_text())
    label = {i: f"p{n}" for n, s in enumerate(sets) for i in s}
    first = {s[0] for s in sets if s}
    predicted = ids.map(lambda i: label.get(i, f"single_{i}"))
    kept = ids.map(lambda i: i not in label or i in first)
    return score_clustering(gold, predicted, kept).as_dict()


def score_flag_set(xml_path: Path, out: Path) -> dict:
    """Score ``duplicates.csv`` written for an EndNote XML library against its caption flags.

    The records' file positions come from reading the library again (same path, so the same
    record ids); every record must be in ``duplicates.csv`` exactly once.
    """
    from evreview.ingest import ingest_files

    records = ingest_files([xml_path]).records
    dup = pd.read_csv(out / "duplicates.csv", dtype=str, keep_default_na=False)
    if len(dup) != len(records) or set(dup["record_id"]) != set(records["record_id"]):
        raise SystemExit(f"{out}: duplicates.csv does not hold every record of {xml_path} exactly once")
    position = dict(zip(records["record_id"], records["source_index"]))
    dup["position"] = dup["record_id"].map(position)
    studies = dup.sort_values("position")["study_id"].tolist()
    return score_flags(caption_flags(xml_path), studies).as_dict()


def pair_cases(path: Path) -> tuple[int, int, list[str]]:
    """Run the curated pairs through the matcher: (right, total, ids of wrong cases)."""
    cases = json.loads(path.read_text())["cases"]
    right, wrong = 0, []
    for case in cases:
        model = Deduplicator().fit(pair_case_records(case))
        merged = model.n_studies_ == 1
        if merged == bool(case["expected_duplicate"]):
            right += 1
        else:
            wrong.append(case["id"])
    return right, len(cases), wrong


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=Path(os.environ.get("EVREVIEW_SHARED", REPO.parent / "shared")))
    parser.add_argument("--peer", type=Path, default=Path("/work/peers/bibdedupe/bin/python"),
                        help="python of the bib-dedupe venv (skipped when absent)")
    parser.add_argument("--sets", nargs="*", default=list(SETS))
    parser.add_argument("--flag-sets", nargs="*", default=list(FLAG_SETS), choices=list(FLAG_SETS),
                        help="flag-labelled EndNote XML sets to score (none: --flag-sets with no name)")
    parser.add_argument("--no-peer", action="store_true", help="time evreview only")
    parser.add_argument("--repeat", type=int, default=1, help="time each tool N times and report "
                        "the median wall and CPU seconds (a 1.4 s run varies by +-0.1 s on this machine)")
    parser.add_argument("--list-missed", action="store_true", help="print the gold groups evreview split")
    args = parser.parse_args(argv)
    compile_package()
    base = args.shared / "benchmarks" / "dedup"
    peer = args.peer if args.peer.exists() and not args.no_peer else None
    rows = []
    with tempfile.TemporaryDirectory(prefix="dedup_bench_") as tmp_name:
        tmp = Path(tmp_name)
        runner = tmp / "peer_runner.py"
        runner.write_text(PEER_RUNNER)
        for name in args.sets:
            csv_path = base / name / "records_pre_merged.csv"
            ids = pd.read_csv(csv_path, dtype=str, keep_default_na=False, usecols=["ID"])["ID"]
            gold = gold_clusters(ids, base / name / "merged_record_ids.csv")
            timings = [peak_of(evreview_cmd(csv_path, tmp / name)) for _ in range(max(args.repeat, 1))]
            wall, peak, cpu, done = _median_run(timings)
            if done.returncode != 0:
                print(done.stderr, file=sys.stderr)
                return 1
            ours = score_ours(ids, tmp / name, gold)
            if args.list_missed:
                for group in missed_groups(ids, tmp / name, base / name / "merged_record_ids.csv"):
                    print(f"missed {name}: {';'.join(group)}", flush=True)
            row = {"set": name, "records": len(ids), **{k: ours[k] for k in (
                "sensitivity", "specificity", "pair_precision", "pair_recall", "pair_f1", "lost_entities")},
                "wall_s": wall, "cpu_s": cpu, "peak_mib": peak}
            if peer is not None:
                out_json = tmp / f"{name}_peer.json"
                peer_cmd = [str(peer), str(runner), str(csv_path), str(out_json), str(tmp / f"{name}_peer_merged.csv")]
                peer_runs = [peak_of(peer_cmd) for _ in range(max(args.repeat, 1))]
                p_wall, p_peak, p_cpu, p_done = _median_run(peer_runs)
                if p_done.returncode == 0:
                    theirs = score_peer(ids, out_json, gold)
                    # each run's wall time without its merge step: the ratio against linking alone
                    p_link = _median_run([(run[0] - json.loads(run[3].stdout)["merge_s"], *run[1:])
                                          for run in peer_runs])[0]
                    row.update(peer_sensitivity=theirs["sensitivity"], peer_specificity=theirs["specificity"],
                               peer_pair_f1=theirs["pair_f1"], peer_lost=theirs["lost_entities"],
                               peer_wall_s=p_wall, peer_link_wall_s=p_link, peer_cpu_s=p_cpu, peer_peak_mib=p_peak,
                               wall_ratio=wall / p_wall, link_wall_ratio=wall / p_link,
                               cpu_ratio=cpu / p_cpu if p_cpu else float("nan"),
                               mem_ratio=peak / p_peak if p_peak else float("nan"))
                else:
                    print(f"bib-dedupe failed on {name}: {p_done.stderr[-500:]}", file=sys.stderr)
            rows.append(row)
            print(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
        flag_rows = []
        for name in args.flag_sets:
            xml_path = base / FLAG_SETS[name]
            if not xml_path.exists():
                continue
            wall, peak, cpu, done = _median_run(
                [peak_of(evreview_cmd(xml_path, tmp / name)) for _ in range(max(args.repeat, 1))])
            if done.returncode != 0:
                print(done.stderr, file=sys.stderr)
                return 1
            flag_rows.append({"set": name, **score_flag_set(xml_path, tmp / name), "wall_s": wall, "cpu_s": cpu,
                              "peak_mib": peak})
            print(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in flag_rows[-1].items()),
                  flush=True)
    cases = base / "bibdedupe_pair_cases" / "test_cases.json"
    if cases.exists():
        right, total, wrong = pair_cases(cases)
        print(f"pair cases: {right}/{total} right; wrong: {', '.join(wrong) or 'none'}")
    frame = pd.DataFrame(rows)
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.float_format", "{:.3f}".format):
        if rows:
            print(frame.to_string(index=False))
        if flag_rows:
            print("flag-labelled sets (SRA convention: every member of a duplicate set flagged):")
            print(pd.DataFrame(flag_rows).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
