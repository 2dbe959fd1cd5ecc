"""``evreview ingest``: exports in, one normalised record table out."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evreview.errors import EvreviewError
from evreview.outputs import check_output_file, check_output_folder


class _ListFormats(argparse.Action):
    """``--list-formats``: print the reader names ``--format`` takes, one a line, and exit (as ``--help``)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        from evreview.ingest.registry import readers

        print("\n".join(readers()))
        parser.exit()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ingest",
        help="read database exports into one normalised record table",
        description="Read exports (RIS, WoS, MEDLINE, ERIC NBIB, Scopus/PubMed/Embase/OpenAlex/Lens/Springer/"
        "IEEE Xplore/Cochrane/EBSCOhost/Rayyan/Covidence/Abstrackr/ClinicalTrials.gov CSV, "
        "Citavi/RefWorks tab-delimited, "
        "WoS Excel (.xls/.xlsx), Dimensions CSV/XLSX/XLS, BibTeX, EndNote XML/tagged, RefWorks tagged, "
        "PubMed XML, WHO ICTRP XML/CSV, ProQuest text, Cochrane Library plain text, "
        "Ovid Citation (fields) text and direct export, "
        "Publish or Perish JSON/CSV, CSL-JSON, generic CSV/TSV/XLSX/XLS), "
        "detected from content, into one table. Writes a found-vs-parsed report beside it.",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--out", "-o", type=Path, required=True, help="records table (.parquet, .csv or .tsv)")
    p.add_argument("--report", type=Path, help="per-file report CSV (default: OUT stem + _report.csv)")
    p.add_argument("--problems", type=Path, help="per-record problems CSV (default: OUT stem + _problems.csv)")
    p.add_argument("--search", default="", help="search round name written to every record")
    p.add_argument("--root", type=Path, help="folder source_file paths are relative to (default: cwd)")
    p.add_argument("--format", dest="fmt", help="force a reader instead of detecting (see --list-formats)")
    p.add_argument("--list-formats", action=_ListFormats, help="print the reader names --format takes and exit")
    p.add_argument("--encoding", help="text encoding when not UTF-8/UTF-16 (e.g. cp1252)")
    p.add_argument("--database", help="source database name to record (overrides detection); a trial register's "
                   "name (ClinicalTrials.gov, ICTRP, ISRCTN, ...) counts its records under PRISMA's registers")
    p.add_argument(
        "--config",
        type=Path,
        help="review config: per-file encodings/databases/formats/column_map from its ingest section",
    )
    p.add_argument(
        "--column-map",
        help='JSON object mapping a spreadsheet\'s columns to fields, e.g. \'{"Heading": "title"}\'',
    )
    p.add_argument(
        "--id-register",
        type=Path,
        metavar="DIR",
        help="remember what each record id names and refuse an export edited in place or moved, "
        "whose ids (and the decisions on them) would name other records (the workflow's results/ingest/ids)",
    )
    p.set_defaults(func=run)

    g = sub.add_parser(
        "gather",
        help="combine per-file ingest outputs into one record table and report",
        description="Concatenate record tables (.parquet) and their reports/problems in the "
        "order given; used by the workflow after ingesting each file separately.",
    )
    g.add_argument("tables", nargs="*", type=Path, metavar="TABLE")
    g.add_argument("--out", "-o", type=Path, required=True)
    g.add_argument("--report", type=Path, required=True)
    g.add_argument("--problems", type=Path, required=True)
    g.add_argument(
        "--config",
        type=Path,
        help="review config: warn (in the problems) about an ingest.column_map column found in none of the "
        "generic tables gathered (only their header lines are read again)",
    )
    g.add_argument("--root", type=Path, help="folder the reports' source_file paths are relative to (default: cwd)")
    g.set_defaults(func=run_gather)


def _side(path: Path, suffix: str) -> Path:
    return Path(f"{path.with_suffix('')}{suffix}")


def run_gather(args: argparse.Namespace) -> int:
    import pandas as pd

    from evreview.errors import IngestError
    from evreview.ingest import PROBLEM_COLUMNS, FileReport, gather_record_tables
    from evreview.reporting import write_csv

    # in the order given: the workflow passes the rounds by search date, and the earliest
    # record of a study names it (dedup), so the order is part of the input
    tables = list(args.tables)
    for table in tables:
        for needed in (table, _side(table, "_report.csv"), _side(table, "_problems.csv")):
            if not needed.is_file():
                raise IngestError(f"missing {needed.name}: gather takes the outputs of `evreview ingest FILE "
                                  "--out X.parquet --report X_report.csv --problems X_problems.csv`", path=needed)
    reports = [pd.read_csv(_side(t, "_report.csv"), dtype=str, keep_default_na=False) for t in tables]
    problems = [pd.read_csv(_side(t, "_problems.csv"), dtype=str, keep_default_na=False) for t in tables]
    empty_report = pd.DataFrame(columns=list(FileReport.__annotations__))
    report = pd.concat(reports, ignore_index=True) if reports else empty_report
    problem = pd.concat(problems, ignore_index=True) if problems else pd.DataFrame(columns=list(PROBLEM_COLUMNS))
    if args.config is not None:
        from evreview.config import load_config

        problem = _with_column_map_warnings(problem, load_config(args.config), args.config, report,
                                            args.root or Path.cwd())
    count = gather_record_tables(tables, args.out)
    write_csv(report, args.report)
    write_csv(problem, args.problems)
    print(f"gathered {count} records from {len(tables)} file(s) into {args.out}", file=sys.stderr)
    return 0


def _config_file_options(config: dict, path: Path) -> dict:
    """The config's ingest options for the export at ``path`` (its globs match the path below ``paths.raw``)."""
    from evreview.config import file_options

    raw_root = Path(config["paths"]["raw"])
    try:
        rel = path.resolve().relative_to(raw_root.resolve()).as_posix()
    except ValueError:
        rel = path.name
    return file_options(config.get("ingest", {}), rel)


def _with_column_map_warnings(problems, config: dict, config_path: Path, report, root: Path,
                              encoding: str | None = None):
    """``problems`` plus a warning for each config column_map column found in no generic table
    of ``report``, each also printed (the job's log); see :mod:`evreview.ingest.column_map`.

    ``encoding``: the command line's ``--encoding``, which wins over the config's as it did
    when the tables were read (headers read in another encoding than their records were a
    mapped, used "Résumé" warned about as in no table).
    """
    import pandas as pd

    from evreview.ingest import PROBLEM_COLUMNS
    from evreview.ingest.column_map import column_map_warnings

    rows = column_map_warnings(
        (config.get("ingest") or {}).get("column_map") or {}, report, root, config_path,
        encoding_of=lambda path: encoding or _config_file_options(config, path).get("encoding"),
    )
    for row in rows:
        where = row["source_file"] + (f":{row['source_line']}" if row["source_line"] else "")
        print(f"warning: {where}: {row['reason']}", file=sys.stderr)
    if not rows:
        return problems
    warnings = pd.DataFrame(rows, columns=list(PROBLEM_COLUMNS))
    return pd.concat([problems, warnings], ignore_index=True) if len(problems) else warnings


def _output_error(exc: OSError) -> EvreviewError:
    """An OS error while writing an output, as one line naming the output (not its temporary name)."""
    from evreview.atomic import shown_name

    name = shown_name(exc.filename) if exc.filename else None
    reason = exc.strerror if name and exc.strerror else shown_name(exc)  # pyarrow: no filename
    return EvreviewError(f"cannot write: {reason}", path=name)


def run(args: argparse.Namespace) -> int:
    """Ingest FILEs into OUT; a ``.parquet`` OUT is written a batch at a time (bounded memory)."""
    out: Path = args.out
    if out.suffix not in (".parquet", ".csv", ".tsv"):
        raise EvreviewError("output must end in .parquet, .csv or .tsv", path=out)
    stem = out.with_suffix("")
    report_path = args.report or Path(f"{stem}_report.csv")
    problems_path = args.problems or Path(f"{stem}_problems.csv")
    for path, option in ((out, "--out"), (report_path, "--report"), (problems_path, "--problems")):
        check_output_file(path, option)
    if args.id_register is not None:
        check_output_folder(args.id_register, "--id-register")
    try:
        try:
            code = _run(args, out, report_path, problems_path)
            if args.id_register is not None:
                _check_ids(args.id_register, out, args.root or Path.cwd())
            return code
        except OSError as exc:
            raise _output_error(exc) from exc
    except EvreviewError:
        if args.id_register is not None:  # no records table whose ids a later stage would trust
            for path in (out, report_path, problems_path):
                path.unlink(missing_ok=True)
        raise


def _check_ids(register: Path, out: Path, root: Path) -> None:
    """Check each export's record ids against the register (:mod:`evreview.ingest.identity`)."""
    import pandas as pd

    from evreview.ingest import read_records
    from evreview.ingest.identity import COLUMNS, check_and_register

    if out.suffix == ".parquet":
        records = read_records(out, columns=["source_file", *COLUMNS])
    else:
        records = pd.read_csv(out, sep="\t" if out.suffix == ".tsv" else ",", dtype=str, keep_default_na=False)
    for source_file, rows in records.groupby("source_file", sort=True):
        check_and_register(register, str(source_file), rows, root)


def _run(args: argparse.Namespace, out: Path, report_path: Path, problems_path: Path) -> int:
    from evreview.ingest import check_given_once, combine, ingest_files, ingest_to_parquet, write_records
    from evreview.records import UNKNOWN_DATABASE

    column_map = None
    if args.column_map:
        try:
            column_map = json.loads(args.column_map)
        except json.JSONDecodeError as exc:
            raise EvreviewError(f"--column-map is not valid JSON: {exc}") from None
        if not isinstance(column_map, dict):
            raise EvreviewError("--column-map must be a JSON object {column: field}")
    options = {"fmt": args.fmt, "encoding": args.encoding, "database": args.database, "column_map": column_map}
    per_file = None
    config = None
    if args.config:
        from evreview.config import load_config

        config = load_config(args.config)

        def per_file(path: Path) -> dict:
            """Config options for one file; options given on the command line win."""
            return {**_config_file_options(config, path), **{k: v for k, v in options.items() if v}}

    if out.suffix == ".parquet":
        result = ingest_to_parquet(args.files, out, search=args.search, root=args.root, per_file=per_file, **options)
        count = sum(rep.parsed for rep in result.reports)
    else:
        if per_file is not None:
            check_given_once(args.files)
            result = combine(
                ingest_files([path], search=args.search, root=args.root, **per_file(path)) for path in args.files
            )
        else:
            result = ingest_files(args.files, search=args.search, root=args.root, **options)
        write_records(result.records, out)
        count = len(result.records)
    problems = result.problems
    # the config's map across these files; one file alone cannot tell (the map may name another
    # file's columns): the workflow ingests one file a job, and its gather step checks them all
    if config is not None and column_map is None and len(args.files) > 1:
        problems = _with_column_map_warnings(problems, config, args.config, result.report, args.root or Path.cwd(),
                                             args.encoding)
    from evreview.reporting import write_csv  # imports pandas: after the parse, not before it

    write_csv(result.report, report_path)
    write_csv(problems, problems_path)
    for rep in result.reports:
        flag = "" if rep.failed == 0 else f"  ({rep.failed} NOT parsed: see problems)"
        print(
            f"{rep.source_file}: {rep.source_format}, {rep.source_database or UNKNOWN_DATABASE}: "
            f"{rep.parsed}/{rep.found} records{flag}",
            file=sys.stderr,
        )
    print(f"wrote {count} records to {out}", file=sys.stderr)
    return 0
