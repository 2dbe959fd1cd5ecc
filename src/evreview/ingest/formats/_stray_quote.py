"""A CSV field that starts with a quote never meant as one, and swallows the rows after it.

A tool that does not escape writes the title ``"Quoted start of title, rest`` as it is. To a
CSV reader that ``"`` opens a quoted field, which runs on over line ends to the next ``"`` in
the file, or to its end: every row in between becomes part of one cell. Python's csv module
(non-strict) accepts this silently, so a file of 100 rows could read as 3 records and report 3
found: records lost from the count itself.

Only a row that spans several lines can have swallowed rows. :func:`suspect` is the cheap test
the table reader runs on those rows (a real multi-line abstract passes it); :func:`examine`
looks at the row's text and picks one of three readings:

* **recover**: the quoted reading is not well-formed CSV of the header's field count (the
  quote is never closed, the row has the wrong field count, or the quote is closed by a ``"``
  that no delimiter follows), and lines inside the row read as whole rows: most of them, or
  some when the row's first line, read with that quote as a literal character, is whole. The
  reader reads on from the next line, so each swallowed row is its own record; a warning names
  the line of the quote (an error, that row only, when its first line then has too many fields).
* **reject**: the quote is never closed (or closed malformed, in a row of too many fields) and
  the lines do not read as rows: one error naming the line of the quote, the lines it
  swallowed and how many of them read as whole rows (a file cut inside a quoted abstract).
* **flag**: the quoted reading is well-formed CSV with the header's field count, yet lines
  inside the quoted field read as whole rows. Either reading may be right (an abstract whose
  lines happen to hold the right number of commas, or a stray quote closed by chance at the end
  of a later field), so the record is kept as read and a warning asks to check the quote.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

RECOVER, REJECT, FLAG = "recover", "reject", "flag"


@dataclass(slots=True)
class Verdict:
    """What to do with a multi-line row that a stray quote may have made.

    ``cells`` is the row's first line read with the quote as a literal character (recover), and
    ``resume`` the offset in the text of the line after it, where reading goes on.
    """

    action: str
    message: str
    #: of the message: ``"error"`` when the row (as read in the end) is not read
    severity: str
    cells: list[str] | None = None
    resume: int = 0


def whole(cells: list[str], width: int) -> bool:
    """True when ``cells`` fit a header of ``width`` columns (extra cells, if any, are empty)."""
    n = len(cells)
    return n == width or (n > width and not any(c.strip() for c in cells[width:]))


def suspect(cells: list[str], width: int, delimiter: str) -> bool:
    """Cheap test on a row that spans several lines: might a stray quote have swallowed rows?

    A swallowed row is a line holding at least ``width - 1`` delimiters, so the lines after the
    row's first must hold that many between them (counted from the cells: those inside the
    first multi-line cell after its first line break, those inside later cells, and the ones
    between cells). Then the row is suspect when it does not fit the header, or when a line
    inside a multi-line cell holds that many by itself; a line of an abstract seldom does, and
    :func:`examine` tells the two apart. Scopus's multi-line rows with a shifted field end here.
    """
    need = width - 1
    first = next((i for i, cell in enumerate(cells) if "\n" in cell), None)
    if first is None:
        return False
    after = cells[first].split("\n", 1)[1].count(delimiter) + len(cells) - 1 - first
    if after < need and after + sum(cell.count(delimiter) for cell in cells[first + 1 :]) < need:
        return False
    if not whole(cells, width):
        return True
    for cell in cells[first:]:
        if "\n" in cell:
            for piece in cell.split("\n")[1:]:
                if piece.count(delimiter) >= need:
                    return True
    return False


def _open_quote(line: str, delimiter: str) -> tuple[int, int] | None:
    """``(offset, field index)`` of the quote whose field is still open at the end of ``line``.

    Follows the csv module's (non-strict) reading of one line: a ``"`` opens a quoted field only
    at the start of a field, ``""`` inside one is a quote, and a ``"`` followed by anything but a
    delimiter or another ``"`` ends the quoting without ending the field.
    """
    state, index, opened = 0, 0, -1  # state: 0 field start, 1 unquoted, 2 quoted, 3 quote in quoted
    for offset, ch in enumerate(line):
        if state == 2:
            if ch == '"':
                state = 3
        elif state == 3:
            if ch == '"':
                state = 2
            elif ch == delimiter:
                index, state = index + 1, 0
            else:
                state = 1
        elif ch == delimiter:
            index, state = index + 1, 0
        elif state == 0 and ch == '"':
            state, opened = 2, offset
        else:
            state = 1
    return (opened, index) if state == 2 else None


def one_line_row(line: str, delimiter: str) -> list[str] | None:
    """The cells of ``line`` read alone as well-formed CSV, or ``None`` (a quote left open, or
    closed by a ``"`` that no delimiter follows)."""
    try:
        return next(csv.reader([line], delimiter=delimiter, quotechar='"', doublequote=True, strict=True), [])
    except csv.Error:
        return None


def _literal_row(line: str, opened: tuple[int, int], delimiter: str) -> list[str] | None:
    """The cells of ``line`` with the quote at ``opened`` read as a literal character."""
    offset, index = opened
    if line[offset + 1 : offset + 2] == '"':  # '""...' or '"""...': no single quote to take literally
        return None
    cells = one_line_row(line[:offset] + line[offset + 1 :], delimiter)
    if cells is None or index >= len(cells):
        return None
    cells[index] = '"' + cells[index]
    return cells


def _whole_line(line: str, width: int, delimiter: str) -> bool:
    """True when ``line``, read alone, is a whole row of ``width`` fields (the delimiter count
    rules most lines out before any parsing), or is one with a stray quote of its own read as a
    literal character (the next row of a file whose rows open with unescaped quotes)."""
    if line.count(delimiter) < width - 1:
        return False
    row = one_line_row(line, delimiter)
    if row is None:
        opened = _open_quote(line, delimiter)
        row = None if opened is None else _literal_row(line, opened, delimiter)
    return row is not None and whole(row, width)


def closed_by_stray(text: str, stop: int, width: int, delimiter: str) -> bool:
    """Cheap test on a multi-line row that fits the header and passed :func:`suspect`: does its
    last line (ending at offset ``stop``), read alone, hold a whole row's delimiters and leave a
    quote open? Then that line opens with a stray quote of its own, which "closed" the quote of
    the line above (the csv module ends a quoted field at any ``"``): two rows read as one, with
    the header's field count by chance. A multi-line abstract's last line closes its quote."""
    end = stop - 1 if text[stop - 1 : stop] == "\n" else stop
    line = text[text.rfind("\n", 0, end) + 1 : end]
    return line.count(delimiter) >= width - 1 and one_line_row(line, delimiter) is None


def _well_formed(raw: str, delimiter: str) -> bool:
    """True when ``raw`` (one row's lines) is strict CSV: every quoted field closed by a ``"``
    that a delimiter or the line end follows."""
    try:
        for _ in csv.reader(io.StringIO(raw, newline=""), delimiter=delimiter, quotechar='"', strict=True):
            pass
    except csv.Error:
        return False
    return True


def row_start(text: str, stop: int, lines: int) -> int:
    """Offset of the start of the row that ends at ``stop`` (just past its last line's ``\\n``, or
    the end of the text) and occupies ``lines`` lines."""
    pos = stop - 1 if text[stop - 1 : stop] == "\n" else stop
    for _ in range(lines):
        pos = text.rfind("\n", 0, pos)
        if pos < 0:
            return 0
    return pos + 1


def examine(
    text: str,
    stop: int,
    start: int,
    end: int,
    cells: list[str],
    columns: list[str],
    delimiter: str,
) -> Verdict | None:
    """Decide how to read the row of lines ``start``-``end`` (the csv module's ``cells``), which
    ends at offset ``stop`` of ``text``; ``None``: read it as before, nothing to say.

    Runs only for rows :func:`suspect` picks out (and the file's last multi-line row), so its
    cost (the row's text parsed again, its first line scanned) is not paid on healthy files.
    """
    width = len(columns)
    begin = row_start(text, stop, end - start + 1)
    raw = text[begin:stop]
    lines = raw.split("\n")
    if raw.endswith("\n"):
        lines.pop()
    runaway = stop == len(text) and raw.count('"') % 2 == 1
    whole_rows = sum(1 for line in lines[1:] if _whole_line(line, width, delimiter))
    fits = whole(cells, width)
    # the cheap answer first: when no line inside the row reads as a whole row and the quote is
    # closed, nothing was swallowed, and a row of the wrong field count is fix_row's to report
    # (its message names the lines the row spans); Scopus's shifted multi-line rows end here
    if not runaway and not whole_rows:
        return None
    quoting_ok = not runaway and _well_formed(raw, delimiter)
    opened = _open_quote(lines[0], delimiter)
    if opened is None:  # not a quote opened on the first line after all: nothing to say about it
        return None
    name = columns[opened[1]] if opened[1] < width else f"column_{opened[1] + 1}"
    span = f"lines {start}-{end} ({end - start + 1} lines{', to the end of the file' if runaway else ''})"
    literal = _literal_row(lines[0], opened, delimiter)
    mostly = whole_rows > 0 and 2 * whole_rows >= len(lines) - 1
    closed = (
        "is never closed"
        if runaway
        else "is not closed where the field ends"
        if not quoting_ok
        else f"is closed only on line {end}"
    )
    quote = f'the {name!r} field starts with a quote (") that {closed}'
    rows = ""
    if whole_rows:
        read = "reads as a whole row" if whole_rows == 1 else "read as whole rows"
        rows = f", {whole_rows} of which {read} of {width} fields"
    if not (quoting_ok and fits) and literal is not None and whole_rows and (mostly or whole(literal, width)):
        message = (
            f"{quote}: read as CSV it would swallow {span} into one row{rows}, so it was read as a "
            "literal character (a stray quote) and each line as a row of its own"
        )
        severity = "warning"
        if len(literal) > width and not whole(literal, width):
            severity = "error"
            message += (
                f"; this row then has {len(literal)} fields but the header has {width}: not read, fix it and re-run"
            )
        else:  # a short row is padded, and says so
            message += f"; check line {start} (doubling the quote silences this)"
        return Verdict(RECOVER, message, severity, cells=literal, resume=begin + len(lines[0]) + 1)
    if runaway or (not quoting_ok and len(cells) > width and not fits):
        fields = "" if runaway else f" and has {len(cells)} fields but the header has {width}"
        message = (
            f"{quote}: it swallows {span} into one row{rows}{fields}; not read (with the quote read as "
            "a literal character the lines do not read as rows either): fix the quote and re-run"
        )
        return Verdict(REJECT, message, "error")
    if quoting_ok and fits and mostly and whole_rows > 1:  # well-formed CSV: a warning on strong evidence only
        message = (
            f"the {name!r} field is quoted over {span}{rows}: if its opening quote is a stray one, "
            f"never meant to open a quoted field, those are records merged into this one; check "
            f"the quote on line {start}"
        )
        return Verdict(FLAG, message, "warning")
    return None
