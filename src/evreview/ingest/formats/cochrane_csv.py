"""The Cochrane Library's CSV export (``CENTRAL ID,Author(s),Title,Source,...,Database Name,...``).

Read by the generic table reader it lost what matters most for a review's PRISMA counts and
deduplication: the database (its own ``Database Name`` column, "Cochrane Central Register of
Controlled Trials (CENTRAL)") was left empty, and the PubMed id, written ``PUBMED 21314913``,
was not recognised. Here both are read, the ``CENTRAL ID`` (``CN-00778158``) is the record's
database id, and ``Pages`` may use the Unicode hyphen (``1279\u20101297``, unified by
:func:`evreview.records.clean_pages`).
"""

from __future__ import annotations

from typing import Any

from evreview.ingest.formats._tabular import Table, TableReader, first, split_on
from evreview.ingest.registry import Source, register
from evreview.records import CENTRAL

#: Record field -> the Library's column. ``authors`` and ``keywords`` are ``;``-separated.
COLUMNS: dict[str, str] = {
    "source_id": "CENTRAL ID", "source_database": "Database Name", "authors": "Author(s)", "title": "Title",
    "journal": "Source", "year": "Year", "abstract": "Abstract", "volume": "Volume", "issue": "Issue",
    "pages": "Pages", "pmid": "PubMed ID", "doc_type": "Publication Type", "keywords": "Keywords",
    "doi": "DOI", "url": "URL",
}


@register
class CochraneCsvReader(TableReader):
    """Cochrane Library (CENTRAL, CDSR) search results as CSV."""

    name = "cochrane_csv"
    database = CENTRAL
    signature = (("Database Name",), ("CENTRAL ID", "Cochrane Review Group Code"), ("Title",))

    def prepare(self, table: Table, source: Source) -> dict[str, list[int]]:
        return {field: table.index(column) for field, column in COLUMNS.items()}

    def record(self, cells: list[str], plan: Any) -> dict[str, Any]:
        fields = {field: first(cells, indices) for field, indices in plan.items()}
        fields["source_database"] = fields["source_database"].strip() or CENTRAL
        fields["authors"] = split_on(fields["authors"], ";")
        fields["keywords"] = split_on(fields["keywords"], ";")
        return fields
