"""ProQuest plain-text exports ("Report Information from ProQuest").

The report is a run of sections separated by lines of underscores: a header, a table of
contents (titles only, not records), one section per ``Document N of M``, and optionally a
bibliography (the same documents again as citations) and a footer. A document section has
its title as a heading line, then ``Label: value`` fields whose values may continue on
following lines, and bare URL lines (the document link; more links under ``Links:``).

Labels are recognised from ProQuest's vocabulary, because titles and structured abstracts
contain colons too ("Background: ..."); an unknown ``Label: value`` is only taken as a new
field after a short field, never inside an abstract, so free text is never split.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from evreview.ingest.formats._tagged import first_nonblank_lines, has_content, split_items
from evreview.ingest.registry import ParsedRecord, ParseResult, Problem, Source, register
from evreview.records import clean_text

_RULE = re.compile(r"^_{20,}\s*$")
_DOCUMENT = re.compile(r"^Document (\d+) of (\d+)\s*$")
_URL = re.compile(r"^https?://\S+$")
_LABEL = re.compile(r"^([A-Za-z][A-Za-z0-9 /&().,'-]{0,48}[A-Za-z)]):(?: (.*))?$")

#: Field labels of ProQuest's text export (compared case-insensitively).
KNOWN_LABELS = frozenset(
    label.lower()
    for label in (
        "Title",
        "Author",
        "Authors",
        "Author e-mail address",
        "Author affiliation",
        "Editor",
        "Abstract",
        "Translated abstract",
        "Other abstract",
        "Links",
        "Full text",
        "Document URL",
        "Publication title",
        "Publication year",
        "Publication date",
        "Year",
        "Date",
        "Volume",
        "Issue",
        "Pages",
        "First page",
        "Last page",
        "Page count",
        "Number of pages",
        "Section",
        "Publisher",
        "Place of publication",
        "Country of publication",
        "Publication subject",
        "ISSN",
        "e-ISSN",
        "eISSN",
        "ISBN",
        "e-ISBN",
        "CODEN",
        "Source type",
        "Language of publication",
        "Language",
        "Document type",
        "Document feature",
        "DOI",
        "ProQuest document ID",
        "Copyright",
        "Last updated",
        "Database",
        "Subject",
        "Subject heading",
        "Classification",
        "Identifier / keyword",
        "Identifiers / keywords",
        "Keywords",
        "MeSH",
        "MeSH subject",
        "Location",
        "People",
        "Company / organization",
        "Accession number",
        "Advisor",
        "Committee member",
        "Degree",
        "Degree date",
        "Department",
        "School code",
        "Source",
        "University/institution",
        "University location",
        "Dissertation/thesis number",
        "Publication history",
        "Online publication date",
        "Print publication date",
        "First available",
        "Business indexing term",
        "NAICS",
        "Credit",
        "Illustration",
        "Features",
        "Conference title",
        "Conference date",
        "Conference location",
        "Journal subset",
        "Population group",
        "Methodology",
        "Tests and measures",
        "Substance",
        "Grant information",
        "Peer reviewed",
        "Scholarly",
        "Article type",
        "Report number",
        "Series title",
        "Coverage",
        "Number of references",
        "Sponsor",
        "Funding",
        "Entry date",
        "Publication note",
        "Supplemental data",
        "Release date",
        "PubMed ID",
        "PMID",
        "Correction date",
        "Update",
        "Contact us at",
        "Terms and Conditions",
    )
)

#: Fields whose text may contain "Word: ..." lines that are not labels.
_FREE_TEXT = frozenset({"abstract", "translated abstract", "other abstract", "title", "full text"})
#: ProQuest labels that structured abstracts also use as paragraph headings.
_ABSTRACT_HEADINGS = frozenset(
    {
        "methodology",
        "funding",
        "location",
        "population group",
        "coverage",
        "features",
        "update",
        "people",
        "sponsor",
        "subject",
        "source",
        "date",
        "year",
        "illustration",
        "credit",
    }
)
_URL_FIELDS = frozenset({"links", "document url"})
#: Sections that are part of the report but are not records.
_NON_RECORD_SECTIONS = ("report information from proquest", "table of contents", "bibliography", "contact us at")

DATABASE = "ProQuest"


@dataclass
class Document:
    """One ``Document N of M`` section: its numbers, heading, fields in order, first line."""

    number: int
    total: int
    line: int
    heading: str = ""
    fields: list[tuple[str, list[str]]] = field(default_factory=list)
    closed: bool = True


@dataclass
class Report:
    """The sections of a ProQuest report: documents, and other sections' first lines."""

    documents: list[Document]
    other: list[tuple[int, str]]


def split_sections(text: str) -> list[tuple[int, list[str], bool]]:
    """``(first line number, lines, closed)`` per underscore-delimited section.

    ``closed`` is False for the last section when the file does not end with a rule line
    (a truncated export, if that section is a document).
    """
    sections: list[tuple[int, list[str], bool]] = []
    start, lines = 1, []
    for number, line in enumerate(text.split("\n"), start=1):
        if _RULE.match(line):
            sections.append((start, lines, True))
            start, lines = number + 1, []
        else:
            lines.append(line)
    if any(line.strip() for line in lines):
        sections.append((start, lines, False))
    return sections


def _is_label(line: str, current: str | None) -> tuple[str, str] | None:
    """``(label, value)`` when ``line`` starts a new field while reading field ``current``.

    Inside free text only ProQuest labels count, and not those that double as headings of
    structured abstracts ("Methodology: ..."); after a short field any ``Label: value`` does,
    so an unknown vendor field never runs into the previous one.
    """
    match = _LABEL.match(line)
    if match is None:
        return None
    label, value = match.group(1), match.group(2) or ""
    key = label.lower()
    in_free_text = current is not None and current.lower() in _FREE_TEXT
    if key in KNOWN_LABELS:
        return None if in_free_text and key in _ABSTRACT_HEADINGS else (label, value)
    if current is not None and not in_free_text and value:
        return label, value
    return None


def parse_document(number: int, total: int, first_line: int, lines: list[str], closed: bool) -> Document:
    """Fields of one document section (``lines`` start after the ``Document N of M`` line)."""
    doc = Document(number=number, total=total, line=first_line, closed=closed)
    current: tuple[str, list[str]] | None = None
    for line in lines:
        text = line.rstrip()
        if not text.strip():
            if current is not None and current[0].lower() in _FREE_TEXT:
                current[1].append("")  # keep paragraph breaks of abstracts in raw
            continue
        labelled = _is_label(text, current[0] if current else None)
        if labelled is None and not doc.heading and current is None:
            doc.heading = text.strip()
            continue
        if labelled is not None:
            current = (labelled[0], [labelled[1].strip()])
            doc.fields.append(current)
            continue
        if _URL.match(text.strip()) and (current is None or current[0].lower() not in _URL_FIELDS):
            current = ("Document URL", [text.strip()])
            doc.fields.append(current)
            continue
        if current is None:
            doc.heading = f"{doc.heading} {text.strip()}"  # a heading wrapped over two lines
        else:
            current[1].append(text.strip())
    return doc


def _field_map(doc: Document) -> dict[str, str]:
    """Label (lower-case) -> value, first occurrence wins, wrapped lines joined with spaces."""
    out: dict[str, str] = {}
    for label, lines in doc.fields:
        out.setdefault(label.lower(), clean_text(" ".join(lines)))
    return out


def raw_of(doc: Document) -> dict[str, object]:
    """Every field as exported (lines joined with ``\\n``); repeated labels become lists."""
    raw: dict[str, object] = {"Document": f"{doc.number} of {doc.total}"}
    if doc.heading:
        raw["Heading"] = doc.heading
    for label, lines in doc.fields:
        value = "\n".join(lines).strip("\n")
        if label not in raw:
            raw[label] = value
        elif isinstance(raw[label], list):
            raw[label].append(value)  # type: ignore[union-attr]
        else:
            raw[label] = [raw[label], value]
    return raw


def _keywords(f: dict[str, str]) -> list[str]:
    """Subject terms (``;``-lists) then identifiers (``;``-lists, or ``,`` when no ``;`` is used)."""
    out: list[str] = []
    for label in (
        "subject",
        "subject heading",
        "mesh",
        "mesh subject",
        "keywords",
        "identifier / keyword",
        "identifiers / keywords",
    ):
        value = f.get(label, "")
        if value:
            out.extend(split_items([value], ";" if ";" in value else ","))
    return out


def map_document(doc: Document) -> dict[str, object]:
    """Record fields of one document."""
    f = _field_map(doc)
    authors = f.get("author") or f.get("authors") or ""
    return {
        "source_id": f.get("proquest document id", ""),
        "source_database": f.get("database", ""),
        "title": f.get("title") or doc.heading,
        "abstract": f.get("abstract", ""),
        "authors": split_items([authors], ";") if authors else [],
        "year": f.get("publication year") or f.get("publication date") or f.get("year") or f.get("degree date", ""),
        "journal": f.get("publication title") or f.get("source", ""),
        "volume": f.get("volume", ""),
        "issue": f.get("issue", ""),
        "pages": f.get("pages") or f.get("first page", ""),
        "doi": f.get("doi", ""),
        "pmid": f.get("pubmed id") or f.get("pmid", ""),
        "issn": f.get("issn") or f.get("e-issn") or f.get("eissn", ""),
        "isbn": f.get("isbn") or f.get("e-isbn", ""),
        "keywords": _keywords(f),
        "language": f.get("language") or f.get("language of publication", ""),
        "doc_type": f.get("document type") or f.get("source type", ""),
        "url": f.get("document url", ""),
    }


def read_report(text: str) -> Report:
    """Split the report into document sections and the other sections' opening lines."""
    documents: list[Document] = []
    other: list[tuple[int, str]] = []
    for start, lines, closed in split_sections(text):
        body = [(start + i, line) for i, line in enumerate(lines) if line.strip()]
        if not body:
            continue
        first_number, first = body[0]
        match = _DOCUMENT.match(first.strip())
        if match:
            rest = lines[first_number - start + 1 :]
            documents.append(parse_document(int(match.group(1)), int(match.group(2)), first_number, rest, closed))
        else:
            other.append((first_number, first.strip()))
    return Report(documents=documents, other=other)


@register
class ProQuestTextReader:
    """Reader for ProQuest's plain-text report export."""

    name = "proquest"
    priority = 50

    def sniff(self, source: Source) -> float:
        """Sure on the report title; fairly sure on ``Document N of M`` sections with ProQuest labels."""
        lines = [line.strip() for line in first_nonblank_lines(source.head, 400)]
        if "Report Information from ProQuest" in lines[:6]:
            return 1.0
        has_rule = any(_RULE.match(line) for line in lines)
        if (
            has_rule
            and any(_DOCUMENT.match(line) for line in lines)
            and any(line.startswith("ProQuest document ID:") for line in lines)
        ):
            return 0.9
        return 0.0

    def parse(self, source: Source) -> ParseResult:
        """Parse every ``Document N of M`` section; other sections are checked, not kept."""
        report = read_report(source.text or "")
        records: list[ParsedRecord] = []
        problems: list[Problem] = []
        for position, doc in enumerate(report.documents):
            fields = map_document(doc)
            if not has_content(fields):
                problems.append(
                    Problem(
                        reason=f"ProQuest document {doc.number} (record {position + 1}) has no fields; not ingested",
                        line=doc.line,
                        severity="error",
                    )
                )
                continue
            index = len(records)
            records.append(ParsedRecord(fields=fields, raw=raw_of(doc), line=doc.line))
            if not doc.closed:
                problems.append(
                    Problem(
                        reason="document is not closed by a rule line (export truncated?); parsed what is there",
                        index=index,
                        line=doc.line,
                        severity="warning",
                    )
                )
            if not fields["title"]:
                problems.append(Problem(reason="record has no title", index=index, line=doc.line, severity="warning"))
        problems.extend(_count_check(report))
        for number, first in report.other:
            if not first.lower().startswith(_NON_RECORD_SECTIONS):
                problems.append(
                    Problem(reason=f"section not understood, ignored: {first[:60]!r}", line=number, severity="warning")
                )
        return ParseResult(records=records, problems=problems, found=len(report.documents), database=DATABASE)


def _count_check(report: Report) -> list[Problem]:
    """A warning when the ``of M`` totals disagree with the documents present (a cut export)."""
    if not report.documents:
        return []
    totals = {doc.total for doc in report.documents}
    expected = max(totals)
    if len(report.documents) == expected and len(totals) == 1:
        return []
    return [
        Problem(
            reason=f"the report says it holds {expected} documents but {len(report.documents)} were found "
            "(export truncated or files concatenated?)",
            line=report.documents[-1].line,
            severity="warning",
        )
    ]
