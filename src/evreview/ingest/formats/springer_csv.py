"""Springer Link search-results CSV (``Item Title,Publication Title,...,Item DOI,Authors,...``).

Springer Link's "Download search results (CSV)" names its columns unlike any other database
(``Item Title``, ``Item DOI``, ``Journal Volume``), so the generic table reader found no title
column and refused the file. The export has no abstract, pages or keywords.

Its ``Authors`` cell runs the names together with no separator at all
(``"Andy SmithTom Weber"``): :func:`split_run_together` cuts it where a lower-case letter is
followed by an upper-case one, then glues back every piece without a space (a surname such
as ``McDonald`` or ``DeMarco``, which is one name, not two). The cell is kept as written in
``raw``.

A book's editors come with their titles (``"Prof. Rafik A. AlievProf. Dr. Janusz Kacprzyk"``):
a leading ``Prof.`` / ``Dr.`` is dropped, so that the editor is the same person as in any other
export (NLeSC/litstudy's springer.csv had "Prof. Dr. Janusz Kacprzyk" as an author's name).
"""

from __future__ import annotations

import re
from typing import Any

from evreview.ingest.formats._tabular import Table, TableReader, first, take
from evreview.ingest.registry import Source, register

_NAME_BOUNDARY = re.compile(r"(?<=[a-z\u00df-\u00ff])(?=[A-Z\u00c0-\u00de])")
#: Academic titles Springer Link writes before an editor's name ("Prof. Dr. Janusz Kacprzyk").
_TITLES = re.compile(r"^(?:(?:Prof|Dr)\.\s+)+")


def split_run_together(value: str) -> list[str]:
    """``"Andy SmithTom Weber"`` -> ``["Andy Smith", "Tom Weber"]``; ``"John McDonald"`` stays one.

    Every real name in the cell has a space (given name and surname), so a piece without one
    was split off by an inner capital (``Mc|Donald``) and belongs to its neighbour.
    """
    text = value.strip()
    if not text:
        return []
    names: list[str] = []
    for piece in _NAME_BOUNDARY.split(text):
        if names and (" " not in piece.strip() or " " not in names[-1].strip()):
            names[-1] += piece
        else:
            names.append(piece)
    names = [_TITLES.sub("", name.strip()) for name in names]
    return [name for name in names if name]


@register
class SpringerCsvReader(TableReader):
    """Springer Link's CSV of search results."""

    name = "springer_csv"
    database = "Springer Link"
    signature = (("Item Title",), ("Item DOI",), ("Content Type", "Publication Title"))

    def prepare(self, table: Table, source: Source) -> dict[str, list[int]]:
        ix = table.index
        return {
            "title": ix("Item Title"),
            "journal": ix("Publication Title"),
            "series": ix("Book Series Title"),
            "volume": ix("Journal Volume"),
            "issue": ix("Journal Issue"),
            "doi": ix("Item DOI"),
            "authors": ix("Authors"),
            "year": ix("Publication Year"),
            "url": ix("URL"),
            "type": ix("Content Type"),
        }

    def record(self, cells: list[str], plan: Any) -> dict[str, Any]:
        p: dict[str, list[int]] = plan
        doi = first(cells, p["doi"]).strip()
        return {
            "source_id": doi,
            "source_database": "Springer Link",
            **take(cells, p, "title", "year", "volume", "issue", "url"),
            "authors": split_run_together(first(cells, p["authors"])),
            "journal": first(cells, p["journal"]) or first(cells, p["series"]),
            "doi": doi,
            "doc_type": first(cells, p["type"]),
        }
