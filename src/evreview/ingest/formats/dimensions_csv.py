"""Dimensions (app.dimensions.ai) publication exports as CSV or Excel (.xlsx, or .xls re-saved).

Both the "full record" and the "bibliometric mapping" exports start with one line *above* the
header, ``"About the data: Exported on Dec 04, 2026. Criteria: ... This work is sourced from
Dimensions® at www.dimensions.ai."``; every other table reader takes the first row for the
header, so the file was an unrecognised format (or, in a workbook, a table with one column).
Here that line is skipped (its line numbers kept, so later rows are reported at their real
lines), in text and in the workbook's first sheet alike; a file whose line was deleted by hand
is still recognised by its columns (``Publication ID`` with ``PubYear`` or ``Dimensions URL``).

Column names differ between the two exports and over the years: the journal is ``Source
title`` (with ``Anthology title`` for a chapter's book) or ``Source title/Anthology title``;
``Document Type`` (``Research Article``, ``Review Article``) came beside ``Publication Type``
(``Article``, ``Chapter``, ``Preprint``...). Authors are ``Surname, Given; Surname, Given``. The
record's url is its Dimensions page, as the Dimensions RIS export's ``UR`` is; the ``Publication
ID`` (``pub.1149029839``) is its database id, as the RIS ``AN`` is.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from evreview.ingest.formats._tabular import (
    Table,
    TableReader,
    _drop_trailing_empty,
    blank_first_lines,
    column_key,
    first,
    header_of,
    load_table,
    read_text_table,
    source_header,
    split_on,
    take,
    unique_columns,
    workbook_first_rows,
)
from evreview.ingest.registry import Source, register

DATABASE = "Dimensions"
#: The line Dimensions writes above the header (quoted or not, after a byte-order mark).
PREAMBLE = re.compile(r'\A[\ufeff\s]*"?About the data\b', re.IGNORECASE)
_PUB_ID = re.compile(r"\bpub\.\d+\b")


def preamble_lines(text: str) -> int:
    """How many physical lines the "About the data" line takes at the top of ``text`` (0: none).

    A quoted preamble is read as one CSV cell (a quoted newline in its search criteria would
    otherwise leave half of it to be the header); an unquoted one is its line, whatever quotes
    it holds (``Criteria: "influenza" in title`` must not open a field).
    """
    if not PREAMBLE.match(text[:4096]):
        return 0
    start = len(text) - len(text.lstrip("\ufeff \t\r\n"))
    blank = text.count("\n", 0, start)
    if not text[start:].startswith('"'):
        return blank + 1
    reader = csv.reader(io.StringIO(text[start:], newline=""))
    try:
        next(reader)
    except (StopIteration, csv.Error):
        return blank + 1
    return blank + reader.line_num


def without_preamble(text: str) -> tuple[str, bool]:
    """``text`` with the preamble's lines emptied (line numbers kept), and whether it had one."""
    lines = preamble_lines(text)
    if not lines:
        return text, False
    return blank_first_lines(text, lines), True


def dimensions_header(source: Source) -> tuple[list[str], bool] | None:
    """The header row of a Dimensions export and whether the preamble line was above it.

    Found once per source (``Source.memo``), as :func:`~._tabular.source_header` is; ``None``
    when the source is not a table.
    """
    if "dimensions_header" not in source.memo:
        found: tuple[list[str], bool] | None = None
        if source.text is None:
            rows = workbook_first_rows(source.data)
            if rows and rows[0] and PREAMBLE.match(rows[0][0]) and len(rows) > 1:
                found = (_drop_trailing_empty(list(rows[1])), True)
        else:
            head, had = without_preamble(source.head)
            if had:
                parsed = header_of(head)
                found = (parsed[0], True) if parsed else None
        if found is None:
            header = source_header(source)
            found = (header, False) if header else None
        source.memo["dimensions_header"] = found
    return source.memo["dimensions_header"]


def publication_id(cell: str, url: str) -> str:
    """The record's ``pub.1149029839``: its ``Publication ID`` cell, else read from its Dimensions URL."""
    if cell.strip():
        return cell.strip()
    match = _PUB_ID.search(url)
    return match.group(0) if match else ""


def doc_type(publication_type: str, document_type: str) -> str:
    """One type from Dimensions' two columns: ``Article`` + ``Review Article`` -> ``Article; Review Article``.

    ``Document Type`` says what kind of article an ``Article`` is (a review, an editorial), so it
    is joined to it and the most specific wins when types are normalised. Any other
    ``Publication Type`` (``Preprint``, ``Chapter``, ``Proceeding``) is the type: a review posted
    as a preprint is a preprint, which is what eligibility rules ask. A ``Monograph`` is a book.
    """
    kind = publication_type.strip()
    detail = document_type.strip()
    if kind.lower() == "monograph":
        return "Book"
    if kind and kind.lower() != "article":
        return kind
    if kind and detail and detail.lower() != kind.lower():
        return f"{kind}; {detail}"
    return kind or detail


@register
class DimensionsCsvReader(TableReader):
    """Dimensions publication export (CSV or XLSX, with or without its "About the data" line)."""

    name = "dimensions_csv"
    database = DATABASE
    signature = (("Publication ID",), ("PubYear", "Dimensions URL"), ("Title",))
    #: the preamble line above a header with a ``Title`` column: nothing else writes it
    preamble_confidence = 0.97

    def sniff(self, source: Source) -> float:
        found = dimensions_header(source)
        if found is None:
            return 0.0
        header, had_preamble = found
        keys = {column_key(c) for c in header}
        if had_preamble and column_key("Title") in keys:
            return self.preamble_confidence
        return self.score(keys)

    def load(self, source: Source) -> Table:
        if source.text is not None:
            text, _ = without_preamble(source.text)
            return read_text_table(text)
        table = load_table(source)
        if not (table.columns and PREAMBLE.match(table.columns[0]) and table.rows):
            return table
        header, rows = table.rows[0], table.rows[1:]
        return Table(
            columns=unique_columns(_drop_trailing_empty(list(header.values))),
            rows=rows,
            header_line=header.line,
            delimiter=table.delimiter,
            kind=table.kind,
            notes=table.notes,
        )

    def prepare(self, table: Table, source: Source) -> dict[str, list[int]]:
        ix = table.index
        return {
            "id": ix("Publication ID"),
            "title": ix("Title"),
            "abstract": ix("Abstract"),
            "authors": ix("Authors"),
            "year": ix("PubYear", "Publication Year", "Publication Date"),
            "journal": ix("Source title", "Source title/Anthology title", "Anthology title"),
            "volume": ix("Volume"),
            "issue": ix("Issue"),
            "pages": ix("Pagination"),
            "doi": ix("DOI"),
            "pmid": ix("PMID"),
            "issn": ix("ISSN"),
            "isbn": ix("ISBN"),
            "mesh": ix("MeSH terms"),
            "keywords": ix("Keywords"),
            "publication_type": ix("Publication Type"),
            "document_type": ix("Document Type"),
            "url": ix("Dimensions URL", "Source Linkout"),
        }

    def record(self, cells: list[str], plan: Any) -> dict[str, Any]:
        p: dict[str, list[int]] = plan
        url = first(cells, p["url"])
        return {
            "source_id": publication_id(first(cells, p["id"]), url),
            "source_database": DATABASE,
            **take(cells, p, "title", "abstract", "year", "journal", "volume", "issue", "pages", "doi", "pmid"),
            **take(cells, p, "issn", "isbn"),
            "authors": split_on(first(cells, p["authors"]), ";"),
            "keywords": split_on(first(cells, p["keywords"]), ";") + split_on(first(cells, p["mesh"]), ";"),
            "doc_type": doc_type(first(cells, p["publication_type"]), first(cells, p["document_type"])),
            "url": url,
        }
