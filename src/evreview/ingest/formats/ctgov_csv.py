"""ClinicalTrials.gov's CSV download (``NCT Number,Study Title,Study URL,...``): a trial register.

Reviews that follow PRISMA 2020 search trial registers as well as databases and count their
records apart ("Records identified from: Registers"): each record here is named
``ClinicalTrials.gov``, a name :mod:`evreview.prisma` counts as a register. The generic table
reader refused the file: no column it knows as a title.

Two layouts:
- **Current site (2023-):** ``NCT Number, Study Title, Study URL, Acronym, Study Status,
  Brief Summary, ..., Conditions, Interventions, ..., Start Date, ..., First Posted, ...``.
  Lists inside a cell are separated by ``|``.
- **Classic site:** ``Rank, NCT Number, Title, ..., First Received or First Posted, ..., URL``,
  with no summary.

Mapping:
- The NCT number is the record's id; the study's page is its link (built from the number when
  the file has no URL column).
- The year is the year the study was first posted to the register, the register's own date
  for the record, else its start date.
- Conditions and interventions become keywords: they are what the screening rules and the
  ranker can read, as there are no authors, journal or usually abstract beyond the summary.
"""

from __future__ import annotations

from typing import Any

from evreview.ingest.formats._tabular import Table, TableReader, column_key, first, take
from evreview.ingest.formats._trials import without_intervention_type
from evreview.ingest.registry import Source, register

DATABASE = "ClinicalTrials.gov"


def _items(value: str, *, typed: bool = False) -> list[str]:
    """A cell's list (``|``-separated), each intervention (``typed``) without its type."""
    items = (without_intervention_type(item) if typed else item.strip() for item in value.split("|"))
    return [item for item in items if item]


@register
class ClinicalTrialsCsvReader(TableReader):
    """ClinicalTrials.gov's CSV of studies."""

    name = "ctgov_csv"
    database = DATABASE
    #: the NCT number and title, and two columns of the download itself: a reviewer's own
    #: extraction sheet may well have an "NCT Number" column, and it is no register's export
    signature = (("NCT Number",), ("Study Title", "Title"), ("Study Status", "Status", "Recruitment"),
                 ("First Posted", "First Received", "Study URL", "URL"))
    #: columns ClinicalTrials.gov never writes: a table with one of them is a list of publications
    _NOT_OURS = frozenset(column_key(name) for name in ("Authors", "Author", "DOI", "Journal", "Source title"))

    def score(self, keys: set[str]) -> float:
        """The signature's confidence, unless a column says the table lists publications."""
        return 0.0 if keys & self._NOT_OURS else super().score(keys)

    def prepare(self, table: Table, source: Source) -> dict[str, list[int]]:
        ix = table.index
        return {
            "nct": ix("NCT Number"),
            "title": ix("Study Title", "Title"),
            "abstract": ix("Brief Summary"),
            "posted": ix("First Posted", "First Received"),
            "start": ix("Start Date"),
            "url": ix("Study URL", "URL"),
            "conditions": ix("Conditions"),
            "interventions": ix("Interventions"),
            "type": ix("Study Type", "Study Types"),
        }

    def record(self, cells: list[str], plan: Any) -> dict[str, Any]:
        p: dict[str, list[int]] = plan
        nct = first(cells, p["nct"]).strip()
        url = first(cells, p["url"]).strip() or (f"https://clinicaltrials.gov/study/{nct}" if nct else "")
        return {
            "source_id": nct,
            "source_database": DATABASE,
            **take(cells, p, "title", "abstract"),
            "year": first(cells, p["posted"]) or first(cells, p["start"]),
            "keywords": _items(first(cells, p["conditions"])) + _items(first(cells, p["interventions"]), typed=True),
            "doc_type": f"trial registration ({first(cells, p['type']).strip().lower() or 'study'})",
            "url": url,
        }
