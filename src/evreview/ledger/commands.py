"""``evreview ledger`` and ``evreview prisma``: every record's fate, and the flow diagram."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

#: The columns of each stage table the ledger uses (:class:`evreview.ledger.StageTables`).
RECORD_FIELDS = ("record_id", "search", "source_file", "source_database", "source_index")
DUPLICATE_FIELDS = ("record_id", "study_id", "kept")
SCREENING_FIELDS = ("study_id", "status", "decided_by", "reason")
#: The ledger columns the PRISMA counts read (not record ids, files or duplicate links).
PRISMA_FIELDS = ("search", "source_database", "study_id", "kept", "screen_reason", "screen_decided_by", "fate")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ledger",
        help="one row per ingested record with its fate at every stage",
        description="Join the stage outputs into the record ledger (the source of every count).",
    )
    p.add_argument("--records", type=Path, required=True, help="records.parquet from ingest")
    p.add_argument("--problems", type=Path, help="ingest problems CSV (unparsed records)")
    p.add_argument("--duplicates", type=Path, help="duplicates.csv from dedup")
    p.add_argument("--screening", type=Path, help="screening.csv from screen")
    p.add_argument("--coded", type=Path, help="coded_records (.csv or .parquet) from code")
    p.add_argument("--out", type=Path, required=True, help="ledger CSV")
    p.set_defaults(func=run_ledger)

    q = sub.add_parser(
        "prisma",
        help="PRISMA 2020 flow diagram (SVG, PNG) and counts (CSV in the PRISMA2020 template layout)",
    )
    q.add_argument("--ledger", type=Path, required=True)
    q.add_argument("--out-dir", type=Path, required=True)
    q.add_argument("--config", type=Path,
                   help="config (its searches' dates order the rounds; default: by round name)")
    q.add_argument("--raw", type=Path, help="folder of the search rounds, for their search.yaml dates "
                   "(default: the config's paths.raw)")
    q.add_argument("--template", choices=("auto", "new", "updated"), default="auto",
                   help="PRISMA 2020 template: for new reviews, for updated reviews (previous + new "
                   "studies), or auto: updated when the ledger holds more than one search round")
    q.set_defaults(func=run_prisma)


def _read_table(path: Path | None, columns: tuple[str, ...] | None = None) -> pd.DataFrame | None:
    """An optional stage table (``None`` when that stage's output was not given), only
    ``columns`` of it when given: the ledger needs ids and outcomes, not titles, abstracts or
    the screening evidence, which are most of the bytes. A missing column is left out, so the
    ledger fails on it as it would on the whole table."""
    from evreview.reporting import read_table

    return None if path is None else read_table(path, columns=columns)


def run_ledger(args: argparse.Namespace) -> int:
    from evreview.errors import EvreviewError
    from evreview.ledger import StageTables, build_ledger, check_ledger, fate_counts
    from evreview.reporting import write_csv

    if not args.records.exists():
        raise EvreviewError("no such record table", path=args.records)
    tables = StageTables(
        records=_read_table(args.records, RECORD_FIELDS),
        problems=_read_table(args.problems),
        duplicates=_read_table(args.duplicates, DUPLICATE_FIELDS),
        screening=_read_table(args.screening, SCREENING_FIELDS),
        coded=_read_table(args.coded, ("study_id",)),
    )
    ledger = build_ledger(tables)
    check_ledger(ledger)
    write_csv(ledger, args.out)
    print(f"ledger: {len(ledger)} records; " + ", ".join(f"{k} {v}" for k, v in fate_counts(ledger).items()),
          file=sys.stderr)
    return 0


def run_prisma(args: argparse.Namespace) -> int:
    from evreview.ledger import read_ledger
    from evreview.prisma import check_reconciles, draw_prisma, prisma_counts, prisma_table
    from evreview.reporting import write_csv

    ledger = read_ledger(args.ledger, columns=PRISMA_FIELDS)
    order = None
    if args.config is not None:
        from evreview.config import load_config
        from evreview.rounds import round_order, rounds_for, searched_rounds

        config = load_config(args.config)
        rounds = rounds_for(config, args.raw, extra_rounds=set(ledger["search"]))
        raw = args.raw if args.raw is not None else config["paths"]["raw"]
        order = round_order(rounds, searched_rounds(rounds, raw, ledger["search"]))
    elif args.raw is not None:
        from evreview.rounds import load_rounds, round_order, searched_rounds

        rounds = load_rounds(args.raw)
        order = round_order(rounds, searched_rounds(rounds, args.raw, ledger["search"]))
    counts = prisma_counts(ledger, order=order, template=args.template)
    check_reconciles(counts, ledger)
    out: Path = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    write_csv(prisma_table(counts), out / "prisma.csv")
    (out / "prisma_counts.json").write_text(json.dumps(counts, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    draw_prisma(counts, out / "prisma.svg", out / "prisma.png")
    print(f"PRISMA ({counts['template']} review template): "
          f"{counts['database_results'] + counts['register_results']} identified, "
          f"{counts['duplicates']} duplicates, {counts['new_studies']} new studies included, "
          f"{counts['total_studies']} in total", file=sys.stderr)
    return 0
