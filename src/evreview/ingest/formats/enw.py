"""EndNote / Refer tagged exports (``.enw``, ``.txt``): lines ``%X value``, records split by blank lines.

The tag is ``%`` plus one character. Records are separated by blank lines and their tags come
in any order (the AIS eLibrary puts ``%T`` before ``%0``, and omits ``%0`` on some records), so
a record is a blank-line block, not a ``%0``-started run. But a record has one ``%0`` (its
reference type): a second one inside a block is the next record, written with no blank line
between them (hand-joined files, some tools' exports), and the block is split there, with a
warning (see :class:`~evreview.ingest.formats._tagged.Scan`'s ``repeat_starts``). A line
without a ``%`` tag continues the previous field, as Refer allows.
"""

from __future__ import annotations

import re

from evreview.ingest.formats._tagged import (
    Block,
    Scan,
    collect,
    doi_among,
    first_nonblank_lines,
    keyword_items,
    raw_fields,
    split_standard_numbers,
    stray_problems,
    text_of,
    values_of,
)
from evreview.ingest.registry import ParseResult, Problem, Source, register
from evreview.records import ovid_database

_TAG = re.compile(r"^%([0-9A-Za-z@!#$&()*+^~\[\]|?<>=])(?: (.*)|)$")
#: The tags that make a block recognisably a Refer/EndNote record when sniffing.
_CORE_TAGS = frozenset({"0", "T", "A", "D", "J", "B", "V", "P", "U", "X", "K", "@"})


#: EndNote reference types the shared normaliser would misread ("Book Section" is a chapter).
_REFERENCE_TYPES = {"book section": "Chapter", "electronic book section": "Chapter"}


def match_tag(line: str) -> tuple[str, str] | None:
    """``("T", "value")`` for a ``%T value`` line, else ``None``."""
    match = _TAG.match(line)
    if match is None:
        return None
    return match.group(1), (match.group(2) or "").rstrip()


def map_block(block: Block) -> tuple[dict[str, object], dict[str, object]]:
    """Record fields and raw tags of one Refer record."""
    issn, isbn = split_standard_numbers(values_of(block, "@"))
    doc_type = text_of(block, "0")
    doc_type = _REFERENCE_TYPES.get(doc_type.lower(), doc_type)
    journal = text_of(block, "J", "B")
    if not journal and doc_type == "Chapter":
        journal = text_of(block, "S")
    urls = values_of(block, "U")
    database = text_of(block, "W")
    fields: dict[str, object] = {
        "source_id": text_of(block, "M"),
        "source_database": ovid_database(database) or database,  # Ovid's segment dropped, as in RIS
        "title": text_of(block, "T"),
        "abstract": text_of(block, "X"),
        "authors": values_of(block, "A") or values_of(block, "Q"),
        "year": text_of(block, "D", "8"),
        "journal": journal,
        "volume": text_of(block, "V"),
        "issue": text_of(block, "N"),
        "pages": text_of(block, "P"),
        "doi": doi_among(block, "R", "U"),  # %R holds it; some exports only a doi.org URL in %U
        "issn": issn,
        "isbn": isbn,
        "keywords": keyword_items(block, "K"),
        "language": text_of(block, "G"),
        "doc_type": doc_type,
        "url": urls[0] if urls else "",
    }
    return fields, dict(raw_fields(block.entries))


def _refer_share(lines: list[str]) -> tuple[float, set[str]]:
    tags = [m[0] for m in (match_tag(line) for line in lines) if m]
    return (len(tags) / len(lines) if lines else 0.0), set(tags)


@register
class EndNoteTaggedReader:
    """Reader for EndNote/Refer tagged exports."""

    name = "enw"
    priority = 50

    def sniff(self, source: Source) -> float:
        """Fairly sure when most non-blank lines are ``%X`` tag lines with the usual tags.

        The share test keeps LaTeX/BibTeX comments (``% ...``, ``%%``) and CSV from matching.
        """
        lines = first_nonblank_lines(source.head, 80)
        if not lines or match_tag(lines[0]) is None:
            return 0.0
        share, tags = _refer_share(lines)
        if share >= 0.6 and len(tags & _CORE_TAGS) >= 2 and ("T" in tags or "0" in tags):
            return 0.9 if "0" in tags else 0.8
        return 0.0

    def parse(self, source: Source) -> ParseResult:
        """Parse every blank-line-separated record (a second ``%0`` in a block starts another)."""
        text = source.text or ""
        scanned = Scan(text, match_tag, blank_ends_record=True, bare_lines_continue=True, repeat_starts={"0": "%0"})
        records, problems = collect(scanned, map_block, what="EndNote tagged")
        last_kept = bool(records) and scanned.last is not None and records[-1].line == scanned.last.line
        if last_kept and not text.endswith("\n"):
            problems.append(
                Problem(
                    reason="file ends mid-line: the last record may be truncated; parsed what is there",
                    index=len(records) - 1,
                    line=records[-1].line,
                    severity="warning",
                )
            )
        problems.extend(stray_problems(scanned.stray, "EndNote tagged"))
        return ParseResult(records=records, problems=problems, found=scanned.found)
