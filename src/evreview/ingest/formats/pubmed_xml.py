"""PubMed XML (``<PubmedArticleSet><PubmedArticle>...``), as E-utilities ``efetch`` and PubMed's
"XML" download write it; read safely with defusedxml.

Before this reader such a file was "unrecognised format". Each ``<PubmedArticle>`` (and book
record, ``<PubmedBookArticle>``) is one record, streamed through defusedxml's SAX parser so
that its start line is known. The export declares the NLM DTD by a public identifier; the
declaration is blanked before parsing (never fetched: no network), and any other DTD, entity
declaration or external reference is refused as in the EndNote XML reader, so an XML bomb is
an error naming the file and line.

Inline markup inside text elements (``<i>``, ``<sup>``, MathML in a title, ``<b>`` in an
abstract) is transparent: its text joins the element's. A structured abstract's sections
(``<AbstractText Label="METHODS">``) are joined as ``"METHODS: ..."``. Authors are
``"LastName, ForeName"`` (or the ``<CollectiveName>`` of a group author). The year is the
issue's ``PubDate/Year``, else the year in a ``MedlineDate`` ("1998 Dec-1999 Jan"), else the
electronic ``ArticleDate``. ``raw`` keeps every element's text by its path below the record.

Malformed XML never loses a record silently: the records completed before the parser error
are kept, and every later record start in the file is an "error" problem carrying the
parser's message and position.
"""

from __future__ import annotations

import re
import xml.sax
import xml.sax.handler
from dataclasses import dataclass, field
from typing import Any

from evreview.ingest.formats.endnote_xml import parse_record_elements
from evreview.ingest.formats.medline import pick_doc_type
from evreview.ingest.registry import ParsedRecord, ParseResult, Source, register

#: The elements that are one record each.
_RECORD_TAGS = frozenset({"PubmedArticle", "PubmedBookArticle"})
_RECORD_START = re.compile(r"<Pubmed(?:Book)?Article[\s>]")
#: Elements whose text may hold inline markup (kept as text, never as their own paths).
_TEXT_TAGS = frozenset(
    {"ArticleTitle", "VernacularTitle", "AbstractText", "BookTitle", "Keyword", "Affiliation", "CopyrightInformation"}
)


@dataclass
class _Record:
    """One record as read: its start line, texts by path, attributes, and the parsed authors."""

    line: int
    tag: str
    values: dict[str, list[str]] = field(default_factory=dict)
    #: (path, attributes, text) of elements with attributes (ELocationID, ArticleId)
    tagged: list[tuple[str, dict[str, str], str]] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    #: the ``<Abstract>`` sections in order, a labelled one as ``"LABEL: text"``
    abstract: list[str] = field(default_factory=list)


class _Handler(xml.sax.handler.ContentHandler):
    """Collects each record's element texts by path (relative to the record element)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[_Record] = []
        self.current: _Record | None = None
        self.path: list[str] = []
        self.attrs: list[dict[str, str]] = []
        self.text: list[list[str]] = []
        self.inline = 0  # depth of markup elements inside a text element
        self.author: dict[str, str] = {}
        self.locator: Any = None

    def setDocumentLocator(self, locator: Any) -> None:
        self.locator = locator

    def startElement(self, name: str, attrs: Any) -> None:
        if self.current is None:
            if name in _RECORD_TAGS:
                line = int(self.locator.getLineNumber()) if self.locator is not None else 0
                self.current = _Record(line=line, tag=name)
                self.path, self.attrs, self.text, self.inline = [], [], [], 0
            return
        if self.inline or (self.path and self.path[-1] in _TEXT_TAGS):
            self.inline += 1
            return
        if name == "Author":
            self.author = {}
        self.path.append(name)
        self.attrs.append(dict(attrs.items()))
        self.text.append([])

    def characters(self, content: str) -> None:
        if self.current is not None and self.text:
            self.text[-1].append(content)

    def endElement(self, name: str) -> None:
        if self.current is None:
            return
        if self.inline:
            self.inline -= 1
            return
        if not self.path:  # the record element itself
            self.records.append(self.current)
            self.current = None
            return
        key = "/".join(self.path)
        text = " ".join("".join(self.text.pop()).split())
        attrs = self.attrs.pop()
        self.path.pop()
        if name in ("LastName", "ForeName", "Initials", "CollectiveName") and self.path[-1:] == ["Author"]:
            self.author[name] = text
        elif (name == "Author" and self.path[-1:] == ["AuthorList"]
              and "editor" not in self.attrs[-1].get("Type", "").lower()):  # the list's Type: "editors"
            self.current.authors.append(_author_name(self.author))
        elif name == "AbstractText" and self.path[-1:] == ["Abstract"] and text:
            label = attrs.get("Label", "")
            self.current.abstract.append(f"{label}: {text}" if label else text)
        if text:
            self.current.values.setdefault(key, []).append(text)
            if attrs:
                self.current.tagged.append((key, attrs, text))


def _author_name(parts: dict[str, str]) -> str:
    """``"LastName, ForeName"`` (initials when there is no fore name), or the group's name."""
    last = parts.get("LastName", "")
    given = parts.get("ForeName", "") or parts.get("Initials", "")
    if last:
        return f"{last}, {given}" if given else last
    return parts.get("CollectiveName", "")


#: The NLM declaration by public identifier only (no internal subset, so no entity in it).
_DOCTYPE = re.compile(r"<!DOCTYPE\s+Pubmed\w*Set\s+(?:PUBLIC|SYSTEM)[^\[>]*>")


def _without_doctype(text: str) -> str:
    """The text with PubMed's plain DOCTYPE blanked (same length and lines), so the parser can
    forbid every DTD as for EndNote XML: a DOCTYPE with an internal subset (where entities and
    bombs live) is left in place and refused."""
    match = _DOCTYPE.search(text, 0, 2000)
    if not match:
        return text
    blank = re.sub(r"[^\n]", " ", match.group(0))
    return text[: match.start()] + blank + text[match.end() :]


# ----------------------------------------------------------------------------- field mapping

_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")


def _first(values: dict[str, list[str]], *paths: str) -> str:
    for path in paths:
        for value in values.get(path, ()):
            if value:
                return value
    return ""


def _with_attr(rec: _Record, suffix: str, attr: str, wanted: str) -> str:
    """Text of the first element whose path ends with ``suffix`` and ``attr == wanted``."""
    for path, attrs, text in rec.tagged:
        if path.endswith(suffix) and attrs.get(attr, "").lower() == wanted:
            return text
    return ""


def _year(values: dict[str, list[str]], *dates: str) -> str:
    for date in dates:
        year = _first(values, f"{date}/Year")
        if year:
            return year
        match = _YEAR.search(_first(values, f"{date}/MedlineDate"))
        if match:
            return match.group(1)
    return ""


def _pages(values: dict[str, list[str]], article: str) -> str:
    pages = _first(values, f"{article}/Pagination/MedlinePgn")
    if pages:
        return pages
    start = _first(values, f"{article}/Pagination/StartPage")
    end = _first(values, f"{article}/Pagination/EndPage")
    return f"{start}-{end}" if start and end else start


def record_fields(rec: _Record) -> dict[str, Any]:
    """Map one ``PubmedArticle`` (or ``PubmedBookArticle``) to record fields."""
    v = rec.values
    if rec.tag == "PubmedBookArticle":
        pmid = _first(v, "BookDocument/PMID")
        title = _first(v, "BookDocument/ArticleTitle", "BookDocument/Book/BookTitle")
        journal = _first(v, "BookDocument/Book/BookTitle") if _first(v, "BookDocument/ArticleTitle") else ""
        # a chapter of a book updated in place (GeneReviews: PubDate 1993, the series' start)
        # is dated by its own ContributionDate, the year PubMed cites it by ("1998 Sep 4
        # [updated 2023]"); a whole book has none and keeps the book's date
        year = _year(v, "BookDocument/ContributionDate", "BookDocument/Book/PubDate")
        volume = issue = pages = issn = ""
        language = _first(v, "BookDocument/Language")
        types = v.get("BookDocument/PublicationType", []) or ["Book"]
        keywords = v.get("BookDocument/KeywordList/Keyword", [])
        isbn = _first(v, "BookDocument/Book/Isbn")
    else:
        base = "MedlineCitation/Article"
        issue_path = f"{base}/Journal/JournalIssue"
        pmid = _first(v, "MedlineCitation/PMID")
        title = _first(v, f"{base}/ArticleTitle", f"{base}/VernacularTitle")
        journal = _first(
            v,
            f"{base}/Journal/Title",
            f"{base}/Journal/ISOAbbreviation",
            "MedlineCitation/MedlineJournalInfo/MedlineTA",
        )
        year = _year(v, f"{issue_path}/PubDate", f"{base}/ArticleDate")
        volume = _first(v, f"{issue_path}/Volume")
        issue = _first(v, f"{issue_path}/Issue")
        pages = _pages(v, base)
        issn = "; ".join(
            dict.fromkeys(
                v.get(f"{base}/Journal/ISSN", []) + v.get("MedlineCitation/MedlineJournalInfo/ISSNLinking", [])
            )
        )
        language = _first(v, f"{base}/Language")
        types = v.get(f"{base}/PublicationTypeList/PublicationType", [])
        keywords = v.get("MedlineCitation/KeywordList/Keyword", []) + v.get(
            "MedlineCitation/MeshHeadingList/MeshHeading/DescriptorName", []
        )
        isbn = ""
    doi = (
        _with_attr(rec, "/ELocationID", "EIdType", "doi")
        or _with_attr(rec, "PubmedData/ArticleIdList/ArticleId", "IdType", "doi")
        # a book's or chapter's own ids are in BookDocument (National Academies books have DOIs)
        or _with_attr(rec, "BookDocument/ArticleIdList/ArticleId", "IdType", "doi")
    )
    return {
        "source_id": pmid,
        "source_database": "PubMed",
        "pmid": pmid,
        "title": title,
        "abstract": " ".join(rec.abstract),
        "authors": [name for name in rec.authors if name],
        "year": year,
        "journal": journal,
        "volume": volume,
        "issue": issue,
        "pages": pages,
        "doi": doi,
        "issn": issn,
        "isbn": isbn,
        "keywords": list(keywords),
        "language": language,
        "doc_type": pick_doc_type(types),  # the most specific: "Review" after "Journal Article"
    }


def record_raw(rec: _Record) -> dict[str, Any]:
    """Every element's text by path below the record (a list where it repeats)."""
    raw: dict[str, Any] = {path: items if len(items) > 1 else items[0] for path, items in rec.values.items()}
    raw["_authors"] = rec.authors
    return raw


# ----------------------------------------------------------------------------- parsing


def parse_pubmed_xml(text: str, path: Any = None) -> ParseResult:
    """Parse PubMed XML text; raises :class:`IngestError` for unsafe or wholly unreadable XML."""
    return parse_record_elements(
        _without_doctype(text), _Handler(), lambda r: ParsedRecord(record_fields(r), record_raw(r), r.line),
        _RECORD_START, path=path, kind="PubMed XML",
    )


@register
class PubmedXmlReader:
    """PubMed / MEDLINE XML (efetch, PubMed's XML download)."""

    name = "pubmed_xml"
    priority = 60

    def sniff(self, source: Source) -> float:
        """An XML file whose head has a ``<PubmedArticleSet>`` or a ``<PubmedArticle>`` element."""
        head = source.head.lstrip("\ufeff \t\r\n")
        if not head.startswith("<"):
            return 0.0
        return 0.95 if _RECORD_START.search(head) or "<PubmedArticleSet" in head[:4000] else 0.0

    def parse(self, source: Source) -> ParseResult:
        path = source.options.get("display_path", source.path)
        return parse_pubmed_xml(source.text or "", path=path)
