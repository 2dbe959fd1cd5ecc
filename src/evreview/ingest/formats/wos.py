"""Web of Science "plain text" (tagged) exports: ``.ciw``, ``.isi``, ``.txt``.

The file opens with ``FN <vendor>`` and ``VR 1.0``; each record runs from ``PT`` to ``ER``
and the file ends with ``EF``. A tag is two characters and a space; continuation lines are
indented by three spaces. For list tags (``AU``, ``AF``, ``CR``, ``C1``...) each line is one
item; for text tags (``TI``, ``AB``, ``SO``...) the lines are one wrapped value, and keyword
tags (``DE``, ``ID``) wrap *inside* their ``;``-separated lists, so they are joined before
splitting. The tab-delimited WoS export (header ``PT<TAB>AU<TAB>...``) is a different format
and is left to its own reader.
"""

from __future__ import annotations

import re

from evreview.ingest.formats._tagged import (
    Block,
    Scan,
    collect,
    first_nonblank_lines,
    lines_of,
    raw_fields,
    split_items,
    stray_problems,
    text_of,
)
from evreview.ingest.registry import ParseResult, Source, register

#: Tags whose continuation lines are separate items rather than a wrapped value.
_LIST_TAGS = frozenset({"AU", "AF", "BA", "BF", "CA", "GP", "BE", "CR", "C1", "C3", "FU"})
_WOS_TAGS = frozenset(
    {"AU", "AF", "TI", "SO", "AB", "DE", "ID", "UT", "PY", "DT", "LA", "DI", "SN", "VL", "BP", "CR", "NR"}
)

DEFAULT_DATABASE = "Web of Science Core Collection"

#: Accession-number prefixes (``UT``) of the databases searchable on the WoS platform.
_UT_DATABASES = {
    "WOS": DEFAULT_DATABASE,
    "ISI": DEFAULT_DATABASE,  # the Core Collection's accession before Clarivate ("ISI:000238592600006")
    # named as the RIS and BibTeX readers name WoS's MEDLINE records (``AN  - MEDLINE:...``)
    "MEDLINE": "MEDLINE (Web of Science)",
    "BCI": "BIOSIS Citation Index",
    "BIOSIS": "BIOSIS Previews",
    "CCC": "Current Contents Connect",
    "CABI": "CAB Abstracts",
    "DIIDW": "Derwent Innovations Index",
    "DRCI": "Data Citation Index",
    "INSPEC": "Inspec",
    "KJD": "KCI-Korean Journal Database",
    "RSCI": "Russian Science Citation Index",
    "SCIELO": "SciELO Citation Index",
    "ZOOREC": "Zoological Record",
    "FSTA": "FSTA",
    "GRANTS": "Grants Index",
    "PPRN": "Preprint Citation Index",
    "PQDT": "ProQuest Dissertations & Theses Citation Index",
}

#: ``PT`` publication-type codes, used for ``doc_type`` only when ``DT`` is absent.
_PT_TYPES = {"J": "Journal", "B": "Book", "S": "Book in series", "P": "Patent", "C": "Conference"}


def match_tag(line: str) -> tuple[str, str] | None:
    """``("TI", "value")`` for a WoS tag line (``ER``/``EF`` have no value), else ``None``."""
    tag = line[:2]
    if len(tag) == 2 and line[2:3] in (" ", "") and tag.isascii() and tag.isalnum() and tag.isupper():
        return (tag, line[3:].rstrip()) if tag[0].isalpha() else None
    return None


def database_for(accession: str) -> str:
    """The database a ``UT`` accession number's prefix names (``MEDLINE:123`` -> MEDLINE)."""
    prefix, sep, _ = accession.partition(":")
    if not sep:
        return DEFAULT_DATABASE
    prefix = prefix.strip().upper()
    return _UT_DATABASES.get(prefix, f"Web of Science ({prefix})")


def _pages(block: Block) -> str:
    """``BP``-``EP``, else the article number ``AR``, else ``PS``: the page span ("2457-71") of
    MEDLINE records exported from the WoS platform, which have no ``BP``/``EP``."""
    start, end = text_of(block, "BP"), text_of(block, "EP")
    if start and end:
        return f"{start}-{end}"
    return start or text_of(block, "AR") or text_of(block, "PS")


def _authors(block: Block) -> list[str]:
    """One author per line; MEDLINE records from the WoS platform put them all on one ``AU``
    line, ``;``-separated ("Joffe, Hadine; Hall, Janet E"), which read as a single author."""
    for tag in ("AF", "AU", "BF", "BA", "CA", "GP"):
        authors = lines_of(block, tag)
        if authors:
            if tag in ("AF", "AU") and any("; " in name for name in authors):
                return [part.strip() for name in authors for part in name.split(";") if part.strip()]
            return authors
    return []


def _pmid(block: Block, accession: str) -> str:
    """``PM``, else the number of a ``UT  MEDLINE:16842170`` accession (a MEDLINE record)."""
    pmid = text_of(block, "PM")
    if not pmid and accession.upper().startswith("MEDLINE:") and accession[8:].strip().isdigit():
        return accession[8:].strip()
    return pmid


#: A DOI among the ``],[``-separated identifiers of an Inspec record's ``ID`` line.
_BRACKETED_DOI = re.compile(r"(?:^|\[)(10\.\d{4,9}/[^\]\s]+)\]?")


def _inspec_doi(identifiers: str) -> str:
    """The DOI in Inspec's ``ID`` ("0003-6951/2006/...],[S0003-6951(06)22430-6],[10.1063/1.2234275]")."""
    match = _BRACKETED_DOI.search(identifiers)
    return match.group(1) if match else ""


def map_block(block: Block) -> tuple[dict[str, object], dict[str, object]]:
    """Record fields and raw tags of one ``PT ... ER`` block."""
    authors = _authors(block)
    accession = text_of(block, "UT")
    # Inspec records (UT INSPEC:...) use ID for the article's identifiers (CODEN, SICI, PII,
    # DOI), not for Keywords Plus: read as keywords they added "1-T],[S0003-..." fragments.
    inspec = accession.upper().startswith("INSPEC:")
    keywords = split_items([text_of(block, "DE")] if inspec else [text_of(block, "DE"), text_of(block, "ID")])
    doi = text_of(block, "DI", "D2") or (_inspec_doi(text_of(block, "ID")) if inspec else "")
    doc_type = text_of(block, "DT") or _PT_TYPES.get(text_of(block, "PT"), text_of(block, "PT"))
    fields: dict[str, object] = {
        "source_id": accession,
        "source_database": database_for(accession) if accession else DEFAULT_DATABASE,
        "title": text_of(block, "TI"),
        "abstract": text_of(block, "AB"),
        "authors": authors,
        "year": text_of(block, "PY", "EA", "PD"),
        "journal": text_of(block, "SO", "SE"),
        "volume": text_of(block, "VL"),
        "issue": text_of(block, "IS"),
        "pages": _pages(block),
        "doi": doi,
        "pmid": _pmid(block, accession),
        "issn": text_of(block, "SN", "EI"),
        "isbn": text_of(block, "BN"),
        "keywords": keywords,
        "language": text_of(block, "LA"),
        "doc_type": doc_type,
    }
    raw = {tag: value for tag, value in raw_fields(block.entries).items() if tag != "ER"}
    return fields, raw


@register
class WosTaggedReader:
    """Reader for Web of Science plain-text (tagged) exports."""

    name = "wos"
    priority = 50

    def sniff(self, source: Source) -> float:
        """Sure on an ``FN``/``VR`` header; fairly sure on ``PT`` records made of WoS tags."""
        lines = first_nonblank_lines(source.head, 60)
        if not lines:
            return 0.0
        first = lines[0]
        if "\t" in first:
            return 0.0  # the tab-delimited export ("PT\tAU\t...") has its own reader
        if first.startswith("FN ") and any(re.match(r"^VR \d", line) for line in lines[1:4]):
            return 1.0
        if re.match(r"^PT [A-Z]$", first.rstrip()):
            tags = {m[0] for m in (match_tag(line) for line in lines[1:]) if m}
            if len(tags & _WOS_TAGS) >= 3:
                return 0.9
        return 0.0

    def parse(self, source: Source) -> ParseResult:
        """Parse every ``PT ... ER`` record; header/footer tags are file metadata, not records."""
        scanned = Scan(
            source.text or "",
            match_tag,
            start_tags=frozenset({"PT"}),
            end_tags=frozenset({"ER"}),
            header_tags=frozenset({"FN", "VR", "EF"}),
        )
        records, problems = collect(scanned, map_block, what="Web of Science", end_marker="ER")
        problems.extend(stray_problems(scanned.stray, "Web of Science"))
        return ParseResult(records=records, problems=problems, found=scanned.found, database=DEFAULT_DATABASE)
