"""RefWorks' tab-delimited layout (``Reference Type``, ``Authors, Primary``, ``Title Primary``, ...),
as Citavi exports it ("RefWorks tab-delimited").

Read by the generic table reader the file was "no title column recognised" (``Title Primary``
is no title column name it knows). The layout is RefWorks' own field list: ``Periodical Full``
(else ``Periodical Abbrev``) is the journal, ``Pub Year`` the year, ``Start Page`` and ``Other
Pages`` the first and last page, ``ISSN/ISBN`` one cell for either.

Authors are ``Surname,Given;Surname, Given`` with no space after a surname's comma, and Citavi
writes a missing given name as ``null`` (``van den Hoven,null``; Mendeley's RIS of the same
records has ``van den Hoven, null``): that ``null`` is dropped, and a second comma inside the given
names (``van Dijk,Joris,D.``) is a space. Empty cells are a single space. The database is the
``Database`` or ``Data Source`` cell, else named from the record's links as the RIS reader names
a record re-exported without ``DB`` (``lens.org`` -> "The Lens"), so that the RIS and the
tab-delimited export of one Citavi project agree.
"""

from __future__ import annotations

from typing import Any

from evreview.ingest.formats._tabular import Table, TableReader, first, join_pages, split_on, take
from evreview.ingest.formats.ris import classify_sn, link_database
from evreview.ingest.registry import Source, register

#: Record field -> RefWorks' column(s), in preference order.
COLUMNS: dict[str, tuple[str, ...]] = {
    "title": ("Title Primary",), "authors": ("Authors, Primary",), "journal": ("Periodical Full", "Periodical Abbrev"),
    "year": ("Pub Year",), "volume": ("Volume",), "issue": ("Issue",), "start": ("Start Page",),
    "end": ("Other Pages",), "keywords": ("Keywords",), "abstract": ("Abstract",), "sn": ("ISSN/ISBN",),
    "accession": ("Accession Number",), "reference_id": ("Reference Id",), "language": ("Language",),
    "links": ("URL", "Links"), "doi": ("DOI",), "pmid": ("PMID",), "database": ("Database", "Data Source"),
    "doc_type": ("Reference Type",),
}  # fmt: skip


def refworks_author(value: str) -> str:
    """``van den Hoven,null`` -> ``van den Hoven``; ``van Dijk,Joris,D.`` -> ``van Dijk, Joris D.``."""
    surname, _, given = value.partition(",")
    parts = [part.strip() for part in given.split(",") if part.strip() and part.strip().lower() != "null"]
    return f"{surname.strip()}, {' '.join(parts)}" if parts else surname.strip()


@register
class RefWorksTabReader(TableReader):
    """RefWorks tab-delimited references (Citavi's export)."""

    name = "refworks_tab"
    delimiter = "\t"
    signature = (("Title Primary",), ("Authors, Primary",), ("Reference Type", "Periodical Full"))

    def prepare(self, table: Table, source: Source) -> dict[str, list[int]]:
        return {field: table.index(*columns) for field, columns in COLUMNS.items()}

    def record(self, cells: list[str], plan: Any) -> dict[str, Any]:
        p: dict[str, list[int]] = plan
        links = first(cells, p["links"])
        issn, isbn = classify_sn((first(cells, p["sn"]),))
        return {
            "source_id": (first(cells, p["accession"]) or first(cells, p["reference_id"])).strip(),
            "source_database": first(cells, p["database"]).strip() or link_database(links),
            **take(cells, p, "title", "abstract", "journal", "year", "volume", "issue", "doi", "pmid"),
            **take(cells, p, "language", "doc_type"),
            "authors": [refworks_author(name) for name in split_on(first(cells, p["authors"]), ";")],
            "pages": join_pages(first(cells, p["start"]), first(cells, p["end"])),
            "keywords": split_on(first(cells, p["keywords"]), ";"),
            "issn": issn,
            "isbn": isbn,
            "url": links.split()[0] if links.split() else "",
        }
