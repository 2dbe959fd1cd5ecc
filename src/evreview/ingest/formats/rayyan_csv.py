"""Rayyan's CSV export of a review's articles (``key,title,year,...,notes,doi,keywords,pubmed_id,pmc_id``).

Read by the generic table reader its records had no database (Rayyan's RIS export is named
"Rayyan" by its ``rayyan-`` accession numbers, so one review's two downloads disagreed), and
three of its quirks reached the record table:

* Rayyan writes the RIS lines it failed to split into the cell before them: ``url`` holds
  ``https://www.embase.com/...&from=export     U2  - L2029880245`` and ``doi`` holds
  ``10.1038/s41467-024-48400-3     LK  - https://...``. A url or DOI has no spaces, so each is
  cut at its first run of whitespace (the cell stays whole in ``raw``);
* a record with two ISSNs has them as a JSON list, ``["1932-8494", "1932-8486"]``: the first
  is the ISSN;
* authors are ``Surname, I. and Surname, I.`` (split as the generic table splits such a cell,
  :func:`~.generic_table.split_authors`); keywords are ``;``-separated.

The reviewers' decisions (``notes``: ``RAYYAN-INCLUSION: {"Emily"=>"Included"}``) stay in ``raw``.
"""

from __future__ import annotations

import re
from typing import Any

from evreview.ingest.formats._tabular import Table, TableReader, first, split_on, take
from evreview.ingest.formats.generic_table import split_authors
from evreview.ingest.registry import Source, register

DATABASE = "Rayyan"
_ISSN = re.compile(r"\d{4}-?\d{3}[\dXx]")


def first_token(value: str) -> str:
    """The text before the first whitespace: a url or DOI with Rayyan's glued RIS lines cut off."""
    parts = value.split()
    return parts[0] if parts else ""


def first_issn(value: str) -> str:
    """``["1932-8494", "1932-8486"]`` -> ``1932-8494``; a lone ISSN as it is."""
    text = value.strip()
    if not text.startswith("["):
        return text
    match = _ISSN.search(text)
    return match.group(0) if match else ""


@register
class RayyanCsvReader(TableReader):
    """Rayyan's articles CSV (its review export)."""

    name = "rayyan_csv"
    #: none for the file: each record is Rayyan's by its ``rayyan-`` key (a table written for
    #: Rayyan's import has the same columns and other keys, and must stay "unknown database")
    database = ""
    signature = (("key",), ("title",), ("notes",), ("pubmed_id", "pmc_id"))

    def prepare(self, table: Table, source: Source) -> dict[str, list[int]]:
        ix = table.index
        names = {
            "key": "key",
            "title": "title",
            "abstract": "abstract",
            "authors": "authors",
            "year": "year",
            "journal": "journal",
            "volume": "volume",
            "issue": "issue",
            "pages": "pages",
            "doi": "doi",
            "pmid": "pubmed_id",
            "issn": "issn",
            "keywords": "keywords",
            "language": "language",
            "url": "url",
        }
        return {field: ix(column) for field, column in names.items()}

    def record(self, cells: list[str], plan: Any) -> dict[str, Any]:
        p: dict[str, list[int]] = plan
        key = first(cells, p["key"]).strip()
        return {
            "source_id": key,
            # a table made for Rayyan's import has the same columns, but not its rayyan- keys
            "source_database": DATABASE if key.startswith("rayyan-") else "",
            **take(cells, p, "title", "abstract", "year", "journal", "volume", "issue", "pages", "pmid", "language"),
            "authors": split_authors(first(cells, p["authors"])),
            "doi": first_token(first(cells, p["doi"])),
            "url": first_token(first(cells, p["url"])),
            "issn": first_issn(first(cells, p["issn"])),
            "keywords": split_on(first(cells, p["keywords"]), ";"),
        }
