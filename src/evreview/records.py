"""The normalised record table: its columns and the field normalisers every reader shares.

Every format reader produces plain ``dict`` records with the keys in :data:`RECORD_FIELDS`
(missing ones are filled with empty values by :func:`finalise_record`). Normalisation lives
here, once, so that a DOI from a Scopus CSV and a DOI from an Ovid RIS compare equal in
deduplication, whatever their spelling in the export.
"""

from __future__ import annotations

import hashlib
import operator
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

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

#: Provenance columns, added by the ingest driver rather than by a reader.
PROVENANCE_COLUMNS = frozenset(
    {"record_id", "search", "source_file", "source_format", "source_index", "source_line", "raw"}
)

#: Fields a reader fills: every record column but the provenance ones.
RECORD_FIELDS: tuple[str, ...] = tuple(c for c in RECORD_COLUMNS if c not in PROVENANCE_COLUMNS)

LIST_FIELDS = frozenset({"authors", "keywords"})

#: What ingest's summary, the PRISMA diagram, the report and What changed call a record's
#: database when the export names none.
UNKNOWN_DATABASE = "unknown database"
#: The Cochrane Library's database names, as its CSV export writes them in "Database Name"; its
#: RIS has no DB or DP tag, so the RIS reader names its records with these, and both exports agree.
CENTRAL = "Cochrane Central Register of Controlled Trials (CENTRAL)"
CDSR = "Cochrane Database of Systematic Reviews"

_WS = re.compile(r"\s+")
_DOI_IN_TEXT = re.compile(r"10\.\d{4,9}/\S+", re.IGNORECASE)
#: The item part of a SICI DOI ("[523:IDICKC]"): brackets that belong to the DOI.
_SICI_ITEM = re.compile(r"\[\d+:[^\]\s]*\]")
_DOI_PREFIX = re.compile(
    r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*|doi\s+|https?://doi\.[a-z]+\.[a-z]+/)", re.IGNORECASE
)
#: A year standing alone, or opening a compact ``YYYYMMDD`` date (TRID's "Start date: 20170812").
_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d|2100)(?:(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))?(?!\d)")
#: A page-range prefix ("pp 37-64", "pp.37", "p. 12"), as TRID writes its SP. A bare "P" glued to
#: the number stays: "P123" is a poster or e-page number, not page 123.
_PAGES_PREFIX = re.compile(r"^(?:pp\.?\s*|p\.\s*|p\s+)(?=\d)", re.IGNORECASE)
_PMID = re.compile(r"^\d{1,9}$")
_TAGS = re.compile(r"<[^>]{0,200}>")
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def _as_text(value: Any) -> str:
    """The text of a cell as a reader handed it: ``None``/NaN become ``""``, ``12.0`` becomes ``"12"``.

    Spreadsheet readers hand over floats for numeric-looking cells (a volume ``12`` read as
    ``12.0``); writing them back as integers keeps them equal to the same field from RIS.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        return str(int(value)) if value.is_integer() else str(value)
    return str(value)


def _clean_str(text: str, unescape: bool = True) -> str:
    """:func:`clean_text` of a ``str``: optional entity unescaping, then whitespace collapse."""
    if unescape and "&" in text and _ENTITY.search(text):
        import html  # here, not at the top: most exports have no entity, and html.entities takes ~1 ms to import

        text = html.unescape(text)
    return " ".join(text.split())


def clean_text(value: Any, *, unescape: bool = True) -> str:
    """Collapse whitespace, unescape HTML entities and strip; ``None``/NaN become ``""``.

    Called ~20 times per record, so it stays on C-level string methods: ``split``/``join``
    collapses every kind of whitespace (tabs, newlines, no-break spaces) in one pass, and the
    costly ``html.unescape`` runs only when an entity is actually present.

    ``unescape=False`` is for URLs and database ids: there ``&para=2`` is a query parameter,
    not the entity ``&para;`` (``html.unescape`` would turn it into a pilcrow).
    """
    return _clean_str(_as_text(value), unescape)


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
    # a "[" starts a note glued on ("10.x/y[doi]" in MEDLINE, "[Epub ahead of print]"), except
    # the item part of a SICI DOI: 10.1892/0891-6640(2006)20[523:IDICKC]2.0.CO;2 cut at its "["
    # names the journal issue, so every article of the issue had one "DOI"
    doi = match.group(0)
    item = _SICI_ITEM.search(doi)
    start = item.end() if item else 0  # a note glued on after a SICI DOI is a note all the same
    doi = doi[:start] + doi[start:].split("[", 1)[0]
    return doi.rstrip(".,;)]}>'\"").lower()


def parse_year(value: Any) -> int | None:
    """First plausible four-digit year in ``value`` (``"2019//"``, ``"2021 Mar 5"``, ``"20170812"``)."""
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
    elif text[:7].upper() == "PUBMED ":  # the Cochrane Library's CSV: "PUBMED 21314913"
        text = text[7:].strip()
    text = text.split()[0].rstrip(".;,") if text else ""
    return text if _PMID.match(text) else ""


#: An ISSN written with or without its hyphen, its check character in either case ("1860-2002",
#: "18602002", Lens's "1387585x"), standing alone (not eight digits of an ISBN or a longer number).
_ISSN_ANY = re.compile(r"(?<![\w-])(\d{4})-?(\d{3}[\dXx])(?![\w-])")
#: One ISSN already in the form :func:`clean_issn` gives.
_ISSN_CLEAN = re.compile(r"\d{4}-\d{3}[\dX]")


def clean_issn(value: Any) -> str:
    """ISSNs in their printed form, ``NNNN-NNNC`` with a capital ``X``; other text as it is.

    Databases differ: RIS, MEDLINE and BibTeX write ``1860-2002``, the Scopus, Embase and Lens
    tables ``18602002`` (Lens also ``1387585x``). One record read from two formats had two
    ISSNs that no exact comparison (or merged record) saw as the same, so every reader's
    value is brought to the hyphenated form here, once, rather than in each reader.

    Several ISSNs are ``"; "``-joined, each once: EndNote writes one journal's ISSN twice when
    the check character differs in case ("0025-732X; 0025-732x"), which its RIS reader
    (:func:`evreview.ingest.formats.ris.classify_sn`) already gave once.
    """
    text = clean_text(value)
    if not text or _ISSN_CLEAN.fullmatch(text):
        return text
    text = _ISSN_ANY.sub(lambda m: f"{m.group(1)}-{m.group(2).upper()}", text)
    if ";" in text:
        text = "; ".join(dict.fromkeys(part.strip() for part in text.split(";") if part.strip()))
    return text


#: Dashes written between page numbers: en and em dash, and the Unicode hyphen, non-breaking
#: hyphen, figure dash and minus the Cochrane Library writes ("1279\u20101297"), which left the
#: range unparsed and unlike the same pages from another database.
_DASHES = re.compile("[\u2010\u2011\u2012\u2013\u2014\u2212]")


#: Inspec's end page repeats the article number (Web of Science and Engineering Village write
#: ``BP 41103-1`` / ``EP 41103-41103-3`` for pages 1-3 of article 041103), so the joined range
#: reads "41103-1-41103-41103-3": the repeated number is dropped.
_ARTICLE_PAGES_DOUBLED = re.compile(r"(\d+)-(\d+)-\1-\1-(\d+)")
#: The longest volume, issue or pages value a reader keeps ("Suppl 2", "1 January", "e0123-e0131"
#: are far shorter): a longer one is text copied into the field, such as the author affiliations
#: Covidence puts in the issue of an Embase record, in its CSV and in every RIS flavour it writes.
MAX_NUMBERING = 40


def clean_pages(value: Any) -> str:
    """Normalise a page range: drop a ``pp``/``p.`` prefix, unify dashes, drop spaces, expand
    ``123-9`` to ``123-129``.

    Only a real abbreviation is expanded: Inspec's article-number pages ("41103-1", page 1 of
    article 41103) became "41103-41101", a range that ends before it starts, so a value whose
    expansion would not end after its start is kept as it is. A range of such pages keeps both
    ("41103-1-41103-3"), and Inspec's doubled end page is repaired (:data:`_ARTICLE_PAGES_DOUBLED`).
    """
    text = clean_text(value)
    if not text:
        return ""
    text = _PAGES_PREFIX.sub("", text)
    text = _DASHES.sub("-", text).replace("--", "-").replace(" ", "")
    if "-" in text:
        doubled = _ARTICLE_PAGES_DOUBLED.fullmatch(text)
        if doubled:
            article, first, last = doubled.groups()
            return f"{article}-{first}" if first == last else f"{article}-{first}-{article}-{last}"
        start, _, end = text.partition("-")
        if start.isdigit() and end.isdigit() and len(end) < len(start):
            expanded = start[: len(start) - len(end)] + end
            if int(expanded) <= int(start):  # "41103-1": an article's page, not a range
                return text
            end = expanded
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
    # Web of Science: a journal article also presented at a meeting is a journal article (an
    # [article] allow-list excluded it as "conference"); a "Proceedings Paper" alone stays one
    ("article; proceedings paper", "article"),
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
    ("book, section", "chapter"),  # RefWorks' reference type
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


#: What :func:`normalise_doc_type` returns for a non-empty value: the words eligibility rules use.
DOC_TYPES: frozenset[str] = frozenset({kind for _, kind in _DOC_TYPES} | {"other"})


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
    "el": "gre", "gre": "gre", "ell": "gre", "greek": "gre",
    "he": "heb", "heb": "heb", "hebrew": "heb",
    "ro": "rum", "rum": "rum", "ron": "rum", "romanian": "rum",
    "ukr": "ukr", "ukrainian": "ukr",  # not "uk": a country code in some tools' language fields
    "hr": "hrv", "hrv": "hrv", "croatian": "hrv",
    "sr": "srp", "srp": "srp", "serbian": "srp",
    "bg": "bul", "bul": "bul", "bulgarian": "bul",
    "sk": "slo", "slo": "slo", "slk": "slo", "slovak": "slo",
    "lt": "lit", "lit": "lit", "lithuanian": "lit",
    "cat": "cat", "catalan": "cat",  # not "ca" (Canada), as "uk"
    "id": "ind", "ind": "ind", "indonesian": "ind",
    "ms": "may", "may": "may", "msa": "may", "malay": "may",
    "th": "tha", "tha": "tha", "thai": "tha",
    "vi": "vie", "vie": "vie", "vietnamese": "vie",
    "hi": "hin", "hin": "hin", "hindi": "hin",
    # the languages' own names, as CNKI ("中文") and other regional databases may write them
    "deutsch": "ger", "français": "fre", "francais": "fre", "español": "spa", "espanol": "spa",
    "castellano": "spa", "português": "por", "portugues": "por", "italiano": "ita", "nederlands": "dut",
    "中文": "chi", "汉语": "chi", "漢語": "chi", "日本語": "jpn", "русский": "rus", "한국어": "kor",
    "polski": "pol", "türkçe": "tur", "turkce": "tur", "العربية": "ara", "svenska": "swe", "dansk": "dan",
    "norsk": "nor", "suomi": "fin", "čeština": "cze", "magyar": "hun", "فارسی": "per",
    "slovenščina": "slv", "ελληνικά": "gre", "עברית": "heb", "română": "rum", "українська": "ukr",
    "hrvatski": "hrv", "català": "cat", "bahasa indonesia": "ind", "tiếng việt": "vie",
}


#: Trial registers, lower-cased, by their short and full names: PRISMA 2020 counts the records
#: found in registers apart from those found in databases ("Records identified from:
#: Registers"). A record's source is a register when its ``source_database`` is one of these,
#: a parenthesised part and a leading "the" aside ("ICTRP (WHO)"). The ClinicalTrials.gov reader
#: names its records so; a register's records in another format can be given one of these names
#: with ``--database``. Peru's register goes by its full name only: its acronym, REPEC, is also
#: RePEc, the economics database. Deduplication reads a register record's ``source_id`` as its
#: trial's registration number (:mod:`evreview.dedup.keys`).
REGISTERS = frozenset({
    "clinicaltrials.gov", "who ictrp", "ictrp", "who international clinical trials registry platform",
    "international clinical trials registry platform", "isrctn", "isrctn registry",
    "eu clinical trials register", "eu ctr", "euctr", "ctis", "clinical trials information system",
    "anzctr", "australian new zealand clinical trials registry", "chictr", "chinese clinical trial registry",
    "ctri", "clinical trials registry - india", "clinical trials registry india", "drks",
    "german clinical trials register", "deutsches register klinischer studien", "jrct",
    "japan registry of clinical trials", "jprn", "umin-ctr", "umin clinical trials registry", "pactr",
    "pan african clinical trials registry", "rebec", "brazilian clinical trials registry", "irct",
    "iranian registry of clinical trials", "cris", "clinical research information service", "kct", "tctr",
    "thai clinical trials registry", "slctr", "sri lanka clinical trials registry", "lbctr",
    "lebanese clinical trials registry", "rpcec", "cuban public registry of clinical trials",
    "peruvian clinical trials registry", "ntr", "netherlands trial register", "nl-omon",
})
_PARENTHESISED = re.compile(r"\s*\([^)]*\)")


def is_register(name: str) -> bool:
    """Whether records from the source named ``name`` were found in a trial register."""
    key = " ".join(_PARENTHESISED.sub(" ", name).lower().split())
    return key.removeprefix("the ") in REGISTERS


def normalise_language(value: Any) -> str:
    """MARC/ISO 639-2 bibliographic code (``eng``) for the first language named, or ``""``.

    Unknown languages are kept lower-cased rather than dropped, so a language rule can still
    match them.
    """
    # composed (NFC) first: an endonym written with combining accents ("Espan\u0303ol") is the same name
    text = unicodedata.normalize("NFC", clean_text(value)).lower()
    if not text:
        return ""
    first = re.split(r"[;,/|]", text)[0].strip()
    # a language tag with a region ("en-US", "en_GB": Zotero, Crossref) is its language; kept as
    # "en-us", an English-only screening rule excluded the record
    tag = re.fullmatch(r"([a-z]{2,3})[-_][a-z0-9]{2,8}", first)
    if tag and tag.group(1) in _LANGUAGES:
        first = tag.group(1)
    # a qualifier in brackets ("Chinese (Simplified)", "English (US)") is still that language
    bare = re.sub(r"\s*[(\[][^)\]]*[)\]]\s*", " ", first).strip()
    return _LANGUAGES.get(first) or _LANGUAGES.get(bare, first)


def fold(text: str) -> str:
    """Lower-case ASCII-folded text with punctuation as spaces: the key form for matching."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^\w]+", " ", text.lower())
    return _WS.sub(" ", text).strip()


def gone_id_hint(key: str) -> str:
    """What to say after "key ... is not known" when the key has the form of a record or study id.

    A well-formed id that names nothing is rarely a typo: the export its record came from is
    no longer under ``paths.raw`` (removed, or its round folder renamed), since an id is the
    record's round folder, file name and position. Or the decisions file is not this review's:
    the bundled demo's ``data/decisions/screening.csv`` left in place when a new user swaps the
    demo's exports for their own names 42 demo records.
    """
    if re.fullmatch(r"s?r[0-9a-f]{15}", str(key)):
        return (": it has the form of an id this review gave, and an id is a record's round folder, export file "
                "and position; was an export removed from, or renamed in, the raw data folder? Or is the file "
                "another review's (the bundled demo's decisions: remove them when you start your own review)?")
    return ""


def make_record_id(search: str, source_file: str, source_index: int) -> str:
    """Stable id of one ingested record: its search round, file name and position.

    Inputs under ``data/raw`` are never modified, so (round, file, position) identifies a
    record across re-runs. Cross-round identity of *studies* is deduplication's job.
    """
    key = f"{search}\x00{source_file}\x00{source_index}".encode()
    return "r" + hashlib.sha1(key).hexdigest()[:15]


#: Whole values that mean "no value": R-based tools (revtools, synthesisr, CiteSource) write a
#: missing field as ``NA``, and some databases ``N/A`` or ``NULL``; Python scripts that build a
#: table with ``astype(str)`` write ``nan``. As text, an issue "NA" showed in merged studies and
#: a title "NA" read as a title.
MISSING_MARKERS = frozenset({"NA", "N/A", "n/a", "NULL", "null", "nan", "NaN"})
#: The single-value text fields where such a marker is read as missing.
MARKER_FIELDS = ("title", "abstract", "journal", "volume", "issue", "pages")


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
    out["issn"] = clean_issn(out.get("issn"))
    out["isbn"] = clean_text(out.get("isbn"))
    out["year"] = parse_year(out.get("year"))
    out["language"] = normalise_language(out.get("language"))
    out["doc_type"] = normalise_doc_type(out.get("doc_type"))
    out["url"] = clean_text(out.get("url"), unescape=False)
    out["source_id"] = clean_text(out.get("source_id"), unescape=False)
    out["source_database"] = clean_text(out.get("source_database"))
    out["authors"] = split_list(out.get("authors"))
    out["keywords"] = split_list(out.get("keywords"))
    for name in MARKER_FIELDS:
        if out[name] in MISSING_MARKERS:
            out[name] = ""
    return out


# --------------------------------------------------------------------------- columnar normalisation
#
# ``finalise_record`` costs ~100 µs a record in Python; at 100k records that is most of an
# ingest. ``normalise_columns`` gives the same results a batch at a time: RE2 kernels in
# pyarrow (C, no per-value Python call) find the few values that need any work — whitespace
# other than single inner spaces, an HTML entity, markup in a title — and only those go
# through the Python normalisers. Fields whose normalisation is inherently per value (DOI,
# pages, year, language, document type) keep Python, with fast paths for the common shapes.

#: Every character ``str.split()`` treats as whitespace except the plain space (pinned by a test).
_OTHER_WS = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_RE2_OTHER_WS = "[" + "".join(f"\\x{{{ord(ch):x}}}" for ch in _OTHER_WS) + "]"
#: A value ``" ".join(v.split())`` would change: other whitespace, a double, leading or trailing space.
_RE2_NEEDS_WS = _RE2_OTHER_WS + "|  |^ | $"
#: :data:`_ENTITY` in RE2 syntax (``\p{Nd}`` is what Python's ``\d`` matches in a ``str`` pattern).
_RE2_ENTITY = r"&(?:#\p{Nd}{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
#: Ovid ends a database name with the coverage of the file segment a record came from:
#: "<2021>", "<1974 to 2024 March 14>", "<1946 to March 13, 2024>" (always with a year).
_OVID_COVERAGE = re.compile(r"\s*<[^<>]*(?<!\d)(?:1[89]\d\d|20\d\d)(?!\d)[^<>]*>$")


def ovid_database(name: str, platform: str = "") -> str | None:
    """The database an Ovid database name stands for, without its segment; None when it is not Ovid's.

    Why: Ovid writes the segment of each record ("Ovid MEDLINE(R) <2021>", "Ovid MEDLINE(R)
    PubMed-not-MEDLINE <2020>", "... Epub Ahead of Print"), so one MEDLINE search came out as
    twenty databases in the PRISMA diagram, which counts records per database searched. Every
    Ovid MEDLINE segment is "Ovid MEDLINE(R)"; another name with a dated coverage suffix
    ("Embase <1974 to 2024 March 14>") is "Embase via Ovid". A name from another platform
    (``platform`` given and not Ovid), or without such a suffix, is not Ovid's. Readers keep
    what the export wrote in the record's ``raw``.
    """
    if platform and "ovid" not in platform.lower():
        return None
    text = name.strip()
    bare = _OVID_COVERAGE.sub("", text)
    if bare.lower().startswith("ovid medline"):
        return "Ovid MEDLINE(R)"
    if bare == text or not bare:
        return None
    return bare if "ovid" in bare.lower() else f"{bare} via Ovid"


_PAGES_SIMPLE = re.compile(r"([0-9]+)-([0-9]+)")
_GET_FIELDS = operator.itemgetter(*RECORD_FIELDS)
_DOI_SIMPLE = re.compile(r"10\.\d{4,9}/[^\s\[%&]*[^\s\[%&.,;)\]}>'\"]")

#: Per-value fields where a batch has few distinct values: memoised.
_language = lru_cache(maxsize=4096)(normalise_language)
_doc_type = lru_cache(maxsize=4096)(normalise_doc_type)


def _string_array(values: Sequence[Any]) -> pa.Array:
    """``values`` as a ``large_string`` array with ``""`` for missing ones.

    Non-``str`` values (spreadsheet floats, ints) go through :func:`_as_text` first, so the
    array holds what :func:`clean_text` would start from.
    """
    try:
        array = pa.array(values, type=pa.large_string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        array = pa.array([v if type(v) is str else _as_text(v) for v in values], type=pa.large_string())
    return pc.fill_null(array, "") if array.null_count else array


def clean_text_array(values: Sequence[Any], *, unescape: bool = True, markup: bool = False) -> pa.Array:
    """Vectorised :func:`clean_text` (and :func:`strip_markup` when ``markup``): same result per value.

    One RE2 pass flags the values the Python normaliser would change; only those are
    recomputed in Python, the rest are already clean and stay in the Arrow buffer.
    """
    array = _string_array(values)
    pattern = _RE2_NEEDS_WS
    if unescape:
        pattern += "|" + _RE2_ENTITY
    if markup:
        pattern += "|<"
    mask = pc.match_substring_regex(array, pattern)
    if not pc.any(mask).as_py():
        return array
    flagged = pc.filter(array, mask).to_pylist()
    if markup:
        fixed = [strip_markup(_clean_str(v, unescape)) for v in flagged]
    else:
        fixed = [_clean_str(v, unescape) for v in flagged]
    return pc.replace_with_mask(array, mask, pa.array(fixed, type=pa.large_string()))


def _list_array(values: Sequence[Any]) -> pa.Array:
    """Vectorised :func:`split_list` (separator ``;``) into a ``list<string>`` array.

    List values are flattened and their items cleaned in one :func:`clean_text_array` call;
    a string is first cleaned and split on ``;`` (as :func:`split_list` does). Empty and
    repeated items are then dropped per record, in Python only for the records that have any.
    """
    flat: list[Any] = []
    offsets = [0]
    for value in values:
        if value is None:
            pass
        elif isinstance(value, (list, tuple)):
            flat.extend(value)
        else:
            text = clean_text(value)
            if text:
                flat.extend(text.split(";"))
        offsets.append(len(flat))
    items = clean_text_array(flat).cast(pa.string())
    lists = pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), items)
    bad = _rows_to_dedupe(lists, items)
    if not bad:
        return lists
    keep = [True] * len(flat)
    for row in bad:
        start, end = offsets[row], offsets[row + 1]
        seen: set[str] = set()
        for position, item in enumerate(items.slice(start, end - start).to_pylist(), start):
            if not item or item in seen:
                keep[position] = False
            else:
                seen.add(item)
    kept_offsets = [0]
    total = 0
    for row in range(len(values)):
        total += sum(keep[offsets[row] : offsets[row + 1]]) if row in bad else offsets[row + 1] - offsets[row]
        kept_offsets.append(total)
    return pa.ListArray.from_arrays(pa.array(kept_offsets, type=pa.int32()), pc.filter(items, pa.array(keep)))


#: Up to this many list items, :func:`_rows_to_dedupe` checks rows in Python; above, with one
#: NumPy sort of (row, item code) keys.
_SMALL_LISTS = 20_000


def _rows_to_dedupe(lists: pa.ListArray, items: pa.Array) -> set[int]:
    """Rows of ``lists`` with an empty or a repeated (non-null) item.

    Large batches: each item gets its dictionary code, and a repeated item is an equal
    neighbour among the sorted ``row * codes + code`` keys. This replaced Arrow's hash
    grouping, whose first use imports ``pyarrow.acero`` (~15 ms) in every ingest worker;
    once warm both take ~2.5 ms for 38,000 items.
    """
    if len(items) == 0:
        return set()
    if len(items) <= _SMALL_LISTS:
        values = items.to_pylist()
        offsets = lists.offsets.to_pylist()
        bad = set()
        for row in range(len(offsets) - 1):
            present = [v for v in values[offsets[row]:offsets[row + 1]] if v is not None]
            if "" in present or len(set(present)) != len(present):
                bad.add(row)
        return bad
    import numpy as np

    parents = pc.list_parent_indices(lists).to_numpy()
    if items.null_count:
        valid = pc.is_valid(items)
        parents, items = parents[valid.to_numpy(zero_copy_only=False)], items.filter(valid)
    encoded = pc.dictionary_encode(items)
    codes = encoded.indices.to_numpy().astype(np.int64)
    width = max(len(encoded.dictionary), 1)
    empty = encoded.dictionary.index("").as_py()
    rows = set(parents[codes == empty].tolist()) if empty >= 0 else set()
    keys = np.sort(parents.astype(np.int64) * width + codes)
    rows.update((keys[1:][keys[1:] == keys[:-1]] // width).tolist())
    return rows


def _doi_value(value: Any) -> str:
    """:func:`clean_doi`, with a fast path for an already bare DOI (most exports)."""
    if type(value) is str and value[:3] == "10." and _DOI_SIMPLE.fullmatch(value):
        return value.lower()
    return clean_doi(value) if value else ""


def _year_value(value: Any) -> int | None:
    if type(value) is int:
        return value if 1500 <= value <= 2100 else None
    return parse_year(value)


def _pages_value(value: Any) -> str:
    """:func:`clean_pages`, with a fast path for values it keeps as they are (``12``, ``123-145``)."""
    if type(value) is str:
        if not value or value.isdigit():
            return value
        match = _PAGES_SIMPLE.fullmatch(value)
        if match and len(match.group(2)) >= len(match.group(1)) and match.group(1) != match.group(2):
            return value
    return clean_pages(value)


#: :func:`clean_issn` memoised: a batch holds few distinct journals.
_issn = lru_cache(maxsize=4096)(clean_issn)


def _issn_value(value: Any) -> str:
    """:func:`clean_issn` through its cache, with a fast path for no value at all."""
    if value is None or value == "":
        return ""
    return _cached(_issn, value)


def _cached(function: Any, value: Any) -> str:
    """``function(value)`` through its cache when ``value`` is hashable text (nearly always)."""
    return function(value) if type(value) is str else function.__wrapped__(value)


#: Arrow type of each reader field in the record table.
TEXT_FIELD_TYPE = pa.large_string()
LIST_FIELD_TYPE = pa.list_(pa.string())


def normalise_columns(records: Sequence[Mapping[str, Any]]) -> dict[str, pa.Array]:
    """Columnar :func:`finalise_record`: the normalised :data:`RECORD_FIELDS` of a batch of readers' dicts.

    Gives exactly what :func:`finalise_record` gives record by record (a test compares them on
    varied input), as Arrow arrays: ``large_string`` text, ``list<string>`` for
    :data:`LIST_FIELDS`, ``int64`` (nullable) ``year``.
    """

    try:  # readers that fill every field (RIS): one C-level pass transposes the batch
        rows = list(map(_GET_FIELDS, records))
        by_name = dict(zip(RECORD_FIELDS, zip(*rows))) if rows else {name: () for name in RECORD_FIELDS}
    except KeyError:
        by_name = {name: [record.get(name) for record in records] for name in RECORD_FIELDS}

    def column(name: str) -> Sequence[Any]:
        return by_name[name]

    out: dict[str, pa.Array] = {}
    for name in ("source_id", "url"):
        out[name] = clean_text_array(column(name), unescape=False)
    out["source_database"] = clean_text_array(column("source_database"))
    out["title"] = clean_text_array(column("title"), markup=True)
    for name in ("abstract", "journal", "volume", "issue", "isbn"):
        out[name] = clean_text_array(column(name))
    out["issn"] = pa.array([_issn_value(v) for v in column("issn")], type=pa.large_string())
    out["pages"] = pa.array([_pages_value(v) for v in column("pages")], type=pa.large_string())
    out["doi"] = pa.array([_doi_value(v) for v in column("doi")], type=pa.large_string())
    pmids = ["" if v is None or v == "" else clean_pmid(v) for v in column("pmid")]
    out["pmid"] = pa.array(pmids, type=pa.large_string())
    out["year"] = pa.array([_year_value(v) for v in column("year")], type=pa.int64())
    out["language"] = pa.array([_cached(_language, v) for v in column("language")], type=pa.large_string())
    out["doc_type"] = pa.array([_cached(_doc_type, v) for v in column("doc_type")], type=pa.large_string())
    out["authors"] = _list_array(column("authors"))
    out["keywords"] = _list_array(column("keywords"))
    markers = pa.array(sorted(MISSING_MARKERS), type=pa.large_string())
    for name in MARKER_FIELDS:
        out[name] = pc.if_else(pc.is_in(out[name], value_set=markers), "", out[name]).cast(pa.large_string())
    return {name: out[name] for name in RECORD_FIELDS}
