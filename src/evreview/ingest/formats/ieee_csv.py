"""IEEE Xplore search-results CSV (``"Document Title",Authors,"Author Affiliations",...``).

Without its own reader the file went through the generic table reader, which found the
title but no database, so PRISMA counted its records under "unknown database". The
export names its columns unlike any other (``Document Title``, ``Publication Title``,
``Start Page``/``End Page``, ``IEEE Terms``) and ends with ``Document Identifier``, IEEE's
content type (``IEEE Journals``, ``IEEE Conferences``, ``IEEE Magazines``, ``IEEE Early
Access Articles``, ``IEEE Standards``, ``Wiley-IEEE Press eBook Chapters``...), which is
mapped to a word the shared document-type vocabulary knows.

Multi-valued cells use ``"; "`` (authors, keywords, terms). An author may type a comma list
into ``Author Keywords`` (``"GPGPU computing, CUDA kernels"``); such a cell, with no ``;``
in it, is split on commas. Keywords are the author keywords, then IEEE's controlled terms.
The export has no accession column: the record's own id is the ``arnumber`` of its PDF link.
"""

from __future__ import annotations

import re
from typing import Any

from evreview.ingest.formats._tabular import Table, TableReader, first, join_pages, split_on, take
from evreview.ingest.registry import Source, register

DATABASE = "IEEE Xplore"

#: ``Document Identifier`` values (lower-cased substrings) -> a type the shared vocabulary maps;
#: first match wins, so "eBook Chapters" is a chapter before "book" would make it a book.
_CONTENT_TYPES: tuple[tuple[str, str], ...] = (
    ("conference", "Conference Paper"),
    ("chapter", "Book Chapter"),
    ("book", "Book"),
    ("journal", "Journal Article"),
    ("magazine", "Journal Article"),
    ("early access", "Journal Article"),
    ("standard", "Standard"),
    ("course", "Course"),
)
_ARNUMBER = re.compile(r"[?&]arnumber=(\d+)")


def ieee_doc_type(identifier: str) -> str:
    """A type for ``Document Identifier`` ("IEEE Conferences" -> "Conference Paper"), else it as written."""
    text = identifier.strip().lower()
    for needle, kind in _CONTENT_TYPES:
        if needle in text:
            return kind
    return identifier.strip()


def split_terms(value: str) -> list[str]:
    """A ``;`` list, or a comma list when the cell has no ``;`` (an author's own keyword style)."""
    return split_on(value, ";" if ";" in value else ",")


@register
class IeeeCsvReader(TableReader):
    """IEEE Xplore's "Export > Search results > CSV"."""

    name = "ieee_csv"
    database = DATABASE
    #: ``Document Title`` alone is a generic alias; IEEE's own columns make the file IEEE's
    signature = (("Document Title",), ("IEEE Terms", "Document Identifier", "INSPEC Controlled Terms"))

    def prepare(self, table: Table, source: Source) -> dict[str, list[int]]:
        ix = table.index
        return {
            "title": ix("Document Title"),
            "authors": ix("Authors"),
            "journal": ix("Publication Title"),
            "year": ix("Publication Year", "Online Date", "Issue Date"),
            "volume": ix("Volume"),
            "issue": ix("Issue"),
            "start": ix("Start Page"),
            "end": ix("End Page"),
            "abstract": ix("Abstract"),
            "issn": ix("ISSN"),
            "isbn": ix("ISBNs", "ISBN"),
            "doi": ix("DOI"),
            "url": ix("PDF Link"),
            "author_keywords": ix("Author Keywords"),
            "terms": ix("IEEE Terms"),
            "mesh": ix("Mesh_Terms", "MeSH Terms"),
            "type": ix("Document Identifier"),
        }

    def record(self, cells: list[str], plan: Any) -> dict[str, Any]:
        p: dict[str, list[int]] = plan
        url = first(cells, p["url"]).strip()
        arnumber = _ARNUMBER.search(url)
        keywords = split_terms(first(cells, p["author_keywords"]))
        keywords += split_on(first(cells, p["terms"]), ";") + split_on(first(cells, p["mesh"]), ";")
        return {
            "source_id": arnumber.group(1) if arnumber else "",
            "source_database": DATABASE,
            **take(cells, p, "title", "abstract", "year", "journal", "volume", "issue", "doi", "issn", "isbn"),
            "authors": split_on(first(cells, p["authors"]), ";"),
            "pages": join_pages(first(cells, p["start"]), first(cells, p["end"])),
            "keywords": keywords,
            "doc_type": ieee_doc_type(first(cells, p["type"])),
            "url": url,
        }
