"""Embase (embase.com) CSV export: Emtree columns, multi-line quoted fields.

Two column sets exist. The short one (the asreview demo file) has no volume, pages or DOI
columns: the citation is in ``Source`` (``"Cancer (2004) 102:4 (253-258). Date of
Publication: 25 Aug 2004"``) and the DOI, ISSN, volume, issue and pages are in the ``Open URL
Link`` query string (``...&id=doi:10.1002%2Fcncr.20369&volume=102&issue=4&spage=253...``).
The full one has them as columns (``Source title``, ``Volume``, ``First Page``, ``DOI``,
``Embase Accession ID``, ``Medline PMID``, ...). Columns win; the parsed ``Source`` and the
OpenURL fill what they lack.

Authors are ``"Liu R., Adler D.G."`` (comma between authors only). Emtree terms are comma
lists whose items may hold commas in parentheses (``"cyst (diagnosis, surgery)"``); keywords
are author keywords, then the Emtree drug and medical terms.

Embase.com writes the search above the header: ``"SEARCH QUERY","dinosaur:ti"``, a line of
dashes and a blank line (re-saved by Excel: ``SEARCH QUERY;dinosaur:ti;;;...``, ``-----;;;...``
and ``;;;...``). Every table reader took that first line for the header, so the export was "no
title column recognised ... columns found: SEARCH QUERY, dinosaur:ti". Those lines are skipped
here (their line numbers kept, so rows are reported at their real lines).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from evreview.ingest.formats._tabular import (
    Table,
    TableReader,
    blank_first_lines,
    column_key,
    first,
    header_of,
    join_pages,
    read_text_table,
    source_header,
    split_commas_outside_parens,
    split_initials_authors,
    split_on,
)
from evreview.ingest.registry import EMBASE_SEARCH_LINE, Source, register

_SOURCE = re.compile(
    r"^(?P<journal>.+?)\s+\((?P<year>\d{4})\)\s*"
    r"(?P<volume>[^\s:(]+)?(?::(?P<issue>[^\s(]+))?\s*(?:\((?P<pages>[^)]*)\))?"
)


#: The line of dashes that ends it (with the delimiters a spreadsheet re-save pads it with).
_RULE = re.compile(r"^[ \t]*-{3,}[,;\t ]*$", re.MULTILINE)
#: A line of nothing but delimiters (Excel's re-save of the blank line under the dashes).
_EMPTY_ROW = re.compile(r"^[,;\t ]*$")


def without_preamble(text: str) -> tuple[str, bool]:
    """``text`` with Embase's search lines (up to the dashes and the empty rows under them)
    emptied, line numbers kept, and whether it had them. Without the dashes (the search lines
    cut by hand, or not Embase's) the text is returned as it is."""
    if not EMBASE_SEARCH_LINE.match(text[:4096]):
        return text, False
    rule = _RULE.search(text, 0, 65536)
    if rule is None:
        return text, False
    lines = text[: rule.end()].count("\n") + 1
    rest = text[rule.end() :].split("\n")
    # rest[0] is the rule line's own (empty) remainder; then the rows that hold nothing
    skip = 1
    while skip < len(rest) and _EMPTY_ROW.match(rest[skip]):
        skip += 1
    return blank_first_lines(text, lines + skip - 1), True


def embase_header(source: Source) -> list[str] | None:
    """The header row, under the search lines when the export has them (found once per source)."""
    if "embase_header" not in source.memo:
        header = None
        if source.text is not None:
            head, had = without_preamble(source.head)
            if had:
                found = header_of(head)
                header = found[0] if found else None
        source.memo["embase_header"] = header if header is not None else source_header(source)
    header = source.memo["embase_header"]
    return None if header is None else list(header)


def parse_source(value: str) -> dict[str, str]:
    """Journal, year, volume, issue and pages from Embase's ``Source`` citation text."""
    match = _SOURCE.match(value.strip())
    if not match:
        return {}
    return {k: (v or "").strip().rstrip(".") for k, v in match.groupdict().items()}


def parse_openurl(value: str) -> dict[str, str]:
    """The first value of each OpenURL query parameter (``doi`` from ``id=doi:...``)."""
    if not value.strip():
        return {}
    try:
        query = parse_qs(urlsplit(value.strip()).query)
    except ValueError:
        return {}
    out = {key: values[0] for key, values in query.items() if values}
    ident = out.get("id", "")
    if ident.lower().startswith("doi:"):
        out["doi"] = ident[4:]
    return out


def embase_keywords(cells: list[str], emtree: list[list[int]], author: list[int]) -> list[str]:
    """Author keywords (``;`` or comma list) followed by the Emtree terms of each column."""
    own = first(cells, author)
    words = split_on(own, ";") if ";" in own else split_commas_outside_parens(own)
    for columns in emtree:
        words.extend(split_commas_outside_parens(first(cells, columns)))
    return words


@register
class EmbaseCsvReader(TableReader):
    """Embase.com CSV (short or full column selection)."""

    name = "embase_csv"
    database = "Embase"
    signature = (
        ("Title",),
        (
            "Emtree Drug Index Terms",
            "Emtree Medical Index Terms",
            "Emtree Drug Index Terms (Major Focus)",
            "Emtree Medical Index Terms (Major Focus)",
            "Embase Accession ID",
            "Embase Accession Number",
        ),
    )

    def sniff(self, source: Source) -> float:
        header = embase_header(source)
        return self.score({column_key(c) for c in header}) if header else 0.0

    def load(self, source: Source) -> Table:
        if source.text is not None:
            text, had = without_preamble(source.text)
            if had:
                return read_text_table(text)
        return super().load(source)

    def prepare(self, table: Table, source: Source) -> dict[str, Any]:
        ix = table.index
        return {
            "title": ix("Title"),
            "original_title": ix("Original Title"),
            "abstract": ix("Abstract", "Original Abstract"),
            "authors": ix("Author Names", "Authors"),
            "source": ix("Source"),
            "journal": ix("Source title", "Source Title"),
            "year": ix("Publication Year"),
            "date": ix("Date of Publication"),
            "volume": ix("Volume"),
            "issue": ix("Issue"),
            "start": ix("First Page"),
            "end": ix("Last Page"),
            "doi": ix("DOI"),
            "issn": ix("ISSN"),
            "isbn": ix("ISBN"),
            "pmid": ix("Medline PMID", "PMID"),
            "id": ix("Embase Accession ID", "Embase Accession Number", "PUI"),
            "language": ix("Language of Article", "Language"),
            "type": ix("Publication Type", "Document Type"),
            "url": ix("Full Text Link", "Embase Link", "Open URL Link"),
            "openurl": ix("Open URL Link"),
            "author_keywords": ix("Author Keywords", "keywords"),
            "emtree": [
                ix("Emtree Drug Index Terms (Major Focus)"),
                ix("Emtree Drug Index Terms"),
                ix("Emtree Medical Index Terms (Major Focus)"),
                ix("Emtree Medical Index Terms"),
            ],
        }

    def record(self, cells: list[str], plan: Any) -> dict[str, Any]:
        p: dict[str, Any] = plan
        cited = parse_source(first(cells, p["source"]))
        openurl = parse_openurl(first(cells, p["openurl"]))
        pages = join_pages(first(cells, p["start"]), first(cells, p["end"]))
        pages = pages or cited.get("pages", "") or join_pages(openurl.get("spage", ""), openurl.get("epage", ""))
        return {
            "source_id": first(cells, p["id"]),
            "source_database": "Embase",
            "title": first(cells, p["title"]) or first(cells, p["original_title"]),
            "abstract": first(cells, p["abstract"]),
            "authors": split_initials_authors(first(cells, p["authors"])),
            "year": first(cells, p["year"]) or cited.get("year", "") or first(cells, p["date"]),
            "journal": first(cells, p["journal"]) or cited.get("journal", "") or openurl.get("title", ""),
            "volume": first(cells, p["volume"]) or cited.get("volume", "") or openurl.get("volume", ""),
            "issue": first(cells, p["issue"]) or cited.get("issue", "") or openurl.get("issue", ""),
            "pages": pages,
            "doi": first(cells, p["doi"]) or openurl.get("doi", ""),
            "issn": first(cells, p["issn"]) or openurl.get("issn", ""),
            "isbn": first(cells, p["isbn"]) or openurl.get("isbn", ""),
            "pmid": first(cells, p["pmid"]),
            "language": first(cells, p["language"]),
            "doc_type": first(cells, p["type"]),
            "url": first(cells, p["url"]),
            "keywords": embase_keywords(cells, p["emtree"], p["author_keywords"]),
        }
