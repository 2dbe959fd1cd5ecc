"""BibTeX / BibLaTeX exports (Scopus, Web of Science, Zotero, JabRef...) via bibtexparser 2.

bibtexparser splits the file into blocks and tells us which ones it could not parse
(``library.failed_blocks``), including entries whose citation key repeats an earlier one.
Both matter for a review: a failed block is an error in the ingest report (with its line), and
a repeated key is *not* a reason to drop a record (Scopus builds keys from author + year +
page, so two different papers can collide), so such entries are kept with a warning.

Exports mix conventions this module smooths over:

* Scopus writes a BOM (stripped by the driver) and non-BibTeX preamble lines ("Scopus",
  "EXPORT DATE: ..."): bibtexparser sees those as implicit comments, which is harmless.
* Zotero protects capitals with braces (``{Cocker} {Spaniel}``) and writes LaTeX accents
  (``M{\\"u}ller``): text fields are LaTeX-decoded. URLs and DOIs are *not* decoded, because a
  bare ``%`` (``doi=10.1080%2f...``) is a LaTeX comment and decoding would cut the value.
* Web of Science capitalises field names (``Unique-ID``, ``Keywords-Plus``): fields are looked
  up case-insensitively; ``raw`` keeps them as written.
* Keyword separators differ (Scopus ``;``, Zotero ``,``).

A safety net guards against bibtexparser skipping entries (it silently ignores ``@ article {``,
with a space, for one): every ``@type{`` at the start of a line that no parsed or failed block
covers becomes an error naming its line, so ``found`` counts every entry start in the file.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from evreview.ingest.formats._ids import ebsco_accession, scopus_eid
from evreview.ingest.registry import ParsedRecord, ParseResult, Problem, Source, register

#: Block types that are not bibliographic entries (never counted as records).
_NON_ENTRY_TYPES = frozenset({"comment", "string", "preamble"})

#: An entry start: ``@article{key,`` (or ``@article(key,``) at the start of a line.
_ENTRY_START = re.compile(r"^[ \t]*@[ \t]*([A-Za-z][\w-]*)[ \t]*[{(]", re.MULTILINE)

#: What a field line looks like (``title = {``, ``Year = 2020``): used by ``sniff``.
_FIELD_LINE = re.compile(r"^[ \t]*[A-Za-z][\w-]*[ \t]*=[ \t]*[{\"\d]", re.MULTILINE)

_ISSN = re.compile(r"\b\d{4}-?\d{3}[\dXx]\b")
_PMID_IN_NOTE = re.compile(r"\bPMID:?\s*(\d{1,9})\b", re.IGNORECASE)
_LATEX_SPECIAL = frozenset("\\{}$~")
_LATEX_ESCAPE = re.compile(r"\\([_%&#$])")

#: Accession-like fields that identify a record in its database better than a citation key.
_ACCESSION_FIELDS = ("unique-id", "eid", "accession-number", "accession_number", "wos")

#: Accession prefixes that name their database (the same names the RIS and WoS readers use).
_ACCESSION_DATABASES = (
    ("WOS:", "Web of Science Core Collection"),
    # the Core Collection's accession before Clarivate, as the WoS tagged reader reads it
    ("ISI:", "Web of Science Core Collection"),
    ("MEDLINE:", "MEDLINE (Web of Science)"),
    ("2-s2.0-", "Scopus"),
)

#: Europe PMC's BibTeX keys a PubMed record by its PMID (``@article {PMID:36788546,``), and has no
#: pmid field: the PMID was lost.
_PMID_KEY = re.compile(r"PMID:(\d{1,9})", re.IGNORECASE)
#: Sites in a record's ``url`` or ``bibsource`` that name the database of a record naming none:
#: Europe PMC links its records to their europepmc.org page (or a DOI), dblp names itself.
_LINK_DATABASES = (("europepmc.org/", "Europe PMC"), ("dblp.org", "dblp"))


def _link_database(url: str, bibsource: str) -> str:
    if "ebscohost.com/" in url:
        # EBSCOhost's BibTeX names no database; its record link's db= code does ("db=bth"), as
        # in its CSV export: named as its RIS and CSV records are ("... via EBSCOhost")
        from evreview.ingest.formats.ebsco_csv import database_of

        return database_of(url)
    joined = f"{url} {bibsource}"
    return next((name for site, name in _LINK_DATABASES if site in joined), "")


def _accession_database(accession: str) -> str:
    upper = accession.upper()
    return next((name for prefix, name in _ACCESSION_DATABASES if upper.startswith(prefix.upper())), "")


@lru_cache(maxsize=1)
def _decoder() -> Any:
    """A pylatexenc decoder (bibtexparser's own LaTeX backend) that knows a few more macros.

    Built lazily and once: constructing the LaTeX context costs ~50 ms, and ``evreview ingest``
    must start fast when no BibTeX file is involved.
    """
    from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

    context = get_default_latex_context_db()
    context.add_context_category(
        "evreview-bibtex",
        prepend=True,
        macros=[
            MacroTextSpec("url", simplify_repl="%s"),
            MacroTextSpec("textless", simplify_repl="<"),
            MacroTextSpec("textgreater", simplify_repl=">"),
            MacroTextSpec("textbar", simplify_repl="|"),
            MacroTextSpec("textquotedbl", simplify_repl='"'),
            MacroTextSpec("textunderscore", simplify_repl="_"),
        ],
    )
    return LatexNodes2Text(latex_context=context, math_mode="text", keep_braced_groups=False)


#: A LaTeX "island" inside otherwise plain text: inline math, an accent or escape
#: (``\\"u``, ``\\'{e}``, ``\\%``), or a control word with its brace arguments
#: (``\\v{S}``, ``\\textless``, ``\\textit{in vitro}``).
_LATEX_ISLAND = re.compile(
    r"((?<!\\)\$[^$]{0,300}(?<!\\)\$"
    r"|\\[\"'^`~=.](?:\{[^{}]*\}|[A-Za-z])"
    r"|\\[A-Za-z]+\*?(?:[ \t]*\{[^{}]*\})*"
    r"|\\.)",
    re.DOTALL,
)


#: What makes ``$...$`` look like real math rather than two dollar amounts.
_MATH_MARKERS = frozenset("\\^_{")


@lru_cache(maxsize=8192)
def _decode_island(island: str) -> str:
    try:
        return _decoder().latex_to_text(island)
    except Exception:  # pylatexenc is tolerant; this is a last resort, never a lost record
        return island


def decode_latex(value: str) -> str:
    """Plain Unicode text for a BibTeX value: accents decoded, protecting braces removed.

    Only the LaTeX islands (accents, escapes, macros, inline math) go through pylatexenc:
    it tokenises character by character (~40 ms for one abstract), which made a 1,000-entry
    Zotero file take 6 s when whole values were decoded. The plain text around the islands
    just loses its protecting braces, and a bare ``%`` there stays literal (``50%``), where
    LaTeX would read it as a comment and cut the value.

    LaTeX's double quotes (Web of Science writes ````physical{''}````) become typographic
    ones, only in a value that opens one with two backquotes, so that two apostrophes
    elsewhere stay as written.
    """
    if "``" in value:
        value = value.replace("``", "\u201c").replace("''", "\u201d")
    if not _LATEX_SPECIAL.intersection(value):
        return value
    if "\\" not in value and "$" not in value:
        return value.replace("{", "").replace("}", "").replace("~", " ")
    parts = _LATEX_ISLAND.split(value)
    out = []
    for position, part in enumerate(parts):
        if position % 2 and part.startswith("$") and not _MATH_MARKERS.intersection(part):
            out.append(part)  # "costs $5 to $10": dollars, not math
        elif position % 2:
            out.append(_decode_island(part))
        else:
            out.append(part.replace("{", "").replace("}", "").replace("~", " "))
    return "".join(out).replace("\xa0", " ")


def _strip_outer_braces(name: str) -> tuple[str, bool]:
    """``{World Health Organization}`` -> (inner, True): a corporate author BibTeX must not split."""
    name = name.strip()
    if len(name) > 1 and name[0] == "{" and name[-1] == "}":
        depth = 0
        for pos, char in enumerate(name):
            depth += char == "{"
            depth -= char == "}"
            if depth == 0 and pos < len(name) - 1:
                return name, False
        return name[1:-1], True
    return name, False


def _has_top_level_comma(name: str) -> bool:
    depth = 0
    for char in name:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "," and depth == 0:
            return True
    return False


def parse_authors(value: str) -> list[str]:
    """Split a BibTeX name list on top-level ``and`` into ``"Last, First"`` strings.

    Names already written ``Last, First`` (Scopus, WoS, Zotero) are kept; ``First Last`` names
    are reordered with bibtexparser's BibTeX name-part rules (``von Last, Jr, First``) so that
    every reader produces the same author form for deduplication; a fully braced name is a
    corporate author and stays whole.
    """
    from bibtexparser.middlewares.names import (
        InvalidNameError,
        parse_single_name_into_parts,
        split_multiple_persons_names,
    )

    out = []
    for name in split_multiple_persons_names(value):
        if name.strip().lower() == "others":  # BibTeX's "and others" is "et al.", not a person
            continue
        inner, corporate = _strip_outer_braces(name)
        if corporate or _has_top_level_comma(name):
            out.append(decode_latex(inner))
            continue
        try:
            merged = parse_single_name_into_parts(name, strict=False).merge_last_name_first
        except InvalidNameError:
            merged = name
        out.append(decode_latex(merged))
    return [name for name in (n.strip() for n in out) if name]


def split_keywords(value: str) -> list[str]:
    """Keywords are ``;``-separated (Scopus, WoS) or ``,``-separated (Zotero, JabRef)."""
    text = decode_latex(value)
    separator = ";" if ";" in text else ","
    return [part.strip() for part in text.split(separator) if part.strip()]


def _issn_isbn(issn: str, isbn: str) -> tuple[str, str]:
    """Route an ISSN written into ``isbn`` (Zotero does this for proceedings series) to ``issn``."""
    if not issn and isbn and _ISSN.fullmatch(isbn.strip()):
        return isbn.strip(), ""
    return issn, isbn


def entry_fields(entry_type: str, key: str, values: dict[str, str]) -> dict[str, Any]:
    """Map one entry's fields (lower-cased names, braces already unwrapped) to record fields.

    Pure: no bibtexparser objects, so it is unit-testable on plain dicts.
    """

    def get(*names: str) -> str:
        for name in names:
            value = values.get(name, "")
            if isinstance(value, str) and value.strip():
                return value.strip()
        return ""

    def text(*names: str) -> str:
        return decode_latex(get(*names))

    keywords: list[str] = []
    for name in ("author_keywords", "author-keywords", "keywords", "keywords-plus"):
        if get(name):
            keywords.extend(split_keywords(get(name)))

    pmid = get("pmid")
    if not pmid and get("eprinttype").lower() in {"pubmed", "pmid"}:
        pmid = get("eprint")
    if not pmid:
        match = _PMID_IN_NOTE.search(get("note") + " " + get("extra"))
        pmid = match.group(1) if match else ""
    if not pmid:
        match = _PMID_KEY.fullmatch(key.strip())
        pmid = match.group(1) if match else ""

    # older Web of Science BibTeX double-braces every value (``Unique-ID = {{ISI:0001}}``): the
    # inner braces are LaTeX protection, not part of the id
    accession = get(*_ACCESSION_FIELDS).replace("{", "").replace("}", "").strip()
    if not accession:
        # Scopus BibTeX has no EID field; its record link carries the EID (the CSV's source_id)
        accession = scopus_eid(get("url"))
    url = get("url")
    if not accession and "ebscohost.com/" in url:
        accession = ebsco_accession(url)
    database = text("source") or _accession_database(accession) or _link_database(url, get("bibsource"))
    issn, isbn = _issn_isbn(get("issn"), get("isbn"))

    return {
        "source_id": accession or key,
        "source_database": database,
        "title": text("title"),
        "abstract": text("abstract"),
        "authors": parse_authors(get("author")),
        "year": get("year") or get("date"),
        "journal": text("journal", "journaltitle", "booktitle"),
        "volume": text("volume"),
        "issue": text("number", "issue"),
        "pages": text("pages"),
        "doi": _LATEX_ESCAPE.sub(r"\1", get("doi")),  # JabRef writes 10.1000/a\_b
        "pmid": pmid,
        "issn": issn,
        "isbn": isbn,
        "keywords": keywords,
        "language": text("language", "langid"),
        # Scopus/WoS say "Review" or "Conference paper" in ``type``, finer than @ARTICLE.
        "doc_type": text("type") or entry_type,
        "url": get("url"),
    }


@contextmanager
def _quiet_bibtexparser() -> Iterator[None]:
    """Silence bibtexparser's own log lines (with 0-based line numbers) during a parse: each
    failure is reported once, as a Problem with a 1-based line. Child loggers inherit the level."""
    logger = logging.getLogger("bibtexparser")
    previous = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(previous)


def _field_values(entry: Any) -> tuple[dict[str, str], dict[str, Any]]:
    """(lower-cased name -> value, first occurrence wins; raw fields as written).

    A field repeated within an entry (bibtexparser flags it) keeps every value in ``raw``.
    """
    values: dict[str, str] = {}
    raw: dict[str, Any] = {}
    for field in entry.fields:
        value = field.value if isinstance(field.value, str) else str(field.value)
        values.setdefault(field.key.lower(), value)
        if field.key in raw:
            previous = raw[field.key]
            raw[field.key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            raw[field.key] = value
    return values, raw


def _reparse(entry: Any, strings_text: str) -> Any:
    """Parse a duplicate-key entry on its own (with the file's @string macros) so that it gets
    the same processing as the others; ``None`` if that fails."""
    import bibtexparser

    if not entry.raw:
        return None
    with _quiet_bibtexparser():
        library = bibtexparser.parse_string(f"{strings_text}\n{entry.raw}")
    return library.entries[0] if len(library.entries) == 1 and not library.failed_blocks else None


def _block_type(raw: str | None) -> str:
    """``comment`` for ``@comment{...``: the declared type of a block, lower-cased."""
    match = re.match(r"\s*@\s*([A-Za-z][\w-]*)", raw or "")
    return match.group(1).lower() if match else ""


def _unwrap(value: str) -> str:
    """Remove one level of ``{...}`` or ``"..."`` (for blocks the parse stack did not process)."""
    value = value.strip()
    if len(value) > 1 and ((value[0] == "{" and value[-1] == "}") or (value[0] == '"' and value[-1] == '"')):
        return value[1:-1]
    return value


def _why(block: Any) -> str:
    """bibtexparser's reason for giving up on a block, on one line."""
    error = block.error
    reason = getattr(error, "abort_reason", "") or str(error) or type(error).__name__
    return " ".join(str(reason).split())


def _error_reason(block: Any) -> str:
    """The report line for a block that is not in the records: why, and how it starts."""
    first = (block.raw or "").strip().splitlines()
    head = first[0][:80] if first else ""
    return f"BibTeX entry could not be parsed ({_why(block)}): {head!r}"


def _line_span(block: Any) -> tuple[int, int]:
    """0-based first and last line a block occupies (for the swallowed-entry check)."""
    start = block.start_line or 0
    # a raw that ends with a newline stops *before* the next line, which may start an entry
    return start, start + (block.raw or "").rstrip().count("\n")


class _Collector:
    """Accumulates records and problems in file order while walking bibtexparser's blocks."""

    def __init__(self) -> None:
        self.items: list[tuple[int, ParsedRecord | None, Problem | None]] = []
        self.notes: list[Problem] = []
        self.trailing: list[Problem] = []

    def record(
        self, line: int, entry_type: str, key: str, values: dict[str, str], raw: dict[str, Any], warning: str = ""
    ) -> None:
        fields = entry_fields(entry_type.lower(), key, values)
        raw = {"ENTRYTYPE": entry_type, "ID": key, **raw}
        problem = Problem(warning, line=line, severity="warning") if warning else None
        self.items.append((line, ParsedRecord(fields=fields, raw=raw, line=line), problem))

    def error(self, line: int, reason: str) -> None:
        self.items.append((line, None, Problem(reason, line=line, severity="error")))

    def note(self, line: int, reason: str) -> None:
        """A warning about something that is not a record (a broken @comment)."""
        self.notes.append(Problem(reason, line=line, severity="warning"))

    def after(self, line: int, reason: str) -> None:
        """A warning about the record before ``line`` (what follows it in the file)."""
        self.trailing.append(Problem(reason, line=line, severity="warning"))

    def result(self) -> ParseResult:
        """Records and problems in line order, with each problem's record index filled in.

        A warning's index is its record's ``source_index``; an error's is the entry's position
        among all entries found (it has no record), as the tabular readers do.
        """
        records: list[ParsedRecord] = []
        problems: list[Problem] = []
        for position, (_line, parsed, problem) in enumerate(sorted(self.items, key=lambda it: it[0])):
            if parsed is not None:
                records.append(parsed)
            if problem is not None:
                problem.index = len(records) - 1 if parsed is not None else position
                problems.append(problem)
        lines = [parsed.line or 0 for parsed in records]
        for problem in self.trailing:
            before = bisect.bisect_left(lines, problem.line or 0) - 1
            problem.index = before if before >= 0 else None
        problems.extend(sorted(self.notes + self.trailing, key=lambda p: p.line or 0))
        return ParseResult(records=records, problems=problems, found=len(self.items))


def parse_bibtex(text: str) -> ParseResult:
    """Parse BibTeX text into records (file order) and problems; see the module docstring."""
    import bibtexparser
    from bibtexparser.model import DuplicateBlockKeyBlock, Entry

    with _quiet_bibtexparser():
        library = bibtexparser.parse_string(text)

    out = _Collector()
    covered: list[tuple[int, int]] = []
    first_line_of_key: dict[str, int] = {}
    for entry in library.entries:
        if entry.entry_type.lower() in _NON_ENTRY_TYPES:
            continue
        line = (entry.start_line or 0) + 1
        first_line_of_key.setdefault(entry.key, line)
        values, raw = _field_values(entry)
        out.record(line, entry.entry_type, entry.key, values, raw)
        covered.append(_line_span(entry))

    strings_text = "\n".join(block.raw for block in library.strings if block.raw)
    for block in library.failed_blocks:
        covered.append(_line_span(block))
        line = (block.start_line or 0) + 1
        salvage = block.ignore_error_block
        if isinstance(salvage, Entry):
            entry = _reparse(salvage, strings_text) if isinstance(block, DuplicateBlockKeyBlock) else None
            values, raw = _field_values(entry or salvage)
            if entry is None:  # bibtexparser left this block's values wrapped
                values = {name: _unwrap(value) for name, value in values.items()}
                raw = {
                    name: [_unwrap(v) for v in value] if isinstance(value, list) else _unwrap(value)
                    for name, value in raw.items()
                }
            if isinstance(block, DuplicateBlockKeyBlock):
                first = first_line_of_key.get(block.key)
                where = f" (first used at line {first})" if first else ""
                warning = f"duplicate citation key {block.key!r}{where}: both entries kept"
            else:
                warning = f"entry kept although the parser complained: {_why(block)}"
            out.record(line, salvage.entry_type, salvage.key, values, raw, warning)
        elif _block_type(block.raw) in _NON_ENTRY_TYPES:
            out.note(line, f"malformed @{_block_type(block.raw)} block ignored (not a record): {_why(block)}")
        else:
            out.error(line, _error_reason(block))

    from bibtexparser.model import ImplicitComment

    for block in library.comments:
        # text between entries is a comment to BibTeX, but fields there are an entry's: an
        # extra "}" in a value (``title = {A} b},``) closes the entry early, and its later
        # fields (author, year...) would be lost without a word
        field = _FIELD_LINE.search(block.raw or "") if isinstance(block, ImplicitComment) else None
        if field is not None:
            line = (block.start_line or 0) + 1 + block.raw.count("\n", 0, field.start())
            shown = block.raw[field.start() :].strip().splitlines()[0][:80]
            out.after(
                line,
                f"fields outside any entry not read: {shown!r} (an extra '}}' in a value before "
                "them may have closed the entry early; the entry above was read without them)",
            )

    for line in _uncovered_entry_starts(text, covered):
        out.error(
            line,
            "BibTeX entry starting here was not recognised by the parser (malformed '@type{key,' "
            "line, or swallowed by a malformed entry before it); check its first line and braces",
        )
    return out.result()


def _uncovered_entry_starts(text: str, covered: list[tuple[int, int]]) -> list[int]:
    """1-based lines of ``@type{`` entry starts that no parsed or failed block accounts for."""
    covered_lines: set[int] = set()
    for start, end in covered:
        covered_lines.update(range(start, end + 1))
    lines = []
    line = 0
    last = 0
    for match in _ENTRY_START.finditer(text):
        if match.group(1).lower() in _NON_ENTRY_TYPES:
            continue
        line += text.count("\n", last, match.start())
        last = match.start()
        if line not in covered_lines:
            lines.append(line + 1)
    return lines


@register
class BibtexReader:
    """BibTeX / BibLaTeX exports."""

    name = "bibtex"
    priority = 50

    def sniff(self, source: Source) -> float:
        """Sure when an ``@type{key,`` entry start is followed by ``field = value`` lines."""
        head = source.head
        for match in _ENTRY_START.finditer(head):
            if match.group(1).lower() in _NON_ENTRY_TYPES:
                continue
            following = head[match.end() : match.end() + 2000]
            return 0.95 if _FIELD_LINE.search(following) else 0.4
        return 0.0

    def parse(self, source: Source) -> ParseResult:
        return parse_bibtex(source.text or "")
