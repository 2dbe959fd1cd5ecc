"""WHO ICTRP's trials as a table (``TrialID, Last Refreshed on, Public title, Scientific title, ...``).

The same fields as the portal's XML export (:mod:`.ictrp_xml`), as WHO has also published them
in CSV and Excel (the COVID-19 trials list, bulk downloads): column names are the XML element
names with spaces (``Public title`` for ``Public_title``, ``web address``, ``Source Register``).
Read by the generic table reader the file was "no title column recognised". Each row is mapped
as a ``<Trial>`` is, so both give the same records and the same registration numbers.
"""

from __future__ import annotations

from typing import Any

from evreview.ingest.formats._tabular import Table, TableReader, column_key
from evreview.ingest.formats.ictrp_xml import DATABASE, record_fields
from evreview.ingest.registry import Source, register

#: The XML element names the mapping reads, by their column key.
_ELEMENTS = {
    column_key(name): name
    for name in ("TrialID", "Public_title", "Scientific_title", "Date_registration", "Date_registration3",
                 "web_address", "Condition", "Intervention", "Source_Register")
}


@register
class IctrpCsvReader(TableReader):
    """WHO ICTRP trials in CSV, TSV or a workbook."""

    name = "ictrp_csv"
    database = DATABASE
    signature = (("TrialID",), ("Public title", "Scientific title"), ("Source Register", "web address"))

    def prepare(self, table: Table, source: Source) -> list[tuple[int, str]]:
        return [(i, _ELEMENTS[key]) for i, key in enumerate(table.keys) if key in _ELEMENTS]

    def record(self, cells: list[str], plan: Any) -> dict[str, Any]:
        trial = {name: " ".join(cells[i].split()) for i, name in plan if cells[i].strip()}
        return record_fields(trial)
