"""Shared machinery for tag-per-line exports (Web of Science tagged, MEDLINE, EndNote/Refer).

These formats share one shape: a line starts with a short tag and carries a value, a field
may continue on following lines, and records are delimited by a start tag (``PT``, ``PMID``),
an end tag (``ER``) or blank lines. :class:`Scan` turns the lines into :class:`Block` objects
(one per record start) and keeps every line it could not place, so each reader only has to
map tags to record fields and never silently loses text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from evreview.ingest.registry import ParsedRecord, Problem
from evreview.records import clean_doi, clean_text

#: ``(tag, value)`` of a tag line, or ``None`` when the line is not one.
TagMatcher = Callable[[str], "tuple[str, str] | None"]


@dataclass
class Entry:
    """One tagged field occurrence: its tag, its lines (first + continuations), its line number."""

    tag: str
    lines: list[str]
    line: int


@dataclass
class Block:
    """The lines of one record as scanned, before any field mapping.

    ``closed`` is False when the record's end marker was never seen (a truncated export);
    ``notes`` are caveats (line number, text) the reader reports as warnings.
    """

    line: int
    entries: list[Entry] = field(default_factory=list)
    closed: bool = True
    notes: list[tuple[int, str]] = field(default_factory=list)

    def tags(self) -> set[str]:
        return set(self.by_tag)

    @cached_property
    def by_tag(self) -> dict[str, list[Entry]]:
        """Occurrences per tag, in file order (built once: readers look up ~20 tags per record)."""
        index: dict[str, list[Entry]] = {}
        for entry in self.entries:
            index.setdefault(entry.tag, []).append(entry)
        return index


class Scan:
    """The records of a tag-per-line text, produced one :class:`Block` at a time.

    Iterating yields each record's block as soon as it is complete, so a reader maps it and
    lets it go: a 40 MB export never holds every line object at once (which also spares the
    garbage collector most of its work). After iteration, ``header`` holds file-level tags
    (``FN``, ``VR``, ``EF``), ``stray`` the non-blank lines outside every record, ``found``
    the number of blocks and ``last`` the final one.

    A tag in ``start_tags`` always opens a new record (closing an open one without its end
    marker); a tag in ``end_tags`` closes the record; a tag in ``header_tags`` is file metadata
    and closes any open record. With ``blank_ends_record`` a blank line also closes it, and
    any tag line outside a record opens one (MEDLINE, Refer); without it, a non-header tag
    outside a record opens one with a caveat (a WoS record missing ``PT``). Indented lines
    continue the previous field. A non-indented line that is not a tag line continues it
    too, but is noted as a caveat unless ``bare_lines_continue`` (Refer allows untagged
    continuation lines).

    A tag in ``repeat_starts`` (tag -> the tag as written, for messages) opens a new record
    when the open one already has it: a Refer record holds one ``%0`` (its reference type), so
    a second one is the next record, written with no blank line before it. The entries just
    before it that repeat, tag for tag, what the open record had before its own ``%0`` (the
    AIS eLibrary writes ``%T`` first) go with it. The split is counted in ``found`` and noted
    on the new record as a caveat.

    With ``note_tag_after_blank`` (records opened by ``start_tags`` only, blank lines inside a
    record allowed), a tag line other than a start tag right after a blank line inside a record
    is noted as a caveat: there a record whose start line is missing joins the one before it.
    """

    def __init__(
        self,
        text: str,
        match_tag: TagMatcher,
        *,
        start_tags: frozenset[str] = frozenset(),
        end_tags: frozenset[str] = frozenset(),
        header_tags: frozenset[str] = frozenset(),
        blank_ends_record: bool = False,
        bare_lines_continue: bool = False,
        repeat_starts: Mapping[str, str] | None = None,
        note_tag_after_blank: bool = False,
    ) -> None:
        self.text = text
        self.match_tag = match_tag
        self.start_tags = start_tags
        self.end_tags = end_tags
        self.header_tags = header_tags
        self.blank_ends_record = blank_ends_record
        self.bare_lines_continue = bare_lines_continue
        self.repeat_starts = repeat_starts or {}
        self.note_tag_after_blank = note_tag_after_blank
        self.header: list[Entry] = []
        self.stray: list[tuple[int, str]] = []
        self.found = 0
        self.last: Block | None = None

    def _open(self, number: int, tag: str) -> Block:
        self.found += 1
        block = Block(line=number)
        self.last = block
        if self.start_tags and tag not in self.start_tags and not self.blank_ends_record:
            block.notes.append((number, f"record does not start with {'/'.join(sorted(self.start_tags))}"))
        return block

    def _unclosed(self, block: Block) -> Block:
        if self.end_tags:
            block.closed = False  # the record ended before its end marker
        return block

    def _split(self, current: Block, first: int, number: int, tag: str) -> Block:
        """The record a repeated ``tag`` (line ``number``) starts inside ``current``, whose own
        ``tag`` is its entry ``first``; the entries before it that mirror ``current``'s lead-in
        (the tags it had before its ``tag``, in order) move to the new record."""
        lead = [entry.tag for entry in current.entries[:first]]
        entries = current.entries
        moved: list[Entry] = []
        if lead and len(entries) - len(lead) > first and [e.tag for e in entries[-len(lead) :]] == lead:
            moved = entries[-len(lead) :]
            del entries[-len(lead) :]
        block = self._open(moved[0].line if moved else number, tag)
        block.entries.extend(moved)
        shown = self.repeat_starts[tag]
        where = f" on line {number}" if moved else ""
        note = (
            f"a second {shown}{where} inside the record that starts on line {current.line}, with no blank line "
            f"between (a record has one {shown}): a new record starts here"
        )
        if moved:
            prefix = shown[: len(shown) - len(tag)]
            lead = ", ".join(prefix + entry.tag for entry in moved)
            note += f", at the {lead} before that {shown}, as the record before it starts"
        block.notes.append((block.line, note))
        return block

    def __iter__(self) -> Iterator[Block]:
        match_tag = self.match_tag
        repeat_starts = self.repeat_starts
        current: Block | None = None
        last_header: Entry | None = None
        starts: dict[str, int] = {}  # repeat_starts tags of the open record: tag -> its entry index
        after_blank = False
        for number, line in enumerate(self.text.split("\n"), start=1):
            if not line.strip():
                if self.blank_ends_record and current is not None:
                    yield current
                    current = None
                last_header = None
                after_blank = True
                continue
            blank_before, after_blank = after_blank, False
            is_indented = line[0] in " \t"
            tagged = None if is_indented else match_tag(line)
            if tagged is not None:
                tag, value = tagged
                if tag in self.header_tags:
                    if current is not None:
                        yield self._unclosed(current)
                        current = None
                    last_header = Entry(tag, [value], number)
                    self.header.append(last_header)
                    continue
                last_header = None
                if blank_before and self.note_tag_after_blank and current is not None and tag not in self.start_tags:
                    start = "/".join(sorted(self.start_tags))
                    current.notes.append((
                        number,
                        f"{tag} after a blank line inside the record that starts on line {current.line}: if a "
                        f"record's {start} line is missing here, two records are read as one",
                    ))
                if current is None or tag in self.start_tags:
                    if current is not None:
                        yield self._unclosed(current)
                    current = self._open(number, tag)
                    starts = {}
                if tag in repeat_starts:
                    if tag in starts:
                        following = self._split(current, starts[tag], number, tag)
                        yield self._unclosed(current)
                        current, starts = following, {}
                    starts[tag] = len(current.entries)
                current.entries.append(Entry(tag, [value], number))
                if tag in self.end_tags:
                    yield current
                    current = None
                continue
            if current is not None and current.entries:
                previous = current.entries[-1]
                previous.lines.append(line.strip() if is_indented else line.rstrip())
                if not is_indented and not self.bare_lines_continue:
                    current.notes.append(
                        (number, f"untagged line kept as a continuation of {previous.tag}: {_shorten(line)}")
                    )
            elif last_header is not None and is_indented:
                last_header.lines.append(line.strip())
            else:
                self.stray.append((number, line))
        if current is not None:
            yield self._unclosed(current)


def _shorten(text: str, limit: int = 60) -> str:
    text = text.strip()
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


# ---- reading fields out of a block -------------------------------------------------------


def raw_fields(entries: Iterable[Entry]) -> dict[str, str | list[str]]:
    """All fields exactly as exported (continuation lines joined with ``\\n``), for ``raw``.

    A tag seen once maps to its string; a repeated tag maps to the list of its values, in order.
    """
    out: dict[str, str | list[str]] = {}
    for entry in entries:
        value = "\n".join(entry.lines)
        if entry.tag not in out:
            out[entry.tag] = value
        else:
            existing = out[entry.tag]
            if isinstance(existing, list):
                existing.append(value)
            else:
                out[entry.tag] = [existing, value]
    return out


def text_of(block: Block, *tags: str) -> str:
    """The first non-empty occurrence of the first tag present, continuation lines joined with spaces.

    Used for free text (titles, abstracts, journal names) wrapped over several lines.
    """
    for tag in tags:
        for entry in block.by_tag.get(tag, ()):
            value = clean_text(" ".join(entry.lines))
            if value:
                return value
    return ""


def values_of(block: Block, tag: str) -> list[str]:
    """Each occurrence of ``tag`` as one value (continuations joined with spaces), empty ones dropped."""
    out = []
    for entry in block.by_tag.get(tag, ()):
        value = clean_text(" ".join(entry.lines))
        if value:
            out.append(value)
    return out


def lines_of(block: Block, tag: str) -> list[str]:
    """Every line of every occurrence of ``tag`` as its own value (WoS ``AU``/``AF``: one per line)."""
    out = []
    for entry in block.by_tag.get(tag, ()):
        out.extend(v for v in (clean_text(line) for line in entry.lines) if v)
    return out


def doi_among(block: Block, *tags: str) -> str:
    """The first value of ``tags`` (in that order) that holds a DOI: a DOI tag first, then the
    links some exports give it in only (a doi.org URL); ``""`` when none does."""
    for tag in tags:
        for value in values_of(block, tag):
            if clean_doi(value):
                return value
    return ""


def keyword_items(block: Block, tag: str) -> list[str]:
    """Keywords of ``tag``: one per tag line, or several per line separated by ``;`` or new lines."""
    return split_items(["\n".join(e.lines) for e in block.by_tag.get(tag, [])], ";\n")


def split_items(values: Iterable[str], separators: str = ";") -> list[str]:
    """Split each value on any of ``separators``; cleaned, empty items dropped, order kept."""
    pattern = "[" + re.escape(separators) + "]"
    out: list[str] = []
    for value in values:
        out.extend(item for item in (clean_text(part) for part in re.split(pattern, value)) if item)
    return out


_ISBN = re.compile(r"^(?:97[89][-\s]?)?(?:\d[-\s]?){9}[\dXx]$")
_ISSN = re.compile(r"^\d{4}-?\d{3}[\dXx]$")


def split_standard_numbers(values: list[str]) -> tuple[str, str]:
    """``(issn, isbn)`` from values that hold either (EndNote's ``%@``, RefWorks' ``SN``): the first of each kind."""
    issn, isbn = "", ""
    for item in split_items(values, ";,"):
        bare = item.split()[0] if item.split() else ""
        if not issn and _ISSN.match(bare):
            issn = bare
        elif not isbn and _ISBN.match(bare.replace(" ", "")):
            isbn = bare
    return issn, isbn


def has_content(fields: dict[str, object]) -> bool:
    """Whether a mapped record carries anything a review can use (else it is reported, not kept)."""
    keys = ("title", "abstract", "authors", "doi", "source_id", "journal", "pmid", "isbn", "url")
    return any(fields.get(k) for k in keys)


# ---- assembling a ParseResult ------------------------------------------------------------


def stray_problems(stray: list[tuple[int, str]], what: str) -> list[Problem]:
    """Warnings for non-blank lines found outside every record (never silently skipped)."""
    return [
        Problem(reason=f"line outside any {what} record ignored: {_shorten(text)}", line=number, severity="warning")
        for number, text in stray
    ]


def collect(
    blocks: Iterable[Block],
    mapper: Callable[[Block], tuple[dict[str, object], dict[str, object]]],
    *,
    what: str,
    end_marker: str = "",
) -> tuple[list[ParsedRecord], list[Problem]]:
    """Map each block to a record, turning empty blocks into errors and caveats into warnings.

    A warning's ``index`` is the record's position in the records returned (its row in the
    table); an error has no row, so it has no index and names the record by its line and by
    its number among the records found.
    """
    records: list[ParsedRecord] = []
    problems: list[Problem] = []
    for position, block in enumerate(blocks):
        fields, raw = mapper(block)
        if not has_content(fields):
            tags = ", ".join(sorted(block.tags())) or "none"
            problems.append(
                Problem(
                    reason=f"{what} record {position + 1} has no usable fields (tags: {tags}); not ingested",
                    index=None,
                    line=block.line,
                    severity="error",
                )
            )
            continue
        index = len(records)
        records.append(ParsedRecord(fields=fields, raw=raw, line=block.line))
        for number, note in block.notes:
            problems.append(Problem(reason=f"line {number}: {note}", index=index, line=block.line, severity="warning"))
        if not block.closed and end_marker:
            problems.append(
                Problem(
                    reason=f"record has no {end_marker} line (export truncated?); parsed what is there",
                    index=index,
                    line=block.line,
                    severity="warning",
                )
            )
        if not fields.get("title"):
            problems.append(Problem(reason="record has no title", index=index, line=block.line, severity="warning"))
    return records, problems


def last_record_warning(records: list[ParsedRecord], last: Block | None, reason: str) -> list[Problem]:
    """``reason`` as a warning on the last record, when that record is the file's last block.

    Truncation shows at the end of a file: a reader that judged its last block cut off calls
    this, and gets nothing back when that block was not kept (an error already names it).
    """
    if last is None or not records or records[-1].line != last.line:
        return []
    return [Problem(reason=reason, index=len(records) - 1, line=last.line, severity="warning")]


def first_nonblank_lines(text: str, limit: int = 40) -> list[str]:
    """The first ``limit`` non-blank lines (for sniffing), BOM and leading blank lines skipped."""
    out = []
    for line in text.lstrip("\ufeff").split("\n"):
        if line.strip():
            out.append(line)
            if len(out) >= limit:
                break
    return out
