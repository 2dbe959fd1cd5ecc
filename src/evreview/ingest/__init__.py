"""Ingest: database exports in, one normalised record table out, plus a found-vs-parsed report.

The driver is format-agnostic: it decodes the file, asks the registry which reader fits the
content, lets the reader parse, then adds provenance (search round, file, position, line,
stable ``record_id``) and the shared normalisation. Nothing is dropped silently: a record a
reader cannot parse is listed in the report with its reason.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from evreview.errors import EvreviewError, IngestError
from evreview.ingest.registry import ParseResult, Source, detect, get_reader, readers
from evreview.ingest.textio import decode, is_container
from evreview.records import RECORD_COLUMNS, finalise_record, make_record_id

__all__ = [
    "PROBLEM_COLUMNS",
    "FileReport",
    "IngestResult",
    "combine",
    "empty_records",
    "ingest_file",
    "ingest_files",
    "read_records",
    "readers",
    "write_records",
]

#: Columns of the per-record problems table.
PROBLEM_COLUMNS = ("search", "source_file", "source_format", "source_index", "source_line", "severity", "reason")

#: Hard cap on input size: larger files are almost surely not a bibliographic export.
MAX_FILE_BYTES = 2 * 1024**3


@dataclass
class FileReport:
    """Found vs. parsed for one file (a row of ``ingest_report.csv``)."""

    source_file: str
    search: str
    source_format: str
    source_database: str
    found: int
    parsed: int
    failed: int
    warnings: int
    untitled: int
    bytes: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class IngestResult:
    """Records, per-file reports and per-record problems of one ingest."""

    records: pd.DataFrame
    reports: list[FileReport] = field(default_factory=list)
    problems: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PROBLEM_COLUMNS))

    @property
    def report(self) -> pd.DataFrame:
        return pd.DataFrame([r.as_dict() for r in self.reports], columns=list(FileReport.__annotations__))


def _display_path(path: Path, root: Path | None) -> str:
    """Path as written into ``source_file``: relative to ``root`` (or cwd) when inside it."""
    base = (root or Path.cwd()).resolve()
    resolved = path.resolve()
    try:
        return resolved.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


def empty_records() -> pd.DataFrame:
    """A record table with no rows and the right columns and dtypes."""
    return _to_frame([])


def _to_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows, columns=list(RECORD_COLUMNS))
    frame["year"] = frame["year"].astype("Int64")
    frame["source_index"] = frame["source_index"].astype("int64")
    frame["source_line"] = frame["source_line"].astype("Int64")
    return frame


def ingest_file(
    path: str | Path,
    *,
    search: str = "",
    root: str | Path | None = None,
    fmt: str | None = None,
    encoding: str | None = None,
    database: str | None = None,
    column_map: Mapping[str, str] | None = None,
) -> IngestResult:
    """Read one export into the normalised table.

    ``search`` names the search round the file belongs to; ``root`` is the folder that
    ``source_file`` paths are relative to. ``fmt`` forces a reader (otherwise detected from
    content), ``database`` overrides the detected source database, and ``column_map`` maps a
    spreadsheet's own column names to record fields.
    """
    path = Path(path)
    shown = _display_path(path, Path(root) if root else None)
    if not path.exists():
        raise IngestError("no such file", path=shown)
    if path.is_dir():
        raise IngestError("is a folder, not an export file", path=shown)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise IngestError(f"file is {size / 1024**3:.1f} GiB; split the export", path=shown)
    data = path.read_bytes()
    text = None if is_container(data) else decode(data, shown, encoding)
    options: dict[str, Any] = {"column_map": dict(column_map or {}), "display_path": shown}
    source = Source(path=path, data=data, text=text, options=options)
    reader = get_reader(fmt) if fmt else detect(Source(path=Path(shown), data=data, text=text, options=options))
    try:
        result: ParseResult = reader.parse(source)
    except EvreviewError as exc:
        if exc.path is None or exc.path == str(path):
            exc.path = shown
        raise
    except Exception as exc:  # a parser bug must still name the file
        raise IngestError(
            f"could not parse as {reader.name}: {type(exc).__name__}: {exc} "
            "(if the file is a valid export, this is a bug in evreview: please report it)",
            path=shown,
        ) from exc

    db_default = database or result.database
    rows: list[dict[str, Any]] = []
    untitled = 0
    for index, parsed in enumerate(result.records):
        fields = finalise_record(dict(parsed.fields))
        if database:
            fields["source_database"] = database
        elif not fields["source_database"]:
            fields["source_database"] = db_default
        if not fields["title"]:
            untitled += 1
        fields["record_id"] = make_record_id(search, shown, index)
        fields["search"] = search
        fields["source_file"] = shown
        fields["source_format"] = reader.name
        fields["source_index"] = index
        fields["source_line"] = parsed.line
        fields["raw"] = json.dumps(parsed.raw, ensure_ascii=False, sort_keys=True, default=str)
        rows.append(fields)
    records = _to_frame(rows)

    problem_rows = [
        {
            "search": search,
            "source_file": shown,
            "source_format": reader.name,
            "source_index": p.index,
            "source_line": p.line,
            "severity": p.severity,
            "reason": p.reason,
        }
        for p in result.problems
    ]
    failed = sum(p.severity == "error" for p in result.problems)
    databases = sorted({part for value in records["source_database"] for part in value.split("; ") if part})
    report = FileReport(
        source_file=shown,
        search=search,
        source_format=reader.name,
        source_database="; ".join(databases) or db_default,
        found=int(result.found or 0),
        parsed=len(records),
        failed=failed,
        warnings=len(result.problems) - failed,
        untitled=untitled,
        bytes=size,
    )
    if report.found != report.parsed + report.failed:
        raise RuntimeError(
            f"{shown}: reader {reader.name} accounted for {report.parsed + report.failed} of "
            f"{report.found} records found (bug: records must never be dropped silently)"
        )
    problems = pd.DataFrame(problem_rows, columns=list(PROBLEM_COLUMNS))
    return IngestResult(records=records, reports=[report], problems=problems)


def combine(results: Iterable[IngestResult]) -> IngestResult:
    """Concatenate several ingest results (keeps order)."""
    results = list(results)
    if not results:
        return IngestResult(records=empty_records())
    frames = [r.records for r in results if len(r.records)] or [empty_records()]
    records = pd.concat(frames, ignore_index=True)
    records = _to_frame(records.to_dict("records")) if len(frames) > 1 else records
    problem_frames = [r.problems for r in results if len(r.problems)]
    problems = (
        pd.concat(problem_frames, ignore_index=True)
        if problem_frames
        else pd.DataFrame(columns=list(PROBLEM_COLUMNS))
    )
    reports = [rep for r in results for rep in r.reports]
    return IngestResult(records=records, reports=reports, problems=problems)


def ingest_files(
    paths: Sequence[str | Path],
    *,
    search: str = "",
    root: str | Path | None = None,
    **options: Any,
) -> IngestResult:
    """Ingest several files; the search round is ``search`` or, when empty, the name of the
    folder holding each file below ``root`` (``data/raw/<round>/<file>``)."""
    results = []
    for path in paths:
        round_name = search or _round_of(Path(path), Path(root) if root else None)
        results.append(ingest_file(path, search=round_name, root=root, **options))
    return combine(results)


def _round_of(path: Path, root: Path | None) -> str:
    if root is None:
        return ""
    try:
        rel = path.resolve().relative_to(root.resolve())
    except ValueError:
        return ""
    return rel.parts[-2] if len(rel.parts) > 1 else ""


def write_records(records: pd.DataFrame, path: str | Path) -> None:
    """Write the record table as Parquet (``.parquet``) or CSV (lists joined with ``; ``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    if path.suffix == ".parquet":
        records.to_parquet(tmp, index=False)
    elif path.suffix in {".csv", ".tsv"}:
        flat = records.copy()
        for col in ("authors", "keywords"):
            if col in flat:
                flat[col] = flat[col].map(lambda v: "; ".join(v) if isinstance(v, (list, tuple)) else v)
        flat.to_csv(tmp, index=False, sep="\t" if path.suffix == ".tsv" else ",")
    else:
        raise EvreviewError("output must end in .parquet, .csv or .tsv", path=path)
    os.replace(tmp, path)


def read_records(path: str | Path) -> pd.DataFrame:
    """Read a record table written by :func:`write_records` (Parquet)."""
    path = Path(path)
    if not path.exists():
        raise EvreviewError("no such record table", path=path)
    frame = pd.read_parquet(path)
    for col in ("authors", "keywords"):
        if col in frame:
            frame[col] = frame[col].map(lambda v: list(v) if v is not None else [])
    return frame
