"""EBSCOhost's CSV export (CINAHL, MEDLINE, ERIC, Academic Search...: ``Article Title,Author,...,PLink``).

Read by the generic table reader it lost the database, the pages and the link, and kept
Excel's formula guard in its values: EBSCOhost writes ISSNs and dates as ``="19326203"`` /
``="Jun2023"`` so that a spreadsheet keeps their leading zeros, and the ISSN reached the
record as ``="19326203"``. Here:

* the database is the ``db=`` code of the ``PLink`` (``db=aph``), named as the RIS reader names
  EBSCOhost's ``DB`` codes ("Academic Search Premier via EBSCOhost", "CINAHL via EBSCOhost");
* pages are ``First Page`` and ``Page Count`` (924 and 11 are pages 924-934, as the same
  record's RIS export writes them);
* keywords are the ``Subjects`` then the author ``Keywords``; the ``Accession Number`` is
  the record's database id;
* the publisher's copyright notice EBSCOhost appends to an abstract (``[ABSTRACT FROM AUTHOR]
  Copyright of PLoS ONE is the property of ... (Copyright applies to all Abstracts.)``), which its
  RIS export of the same record writes as a second ``AB`` line that the RIS reader does not
  read, is cut off, so that both exports give one abstract (the cell stays whole in ``raw``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from evreview.ingest.formats._tabular import Table, TableReader, first, split_on
from evreview.ingest.registry import Source, register

PLATFORM = "EBSCOhost"
_DB_CODE = re.compile(r"[?&]db=([A-Za-z0-9]+)")
_EXCEL_GUARD = re.compile(r'^="(.*)"$', re.DOTALL)
#: The copyright notice at the end of an abstract (its last words are always these).
_COPYRIGHT = re.compile(r"\s*Copyright of \S.*?\(Copyright applies to all Abstracts\.\)\s*$", re.DOTALL)

#: Record field -> EBSCOhost's column (``pages`` and ``source_database`` are derived).
COLUMNS: dict[str, str] = {
    "title": "Article Title", "authors": "Author", "journal": "Journal Title", "issn": "ISSN", "isbn": "ISBN",
    "year": "Publication Date", "volume": "Volume", "issue": "Issue", "first_page": "First Page",
    "page_count": "Page Count", "source_id": "Accession Number", "doi": "DOI", "doc_type": "Doctype",
    "subjects": "Subjects", "keywords": "Keywords", "abstract": "Abstract", "url": "PLink",
}


def unguard(value: str) -> str:
    """``="19326203"`` -> ``19326203``: Excel's formula guard around a value, removed."""
    match = _EXCEL_GUARD.match(value.strip())
    return match.group(1) if match else value


def page_range(first_page: str, count: str) -> str:
    """``924`` and ``11`` pages -> ``924-934``; the first page alone when either is not a number."""
    if first_page.isdigit() and count.isdigit() and int(count) > 1:
        return f"{first_page}-{int(first_page) + int(count) - 1}"
    return first_page


def database_of(link: str) -> str:
    """The database named by the ``db=`` code of an EBSCOhost link, "via EBSCOhost", as the RIS
    reader names an EBSCOhost ``DB`` code (:func:`~evreview.ingest.formats.ris.name_database`)."""
    from evreview.ingest.formats.ris import name_database  # imported on use: sniffing a CSV stays light

    match = _DB_CODE.search(link)
    return name_database(match.group(1), PLATFORM, "", "") if match else PLATFORM


@register
class EbscoCsvReader(TableReader):
    """EBSCOhost result list exported as CSV."""

    name = "ebsco_csv"
    database = PLATFORM
    signature = (("PLink",), ("Article Title",), ("Accession Number",))
    #: :func:`evreview.ingest.formats.ris.classify_sn`, bound in :meth:`prepare`
    classify_sn: Callable[[tuple[str, ...]], tuple[str, str]]

    def prepare(self, table: Table, source: Source) -> dict[str, list[int]]:
        from evreview.ingest.formats.ris import classify_sn  # imported on use: sniffing a CSV stays light

        self.classify_sn = classify_sn
        return {field: table.index(column) for field, column in COLUMNS.items()}

    def record(self, cells: list[str], plan: Any) -> dict[str, Any]:
        values = {field: unguard(first(cells, indices)) for field, indices in plan.items()}
        values["pages"] = page_range(values.pop("first_page").strip(), values.pop("page_count").strip())
        values["source_database"] = database_of(values["url"])
        if values["issn"] or values["isbn"]:  # "19326203" -> "1932-6203", as the RIS reader writes it
            values["issn"], isbn = self.classify_sn((values["issn"], values["isbn"]))
            values["isbn"] = isbn or values["isbn"]
        values["authors"] = split_on(values["authors"], ";")
        if values["abstract"].endswith("Abstracts.)"):
            values["abstract"] = _COPYRIGHT.sub("", values["abstract"])
        values["keywords"] = split_on(values.pop("subjects"), ";") + split_on(values["keywords"], ";")
        return values
