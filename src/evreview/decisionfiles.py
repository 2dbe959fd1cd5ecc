"""Reading the reviewers' decision CSVs (screening, duplicates, codes) the same forgiving way.

Reviewers keep these files in Excel, LibreOffice or a text editor, so the reader accepts what
those save without changing meaning: a UTF-8 BOM, CRLF line ends, header names in any case
or with spaces around them, empty rows (Excel writes ``,,,,`` for a row it once touched) and
empty cells beyond the last column. What would change meaning is refused with one line naming
the file and line: text that is not UTF-8 (where it breaks), a header without the required
columns (saying so when the file is separated by ``;`` or tabs, as Excel saves "CSV" in many
locales), a column named twice, a row with more or fewer cells than the header.

The file is never rewritten here: these are the reviewers' own records.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from evreview.errors import ConfigError

#: Row = (1-based file line where the row starts, {column: stripped cell}).
Row = tuple[int, dict[str, str]]


def reviewer_key(name: str) -> str:
    """Who a reviewer name is, whatever its case: "Ann" and "ann" are one reviewer.

    The same person types their name differently across sessions and tools; as two
    reviewers, one person disagreed with themself (screening conflicts, the kappa, the
    ``overruled`` column of duplicate decisions). Every decision file compares names by this.
    """
    return name.casefold()


def read_text(path: str | Path) -> str:
    """A decision file's text (UTF-8, BOM allowed); not UTF-8 is an error naming the line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:  # a folder, no permission
        raise ConfigError(f"cannot read the file: {exc.strerror}", path=path) from None
    return decode_text(data, path)


def decode_text(data: bytes, path: str | Path) -> str:
    """``data`` of the file at ``path`` as text (UTF-8, BOM allowed), or an error naming the line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save it as 'CSV UTF-8' "
            "(Excel) or with UTF-8 encoding",
            path=path,
            line=line,
        ) from None


def read_rows(path: str | Path, columns: Sequence[str]) -> tuple[list[str], list[Row]]:
    """(header, rows) of the decision file at ``path``; see :func:`parse_rows`."""
    return parse_rows(read_text(path), columns, path)


def _delimiter_hint(cells: list[str], columns: Sequence[str]) -> str:
    """Why the required columns seem missing when the header holds them split by ``;`` or tab."""
    joined = ",".join(cells)
    for sep, name in ((";", "semicolons"), ("\t", "tabs")):
        names = {c.strip().strip('"').lower() for c in joined.replace(",", sep).split(sep)}
        if sep in joined and all(c in names for c in columns):
            return (f"the columns are separated by {name}, not commas: save it as 'CSV UTF-8 "
                    "(Comma delimited)' or with ',' as the separator")
    return ""


def parse_rows(text: str, columns: Sequence[str], path: str | Path = "<decisions>") -> tuple[list[str], list[Row]]:
    """Parse decision CSV text: the normalised header and every non-empty row with its line.

    The header is the first non-empty row, its names stripped and lower-cased; each of
    ``columns`` must be in it, and no name twice. A row's cells are stripped; empty rows are
    skipped; empty cells beyond the header are dropped. No header means no rows.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[Row] = []
    start = 1
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            cells = [c.strip() for c in record]
            if not any(cells):
                continue
            if header is None:
                header = [c.lower() for c in cells]
                while header and not header[-1]:
                    header.pop()
                missing = [c for c in columns if c not in header]
                if missing:
                    raise ConfigError(
                        _delimiter_hint(record, columns)
                        or f"missing column(s) {', '.join(missing)} in header (expected {', '.join(columns)})",
                        path=path,
                        line=line,
                    )
                twice = sorted({c for c in header if c and header.count(c) > 1})
                if twice:
                    raise ConfigError(f"column(s) {', '.join(twice)} named more than once in header",
                                      path=path, line=line)
                continue
            while len(cells) > len(header) and not cells[-1]:
                cells.pop()
            if len(cells) != len(header):
                if any("\n" in cell for cell in cells):  # the quote ran on over the following lines
                    raise ConfigError('a quote (") opened on this line is never closed: close it, or '
                                      "remove it from the cell", path=path, line=line)
                raise ConfigError(f"expected {len(header)} fields, found {len(cells)}", path=path, line=line)
            rows.append((line, dict(zip(header, cells))))
    except csv.Error as exc:
        raise ConfigError(f"malformed CSV: {exc}", path=path, line=reader.line_num) from None
    return header or [], rows
