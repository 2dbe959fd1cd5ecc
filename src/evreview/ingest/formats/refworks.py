"""RefWorks tagged format (``RT Journal Article`` / ``A1 ...`` / ``T1 ...``), one record per ``RT`` line.

What RefWorks itself exports for other RefWorks users, and what CNKI and citation.js write (no
such export is among the shared fixtures: the tests use synthetic records in these layouts). A
line is a two-character tag, a space (a tab or a no-break space in hand-edited files) and the
value. ``RT`` (the reference type) opens each record, and only ``RT``: records are usually
separated by blank lines, but a field may hold one (a note of several paragraphs, as Zotero
writes it), so a blank line ends nothing. A tag line right after a blank line inside a record is
a warning, since a record whose ``RT`` line is missing joins the one before it there (as does a
second ``T1``). A line without a known tag continues the previous field, as the format allows.

Only the tags of the RefWorks specification, in capitals, count as tags (and CNKI's ``vo``). An abstract's wrapped
line that happens to start with two capitals and a space ("US policy ...") still continues the
abstract; one that starts with a tag ("AD patients ...", Alzheimer's disease) cannot be told
from that tag's line, which is why exporters write each field on one line.

Where exporters differ:
- ``A1`` holds one author per line in RefWorks' own exports ("Last, First"). citation.js writes
  "First Last", and CNKI writes all of a record's authors on one line, separated by ``;``.
- Pages are ``SP`` (start) and ``OP`` ("other pages", the end page). CNKI writes the whole
  range in ``OP`` alone, and the volume as ``vo``.
- ``SN`` holds an ISSN or an ISBN.
- The journal is ``JF`` (full title), else ``JO`` (abbreviated), else ``T2`` (the secondary
  title: the book of a book section).
"""

from __future__ import annotations

import re

from evreview.ingest.formats._tabular import join_pages
from evreview.ingest.formats._tagged import (
    Block,
    Scan,
    collect,
    doi_among,
    first_nonblank_lines,
    keyword_items,
    last_record_warning,
    raw_fields,
    split_items,
    split_standard_numbers,
    stray_problems,
    text_of,
    values_of,
)
from evreview.ingest.registry import ParseResult, Source, register

#: The tags of the RefWorks tagged format specification (Ex Libris, "RefWorks Tagged Format"),
#: plus the user fields U1-U5 and the CNKI/Zotero extras seen in exports (SL, LL, OL, WT, WV).
KNOWN_TAGS = frozenset({
    "RT", "SR", "ID", "A1", "A2", "A3", "A4", "A5", "A6", "T1", "T2", "T3", "JF", "JO", "YR", "FD", "VO", "IS",
    "SP", "OP", "K1", "AB", "NO", "ED", "PB", "PP", "SN", "AV", "AD", "AN", "LA", "CL", "SF", "OT", "LK", "DO",
    "CN", "DB", "DS", "IP", "RD", "ST", "U1", "U2", "U3", "U4", "U5", "UL", "SL", "LL", "CR", "WT", "WV", "WP", "OL",
})
_TAG = re.compile(r"^([A-Za-z][A-Za-z0-9])(?:[ \t\u00a0]+(.*)|[ \t\u00a0]*)$")
#: Tags CNKI writes in lower case (``vo 23``, ``vo`` when empty). Only these: a wrapped line that
#: starts "do ..." or "is ..." is text, not a DOI or an issue.
_LOWER_TAGS = {"vo": "VO"}
_DASH = re.compile(r"[-\u2010-\u2015\u2212]")
#: Tags that make a block recognisably a RefWorks record when sniffing (besides ``RT``).
_CORE_TAGS = frozenset({"A1", "T1", "JF", "JO", "YR", "FD", "VO", "SP", "OP", "AB", "K1", "PB", "DO", "UL"})
_CUT = "file ends mid-line: the last record may be truncated; parsed what is there"


def match_tag(line: str) -> tuple[str, str] | None:
    """``("T1", "value")`` for a ``T1 value`` line of a known tag, else ``None``."""
    match = _TAG.match(line)
    if match is None:
        return None
    tag = match.group(1)
    tag = tag if tag in KNOWN_TAGS else _LOWER_TAGS.get(tag)
    return None if tag is None else (tag, (match.group(2) or "").strip())


def _pages(block: Block) -> str:
    """``SP``-``OP``, or whichever of the two is there (CNKI writes the range in ``OP``); a
    range already in ``SP`` stays as it is."""
    start, other = text_of(block, "SP"), text_of(block, "OP")
    return start if _DASH.search(start) else join_pages(start, other)


def map_block(block: Block) -> tuple[dict[str, object], dict[str, object]]:
    """Record fields and raw tags of one RefWorks record."""
    titles = block.by_tag.get("T1", [])
    if len(titles) > 1:  # a record has one title: an RT line missing before the second?
        block.notes.append((titles[1].line, "a second T1 line: if a record's RT line is missing, two records are read "
                            "as one (the first title kept)"))
    issn, isbn = split_standard_numbers(values_of(block, "SN"))
    urls = values_of(block, "UL") or values_of(block, "LK")
    fields: dict[str, object] = {
        "source_id": text_of(block, "AN"),
        "source_database": text_of(block, "DB", "DS"),
        "title": text_of(block, "T1", "ST"),
        "abstract": " ".join(values_of(block, "AB")),  # a second AB continues the first
        # one author per A1 line, or several on one line separated by ";" (CNKI)
        "authors": split_items(values_of(block, "A1"), ";"),
        "year": text_of(block, "YR", "FD"),
        "journal": text_of(block, "JF", "JO", "T2"),
        "volume": text_of(block, "VO"),
        "issue": text_of(block, "IS"),
        "pages": _pages(block),
        "doi": doi_among(block, "DO", "UL", "LK"),  # DO holds it; some exports only a doi.org link
        "issn": issn,
        "isbn": isbn,
        "keywords": keyword_items(block, "K1"),
        "language": text_of(block, "LA"),
        "doc_type": text_of(block, "RT"),  # "Book, Section": a chapter (records.normalise_doc_type)
        "url": urls[0] if urls else "",
    }
    return fields, dict(raw_fields(block.entries))


@register
class RefWorksTaggedReader:
    """Reader for the RefWorks tagged format."""

    name = "refworks"
    priority = 50

    def sniff(self, source: Source) -> float:
        """Sure when the first line is an ``RT`` line and tag lines with the usual tags follow.

        A fifth of the lines is enough: an abstract wrapped over many lines lowers the share, and
        prose that opens with "RT" has no ``A1``/``T1``/``YR`` lines.
        """
        lines = first_nonblank_lines(source.head, 80)
        first = match_tag(lines[0]) if lines else None
        if first is None or first[0] != "RT":
            return 0.0
        tags = [m[0] for m in (match_tag(line) for line in lines) if m]
        if len(tags) / len(lines) >= 0.2 and len(set(tags) & _CORE_TAGS) >= 2:
            return 0.9
        return 0.0

    def parse(self, source: Source) -> ParseResult:
        """Parse every record: an ``RT`` line opens one (a tag line before any ``RT`` too, with a warning)."""
        text = source.text or ""
        scanned = Scan(
            text, match_tag, start_tags=frozenset({"RT"}), bare_lines_continue=True, note_tag_after_blank=True
        )
        records, problems = collect(scanned, map_block, what="RefWorks tagged")
        if text and not text.endswith("\n"):
            problems.extend(last_record_warning(records, scanned.last, _CUT))
        problems.extend(stray_problems(scanned.stray, "RefWorks tagged"))
        return ParseResult(records=records, problems=problems, found=scanned.found)
