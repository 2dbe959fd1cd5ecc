"""Web of Science tab-delimited export (``PT\\tAU\\tBA...\\tUT``), and its Excel twin.

The tab-delimited file has one record per line and two-letter field tags as column names, the
same tags as the WoS tagged ("plain text") format, so the field mapping is the same: TI, AB,
AF (full names, preferred) or AU, PY (or the early-access date EA), SO, VL, IS, BP-EP, AR or PS,
DI, PM, SN or EI, BN, DE + ID keywords, LA, DT, and UT as the record id. WoS never quotes a
cell, so lines are split on tabs only: a title that starts with ``"`` is text, not a quote.

The Excel export ("Excel" in the WoS menu: ``savedrecs.xls``, a legacy binary workbook) has the
same columns under long names ("Article Title", "UT (Unique WOS ID)"); :data:`LONG_NAMES` maps
them to the tags, so the same reader reads it, or an ``.xlsx`` saved from it (the workbook's
first sheet is read by ``_tabular.load_table``).
"""

from __future__ import annotations

from typing import Any

from evreview.ingest.formats._tabular import Table, TableReader, column_key, first, join_pages, split_on
from evreview.ingest.formats.wos import database_for
from evreview.ingest.registry import Source, register

#: WoS Excel column names -> tab-delimited tags (only those the mapping uses).
LONG_NAMES: dict[str, str] = {
    column_key(long): tag
    for long, tag in {
        "Publication Type": "PT",
        "Authors": "AU",
        "Author Full Names": "AF",
        "Article Title": "TI",
        "Source Title": "SO",
        "Language": "LA",
        "Document Type": "DT",
        "Author Keywords": "DE",
        "Keywords Plus": "ID",
        "Abstract": "AB",
        "ISSN": "SN",
        "eISSN": "EI",
        "ISBN": "BN",
        "Publication Year": "PY",
        "Publication Date": "PD",
        "Early Access Date": "EA",
        "Volume": "VL",
        "Issue": "IS",
        "Start Page": "BP",
        "End Page": "EP",
        "Article Number": "AR",
        "DOI": "DI",
        "DOI Link": "DL",
        "Pubmed Id": "PM",
        "UT (Unique WOS ID)": "UT",
    }.items()
}

#: Tags used in the mapping (columns resolved once per file).
_TAGS = ("TI", "AB", "AF", "AU", "PY", "EA", "SO", "VL", "IS", "BP", "EP", "AR", "PS", "DI", "DL", "PM")
_TAGS2 = ("SN", "EI", "BN", "DE", "ID", "LA", "DT", "UT")

def _tag_indices(table: Table) -> dict[str, list[int]]:
    """Column indices per tag, accepting either the tags or the Excel long names."""
    out: dict[str, list[int]] = {}
    for i, key in enumerate(table.keys):
        tag = LONG_NAMES.get(key) or (key.upper() if len(key) == 2 else "")
        if tag:
            out.setdefault(tag, []).append(i)
    return out


def collection_of(accession: str) -> str:
    """Database named by a UT accession prefix (``WOS:...``), defaulting to "Web of Science".

    The prefixes are the tagged reader's (:func:`evreview.ingest.formats.wos.database_for`): this
    reader had its own shorter table, so a BIOSIS Previews, CAB Abstracts or Inspec record was
    "Web of Science" here and named in the tagged export of the same search, and WoS's MEDLINE
    had a third name ("MEDLINE (via Web of Science)").
    """
    return database_for(accession) if ":" in accession else "Web of Science"


@register
class WosTabReader(TableReader):
    """Web of Science tab-delimited (UTF-8/UTF-16, CRLF/CR/LF) and Excel exports."""

    name = "wos_tab"
    database = "Web of Science"
    quoting = False
    signature = (("PT", "Publication Type"), ("AU", "Authors"), ("TI", "Article Title"), ("UT", "UT (Unique WOS ID)"))

    def sniff(self, source: Source) -> float:
        """Tag header must be tab-delimited (the tagged format uses spaces); Excel needs long names."""
        score = super().sniff(source)
        if score and source.text is not None:
            line = self._header_line(source)
            if "\t" not in line:
                return 0.0
        return score

    def prepare(self, table: Table, source: Source) -> dict[str, list[int]]:
        indices = _tag_indices(table)
        return {tag: indices.get(tag, []) for tag in (*_TAGS, *_TAGS2)}

    def record(self, cells: list[str], plan: Any) -> dict[str, Any]:
        p: dict[str, list[int]] = plan
        authors = first(cells, p["AF"]) or first(cells, p["AU"])
        accession = first(cells, p["UT"]).strip()
        keywords = split_on(first(cells, p["DE"]), ";") + split_on(first(cells, p["ID"]), ";")
        return {
            "source_id": accession,
            "source_database": collection_of(accession),
            "title": first(cells, p["TI"]),
            "abstract": first(cells, p["AB"]),
            "authors": split_on(authors, ";"),
            "year": first(cells, p["PY"]) or first(cells, p["EA"]),
            "journal": first(cells, p["SO"]),
            "volume": first(cells, p["VL"]),
            "issue": first(cells, p["IS"]),
            # Zoological Record and WoS's MEDLINE have no BP/EP: their page span is in PS ("2274-2285")
            "pages": join_pages(first(cells, p["BP"]), first(cells, p["EP"]))
            or first(cells, p["AR"])
            or first(cells, p["PS"]),
            "doi": first(cells, p["DI"]),
            "url": first(cells, p["DL"]),
            "pmid": first(cells, p["PM"]),
            "issn": first(cells, p["SN"]) or first(cells, p["EI"]),
            "isbn": first(cells, p["BN"]),
            "keywords": keywords,
            "language": first(cells, p["LA"]),
            "doc_type": first(cells, p["DT"]),
        }
