"""Format readers: one small module per export format, registered in one place.

A reader is any object with a ``name``, a ``sniff`` method that scores how sure it is that a
file is in its format (from content, never from the file extension), and a ``parse`` method.
Modules in :mod:`evreview.ingest.formats` register their readers with :func:`register`; the
package is scanned on first use, so adding a format means adding one module. Detection imports
only the modules that could claim the file (see :data:`SNIFF_GATES`).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from evreview.errors import IngestError


@dataclass
class Source:
    """One input file as the readers see it.

    ``text`` is the decoded content with newlines normalised to ``\\n`` (``None`` for binary
    containers such as XLSX, whose readers use ``data``). ``options`` carries per-file
    settings from config or CLI (``column_map``, ``database``).
    """

    path: Path
    data: bytes
    text: str | None
    options: dict[str, Any] = field(default_factory=dict)
    #: what sniffing derived from the content, kept so that it is derived once: every tabular
    #: reader sniffs on the same header row (see ``_tabular.source_header``)
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def head(self) -> str:
        """The first 64 KiB of text (what ``sniff`` methods should look at)."""
        return (self.text or "")[:65536]


@dataclass
class ParsedRecord:
    """A record as a reader returns it: normalisable fields, the raw fields, its start line."""

    fields: dict[str, Any]
    raw: dict[str, Any]
    line: int | None = None


@dataclass
class Problem:
    """Something wrong with one record (or the file) that the ingest report must show.

    ``severity`` is ``"error"`` when the record could not be parsed (it is *not* in the record
    table, only here) and ``"warning"`` when it was parsed with a caveat.
    """

    reason: str
    index: int | None = None
    line: int | None = None
    severity: str = "error"


@dataclass
class ParseResult:
    """What a reader found in a file: records parsed, and problems.

    ``found`` counts the records the file appears to contain (record starts), so the report
    can show found vs. parsed; ``found == len(records) + errors`` must hold.

    ``records`` is a list, or an iterator for a streaming reader (RIS), so that a 100k-record
    file need not sit in memory as parsed records. A streaming reader fills ``problems``,
    ``found`` and ``database`` as it goes; they are complete only once ``records`` is
    exhausted, which is when the driver reads them.
    """

    records: list[ParsedRecord] | Iterator[ParsedRecord]
    problems: list[Problem] = field(default_factory=list)
    found: int | None = None
    database: str = ""
    #: records per database name, in first-seen order, where the reader tallies them to pick
    #: ``database`` (the most common); the parallel driver adds up its parts' tallies
    database_counts: dict[str, int] = field(default_factory=dict)
    #: a reader's state at the end of a part of a file, which the next part starts from (the
    #: RIS reader's export header in force); see :mod:`evreview.ingest.parallel`
    part_context: Any = None

    def __post_init__(self) -> None:
        if self.found is None and isinstance(self.records, list):
            self.found = len(self.records) + sum(p.severity == "error" for p in self.problems)

    @property
    def streaming(self) -> bool:
        """True when ``records`` is an iterator (``problems``/``found`` still filling)."""
        return not isinstance(self.records, list)


class Reader(Protocol):
    """The interface every format module implements."""

    #: short stable identifier written to ``source_format`` (e.g. ``"ris"``)
    name: str
    #: tie-breaker when two readers are equally sure: higher wins
    priority: int

    def sniff(self, source: Source) -> float:
        """Confidence in [0, 1] that ``source`` is in this format, from its content."""
        ...

    def parse(self, source: Source) -> ParseResult:
        """Parse every record in ``source`` (``records`` may be an iterator: see :class:`ParseResult`)."""
        ...


# A reader may also support parallel parsing of one large file (the RIS reader does), with
# ``next_part_start(data: bytes, start: int) -> int`` (an offset at or after ``start`` where
# the UTF-8 bytes can be cut so that the parts parse exactly as the whole, or -1) and
# ``parse_part(source, first_line) -> ParseResult`` (parse a part starting at that file line,
# filling ``database_counts``), optionally ``record_starts(data: bytes) -> int`` (records a
# part should give, so workers can number them) and ``part_context(data: bytes, context) ->
# context`` with ``parse_part(source, first_line, context)`` (state a part carries into the
# next, such as a header that names the database of every record after it, which a worker
# parsing a later part never sees); see :mod:`evreview.ingest.parallel`.


class ConfigColumnMap(dict):  # type: ignore[type-arg]
    """``ingest.column_map`` from the config: one map for every generic table of the review.

    Unlike ``--column-map`` given for one file, it is not about any one file: a column the
    table being read lacks is not an error (the map names another table's columns). A
    review with two hand-made spreadsheets of different layouts could not be ingested: each
    stopped on the other's column names.
    """


_READERS: dict[str, Reader] = {}
_LOADED = False


def register(reader_cls: type) -> type:
    """Class decorator: instantiate and register a reader under its ``name``."""
    reader = reader_cls()
    if reader.name in _READERS and type(_READERS[reader.name]) is not reader_cls:
        raise RuntimeError(f"two readers registered as {reader.name!r}")
    _READERS[reader.name] = reader
    return reader_cls


def _text_start(head: str) -> str:
    """The head from its first non-blank character (a leading BOM skipped)."""
    return head.lstrip("\ufeff").lstrip()


#: The search line Embase.com writes above the header of its CSV (quoted or not, comma- or
#: semicolon-separated): here for its reader's gate, and read by the reader (embase_csv) itself.
EMBASE_SEARCH_LINE = re.compile(r'\A[\ufeff \t\r\n]*"?SEARCH QUERY"?\s*[,;\t]')
_OVID_RECORD_LINE = re.compile(r"^[\ufeff \t]*<\d+>\s*$", re.MULTILINE)
_REFWORKS_FIRST = re.compile(r"RT(?:[ \t\u00a0]|\n|$)")


def _names_a_column(head: str, *names: str) -> bool:
    """Whether the table whose text starts with ``head`` has a column called one of ``names``,
    compared as the tabular readers compare column names; true without text (``""``: an .xlsx
    workbook, whose header only the readers read, from its bytes)."""
    if not head:
        return True
    keys = _column_keys(head)
    if keys is None:
        return False
    from evreview.ingest.formats._tabular import column_key

    return any(column_key(name) in keys for name in names)


@lru_cache(maxsize=1)
def _column_keys(head: str) -> frozenset[str] | None:
    """The compared names of the columns of the table in ``head`` (``None``: not a table), found
    once for all the tabular gates (the one head they are asked about is kept)."""
    from evreview.ingest.formats._tabular import column_key, header_of

    found = header_of(head)
    return None if found is None else frozenset(map(column_key, found[0]))


#: Database table exports and one group of their reader's ``signature`` (the most distinctive):
#: every file the reader claims has a column of that group, so its gate in :data:`SNIFF_GATES`
#: asks the head's header row for one (tests/test_ingest_driver.py checks each group is the
#: reader's own). Only readers with fixture files, on which the gates are tested; the Cochrane
#: and EBSCOhost table readers (~0.3 ms to import) are not gated.
TABLE_GATES: dict[str, tuple[str, ...]] = {
    "abstrackr_csv": ("(internal) id",),
    "embase_csv": ("Emtree Drug Index Terms", "Emtree Medical Index Terms", "Emtree Drug Index Terms (Major Focus)",
                   "Emtree Medical Index Terms (Major Focus)", "Embase Accession ID", "Embase Accession Number"),
    "covidence_csv": ("Covidence #",),
    "ctgov_csv": ("NCT Number",),
    "ictrp_csv": ("TrialID",),
    "ieee_csv": ("Document Title",),
    "lens_csv": ("Lens ID",),
    "openalex_csv": ("authorships.author.display_name", "authorships.author.id", "primary_location.source.id"),
    "pop_csv": ("GSRank",),
    "pubmed_csv": ("Citation", "Details"),
    "rayyan_csv": ("notes",),
    "refworks_tab": ("Title Primary",),
    "scopus_csv": ("EID",),
    "springer_csv": ("Item DOI",),
    "wos_tab": ("UT", "UT (Unique WOS ID)"),
}

#: Format modules whose reader can claim only a file whose head (``Source.head``, the first 64
#: KiB of text; ``""`` for a binary container) passes a cheap test: a necessary condition of the
#: reader's ``sniff``, never a sufficient one. :func:`detect` imports a listed module only when
#: its test passes, so a CSV export does not import (and sniff with) the eight tagged, XML and
#: JSON readers: about 5 ms of a 0.5 s ``evreview dedup`` run; nor, by :data:`TABLE_GATES`, eight
#: database-specific table readers (~2 ms more; the header is parsed once for all of them).
#: A module not listed here is always imported, so a new format is still one module (listing it
#: only saves start-up time). A test must fail only where ``sniff`` returns 0:
#: tests/test_ingest_driver.py checks this on every fixture file.
SNIFF_GATES: dict[str, Callable[[str], bool]] = {
    "bibtex": lambda head: "@" in head,  # an "@type{" entry line
    "cochrane_txt": lambda head: _text_start(head).startswith("Record #"),
    "csl_json": lambda head: _text_start(head).startswith("["),
    # Dimensions' "About the data" line above the header, or its id column (a workbook: "")
    "dimensions_csv": lambda head: "about the data" in head[:4096].lower() or _names_a_column(head, "Publication ID"),
    "endnote_xml": lambda head: _text_start(head).startswith("<"),
    "enw": lambda head: _text_start(head).startswith("%"),  # the first line is a %-tag
    "eric_nbib": lambda head: _text_start(head).startswith("OWN"),  # "OWN - ERIC" first
    "ictrp_xml": lambda head: "<Trials_downloaded_from_ICTRP" in head,
    "medline": lambda head: "PMID-" in head,
    "ovid_txt": lambda head: _OVID_RECORD_LINE.search(head) is not None,  # a "<1>" record-number line
    "ovid_tagged": lambda head: _text_start(head).startswith("<"),  # a "<3001. >" record-number line
    "pop_json": lambda head: _text_start(head).startswith("["),
    "proquest": lambda head: "ProQuest" in head,
    "pubmed_xml": lambda head: "<Pubmed" in head,
    "refworks": lambda head: _REFWORKS_FIRST.match(_text_start(head)) is not None,  # the first line is an RT line
    "ris": lambda head: "TY  -" in head,
    "wos": lambda head: _text_start(head).startswith(("FN ", "PT ")),
    **{name: (lambda head, names=names: _names_a_column(head, *names)) for name, names in TABLE_GATES.items()},
    # Embase.com writes its search above the header ("SEARCH QUERY","dinosaur:ti"): the header
    # the other gates read is that line (replaces the TABLE_GATES entry, which it includes)
    "embase_csv": lambda head: (
        EMBASE_SEARCH_LINE.match(head[:4096]) is not None or _names_a_column(head, *TABLE_GATES["embase_csv"])
    ),
}


def _format_modules() -> list[str]:
    """Names of the format modules (``_``-prefixed helpers excluded), sorted."""
    from evreview.ingest import formats

    return sorted(info.name for info in pkgutil.iter_modules(formats.__path__) if not info.name.startswith("_"))


def _import_format(name: str) -> None:
    importlib.import_module(f"evreview.ingest.formats.{name}")


def _load_formats() -> None:
    global _LOADED
    if _LOADED:
        return
    for name in _format_modules():
        _import_format(name)
    _LOADED = True


def _load_formats_for(head: str) -> None:
    """Import every format module that could claim a file with this head (see :data:`SNIFF_GATES`)."""
    if _LOADED:
        return
    for name in _format_modules():
        gate = SNIFF_GATES.get(name)
        if gate is None or gate(head):
            _import_format(name)


def readers() -> dict[str, Reader]:
    """All registered readers by name (sorted)."""
    _load_formats()
    return dict(sorted(_READERS.items()))


def get_reader(name: str) -> Reader:
    """The reader called ``name``, or a clear error listing the known ones."""
    known = readers()
    if name not in known:
        raise IngestError(f"unknown format {name!r}; known formats: {', '.join(known)}")
    return known[name]


def detect(source: Source) -> Reader:
    """Pick the reader most confident about ``source``; a clear error when none is.

    Only the readers that could claim the file are loaded and asked (:data:`SNIFF_GATES`); the
    others would score 0, so the pick is the one all readers would make. The error for an
    unrecognised file loads them all, to list every supported format.
    """
    _load_formats_for(source.head)
    scored = []
    for reader in dict(sorted(_READERS.items())).values():
        score = float(reader.sniff(source))
        if score > 0:
            scored.append((score, reader.priority, reader.name, reader))
    if not scored:
        if source.text is None and source.data.startswith(b"PK\x03\x04"):
            raise IngestError(_zip_message(source.data), path=source.path)
        first = (source.text or "").lstrip("\ufeff \n\t")[:60].splitlines()
        shown = repr(first[0]) if first else "no text"
        raise IngestError(
            "unrecognised format: not any of the supported exports "
            f"({', '.join(readers())}); the file starts with {shown}. "
            "For a spreadsheet with other column names, map them with --column-map or the "
            "config's ingest.column_map",
            path=source.path,
        )
    scored.sort(key=lambda item: (-item[0], -item[1], item[2]))
    return scored[0][3]


def _zip_message(data: bytes) -> str:
    """Why a ZIP file no reader claims is not ingested: an archive of exports (say which files
    to unzip), or a damaged one (a workbook cut short by a download). The general
    "unrecognised format ... starts with no text; map columns with --column-map" misled here."""
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = [info.filename for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, EOFError, ValueError):
        return "a damaged ZIP file (an .xlsx workbook or archive cut short?): download or save it again"
    if "xl/workbook.xml" in names:
        return "an .xlsx workbook whose first sheet holds no table: put the records there, under a header row"
    if not names:
        return "an empty ZIP archive: it holds no export file"
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return f"a ZIP archive, not an export: unzip it and ingest the export files inside ({shown})"
