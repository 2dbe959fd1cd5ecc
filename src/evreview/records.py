"""The normalised record table: its columns and the field normalisers every reader shares.

Every format reader produces plain ``dict`` records with the keys in :data:`RECORD_FIELDS`
(missing ones are filled with empty values by :func:`finalise_record`). Normalisation lives
here, once, so that a DOI from a Scopus CSV and a DOI from an Ovid RIS compare equal in
deduplication, whatever their spelling in the export.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

#: Columns of the normalised record table, in output order.
#: ``authors`` and ``keywords`` are lists of strings; ``year`` is a nullable integer;
#: ``raw`` is a JSON object of the record's fields exactly as the export had them (for audit).
RECORD_COLUMNS: tuple[str, ...] = (
    "record_id",
    "search",
    "source_file",
    "source_format",
    "source_database",
    "source_index",
    "source_line",
    "source_id",
    "title",
    "abstract",
    "authors",
    "year",
    "journal",
    "volume",
    "issue",
    "pages",
    "doi",
    "pmid",
    "issn",
    "isbn",
    "keywords",
    "language",
    "doc_type",
    "url",
    "raw",
)

#: Fields a reader fills (the rest are provenance, added by the ingest driver).
RECORD_FIELDS: tuple[str, ...] = (
    "source_id",
    "source_database",
    "title",
    "abstract",
    "authors",
    "year",
    "journal",
    "volume",
    "issue",
    "pages",
    "doi",
    "pmid",
    "issn",
    "isbn",
    "keywords",
    "language",
    "doc_type",
    "url",
)

LIST_FIELDS = frozenset({"authors", "keywords"})

_WS = re.compile(r"\s+")
_DOI_IN_TEXT = re.compile(r"10\.\d{4,9}/\S+", re.IGNORECASE)
_DOI_PREFIX = re.compile(
    r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*|doi\s+|https?://doi\.[a-z]+\.[a-z]+/)", re.IGNORECASE
)
_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d|2100)(?!\d)")
_PMID = re.compile(r"^\d{1,9}$")
_TAGS = re.compile(r"<[^>]{0,200}>")
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def clean_text(value: Any) -> str:
    """Collapse whitespace, unescape HTML entities and strip; ``None``/NaN become ``""``.

    Called ~20 times per record, so it stays on C-level string methods: ``split``/``join``
    collapses every kind of whitespace (tabs, newlines, no-break spaces) in one pass, and the
    costly ``html.unescape`` runs only when an entity is actually present.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, float):
        if value != value:  # NaN
            return ""
        text = str(int(value)) if value.is_integer() else str(value)
    else:
        text = str(value)
    if "&" in text and _ENTITY.search(text):
        text = html.unescape(text)
    return " ".join(text.split())


def strip_markup(value: str) -> str:
    """Remove inline HTML/XML tags (``<i>``, ``<sup>``) some databases leave in titles."""
    if "<" not in value:
        return value
    return _WS.sub(" ", _TAGS.sub("", value)).strip()


def clean_doi(value: Any) -> str:
    """Return the bare, lower-case DOI (``10.x/y``) found in ``value``, or ``""``.

    Exports write DOIs as URLs (Ovid: ``http://dx.doi.org/...``), with ``doi:`` prefixes,
    with trailing ``[doi]`` (MEDLINE) or punctuation, or several separated by spaces;
    the first DOI wins.
    """
    text = clean_text(value)
    if not text:
        return ""
    text = _DOI_PREFIX.sub("", text)
    if "%2f" in text or "%2F" in text:
        text = re.sub("%2f", "/", text, flags=re.IGNORECASE)
    match = _DOI_IN_TEXT.search(text)
    if not match:
        return ""
    doi = match.group(0).split("[", 1)[0]
    return doi.rstrip(".,;)]}>'\"").lower()


def parse_year(value: Any) -> int | None:
    """First plausible four-digit year in ``value`` (``"2019//"``, ``"2021 Mar 5"``)."""
    if value is None:
        return None
    if isinstance(value, int):
        return value if 1500 <= value <= 2100 else None
    if isinstance(value, float):
        if value != value:
            return None
        return int(value) if value.is_integer() and 1500 <= value <= 2100 else None
    match = _YEAR.search(str(value))
    return int(match.group(1)) if match else None


def clean_pmid(value: Any) -> str:
    """Digits-only PubMed id, or ``""``."""
    text = clean_text(value)
    if not text:
        return ""
    if text[:5].lower() == "pmid:":
        text = text[5:].strip()
    text = text.split()[0].rstrip(".;,") if text else ""
    return text if _PMID.match(text) else ""


def clean_pages(value: Any) -> str:
    """Normalise a page range: unify dashes, drop spaces, expand ``123-9`` to ``123-129``."""
    text = clean_text(value)
    if not text:
        return ""
    text = text.replace("\u2013", "-").replace("\u2014", "-").replace("--", "-").replace(" ", "")
    if "-" in text:
        start, _, end = text.partition("-")
        if start.isdigit() and end.isdigit() and len(end) < len(start):
            end = start[: len(start) - len(end)] + end
        if start == end:
            return start
        return f"{start}-{end}" if end else start
    return text


def split_list(value: Any, separators: str = ";") -> list[str]:
    """Split a multi-valued field into cleaned, non-empty items, keeping order and duplicates out."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        items: Iterable[Any] = value
    else:
        text = clean_text(value)
        if not text:
            return []
        items = [text]
        for sep in separators:
            items = [part for item in items for part in str(item).split(sep)]
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        cleaned = clean_text(item)
        if cleaned and cleaned not in seen:
            seen.add(cleaned)
            out.append(cleaned)
    return out


_DOC_TYPES: tuple[tuple[str, str], ...] = (
    ("erratum", "erratum"),
    ("correction", "erratum"),
    ("retract", "retraction"),
    ("editorial", "editorial"),
    ("letter", "letter"),
    ("comment", "comment"),
    ("systematic review", "review"),
    ("meta-analysis", "review"),
    ("review", "review"),
    ("english abstract", "article"),
    ("case report", "article"),
    ("conference", "conference"),
    ("proceeding", "conference"),
    ("congress", "conference"),
    ("meeting", "conference"),
    ("inproceedings", "conference"),
    ("cpaper", "conference"),
    ("conf", "conference"),
    ("abstract", "conference"),
    ("dissertation", "thesis"),
    ("thesis", "thesis"),
    ("phdthesis", "thesis"),
    ("mastersthesis", "thesis"),
    ("book section", "chapter"),
    ("chapter", "chapter"),
    ("chap", "chapter"),
    ("incollection", "chapter"),
    ("inbook", "chapter"),
    ("book", "book"),
    ("preprint", "preprint"),
    ("posted-content", "preprint"),
    ("report", "report"),
    ("rprt", "report"),
    ("techreport", "report"),
    ("note", "note"),
    ("article", "article"),
    ("jour", "article"),
    ("journal", "article"),
    ("jfull", "article"),
    ("ejour", "article"),
    ("research-article", "article"),
    ("clinical trial", "article"),
    ("randomized controlled trial", "article"),
)


def normalise_doc_type(value: Any) -> str:
    """Map a database's document type (``JOUR``, ``Article``, ``Conference Paper``...) to a small vocabulary.

    The vocabulary (article, review, conference, chapter, book, thesis, report, preprint,
    editorial, letter, comment, erratum, retraction, note, other) is what eligibility rules
    and PRISMA reasons refer to; the export's own value stays in ``raw``.
    """
    text = clean_text(value).lower()
    if not text:
        return ""
    for needle, kind in _DOC_TYPES:
        if needle in text:
            return kind
    return "other"


_LANGUAGES = {
    "en": "eng", "eng": "eng", "english": "eng",
    "fr": "fre", "fre": "fre", "fra": "fre", "french": "fre",
    "de": "ger", "ger": "ger", "deu": "ger", "german": "ger",
    "es": "spa", "spa": "spa", "spanish": "spa",
    "pt": "por", "por": "por", "portuguese": "por",
    "it": "ita", "ita": "ita", "italian": "ita",
    "nl": "dut", "dut": "dut", "nld": "dut", "dutch": "dut",
    "zh": "chi", "chi": "chi", "zho": "chi", "chinese": "chi",
    "ja": "jpn", "jpn": "jpn", "japanese": "jpn",
    "ru": "rus", "rus": "rus", "russian": "rus",
    "ko": "kor", "kor": "kor", "korean": "kor",
    "pl": "pol", "pol": "pol", "polish": "pol",
    "tr": "tur", "tur": "tur", "turkish": "tur",
    "ar": "ara", "ara": "ara", "arabic": "ara",
    "sv": "swe", "swe": "swe", "swedish": "swe",
    "da": "dan", "dan": "dan", "danish": "dan",
    "no": "nor", "nor": "nor", "norwegian": "nor",
    "fi": "fin", "fin": "fin", "finnish": "fin",
    "cs": "cze", "cze": "cze", "ces": "cze", "czech": "cze",
    "hu": "hun", "hun": "hun", "hungarian": "hun",
    "fa": "per", "per": "per", "fas": "per", "persian": "per",
    "sl": "slv", "slv": "slv", "slovenian": "slv",
}


def normalise_language(value: Any) -> str:
    """MARC/ISO 639-2 bibliographic code (``eng``) for the first language named, or ``""``.

    Unknown languages are kept lower-cased rather than dropped, so a language rule can still
    match them.
    """
    text = clean_text(value).lower()
    if not text:
        return ""
    first = re.split(r"[;,/|]", text)[0].strip()
    return _LANGUAGES.get(first, first)


def fold(text: str) -> str:
    """Lower-case ASCII-folded text with punctuation as spaces: the key form for matching."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^\w]+", " ", text.lower())
    return _WS.sub(" ", text).strip()


def make_record_id(search: str, source_file: str, source_index: int) -> str:
    """Stable id of one ingested record: its search round, file name and position.

    Inputs under ``data/raw`` are never modified, so (round, file, position) identifies a
    record across re-runs. Cross-round identity of *studies* is deduplication's job.
    """
    key = f"{search}\x00{source_file}\x00{source_index}".encode()
    return "r" + hashlib.sha1(key).hexdigest()[:15]


def finalise_record(fields: dict[str, Any]) -> dict[str, Any]:
    """Apply the shared normalisers to a reader's raw-ish record dict (in place) and return it.

    Readers may fill fields loosely (a DOI URL, a year string, an author string with ``;``);
    this makes every record conform to :data:`RECORD_FIELDS`.
    """
    out = fields
    out["title"] = strip_markup(clean_text(out.get("title")))
    out["abstract"] = clean_text(out.get("abstract"))
    out["journal"] = clean_text(out.get("journal"))
    out["volume"] = clean_text(out.get("volume"))
    out["issue"] = clean_text(out.get("issue"))
    out["pages"] = clean_pages(out.get("pages"))
    out["doi"] = clean_doi(out.get("doi"))
    out["pmid"] = clean_pmid(out.get("pmid"))
    out["issn"] = clean_text(out.get("issn"))
    out["isbn"] = clean_text(out.get("isbn"))
    out["year"] = parse_year(out.get("year"))
    out["language"] = normalise_language(out.get("language"))
    out["doc_type"] = normalise_doc_type(out.get("doc_type"))
    out["url"] = clean_text(out.get("url"))
    out["source_id"] = clean_text(out.get("source_id"))
    out["source_database"] = clean_text(out.get("source_database"))
    out["authors"] = split_list(out.get("authors"))
    out["keywords"] = split_list(out.get("keywords"))
    return out
