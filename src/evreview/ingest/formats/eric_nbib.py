"""ERIC's tagged export (eric.ed.gov "Export > NBIB"): MEDLINE-like tags, ``OWN - ERIC`` first.

ERIC writes its records in PubMed's tag layout, but they are not PubMed records: there is no
``PMID`` line (every record starts at ``OWN - ERIC``, so the MEDLINE reader, which needs one,
did not claim the file and it was an unrecognised format), the accession number is ``OID``
(``EJ1131633`` for a journal article, ``ED...`` for a document), the DOI is a link in ``AID``
(``http://dx.doi.org/10.1000/x``), the record's page is ``LID``, and the ISSN carries ERIC's
``ISSN-`` prefix. Tag parsing is the MEDLINE reader's (:func:`~.medline.match_tag`).
"""

from __future__ import annotations

import re

from evreview.ingest.formats._tagged import (
    Block,
    Scan,
    collect,
    first_nonblank_lines,
    raw_fields,
    stray_problems,
    text_of,
    values_of,
)
from evreview.ingest.formats.medline import match_tag, pick_doc_type
from evreview.ingest.registry import ParseResult, Source, register

DATABASE = "ERIC"

_DOI_IN_LINK = re.compile(r"(?:doi\.org/|^doi:\s*)(10\.\S+)", re.IGNORECASE)
_ISSN_PREFIX = re.compile(r"^E?ISSN-\s*", re.IGNORECASE)
_ISBN_PREFIX = re.compile(r"^ISBN-\s*", re.IGNORECASE)


def _doi(values: list[str]) -> str:
    """The DOI of the first ``AID`` link to doi.org (ERIC writes no ``[doi]`` kind as PubMed does)."""
    for value in values:
        match = _DOI_IN_LINK.search(value.strip())
        if match:
            return match.group(1)
    return ""


def map_block(block: Block) -> tuple[dict[str, object], dict[str, object]]:
    """Record fields and raw tags of one ERIC record."""
    accession = text_of(block, "OID")
    issns = [_ISSN_PREFIX.sub("", value) for value in values_of(block, "ISSN")]
    url = text_of(block, "LID")
    fields: dict[str, object] = {
        "source_id": accession,
        "source_database": DATABASE,
        "title": text_of(block, "TI"),
        "abstract": text_of(block, "AB"),
        "authors": values_of(block, "FAU") or values_of(block, "AU"),
        "year": text_of(block, "DP"),
        "journal": text_of(block, "JT"),
        "volume": text_of(block, "VI"),
        "issue": text_of(block, "IP"),
        "pages": text_of(block, "PG"),
        "doi": _doi(values_of(block, "AID")),
        "pmid": "",
        "issn": issns[0] if issns else "",
        "isbn": _ISBN_PREFIX.sub("", text_of(block, "ISBN")),
        "keywords": _descriptors(values_of(block, "OT") + values_of(block, "MH")),
        "language": text_of(block, "LA"),
        "doc_type": pick_doc_type(values_of(block, "PT")),
        "url": url or (f"https://eric.ed.gov/?id={accession}" if accession else ""),
    }
    return fields, dict(raw_fields(block.entries))


def _descriptors(values: list[str]) -> list[str]:
    """Keywords without ERIC's major-descriptor mark (a leading ``*``, as in ``*Partnerships in Education``).

    Why: the mark says how central the descriptor is to the record, not what it is, so
    "*Rural Schools" and "Rural Schools" are one keyword to the coder and the map.
    """
    out = []
    for value in values:
        value = value.lstrip("*").strip()
        if value:
            out.append(value)
    return out


@register
class EricNbibReader:
    """Reader for ERIC's MEDLINE-style tagged export."""

    name = "eric_nbib"
    priority = 50

    def sniff(self, source: Source) -> float:
        """Sure when the first line is ``OWN - ERIC`` and MEDLINE tag lines follow."""
        lines = first_nonblank_lines(source.head, 20)
        if not lines or match_tag(lines[0]) != ("OWN", "ERIC"):
            return 0.0
        tags = {m[0] for m in (match_tag(line) for line in lines) if m}
        return 0.95 if len(tags & {"TI", "AU", "OID", "DP", "JT", "AB"}) >= 2 else 0.5

    def parse(self, source: Source) -> ParseResult:
        """Parse every record; a record starts at its ``OWN`` line (or after a blank line)."""
        scanned = Scan(source.text or "", match_tag, start_tags=frozenset({"OWN"}), blank_ends_record=True)
        records, problems = collect(scanned, map_block, what="ERIC")
        problems.extend(stray_problems(scanned.stray, "ERIC"))
        return ParseResult(records=records, problems=problems, found=scanned.found, database=DATABASE)
