"""The Cochrane Library's plain-text export ("Record #1 of 25", then ``ID:``, ``AU:``, ``TI:`` lines).

Beside RIS, BibTeX and CSV, the Library's "Export selected citation(s)" offers plain text: each
record opens with a ``Record #N of M`` line, and each field is a line ``XX: value`` with a two-
or three-letter tag (``ID``, ``AU``, ``TI``, ``SO``, ``YR``, ``VL``, ``NO``, ``PG``, ``PT``,
``KY``, ``DOI``, ``AB``, ``US``...), one ``AU`` line per author. It was an unrecognised format.

The database is named as the RIS and CSV readers name the Library's records: a ``CN-``
accession or a ``/central/`` link is CENTRAL, a ``CD`` review id, a ``/cdsr/`` link or a
``10.1002/14651858.`` DOI the Cochrane Database of Systematic Reviews. The PubMed id is the
``PUBMED 31234567`` the Library writes among a record's cross-references (``PM`` or ``XR``).
A line that is not a tag line continues the field before it (a wrapped abstract).
"""

from __future__ import annotations

import re

from evreview.ingest.formats._tagged import (
    Block,
    Scan,
    collect,
    first_nonblank_lines,
    raw_fields,
    split_items,
    stray_problems,
    text_of,
    values_of,
)
from evreview.ingest.registry import ParseResult, Source, register
from evreview.records import CDSR, CENTRAL

#: ``Record #3 of 18``: the line that opens each record (the RIS download writes it too).
_RECORD = re.compile(r"^Record #(\d+) of (\d+)\s*$")
_TAG = re.compile(r"^([A-Z]{2,3}): ?(.*)$")
_PUBMED = re.compile(r"\bPUBMED\s*:?\s*(\d{1,9})\b", re.IGNORECASE)
#: Tags that make a ``Record #`` block the plain-text export when sniffing (not RIS, whose
#: ``Provider:``/``Content:`` lines and ``TY  -`` tags do not match ``XX: value``).
_CORE_TAGS = frozenset({"ID", "AU", "TI", "SO", "YR", "AB", "US", "DOI", "KY", "PT"})
START = "Record"


def match_tag(line: str) -> tuple[str, str] | None:
    """``("TI", "value")`` for a ``TI: value`` line, ``("Record", "3 of 18")`` for a record line."""
    record = _RECORD.match(line)
    if record:
        return START, f"{record.group(1)} of {record.group(2)}"
    tag = _TAG.match(line)
    if tag:
        return tag.group(1), tag.group(2).rstrip()
    return None


def database_of(accession: str, link: str, doi: str) -> str:
    """CENTRAL or CDSR from the record's id, link or DOI (the Library's own names for them)."""
    if accession.upper().startswith("CN-") or "/central/" in link:
        return CENTRAL
    if re.match(r"CD\d+", accession.upper()) or "/cdsr/" in link or "10.1002/14651858." in doi.lower():
        return CDSR
    return CENTRAL


def pmid_of(block: Block) -> str:
    """The ``PUBMED 31234567`` among a record's cross-references (``PM``, ``XR``), as digits."""
    for value in values_of(block, "PM") + values_of(block, "XR"):
        match = _PUBMED.search(value)
        if match:
            return match.group(1)
    return ""


def map_block(block: Block) -> tuple[dict[str, object], dict[str, object]]:
    """Record fields and raw tags of one plain-text record."""
    accession = text_of(block, "ID")
    links = values_of(block, "US")
    doi = text_of(block, "DOI", "DI")
    database = database_of(accession, links[0] if links else "", doi)
    doc_type = text_of(block, "PT")
    if not doc_type and database == CDSR:
        doc_type = "Review"  # a Cochrane Review's record carries no type
    fields: dict[str, object] = {
        "source_id": accession,
        "source_database": database,
        "title": text_of(block, "TI"),
        "abstract": "\n".join(" ".join(e.lines).strip() for e in block.by_tag.get("AB", ())).strip(),
        "authors": split_items(values_of(block, "AU"), ";"),
        "year": text_of(block, "YR", "PY"),
        "journal": text_of(block, "SO"),
        "volume": text_of(block, "VL"),
        "issue": text_of(block, "NO", "IS"),
        "pages": text_of(block, "PG"),
        "doi": doi,
        "pmid": pmid_of(block),
        "keywords": split_items(values_of(block, "KY"), ";"),
        "doc_type": doc_type,
        "url": links[0] if links else "",
    }
    return fields, dict(raw_fields(e for e in block.entries if e.tag != START))


@register
class CochraneTextReader:
    """Reader for the Cochrane Library's plain-text export."""

    name = "cochrane_txt"
    priority = 50

    def sniff(self, source: Source) -> float:
        """Sure when the file opens with a ``Record #N of M`` line followed by ``XX: value`` fields."""
        lines = first_nonblank_lines(source.head, 12)
        if not lines or not _RECORD.match(lines[0].strip()):
            return 0.0
        tags = {m[0] for m in (match_tag(line) for line in lines[1:]) if m}
        return 0.95 if len(tags & _CORE_TAGS) >= 2 else 0.0

    def parse(self, source: Source) -> ParseResult:
        """Parse every ``Record #`` block."""
        scanned = Scan(source.text or "", match_tag, start_tags=frozenset({START}), bare_lines_continue=True)
        records, problems = collect(scanned, map_block, what="Cochrane Library text")
        problems.extend(stray_problems(scanned.stray, "Cochrane Library text"))
        return ParseResult(records=records, problems=problems, found=scanned.found, database=CENTRAL)
