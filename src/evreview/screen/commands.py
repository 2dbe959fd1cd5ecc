"""``evreview screen``, ``evreview screen-report`` and ``evreview simulate`` subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from evreview.errors import ConfigError, EvreviewError
from evreview.outputs import check_output_folder
from evreview.reporting import read_table

#: What the workflow uses, relative to the project folder: the session defaults to them so that
#: it ranks as the pipeline's worklist does (same rules, model settings and question).
DEFAULT_CONFIG = Path("config/config.yaml")
DEFAULT_DUPLICATES = Path("results/dedup/duplicates.csv")
DEFAULT_DECISIONS = Path("data/decisions/screening.csv")


def workflow_files(config: dict[str, Any]) -> tuple[Path, Path]:
    """(screening decisions file, dedup's duplicates table) where the workflow keeps them under
    ``config``'s ``paths``: the session's defaults. With fixed defaults, a project whose config
    moved ``paths.decisions`` had its session's decisions written where no run reads them."""
    paths = config.get("paths") or {}
    decisions = Path(paths["decisions"]) / DEFAULT_DECISIONS.name if paths.get("decisions") else DEFAULT_DECISIONS
    results = Path(paths["results"]) if paths.get("results") else Path("results")
    return decisions, results / DEFAULT_DUPLICATES.relative_to("results")


def present_or_none(given: Path | None, default: Path) -> Path | None:
    """``given`` when set, else ``default`` if that file exists (run from the project folder), else None."""
    if given is not None:
        return given
    return default if default.is_file() else None


def register(sub: argparse._SubParsersAction) -> None:
    """Add the screening subcommands."""
    p = sub.add_parser(
        "screen",
        help="interactive screening session (ranked, retrains as you go)",
        description="Show the next study by priority and record include/exclude/maybe decisions "
        "(each appended and fsynced to the decisions file; undo appends a retraction).",
    )
    p.add_argument("--studies", type=Path, required=True, help="studies table (.parquet or .csv) from dedup")
    p.add_argument("--decisions", type=Path,
                   help=f"the decisions file to append to (default: screening.csv in the config's paths.decisions, "
                   f"{DEFAULT_DECISIONS})")
    p.add_argument("--reviewer", required=True, help="your name or initials, written with every decision")
    p.add_argument("--duplicates", type=Path,
                   help=f"dedup's duplicates.csv (lets keys be record ids; default: the one under the config's "
                   f"paths.results, {DEFAULT_DUPLICATES}, when present)")
    p.add_argument("--config", type=Path,
                   help=f"review config YAML: its screening rules and model, and the review question "
                   f"(default: {DEFAULT_CONFIG} when present)")
    p.set_defaults(func=run_screen)

    r = sub.add_parser(
        "screen-report",
        help="apply rules and decisions, write the screening table, worklist and stopping estimate",
    )
    r.add_argument("--studies", type=Path, required=True)
    r.add_argument("--decisions", type=Path, default=Path("data/decisions/screening.csv"))
    r.add_argument("--duplicates", type=Path)
    r.add_argument("--config", type=Path)
    r.add_argument("--out", type=Path, required=True, help="output folder")
    r.add_argument(
        "--cache-dir", type=Path,
        help="folder for per-study term counts keyed by content hash (an update round analyses only new text)",
    )
    r.set_defaults(func=run_report)

    s = sub.add_parser(
        "simulate",
        help="replay prioritised screening on a fully labelled CSV (WSS@95, RRF@10, ATD)",
    )
    s.add_argument("file", type=Path, metavar="FILE", help="labelled CSV (or tab- or semicolon-separated)")
    s.add_argument("--label-column", required=True)
    s.add_argument("--seeds", type=int, default=5,
                   help="number of seeds (1..N); seed S starts from the two records that "
                        "asreview simulate --prior-seed S starts from")
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--encoding",
                   help="text encoding (default: UTF-8, falling back to cp1252; UTF-16 with its byte-order mark)")
    s.add_argument("--config", type=Path, help="review config YAML (uses 'screening.model')")
    s.add_argument("--stopping", action="store_true", help="also replay the stopping test")
    s.set_defaults(func=run_simulate)


def load_config(path: Path | None) -> dict[str, Any]:
    """A config YAML as a mapping (``{}`` for no file); a clear error naming the file otherwise.

    Checked against the config schema as the workflow checks it (sections other than
    ``screening`` may be absent), so a misspelt key such as ``screening.rulez`` stops the
    command naming the key instead of screening with no rules.
    """
    if path is None:
        return {}
    import copy

    from evreview.config import read_config_yaml, validate_config

    data = read_config_yaml(path) or {}
    if not isinstance(data, dict):
        raise ConfigError("config must be a mapping of sections", path=path)
    validate_config(copy.deepcopy(data), path, partial=True)  # checked only: defaults are the stages' own
    return data


def screening_section(data: dict[str, Any], path: Path | None = None) -> dict[str, Any]:
    """The ``screening`` section of a loaded config (``{rules: {...}, model: {...}}``), or ``{}``."""
    from evreview.screen.pipeline import parse_options
    from evreview.screen.rules import parse_rules

    section = data.get("screening", {})
    if not isinstance(section, dict):
        raise ConfigError("'screening' must be a mapping", path=path)
    try:  # checked here too, so that a mistake names the config file
        parse_rules(section.get("rules"))
        parse_options(section.get("model"))
    except ConfigError as exc:
        raise ConfigError(exc.message, path=exc.path or path) from None
    return section


def load_screening_config(path: Path | None) -> dict[str, Any]:
    """The ``screening`` section of a config YAML, or ``{}``."""
    return screening_section(load_config(path), path)


def review_query(data: dict[str, Any]) -> str:
    """The review's title and question from a loaded config (the cold-start query), or ``""``."""
    review = data.get("review")
    if not isinstance(review, dict):
        return ""
    return ". ".join(str(review[k]).strip() for k in ("title", "question") if review.get(k))


def read_duplicates(path: Path | None) -> Any:
    """dedup's duplicates table (record_id -> study_id) or None; a clear error naming a file without them."""
    if path is None:
        return None
    frame = read_table(path, columns=("record_id", "study_id"))
    missing = [c for c in ("record_id", "study_id") if c not in frame.columns]
    if missing:
        raise EvreviewError(f"no {' or '.join(missing)} column: is it dedup's duplicates.csv?", path=path)
    return frame


def run_screen(args: argparse.Namespace) -> int:
    from evreview.screen.session import open_session, rule_terms, run_session

    config = present_or_none(args.config, DEFAULT_CONFIG)
    data = load_config(config)
    default_decisions, default_duplicates = workflow_files(data)
    args.decisions = args.decisions or default_decisions
    duplicates = present_or_none(args.duplicates, default_duplicates)
    cfg = screening_section(data, config)
    studies = read_table(args.studies)
    dups = read_duplicates(duplicates)
    sess = open_session(studies, args.decisions, args.reviewer, cfg.get("rules"), cfg.get("model"), dups,
                        query=review_query(data))
    # a title in Greek or CJK must not end a session on a latin-1 terminal, nor a stray byte typed or piped in
    for stream in (sys.stdout, sys.stdin):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    made = run_session(sess, highlight_terms=rule_terms(cfg.get("rules")))
    print(f"\n{made} decision(s) recorded in {args.decisions}", file=sys.stderr)
    return 0


def run_report(args: argparse.Namespace) -> int:
    from evreview.reporting import write_csv
    from evreview.screen.decisions import read_decisions
    from evreview.screen.pipeline import STUDY_COLUMNS, screen_studies
    from evreview.screen.worklist import write_worklist

    check_output_folder(args.out)
    if args.cache_dir is not None:
        check_output_folder(args.cache_dir, "--cache-dir")
    data = load_config(args.config)
    cfg = screening_section(data, args.config)
    studies = read_table(args.studies, columns=STUDY_COLUMNS)
    dups = read_duplicates(args.duplicates)
    decisions = read_decisions(args.decisions)
    res = screen_studies(
        studies, cfg.get("rules"), decisions, cfg.get("model"), duplicates=dups, decisions_path=str(args.decisions),
        cache_dir=args.cache_dir, query=review_query(data),
    )
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_csv(res.table, out / "screening.csv")
    write_worklist(res.worklist, out / "worklist.csv", out / "worklist.ris")
    write_csv(res.conflicts, out / "conflicts.csv")
    summary = {"stopping": res.stopping, "agreement": res.agreement}
    (out / "stopping.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    overrules = int(res.table["evidence"].astype(str).str.contains("; overrules ", regex=False).sum())
    if overrules:
        print(f"note: on {overrules} stud{'y' if overrules == 1 else 'ies'} a reviewer's standing decision overrules "
              "their own decision under another key (a study since merged into it, or a member record id); see "
              "'overrules' in screening.csv's evidence", file=sys.stderr)
    counts = res.table.groupby(["status", "decided_by"]).size()
    for (status, by), k in counts.items():
        print(f"{status:>10} {by or '-':>9}: {k}", file=sys.stderr)
    return 0


def run_simulate(args: argparse.Namespace) -> int:
    from evreview.screen.simulate import run_simulation_files

    if args.seeds < 1:
        raise EvreviewError("--seeds must be at least 1")
    check_output_folder(args.out)
    cfg = load_screening_config(args.config).get("model")
    result = run_simulation_files(
        args.file, args.label_column, list(range(1, args.seeds + 1)), args.out,
        model_config=cfg, encoding=args.encoding, stopping=args.stopping,
    )
    mean = result["mean"]
    print(
        f"WSS@95 {mean['wss95']:.1f}%  RRF@10 {mean['rrf10']:.1f}%  ATD {mean['atd']:.1f}%  -> {args.out}",
        file=sys.stderr,
    )
    return 0
