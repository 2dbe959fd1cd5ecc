"""Publish or Perish CSV export (``Cites,Authors,Title,Year,Source,Publisher,ArticleURL,CitesURL,GSRank,...``).

Publish or Perish (Harzing) queries Google Scholar and other sources and saves results as CSV
as well as JSON (:mod:`.pop_json`). Read by the generic table reader, the file lost its
database (PRISMA counted it as unknown), its article links and the meaning of its zeros, and
a warning suggested mapping ``CitesPerAuthor`` and ``AuthorCount`` to authors.

- **Source:** the CSV names no source, unlike the JSON's ``uid`` prefix. A Google Scholar
  result that has citations has a ``scholar.google`` link in ``CitesURL``, and one search is
  one source, so such a link in any row names the whole file (an uncited result's empty cell
  too); a file from another source has no such link and is left unnamed (give ``--database``).
- **Columns:** ``Source`` is the venue, not the database.
- **Zeros and dots:** PoP writes ``0`` for an unknown volume, issue or page, as in the JSON.
  A truncated title ends with an ellipsis (a warning, as in the JSON), and so does a truncated
  author list (the ``...`` is no author).
- **Authors:** "AG Meyer, J Smith" (initials first), separated by commas.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from evreview.ingest.formats._tabular import Table, TableReader, first, join_pages, take
from evreview.ingest.formats.pop_json import author_names, is_truncated, pop_number
from evreview.ingest.registry import Source, register

#: Host (its end) of a ``CitesURL`` -> the source PoP queried.
_CITES_HOSTS = (("scholar.google.", "Google Scholar"),)


def source_of(cites_urls: list[str]) -> str:
    """The database a PoP file came from, read from its rows' ``CitesURL`` (``""`` when none says)."""
    for url in cites_urls:
        host = urlsplit(url.strip()).netloc.lower()
        name = next((name for part, name in _CITES_HOSTS if part in host), "")
        if name:
            return name
    return ""


@register
class PublishOrPerishCsvReader(TableReader):
    """Publish or Perish's CSV of results."""

    name = "pop_csv"
    signature = (("GSRank",), ("CitesURL", "CitesPerYear"))

    def prepare(self, table: Table, source: Source) -> dict[str, Any]:
        ix = table.index
        cites = ix("CitesURL")
        plan: dict[str, Any] = {
            "title": ix("Title"),
            "authors": ix("Authors"),
            "year": ix("Year"),
            "journal": ix("Source"),
            "volume": ix("Volume"),
            "issue": ix("Issue"),
            "start": ix("StartPage"),
            "end": ix("EndPage"),
            "doi": ix("DOI"),
            "issn": ix("ISSN"),
            "abstract": ix("Abstract"),
            "type": ix("Type"),
            "url": ix("ArticleURL", "FullTextURL"),
        }
        plan["database"] = source_of([row.values[i] for row in table.rows for i in cites if i < len(row.values)])
        return plan

    def record(self, cells: list[str], plan: Any) -> dict[str, Any]:
        p: dict[str, Any] = plan
        return {
            "source_database": p["database"],
            **take(cells, p, "title", "year", "journal", "doi", "issn", "abstract", "url"),
            "authors": author_names(first(cells, p["authors"])),
            "volume": pop_number(first(cells, p["volume"])),
            "issue": pop_number(first(cells, p["issue"])),
            "pages": join_pages(pop_number(first(cells, p["start"])), pop_number(first(cells, p["end"]))),
            "doc_type": first(cells, p["type"]),
        }

    def check(self, fields: dict[str, Any], raw: dict[str, Any]) -> list[str]:
        """A title Google Scholar cut short weakens deduplication and screening: say so."""
        cut = is_truncated(str(fields.get("title") or ""))
        return ["title truncated by Google Scholar (ends with an ellipsis)"] if cut else []
