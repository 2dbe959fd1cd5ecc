"""Shared machinery for delimited and spreadsheet exports (CSV, TSV, XLSX, legacy XLS).

Scopus, PubMed, Embase, OpenAlex, Lens, Web of Science (tab-delimited) and hand-made
spreadsheets are all "a header row, then one row per record". What differs is the column
names and a few quirks, so the work is split in two:

* :func:`load_table` turns a :class:`~evreview.ingest.registry.Source` into a :class:`Table`
  (header + rows, each row with the 1-based physical line it starts on, so a multi-line quoted
  abstract does not shift the line numbers reported for later rows);
* :class:`TableReader` holds the common sniff/parse loop: a subclass names its signature
  columns, maps columns to record fields, and may repair rows (the Scopus shifted-column quirk).

Column names are compared by :func:`column_key` (lower-case letters and digits only, accents
aside), so ``"Author(s) ID"``, ``"author_s_id"`` and ``"AUTHORS ID"`` are the same column.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
from typing import Any, ClassVar

from evreview.errors import IngestError
from evreview.ingest.formats import _stray_quote
from evreview.ingest.registry import ParsedRecord, ParseResult, Problem, Source

# Abstracts and reference lists exceed the csv module's default 128 KiB field limit in real
# exports; 256 MiB still bounds a runaway unterminated quote.
csv.field_size_limit(max(csv.field_size_limit(), 256 * 1024 * 1024))

#: Delimiters a table may use, in tie-break order.
DELIMITERS: tuple[str, ...] = ("\t", ",", ";")

_KEY = re.compile(r"[^0-9a-z]+")
#: First lines of the tagged/markup formats other readers own: never treat them as a table.
_NOT_A_TABLE = re.compile(
    r"^(?:[A-Z][A-Z0-9]  - |[A-Z]{2,4} ?- |@\w+\s*[{(]|\s*<|(?:FN|VR|PT) \S|%[A-Z0-9] |\d+\.\s*$"
    r"|\s*[\[{]|Report Information from ProQuest|Document \d+ of \d+)"
)


def column_key(name: str) -> str:
    """Comparison form of a column name: lower-case letters and digits only, accents aside.

    Letters of any script count: with ASCII ones only, every Cyrillic, Greek or Chinese column
    name had the key ``""``, so they were all one column (``{"Заголовок": "title",
    "Аннотация": "abstract"}`` put the title in the abstract too).
    """
    if name.isascii():
        return _KEY.sub("", name.lower())
    folded = unicodedata.normalize("NFKD", name.casefold())
    return "".join(ch for ch in folded if ch.isalnum() and not unicodedata.combining(ch))


@dataclass(slots=True)
class Row:
    """One data row: its 1-based start line (or spreadsheet row) and its cell texts."""

    line: int
    values: list[str]


@dataclass
class Table:
    """A header and its data rows, as read, before any field mapping.

    ``columns`` are unique display names (an empty header cell becomes ``column_N``, a repeated
    one gets `` (2)``), used as the keys of each record's ``raw``; ``keys`` are their
    :func:`column_key` forms for matching. ``span_end`` maps a row's line to the last line it
    occupies, for messages about rows that swallowed following lines.
    """

    columns: list[str]
    rows: list[Row]
    header_line: int = 1
    delimiter: str = ","
    kind: str = "text"
    keys: list[str] = field(default_factory=list)
    span_end: dict[int, int] = field(default_factory=dict)
    #: rows a stray opening quote put in doubt (see :mod:`._stray_quote`): line -> (message,
    #: severity); an ``"error"`` row is not read, a ``"warning"`` row is read with that warning
    flags: dict[int, tuple[str, str]] = field(default_factory=dict)
    #: file-level caveats (e.g. workbook sheets that were not read), reported as warnings
    notes: list[str] = field(default_factory=list)
    #: per-file facts a reader computes once (e.g. where Scopus's extra fields go)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.keys:
            self.keys = [column_key(c) for c in self.columns]

    def index(self, *names: str) -> list[int]:
        """Indices of the columns called any of ``names`` (compared by key), in ``names`` order."""
        out: list[int] = []
        for name in names:
            key = column_key(name)
            for i, k in enumerate(self.keys):
                if k == key and i not in out:
                    out.append(i)
        return out


def unique_columns(names: Sequence[str]) -> list[str]:
    """Display names for header cells: trimmed, blanks named by position, repeats numbered."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, name in enumerate(names, start=1):
        shown = (name or "").strip().lstrip("\ufeff") or f"column_{i}"
        if shown in seen:
            seen[shown] += 1
            shown = f"{shown} ({seen[shown]})"
        else:
            seen[shown] = 1
        out.append(shown)
    return out


# --------------------------------------------------------------------------- text tables


def _first_line(text: str) -> tuple[int, str]:
    """The first non-blank line of ``text`` and its 1-based number (``(0, "")`` if none)."""
    for number, line in enumerate(text.split("\n", 200)[:200], start=1):
        if line.strip():
            return number, line
    return 0, ""


_EXCEL_SEP = re.compile(r'"?sep=(.)"?\s*')


def without_sep_line(text: str) -> tuple[str, str | None]:
    """``text`` with Excel's ``sep=;`` hint line blanked (line numbers kept), and its delimiter.

    Excel writes that line first in CSVs meant for another locale's Excel; it is not a header.
    """
    _, line = _first_line(text)
    match = _EXCEL_SEP.fullmatch(line)
    if not match:
        return text, None
    return text.replace(line, "", 1), match.group(1)


def blank_first_lines(text: str, count: int) -> str:
    """``text`` with its first ``count`` lines emptied, their line breaks kept, so that every later
    row is still reported at its line in the file (an export's lines above its header: Dimensions'
    "About the data", Embase's search); ``""`` when the text is no more than those lines."""
    offset = 0
    for _ in range(count):
        offset = text.find("\n", offset) + 1
        if offset == 0:
            return ""
    return "\n" * count + text[offset:]


def _count_outside_quotes(line: str, char: str) -> int:
    """Occurrences of ``char`` in ``line`` that are not inside a double-quoted field."""
    count = 0
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == char and not quoted:
            count += 1
    return count


def sniff_delimiter(header_line: str) -> str | None:
    """The delimiter of a header line: the most frequent of tab, comma, semicolon (outside quotes).

    Header cells are column names, which rarely contain any of them, so counting on the
    header alone is reliable where counting on data rows (abstracts full of commas) is not.
    """
    counts = [(_count_outside_quotes(header_line, d), -i, d) for i, d in enumerate(DELIMITERS)]
    best = max(counts)
    return best[2] if best[0] > 0 else None


def _rows_from_text(
    text: str, delimiter: str, *, quoting: bool, flags: dict[int, tuple[str, str]] | None = None
) -> Iterable[tuple[int, int, list[str]]]:
    """Yield ``(start_line, end_line, cells)`` for each non-blank row of ``text``.

    The csv module counts physical lines consumed (``line_num``), so the start line of a row is
    one past the end line of the previous one, even across quoted newlines. ``quoting=False``
    splits each line on the delimiter only (Web of Science tab-delimited files never quote, and
    a title starting with ``"`` must not open a quoted field there).

    A data row spanning several lines may be a stray opening quote that swallowed the rows after
    it; given ``flags``, such rows are examined (:mod:`._stray_quote`): read again from the line
    after the quote, or reported in ``flags``. Single-line rows cost one comparison more.
    """
    if not quoting:
        for number, line in enumerate(text.split("\n"), start=1):
            if line.strip():
                yield number, number, line.split(delimiter)
        return
    buffer = io.StringIO(text, newline="")
    reader = csv.reader(buffer, delimiter=delimiter, quotechar='"', doublequote=True)
    previous = shift = 0  # a row's last line is reader.line_num + shift (shift < 0 after a re-read)
    columns: list[str] | None = None
    for cells in reader:
        start, previous = previous + 1, reader.line_num + shift
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        if columns is None:
            columns = unique_columns(_drop_trailing_empty(cells))
        elif previous != start and flags is not None:
            stop = buffer.tell()
            width = len(columns)
            if (
                stop == len(text)
                or _stray_quote.suspect(cells, width, delimiter)
                or _stray_quote.closed_by_stray(text, stop, width, delimiter)
            ):
                verdict = _stray_quote.examine(text, stop, start, previous, cells, columns, delimiter)
                if verdict is not None:
                    flags[start] = (verdict.message, verdict.severity)
                if verdict is not None and verdict.cells is not None:  # recovered
                    yield start, start, verdict.cells
                    buffer.seek(verdict.resume)  # read on from the line after the quote's
                    previous, shift = start, start - reader.line_num
                    continue
        yield start, previous, cells


def read_text_table(text: str, delimiter: str | None = None, *, quoting: bool = True) -> Table:
    """Parse delimited text into a :class:`Table` (first non-blank row is the header)."""
    text, hinted = without_sep_line(text)
    delimiter = delimiter or hinted
    if delimiter is None:
        delimiter = sniff_delimiter(_first_line(text)[1]) or ","
    flags: dict[int, tuple[str, str]] = {}
    rows_iter = iter(_rows_from_text(text, delimiter, quoting=quoting, flags=flags))
    try:
        header_line, _, header = next(rows_iter)
    except StopIteration:
        return Table(columns=[], rows=[], delimiter=delimiter)
    header = _drop_trailing_empty(header)
    rows: list[Row] = []
    span_end: dict[int, int] = {}
    for start, end, cells in rows_iter:
        rows.append(Row(start, cells))
        if end != start:
            span_end[start] = end
    return Table(
        columns=unique_columns(header),
        rows=rows,
        header_line=header_line,
        delimiter=delimiter,
        span_end=span_end,
        flags=flags,
    )


def _drop_trailing_empty(cells: list[str]) -> list[str]:
    """Header cells without the empty ones a trailing delimiter leaves at the end."""
    end = len(cells)
    while end > 1 and not cells[end - 1].strip():
        end -= 1
    return cells[:end]


def text_header(source: Source) -> tuple[list[str], str] | None:
    """Header cells and delimiter of a text source, or ``None`` when it does not look tabular.

    Only the first 64 KiB are read (what ``sniff`` may afford); files that start like RIS,
    MEDLINE, BibTeX, XML, JSON or WoS/EndNote tagged text are rejected outright, so no
    tabular reader ever claims them.
    """
    return header_of(source.head)


def header_of(head: str) -> tuple[list[str], str] | None:
    """:func:`text_header` of a source whose :attr:`~evreview.ingest.registry.Source.head` is ``head``."""
    head, hinted = without_sep_line(head)
    if not head:
        return None
    _, line = _first_line(head)
    if not line or _NOT_A_TABLE.match(line):
        return None
    delimiter = hinted or sniff_delimiter(line)
    if delimiter is None:
        return None
    try:
        reader = csv.reader(io.StringIO(head, newline=""), delimiter=delimiter)
        for cells in reader:
            if cells and any(c.strip() for c in cells):
                return _drop_trailing_empty(cells), delimiter
    except csv.Error:
        return None
    return None


# --------------------------------------------------------------------------- spreadsheets


def is_xlsx(data: bytes) -> bool:
    """True when ``data`` is an Office Open XML workbook (a zip holding ``xl/workbook.xml``)."""
    if not data.startswith(b"PK\x03\x04"):
        return False
    return _xlsx_first_rows(data) is not None


#: The first bytes of an OLE2 compound file: a legacy (BIFF5/BIFF8) ``.xls`` workbook, but also a
#: Word ``.doc``, an Outlook ``.msg`` or an ``.msi``, which :func:`read_xls_table` names as such.
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def is_ole(data: bytes) -> bool:
    """True when ``data`` is an OLE2 compound file (what a legacy ``.xls`` workbook is)."""
    return data.startswith(OLE_MAGIC)


def is_xls(data: bytes) -> bool:
    """True when ``data`` is a legacy ``.xls`` workbook that xlrd can open."""
    return is_ole(data) and _xls_first_rows(data) is not None


def workbook_first_rows(data: bytes) -> tuple[tuple[str, ...], ...] | None:
    """The first few non-empty rows of a workbook's first sheet (``.xlsx`` or ``.xls``), or ``None``.

    What readers sniff on: both kinds of workbook give the same cell texts, so every table
    reader (the WoS Excel export's long column names, Dimensions' preamble row, the generic
    table) claims an ``.xls`` exactly as it claims the same sheet saved as ``.xlsx``.
    """
    if data.startswith(b"PK\x03\x04"):
        return _xlsx_first_rows(data)
    if is_ole(data):
        return _xls_first_rows(data)
    return None


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a CSV export would hold (``2021.0`` -> ``"2021"``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _open_workbook(data: bytes) -> Any:
    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(data), read_only=True, data_only=True)


@lru_cache(maxsize=2)
def _xlsx_first_rows(data: bytes) -> tuple[tuple[str, ...], ...] | None:
    """The first few non-empty rows of the first worksheet, or ``None`` if not a workbook.

    Cached because every tabular reader's ``sniff`` asks for the header of the same file.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if "xl/workbook.xml" not in archive.namelist():
                return None
        book = _open_workbook(data)
    except Exception:  # not a readable workbook: some other reader's container, or broken
        return None
    try:
        sheet = book.worksheets[0]
        rows: list[tuple[str, ...]] = []
        for values in sheet.iter_rows(values_only=True):
            cells = tuple(cell_text(v) for v in values)
            if any(c.strip() for c in cells):
                rows.append(cells)
                if len(rows) >= 3:
                    break
        return tuple(rows)
    finally:
        book.close()


def read_xlsx_table(data: bytes, path: str) -> Table:
    """Read the first worksheet of a workbook into a :class:`Table` (row numbers as lines).

    Records are expected on the first sheet (what every database's Excel export writes); other
    sheets holding data are named in ``notes`` so the report shows they were not read.
    """
    try:
        book = _open_workbook(data)
    except Exception as exc:
        raise IngestError(f"cannot open the spreadsheet: {type(exc).__name__}: {exc}", path=path) from None
    try:
        sheet = book.worksheets[0]
        numbered = (
            (number, [cell_text(v) for v in values])
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        )
        table = _sheet_table(numbered, kind="xlsx")
        skipped = [other.title for other in book.worksheets[1:] if _sheet_has_data(other)]
    finally:
        book.close()
    table.notes.extend(_other_sheet_notes(sheet.title, skipped))
    return table


def _sheet_table(numbered: Iterable[tuple[int, list[str]]], *, kind: str) -> Table:
    """A :class:`Table` from a sheet's ``(row number, cell texts)``: the first non-empty row is
    the header, later non-empty rows are records at their row numbers (as lines)."""
    header: list[str] | None = None
    header_line = 1
    rows: list[Row] = []
    for number, cells in numbered:
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header, header_line = _drop_trailing_empty(cells), number
            continue
        rows.append(Row(number, cells))
    return Table(columns=unique_columns(header or []), rows=rows, header_line=header_line, delimiter="", kind=kind)


def _other_sheet_notes(first_title: str, skipped: Sequence[str]) -> list[str]:
    """Warnings naming the sheets after the first that hold data (only the first is read)."""
    return [
        f"only the first sheet ({first_title!r}) was read; sheet {name!r} also holds data "
        "(move its rows to the first sheet, or save it as its own file, to ingest them)"
        for name in skipped
    ]


def _sheet_has_data(sheet: Any) -> bool:
    """True when any of a worksheet's first rows has a non-empty cell."""
    for index, values in enumerate(sheet.iter_rows(values_only=True)):
        if any(cell_text(v).strip() for v in values):
            return True
        if index >= 20:
            return False
    return False



# --------------------------------------------------------------------------- legacy .xls (BIFF)
#
# Web of Science's "Excel" export (savedrecs.xls), like other databases' and hand-made .xls
# tables, is a BIFF8 workbook in an OLE2 compound file, read with xlrd (>= 2.0 reads only
# these). xlrd is imported only when such a file is read: ``evreview dedup`` and every text
# export start without it.
#
# Size: BIFF is not compressed, so unlike an .xlsx (see textio.check_container) an .xls cannot
# expand much beyond its bytes: xlrd refuses a stream longer than the file, a sheet holds at
# most 65,536 rows of 256 cells, and ``ragged_rows`` keeps a lone far-away cell from padding
# every row to the sheet's width. The driver's MAX_FILE_BYTES bounds the rest.


def _open_xls(data: bytes) -> tuple[Any, io.StringIO]:
    """Open an ``.xls`` workbook with xlrd, and the buffer its warnings went to.

    xlrd writes its warnings (a file cut short, a damaged sector table) to ``logfile``, which is
    stdout by default: they would land in the middle of ``evreview ingest``'s output. Files
    that the "workbook corruption" check rejects but Excel and LibreOffice open (written by
    PHPExcel-like generators: sectors claimed twice) are read; xlrd still never reads a
    stream longer than the file.
    """
    import xlrd

    log = io.StringIO()
    book = xlrd.open_workbook(
        file_contents=data, logfile=log, on_demand=True, ragged_rows=True, ignore_workbook_corruption=True
    )
    return book, log


def _xls_row_texts(sheet: Any, index: int, datemode: int) -> list[str]:
    """Row ``index`` of an xlrd sheet as the texts :func:`cell_text` gives an ``.xlsx``'s cells,
    as many as the sheet is wide.

    BIFF stores every number as a float and a date as a number with a date format, so types
    are turned into what openpyxl returns: a whole float stays a float (``cell_text`` writes
    ``2019.0`` as ``2019``), a date cell a ``datetime`` (an ISO date), a boolean a ``bool``,
    an error cell its ``#N/A``-style text.
    """
    from xlrd import XL_CELL_BOOLEAN, XL_CELL_DATE, XL_CELL_ERROR, error_text_from_code

    out: list[str] = []
    for kind, value in zip(sheet.row_types(index), sheet.row_values(index)):
        if kind == XL_CELL_DATE:
            value = _xls_date(value, datemode)
        elif kind == XL_CELL_BOOLEAN:
            value = bool(value)
        elif kind == XL_CELL_ERROR:
            value = error_text_from_code.get(value, f"#ERR{value}")
        out.append(cell_text(value))
    # ragged_rows keeps xlrd from padding; rows are padded here, as openpyxl gives every row the
    # sheet's width (a short row would otherwise be warned about as "missing trailing fields").
    # An empty row stays empty: it is skipped, and 65,000 of them above one far-off cell
    # (a fuzzer's file) need not become 16 million empty cells.
    if out:
        out.extend([""] * (sheet.ncols - len(out)))
    return out


def _xls_date(value: float, datemode: int) -> dt.datetime | float:
    """A date cell's number as a ``datetime``, or the number itself when it is no date (a date
    format on a negative number, or one past year 9999): its text is then the number, as Excel's."""
    from xlrd.xldate import XLDateError, xldate_as_datetime

    try:
        return xldate_as_datetime(value, datemode)
    except (XLDateError, ValueError, OverflowError):
        return value


def _xls_rows(sheet: Any, datemode: int) -> Iterable[tuple[int, list[str]]]:
    """``(row number, cell texts)`` for every row of an xlrd sheet (1-based, as Excel numbers them)."""
    for index in range(sheet.nrows):
        yield index + 1, _xls_row_texts(sheet, index, datemode)


@lru_cache(maxsize=2)
def _xls_first_rows(data: bytes) -> tuple[tuple[str, ...], ...] | None:
    """The first few non-empty rows of an ``.xls`` workbook's first sheet, or ``None`` if xlrd
    cannot read it (damaged, encrypted, an OLE file that is no workbook: :func:`read_xls_table`
    says which). Cached because every tabular reader's ``sniff`` asks for the same header."""
    try:
        book, _ = _open_xls(data)
    except Exception:  # xlrd raises XLRDError, CompDocError, struct.error, IndexError... on bad input
        return None
    try:
        if book.nsheets == 0:
            return ()
        sheet = book.sheet_by_index(0)
        rows: list[tuple[str, ...]] = []
        for _, cells in _xls_rows(sheet, book.datemode):
            if any(c.strip() for c in cells):
                rows.append(tuple(cells))
                if len(rows) >= 3:
                    break
        return tuple(rows)
    except Exception:
        return None
    finally:
        book.release_resources()


def read_xls_table(data: bytes, path: str) -> Table:
    """Read the first sheet of a legacy ``.xls`` workbook into a :class:`Table`, as
    :func:`read_xlsx_table` reads an ``.xlsx`` (row numbers as lines, other sheets with data
    named in ``notes``); a file xlrd cannot read is one :class:`IngestError` saying why."""
    try:
        book, log = _open_xls(data)
    except Exception as exc:
        raise IngestError(_xls_failure(exc), path=path) from None
    try:
        if book.nsheets == 0:
            raise IngestError("an .xls workbook with no sheets: save the records in it again", path=path)
        sheet = book.sheet_by_index(0)
        table = _sheet_table(_xls_rows(sheet, book.datemode), kind="xls")
        skipped = []
        for index in range(1, book.nsheets):
            other = book.sheet_by_index(index)
            if any(any(c.strip() for c in cells) for _, cells in islice(_xls_rows(other, book.datemode), 21)):
                skipped.append(other.name)
            book.unload_sheet(index)
    except IngestError:
        raise
    except Exception as exc:  # a sheet's records damaged past the workbook's start
        raise IngestError(_xls_failure(exc), path=path) from None
    finally:
        book.release_resources()
    if not table.columns:
        if skipped:
            todo = f"sheet {skipped[0]!r} holds data: only the first sheet is read, so move that sheet first"
        else:
            todo = "put the records there, under a header row"
        raise IngestError(f"an .xls workbook whose first sheet ({sheet.name!r}) holds no table; {todo}", path=path)
    table.notes.extend(_other_sheet_notes(sheet.name, skipped))
    if "not 512 + multiple of sector size" in log.getvalue():
        table.notes.append(
            "the file ends in the middle of a block (cut short by a download?); every row that "
            "could be read was read: download the export again if records are missing"
        )
    return table


def _xls_failure(exc: Exception) -> str:
    """One line saying why an OLE2 file could not be read as an ``.xls`` workbook, and what to do."""
    detail = " ".join(str(exc).split())[:200]
    module = type(exc).__module__
    kind = type(exc).__name__ if module == "builtins" or module.startswith("xlrd") else f"{module}.{type(exc).__name__}"
    if "encrypted" in detail.lower():
        return (
            "a password-protected (encrypted) .xls workbook: open it in Excel, remove the password "
            "and save it as .xlsx or CSV, or export the records again without one"
        )
    if "Can't find workbook in OLE2" in detail:
        return (
            "an Office file that is not an Excel workbook (an OLE2 compound file with no workbook in it: a Word "
            ".doc, an Outlook .msg?): export the records as .xls/.xlsx, CSV or tab-delimited text"
        )
    return (
        f"a damaged .xls workbook, cut short or corrupt ({kind}: {detail or 'no detail'}): download the export "
        "again, or open it in Excel and save it as .xlsx or CSV"
    )


# --------------------------------------------------------------------------- common entry points


def source_header(source: Source) -> list[str] | None:
    """Header cells of a CSV/TSV, XLSX or XLS source (what readers sniff on), or ``None``.

    Found once per source (``Source.memo``): detection asks it of every tabular reader, a
    dozen CSV parses of the same header row (~1 ms of a small ``evreview dedup`` run). Each
    caller gets its own list.
    """
    if "header" not in source.memo:
        if source.text is None:
            rows = workbook_first_rows(source.data)
            source.memo["header"] = list(_drop_trailing_empty(list(rows[0]))) if rows else None
        else:
            found = text_header(source)
            source.memo["header"] = found[0] if found else None
    header = source.memo["header"]
    return None if header is None else list(header)


def load_table(source: Source, *, delimiter: str | None = None, quoting: bool = True) -> Table:
    """The :class:`Table` in ``source``: a workbook's first sheet (.xlsx or .xls), or delimited text."""
    path = display_path(source)
    if source.text is None:
        if is_ole(source.data):
            return read_xls_table(source.data, path)
        if not is_xlsx(source.data):
            raise IngestError(
                "binary file that is not a spreadsheet workbook (.xlsx or .xls): save it as .xlsx or CSV",
                path=path,
            )
        return read_xlsx_table(source.data, path)
    return read_text_table(source.text, delimiter, quoting=quoting)


def display_path(source: Source) -> str:
    """The path to name in messages (the driver's relative form when it gave one)."""
    return str(source.options.get("display_path") or source.path)


# --------------------------------------------------------------------------- field helpers


def first(values: Sequence[str], indices: Sequence[int]) -> str:
    """The first non-blank cell among ``indices`` (columns in preference order), or ``""``.

    Rows reaching a reader are aligned with the header (see :meth:`TableReader.fix_row`), so
    every index is in range; this runs once per field per row, hence the lean body.
    """
    for i in indices:
        value = values[i]
        if value and not value.isspace():
            return value
    return ""


def take(cells: Sequence[str], plan: dict[str, list[int]], *names: str) -> dict[str, str]:
    """``{name: first(cells, plan[name])}`` for the fields whose cell goes into the record as is.

    Most columns of a database's CSV map one to one onto record fields (title, journal,
    volume...); a reader spells out only the ones it transforms.
    """
    return {name: first(cells, plan[name]) for name in names}


def join_pages(start: str, end: str) -> str:
    """``start-end`` from separate page columns (either may be blank)."""
    start, end = start.strip(), end.strip()
    if start and end and start != end:
        return f"{start}-{end}"
    return start or end


def split_on(value: str, separator: str) -> list[str]:
    """Split on one separator, trimming items and dropping blanks."""
    return [item.strip() for item in value.split(separator) if item.strip()]


_OUTSIDE_PARENS_COMMA = re.compile(r",\s*(?![^()]*\))")


def split_commas_outside_parens(value: str) -> list[str]:
    """Split a comma list whose items may hold commas in parentheses (Emtree: ``x (a, b), y``)."""
    return [item.strip() for item in _OUTSIDE_PARENS_COMMA.split(value) if item.strip()]


def split_initials_authors(value: str) -> list[str]:
    """Split ``"Phillips J.C., Braun R., Kalé L."`` (surname, initials, comma between authors).

    In this style (old Scopus CSV, Embase) the comma separates authors and never surname from
    initials, so splitting on commas is exact; a ``;``-separated value is split on ``;``.
    """
    text = value.strip()
    if not text or text.startswith("[No author"):
        return []
    separator = ";" if ";" in text else ","
    return split_on(text, separator)


# --------------------------------------------------------------------------- the reader base

REPEATED_HEADER = "the header row is repeated here (exports joined into one file?); skipped, not a record"


def is_repeated_header(cells: list[str], columns: list[str]) -> bool:
    """True when a data row is the header again: two exports joined into one file (``cat``,
    Excel's copy-paste of a second export, a re-save that appended) repeat it mid-table, and
    read as data it would be a record titled "Title". Compared as :func:`unique_columns`
    makes the header's display names, so blank and repeated header cells match too."""
    return unique_columns(_drop_trailing_empty(cells)) == columns



#: A table with a header and no row below it: 0 records, said aloud (a file whose line breaks
#: were lost, in a copy or a transfer, is one long header line and read as no records at all).
NO_ROWS = (
    "no records: the file is a header line ({width} columns) with nothing below it; if it should hold "
    "records, check that its line breaks survived (a file whose lines were joined reads as one header line)"
)


class TableReader:
    """Sniff/parse loop shared by every tabular reader.

    Subclasses set ``name``, ``database``, ``signature`` (groups of column names; every group
    must have one column present for the reader to claim the file) and implement
    :meth:`record` (cells -> record fields). ``quoting`` is False for formats that never quote.

    ``Problem.index`` is the record's position in the parsed records for warnings (so it joins
    with ``source_index``) and the row's position among the data rows for errors (those rows
    have no record); either way ``Problem.line`` is the row's first physical line.
    """

    name: ClassVar[str] = ""
    priority: ClassVar[int] = 10
    database: ClassVar[str] = ""
    signature: ClassVar[tuple[tuple[str, ...], ...]] = ()
    #: score when every signature group matches
    confidence: ClassVar[float] = 0.95
    #: ``None``: any delimiter (and XLSX); otherwise the one delimiter the format uses
    delimiter: ClassVar[str | None] = None
    quoting: ClassVar[bool] = True

    # -- sniffing
    def sniff(self, source: Source) -> float:
        """Confidence from the header row alone: every signature group must be present."""
        if self.delimiter is not None and source.text is None:
            return 0.0
        header = source_header(source)
        if not header:
            return 0.0
        if self.delimiter is not None and sniff_delimiter(self._header_line(source)) != self.delimiter:
            return 0.0
        return self.score({column_key(c) for c in header})

    @staticmethod
    def _header_line(source: Source) -> str:
        return _first_line(without_sep_line(source.head)[0])[1]

    def score(self, keys: set[str]) -> float:
        """``confidence`` when every signature group has a column in ``keys``, else 0."""
        if not self.signature:
            return 0.0
        for group in self.signature:
            if not any(column_key(name) in keys for name in group):
                return 0.0
        return self.confidence

    # -- parsing
    def load(self, source: Source) -> Table:
        """Read the table (subclasses may check the header here and raise)."""
        return load_table(source, delimiter=self.delimiter, quoting=self.quoting)

    def prepare(self, table: Table, source: Source) -> Any:
        """Resolve column indices once per file; the result is passed to :meth:`record`."""
        return None

    def record(self, cells: list[str], plan: Any) -> dict[str, Any]:
        """Record fields from one row's cells (already aligned with the header)."""
        raise NotImplementedError

    def check(self, fields: dict[str, Any], raw: dict[str, Any]) -> list[str]:
        """Warnings about one parsed record (e.g. a truncated title); none by default."""
        return []

    def fix_row(self, table: Table, row: Row) -> tuple[list[str] | None, str | None, str]:
        """Align a row with the header, or explain why it cannot be.

        Returns ``(cells, message, severity)``: ``cells`` is ``None`` when the row cannot be
        used (``message`` then says why, as an error). Extra *empty* cells at the end (a
        trailing delimiter) are a recognised quirk and dropped quietly; a short row is padded
        and reported as a warning; a row with extra non-empty cells is an error.
        """
        width = len(table.columns)
        cells = row.values
        if len(cells) == width:
            return cells, None, ""
        if len(cells) > width:
            if not any(c.strip() for c in cells[width:]):
                return cells[:width], None, ""
            return None, self.width_message(table, row), "error"
        message = f"row has {len(cells)} fields but the header has {width}; the missing trailing fields were left empty"
        return cells + [""] * (width - len(cells)), message, "warning"

    @staticmethod
    def width_message(table: Table, row: Row) -> str:
        """Why a row with too many fields was not read (with the span of a runaway quote)."""
        message = f"row has {len(row.values)} fields but the header has {len(table.columns)}"
        end = table.span_end.get(row.line)
        if end is not None and end > row.line:
            message += f" (the row runs over lines {row.line}-{end}: an unbalanced quote?)"
        return message + "; row not read"

    def parse(self, source: Source) -> ParseResult:
        """Parse every row: one record per row, a problem for each row that cannot be read.

        The loop runs once per row of files with 100k+ rows, so well-formed rows (the header's
        width, not flagged) skip :meth:`fix_row` and methods are bound to locals.
        """
        table = self.load(source)
        plan = self.prepare(table, source)
        records: list[ParsedRecord] = []
        problems = [Problem(note, severity="warning") for note in table.notes]
        columns = table.columns
        width = len(columns)
        flags = table.flags
        record, fix_row = self.record, self.fix_row
        check = None if type(self).check is TableReader.check else self.check
        first = columns[0] if columns else None
        headers = 0  # repeated header rows so far: not data rows, so not counted in an error's index
        for ordinal, row in enumerate(table.rows):
            cells = row.values
            if cells[0].strip() == first and is_repeated_header(cells, columns):
                problems.append(Problem(f"line {row.line}: {REPEATED_HEADER}", line=row.line, severity="warning"))
                headers += 1
                continue
            if len(cells) != width or (flags and row.line in flags):
                # a stray quote's flag (see _stray_quote) comes first: an error row is not read,
                # a warning joins what fix_row says (readers that override it never see flags)
                flag = flags.get(row.line)
                if flag is not None and flag[1] == "error":
                    fixed, message, severity = None, flag[0], "error"
                elif len(cells) != width:
                    fixed, message, severity = fix_row(table, row)
                else:
                    fixed, message, severity = cells, None, ""
                if flag is not None and flag[1] != "error":
                    message, severity = (f"{flag[0]}; {message}" if message else flag[0]), severity or "warning"
                if fixed is None:
                    problems.append(Problem(f"line {row.line}: {message}", index=ordinal - headers, line=row.line))
                    continue
                cells = fixed
                if message:
                    problems.append(Problem(f"line {row.line}: {message}", len(records), row.line, severity))
            raw = dict(zip(columns, cells))
            if len(cells) > width:  # a repaired row kept an unlabelled cell
                raw.update(self.extra_raw(table, cells))
            fields = record(cells, plan)
            if check is not None:
                for warning in check(fields, raw):
                    problems.append(Problem(f"line {row.line}: {warning}", len(records), row.line, "warning"))
            records.append(ParsedRecord(fields=fields, raw=raw, line=row.line))
        if not table.rows:
            problems.append(Problem(NO_ROWS.format(width=width), line=1, severity="warning"))
        return ParseResult(records=records, problems=problems, database=self.database)

    def extra_raw(self, table: Table, cells: list[str]) -> dict[str, str]:
        """``raw`` entries for cells beyond the header (named by position)."""
        return {f"column_{i + 1}": cells[i] for i in range(len(table.columns), len(cells))}
