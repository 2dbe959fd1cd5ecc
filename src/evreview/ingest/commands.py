"""``evreview ingest``: exports in, one normalised record table out."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evreview.errors import EvreviewError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ingest",
        help="read database exports into one normalised record table",
        description="Read exports (RIS, WoS, MEDLINE, Scopus/PubMed/Embase/OpenAlex/Lens CSV, "
        "BibTeX, EndNote XML/tagged, ProQuest text, Publish or Perish JSON, generic CSV/TSV/XLSX), "
        "detected from content, into one table. Writes a found-vs-parsed report beside it.",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--out", "-o", type=Path, required=True, help="records table (.parquet, .csv or .tsv)")
    p.add_argument("--report", type=Path, help="per-file report CSV (default: OUT stem + _report.csv)")
    p.add_argument("--problems", type=Path, help="per-record problems CSV (default: OUT stem + _problems.csv)")
    p.add_argument("--search", default="", help="search round name written to every record")
    p.add_argument("--root", type=Path, help="folder source_file paths are relative to (default: cwd)")
    p.add_argument("--format", dest="fmt", help="force a reader instead of detecting (see --list-formats)")
    p.add_argument("--encoding", help="text encoding when not UTF-8/UTF-16 (e.g. cp1252)")
    p.add_argument("--database", help="source database name to record (overrides detection)")
    p.add_argument(
        "--column-map",
        help='JSON object mapping a spreadsheet\'s columns to fields, e.g. \'{"Heading": "title"}\'',
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from evreview.ingest import ingest_files, write_records
    from evreview.reporting import write_csv

    column_map = None
    if args.column_map:
        try:
            column_map = json.loads(args.column_map)
        except json.JSONDecodeError as exc:
            raise EvreviewError(f"--column-map is not valid JSON: {exc}") from None
        if not isinstance(column_map, dict):
            raise EvreviewError("--column-map must be a JSON object {column: field}")
    result = ingest_files(
        args.files,
        search=args.search,
        root=args.root,
        fmt=args.fmt,
        encoding=args.encoding,
        database=args.database,
        column_map=column_map,
    )
    out: Path = args.out
    write_records(result.records, out)
    stem = out.with_suffix("")
    write_csv(result.report, args.report or Path(f"{stem}_report.csv"))
    write_csv(result.problems, args.problems or Path(f"{stem}_problems.csv"))
    for rep in result.reports:
        flag = "" if rep.failed == 0 else f"  ({rep.failed} NOT parsed: see problems)"
        print(
            f"{rep.source_file}: {rep.source_format}, {rep.source_database or 'unknown database'}: "
            f"{rep.parsed}/{rep.found} records{flag}",
            file=sys.stderr,
        )
    print(f"wrote {len(result.records)} records to {out}", file=sys.stderr)
    return 0
