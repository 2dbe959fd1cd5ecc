"""``evreview report``: the run report from the ledger and the stage outputs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="self-contained HTML run report (counts, PRISMA, dedup, screening, map, gaps)")
    p.add_argument("--config", type=Path, required=True)
    p.add_argument("--ledger", type=Path, required=True)
    p.add_argument("--ingest-report", type=Path)
    p.add_argument("--inputs", type=Path, nargs="*", default=[], help="the export files of this run")
    p.add_argument("--pairs", type=Path, help="dedup pairs.parquet")
    p.add_argument("--stopping", type=Path, help="screening stopping.json")
    p.add_argument("--topics", type=Path, help="topics.csv from coding")
    p.add_argument("--prisma-png", type=Path)
    p.add_argument("--map-png", type=Path)
    p.add_argument("--map-html", type=Path, help="the interactive map (linked relative to the report)")
    p.add_argument("--gaps", type=Path, help="gaps.md")
    p.add_argument("--unmatched-decisions", type=Path,
                   help="unmatched_decisions.csv from coding: reviewers' code decisions on studies not coded")
    p.add_argument("--changes", type=Path, help="changes.json from `evreview changes` (the What changed section)")
    p.add_argument("--raw", type=Path, help="folder of the search rounds, for the Inputs table's rounds, dates "
                   "and files (default: the config's paths.raw)")
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=run)


def _csv(path: Path | None) -> pd.DataFrame | None:
    return pd.read_csv(path, dtype=str, keep_default_na=False) if path and path.exists() else None


#: The columns of the dedup pairs table the report counts.
PAIR_COUNTED = ("decision", "rule", "overruled")
#: The ledger columns the report reads (counts per fate, round, database; studies).
LEDGER_COLUMNS = ("record_id", "search", "source_database", "study_id", "screen_decided_by", "fate")


def pair_counts(path: Path | None) -> dict[str, dict[Any, int]] | None:
    """Rows of the dedup pairs table per value of each :data:`PAIR_COUNTED` column it has
    (missing cells not counted); ``{}`` for a table without rows, ``None`` without a table.

    A Parquet table's text columns are read dictionary-encoded and counted by Arrow: millions
    of pairs hold a few dozen distinct values, and materialising them as strings for pandas'
    ``value_counts`` was most of the report's time.
    """
    if not path or not path.exists():
        return None
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        schema = pq.ParquetFile(path).schema_arrow
        columns = [c for c in PAIR_COUNTED if c in schema.names]
        if all(pa.types.is_string(schema.field(c).type) or pa.types.is_large_string(schema.field(c).type)
               for c in columns):
            table = pq.read_table(path, columns=columns, read_dictionary=columns)
            if not table.num_rows:
                return {}
            out: dict[str, dict[Any, int]] = {}
            for col in columns:
                counted = pc.value_counts(table[col])
                values, counts = counted.field("values").to_pylist(), counted.field("counts").to_pylist()
                out[col] = {v: n for v, n in sorted(zip(values, counts), key=lambda vn: vn[0] or "") if v is not None}
            return out
        pairs = pd.read_parquet(path, columns=columns)
    else:
        pairs = _csv(path)
    if pairs is None or not len(pairs):
        return {}
    return {c: pairs[c].value_counts().sort_index().to_dict() for c in PAIR_COUNTED if c in pairs.columns}


def dedup_summary(ledger: pd.DataFrame, pairs: dict[str, dict[Any, int]] | None) -> dict[str, Any]:
    """Records, studies, removed duplicates and pair decisions (by rule) for the report.

    ``pairs``: :func:`pair_counts` of the dedup pairs table.
    """
    parsed = ledger[ledger["fate"] != "unparsed"]
    summary: dict[str, Any] = {
        "records": len(parsed),
        "studies": int(parsed["study_id"].nunique()),
        "duplicates removed": int((parsed["fate"] == "duplicate").sum()),
        "studies found in 2+ records": int((parsed.groupby("study_id").size() > 1).sum()),
    }
    if pairs:
        if "decision" in pairs:
            summary["pairs compared, by decision"] = pairs["decision"]
        if "rule" in pairs:
            summary["pairs by deciding rule"] = pairs["rule"]
        disagreements = sum(n for said, n in pairs.get("overruled", {}).items() if said)
        if disagreements:
            # the latest row of duplicates.csv was applied; the others' decisions are in the pairs table
            summary["pairs reviewers disagree on (latest decision applied; see the pairs' overruled column)"] = (
                disagreements)
    return summary


def _json_object(path: Path, what: str) -> dict:
    """A JSON object from ``path``; unreadable, not JSON or not an object is one line naming the file
    (a truncated stopping.json was a JSONDecodeError traceback)."""
    from evreview.errors import EvreviewError

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EvreviewError(f"cannot read the {what} file: {exc}", path=path) from exc
    if not isinstance(data, dict):
        raise EvreviewError(f"the {what} file holds a JSON {type(data).__name__}, not an object", path=path)
    return data


def run(args: argparse.Namespace) -> int:
    from evreview.config import config_hash, load_config
    from evreview.ledger import fate_counts, read_ledger
    from evreview.report import ReportInputs, render_report
    from evreview.rounds import rounds_for

    config = load_config(args.config)
    ledger = read_ledger(args.ledger, columns=LEDGER_COLUMNS)
    rounds = rounds_for(config, args.raw, extra_rounds=set(ledger["search"]))
    changes = _json_object(args.changes, "changes") if args.changes is not None else None
    stopping = _json_object(args.stopping, "stopping") if args.stopping and args.stopping.exists() else None
    screening_summary = None
    if stopping is not None:
        fates = fate_counts(ledger)
        screening_summary = {
            "included": fates["included"],
            # a part of the line above, not another fate: the ranker's inclusions
            # (screening.model.machine_include_above), which no reviewer has seen
            "of which included by the model": int(((ledger["fate"] == "included")
                                                   & (ledger.get("screen_decided_by") == "machine")).sum()),
            "excluded by rules": fates["excluded_automation"],
            "excluded by reviewers": fates["excluded_reviewer"],
            # predicted below the config's threshold and marked as machine decisions: without this
            # line the summary did not add up to the studies screened
            "excluded by the model": fates["excluded_machine"],
            # as the PRISMA diagram counts them: a reviewer's maybe is assessed, awaiting classification
            "awaiting screening": fates["undecided"],
            "awaiting classification (maybe)": fates["maybe"],
        }
    map_name = None
    if args.map_html and args.map_html.exists():
        import os

        map_name = os.path.relpath(args.map_html, args.out.parent)
    inputs = ReportInputs(
        title=config["review"]["title"],
        ledger=ledger,
        ingest_report=_csv(args.ingest_report),
        searches=config.get("searches", {}),
        input_files=list(args.inputs),
        config_hash=config_hash(config),
        prisma_png=args.prisma_png,
        map_png=args.map_png,
        map_html_name=map_name,
        gaps_md=args.gaps.read_text(encoding="utf-8") if args.gaps and args.gaps.exists() else None,
        stopping=stopping,
        screening_summary=screening_summary,
        dedup_summary=dedup_summary(ledger, pair_counts(args.pairs)),
        topics=_csv(args.topics),
        unmatched_decisions=_csv(args.unmatched_decisions),
        rounds=rounds,
        changes=changes,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render_report(inputs), encoding="utf-8")
    print(f"report written to {args.out}", file=sys.stderr)
    return 0
