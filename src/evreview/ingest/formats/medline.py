"""PubMed MEDLINE exports (``.nbib``, "Save > Format: PubMed", EndNote/Zotero MEDLINE).

A record starts at its ``PMID- `` line (or after a blank line); a tag is two to four
characters padded to four, then ``- ``; continuation lines are indented by six spaces.
Identifiers carry their kind in brackets (``LID - 10.1371/x [doi]``, ``AID - S0140 [pii]``,
``IS  - 1932-6203 (Linking)``), so the mapping below picks by that kind rather than by position.
"""

from __future__ import annotations

import re

from evreview.ingest.formats._tagged import (
    Block,
    Scan,
    collect,
    first_nonblank_lines,
    last_record_warning,
    raw_fields,
    stray_problems,
    text_of,
    values_of,
)
from evreview.ingest.registry import ParsedRecord, ParseResult, Problem, Source, register
from evreview.records import clean_pmid, normalise_doc_type

_TAG = re.compile(r"^([A-Z][A-Z0-9]{1,3}) {0,3}-(?: (.*)|)$")
_PMID_LINE = re.compile(r"^PMID- ?\d+\s*$")
_MEDLINE_TAGS = frozenset({"TI", "AB", "AU", "FAU", "DP", "TA", "JT", "SO", "PT", "LA", "OWN", "STAT", "IS"})

DATABASE = "PubMed"

#: ISSN kinds in order of preference: the linking ISSN groups a journal's print and online forms.
_ISSN_PREFERENCE = ("linking", "electronic", "print")

#: Most specific document type first; a record's ``PT`` list (e.g. "Journal Article",
#: "Review", "Research Support, N.I.H.") is ranked by the vocabulary type each maps to.
_TYPE_RANK = (
    "retraction",
    "erratum",
    "review",
    "editorial",
    "letter",
    "comment",
    "preprint",
    "conference",
    "thesis",
    "chapter",
    "book",
    "report",
    "note",
    "article",
)


#: PubMed publication types that describe a journal article's study or funding, not its kind
#: ("English Abstract" means the abstract was translated, not that it is a conference abstract).
_ARTICLE_DESCRIPTORS = (
    "journal article",
    "english abstract",
    "case reports",
    "comparative study",
    "research support",
    "observational study",
    "multicenter study",
    "evaluation study",
    "validation study",
    "twin study",
    "clinical study",
    "clinical trial",
    "randomized controlled trial",
    "controlled clinical trial",
    "equivalence trial",
    "pragmatic clinical trial",
    "adaptive clinical trial",
    "historical article",
    "introductory journal article",
)


def match_tag(line: str) -> tuple[str, str] | None:
    """``("FAU", "Wu, Dan")`` for a MEDLINE tag line, else ``None``.

    The usual padded form (``"AU  - "``) is recognised by slicing, which is several times
    faster than the regular expression that handles the rest; both give the same answer.
    """
    if line[4:6] == "- ":
        tag = line[:4].rstrip(" ")
        if len(tag) >= 2 and tag.isascii() and tag.isalnum() and tag.isupper() and tag[0].isalpha():
            return tag, line[6:].rstrip()
    match = _TAG.match(line)
    if match is None:
        return None
    return match.group(1), (match.group(2) or "").rstrip()


def _bracketed(values: list[str], kind: str) -> str:
    """The first value tagged ``[kind]`` (``10.1/x [doi]``), without its bracket."""
    suffix = f"[{kind}]"
    for value in values:
        if value.lower().endswith(suffix):
            return value[: -len(suffix)].strip()
    return ""


def _doi_in_citation(citation: str) -> str:
    """The DOI PubMed prints in the ``SO`` citation (``...;14(1):e0209483. doi: 10.1371/x.``), if any."""
    _, found, rest = citation.partition("doi:")
    return rest.strip() if found else ""


def pick_issn(values: list[str]) -> str:
    """The linking ISSN, else the electronic, else the print one, else the first (bare number)."""
    parsed = []
    for value in values:
        number, _, kind = value.partition("(")
        parsed.append((number.strip(), kind.rstrip(")").strip().lower()))
    for wanted in _ISSN_PREFERENCE:
        for number, kind in parsed:
            if kind == wanted and number:
                return number
    return parsed[0][0] if parsed else ""


def _pt_kind(value: str) -> str:
    """The vocabulary type of one PubMed publication type, study descriptors counted as articles."""
    if value.lower().startswith(_ARTICLE_DESCRIPTORS):
        return "article"
    return normalise_doc_type(value)


def pick_doc_type(types: list[str]) -> str:
    """The most specific publication type in ``PT`` (a review over "Journal Article").

    Returns a value the shared normaliser maps to the right type: a study descriptor such as
    "English Abstract" (which it would read as a conference abstract) becomes "Journal Article".
    """
    if not types:
        return ""

    def rank(value: str) -> int:
        kind = _pt_kind(value)
        return _TYPE_RANK.index(kind) if kind in _TYPE_RANK else len(_TYPE_RANK)

    best = min(types, key=rank)  # min is stable: the first of equally specific types wins
    if _pt_kind(best) == "article" and normalise_doc_type(best) != "article":
        return "Journal Article"
    return best


def _keywords(block: Block) -> list[str]:
    """Author keywords (``OT``) then MeSH headings (``MH``) without the ``*`` major-topic marks."""
    out = values_of(block, "OT")
    out.extend(value.replace("*", "") for value in values_of(block, "MH"))
    return out


def map_block(block: Block) -> tuple[dict[str, object], dict[str, object]]:
    """Record fields and raw tags of one MEDLINE record."""
    pmid = clean_pmid(text_of(block, "PMID"))
    title = text_of(block, "TI")
    book_title = text_of(block, "BTI")
    ids = values_of(block, "LID") + values_of(block, "AID")
    authors = values_of(block, "FAU") or values_of(block, "AU") or values_of(block, "CN")
    fields: dict[str, object] = {
        "source_id": pmid,
        "source_database": DATABASE,
        "title": title or book_title,
        "abstract": text_of(block, "AB"),
        "authors": authors,
        "year": text_of(block, "DP", "DEP", "CRDT"),
        "journal": text_of(block, "JT", "TA") or (book_title if title else ""),
        "volume": text_of(block, "VI"),
        "issue": text_of(block, "IP"),
        "pages": text_of(block, "PG"),
        "doi": _bracketed(ids, "doi") or _doi_in_citation(text_of(block, "SO")),
        "pmid": pmid,
        "issn": pick_issn(values_of(block, "IS")),
        "isbn": text_of(block, "ISBN"),
        "keywords": _keywords(block),
        "language": text_of(block, "LA"),
        "doc_type": pick_doc_type(values_of(block, "PT")),
        "url": f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if pmid else "",
    }
    return fields, dict(raw_fields(block.entries))


@register
class MedlineReader:
    """Reader for PubMed/MEDLINE tagged exports."""

    name = "medline"
    priority = 50

    def sniff(self, source: Source) -> float:
        """Sure when the first line is a ``PMID-`` line; fairly sure when PMID records follow MEDLINE tags."""
        lines = first_nonblank_lines(source.head, 80)
        if not lines:
            return 0.0
        if _PMID_LINE.match(lines[0]):
            return 1.0
        pmid_lines = sum(bool(_PMID_LINE.match(line)) for line in lines)
        tags = {m[0] for m in (match_tag(line) for line in lines) if m}
        if pmid_lines and len(tags & _MEDLINE_TAGS) >= 3:
            return 0.8
        return 0.0

    def parse(self, source: Source) -> ParseResult:
        """Parse every record; a record without a PMID is kept, with a warning."""
        text = source.text or ""
        scanned = Scan(text, match_tag, start_tags=frozenset({"PMID"}), blank_ends_record=True)
        records, problems = collect(scanned, map_block, what="MEDLINE")
        for index, record in enumerate(records):
            if not record.fields["pmid"]:
                problems.append(Problem(reason="record has no PMID", index=index, line=record.line, severity="warning"))
        problems.extend(_truncation(text, scanned.last, records))
        problems.extend(stray_problems(scanned.stray, "MEDLINE"))
        return ParseResult(records=records, problems=problems, found=scanned.found, database=DATABASE)


def _truncation(text: str, last: Block | None, records: list[ParsedRecord]) -> list[Problem]:
    """A warning when the last record looks cut off.

    MEDLINE has no end-of-record tag, but PubMed writes the ``SO`` (source citation) line last
    in every record: a last record without it, when the others have it (or when the file ends
    mid-line), was cut off.
    """
    if last is None:
        return []
    others_have_so = any("SO" in record.raw for record in records[:-1])
    if "SO" not in last.tags() and (others_have_so or not text.endswith("\n")):
        return last_record_warning(
            records, last, "last record looks truncated (file ends mid-record); parsed what is there"
        )
    return []
