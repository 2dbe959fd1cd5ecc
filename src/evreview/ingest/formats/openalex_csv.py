"""OpenAlex works CSV (web UI download): dotted column names, ``|``-separated multi-values.

Ids are URLs (``https://openalex.org/W2755950973``): the record's ``source_id`` is the short
work id (``W2755950973``), the full URL stays in ``raw``. The DOI is a ``https://doi.org/``
URL and the PubMed id a ``pubmed.ncbi.nlm.nih.gov`` URL; both are reduced to the bare id.
Older and newer downloads differ in which columns they carry (``title`` or ``display_name``,
``biblio.*`` pages, ``keywords.display_name``), so each field accepts the known variants.
"""

from __future__ import annotations

import re
from typing import Any

from evreview.ingest.formats._tabular import Table, TableReader, first, join_pages, split_on, take
from evreview.ingest.registry import Source, register

_WORK_ID = re.compile(r"(?:https?://openalex\.org/)?([WwAaSsIi]\d+)\s*$")
_TRAILING_DIGITS = re.compile(r"(\d+)/?\s*$")


def short_openalex_id(value: str) -> str:
    """``https://openalex.org/W123`` -> ``W123`` (other text unchanged)."""
    match = _WORK_ID.search(value.strip())
    return match.group(1).upper() if match else value.strip()


def pmid_from_url(value: str) -> str:
    """``https://pubmed.ncbi.nlm.nih.gov/35434524`` -> ``35434524``."""
    match = _TRAILING_DIGITS.search(value.strip())
    return match.group(1) if match else ""


@register
class OpenAlexCsvReader(TableReader):
    """OpenAlex's CSV of works."""

    name = "openalex_csv"
    database = "OpenAlex"
    signature = (
        ("id",),
        ("display_name", "title"),
        ("authorships.author.display_name", "primary_location.source.display_name", "publication_year"),
        ("authorships.author.display_name", "authorships.author.id", "primary_location.source.id"),
    )

    def prepare(self, table: Table, source: Source) -> dict[str, list[int]]:
        ix = table.index
        return {
            "id": ix("id"),
            "title": ix("title", "display_name"),
            "abstract": ix("abstract"),
            "authors": ix("authorships.author.display_name"),
            "year": ix("publication_year", "publication_date"),
            "journal": ix("primary_location.source.display_name", "host_venue.display_name"),
            "volume": ix("biblio.volume"),
            "issue": ix("biblio.issue"),
            "start": ix("biblio.first_page"),
            "end": ix("biblio.last_page"),
            "doi": ix("doi", "ids.doi"),
            "pmid": ix("ids.pmid"),
            "issn": ix("primary_location.source.issn_l", "primary_location.source.issn"),
            "keywords": ix("keywords.display_name", "concepts.display_name"),
            "language": ix("language"),
            "type": ix("type", "type_crossref"),
            "url": ix("primary_location.landing_page_url", "doi"),
        }

    def record(self, cells: list[str], plan: Any) -> dict[str, Any]:
        p: dict[str, list[int]] = plan
        return {
            "source_id": short_openalex_id(first(cells, p["id"])),
            "source_database": "OpenAlex",
            **take(cells, p, "title", "abstract", "year", "journal", "volume", "issue", "doi"),
            "authors": split_on(first(cells, p["authors"]), "|"),
            "pages": join_pages(first(cells, p["start"]), first(cells, p["end"])),
            "pmid": pmid_from_url(first(cells, p["pmid"])),
            "issn": first(cells, p["issn"]).split("|")[0],
            "keywords": split_on(first(cells, p["keywords"]), "|"),
            "language": first(cells, p["language"]),
            "doc_type": first(cells, p["type"]),
            "url": first(cells, p["url"]),
        }
