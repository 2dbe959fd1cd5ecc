"""RIS reader: every dialect of ``TY  - ``...``ER  - `` exports the review databases write.

Dialects handled (all present in ``../shared/fixtures/exports``):

* Scopus (``DB  - Scopus``, ``M3`` document types, the EID only in its ``UR`` link, the article
  number in ``C7``), Web of Science as RIS (``AN  - WOS:``, the article number in ``C7``),
  EBSCOhost (``DP  - EBSCOhost``, ``DB  - psyh``), ProQuest (``AN  - id; id``, ``JF``),
  Embase.com (``Y1`` not ``PY``, ``U2`` accession, ``C5`` MEDLINE PMID), Dimensions
  (``AN  - pub.NNN``, ``U1  - 123 [PMID]``), Rayyan (``AN  - rayyan-NNN``), EndNote-written RIS
  (alphabetical tags, ``AN`` = PMID when ``DP  - NLM``).
* Ovid: a bare record-number line (``12.``) before each record, ``T1/A1/Y1/N2`` tags,
  ``DO`` as a ``http://dx.doi.org/`` URL, an ``NL`` tag *after* ``ER`` and a
  "Link to the Ovid Full Text or citation:" line between records. Number lines are skipped;
  tagged lines directly after ``ER`` (no blank line between) are kept as the preceding
  record's tags, and the Ovid link line in that record's ``raw["_trailing"]``. MEDLINE-derived
  Ovid records carry the PMID only as ``AN=`` in their ``L2`` link; it becomes ``pmid``.
* Continuation lines without a tag (EndNote ``AD``/``N1``/``SN``, Rayyan ``KW``, Dimensions
  multi-paragraph ``AB``) belong to the previous tag: a new item for list tags (authors,
  keywords, addresses, notes, identifiers, links), otherwise the same value (``raw`` keeps the
  line break; the normalised field joins with a space).

Problems are reported, never dropped: a record not closed by ``ER`` (at the end of the file,
or before the next ``TY``) is parsed with a warning; other content between records is a
warning naming its lines; a ``TY``..``ER`` block without any field, or tagged lines closed by
``ER`` without a ``TY``, is an error (counted in ``found``, not in the records).

Why a hand-written tokenizer and not rispy
-------------------------------------------
The design asks for maintained parsers where they handle the format, so rispy 0.10 was
measured first (``benchmarks/ingest_ris.py``: 102,000 records, 255 MB, a shared 2-core
machine): ``rispy.load`` alone takes 11.2-12.0 s CPU (18-56 s wall, depending on the load) and
531 MB peak RSS, before any normalisation, Parquet or line bookkeeping. A reader built on it
cannot serve the ingest contract either: rispy reports no line numbers, silently drops a last
record without ``ER``, content between records and a record whose ``TY`` is missing.
Recovering those needs a second pass over the text, so "rispy + bookkeeping" is necessarily
slower than rispy alone, while the target is the whole ingest within rispy's raw parse time.

So this module tokenises itself, and keeps the per-line Python work small: the text is cut
at ``ER`` lines with ``str.find``; within a record one regex ``findall`` (in C) yields the
``(tag, value)`` pairs when every line is tagged (most exports), and a line loop handles
records with continuation or blank lines; line numbers come from counting newlines; the
cyclic GC is paused during the parse (it finds nothing to free but cost ~20 % of the time).
rispy's tag table (``LIST_TYPE_TAGS``) decides which tags are lists, and values are stored
in their ``raw`` form from the start (a ``str``, a ``list`` only for repeated tags) to save a
million one-item lists. The reader alone — tokenise, line numbers, problems *and* mapping to
record fields — takes 9.8-10.2 s CPU on the same file (rispy: 11.2-12.0 s for the raw
tokenise only); tokenising alone is about 2x faster than rispy. The differential test in
``tests/test_format_ris.py`` compares titles, authors and DOIs with ``rispy.loads`` record
by record on every shared RIS export, so the hand-written tokenizer stays honest.

The reader streams (``ParseResult.records`` is a generator), so the driver normalises and
writes 10k-record batches (``evreview ingest --out x.parquet``) without holding the whole
file's records; on the same file that path takes ~16 s CPU in one process (see the
benchmark's ``--profile`` output for where the time goes). A large file is therefore cut
into parts (:func:`next_part_start`: at a ``TY`` line right after an ``ER`` line, where no
state carries over) that worker processes parse with :meth:`RisReader.parse_part`, each told
its first line; see :mod:`evreview.ingest.parallel`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from rispy.config import LIST_TYPE_TAGS

from evreview.ingest.formats._ids import EBSCO_AN_IN_URL, scopus_eid
from evreview.ingest.registry import ParsedRecord, ParseResult, Problem, Source, register
from evreview.records import (
    CDSR,
    CENTRAL,
    MAX_NUMBERING,
    clean_doi,
    normalise_doc_type,
    ovid_database,
    parse_year,
)

#: Tags whose continuation lines are separate items rather than the same value's next line.
#: rispy's list tags plus those EndNote writes one-per-line without repeating the tag.
LIST_TAGS: frozenset[str] = frozenset(LIST_TYPE_TAGS) | {
    "AD",
    "SN",
    "L1",
    "L2",
    "L3",
    "L4",
    "LK",
    "C3",
    "U1",
    "DB",
    "DP",
    "ED",
}

_TAG_LINE = re.compile(r"^([A-Z][A-Z0-9])  -(.*)$", re.MULTILINE)
_TAG = re.compile(r"[A-Z][A-Z0-9]")
#: A longer tag some exports add beside the two-character ones (APA PsycNET's ``PMID  - 123``
#: and ``DESCRIPTORS  - *Memory; Recall``). Read as a continuation line it vanished into the
#: value above it (the record's ``TY``).
_LONG_TAG = re.compile(r"([A-Z][A-Z0-9]{2,14})  -(?: (.*))?$")
_TAG_OK: dict[str, bool] = {}
_OVID_LINK = "Link to the Ovid Full Text or citation:"
_TRUNCATED = "record not terminated by ER: file may be truncated"

#: One record's tags in ``raw`` form: a tag seen once maps to its ``str``, a repeated tag to
#: the ``list`` of its values. Built that way while scanning, so a 100k-record file does not
#: allocate (and hold) a million one-item lists.
Tags = dict[str, Any]


def _add(tags: Tags, tag: str, value: str) -> None:
    """Record one more value of ``tag`` (str for the first, list from the second on)."""
    held = tags.get(tag)
    if held is None:
        tags[tag] = value
    elif type(held) is str:
        tags[tag] = [held, value]
    else:
        held.append(value)


def _all(tags: Tags, tag: str) -> list[str] | tuple[str, ...]:
    """Every value of ``tag`` as a sequence (empty when absent)."""
    held = tags.get(tag)
    if held is None:
        return ()
    return (held,) if type(held) is str else held


def _is_tag(tag: str) -> bool:
    """Whether a two-character line prefix is an RIS tag (cached: tags are few, lines many)."""
    ok = _TAG_OK.get(tag)
    if ok is None:
        ok = _TAG_OK[tag] = _TAG.fullmatch(tag) is not None
    return ok


def _is_number_line(stripped: str) -> bool:
    """Ovid's record-number line between records: ``12.``."""
    return len(stripped) > 1 and stripped[-1] == "." and stripped[:-1].isdigit()


#: The header the Cochrane Library (Wiley) and JSTOR write before every record of a RIS
#: download, and APA PsycNET, Engineering Village and Ingenta Connect once before the first:
#: "Record #3 of 18", "Provider: John Wiley & Sons, Ltd.", "Database: JSTOR",
#: "Content: text/plain; charset="UTF-8"" or "Content: application/x-research-info-systems".
#: It is not a lost record, so it is skipped without a warning (one per record drowned the
#: file's real problems); its Provider and Database lines name the database of the records
#: after it (see :data:`Header`).
_EXPORT_HEADER = re.compile(
    r"Record #\d+ of \d+|(?:Provider|Database): .*|Content: (?:text/plain|application/x-research-info-systems)\b.*"
)
#: The header's ``(Provider, Database)`` in force: a Provider line starts a new header (its
#: Database still unknown), a Database line completes it. APA PsycNET writes no DB or DP tag
#: in its records (``Database: PsycINFO`` in the header is the only word on it), nor do older
#: JSTOR downloads: their records were "unknown database" without ``--database``.
Header = tuple[str, str]
_NO_HEADER: Header = ("", "")
#: A header in a part's bytes (:meth:`RisReader.part_context`): Provider, Database (the
#: Cochrane Library has none), Content lines, as every export seen writes them.
_HEADER_BYTES = re.compile(
    rb"^Provider: ([^\r\n]*)\r?\n(?:Database: ([^\r\n]*)\r?\n)?Content: ", re.MULTILINE
)


def _next_header(header: Header, kind: str, value: str) -> Header:
    """The header in force after a ``Provider: value`` or ``Database: value`` line."""
    value = value.strip()
    return (value, "") if kind == "Provider" else (header[0], value)


def _excerpt(text: str, limit: int = 60) -> str:
    text = text.strip()
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


class _Scan:
    """Tokenised file: records as ``(first line, tags)``, problems, and the error count."""

    def __init__(self) -> None:
        self.records: list[tuple[int, Tags]] = []
        self.problems: list[Problem] = []
        self.errors = 0
        #: tags of the record the last ``ER`` closed, if it was kept (Ovid trailer lines join it)
        self.previous: Tags | None = None
        #: an Ovid record-number line ("12.") was seen since the last record: the next one is Ovid's
        self.numbered = False
        #: first lines of records preceded by an Ovid record-number line
        self.ovid_lines: set[int] = set()
        #: the export header in force (a part of a file starts with the one before it)
        self.header: Header = _NO_HEADER
        #: first lines of records with a header that names a database -> that header
        self.headers: dict[int, Header] = {}

    def close(self, line: int, tags: Tags, end_line: int) -> None:
        """Keep a finished TY..ER block, or report it as an error when it has no field at all."""
        numbered, self.numbered = self.numbered, False
        for tag, values in tags.items():
            if tag != "TY" and (values if type(values) is str else any(values)):
                self.records.append((line, tags))
                self.previous = tags
                if numbered:
                    self.ovid_lines.add(line)
                if self.header[1]:
                    self.headers[line] = self.header
                return
        self.previous = None
        self.errors += 1
        self.problems.append(Problem(f"empty record: TY..ER block (lines {line}-{end_line}) has no fields", line=line))

    def warn(self, reason: str, line: int) -> None:
        self.problems.append(Problem(reason, line=line, severity="warning"))

    def gap(self, text: str, first_line: int, closes_headless: int | None = None) -> None:
        """Content between records (``text`` starts right after an ``ER`` line, or at the file start).

        Blank and Ovid number lines are skipped. Tagged lines directly after ``ER`` (Ovid's
        ``NL``) join the previous record, as does Ovid's link line (in ``_trailing``); anything
        else is one warning naming its lines. When the gap is closed by an ``ER`` line
        (``closes_headless`` = its line), its tagged lines were a record without ``TY``: an error.
        """
        if not text.strip():
            if closes_headless is not None:
                self.headless(closes_headless, closes_headless, "ER")
            return
        prev = self.previous if closes_headless is None else None
        contiguous = prev is not None and closes_headless is None
        rest: list[tuple[int, str]] = []
        for offset, line in enumerate(text.split("\n")):
            stripped = line.strip()
            if not stripped:
                contiguous = contiguous and offset == 0
                continue
            if _is_number_line(stripped):
                contiguous = False
                self.numbered = True
                continue
            if _EXPORT_HEADER.fullmatch(stripped):
                contiguous = False
                if stripped.startswith(("Provider: ", "Database: ")):
                    kind, _, value = stripped.partition(": ")
                    self.header = _next_header(self.header, kind, value)
                continue
            tagged = line[2:5] == "  -" and _is_tag(line[:2])
            if contiguous and tagged and prev is not None:
                _add(prev, line[:2], line[5:].strip())
                continue
            contiguous = False
            if prev is not None and closes_headless is None and stripped.startswith(_OVID_LINK):
                _add(prev, "_trailing", stripped)
                continue
            rest.append((first_line + offset, stripped))
        if closes_headless is not None:
            first = rest[0][0] if rest else closes_headless
            self.headless(first, closes_headless, rest[0][1] if rest else "ER")
        elif rest:
            first, last = rest[0][0], rest[-1][0]
            where = f"line {first}" if first == last else f"lines {first}-{last}"
            self.warn(f"content outside any TY..ER record ignored ({where}): {_excerpt(rest[0][1])}", first)

    def headless(self, first: int, er_line: int, shown: str) -> None:
        """Lines closed by ER without a TY: a damaged record, reported as not parsed."""
        self.previous = None
        self.errors += 1
        self.problems.append(
            Problem(
                f"record without a TY start line (lines {first}-{er_line}) not parsed: {_excerpt(shown)}",
                line=first,
            )
        )


def _tags_slow(body: str, lower: list[int] | None = None) -> Tags:
    """Tags of one record with continuation lines (no tag): a new item for :data:`LIST_TAGS`,
    else appended to the previous value after ``\\n``. Blank lines are skipped.

    A tag in lower case (``ti  - ...``, from a hand-edited file) is read as its tag: as a
    continuation it would vanish into the value above it (a title into ``TY``); the offsets
    of such lines in ``body`` go to ``lower`` so the caller can warn.
    """
    tags: Tags = {}
    last = ""
    for offset, line in enumerate(body.split("\n")):
        if line[2:5] == "  -" and _is_tag(line[:2]):
            last = line[:2]
            _add(tags, last, line[5:].strip())
            continue
        if line[2:5] == "  -" and line[:2].islower() and _is_tag(line[:2].upper()):
            last = line[:2].upper()
            _add(tags, last, line[5:].strip())
            if lower is not None:
                lower.append(offset)
            continue
        long_tag = _LONG_TAG.match(line) if line.find("  -", 3, 18) != -1 else None
        if long_tag:
            last = long_tag.group(1)
            _add(tags, last, (long_tag.group(2) or "").strip())
            continue
        stripped = line.strip()
        if not stripped or not last:
            continue
        if last in LIST_TAGS:
            _add(tags, last, stripped)
            continue
        held = tags[last]
        if type(held) is str:
            tags[last] = f"{held}\n{stripped}" if held else stripped
        else:
            held[-1] = f"{held[-1]}\n{stripped}" if held[-1] else stripped
    return tags


def _tags(body: str, lower: list[int] | None = None) -> Tags:
    """Tags of one record (``body`` runs from its ``TY`` line to just before ``ER``).

    Fast path: when every line is a tag line (most exports), one regex ``findall`` in C does
    the splitting; otherwise :func:`_tags_slow` handles continuation and blank lines (and
    lower-case tags, whose line offsets it adds to ``lower``).
    """
    pairs = _TAG_LINE.findall(body)
    if len(pairs) != body.count("\n") + (0 if body.endswith("\n") else 1):
        return _tags_slow(body, lower)
    tags: Tags = {}
    get = tags.get
    for tag, value in pairs:
        held = get(tag)
        if held is None:
            tags[tag] = value.strip()
        elif type(held) is str:
            tags[tag] = [held, value.strip()]
        else:
            held.append(value.strip())
    return tags


def _records(scan_: _Scan, body: str, line: int, end_line: int, terminated: bool) -> None:
    """Close the record(s) in ``body``: several when ``TY`` lines follow without ``ER``."""
    at = body.find("\nTY  -")
    if at == -1 and terminated:  # the usual case: one record, closed by its ER
        lower: list[int] = []
        scan_.close(line, _tags(body, lower), end_line)
        _warn_lower(scan_, body, line, lower)
        return
    starts = [0]
    while at != -1:
        starts.append(at + 1)
        at = body.find("\nTY  -", at + 1)
    for number, begin in enumerate(starts):
        finish = starts[number + 1] if number + 1 < len(starts) else len(body)
        part = body[begin:finish]
        first = line + body.count("\n", 0, begin)
        last_line = first + part.count("\n") - (1 if part.endswith("\n") else 0)
        if number + 1 < len(starts):
            scan_.warn(
                f"record starting at line {first} not terminated by ER before the next TY (line {last_line + 1})",
                first,
            )
        elif not terminated:
            scan_.warn(_TRUNCATED, first)
        lower = []
        scan_.close(first, _tags(part, lower), end_line if number + 1 == len(starts) else last_line)
        _warn_lower(scan_, part, first, lower)


def _warn_lower(scan_: _Scan, body: str, line: int, lower: list[int]) -> None:
    """One warning per record whose tags include lower-case ones (read as their upper-case tag)."""
    if lower:
        shown = body.split("\n", lower[0] + 1)[lower[0]]
        more = f" and {len(lower) - 1} more line(s)" if len(lower) > 1 else ""
        scan_.warn(
            f"RIS tag in lower case at line {line + lower[0]}{more} read as its upper-case tag: {_excerpt(shown)}",
            line,
        )


def _split_gap(segment: str) -> int:
    """Offset of the ``TY`` line in ``segment`` (-1 without one)."""
    if segment.startswith("TY  -"):
        return 0
    at = segment.find("\nTY  -")
    return at + 1 if at != -1 else -1


def iter_scan(text: str, out: _Scan, first_line: int = 1) -> Iterator[tuple[int, Tags]]:
    """Tokenise RIS text, yielding records as ``(first line, tags)`` while ``out`` collects problems.

    ``first_line`` is the file line number of the text's first line (a part of a file cut by
    :func:`next_part_start` is tokenised with its place in the file, so lines in records and
    problem messages are the file's).

    The text is cut at ``ER`` lines with ``str.find`` (C speed, one segment in memory at a
    time); in each segment, what precedes the ``TY`` line is gap content (see
    :meth:`_Scan.gap`) and the rest is the record. Line numbers come from counting newlines.

    A record is yielded only once the next segment's gap has been read, because Ovid's
    trailer lines after ``ER`` still join it (:meth:`_Scan.gap`); so at most one finished
    record waits, and memory stays one segment plus the caller's batch.
    """
    pos = 0
    line = first_line  # line number at ``pos``
    if text.startswith("ER  -"):
        out.headless(first_line, first_line, "ER")
        pos = text.find("\n")
        pos = len(text) if pos == -1 else pos
    records = out.records
    while True:
        er = text.find("\nER  -", pos)
        if er == -1:
            break
        # the segment is text[pos:stop]: searched and counted in place, one copy (the record)
        stop = er + 1
        er_line = line + text.count("\n", pos, stop)
        if text.startswith("TY  -", pos):
            ty = pos
        else:
            at = text.find("\nTY  -", pos, stop)
            ty = at + 1 if at != -1 else -1
        if ty == -1:
            out.gap(text[pos:stop], line, closes_headless=er_line)
        else:
            if ty > pos:
                out.gap(text[pos:ty], line)
            _records(out, text[ty:stop], line + text.count("\n", pos, ty), er_line, True)
        end = text.find("\n", stop)
        pos = len(text) if end == -1 else end
        line = er_line
        if len(records) == 2:
            yield records[0]
            del records[0]
        elif len(records) > 2:
            yield from records[:-1]
            del records[:-1]
    tail = text[pos:]
    ty = _split_gap(tail)
    if ty == -1:
        out.gap(tail, line)
    else:
        if ty:
            out.gap(tail[:ty], line)
        body = tail[ty:].rstrip("\n") + "\n"
        start = line + tail.count("\n", 0, ty)
        _records(out, body, start, start + body.count("\n") - 1, False)
    yield from out.records
    out.records.clear()


def scan(text: str) -> _Scan:
    """Tokenise RIS text into records of ``tag -> [values]`` with their 1-based first lines (all at once)."""
    out = _Scan()
    out.records = list(iter_scan(text, out))
    return out


_PART_ER = b"\nER  -"
_PART_TY = b"TY  -"


def next_part_start(data: bytes, start: int) -> int:
    """First offset at or after ``start`` where ``data`` (UTF-8 RIS bytes) can be cut into parts
    that tokenise exactly as the whole does; -1 when there is none.

    A cut goes at a ``TY`` line that follows an ``ER`` line with nothing but line breaks
    between them. There the whole-file scan has just closed a record and reads an empty gap,
    so nothing carries over: no Ovid trailer lines join the previous record, no stray
    content, no record without ``ER``. (The caller keeps files with bare ``\r`` line ends
    whole: there a part's lines are not its ``\n`` count.)
    """
    size = len(data)
    while True:
        er = data.find(_PART_ER, start)
        if er == -1:
            return -1
        end = data.find(b"\n", er + 1)
        if end == -1:
            return -1
        cut = end + 1
        while cut < size and data[cut] in (10, 13):  # \n, \r
            cut += 1
        if data[cut - 1] == 10 and data.startswith(_PART_TY, cut):
            return cut
        start = end


# --------------------------------------------------------------------------- field mapping

_ISSN = re.compile(r"\d{7}[\dX]")
_ISBN = re.compile(r"(?:\d{9}[\dX]|\d{13})")
_PAREN = re.compile(r"\([^)]*\)")
_OVID_AN = re.compile(r"[?&]AN=(\d{1,9})(?:&|$)")
_OVID_ACCESSION = re.compile(r"[?&]AN=([^&\s]+)")
_OVID_DB = re.compile(r"[?&]D=([a-z]+)")
_CLEAR_DOI = re.compile(r"(?:doi\.org/|\bdoi:\s*)(10\.\d{4,9}/\S+)", re.IGNORECASE)
_BARE_DOI = re.compile(r"10\.\d{4,9}/\S+")
#: Ovid MEDLINE writes the journal's NLM unique id (7-9 digits, older ones ending in "R"), alone or
#: beside Ovid's three-character journal code ("eag, 7805975", "9439514, b6e", "101676033",
#: "6dr, 2985151r") into IS for records without an issue: not an issue.
_OVID_IS_CODE = re.compile(r"(?:[a-z0-9]{3}, ?)?\d{7,9}r?(?:, ?[a-z0-9]{3})?", re.IGNORECASE)
#: A cited reference in IS ("Achenbach, T. (1991). Child Behavior Checklist/4-18. Burlington,
#: VT: ..."), which Zotero's re-export of Ovid PsycInfo records (asreview's ovid_zotero.ris)
#: writes for an article without an issue: no issue, and deduplication read it as issue 1991.
_REFERENCE_IN_IS = re.compile(r".{3,}\(\d{4}[a-z]?\)\. .{10,}")
#: EBSCOhost's record link ends its accession number (``...&db=aph&AN=176404503&site=ehost-live``,
#: read by ``_ids.EBSCO_AN_IN_URL``): the id its CSV export has in ``Accession Number``, which its
#: RIS writes only inside ``N1``.
#: Embase's record link (``embase.com/search/results?subaction=viewrecord&id=L2029880245``): the
#: Embase id that Covidence's, EPPI-Reviewer's and RefWorks' re-exports keep only there.
_EMBASE_ID = re.compile(r"embase\.com/.*?[?&]id=(L\d+)", re.IGNORECASE)
#: The site of an Embase.com record's link (``UR``).
_EMBASE_RECORD = "embase.com/"
#: An author who is initials alone ("H B"): EPPI-Reviewer writes "Surname I I" and splits a
#: surname with a space from its initials ("Dos Santos" / "H B" for "Dos Santos H.B.").
_INITIALS_ONLY = re.compile(r"[A-Z](?: [A-Z])*")
_ENDS_WITH_INITIALS = re.compile(r" [A-Z](?: [A-Z])*$")

#: EBSCOhost database codes (``DB`` when ``DP  - EBSCOhost``) to database names.
EBSCO_DATABASES = {
    "psyh": "APA PsycInfo",
    "pdh": "APA PsycArticles",
    "mdc": "MEDLINE",
    "cmedm": "MEDLINE",
    "mnh": "MEDLINE with Full Text",
    "cin20": "CINAHL",
    "ccm": "CINAHL",
    "rzh": "CINAHL Plus",
    "c8h": "CINAHL Plus with Full Text",
    "eric": "ERIC",
    "a9h": "Academic Search Complete",
    "aph": "Academic Search Premier",
    "sih": "SocINDEX with Full Text",
    "bth": "Business Source Premier",
    "buh": "Business Source Complete",
    "ehh": "Education Research Complete",
    "ecn": "EconLit",
    "eoh": "EconLit with Full Text",
    "8gh": "GreenFILE",
    "lxh": "Library, Information Science & Technology Abstracts",
    "sph": "SPORTDiscus",
    "s3h": "SPORTDiscus with Full Text",
    "e000xww": "Ebook Collection",
}
#: Ovid database codes (``D=`` in Ovid links) by prefix.
OVID_DATABASES = (
    ("psyc", "APA PsycInfo via Ovid"),
    ("emed", "Embase via Ovid"),
    ("emez", "Embase via Ovid"),
    ("prem", "Ovid MEDLINE(R)"),
    ("medp", "Ovid MEDLINE(R)"),
    ("med", "Ovid MEDLINE(R)"),
    ("coch", "Cochrane via Ovid"),
    ("cctr", "Cochrane CENTRAL via Ovid"),
    ("amed", "AMED via Ovid"),
    ("gh", "Global Health via Ovid"),
    ("ovft", "Journals@Ovid Full Text"),
)
#: Sites whose record link names the database of a record that names none (no DB, DP or
#: header): EPPI-Reviewer's re-export of Embase records, Citavi's of Scopus and Lens records
#: (asreview's ris_issue_1099.txt: ``UR  - https://www.scopus.com/inward/record.uri?eid=...``,
#: ``UR  - https://lens.org/190-777-589-117-351``), which were "unknown database".
LINK_DATABASES = (
    ("embase.com", "Embase"),
    ("scopus.com/", "Scopus"),
    ("lens.org/", "The Lens"),
    # Epistemonikos writes DB only in some exports; every record links to its document page
    ("epistemonikos.org/", "Epistemonikos"),
    # Nested Knowledge's RIS ("DB  - other") links each PubMed record to its PubMed page
    ("ncbi.nlm.nih.gov/pubmed/", "PubMed"),
    ("pubmed.ncbi.nlm.nih.gov/", "PubMed"),
    # TRID (Transport Research International Documentation) writes no DB; its records link to it
    ("trid.trb.org/", "TRID"),
)
#: IEEE Xplore's own RIS names no database (no ``DB``, ``DP``, ``AN`` or link) but writes a tag
#: layout of its own: the volume twice, as ``VO`` (no RIS tag; no other export seen writes it)
#: and ``VL``, the title again as ``JA`` and the date as ``Y1`` ("24-27 Sept. 2019"), every one
#: even when empty (NLeSC/litstudy's example.ris, CoLRev's ieee.ris). Its records were
#: "unknown database"; they are named as Zotero's "DP  - IEEE Xplore" and the CSV export name them.
IEEE_XPLORE_LAYOUT = ("VO", "VL", "JA", "Y1")
IEEE_XPLORE = "IEEE Xplore"
#: ``DB`` values that name no database: Nested Knowledge writes ``DB  - other`` for every record
#: (with Ovid-like "1." number lines, so the record came out as "other via Ovid").
PLACEHOLDER_DBS = frozenset({"other"})
#: A record's own PubMed page (``https://www.ncbi.nlm.nih.gov/pubmed/21294377``,
#: ``https://pubmed.ncbi.nlm.nih.gov/21294377/``): its PMID.
_PUBMED_LINK = re.compile(r"(?:ncbi\.nlm\.nih\.gov/pubmed/|//pubmed\.ncbi\.nlm\.nih\.gov/)(\d{1,9})/?(?:[?#]|$)")
#: ``DB`` values written in capitals by their database, named as its other exports name it.
DB_NAMES = {"epistemonikos": "Epistemonikos"}
#: An Epistemonikos document page: its 40-hex id is the record's id there.
_EPISTEMONIKOS_DOC = re.compile(r"epistemonikos\.org/(?:[a-z]{2}/)?documents/([0-9a-f]{40})\b")
#: Accession-number prefixes that identify the database on their own.
ACCESSION_DATABASES = (
    ("rayyan-", "Rayyan"),
    ("WOS:", "Web of Science Core Collection"),
    ("MEDLINE:", "MEDLINE (Web of Science)"),
    ("pub.", "Dimensions"),
)
#: The Cochrane Library's own RIS has no DB or DP tag: CENTRAL records are known by their
#: accession number (``AN  - CN-00778158``) or their link, reviews by their link (named
#: :data:`evreview.records.CENTRAL` and ``CDSR``, as the Library's CSV export names them).
_CENTRAL_AN = re.compile(r"CN-\d{6,}")
_COCHRANE_PMID = re.compile(r"\bPUBMED (\d{1,9})\b")
#: Data providers (``DP``) that name the database themselves.
PROVIDER_DATABASES = {"nlm": "PubMed", "pubmed": "PubMed", "ncbi": "PubMed"}
_PMID_DATABASES = ("medline", "pubmed", "nlm", "ncbi")


def _first(tags: Tags, *names: str) -> str:
    """First non-empty value among ``names`` (in that order of preference)."""
    for name in names:
        held = tags.get(name)
        if held:
            if type(held) is str:
                return held
            for value in held:
                if value:
                    return value
    return ""


@lru_cache(maxsize=4096)
def classify_sn(values: tuple[str, ...]) -> tuple[str, str]:
    """Split ``SN`` values into ``(issn, isbn)``, each distinct and ``"; "``-joined.

    Exports put several identifiers in one value (``0894-9867, 0894-9867``), qualify them
    (``2277-9175 (Print)``) or write ISBNs with hyphens; anything neither ISSN- nor ISBN-shaped
    stays only in ``raw``.
    """
    issns: list[str] = []
    isbns: list[str] = []
    for value in values:
        for part in re.split(r"[,;]", _PAREN.sub(" ", value)):
            for token in part.split():
                # Rayyan writes a record's two ISSNs as a JSON list: ["1932-8494", "1932-8486"]
                compact = token.strip("[]\"'").replace("-", "").upper()
                if _ISSN.fullmatch(compact):
                    issn = f"{compact[:4]}-{compact[4:]}"
                    if issn not in issns:
                        issns.append(issn)
                elif _ISBN.fullmatch(compact) and compact not in isbns:
                    isbns.append(compact)
    return "; ".join(issns), "; ".join(isbns)


def find_doi(tags: Tags) -> str:
    """The record's DOI: ``DO`` first, else one *clearly labelled* in a link or note.

    A link counts only as a ``doi.org`` URL or a ``doi:`` label (EndNote's PubMed citation in
    ``N1``), never a ``doi=`` query parameter or a number that merely looks like a DOI inside
    other text: a wrong DOI would merge different studies in deduplication.
    """
    for value in _all(tags, "DO"):
        if value.startswith("10.") and "/" in value and " " not in value:
            return value  # already bare: finalise_record lower-cases it
        doi = clean_doi(value)
        if doi:
            return doi
    for name in ("UR", "L1", "L2", "L3", "L4", "N1"):
        for value in _all(tags, name):
            match = _CLEAR_DOI.search(value)
            if match:
                return clean_doi(match.group(1))
            if _BARE_DOI.fullmatch(value.strip()):
                return clean_doi(value)
    return ""


def _is_pmid(value: str) -> bool:
    return value.isdigit() and len(value) <= 9


def find_pmid(tags: Tags, source: frozenset[str] = frozenset()) -> str:
    """PubMed id where the dialect carries one.

    * Dimensions: ``U1  - 35957633 [PMID]``;
    * a PubMed/MEDLINE-derived record (``DB``/``DP`` naming MEDLINE, PubMed or NLM, e.g.
      EndNote from PubMed, EBSCO MEDLINE): ``AN`` (or Ovid's ``UI``) when all digits, else the
      ``AN=`` of an Ovid link (Ovid MEDLINE RIS has no ``AN`` tag);
    * Embase.com: ``C5`` holds the MEDLINE PMID; Scopus: ``C2``;
    * Web of Science's MEDLINE: ``AN  - MEDLINE:12345678``;
    * APA PsycNET: a ``PMID  - 12345678`` line (a four-letter tag);
    * the Cochrane Library (CENTRAL): ``C3  - PUBMED 21314913,EMBASE 643589775``.
    """
    labelled = _first(tags, "PMID")
    if _is_pmid(labelled):
        return labelled
    for value in _all(tags, "C3"):  # the Cochrane Library: "PUBMED 21314913,EMBASE 643589775"
        match = _COCHRANE_PMID.search(value)
        if match:
            return match.group(1)
    for value in _all(tags, "U1"):
        if value.upper().endswith("[PMID]"):
            candidate = value[:-6].strip()
            if _is_pmid(candidate):
                return candidate
    accession = _first(tags, "AN")
    if accession.startswith("MEDLINE:") and _is_pmid(accession[8:]):  # Web of Science's MEDLINE
        return accession[8:]
    if "embase" in source:
        candidate = _first(tags, "C5")
        if _is_pmid(candidate):
            return candidate
    if "scopus" in source:  # Scopus writes the PubMed ID (its CSV's "PubMed ID") in C2
        candidate = _first(tags, "C2")
        if _is_pmid(candidate):
            return candidate
    if "pubmed" in source:
        # EBSCOhost's older RIS gives the accession as ``ID`` (``N1  - Accession Number: ...``),
        # which for its MEDLINE is the PMID; elsewhere ``ID`` is a reference manager's number
        for name in ("AN", "UI", *(("ID",) if "ebsco" in source else ())):
            for value in _all(tags, name):
                candidate = value.split(";")[0].strip()
                if _is_pmid(candidate):
                    return candidate
        for name in ("L2", "UR"):
            for value in _all(tags, name):
                if "ovid" in value:
                    match = _OVID_AN.search(value)
                    if match:
                        return match.group(1)
    return _pubmed_link_pmid(tags)


def _links(tags: Tags) -> str:
    """All of a record's ``UR`` and ``L2`` links, space-separated, when it has more than one."""
    urls = tags.get("UR")
    if not isinstance(urls, list) or len(urls) < 2:
        return ""
    return " ".join(_all(tags, "UR")) + " " + " ".join(_all(tags, "L2"))


def _pubmed_link_pmid(tags: Tags) -> str:
    """The PMID of the record's own PubMed page among its links (``UR``, ``L1``-``L4``), when
    they name one PMID only: Nested Knowledge's and Rayyan's (CINAHL) RIS carry it nowhere else."""
    found = ""
    for name in ("UR", "L1", "L2", "L3", "L4"):
        for value in _all(tags, name):
            if "pubmed" not in value:
                continue
            for part in value.replace(";", " ").split():
                match = _PUBMED_LINK.search(part)
                if match:
                    if found and match.group(1) != found:
                        return ""
                    found = match.group(1)
    return found


def find_source_id(tags: Tags) -> str:
    """The database's own id: ``AN`` (first of ProQuest's ``id; id``), ``ID``, Embase ``U2``,
    an unlabelled ``U1``, else the ``AN=`` of an Ovid or EBSCOhost link (Ovid MEDLINE and
    EBSCOhost's RIS have no ``AN`` tag), the ``id=L...`` of an Embase link, or the EID of a
    Scopus link: Scopus RIS has no id tag, and its CSV and BibTeX records of the same article
    have the EID as their id (:func:`evreview.ingest.formats._ids.scopus_eid`)."""
    value = _first(tags, "AN", "ID", "U2")
    if value:
        return value.split(";")[0].strip() if ";" in value else value
    for value in _all(tags, "U1"):
        if value and not value.rstrip().endswith("]"):
            return value
    for name in ("L2", "UR"):
        for value in _all(tags, name):
            if "ovid" in value:
                match = _OVID_ACCESSION.search(value)
                if match:
                    return match.group(1)
            elif "ebscohost" in value or "embase" in value:
                match = EBSCO_AN_IN_URL.search(value) or _EMBASE_ID.search(value)
                if match:
                    return match.group(1)
            elif "epistemonikos" in value:
                match = _EPISTEMONIKOS_DOC.search(value)
                if match:
                    return match.group(1)
            elif "scopus.com/" in value:
                eid = scopus_eid(value)
                if eid:
                    return eid
    return ""


@lru_cache(maxsize=4096)
def name_database(db: str, dp: str, accession: str, link: str, links: str = "") -> str:
    """Name the source database from ``DB``, ``DP``, the accession number and the first link
    (``links``: all of the record's links, for a record that names no database: TRID links to
    itself only after its full-text links).

    Combines platform and database the way PRISMA reports them ("APA PsycInfo via
    EBSCOhost"); Ovid's ``DB`` loses its segment (:func:`evreview.records.ovid_database`); any
    other ``DB`` is kept as written.
    """
    for prefix, name in ACCESSION_DATABASES:
        if accession.startswith(prefix):
            return name
    ovid = ovid_database(db, dp) if db else None
    if ovid:
        return ovid
    platform = dp
    db = DB_NAMES.get(db.lower(), db)
    if "ebscohost" in dp.lower() and db:
        return f"{EBSCO_DATABASES.get(db.lower(), db)} via {dp}"
    if db:
        if not platform and "proquest.com" in link:
            platform = "ProQuest"
        # DP "NLM" is where a PubMed record came from, not a platform the search ran on: a tool
        # that re-exports PubMed records under its own DB ("DB  - Inciteful", "DP  - Nlm") was
        # split into "Inciteful" and "Inciteful via Nlm"
        # nor is a provider's web address (SciELO: "DB  - SciELO Brazil", "DP  - http://www.scielo.org/")
        if platform.startswith(("http://", "https://", "www.")):
            platform = ""
        if platform and platform.lower() not in db.lower() and platform.lower() not in PROVIDER_DATABASES:
            return f"{db} via {platform}"
        return db
    if platform:
        return PROVIDER_DATABASES.get(platform.lower(), platform)
    if _CENTRAL_AN.fullmatch(accession) or "cochranelibrary.com/central/" in link:
        return CENTRAL
    if "cochranelibrary.com/cdsr/" in link:
        return CDSR
    if "ovid.com" in link:
        match = _OVID_DB.search(link)
        code = match.group(1) if match else ""
        for prefix, name in OVID_DATABASES:
            if code.startswith(prefix):
                return name
        return "Ovid"
    if "proquest.com" in link:
        return "ProQuest"
    # a record re-exported without DB or DP (EPPI-Reviewer, Citavi) still links to where it was found
    return link_database(links or link)


def link_database(links: str) -> str:
    """The database a record's link (or links) names by its site (:data:`LINK_DATABASES`), or ``""``."""
    for site, name in LINK_DATABASES:
        if site in links:
            return name
    return ""


#: Export-header providers (lower case) that are a platform under another name.
HEADER_PLATFORMS = {
    "american psychological association": "APA PsycNet",
    "elsevier engineering information, inc.": "Engineering Village",
}
#: APA PsycNET's header names its databases as they were called before 2019 (``PsycINFO``);
#: named as EBSCOhost's and Ovid's records of them are ("APA PsycInfo via EBSCOhost").
HEADER_DATABASES = {
    "psycinfo": "APA PsycInfo",
    "psycarticles": "APA PsycArticles",
    "psycbooks": "APA PsycBooks",
    "psycextra": "APA PsycExtra",
    "psyctests": "APA PsycTests",
}


@lru_cache(maxsize=64)
def header_names(header: Header) -> tuple[str, str]:
    """``(database, platform)`` of an export header, as a record's ``DB`` and ``DP`` would be.

    The provider is the platform without its web address ("JSTOR http://www.jstor.org" is
    JSTOR), so :func:`name_database` gives "APA PsycInfo via APA PsycNet", "Inspec via
    Engineering Village", "JSTOR" (the platform named in the database).
    """
    provider, database = header
    platform = HEADER_PLATFORMS.get(provider.lower())
    if platform is None:
        platform = " ".join(word for word in provider.split() if not word.startswith(("http://", "https://", "www.")))
    return HEADER_DATABASES.get(database.lower(), database), platform


def _doc_type(tags: Tags) -> str:
    """``TY``, or ``M3`` when it names a more specific kind (Scopus "Review" under ``TY  - JOUR``).

    Ovid's ``M3`` is a subject classification ("... [3300]"), which the shared vocabulary
    maps to nothing, so it never overrides ``TY``.
    """
    ty = _first(tags, "TY")
    m3 = _first(tags, "M3")
    if m3 and _kind(m3) not in _GENERIC_KINDS and _kind(ty) in _GENERIC_KINDS:
        return m3
    return ty


_NO_KINDS: frozenset[str] = frozenset()
_EMBASE_KINDS: frozenset[str] = frozenset({"embase"})


def _pmid_kinds(databases: tuple[str, ...], link: str) -> frozenset[str]:
    """:func:`_carries_pmid` of the record's DB/DP values, and ``"embase"`` for an embase.com
    record link: a reference manager's re-export of an Embase.com record may drop its ``DB``
    line but keeps the link and ``C5``, the MEDLINE PMID (Embase's own RIS names Embase in DB)."""
    kinds = _carries_pmid(databases) if databases else _NO_KINDS
    if _EMBASE_RECORD in link and "embase" not in kinds:
        kinds = kinds | _EMBASE_KINDS
    return kinds
_GENERIC_KINDS = frozenset({"", "other", "article"})
#: ``normalise_doc_type`` memoised: a file has a handful of distinct TY/M3 values.
_kind = lru_cache(maxsize=1024)(normalise_doc_type)


@lru_cache(maxsize=1024)
def _carries_pmid(databases: tuple[str, ...]) -> frozenset[str]:
    """Which PMID conventions apply, from the DB/DP values: ``"pubmed"`` (a PubMed-derived
    source), ``"embase"`` (Embase.com, whose records may also be MEDLINE-indexed), ``"scopus"``,
    ``"ebsco"`` (EBSCOhost, whose MEDLINE accession may be an ``ID``)."""
    lowered = " ".join(EBSCO_DATABASES.get(value.lower(), value) for value in databases).lower()
    kinds = set()
    if any(name in lowered for name in _PMID_DATABASES):
        kinds.add("pubmed")
    if "embase" in lowered:
        kinds.add("embase")
    if "scopus" in lowered:
        kinds.add("scopus")
    if "ebscohost" in lowered:
        kinds.add("ebsco")
    return frozenset(kinds)


def _year(tags: Tags) -> int | None:
    """First plausible year in ``PY``, then ``Y1``, then ``DA`` (``2019//``, ``2022/08/26/``)."""
    for name in ("PY", "Y1", "DA"):
        for value in _all(tags, name):
            head = value[:4]
            if (
                len(head) == 4
                and head.isdigit()
                and (len(value) == 4 or not value[4].isdigit())
                and "1500" <= head <= "2100"
            ):
                return int(head)
            year = parse_year(value)
            if year is not None:
                return year
    return None


def _pages(tags: Tags) -> str:
    """``SP``-``EP``; ``SP`` alone when it holds the whole range already.

    An ``SP`` with a hyphen is a range, except an article-number page (Inspec's ``SP  - 41103-1``
    with ``EP  - 41103-3``: pages 1-3 of article 41103), whose end page names the same article.
    """
    start = _first(tags, "SP")
    end = _first(tags, "EP")
    if start.lower() == "no" and end.lower() == "specified":  # Ovid: "No pagination specified"
        return ""
    if end and "-" not in start:
        return f"{start}-{end}" if start else end
    if end and end != start and end.partition("-")[0] == start.partition("-")[0]:
        return f"{start}-{end}"
    return start


#: Reference types whose ``C7`` is the article number in the RIS specification (2011, as
#: EndNote writes it: "Article Number" of a Journal Article); for other types ``C7`` is
#: another field, or none, so it is read there only from Scopus and Web of Science.
_ARTICLE_NUMBER_TYPES = frozenset({"JOUR", "EJOUR", "JFULL", "ABST"})
#: An article number: one token holding a digit near its start (``e0264922``, ``107538``,
#: ``o2267``, ``m2832``), never free text.
_ARTICLE_NUMBER = re.compile(r"[A-Za-z]{0,3}\d[\w.-]{0,24}")


def _article_number(tags: Tags, ty: str, scopus_or_wos: bool) -> str:
    """``C7`` as the pages of an article that has no page numbers.

    Scopus and Web of Science put the article number in pages when there are none (Scopus
    CSV's "Art. No.", Web of Science's ``AR`` tag and "Article Number" column), but write it
    in ``C7`` in their RIS (67 of the 255 records of the shared Scopus RIS): the same article
    had pages in one export and none in the other, so deduplication compared it unlike itself.
    Read when the record is from Scopus or Web of Science, or when its type is one whose
    ``C7`` is the article number (:data:`_ARTICLE_NUMBER_TYPES`), and only when it is shaped
    like one (:data:`_ARTICLE_NUMBER`). The caller asks only when ``SP``/``EP`` give nothing:
    a record with both keeps its pages, as Scopus CSV's page columns win over "Art. No.".
    """
    value = _first(tags, "C7")
    if not value or not (scopus_or_wos or ty.upper() in _ARTICLE_NUMBER_TYPES):
        return ""
    return value if _ARTICLE_NUMBER.fullmatch(value) else ""


def _one_form_each(authors: list[str]) -> list[str]:
    """Authors without the short form of a name also given in full.

    Epistemonikos merges the author lists of its sources, so one person can be written twice
    (``AU  - Braman SS`` then ``AU  - Braman, Sidney S``): the short "Surname INITIALS" form
    is dropped when a "Surname, Given names" entry has the same surname and initials.
    """
    full = set()
    for name in authors:
        surname, comma, given = name.partition(",")
        if comma:
            initials = "".join(part[0] for part in given.replace("-", " ").split() if part[0].isalpha())
            full.add((surname.strip().lower(), initials.upper()))
    out = []
    for name in authors:
        surname, _, initials = name.rpartition(" ")
        short = "," not in name and initials.isalpha() and initials.isupper() and len(initials) <= 4
        if short and (surname.strip().lower(), initials) in full:
            continue
        out.append(name)
    return out


def _split(*held: str | list[str] | None) -> list[str]:
    """The items of one or more tags' values, splitting the few exports that put ``a; b`` in one line.

    Always a new list: the tags' own lists are part of ``raw``.
    """
    values: list[str] = []
    for item in held:
        if item is None:
            continue
        if type(item) is str:
            values.append(item)
        else:
            values.extend(item)
    if ";" not in "".join(values):
        return values
    out: list[str] = []
    for value in values:
        out.extend(value.split(";"))
    return out


def tidy_authors(authors: list[str]) -> list[str]:
    """Two exporters' slips in author lines, undone (the list as it is when there are none).

    * ``van den Hoven, null``: a missing given name written as ``null`` (Mendeley's RIS of Lens
      records; Citavi's tab-delimited export of the same records) is no name;
    * ``Dos Santos`` then ``H B``: EPPI-Reviewer writes ``Surname I I`` and cuts a surname that
      holds a space from its initials; initials alone after a name without any are rejoined
      (only where no author has a comma, i.e. every name is in EPPI's style).
    """
    if not authors:
        return authors
    # one pass over the joined names answers both questions for nearly every record: this runs
    # on every RIS record, and a pattern per author made the 102k-record Scopus parse ~5 % slower
    joined = "\n".join(authors)
    if "null" in joined and any(name.endswith("null") for name in authors):
        authors = [name[:-4].rstrip(", ") if name.endswith((", null", ",null")) else name for name in authors]
        joined = "\n".join(authors)
    if "," in joined or len(authors) < 2:
        return authors
    if any(_INITIALS_ONLY.fullmatch(name) for name in authors[1:]):
        out: list[str] = []
        for name in authors:
            previous = out[-1] if out else ""
            if previous and _INITIALS_ONLY.fullmatch(name) and not _ENDS_WITH_INITIALS.search(previous):
                out[-1] = f"{previous} {name}"
            else:
                out.append(name)
        authors = out
    return authors


def record_fields(tags: Tags, ovid: bool = False, header: Header | None = None) -> dict[str, Any]:
    """Map one record's tags to :data:`evreview.records.RECORD_FIELDS` (normalised later).

    ``ovid``: the record was preceded by an Ovid record-number line. Ovid writes ``DB`` with
    the segment's coverage ("ERIC <1992 to June 2024>") except for some segments ("ERIC", its
    pre-1992 file), which alone do not say Ovid: one ERIC search came out as two databases.
    ``header``: the export header in force, whose database a record without ``DB`` and ``DP``
    is from (:func:`header_names`).
    """
    title = _first(tags, "TI", "T1")
    from_tag = bool(title)
    if not title:
        title = _first(tags, "CT", "BT", "ST")
    journal = _first(tags, "JF", "T2", "JO", "JA", "J2", *(("BT",) if from_tag else ()), "NL")
    issue = _first(tags, "IS", "CP")
    # an IS longer than :data:`~evreview.records.MAX_NUMBERING` is no issue: Covidence's RIS of an Embase
    # record ("(Boisvert C.) Brigham Young University, Provo, UT, ...", in its EndNote, Mendeley,
    # RefWorks and Zotero flavours) holds the author affiliations there, as its CSV does
    if issue and (len(issue) > MAX_NUMBERING or _OVID_IS_CODE.fullmatch(issue) or _REFERENCE_IN_IS.fullmatch(issue)):
        issue = ""
    databases = tuple(_all(tags, "DB")) + tuple(_all(tags, "DP"))
    db = _first(tags, "DB")
    if db.lower() in PLACEHOLDER_DBS:
        db = ""
        databases = tuple(value for value in databases if value.lower() not in PLACEHOLDER_DBS)
    dp = _first(tags, "DP")
    if ovid and db and not dp:
        dp = "Ovid"
    if header and not db and not dp:
        db, dp = header_names(header)
    if not db and not dp and all(tag in tags for tag in IEEE_XPLORE_LAYOUT):
        dp = IEEE_XPLORE
    accession = _first(tags, "AN")
    url = link = _first(tags, "UR", "L2")
    if not dp and db.lower() == "medline" and _EMBASE_RECORD in link:
        # Embase.com writes "DB  - Medline" alone for a record it took from MEDLINE (and "DB  -
        # Embase" + "DB  - Medline" for one in both): still a record of the Embase search, which
        # was counted as a second database ("Embase; Medline") and lost its C5 PMID; EndNote's
        # re-export of such records keeps the DB and the embase.com link
        db = "Embase"
        databases += ("Embase",)
    if ";" in url or " " in url:
        url = url.replace(";", " ").split()[0]
    sn = tags.get("SN")
    issn, isbn = classify_sn(tuple(_all(tags, "SN"))) if sn else ("", "")
    authors = _split(tags.get("A1"), tags.get("AU"))
    if "epistemonikos.org" in link:
        authors = _one_form_each(authors)
    kinds = _pmid_kinds(databases, link)
    pages = _pages(tags)
    if not pages and "C7" in tags:
        scopus_or_wos = accession.startswith("WOS:") or "scopus" in kinds or "scopus.com/" in link
        pages = _article_number(tags, _first(tags, "TY"), scopus_or_wos)
    return {
        "source_id": find_source_id(tags),
        "source_database": name_database(db, dp, accession, link, _links(tags) if not (db or dp) else ""),
        "title": title,
        "abstract": _first(tags, "AB", "N2"),
        "authors": tidy_authors(authors),
        "year": _year(tags),
        "journal": journal,
        "volume": _first(tags, "VL"),
        "issue": issue,
        "pages": pages,
        "doi": find_doi(tags),
        "pmid": find_pmid(tags, kinds),
        "issn": issn,
        "isbn": isbn,
        "keywords": _split(tags.get("KW")),
        "language": _first(tags, "LA"),
        "doc_type": _doc_type(tags),
        "url": url,
    }


def sniff_text(head: str) -> float:
    """Confidence that ``head`` starts an RIS file: a ``TY  - `` line before any other content.

    Leading blank lines and Ovid record-number lines are allowed; a ``TY`` line after a few
    lines of preamble gets lower confidence, and no ``TY`` line at all gets 0.
    """
    seen = 0
    for line in head.split("\n", 200)[:200]:
        stripped = line.strip()
        if not stripped or _is_number_line(stripped):
            continue
        if line.startswith("TY  -"):
            return 0.95 if seen == 0 else 0.6
        seen += 1
        if seen > 20:
            break
    return 0.0


@register
class RisReader:
    """RIS (``.ris``, ``.txt``) from any database or reference manager."""

    name = "ris"
    priority = 50

    def sniff(self, source: Source) -> float:
        """Content only: a ``TY  - `` line at the start (see :func:`sniff_text`)."""
        return sniff_text(source.head)

    def parse(self, source: Source) -> ParseResult:
        """Tokenise, then map each record's tags to fields; problems carry 1-based lines.

        Streams: ``records`` is an iterator, so the driver can normalise and write a batch at
        a time instead of holding 100k records. ``problems`` (sorted by line, warnings with
        their record's index), ``found`` and ``database`` are complete once it is exhausted.
        The driver pauses the cyclic garbage collector meanwhile: parsing allocates millions
        of small acyclic containers, and its repeated collections cost about a fifth of the
        parse time (measured on 25k records) while finding nothing to free.
        """
        return self.parse_part(source, 1)

    def parse_part(self, source: Source, first_line: int, context: Header | None = None) -> ParseResult:
        """:meth:`parse` of a part of a file that starts at file line ``first_line``.

        The parallel driver cuts a large file at :func:`next_part_start` offsets and parses
        the parts in worker processes: lines (in records and in problem messages) are the
        file's; record indices (``Problem.index``) count from 0 in the part, and
        ``database_counts`` lets the driver name the file's main database from all parts.
        ``context`` is the export header in force where the part starts (a part after the
        first never sees the file's header): :meth:`part_context` of the bytes before it; the
        header in force at the part's end is ``ParseResult.part_context``.
        """
        result = ParseResult(records=iter(()), problems=[], found=None)
        result.records = self._stream(source.text or "", result, first_line, context or _NO_HEADER)
        return result

    @staticmethod
    def part_context(data: bytes, context: Header | None) -> Header:
        """The export header in force after a part's UTF-8 bytes, given the one before them.

        What the next part starts from, guessed from the last Provider/Database/Content block
        (:data:`_HEADER_BYTES`) without parsing. The scan reads header lines one by one, and
        only between records: where that differs (a record holding such lines, a header
        without its Content line; in no real export seen), the driver finds it out from the
        part's ``ParseResult.part_context`` and parses the next part again with the right one.
        """
        header = context or _NO_HEADER
        if b"Provider: " not in data:  # a substring search: the regex below walks every byte
            return header  # (a second and a half of the parent's time on a 100k-record file)
        for match in _HEADER_BYTES.finditer(data):
            provider = match.group(1).decode("utf-8", "replace").strip()
            header = (provider, (match.group(2) or b"").decode("utf-8", "replace").strip())
        return header

    #: Where a file may be cut for :meth:`parse_part` (see :func:`next_part_start`).
    next_part_start = staticmethod(next_part_start)

    @staticmethod
    def record_starts(data: bytes) -> int:
        """``TY`` lines in a part's bytes: the records it will give when none is damaged (the
        parallel driver numbers a part's records from the count before it, checked later)."""
        return data.count(b"\nTY  -") + data.startswith(b"TY  -")

    def _stream(
        self, text: str, result: ParseResult, first_line: int = 1, header: Header = _NO_HEADER
    ) -> Iterator[ParsedRecord]:
        scanned = _Scan()
        scanned.header = header
        headers = scanned.headers
        line_to_index: dict[int, int] = {}
        counts: Counter[str] = Counter()
        kept = 0
        for line, tags in iter_scan(text, scanned, first_line):
            line_to_index[line] = kept
            kept += 1
            fields = record_fields(tags, line in scanned.ovid_lines, headers.pop(line, None) if headers else None)
            if fields["source_database"]:
                counts[fields["source_database"]] += 1
            yield ParsedRecord(fields=fields, raw=tags, line=line)
        for problem in scanned.problems:
            if problem.severity == "warning" and problem.line in line_to_index:
                problem.index = line_to_index[problem.line]
        result.problems[:] = sorted(scanned.problems, key=lambda p: p.line or 0)
        result.found = kept + scanned.errors
        result.database = counts.most_common(1)[0][0] if counts else ""
        result.database_counts = dict(counts)
        result.part_context = scanned.header
