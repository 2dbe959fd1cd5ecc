"""Covidence's CSV export of references (``Title,Authors,...,Published Year,...,Covidence #,Study,Notes,Tags``).

Read by the generic table reader, the year was lost (``Published Year`` is no column name it
knows, and nothing said so), the database was unknown and the review's own ``Tags`` became the
record's keywords. Here the year is read, ``Covidence #`` (``#17``) is the record's id and the
database is "Covidence" (as Rayyan's exports are "Rayyan": the database the records came from
is not in the file); ``Tags``, ``Notes``, ``Study`` and ``Ref`` stay in ``raw``.

Covidence copies what it imported: a record imported from Embase may hold its author
affiliations in ``Issue`` (``(Boisvert C.) Brigham Young University, Provo, ...``). A volume,
issue or page cell that long is none; it is left out of the record with a warning (kept in
``raw``).
"""

from __future__ import annotations

from typing import Any

from evreview.ingest.formats._tabular import Table, TableReader, split_on, take
from evreview.ingest.registry import Source, register
from evreview.records import MAX_NUMBERING

DATABASE = "Covidence"
NUMBERING = ("volume", "issue", "pages")

#: Record field -> Covidence's column.
COLUMNS: dict[str, str] = {
    "title": "Title", "authors": "Authors", "abstract": "Abstract", "year": "Published Year",
    "journal": "Journal", "volume": "Volume", "issue": "Issue", "pages": "Pages", "doi": "DOI",
    "accession": "Accession Number", "source_id": "Covidence #",
}  # fmt: skip


@register
class CovidenceCsvReader(TableReader):
    """Covidence references exported as CSV."""

    name = "covidence_csv"
    database = DATABASE
    signature = (("Covidence #",), ("Title",))

    def prepare(self, table: Table, source: Source) -> dict[str, list[int]]:
        return {field: table.index(column) for field, column in COLUMNS.items()}

    def record(self, cells: list[str], plan: Any) -> dict[str, Any]:
        fields = take(cells, plan, *COLUMNS)
        fields["authors"] = split_on(fields["authors"], ";")
        accession = fields.pop("accession").strip()  # the source database's number, kept in raw
        fields["source_id"] = fields["source_id"].strip() or accession
        for name in NUMBERING:
            if len(fields[name]) > MAX_NUMBERING:
                fields[name] = ""
        return fields

    def check(self, fields: dict[str, Any], raw: dict[str, Any]) -> list[str]:
        """A volume, issue or pages cell too long to be one (an affiliation Covidence copied there)."""
        warnings = []
        for name in NUMBERING:
            value = str(raw.get(COLUMNS[name], "")).strip()
            if len(value) > MAX_NUMBERING and not fields[name]:
                shown = value if len(value) <= 60 else value[:57] + "..."
                warnings.append(f"{COLUMNS[name]} holds no {name} ({shown!r}); left empty, the cell is kept in raw")
        return warnings
