"""Any other spreadsheet of records: CSV (comma or semicolon), TSV, or an ``.xlsx``/``.xls`` workbook.

Benchmark sets, reference-manager exports and hand-made lists arrive as tables with their own
column names. Columns are recognised by common names, case- and punctuation-insensitively
(:data:`ALIASES`); a user maps the others explicitly with ``column_map`` (``{their column: our
field}``, from ``--column-map`` or the config), which wins over recognition. Every column,
recognised or not (labels, notes), is kept in ``raw``.

The reader only claims a file that is plainly a table; it scores below every specific reader,
so a Scopus or Lens CSV is never read as generic. A table in which no title column can be found
(and none is mapped) is an :class:`~evreview.errors.IngestError` listing the columns found:
guessing would fill the record table with untitled rows.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from evreview.errors import IngestError
from evreview.ingest.formats._tabular import (
    Table,
    TableReader,
    column_key,
    display_path,
    first,
    is_ole,
    join_pages,
    source_header,
    split_on,
)
from evreview.ingest.registry import ConfigColumnMap, Source, register
from evreview.records import RECORD_FIELDS

#: Recognised column names per record field, in preference order (compared by column_key).
ALIASES: dict[str, tuple[str, ...]] = {
    "source_id": ("id", "key", "record id", "recordid", "record_id", "accession number", "an", "uid"),
    "title": ("title", "document title", "article title", "primary title", "ti", "titles"),
    "abstract": ("abstract", "abstract note", "abstractnote", "ab", "summary", "abstract text"),
    "authors": ("authors", "author", "author(s)", "author names", "au", "creators", "author full names"),
    "year": ("year", "publication year", "py", "pubyear", "year published", "date", "publication date"),
    "journal": (
        "journal",
        "source title",
        "secondary title",
        "publication title",
        "journal title",
        "journal/book",
        "container title",
        "source",
        "booktitle",
        "so",
        "publication",  # Google Scholar's CSV: Authors,Title,Publication,Volume,Number,Pages,Year,Publisher
    ),
    "volume": ("volume", "vol", "vl"),
    "issue": ("issue", "number", "issue number", "is"),
    "pages": ("pages", "page", "pagination", "page range"),
    "doi": ("doi", "di", "digital object identifier", "doi number", "article doi", "doi link", "doi url"),
    "pmid": ("pmid", "pubmed id", "pubmedid", "pubmed", "pubmed identifier"),
    "issn": ("issn", "issns", "eissn"),
    "isbn": ("isbn", "isbns"),
    "keywords": ("keywords", "keyword", "author keywords", "manual tags", "tags", "kw", "de"),
    "language": ("language", "lang", "la"),
    "doc_type": ("type", "entrytype", "entry type", "document type", "item type", "publication type", "dt"),
    "url": ("url", "link", "links", "ur", "pdf link", "full text link"),
    "source_database": ("database", "source database", "db"),
}

#: Words in a column name that say it holds a record field: such a column left unrecognised is
#: named in a warning (its values reach only ``raw``, so abstracts or DOIs were silently missing).
_FIELD_WORDS = {"abstract": "abstract", "doi": "doi", "title": "title", "keyword": "keywords", "pmid": "pmid",
                "author": "authors"}
#: ... unless the name says it is about something else ("Author Affiliations", "Author ID",
#: "Times Cited", Zotero's "Short Title" and "Series Title", Publish or Perish's "AuthorCount" and
#: "CitesPerAuthor"): a word of the name starts with one of these, or is "id".
_OTHER_WORDS = ("affiliat", "address", "email", "orcid", "count", "url", "link", "cite", "short", "series")
#: The words of a column name, camelCase split too ("CitesPerAuthor": cites, per, author).
_NAME_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")

#: A "header" that is a numbered citation with a PMID (PubMed's "Summary (text)" download:
#: ``1. Smith J, Doe A. Title. J Things. 2020;12(3):123-130. doi: ... PMID: 31234567.``),
#: which the commas in it made look like a table with no title column.
_CITATION_LIST = re.compile(r"\s*1\.\s+\S.*\bPMID:\s*\d+")
_TITLE_KEYS = frozenset(column_key(name) for name in ALIASES["title"])

#: Page-start/page-end column pairs, used when there is no single pages column.
_PAGE_PAIRS = (
    ("page start", "page end"),
    ("start page", "end page"),
    ("first page", "last page"),
    ("spage", "epage"),
    ("bp", "ep"),
)

_FIELD_SET = frozenset(RECORD_FIELDS)


@dataclass
class _Plan:
    """Resolved columns of one file: fields with one column, fields with fallbacks, page pair."""

    single: list[tuple[str, int]]
    several: list[tuple[str, list[int]]]
    page_pair: tuple[list[int], list[int]] | None


_BIBTEX_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


def split_authors(value: str) -> list[str]:
    """Split an author cell written in any of the usual styles.

    ``;`` or ``|`` separators win; otherwise BibTeX ``"Zuna, R E and Wang, S S"``; otherwise
    commas only when every comma-separated part looks like a whole name (``"Smith J, Jones K"``),
    because ``"Smith, John"`` is one author.
    """
    text = value.strip()
    if not text:
        return []
    for separator in (";", "|"):
        if separator in text:
            return split_on(text, separator)
    if _BIBTEX_AND.search(text):
        parts = [part.strip() for part in _BIBTEX_AND.split(text) if part.strip()]
        if "," in text or all(" " in part for part in parts):
            return parts
    parts = split_on(text, ",")
    if len(parts) > 1 and all(" " in part for part in parts):
        return parts
    return [text]


def split_keywords(value: str) -> list[str]:
    """Keywords separated by ``;``, ``|`` or (when neither occurs) commas."""
    for separator in (";", "|", ","):
        if separator in value:
            return split_on(value, separator)
    return split_on(value, "\n")


def resolve_columns(
    table: Table, column_map: dict[str, str], path: str, *, partial: bool = False
) -> dict[str, list[int]]:
    """Column indices per record field: explicit ``column_map`` first, then recognised names.

    Raises :class:`IngestError` for a map naming an unknown field or (unless ``partial``: the
    config's one map for every table) a column not in the file, and when no title column is found.
    """
    plan: dict[str, list[int]] = {}
    for theirs, ours in column_map.items():
        if ours not in RECORD_FIELDS:
            raise IngestError(
                f"column_map maps {theirs!r} to {ours!r}, which is not a record field; "
                f"fields: {', '.join(RECORD_FIELDS)}",
                path=path,
            )
        found = table.index(theirs)
        if not found and partial:
            continue
        if not found:
            raise IngestError(
                f"column_map names column {theirs!r}, which is not in the file; "
                f"columns found: {shown_columns(table.columns)}",
                path=path,
            )
        plan.setdefault(ours, []).extend(i for i in found if i not in plan.get(ours, []))
    mapped = {i for indices in plan.values() for i in indices}
    for fieldname, names in ALIASES.items():
        if fieldname in plan:
            continue
        found = [i for i in table.index(*names) if i not in mapped]
        if found:
            plan[fieldname] = found
    if "pages" not in plan:
        for start, end in _PAGE_PAIRS:
            s, e = table.index(start), table.index(end)
            if s and e:
                plan["page_start"], plan["page_end"] = s, e
                break
    if not plan.get("title"):
        if _CITATION_LIST.match(",".join(table.columns)):
            raise IngestError(
                "a numbered list of citations (PubMed's 'Summary (text)' or a copied reference list), "
                "not an export with fields: save the search as 'PubMed' format (.nbib) or CSV and ingest that",
                path=path,
            )
        raise IngestError(
            "no title column recognised in this table (looked for: "
            f"{', '.join(ALIASES['title'])}); columns found: {shown_columns(table.columns)}. "
            'Map yours with --column-map, e.g. \'{"Heading": "title"}\', or ingest.column_map in config',
            path=path,
        )
    return plan


def shown_columns(columns: list[str], most: int = 40, width: int = 60) -> str:
    """The header's column names for an error message: at most ``most`` names, each cut to
    ``width`` characters.

    Found by fuzzing: a header line with a 10 MB run of text in it made a 10 MB error
    "line"; a damaged header should be recognisable in the message, not reproduced by it.
    """
    if not columns:
        return "none"
    shown = [name if len(name) <= width else name[: width - 1] + "\u2026" for name in columns[:most]]
    more = f" and {len(columns) - most} more" if len(columns) > most else ""
    return ", ".join(shown) + more


def unrecognised_field_columns(table: Table, columns: dict[str, list[int]]) -> dict[str, str]:
    """Columns no field reads whose names say they hold one (:data:`_FIELD_WORDS`), with that field."""
    used = {i for indices in columns.values() for i in indices}
    out = {}
    for i, name in enumerate(table.columns):
        words = [w.lower() for w in _NAME_WORDS.findall(name)]
        if i in used or not words or any(w.startswith(_OTHER_WORDS) or w in ("id", "ids") for w in words):
            continue
        joined = "".join(words)
        field = next((f for w, f in _FIELD_WORDS.items() if w in joined), None)
        if field is not None:
            out[name] = field
    return out


@register
class GenericTableReader(TableReader):
    """Generic CSV/TSV/semicolon-CSV/XLSX/XLS table of records."""

    name = "generic_table"
    priority = 0
    database = ""

    def sniff(self, source: Source) -> float:
        """0.5 for a table with a recognisable title (or a mapped column); 0.1 for any other table.

        The low score still claims a header-only-unrecognised table, so the user gets the
        "no title column; columns found: ..." message rather than "unrecognised format".
        """
        header = source_header(source)
        # An OLE2 file (.xls) no reader claims is claimed here all the same, so that ingesting it
        # says what is wrong: load_table names a damaged or encrypted workbook, a Word .doc, an
        # empty first sheet; a one-column sheet gets "no title column; columns found: ...".
        # Without it the message was "unrecognised format ... the file starts with no text".
        fallback = 0.05 if source.text is None and is_ole(source.data) else 0.0
        if not header:
            return fallback
        keys = {column_key(c) for c in header}
        mapped = {column_key(str(c)) for c in (source.options.get("column_map") or {})}
        if keys & mapped or keys & _TITLE_KEYS:
            return 0.5
        return 0.1 if len(header) >= 2 else fallback

    def prepare(self, table: Table, source: Source) -> _Plan:
        given = source.options.get("column_map") or {}
        column_map = {str(k): str(v) for k, v in given.items()}
        columns = resolve_columns(table, column_map, display_path(source), partial=isinstance(given, ConfigColumnMap))
        # a field the user mapped is settled: its other look-alike columns are theirs to leave out
        unread = {name: field for name, field in unrecognised_field_columns(table, columns).items()
                  if field not in column_map.values()}
        if unread:
            example = json.dumps(unread, ensure_ascii=False)
            table.notes.append(
                f"column(s) {', '.join(repr(c) for c in unread)} look like record fields but were not "
                f"recognised: their values are only in raw. Map them with --column-map or ingest.column_map, "
                f"e.g. '{example}'"
            )
        single = [(name, idx[0]) for name, idx in columns.items() if name in _FIELD_SET and len(idx) == 1]
        several = [(name, idx) for name, idx in columns.items() if name in _FIELD_SET and len(idx) > 1]
        pages = (columns["page_start"], columns["page_end"]) if "page_start" in columns else None
        return _Plan(single=single, several=several, page_pair=pages)

    def record(self, cells: list[str], plan: Any) -> dict[str, Any]:
        p: _Plan = plan
        fields: dict[str, Any] = {name: cells[i] for name, i in p.single}
        for name, indices in p.several:
            fields[name] = first(cells, indices)
        if p.page_pair is not None:
            fields["pages"] = join_pages(first(cells, p.page_pair[0]), first(cells, p.page_pair[1]))
        fields["authors"] = split_authors(fields.get("authors", ""))
        fields["keywords"] = split_keywords(fields.get("keywords", ""))
        if not fields.get("source_id", "").strip() and fields.get("pmid"):
            fields["source_id"] = fields["pmid"]
        return fields
