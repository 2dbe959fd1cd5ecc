"""Scopus CSV export, old layout (``Authors,Author(s) ID,Title,...``) and new (``Author full names``).

The quirk that breaks ``pandas.read_csv`` on real Scopus files: when a record has a second
funding text, Scopus writes it as an extra, unlabelled field right after ``Funding Text 1``,
so the row has one more field than the header and every later column (References, ISSN,
PubMed ID, Language, Document Type, EID...) is shifted by one. We detect such rows (extra
fields, and the last field is the EID, ``2-s2.0-...``), move the extra funding text(s) to the
end of the row under their own ``Funding Text N`` name in ``raw``, and read the rest normally.

Authors: the old layout separates authors with ``", "`` (``"Phillips J.C., Braun R."``: never a
comma between surname and initials); the new one uses ``"; "`` and adds ``Author full names``
(``"Phillips, James C. (57202138757); ..."``), which we prefer, minus the Scopus author ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from evreview.ingest.formats._tabular import Row, Table, TableReader, first, join_pages, split_initials_authors
from evreview.ingest.registry import Source, register

_EID = re.compile(r"^\s*2-s2\.0-\d+\s*$")
_AUTHOR_ID = re.compile(r"\s*\(\d+\)\s*$")
#: Scopus's placeholders for missing values: the export's own text stays in ``raw``.
_PLACEHOLDERS = ("[No abstract available]", "[No author name available]", "[No title available]")


@dataclass
class _Plan:
    title: list[int]
    abstract: list[int]
    full_names: list[int]
    authors: list[int]
    year: list[int]
    journal: list[int]
    volume: list[int]
    issue: list[int]
    art_no: list[int]
    page_start: list[int]
    page_end: list[int]
    doi: list[int]
    link: list[int]
    issn: list[int]
    isbn: list[int]
    pmid: list[int]
    author_keywords: list[int]
    index_keywords: list[int]
    language: list[int]
    doc_type: list[int]
    eid: list[int]


def _value(cells: list[str], indices: list[int]) -> str:
    value = first(cells, indices).strip()
    return "" if value in _PLACEHOLDERS else value


def full_name_authors(value: str) -> list[str]:
    """``"Phillips, James C. (57202138757); Braun, R. (7402220509)"`` -> names without ids."""
    return [_AUTHOR_ID.sub("", part).strip() for part in value.split(";") if part.strip()]


@register
class ScopusCsvReader(TableReader):
    """Scopus "CSV export" (any field selection that keeps Title, Source title and EID)."""

    name = "scopus_csv"
    database = "Scopus"
    signature = (("EID",), ("Title",), ("Source title",), ("Authors", "Author full names", "Author(s) ID"))

    def prepare(self, table: Table, source: Source) -> _Plan:
        ix = table.index
        return _Plan(
            title=ix("Title"),
            abstract=ix("Abstract"),
            full_names=ix("Author full names"),
            authors=ix("Authors"),
            year=ix("Year"),
            journal=ix("Source title"),
            volume=ix("Volume"),
            issue=ix("Issue"),
            art_no=ix("Art. No."),
            page_start=ix("Page start"),
            page_end=ix("Page end"),
            doi=ix("DOI"),
            link=ix("Link"),
            issn=ix("ISSN"),
            isbn=ix("ISBN"),
            pmid=ix("PubMed ID"),
            author_keywords=ix("Author Keywords"),
            index_keywords=ix("Index Keywords"),
            language=ix("Language of Original Document"),
            doc_type=ix("Document Type"),
            eid=ix("EID"),
        )

    def record(self, cells: list[str], plan: Any) -> dict[str, Any]:
        p: _Plan = plan
        full = _value(cells, p.full_names)
        authors = full_name_authors(full) if full else split_initials_authors(_value(cells, p.authors))
        pages = join_pages(first(cells, p.page_start), first(cells, p.page_end)) or first(cells, p.art_no)
        keywords = [
            k.strip()
            for col in (p.author_keywords, p.index_keywords)
            for k in first(cells, col).split(";")
            if k.strip()
        ]
        return {
            "source_id": first(cells, p.eid),
            "source_database": "Scopus",
            "title": _value(cells, p.title),
            "abstract": _value(cells, p.abstract),
            "authors": authors,
            "year": first(cells, p.year),
            "journal": first(cells, p.journal),
            "volume": first(cells, p.volume),
            "issue": first(cells, p.issue),
            "pages": pages,
            "doi": first(cells, p.doi),
            "url": first(cells, p.link),
            "issn": first(cells, p.issn),
            "isbn": first(cells, p.isbn),
            "pmid": first(cells, p.pmid),
            "keywords": keywords,
            "language": first(cells, p.language),
            "doc_type": first(cells, p.doc_type),
        }

    def fix_row(self, table: Table, row: Row) -> tuple[list[str] | None, str | None, str]:
        """Realign rows carrying unlabelled extra funding texts (see the module docstring)."""
        width = len(table.columns)
        cells = row.values
        extra = len(cells) - width
        if extra > 0 and any(c.strip() for c in cells[width:]):
            realigned = shift_funding_texts(table, cells)
            if realigned is not None:
                return realigned, None, ""
            fixed, message, severity = super().fix_row(table, row)
            note = "; moving the extra field(s) to the funding text does not put an EID in the EID column"
            return fixed, (message or "") + note, severity
        return super().fix_row(table, row)

    def extra_raw(self, table: Table, cells: list[str]) -> dict[str, str]:
        """Name the moved extra cells ``Funding Text N`` after the header's last funding column."""
        last = _last_funding_text(table)
        base = 1
        if last is not None:
            match = re.search(r"(\d+)\s*$", table.columns[last])
            base = int(match.group(1)) if match else 1
        return {f"Funding Text {base + k + 1}": cells[i] for k, i in enumerate(range(len(table.columns), len(cells)))}


def _last_funding_text(table: Table) -> int | None:
    """Index of the header's last ``Funding Text...`` column, if any (computed once per file)."""
    if "last_funding_text" not in table.meta:
        found = [i for i, key in enumerate(table.keys) if key.startswith("fundingtext")]
        table.meta["last_funding_text"] = found[-1] if found else None
    return table.meta["last_funding_text"]


def shift_funding_texts(table: Table, cells: list[str]) -> list[str] | None:
    """Header-aligned cells with the extra funding texts moved to the end, or ``None``.

    The repair is only made when it is provably right: the header has a funding text column and
    an EID column, and after moving the extra cells the EID column holds an EID.
    """
    extra = len(cells) - len(table.columns)
    last = _last_funding_text(table)
    if "eid" not in table.meta:
        table.meta["eid"] = (table.index("EID") or [None])[0]
    eid = table.meta["eid"]
    if last is None or eid is None:
        return None
    cut = last + 1
    realigned = cells[:cut] + cells[cut + extra :] + cells[cut : cut + extra]
    if not _EID.match(realigned[eid]):
        return None
    return realigned
