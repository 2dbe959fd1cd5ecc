"""CSL-JSON: the citation data Zotero ("Export Collection > CSL JSON"), Better BibTeX, Mendeley
and Paperpile write, and citeproc and pandoc read.

A JSON array of objects with CSL's variable names: ``title``, ``author`` (a list of
``{"family", "given"}`` or ``{"literal"}`` names), ``issued`` (``{"date-parts": [[2023, 11]]}``,
numbers or strings, or a ``raw``/``literal`` date), ``container-title``, ``volume``, ``issue``,
``page``, ``DOI``, ``PMID``, ``ISSN``, ``ISBN``, ``type``, ``id``. It was refused as an
unrecognised format (it starts with ``[`` as Publish or Perish JSON does, without PoP's keys).

A reference manager's export says nothing of the database a record was found in, except
Zotero's "Library Catalog" (CSL ``source``: "PubMed", "DOI.org (Crossref)"), which is taken
when present; otherwise the database is left to ``--database`` (or the config's
``ingest.databases``), as for any file that does not name one.
"""

from __future__ import annotations

from typing import Any

from evreview.ingest.formats.pop_json import json_objects
from evreview.ingest.formats.ris import classify_sn
from evreview.ingest.registry import ParsedRecord, ParseResult, Problem, Source, register

#: CSL variables typical of a record; two or more (with ``"type"``) in the head identify the format.
_CSL_KEYS = ('"container-title"', '"issued"', '"family"', '"DOI"', '"citation-key"', '"page"', '"author"')


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):  # a few producers write one-item lists ("ISSN": ["1234-5678"])
        return "; ".join(_text(item) for item in value if item is not None)
    return str(value).strip()


def _name(person: Any) -> str:
    """``Family, Given`` (with CSL's particles), or a literal (organisation) name."""
    if not isinstance(person, dict):
        return _text(person)
    if person.get("literal"):
        return _text(person["literal"])
    family = " ".join(
        part for part in (_text(person.get("non-dropping-particle")), _text(person.get("family"))) if part
    )
    given = " ".join(part for part in (_text(person.get("given")), _text(person.get("dropping-particle"))) if part)
    suffix = _text(person.get("suffix"))
    name = f"{family}, {given}" if family and given else family or given
    return f"{name}, {suffix}" if suffix and name else name


def year_of(issued: Any) -> Any:
    """The year of a CSL date: the first of its ``date-parts`` (a number or a string), else its
    ``raw``/``literal`` text, for the normaliser to find a year in."""
    if isinstance(issued, dict):
        parts = issued.get("date-parts")
        if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
            return parts[0][0]
        return issued.get("raw") or issued.get("literal") or issued.get("season")
    return issued


def record_fields(item: dict[str, Any]) -> dict[str, Any]:
    """Record fields from one CSL item."""
    authors = item.get("author")
    keywords = item.get("keyword")
    # ISSN and ISBN as the RIS reader keeps them (distinct, hyphenated ISSNs, bare ISBNs)
    issn, isbn = classify_sn(tuple(v for v in (_text(item.get("ISSN")), _text(item.get("ISBN"))) if v))
    return {
        "source_id": _text(item.get("id")),
        "source_database": _text(item.get("source")),
        "title": _text(item.get("title")),
        "abstract": _text(item.get("abstract")),
        "authors": [name for name in map(_name, authors) if name] if isinstance(authors, list) else [],
        "year": year_of(item.get("issued")),
        "journal": _text(item.get("container-title")),
        "volume": _text(item.get("volume")),
        "issue": _text(item.get("issue")),
        "pages": _text(item.get("page")),
        "doi": _text(item.get("DOI")),
        "pmid": _text(item.get("PMID")),
        "issn": issn,
        "isbn": isbn,
        "keywords": [k.strip() for k in keywords.split(",") if k.strip()] if isinstance(keywords, str) else [],
        "language": _text(item.get("language")),
        "doc_type": _text(item.get("type")),
        "url": _text(item.get("URL")),
    }


@register
class CslJsonReader:
    """CSL-JSON (``.json``) from Zotero, Better BibTeX, Mendeley, pandoc."""

    name = "csl_json"
    #: as Publish or Perish JSON's, which is surer of its own files (0.95 against 0.9)
    priority = 10

    def sniff(self, source: Source) -> float:
        """A JSON array whose first objects carry CSL's ``type`` and record variables, or three
        of those variables: a download cut before its first ``type`` (Zotero sorts keys, so
        ``type`` comes last) is then named invalid JSON at its line, not an unknown format."""
        is_array = source.head.lstrip("\ufeff \t\r\n").startswith("[")
        hits = sum(key in source.head for key in _CSL_KEYS) if is_array else 0
        return 0.9 if hits >= 3 or (hits == 2 and '"type"' in source.head) else 0.0

    def parse(self, source: Source) -> ParseResult:
        problems: list[Problem] = []
        records = [
            ParsedRecord(fields=record_fields(item), raw=item, line=line)
            for line, item in json_objects(source, "CSL-JSON", problems)
        ]
        return ParseResult(records=records, problems=problems)
