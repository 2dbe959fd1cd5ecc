"""Ovid's direct export to reference managers (Citavi ``.ovd``, EndNote ``.cgi``), tagged text.

Ovid's "Export to Citavi / EndNote / Reference Manager" writes neither RIS nor its "Citation
(fields)" text, but two-letter tags with record markers: ``<3001. >`` (the record's number in
the search), then ``VN  - Ovid Technologies``, ``DB  - Embase``, ``UI  - 621381829``,
``TI``, ``SO``, ``AU`` (one a line), ``AB``, ``MH``, ``IS`` (the ISSN, not an issue),
``DO`` (a ``dx.doi.org`` URL), ``YR``... Indented lines continue a field, and the EndNote
variant breaks the abstract into lines without a tag, which continue it too. Before this
reader such a file (Embase via Ovid, a core database of health reviews) was refused as an
unrecognised format. Journal, volume, issue and pages come from the ``SO`` citation, read as
the "Citation (fields)" reader reads its ``Source``; the database is named as the Ovid RIS
and text readers name it (``Embase via Ovid``, ``Ovid MEDLINE(R)``).
"""

from __future__ import annotations

import re
from collections import Counter

from evreview.ingest.formats._tagged import Block, Scan, collect, lines_of, raw_fields, stray_problems, text_of
from evreview.ingest.formats.ovid_txt import parse_source
from evreview.ingest.formats.ris import classify_sn, name_database
from evreview.ingest.registry import ParseResult, Source, register

#: The tag a ``<12. >`` record-number line gets (no two-letter tag can look like it).
RECORD = "<record>"
_RECORD_LINE = re.compile(r"^<(\d+)\.?\s*>\s*$")
_TAG_LINE = re.compile(r"^([A-Z][A-Z0-9])  - ?(.*)$")


def match_tag(line: str) -> tuple[str, str] | None:
    """``(RECORD, "12")`` for a ``<12. >`` line, ``("TI", "value")`` for a tag line, else ``None``."""
    record = _RECORD_LINE.match(line)
    if record:
        return RECORD, record.group(1)
    tagged = _TAG_LINE.match(line.rstrip())
    return (tagged.group(1), tagged.group(2)) if tagged else None


def map_block(block: Block) -> tuple[dict[str, object], dict[str, object]]:
    """Record fields and raw tags of one ``<N. >`` record."""
    database = text_of(block, "DB")
    accession = text_of(block, "UI", "AN")
    source = parse_source(text_of(block, "SO"))
    issn, isbn = classify_sn(tuple(v for v in (text_of(block, "IS"), text_of(block, "SN")) if v))
    medline = "medline" in database.lower()
    raw = {tag: value for tag, value in raw_fields(block.entries).items() if tag != RECORD}
    fields: dict[str, object] = {
        "source_id": accession,
        "source_database": name_database(database, "Ovid", "", "") if database else "Ovid",
        "title": text_of(block, "TI"),
        "abstract": text_of(block, "AB"),
        "authors": lines_of(block, "AU") or lines_of(block, "AI"),
        "year": text_of(block, "YR") or source["date"],
        "journal": source["journal"],
        "volume": source["volume"] or text_of(block, "VO"),
        "issue": source["issue"],
        "pages": source["pages"] or text_of(block, "PG"),
        "doi": text_of(block, "DO"),
        "pmid": accession if medline and accession.isdigit() else "",
        "issn": issn,
        "isbn": isbn,
        "keywords": lines_of(block, "MH") or lines_of(block, "KW"),
        "language": text_of(block, "LG", "LA"),
        "doc_type": text_of(block, "PT"),
    }
    return fields, raw


@register
class OvidTaggedReader:
    """Reader for Ovid's tagged direct export (``<N. >`` record lines, ``XX  - `` tags)."""

    priority = 50  # as the other tagged readers: its sniff alone decides
    name = "ovid_tagged"

    def sniff(self, source: Source) -> float:
        """Sure when the first non-blank line is ``<N. >`` and Ovid's ``VN``/``DB``/``UI`` tags follow."""
        lines = [line for line in source.head.split("\n", 60)[:60] if line.strip()]
        if not lines or not _RECORD_LINE.match(lines[0].lstrip("\ufeff")):
            return 0.0
        tags = {m[0] for m in (match_tag(line) for line in lines[1:30]) if m}
        return 0.95 if len(tags & {"VN", "DB", "UI", "TI", "AU", "SO"}) >= 3 else 0.0

    def parse(self, source: Source) -> ParseResult:
        """Parse every ``<N. >`` record; stray lines before the first are reported."""
        scanned = Scan(
            (source.text or "").lstrip("\ufeff"), match_tag, start_tags=frozenset({RECORD}), bare_lines_continue=True
        )
        records, problems = collect(scanned, map_block, what="Ovid")
        problems.extend(stray_problems(scanned.stray, "Ovid"))
        counts = Counter(str(record.fields["source_database"]) for record in records)
        return ParseResult(
            records=records,
            problems=problems,
            found=scanned.found,
            database=counts.most_common(1)[0][0] if counts else "Ovid",
            database_counts=dict(counts),
        )
