"""Lens.org scholarly works CSV export (``"Lens ID","Title","Date Published",...``).

Multi-valued cells use ``"; "`` (authors, ISSNs, keywords, MeSH terms); ``Source URLs`` is a
space-separated list, so the record's url is the ``External URL`` (a DOI link) or the first
source URL. Keywords are the author keywords followed by the MeSH terms.
"""

from __future__ import annotations

from typing import Any

from evreview.ingest.formats._tabular import Table, TableReader, first, join_pages, split_on, take
from evreview.ingest.registry import Source, register


@register
class LensCsvReader(TableReader):
    """The Lens scholarly search CSV."""

    name = "lens_csv"
    database = "The Lens"
    signature = (("Lens ID",), ("Title",))

    def prepare(self, table: Table, source: Source) -> dict[str, list[int]]:
        ix = table.index
        return {
            "id": ix("Lens ID"),
            "title": ix("Title"),
            "abstract": ix("Abstract"),
            "authors": ix("Author/s", "Authors"),
            "year": ix("Publication Year", "Date Published"),
            "journal": ix("Source Title"),
            "volume": ix("Volume"),
            "issue": ix("Issue Number", "Issue"),
            "start": ix("Start Page"),
            "end": ix("End Page"),
            "doi": ix("DOI"),
            "pmid": ix("PMID"),
            "issn": ix("ISSNs", "ISSN"),
            "isbn": ix("ISBNs", "ISBN"),
            "keywords": ix("Keywords"),
            "mesh": ix("MeSH Terms"),
            "type": ix("Publication Type"),
            "url": ix("External URL"),
            "urls": ix("Source URLs"),
            "language": ix("Language", "Languages"),
        }

    def record(self, cells: list[str], plan: Any) -> dict[str, Any]:
        p: dict[str, list[int]] = plan
        url = first(cells, p["url"]).strip() or (first(cells, p["urls"]).split() or [""])[0]
        return {
            "source_id": first(cells, p["id"]),
            "source_database": "The Lens",
            **take(cells, p, "title", "abstract", "year", "journal", "volume", "issue", "doi", "pmid", "issn", "isbn"),
            "authors": split_on(first(cells, p["authors"]), ";"),
            "pages": join_pages(first(cells, p["start"]), first(cells, p["end"])),
            "keywords": split_on(first(cells, p["keywords"]), ";") + split_on(first(cells, p["mesh"]), ";"),
            "doc_type": first(cells, p["type"]),
            "language": first(cells, p["language"]),
            "url": url,
        }
