"""Ingest: database exports in, one normalised record table out, plus a found-vs-parsed report.

The driver is format-agnostic: it decodes the file, asks the registry which reader fits the
content, lets the reader parse, then adds provenance (search round, file, position, line,
stable ``record_id``) and the shared normalisation. Nothing is dropped silently: a record a
reader cannot parse is listed in the report with its reason.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice, pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from evreview.errors import EvreviewError, IngestError
from evreview.gcpause import gc_paused
from evreview.ingest import parallel
from evreview.ingest.registry import ParsedRecord, ParseResult, Problem, Source, detect, get_reader, readers
from evreview.ingest.textio import check_container, decode, is_container
from evreview.provenance import parquet_metadata
from evreview.records import (
    LIST_FIELD_TYPE,
    LIST_FIELDS,
    RECORD_COLUMNS,
    TEXT_FIELD_TYPE,
    make_record_id,
    normalise_columns,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

_T = TypeVar("_T")

__all__ = [
    "PROBLEM_COLUMNS",
    "FileReport",
    "IngestResult",
    "check_given_once",
    "combine",
    "empty_records",
    "file_result",
    "ingest_file",
    "ingest_files",
    "ingest_table",
    "ingest_to_parquet",
    "read_records",
    "readers",
    "record_schema",
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
    problems: pd.DataFrame = field(default_factory=lambda: _no_problems())

    @property
    def report(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([r.as_dict() for r in self.reports], columns=list(FileReport.__annotations__))


def _no_problems() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(columns=PROBLEM_COLUMNS)


def _display_path(path: Path, root: Path | None) -> str:
    """Path as written into ``source_file``: relative to ``root`` (or cwd) when inside it."""
    base = (root or Path.cwd()).resolve()
    try:
        resolved = path.resolve()
    except (RuntimeError, OSError):  # a loop of symbolic links (RuntimeError before Python 3.13)
        return path.as_posix()
    try:
        return resolved.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


def empty_records() -> pd.DataFrame:
    """A record table with no rows and the right columns and dtypes."""
    return _to_frame([])


def _to_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame.from_records(rows, columns=list(RECORD_COLUMNS))
    frame["year"] = frame["year"].astype("Int64")
    frame["source_index"] = frame["source_index"].astype("int64")
    frame["source_line"] = frame["source_line"].astype("Int64")
    return frame


# --------------------------------------------------------------------------- Arrow record batches

#: Records normalised and written per batch: big enough that Arrow kernels amortise their
#: call overhead, small enough that a batch's parsed records stay ~50 MB (peak RSS is what the
#: target limits; see benchmarks/ingest_ris.py).
BATCH_SIZE = 10_000

_PROVENANCE_TYPES: dict[str, pa.DataType] = {
    "record_id": pa.large_string(),
    "search": pa.large_string(),
    "source_file": pa.large_string(),
    "source_format": pa.large_string(),
    "source_index": pa.int64(),
    "source_line": pa.int64(),
    "raw": pa.large_string(),
}


def _column_type(name: str) -> pa.DataType:
    if name in _PROVENANCE_TYPES:
        return _PROVENANCE_TYPES[name]
    if name in LIST_FIELDS:
        return LIST_FIELD_TYPE
    return pa.int64() if name == "year" else TEXT_FIELD_TYPE


@lru_cache(maxsize=1)
def _bare_schema() -> pa.Schema:
    """:func:`record_schema` without its metadata: the schema of the tables built in memory.

    The pandas metadata is only needed in a Parquet file, and computing it (a typed frame and
    ``Schema.from_pandas``) costs ~6 ms, a tenth of a small ``evreview dedup`` run's ingest;
    writers take their schema from :func:`record_schema` (they accept a table whose schema
    differs only in metadata).
    """
    return pa.schema([pa.field(name, _column_type(name)) for name in RECORD_COLUMNS])


@lru_cache(maxsize=1)
def record_schema() -> pa.Schema:
    """Arrow/Parquet schema of the record table, the same whatever the data.

    Carries pandas metadata (from a typed one-row frame), so ``pd.read_parquet`` gives back
    ``Int64`` for ``year``/``source_line`` from the streaming writer as from ``to_parquet``;
    a fixed schema also keeps ``keywords`` ``list<string>`` in a file where all are empty.
    """
    bare = _bare_schema()
    sample = {
        name: [["x"]] if name in LIST_FIELDS else [1] if bare.field(name).type == pa.int64() else ["x"]
        for name in RECORD_COLUMNS
    }
    frame = _frame_from_table(pa.table(sample, schema=bare))
    metadata = pa.Schema.from_pandas(frame, preserve_index=False).metadata
    # the run provenance travels with the table (evreview.provenance; a job gets it from the workflow)
    return bare.with_metadata({**metadata, **parquet_metadata()})


def _frame_from_table(table: pa.Table) -> pd.DataFrame:
    """The record DataFrame with the dtypes :func:`_to_frame` gives (lists as Python lists)."""
    import pandas as pd

    data: dict[str, Any] = {}
    for name in RECORD_COLUMNS:
        column = table.column(name)
        if name in LIST_FIELDS:
            data[name] = pd.Series(column.to_pylist(), dtype=object)
        elif name in ("year", "source_line"):
            data[name] = column.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
        elif name == "source_index":
            data[name] = pd.Series(column.to_numpy(), dtype="int64")
        else:
            data[name] = column.to_pandas()
    return pd.DataFrame(data, columns=list(RECORD_COLUMNS))


def _raw_json(raw: Mapping[str, Any]) -> bytes:
    """``raw`` as compact JSON with sorted keys and non-ASCII kept (byte-stable).

    orjson is ~8x faster than ``json.dumps``; values it refuses (an int beyond 64 bits, a
    lone surrogate) fall back to ``json.dumps`` with the same layout.
    """
    try:
        return orjson.dumps(raw, option=orjson.OPT_SORT_KEYS, default=str)
    except (orjson.JSONEncodeError, TypeError):
        text = json.dumps(raw, ensure_ascii=False, sort_keys=True, default=str, separators=(",", ":"))
        return text.encode("utf-8", "surrogatepass")


def _raw_array(raws: Iterable[Mapping[str, Any]]) -> pa.Array:
    """The ``raw`` column straight from JSON bytes: one buffer and an offsets array, no Python
    ``str`` (nor Arrow conversion) per record.

    Each record's JSON is appended to one ``bytearray`` and dropped at once, not kept until a
    final join: orjson sizes its output generously and shrinks it in place, so every retained
    result pinned a fresh page of its own (a page fault per record: 1,400 of a small dedup
    run's 3,900, and 2.4 ms against 0.5 ms to serialise them cold); a result dropped at once
    leaves its memory to the next.
    """
    data = bytearray()
    ends = [0]
    for raw in raws:
        data += _raw_json(raw)
        ends.append(len(data))
    offsets = np.array(ends, dtype=np.int64)
    count = len(ends) - 1
    array = pa.LargeStringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(data))
    try:
        array.validate(full=True)
    except pa.ArrowInvalid:  # a lone surrogate kept by the fallback: make it visible, not fatal
        chunks = (bytes(data[start:end]) for start, end in pairwise(ends))
        array = pa.array([chunk.decode("utf-8", "backslashreplace") for chunk in chunks], type=pa.large_string())
    return array


def records_table(
    batch: Sequence[ParsedRecord], *, search: str, shown: str, reader_name: str, first_index: int | None
) -> pa.Table:
    """Normalise one batch and add provenance, as an Arrow table in :func:`record_schema` (bare of metadata).

    ``first_index`` is the file position of the batch's first record; ``None`` (a parallel
    worker's part, whose position the parent learns later) leaves ``record_id`` empty and
    counts ``source_index`` from 0, for :func:`assign_positions`.
    """
    columns: dict[str, pa.Array] = normalise_columns([parsed.fields for parsed in batch])
    count = len(batch)
    start = first_index or 0
    if first_index is None:
        columns["record_id"] = pa.array([""] * count, type=pa.large_string())
    else:
        columns["record_id"] = _record_ids(search, shown, start, count)
    for name, value in (("search", search), ("source_file", shown), ("source_format", reader_name)):
        columns[name] = pa.array([value] * count, type=pa.large_string())
    columns["source_index"] = pa.array(range(start, start + count), type=pa.int64())
    columns["source_line"] = pa.array([parsed.line for parsed in batch], type=pa.int64())
    columns["raw"] = _raw_array(parsed.raw for parsed in batch)
    return pa.table([columns[name] for name in RECORD_COLUMNS], schema=_bare_schema())


def _record_ids(search: str, shown: str, start: int, count: int) -> pa.Array:
    return pa.array(
        [make_record_id(search, shown, index) for index in range(start, start + count)], type=pa.large_string()
    )


def assign_positions(table: pa.Table, *, search: str, shown: str, first_index: int) -> pa.Table:
    """Give a parallel part's records their file positions: ``source_index`` from
    ``first_index`` and the ``record_id`` that follows from it (as :func:`records_table` would)."""
    count = table.num_rows
    index = table.schema.get_field_index("source_index")
    table = table.set_column(
        index, "source_index", pa.array(range(first_index, first_index + count), type=pa.int64())
    )
    index = table.schema.get_field_index("record_id")
    return table.set_column(index, "record_id", _record_ids(search, shown, first_index, count))


def _fill_database(table: pa.Table, default: str) -> pa.Table:
    """Records whose reader named no database get the file's ``default`` database."""
    column = table.column("source_database")
    filled = pc.if_else(pc.equal(column, ""), pa.scalar(default, pa.large_string()), column)
    return table.set_column(table.schema.get_field_index("source_database"), "source_database", filled)


class _FileIngest:
    """One file going through the driver: opened, parsed (perhaps streaming), normalised in batches.

    Iterate :meth:`tables` for the record batches (Arrow tables in :func:`record_schema`), then
    :meth:`report` and :meth:`problem_frame`. ``source_database`` defaults that a streaming
    reader only knows at the end (:attr:`fill`) are applied in the batches already when the
    reader knew it up front, else by the caller (``fill`` is then non-empty).
    """

    def __init__(
        self,
        path: Path,
        *,
        search: str,
        root: Path | None,
        fmt: str | None,
        encoding: str | None,
        database: str | None,
        column_map: Mapping[str, str] | None,
    ) -> None:
        self.path = path
        self.search = search
        self.database = database
        self.shown = shown = _display_path(path, root)
        if not path.exists():
            if path.is_symlink():
                raise IngestError("a symbolic link to no file (its target is missing, or the links loop)", path=shown)
            raise IngestError("no such file", path=shown)
        if path.is_dir():
            raise IngestError("is a folder, not an export file", path=shown)
        if not path.is_file():
            # a named pipe would block the read for ever and a device (/dev/zero) never ends:
            # its size (0) says nothing of what reading it gives
            raise IngestError(
                "not a regular file (a pipe, socket or device): save the export as a file and ingest that",
                path=shown,
            )
        self.size = size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise IngestError(f"file is {size / 1024**3:.1f} GiB; split the export", path=shown)
        # a copy of the same kind: a config's map (ConfigColumnMap) tolerates columns a file lacks
        mapping = type(column_map)(column_map) if isinstance(column_map, dict) else dict(column_map or {})
        options: dict[str, Any] = {"column_map": mapping, "display_path": shown}
        self.parsed = 0
        self.untitled = 0
        self.databases: set[str] = set()
        self.fill = ""
        #: parts parsed in worker processes (a large file whose reader supports it), or None
        self.plan = parallel.plan(path, shown, size, fmt=fmt, encoding=encoding, options=options)
        self.outcome = parallel.Outcome()
        #: for a forced format the content does not fit: what detection makes of the file
        self.unlike: str | None = None
        if self.plan is not None:
            self.reader = self.plan.reader
            self.result = ParseResult(records=iter(()), problems=[], found=None)
            return
        try:
            data = path.read_bytes()
        except OSError as exc:  # no permission, a device or socket: the user's to fix, not a traceback
            raise IngestError(f"cannot read the file: {exc.strerror or exc}", path=shown) from None
        if is_container(data):
            check_container(data, shown)
            text = None
        else:
            text = decode(data, shown, encoding)
        source = Source(path=path, data=data, text=text, options=options)
        shown_source = Source(path=Path(shown), data=data, text=text, options=options)
        if fmt:
            self.reader = get_reader(fmt)
            if self.reader.sniff(shown_source) <= 0:
                try:
                    self.unlike = f"its content looks like {detect(shown_source).name}"
                except IngestError:
                    self.unlike = "its content is not any supported format"
        else:
            self.reader = detect(shown_source)
        self.result: ParseResult = self._guard(lambda: self.reader.parse(source))
        if text is not None:
            # text readers have their text now: the file's bytes (a quarter GB at 100k records) can go
            source.data = b""
        del data, text

    def _guard(self, work: Callable[[], _T]) -> _T:
        """Run reader code; a user error gets the file's name, a reader bug becomes a clear IngestError."""
        try:
            return work()
        except EvreviewError as exc:
            if exc.path is None or exc.path == str(self.path):
                exc.path = self.shown
            raise
        except Exception as exc:  # a parser bug must still name the file
            raise IngestError(
                f"could not parse as {self.reader.name}: {type(exc).__name__}: {exc} "
                "(if the file is a valid export, this is a bug in evreview: please report it)",
                path=self.shown,
            ) from exc

    def _batches(self) -> Iterator[list[ParsedRecord]]:
        records = iter(self.result.records)
        while True:
            batch = self._guard(lambda: list(islice(records, BATCH_SIZE)))
            if not batch:
                return
            yield batch

    def _record_tables(self) -> Iterator[pa.Table]:
        """Tables of :data:`BATCH_SIZE` records with provenance, from this process or the workers."""
        if self.plan is not None:
            yield from parallel.run(self.plan, search=self.search, batch=BATCH_SIZE, outcome=self.outcome)
            result, outcome = self.result, self.outcome
            result.problems, result.found, result.database_counts = outcome.problems, outcome.found, outcome.counts
            # as the RIS reader names its database: the most common, the first seen among equals
            result.database = max(outcome.counts, key=outcome.counts.__getitem__) if outcome.counts else ""
            return
        first = 0
        for batch in self._batches():
            table = records_table(
                batch, search=self.search, shown=self.shown, reader_name=self.reader.name, first_index=first
            )
            first += len(batch)
            del batch  # before the next batch is parsed: one batch of parsed records at a time
            yield table

    def tables(self) -> Iterator[pa.Table]:
        """The file's records as Arrow tables of at most :data:`BATCH_SIZE` rows, in file order."""
        streaming = self.result.streaming
        default = self.database or ("" if streaming else self.result.database)
        for table in self._record_tables():
            self.parsed += table.num_rows
            if self.database:
                table = table.set_column(
                    table.schema.get_field_index("source_database"),
                    "source_database",
                    pa.array([self.database] * table.num_rows, type=pa.large_string()),
                )
            elif default:
                table = _fill_database(table, default)
            self.untitled += pc.sum(pc.equal(table.column("title"), "")).as_py() or 0
            self.databases.update(pc.unique(table.column("source_database")).to_pylist())
            yield table
        if streaming and not self.database and "" in self.databases and self.result.database:
            self.fill = self.result.database

    def report(self) -> FileReport:
        """Found vs. parsed, once :meth:`tables` is exhausted; checks nothing was dropped."""
        problems = self.result.problems
        if self.unlike is not None and not self.result.found and not problems:
            # a wrong --format or ingest.formats entry, and the reader saw nothing it could
            # even complain about: "0/0 records" and exit 0 looked like an export with no results
            raise IngestError(
                f"no record found reading it as {self.reader.name} (forced with --format or the "
                f"config's ingest.formats), and {self.unlike}: remove the forced format to "
                "detect it from its content",
                path=self.shown,
            )
        if self.unlike is not None:
            problems.insert(
                0,
                Problem(
                    f"read as {self.reader.name} because that format was forced (--format or the config's "
                    f"ingest.formats), but the file does not look like it: {self.unlike}; check the records",
                    severity="warning",
                ),
            )
            self.unlike = None  # reported: a second report() must not add it again
        failed = sum(p.severity == "error" for p in problems)
        default = self.database or self.result.database
        names = {default if (not value and self.fill) else value for value in self.databases}
        databases = sorted({part for value in names for part in value.split("; ") if part})
        report = FileReport(
            source_file=self.shown,
            search=self.search,
            source_format=self.reader.name,
            source_database="; ".join(databases) or default,
            found=int(self.result.found or 0),
            parsed=self.parsed,
            failed=failed,
            warnings=len(problems) - failed,
            untitled=self.untitled,
            bytes=self.size,
        )
        if report.found != report.parsed + report.failed:
            raise RuntimeError(
                f"{self.shown}: reader {self.reader.name} accounted for {report.parsed + report.failed} of "
                f"{report.found} records found (bug: records must never be dropped silently)"
            )
        return report

    def problem_frame(self) -> pd.DataFrame:
        return _problem_frame(self.problem_rows())

    def problem_rows(self) -> list[dict[str, Any]]:
        """The rows of :meth:`problem_frame` (plain values: no pandas needed to make them)."""
        return [
            {
                "search": self.search,
                "source_file": self.shown,
                "source_format": self.reader.name,
                "source_index": p.index,
                "source_line": p.line,
                "severity": p.severity,
                "reason": p.reason,
            }
            for p in self.result.problems
        ]


def _problem_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The per-record problems table of ``rows`` (:meth:`_FileIngest.problem_rows`)."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=list(PROBLEM_COLUMNS))
    # whole numbers even where some problems have none (a file-level warning): pandas
    # would make the column float and problems.csv say "4.0", and the ledger's id of an
    # unparsed record (built from its source_index) would change with unrelated problems
    for column in ("source_index", "source_line"):
        frame[column] = frame[column].astype("Int64")
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
    with gc_paused():
        table, report, problems = ingest_table(
            path, search=search, root=root, fmt=fmt, encoding=encoding, database=database, column_map=column_map
        )
        return file_result(table, report, problems)


_FILE_OPTIONS = ("fmt", "encoding", "database", "column_map")


def ingest_table(
    path: str | Path, *, search: str = "", root: str | Path | None = None, **options: Any
) -> tuple[pa.Table, FileReport, list[dict[str, Any]]]:
    """:func:`ingest_file` (same ``options``) up to the Arrow record table: the table, the
    file's report and its problems as rows (:func:`file_result` makes the :class:`IngestResult`).

    Without pandas: ``evreview dedup`` ingests its exports in a process of its own with this
    while its main process imports pandas (see :mod:`evreview.dedup.commands`).
    """
    unknown = set(options) - set(_FILE_OPTIONS)
    if unknown:
        raise TypeError(f"ingest_table() got unexpected keyword argument(s) {', '.join(sorted(unknown))}")
    with gc_paused():
        job = _FileIngest(
            Path(path),
            search=search,
            root=Path(root) if root else None,
            **{name: options.get(name) for name in _FILE_OPTIONS},
        )
        tables = list(job.tables())
        report = job.report()
        table = pa.concat_tables(tables) if tables else _bare_schema().empty_table()
        del tables
        if job.fill:
            table = _fill_database(table, job.fill)
    return table, report, job.problem_rows()


def file_result(table: pa.Table, report: FileReport, problems: list[dict[str, Any]]) -> IngestResult:
    """The :class:`IngestResult` of one file from what :func:`ingest_table` gives."""
    return IngestResult(records=_frame_from_table(table), reports=[report], problems=_problem_frame(problems))


def ingest_to_parquet(
    paths: Sequence[str | Path],
    out: str | Path,
    *,
    search: str = "",
    root: str | Path | None = None,
    per_file: Callable[[Path], Mapping[str, Any]] | None = None,
    **options: Any,
) -> IngestResult:
    """Ingest files straight into one Parquet record table, a batch (row group) at a time.

    What ``evreview ingest --out x.parquet`` runs: peak memory is one file's text plus one
    batch, not the whole table. The result's ``records`` is empty (the table is in ``out``);
    its reports and problems are complete. ``search`` and ``root`` work as in
    :func:`ingest_files`; ``per_file(path)`` may add options (``fmt``, ``encoding``,
    ``database``, ``column_map``) for one file. ``read_records(out)`` equals
    ``write_records(ingest_files(paths, ...).records, out)`` read back.

    The Parquet writer is opened at the first batch: its schema carries pandas metadata, and
    importing pandas (0.13 s) then overlaps the parse, which a large file's worker processes
    have begun by then.
    """
    out = Path(out)
    root_path = Path(root) if root else None
    check_given_once(paths)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    reports: list[FileReport] = []
    problems: list[dict[str, Any]] = []
    fills: list[str] = []  # per row group: the database default to apply afterwards, or ""
    try:
        with contextlib.ExitStack() as stack, gc_paused():
            writer: pq.ParquetWriter | None = None
            for path in paths:
                path = Path(path)
                round_name = search or _round_of(path, root_path)
                merged = {**options, **(per_file(path) if per_file else {})}
                job = _FileIngest(
                    path,
                    search=round_name,
                    root=root_path,
                    fmt=merged.get("fmt"),
                    encoding=merged.get("encoding"),
                    database=merged.get("database"),
                    column_map=merged.get("column_map"),
                )
                first = len(fills)
                for table in job.tables():
                    if writer is None:
                        writer = stack.enter_context(pq.ParquetWriter(tmp, record_schema()))
                    writer.write_table(table, row_group_size=max(table.num_rows, 1))
                    fills.append("")
                reports.append(job.report())
                problems.extend(job.problem_rows())
                fills[first:] = [job.fill] * (len(fills) - first)
                del job
            if writer is None:  # no record at all: a table with no rows
                stack.enter_context(pq.ParquetWriter(tmp, record_schema()))
        if any(fills):
            _apply_fills(tmp, fills)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    problem_frame = _problem_frame(problems) if problems else _no_problems()
    return IngestResult(records=empty_records(), reports=reports, problems=problem_frame)


def _apply_fills(path: Path, fills: Sequence[str]) -> None:
    """Rewrite ``path`` row group by row group, giving empty ``source_database`` values their
    file's default (known only after a streaming reader finished the file; rare)."""
    rewritten = path.with_name(path.name + ".fill")
    source = pq.ParquetFile(path)
    try:
        with pq.ParquetWriter(rewritten, record_schema()) as writer:
            for group, default in enumerate(fills):
                table = source.read_row_group(group)
                table = _fill_database(table, default) if default else table
                writer.write_table(table, row_group_size=max(table.num_rows, 1))
        source.close()
        os.replace(rewritten, path)
    finally:
        if rewritten.exists():
            rewritten.unlink()


def combine(results: Iterable[IngestResult]) -> IngestResult:
    """Concatenate several ingest results (keeps order)."""
    import pandas as pd

    results = list(results)
    if not results:
        return IngestResult(records=empty_records())
    frames = [r.records for r in results if len(r.records)] or [empty_records()]
    records = pd.concat(frames, ignore_index=True)
    records = _to_frame(records.to_dict("records")) if len(frames) > 1 else records
    problem_frames = [r.problems for r in results if len(r.problems)]
    problems = pd.concat(problem_frames, ignore_index=True) if problem_frames else _no_problems()
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
    check_given_once(paths)
    results = []
    for path in paths:
        round_name = search or _round_of(Path(path), Path(root) if root else None)
        results.append(ingest_file(path, search=round_name, root=root, **options))
    return combine(results)


def check_given_once(paths: Sequence[str | Path]) -> None:
    """Refuse a file named twice (``a.ris a.ris``, ``a.ris ./a.ris``, a symlink to it).

    Its records would be ingested twice with the same ``record_id`` (round, file, position),
    which only deduplication noticed, as "record_id appears more than once", naming no file.
    """
    seen: dict[Path, str] = {}
    for path in map(Path, paths):
        if not path.is_file():
            continue  # the driver's "no such file" / "is a folder" error comes in its turn
        key = path.resolve()
        if key in seen:
            shown, again = seen[key], path.as_posix()
            also = "" if again == shown else f" (also as {again})"
            raise IngestError(f"file given twice{also}: its records would be ingested twice", path=shown)
        seen[key] = path.as_posix()


def _round_of(path: Path, root: Path | None) -> str:
    if root is None:
        return ""
    try:
        rel = path.resolve().relative_to(root.resolve())
    except (ValueError, RuntimeError, OSError):  # outside root, or a loop of links (named by the driver)
        return ""
    return rel.parts[-2] if len(rel.parts) > 1 else ""


def write_records(records: pd.DataFrame, path: str | Path) -> None:
    """Write the record table as Parquet (``.parquet``) or CSV (lists joined with ``; ``)."""
    path = Path(path)
    if path.suffix == ".parquet" and list(records.columns) != list(RECORD_COLUMNS):
        from evreview.reporting import write_parquet

        write_parquet(records, path)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    if path.suffix == ".parquet":
        # the fixed schema: the same file as the streaming writer's, whatever the data
        table = pa.Table.from_pandas(records, schema=record_schema(), preserve_index=False)
        pq.write_table(table.replace_schema_metadata(record_schema().metadata), tmp)
    elif path.suffix in {".csv", ".tsv"}:
        flat = records.copy()
        for col in ("authors", "keywords"):
            if col in flat:
                flat[col] = flat[col].map(lambda v: "; ".join(v) if isinstance(v, (list, tuple)) else v)
        flat.to_csv(tmp, index=False, sep="\t" if path.suffix == ".tsv" else ",")
    else:
        raise EvreviewError("output must end in .parquet, .csv or .tsv", path=path)
    os.replace(tmp, path)


def gather_record_tables(paths: Sequence[str | Path], out: str | Path) -> int:
    """Concatenate record tables (Parquet from :func:`ingest_to_parquet`) into ``out``, in the order given.

    Works on Arrow tables end to end: every table already has the fixed :func:`record_schema`,
    so nothing needs to become pandas objects (converting 200,000 records' author lists and raw
    JSON to Python objects and back was nearly all of the gather job). Streams: one input table
    in memory at a time, written as its own row group(s), so an update round that re-gathers
    every export holds one export, not all of them (200k records: peak 1.1 GB -> 0.43 GB,
    system time 1.7-6.5 s of page faults -> 0.2 s). Reads back as
    ``pd.concat(read_records(p) for p in paths)``. Returns the row count.
    """
    from evreview.reporting import write_atomically

    schema = record_schema()
    bare = schema.remove_metadata()

    def load(path: str | Path) -> pa.Table:
        try:
            table = pq.read_table(path)
        except Exception as exc:  # pyarrow raises many types for a file that is not Parquet
            raise EvreviewError(f"cannot read record table: {exc}", path=Path(path)) from None
        if not table.schema.equals(bare, check_metadata=False):
            try:
                table = table.select(list(RECORD_COLUMNS)).cast(bare)
            except (KeyError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise EvreviewError(f"not a record table from `evreview ingest` ({exc})", path=Path(path)) from None
        return table.replace_schema_metadata(schema.metadata)

    rows = 0

    def write(tmp: Path) -> None:
        nonlocal rows
        with pq.ParquetWriter(tmp, schema) as writer:
            for path in paths:
                table = load(path)
                if table.num_rows:
                    writer.write_table(table)
                    rows += table.num_rows

    write_atomically(out, write)
    return rows


def read_records(path: str | Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a record table written by :func:`write_records` (Parquet).

    ``columns``: read only these (those the file lacks are skipped). The ``raw`` column (every
    export field as JSON) is two thirds of a record table's bytes and of its reading time, and
    most stages never look at it.
    """
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise EvreviewError("no such record table", path=path)
    try:
        if columns is not None:
            present = set(pq.read_schema(path).names)
            columns = [c for c in columns if c in present]
        frame = pd.read_parquet(path, columns=columns)
    except Exception as exc:  # pyarrow raises many types for a damaged or foreign file
        raise EvreviewError(f"cannot read record table: {exc}", path=path) from None
    for col in ("authors", "keywords"):
        if col in frame:
            frame[col] = frame[col].map(lambda v: list(v) if v is not None else [])
    return frame
