"""Abstrackr's CSV export of a project's labels (``(internal) id,(source) id,pubmed id,keywords,...``).

Read by the generic table reader it had three faults:

* the line ``citations that are not yet labeled by anyone``, which Abstrackr writes between the
  labelled citations and the others, became an empty record (11 records for 10);
* ``pubmed id`` is ``0`` for a citation with none, and every such record got PMID 0 (a PMID
  that matched all of them to one another);
* the record's id was that ``0`` too (``pubmed id`` was taken for it).

Here that line is skipped, a ``0`` PMID is none, the record's id is Abstrackr's ``(internal)
id`` (``(source) id``, the number in the file imported into Abstrackr, stays in ``raw``), and the
database is "Abstrackr" (as Rayyan's and Covidence's exports are theirs: the file does not say
where the records were found). The unlabelled citations after that line have only the first
eight cells, without the label columns; they are padded quietly, which is what they mean.
Authors are BibTeX-like, ``Longrich, N.R.\\n and Pereda-Suberbiola, X.\\n`` (split by
:func:`~.generic_table.split_authors`, as the generic table splits such a cell); keywords a comma
list. The export has no year or DOI; the labels (``consensus``, the reviewers') stay in ``raw``.
"""

from __future__ import annotations

import re
from typing import Any

from evreview.ingest.formats._tabular import Row, Table, TableReader, first, split_on, take
from evreview.ingest.formats.generic_table import split_authors
from evreview.ingest.registry import Source, register

DATABASE = "Abstrackr"
#: The section line between labelled and unlabelled citations ("citations that are not yet
#: labeled by anyone"): one cell, starting with "citations".
_SECTION = re.compile(r"citations\b", re.IGNORECASE)


@register
class AbstrackrCsvReader(TableReader):
    """Abstrackr's labels export (CSV)."""

    name = "abstrackr_csv"
    database = DATABASE
    signature = (("(internal) id",), ("(source) id",), ("pubmed id",), ("title",))

    def load(self, source: Source) -> Table:
        table = super().load(source)
        table.rows = [row for row in table.rows if not _is_section_line(row)]
        return table

    def prepare(self, table: Table, source: Source) -> dict[str, list[int]]:
        ix = table.index
        names = {
            "id": "(internal) id",
            "pmid": "pubmed id",
            "keywords": "keywords",
            "abstract": "abstract",
            "title": "title",
            "journal": "journal",
            "authors": "authors",
        }
        return {field: ix(column) for field, column in names.items()}

    def record(self, cells: list[str], plan: Any) -> dict[str, Any]:
        p: dict[str, list[int]] = plan
        pmid = first(cells, p["pmid"]).strip()
        return {
            "source_id": first(cells, p["id"]).strip(),
            "source_database": DATABASE,
            **take(cells, p, "title", "abstract", "journal"),
            "pmid": "" if pmid.strip("0") == "" else pmid,
            "authors": split_authors(first(cells, p["authors"])),
            "keywords": split_on(first(cells, p["keywords"]), ","),
        }

    def fix_row(self, table: Table, row: Row) -> tuple[list[str] | None, str | None, str]:
        """A short row is an unlabelled citation (no label cells): padded without a warning."""
        width = len(table.columns)
        if len(row.values) < width:
            return row.values + [""] * (width - len(row.values)), None, ""
        return super().fix_row(table, row)


def _is_section_line(row: Row) -> bool:
    """Abstrackr's "citations that are not yet labeled by anyone" line (one cell, no id)."""
    cells = [cell for cell in row.values if cell.strip()]
    return len(cells) == 1 and row.values[0].strip() == cells[0].strip() and bool(_SECTION.match(cells[0].strip()))
