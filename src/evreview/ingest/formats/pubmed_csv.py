"""PubMed "Save > CSV" export (``PMID,Title,Authors,Citation,First Author,Journal/Book,...``).

The CSV has no volume/issue/pages columns: they are inside ``Citation``
(``"Behav Ther. 2022 Mar;53(2):334-347. doi: ..."``), which :func:`parse_citation` takes apart
where it follows the NLM pattern ``journal. date;volume(issue):pages.``; when it does not (an
ahead-of-print citation without pages), those fields stay empty and the citation is in ``raw``.
Authors are NLM short names separated by commas (``"Lim SM, Shiau CWC, Lau Y."``).
"""

from __future__ import annotations

import re
from typing import Any

from evreview.ingest.formats._tabular import Table, TableReader, first, split_on
from evreview.ingest.registry import Source, register

_CITATION = re.compile(
    r";\s*(?P<volume>[^\s;:()]+)?\s*(?:\((?P<issue>[^)]*)\))?\s*(?::\s*(?P<pages>[^\s;,]+?))?\.?(?:\s|$)"
)


def parse_citation(citation: str) -> dict[str, str]:
    """Volume, issue and pages from an NLM citation string (empty strings when absent)."""
    match = _CITATION.search(citation or "")
    if not match or not any(match.group(g) for g in ("volume", "issue", "pages")):
        return {"volume": "", "issue": "", "pages": ""}
    return {
        "volume": match.group("volume") or "",
        "issue": (match.group("issue") or "").strip(),
        "pages": (match.group("pages") or "").rstrip("."),
    }


def pubmed_authors(value: str) -> list[str]:
    """``"Lim SM, Shiau CWC, Lau Y."`` -> ``["Lim SM", "Shiau CWC", "Lau Y"]``."""
    return [name.rstrip(".").strip() for name in split_on(value, ",") if name.rstrip(".").strip()]


_SHORT_DETAILS = re.compile(r"^(?P<journal>.*?)\.?\s*(?P<year>\d{4})?\s*$")


@register
class PubmedCsvReader(TableReader):
    """PubMed's CSV download (one row per PMID), current and pre-2020 layouts.

    The pre-2020 layout (``Title,URL,Description,Details,ShortDetails,...,EntrezUID``) has the
    authors in ``Description``, the citation in ``Details`` and ``"Behav Ther. 2022"`` in
    ``ShortDetails``; the DOI is then taken from the citation text.
    """

    name = "pubmed_csv"
    database = "PubMed"
    signature = (("PMID", "EntrezUID"), ("Title",), ("Citation", "Details"), ("Journal/Book", "ShortDetails"))

    def prepare(self, table: Table, source: Source) -> dict[str, list[int]]:
        ix = table.index
        return {
            "pmid": ix("PMID", "EntrezUID"),
            "title": ix("Title"),
            "authors": ix("Authors", "Description"),
            "citation": ix("Citation", "Details"),
            "journal": ix("Journal/Book"),
            "short": ix("ShortDetails"),
            "year": ix("Publication Year", "Create Date"),
            "doi": ix("DOI"),
        }

    def record(self, cells: list[str], plan: Any) -> dict[str, Any]:
        p: dict[str, list[int]] = plan
        pmid = first(cells, p["pmid"]).strip()
        citation_text = first(cells, p["citation"])
        short = _SHORT_DETAILS.match(first(cells, p["short"]).strip())
        journal = first(cells, p["journal"]) or (short.group("journal") if short else "")
        year = first(cells, p["year"]) or (short.group("year") or "" if short else "")
        return {
            "source_id": pmid,
            "source_database": "PubMed",
            "pmid": pmid,
            "title": first(cells, p["title"]),
            "authors": pubmed_authors(first(cells, p["authors"])),
            "journal": journal,
            "year": year,
            "doi": first(cells, p["doi"]) or citation_text,
            **parse_citation(citation_text),
        }
