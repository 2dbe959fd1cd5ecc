"""EndNote XML exports (``<xml><records><record>...``), read safely with defusedxml.

EndNote wraps every text in one or more ``<style>`` elements (one per run of formatting, so a
title can be split mid-word); the reader treats ``<style>`` as transparent and concatenates.
Exports are often a single line of several MB, so the file is streamed through defusedxml's
SAX parser, which also tells us the line each ``<record>`` starts on (a one-line file gives
line 1 for all; the record's index is still reported).

Safety: the parser forbids DTDs, entity declarations and external references, so an XML bomb
or an external-entity file is refused with an :class:`IngestError` naming the file and line.
EndNote never writes a DTD.

Malformed or truncated XML (chosen so that no record is ever lost silently):

* records completed before the parser error are kept;
* every later ``<record>`` (found by scanning the text) is re-parsed on its own: those that
  parse are kept with a warning, those that do not become "error" problems with the parser's
  line and column, so ``found`` counts every ``<record>`` start in the file;
* if not a single record can be read, the whole file is an :class:`IngestError` with the
  parser's line and column.

``raw`` keeps every field of the record by its path below ``<record>`` with ``<style>``
removed (``titles/title``, ``contributors/authors/author``, ``caption``, ``custom5``,
``ref-type@name``...), so flags like the SRA benchmarks' ``caption = Duplicate`` survive.
"""

from __future__ import annotations

import re
import xml.sax
import xml.sax.handler
from dataclasses import dataclass, field
from typing import Any

from evreview.errors import IngestError
from evreview.ingest.registry import ParsedRecord, ParseResult, Problem, Source, register
from evreview.records import ovid_database

#: Leaf tags that may repeat in a record: always kept as lists in ``raw``.
_LIST_TAGS = frozenset({"author", "keyword", "url", "date"})

_RECORD_START = re.compile(r"<record[\s>]")
_RECORD_END = "</record>"
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_ISSN = re.compile(r"\b\d{4}-\d{3}[\dXx]\b")
_LINE_BREAKS = re.compile(r"[\r\n]+")

#: ``remote-database-provider`` values that mean PubMed (the name the RIS reader gives them).
_PROVIDERS = {"nlm": "PubMed", "pubmed": "PubMed", "ncbi": "PubMed"}


@dataclass
class _Record:
    """One ``<record>`` as read: its start line and field values by path (in document order)."""

    line: int
    values: dict[str, list[str]] = field(default_factory=dict)
    attrs: dict[str, str] = field(default_factory=dict)


#: Elements nested deeper than this inside a ``<record>`` are read as text of the element at
#: this depth. EndNote's fields are a few levels deep; found by fuzzing: a title holding
#: 100,000 nested ``<i>`` took 22 s (each end joined the whole path into its key).
MAX_DEPTH = 32


class _Handler(xml.sax.handler.ContentHandler):
    """Collects ``<record>`` elements into :class:`_Record` objects as the SAX stream passes.

    Text inside ``<style>`` belongs to the enclosing field; paths are relative to ``<record>``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.records: list[_Record] = []
        self.current: _Record | None = None
        self.path: list[str] = []
        self.text: list[list[str]] = []
        #: elements open below :data:`MAX_DEPTH` (their text goes to the element above them)
        self.deep = 0
        self.locator: Any = None

    def setDocumentLocator(self, locator: Any) -> None:
        self.locator = locator

    def line(self) -> int:
        return int(self.locator.getLineNumber()) if self.locator is not None else 0

    def startElement(self, name: str, attrs: Any) -> None:
        if self.current is None:
            if name == "record":
                self.current = _Record(line=self.line())
                self.path = []
                self.text = []
                self.deep = 0
            return
        if name == "style":
            return
        if len(self.path) >= MAX_DEPTH:
            self.deep += 1
            return
        self.path.append(name)
        self.text.append([])
        if len(attrs):
            key = "/".join(self.path)
            for attr, value in attrs.items():
                self.current.attrs.setdefault(f"{key}@{attr}", value)

    def characters(self, content: str) -> None:
        if self.current is not None and self.text:
            self.text[-1].append(content)

    def endElement(self, name: str) -> None:
        if self.current is None or name == "style":
            return
        if self.deep:
            self.deep -= 1
            return
        if name == "record" and not self.path:
            self.records.append(self.current)
            self.current = None
            return
        key = "/".join(self.path)
        text = "".join(self.text.pop()).strip()
        self.path.pop()
        if text:
            self.current.values.setdefault(key, []).append(text)


def _sax_parse(data: bytes, handler: Any) -> Any:
    """Stream ``data`` through defusedxml's SAX parser into ``handler`` (each XML reader's own),
    every DTD, entity and external reference forbidden; parse errors propagate with the handler
    attached."""
    import defusedxml.sax

    try:
        defusedxml.sax.parseString(data, handler, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except Exception as exc:
        exc.handler = handler  # type: ignore[attr-defined]
        raise
    return handler


def _as_utf8(text: str) -> bytes:
    """The decoded text as UTF-8 bytes, with the declaration saying so.

    The driver has already decoded the file (BOM, UTF-16...), so the declaration's original
    encoding no longer applies; replacing it keeps line numbers unchanged.
    """
    match = _XML_DECL.match(text)
    if match:
        decl = re.sub(r"""encoding\s*=\s*["'][^"']*["']""", 'encoding="UTF-8"', match.group(0))
        text = decl + text[match.end() :]
    return text.encode("utf-8")


# ----------------------------------------------------------------------------- field mapping


def _first(values: dict[str, list[str]], *paths: str) -> str:
    for path in paths:
        for value in values.get(path, ()):
            if value.strip():
                return value.strip()
    return ""


def _lines(value: str) -> list[str]:
    """EndNote separates several values in one field with CR (``&#xD;``)."""
    return [part.strip() for part in _LINE_BREAKS.split(value) if part.strip()]


def _issn_isbn(value: str) -> tuple[str, str]:
    """EndNote's ``isbn`` holds an ISSN for journals (``2277-9175 (Print)&#xD;2277-9175``)."""
    if not value:
        return "", ""
    issns = list(dict.fromkeys(_ISSN.findall(value)))
    if issns:
        return "; ".join(issns), ""
    return "", "; ".join(_lines(value))


def _doc_type(ref_type: str) -> str:
    """EndNote's reference-type name, with the one name the shared vocabulary misreads:
    "Book Section" (and "Electronic Book Section") is a chapter, not a book."""
    return "chapter" if "book section" in ref_type.lower() else ref_type


def _is_pubmed(provider: str, database: str) -> bool:
    text = f"{provider} {database}".lower()
    return "nlm" in text or "pubmed" in text or "medline" in text


def record_fields(rec: _Record) -> dict[str, Any]:
    """Map one record's field paths to record fields (pure; see the module docstring)."""
    values = rec.values
    provider = _first(values, "remote-database-provider")
    database_name = _first(values, "remote-database-name")
    accession = _first(values, "accession-num")
    pmid = accession if accession.isdigit() and _is_pubmed(provider, database_name) else ""
    issn, isbn = _issn_isbn(_first(values, "isbn"))
    # Ovid's segment names ("Ovid MEDLINE(R) <2021>") become the database searched, as in RIS
    names = dict.fromkeys(ovid_database(name, provider) or name for name in _lines(database_name))
    database = "; ".join(names) or _PROVIDERS.get(provider.lower(), provider)
    return {
        "source_id": accession,
        "source_database": database,
        "title": _first(values, "titles/title"),
        "abstract": _first(values, "abstract"),
        "authors": list(values.get("contributors/authors/author", [])),
        "year": _first(values, "dates/year", "dates/pub-dates/date"),
        "journal": _first(
            values,
            "titles/secondary-title",
            "periodical/full-title",
            "titles/alt-title",
            "periodical/abbr-1",
            "alt-periodical/full-title",
        ),
        "volume": _first(values, "volume"),
        "issue": _first(values, "number"),
        "pages": _first(values, "pages"),
        "doi": _first(values, "electronic-resource-num"),
        "pmid": pmid,
        "issn": issn,
        "isbn": isbn,
        "keywords": [kw for value in values.get("keywords/keyword", []) for kw in _lines(value)],
        "language": _first(values, "language"),
        "doc_type": _doc_type(rec.attrs.get("ref-type@name", "") or _first(values, "work-type")),
        "url": _first(values, "urls/related-urls/url", "urls/web-urls/url", "urls/pdf-urls/url"),
    }


def record_raw(rec: _Record) -> dict[str, Any]:
    """Every field by path; single values as strings, repeatable ones (authors...) as lists."""
    raw: dict[str, Any] = {}
    for path, items in rec.values.items():
        leaf = path.rsplit("/", 1)[-1]
        raw[path] = items if (len(items) > 1 or leaf in _LIST_TAGS) else items[0]
    raw.update(rec.attrs)
    return raw


def _to_parsed(rec: _Record, line: int) -> ParsedRecord:
    return ParsedRecord(fields=record_fields(rec), raw=record_raw(rec), line=line)


# ----------------------------------------------------------------------------- parsing


def _parser_position(exc: Exception) -> tuple[int | None, int | None]:
    """1-based (line, column) of a SAX error, or of the handler's position for defusedxml refusals.

    Expat counts columns from 0; editors (and our messages) count from 1.
    """
    if isinstance(exc, xml.sax.SAXParseException):
        return exc.getLineNumber(), exc.getColumnNumber() + 1
    handler = getattr(exc, "handler", None)
    if handler is not None and handler.locator is not None:
        return handler.locator.getLineNumber(), handler.locator.getColumnNumber() + 1
    return None, None


def parse_record_elements(
    text: str, handler: Any, convert: Any, record_start: re.Pattern[str], *, path: Any, kind: str,
    record_end: str | None = None, new_handler: Any = None,
) -> ParseResult:
    """Stream ``text`` through ``handler`` (whose ``records`` it fills) safely; each record
    ``convert``-ed to a :class:`ParsedRecord`.

    Shared by the XML readers whose records are elements of one list (PubMed XML, WHO ICTRP):
    unsafe XML is refused, and XML that breaks keeps the records completed before the break.
    With ``record_end`` (the closing tag) and ``new_handler``, every later record is then read
    on its own, as the EndNote XML reader does: one bad character costs its record only, and
    each record that cannot be read is an error naming its own line. Without them, every later
    record start (``record_start``) is an error with the parser's message. XML with not one
    readable record is an error naming the file. Records carry a ``line`` attribute (the
    handler's record objects), moved to the file's line when read on their own.
    """
    try:
        done = _sax_parse(_as_utf8(text), handler)
    except Exception as exc:
        _refuse_unsafe(exc, path, f"{kind} exports")
        if not isinstance(exc, xml.sax.SAXException):
            raise
        kept = [convert(r) for r in exc.handler.records]  # type: ignore[attr-defined]
        starts = [m.start() for m in record_start.finditer(text)]
        if record_end is not None and new_handler is not None:
            more, problems = _read_each(text, starts, len(kept), exc, record_end, new_handler, convert, path, kind)
            kept += more
        else:
            problems = [
                Problem(f"record not read: {_describe(exc)}", index=number, line=text.count("\n", 0, start) + 1)
                for number, start in enumerate(starts[len(kept) :], start=len(kept))
            ]
        if not kept:
            raise unreadable(exc, path, kind) from None
        return ParseResult(records=kept, problems=problems or [damaged_tail(exc)])
    return ParseResult(records=[convert(r) for r in done.records])


def _read_each(
    text: str, starts: list[int], done: int, first_error: Exception, record_end: str, new_handler: Any,
    convert: Any, path: Any, kind: str,
) -> tuple[list[ParsedRecord], list[Problem]]:
    """Re-read each record from number ``done`` on by itself (see :func:`parse_record_elements`)."""
    records: list[ParsedRecord] = []
    problems: list[Problem] = []
    for number, start in enumerate(starts[done:], start=done):
        line = text.count("\n", 0, start) + 1
        column = start - (text.rfind("\n", 0, start) + 1)
        next_start = starts[number + 1] if number + 1 < len(starts) else len(text)
        end = text.find(record_end, start, next_start)
        chunk = text[start : end + len(record_end)] if end >= 0 else text[start:next_start]
        try:
            handler = _sax_parse(chunk.encode("utf-8"), new_handler())
        except Exception as exc:
            _refuse_unsafe(exc, path, f"{kind} exports")
            if not isinstance(exc, xml.sax.SAXException):
                raise
            problems.append(Problem(f"record could not be read: {_describe(exc, line - 1, column)}", number, line))
            continue
        if len(handler.records) != 1:  # well-formed, but not one record element
            problems.append(Problem("record could not be read: not a single record element", number, line))
            continue
        found = handler.records[0]
        found.line += line - 1
        records.append(convert(found))
        problems.append(Problem(
            f"record read on its own after an XML error earlier in the file ({_describe(first_error)})",
            index=done + len(records) - 1, line=line, severity="warning",
        ))
    return records, problems


def _refuse_unsafe(exc: Exception, path: Any, kind: str = "EndNote XML exports") -> None:
    """Turn a defusedxml refusal into a clear IngestError (never parse it another way)."""
    from defusedxml import DefusedXmlException

    if isinstance(exc, DefusedXmlException):
        line, _column = _parser_position(exc)
        raise IngestError(
            f"refusing to read this XML: it declares a DTD, entities or external references "
            f"({type(exc).__name__}); {kind} never do, and such files can be XML bombs "
            "or read local files",
            path=path,
            line=line,
        ) from None


def unreadable(exc: Exception, path: Any, kind: str) -> IngestError:
    """The error for a file of which not one record could be read, with the parser's position."""
    line, column = _parser_position(exc)
    message = exc.getMessage() if isinstance(exc, xml.sax.SAXParseException) else str(exc)
    return IngestError(
        f"not readable as {kind}: {message} (column {column}); no record could be read", path=path, line=line
    )


def damaged_tail(exc: Exception) -> Problem:
    """The warning for XML that breaks only after its last record: nothing lost, but said."""
    return Problem(
        f"XML ends badly after the last record: {_describe(exc)}", line=_parser_position(exc)[0], severity="warning"
    )


def _describe(exc: Exception, line_offset: int = 0, column_offset: int = 0) -> str:
    """The parser's message with its position in the file.

    A record re-read on its own reports positions within the record; ``line_offset`` and
    ``column_offset`` (where the record starts) turn them back into file positions.
    """
    line, column = _parser_position(exc)
    message = exc.getMessage() if isinstance(exc, xml.sax.SAXParseException) else str(exc)
    if line is None:
        return f"malformed XML ({message})"
    if column is not None and line == 1:
        column += column_offset
    return f"malformed XML ({message} at line {line + line_offset}, column {column})"


def parse_endnote_xml(text: str, path: Any = None) -> ParseResult:
    """Parse EndNote XML text; raises :class:`IngestError` for unsafe or wholly unreadable XML.

    After a fatal parser error every later ``<record>`` is read on its own
    (:func:`parse_record_elements`): records that parse alone are kept with a warning, the
    others are errors with the parser's message and file position.
    """
    return parse_record_elements(
        text, _Handler(), lambda rec: _to_parsed(rec, rec.line), _RECORD_START, path=path, kind="EndNote XML",
        record_end=_RECORD_END, new_handler=_Handler,
    )


@register
class EndnoteXmlReader:
    """EndNote desktop's XML export."""

    name = "endnote_xml"
    priority = 60

    def sniff(self, source: Source) -> float:
        """EndNote's own root (``<xml><records>``) with ``<record>`` children."""
        head = source.head.lstrip()
        if not head.startswith("<"):
            return 0.0
        start = head[:4000]
        if "<xml>" in start and "<records>" in start:
            return 0.95 if ("<record>" in head or "<ref-type" in head) else 0.6
        if "<records>" in start and "<ref-type" in head and "<source-app" in head:
            return 0.8
        return 0.0

    def parse(self, source: Source) -> ParseResult:
        path = source.options.get("display_path", source.path)
        return parse_endnote_xml(source.text or "", path=path)
