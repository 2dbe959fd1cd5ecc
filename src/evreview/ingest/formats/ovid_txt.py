"""Ovid "Citation (fields)" plain-text export (Export > Format: Citation (fields), ``.txt``).

Each record starts with its number in angle brackets (``<1>``); a field is a line holding
its name (``Accession Number``, ``Authors``, ``Title``, ``Source``...) followed by its value
on lines indented by two spaces (one for the full-text link), a multi-valued field with one
value a line (MEDLINE and Embase authors, MeSH and Emtree headings). Journals@Ovid writes its
authors on one line (``Holstiege, Jakob 1;  Mathes, Tim 2``, affiliation marks after the
names) and older exports separate them by two spaces (``Muller S.  Garda P.``). An export
with the search history starts with a ``Database:`` / ``Search Strategy:`` preamble, which
names the database for records that do not.

Field names differ across Ovid's databases (MEDLINE ``Unique Identifier`` is the PMID,
Embase and PsycINFO have an ``Accession Number``; ``Year of Publication`` or ``Publication
Year``; ``Digital Object Identifier`` or ``DOI Number``), so each record field looks at the
names every database uses. Journal, volume, issue and pages come from separate fields when
there are any, else from the ``Source`` citation, written per database:

* MEDLINE, Journals@Ovid: ``Journal of Things. 12(3):45-67, 2019 Mar.``
* Embase: ``Lancet. 393 (10170) (pp 423-433), 2019. Date of Publication: 02 Feb 2019.``
* PsycINFO: ``Journal X. Vol.128(3), 2019, pp. 234-245.`` or ``Journal X. Vol 12(3) Mar 2019, 45-67.``

The database is named as the Ovid RIS reader names it (``Ovid MEDLINE(R)``, ``Embase via
Ovid``: :func:`evreview.ingest.formats.ris.name_database`), so one Ovid search counts as one
database in PRISMA whichever way it was exported.
"""

from __future__ import annotations

import re
from collections import Counter

from evreview.ingest.formats._tagged import (
    Block,
    Scan,
    collect,
    last_record_warning,
    raw_fields,
    stray_problems,
    text_of,
)
from evreview.ingest.formats.medline import pick_doc_type
from evreview.ingest.formats.ris import name_database
from evreview.ingest.registry import ParsedRecord, ParseResult, Problem, Source, register
from evreview.records import clean_text

#: The tag a ``<N>`` record-number line gets (no field name can look like it).
RECORD = "<record>"
PLATFORM = "Ovid"

_RECORD_LINE = re.compile(r"^<(\d+)>\s*$")
#: A field-name line: capitalised words, no sentence punctuation (``.``/``:``), at most 60 characters.
_LABEL = re.compile(r"^[A-Z][A-Za-z0-9 /&(),'@-]{0,58}[A-Za-z0-9)]$|^[A-Z]$")
#: Field names that make a block recognisably Ovid's when sniffing.
KNOWN_LABELS = frozenset(
    {
        "Accession Number",
        "Unique Identifier",
        "Database",
        "Database Name",
        "Author",
        "Authors",
        "Authors Full Name",
        "Institution",
        "Title",
        "Source",
        "Abstract",
        "Publication Type",
        "Document Type",
        "Year of Publication",
        "Publication Year",
        "Digital Object Identifier",
        "DOI Number",
        "Language",
        "ISSN",
        "Status",
        "Score",
        "MeSH Subject Headings",
        "Keyword Heading",
        "Author Keywords",
        "Link to the Ovid Full Text or citation",
    }
)
#: Marks after an author's name pointing at an affiliation (``Jakob 1``, ``Jan MD *``, ``PhD +``).
_AFFILIATION_MARKS = re.compile(r"(?:\s+(?:\d+(?:,\d+)*|[*+\u2020\u2021\u00a7#]+))+$")
#: Kind notes Ovid appends to a title (``... a systematic review.[Review]``, ``[Review] [45 refs]``).
_TITLE_NOTES = re.compile(r"(?<=[.?!])(?:\s*\[[^\[\]]{1,40}\])+$")
_ELECTRONIC = re.compile(r"\s*\[Electronic Resource\]\s*$", re.IGNORECASE)
_DATABASE_LINE = re.compile(r"^Database:\s*(.+?)\s*$")
#: Journal name, then the citation details (they open with a volume, ``Vol``, a year or a parenthesis).
_JOURNAL_SPLIT = re.compile(r"^(?P<journal>.+?)\.\s+(?=Vol\b|Vol\.|\d|\()(?P<rest>.+)$")
_MEDLINE_DETAILS = re.compile(
    r"^(?P<volume>[^\s():,]+)?(?:\((?P<issue>[^)]*)\))?(?::(?P<pages>[^,\s]+))?,\s*(?P<date>.*)$"
)
_EMBASE_DETAILS = re.compile(r"^(?P<volume>[^\s(),]+)?\s*(?P<groups>(?:\([^)]*\)\s*)+),\s*(?P<date>.*)$")
_PSYCINFO_DETAILS = re.compile(
    r"^Vol\.?\s*(?P<volume>[^\s(),]+)(?:\((?P<issue>[^)]*)\))?,?\s*(?P<date>.*?)"
    r"(?:,\s*(?:pp\.?\s*)?(?P<pages>[0-9A-Za-z]+-[0-9A-Za-z]+|\d+))?\.?$"
)
#: A book or chapter citation (PsycINFO): ``Editors (Eds). (2019). Book title. (pp. 45-67). Place: Publisher.``
_BOOK = re.compile(r"^.*?\((?P<year>\d{4})\)\.\s+(?P<book>.+?)\.\s+(?:\(pp\.?\s*(?P<pages>[^)]*)\))?")


def match_tag(line: str) -> tuple[str, str] | None:
    """``(RECORD, "12")`` for a ``<12>`` line, ``("Title", "")`` for a field-name line, else ``None``."""
    record = _RECORD_LINE.match(line)
    if record:
        return RECORD, record.group(1)
    text = line.rstrip()
    if _LABEL.match(text) and len(text.split()) <= 8:
        return text, ""
    return None


def parse_source(value: str) -> dict[str, str]:
    """Journal, volume, issue, pages and a date from an Ovid ``Source`` citation (see the module doc).

    What cannot be recognised is left empty; the whole citation stays in the record's ``raw``.
    """
    text = clean_text(value)
    out = {"journal": "", "volume": "", "issue": "", "pages": "", "date": ""}
    if not text:
        return out
    book = _BOOK.match(text)
    if book:
        out.update(journal=book.group("book"), pages=book.group("pages") or "", date=book.group("year"))
        return out
    split = _JOURNAL_SPLIT.match(text)
    if not split:
        out["journal"] = _ELECTRONIC.sub("", text.rstrip(". "))
        return out
    out["journal"] = _ELECTRONIC.sub("", split.group("journal"))
    rest = split.group("rest").strip()
    for pattern in (_PSYCINFO_DETAILS, _MEDLINE_DETAILS):
        match = pattern.match(rest)
        if match and (match.group("volume") or match.group("issue")):
            out.update({k: (v or "").strip() for k, v in match.groupdict().items()})
            return out
    match = _EMBASE_DETAILS.match(rest)
    if match:
        out.update(volume=match.group("volume") or "", date=match.group("date"))
        for group in re.findall(r"\(([^)]*)\)", match.group("groups")):
            group = group.strip()
            if group.lower().startswith("pp"):
                out["pages"] = group[2:].lstrip(". ")
            elif group.lower() != "no pagination" and not out["issue"]:
                out["issue"] = group
        return out
    out["date"] = rest  # no volume: the year stands alone ("2019 Jan 15.")
    return out


def _values(block: Block, *labels: str) -> list[str]:
    """The value lines of the first of ``labels`` present, each stripped (empty lines dropped)."""
    for label in labels:
        lines = [line.strip() for entry in block.by_tag.get(label, ()) for line in entry.lines if line.strip()]
        if lines:
            return lines
    return []


def split_authors(lines: list[str]) -> list[str]:
    """One author a line, or several on one line separated by ``;`` or by two spaces.

    Affiliation marks after a name (``Holstiege, Jakob 1``, ``Verbeek, Jan MD *``) are dropped.
    """
    names: list[str] = []
    for line in lines:
        parts = line.split(";") if ";" in line else re.split(r"\s{2,}", line)
        for part in parts:
            name = _AFFILIATION_MARKS.sub("", part.strip()).strip()
            if name:
                names.append(name)
    return names


def _terms(block: Block, *labels: str) -> list[str]:
    """Every value of every label: one a line or ``;``-separated, ``*`` (major topic) and a final ``.`` dropped."""
    out: list[str] = []
    for label in labels:
        for line in _values(block, label):
            for item in line.split(";"):
                term = item.strip().lstrip("*").strip()
                term = term[:-1] if term.endswith(".") and term[:-1].count(".") == 0 else term
                if term:
                    out.append(term)
    return out


def _doc_type(block: Block) -> str:
    """``Document Type`` (PsycINFO, Journals@Ovid), else the most specific ``Publication Type``.

    PsycINFO's publication type "Journal; Peer Reviewed Journal" says how the journal is
    refereed, not that the record is a review, so a "Peer Reviewed" item is not a type.
    """
    for label in ("Document Type", "Publication Type"):
        items = [item.strip().rstrip(".").strip() for line in _values(block, label) for item in line.split(";")]
        items = [item for item in items if item and not item.lower().startswith("peer reviewed")]
        if items:
            return pick_doc_type(items)
    return ""


def _first_word(values: list[str]) -> str:
    """The first token of the first value (``"0140-6736 (Print)"`` -> ``"0140-6736"``)."""
    return values[0].split()[0].rstrip(".,;") if values and values[0].split() else ""


def map_block(block: Block, database: str = "") -> tuple[dict[str, object], dict[str, object]]:
    """Record fields and raw fields of one Ovid record; ``database`` is the preamble's, if any."""
    for entry in block.entries:
        if entry.tag != RECORD and entry.lines and not entry.lines[0]:
            del entry.lines[0]  # the field-name line carries no value
            if not entry.lines:  # Ovid leaves empty fields out: a value line lost its indentation?
                block.notes.append((entry.line, f"field name {entry.tag!r} has no value (an unindented value line?)"))
    title = _TITLE_NOTES.sub("", text_of(block, "Title", "Chapter Title", "Book Title")).strip()
    accession = text_of(block, "Accession Number").rstrip(".")
    identifier = text_of(block, "Unique Identifier").rstrip(".")
    named = text_of(block, "Database", "Database Name") or database
    link = text_of(block, "Link to the Ovid Full Text or citation", "URL")
    source_database = name_database(named, PLATFORM if named else "", accession or identifier, link) or PLATFORM
    cited = parse_source(text_of(block, "Source"))
    is_medline = "medline" in source_database.lower() or "pubmed" in source_database.lower()
    pmid = text_of(block, "PubMed Identifier", "PMID", "PubMed ID", "Medline PMID")
    if not pmid and is_medline:
        pmid = identifier  # MEDLINE's own id is the PMID; Embase's and PsycINFO's are not
    fields: dict[str, object] = {
        "source_id": accession or identifier,
        "source_database": source_database,
        "title": title,
        "abstract": text_of(block, "Abstract"),
        "authors": split_authors(_values(block, "Authors Full Name", "Authors", "Author", "Editors")),
        "year": text_of(block, "Year of Publication", "Publication Year", "Year")
        or cited["date"]
        or text_of(block, "Date of Publication", "Publication Date"),
        "journal": text_of(block, "Journal Name", "Journal Title") or cited["journal"],
        "volume": text_of(block, "Volume") or cited["volume"],
        "issue": text_of(block, "Issue", "Issue/Part") or cited["issue"],
        "pages": text_of(block, "Pages", "Page", "Pagination") or cited["pages"],
        "doi": text_of(block, "Digital Object Identifier", "DOI Number", "DOI"),
        "pmid": pmid,
        "issn": _first_word(_values(block, "ISSN", "ISSN Linking", "ISSN Print", "ISSN Electronic", "Electronic ISSN")),
        "isbn": _first_word(_values(block, "ISBN")),
        "keywords": _terms(block, "Author Keywords", "Keywords", "Keyword Heading")
        + _terms(block, "MeSH Subject Headings", "Emtree Heading", "Subject Headings", "Key Concepts"),
        "language": text_of(block, "Language").rstrip("."),
        "doc_type": _doc_type(block),
        "url": link,
    }
    raw = {("Record Number" if tag == RECORD else tag): value for tag, value in raw_fields(block.entries).items()}
    return fields, raw


def is_record_line(line: str) -> bool:
    """A ``<N>`` line (a BOM or spaces before the first one tolerated)."""
    return _RECORD_LINE.match(line.strip(" \t\ufeff")) is not None


def split_preamble(text: str) -> tuple[str, list[tuple[int, str]]]:
    """``text`` with the lines before the first ``<N>`` blanked (line numbers kept), and those lines."""
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if is_record_line(line):
            before = [(number, line) for number, line in enumerate(lines[:index], start=1) if line.strip()]
            lines[index] = line.strip(" \t\ufeff")
            return "\n" * index + "\n".join(lines[index:]), before
    return text, []


def preamble_database(lines: list[tuple[int, str]]) -> str:
    """The database a search-history preamble names, when it names exactly one."""
    for _, line in lines:
        match = _DATABASE_LINE.match(line.strip())
        if match:
            named = match.group(1)
            return named if len(re.findall(r"<[^<>]*>", named)) <= 1 and ", " not in _strip_coverage(named) else ""
    return ""


def _strip_coverage(name: str) -> str:
    return re.sub(r"<[^<>]*>", "", name)


def _is_search_history(lines: list[tuple[int, str]]) -> bool:
    return any(line.strip().startswith(("Database:", "Search Strategy:")) for _, line in lines)


@register
class OvidCitationReader:
    """Reader for Ovid's "Citation (fields)" text export."""

    name = "ovid_txt"
    priority = 50

    def sniff(self, source: Source) -> float:
        """Sure when a ``<N>`` line is followed by Ovid field names (two known among the next lines)."""
        lines = source.head.split("\n", 400)[:400]
        for index, line in enumerate(lines):
            if is_record_line(line):
                following = [candidate.rstrip() for candidate in lines[index + 1 : index + 40] if candidate.strip()]
                if not following or match_tag(following[0]) is None:
                    return 0.0
                known = {candidate for candidate in following if candidate in KNOWN_LABELS}
                return 0.95 if len(known) >= 2 else 0.0
        return 0.0

    def parse(self, source: Source) -> ParseResult:
        """Parse every ``<N>`` record; a preamble is the search history, anything else before is reported."""
        text, preamble = split_preamble(source.text or "")
        database = preamble_database(preamble)
        scanned = Scan(text, match_tag, start_tags=frozenset({RECORD}))
        records, problems = collect(scanned, lambda block: map_block(block, database), what="Ovid")
        if preamble and not _is_search_history(preamble):
            problems.extend(stray_problems(preamble, "Ovid"))
        problems.extend(stray_problems(scanned.stray, "Ovid"))
        problems.extend(_numbering(text))
        problems.extend(_truncation(text, scanned.last, records))
        counts = Counter(str(record.fields["source_database"]) for record in records)
        return ParseResult(
            records=records,
            problems=problems,
            found=scanned.found,
            database=counts.most_common(1)[0][0] if counts else PLATFORM,
            database_counts=dict(counts),
        )


def _numbering(text: str) -> list[Problem]:
    """A warning where record numbers skip (``<3>`` then ``<5>``): a record was cut out of the file.

    Numbers that start again lower (two exports pasted together) are not a gap.
    """
    problems: list[Problem] = []
    previous: int | None = None
    for number, line in enumerate(text.split("\n"), start=1):
        match = _RECORD_LINE.match(line)
        if not match:
            continue
        current = int(match.group(1))
        if previous is not None and current > previous + 1:
            missing = current - previous - 1
            problems.append(
                Problem(
                    reason=f"record <{current}> follows <{previous}>: {missing} record(s) missing from the file",
                    line=number,
                    severity="warning",
                )
            )
        previous = current
    return problems


_CUT = "file ends inside this record (export truncated?); parsed what is there"


def _truncation(text: str, last: Block | None, records: list[ParsedRecord]) -> list[Problem]:
    """A warning when the file ends inside the last record (mid-line, or on a field name without its value)."""
    final = last.entries[-1] if last is not None and last.entries else None
    if not text.endswith("\n") or (final is not None and final.tag != RECORD and not any(final.lines)):
        return last_record_warning(records, last, _CUT)
    return []
