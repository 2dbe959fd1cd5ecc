"""Publish or Perish JSON export (Google Scholar and the other sources PoP queries).

The file is a JSON array of objects (``uid``, ``title``, ``authors`` list, ``year``,
``source``, ``publisher``, ``article_url``, ``abstract``, ``volume``, ``issue``, ``startpage``,
``endpage``, ``doi``, ``cites``, ``rank``...). Quirks:

* Google Scholar truncates long titles, venues and abstract snippets with ``…`` (U+2026). We
  keep the text as given (it is all there is) and report a warning per truncated title, since
  a truncated title weakens deduplication and screening for that record.
* ``0`` in ``volume``/``issue``/``startpage``/``endpage`` means "unknown".
* A truncated author list ends with ``"..."``; that placeholder is not an author (it stays in
  ``raw``).

Lines: each record's line is where its object opens, found by decoding the array element by
element (:meth:`json.JSONDecoder.raw_decode`), so a problem names the line a user can open.
"""

from __future__ import annotations

import json
import re
from typing import Any

from evreview.errors import IngestError
from evreview.ingest.formats._tabular import display_path, join_pages
from evreview.ingest.registry import ParsedRecord, ParseResult, Problem, Source, register

#: Keys typical of PoP records; two or more in the head of a JSON array identify the format.
_POP_KEYS = (
    '"cites_url"',
    '"article_url"',
    '"related_url"',
    '"ecc"',
    '"startpage"',
    '"endpage"',
    '"fulltext_url"',
    '"citation_url"',
    '"use"',
    '"rank"',
)
_ELLIPSIS = ("\u2026", "...")
#: PoP ``uid`` prefix -> database the record came from.
_UID_DATABASES = {
    "GS": "Google Scholar",
    "CR": "Crossref",
    "SC": "Scopus",
    "WOS": "Web of Science",
    "MAS": "Microsoft Academic",
    "SS": "Semantic Scholar",
    "OA": "OpenAlex",
    "PM": "PubMed",
}
_DEFAULT_DATABASE = "Google Scholar"


def pop_number(value: Any) -> str:
    """A PoP number (a JSON number or string, a CSV cell) as text, with ``0``/empty meaning missing."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = "" if value is None else str(value).strip()
    return "" if text in ("", "0") else text


def author_names(authors: Any) -> list[str]:
    """PoP's authors (a list, or one string separated by commas) without the ``...`` of a cut list."""
    if isinstance(authors, str):
        names = [a.strip() for a in authors.split(",")]
    elif isinstance(authors, list):
        names = [_text(a).strip() for a in authors]
    else:
        names = []
    return [n for n in names if n and n not in _ELLIPSIS]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def database_of(uid: str) -> str:
    """Database named by a PoP ``uid`` prefix (``GS:...`` -> Google Scholar)."""
    prefix = uid.split(":", 1)[0].strip().upper() if ":" in uid else ""
    return _UID_DATABASES.get(prefix, _DEFAULT_DATABASE)


def is_truncated(text: str) -> bool:
    """True when Google Scholar shortened ``text`` (it ends with, or has, an ellipsis)."""
    stripped = text.strip()
    return stripped.endswith(_ELLIPSIS) or "\u2026" in stripped


def record_fields(item: dict[str, Any]) -> dict[str, Any]:
    """Record fields from one PoP object."""
    uid = _text(item.get("uid")).strip()
    return {
        "source_id": uid,
        "source_database": database_of(uid),
        "title": _text(item.get("title")),
        "abstract": _text(item.get("abstract")),
        "authors": author_names(item.get("authors")),
        "year": item.get("year"),
        "journal": _text(item.get("source")),
        "volume": pop_number(item.get("volume")),
        "issue": pop_number(item.get("issue")),
        "pages": join_pages(pop_number(item.get("startpage")), pop_number(item.get("endpage"))),
        "doi": _text(item.get("doi")),
        "issn": _text(item.get("issn")),
        "isbn": _text(item.get("isbn")),
        "doc_type": _text(item.get("type")),
        "url": _text(item.get("article_url")) or _text(item.get("fulltext_url")),
    }


def _int_or_digits(digits: str) -> int | str:
    """A JSON integer as an ``int``, or its digits when Python refuses to convert that many
    (``sys.get_int_max_str_digits``, 4,300): ``json.loads`` raised a ValueError for the
    whole file, reported as a bug in evreview, for one absurd number in one record."""
    try:
        return int(digits)
    except ValueError:
        return digits


#: A lone UTF-16 surrogate, which a JSON ``\\uD800`` escape without its pair decodes to.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_lone_surrogates(value: Any) -> tuple[Any, bool]:
    """``value`` with each lone surrogate in its strings (keys too) replaced by U+FFFD, and
    whether there was one.

    JSON may escape half of a character pair (``"\\ud800"``), which decodes to a string no
    UTF-8 writer accepts: Arrow raised a UnicodeEncodeError traceback while the record table
    was written. Half a character cannot be repaired; the rest of the record can be kept.
    """
    if isinstance(value, str):
        fixed = _LONE_SURROGATE.sub("\ufffd", value)
        return fixed, fixed != value
    if isinstance(value, list):
        pairs = [_without_lone_surrogates(item) for item in value]
        return [item for item, _ in pairs], any(changed for _, changed in pairs)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        changed = False
        for key, item in value.items():
            new_key, key_changed = _without_lone_surrogates(key)
            out[new_key], item_changed = _without_lone_surrogates(item)
            changed = changed or key_changed or item_changed
        return out, changed
    return value, False


def iter_array(text: str, path: str, kind: str = "Publish or Perish") -> list[tuple[int, Any]]:
    """``(line, element)`` for each element of the top-level JSON array in ``text``.

    Invalid JSON raises :class:`IngestError` with the line and column of the fault; ``kind``
    names the export expected (the CSL-JSON reader uses this too).
    """
    try:
        data = json.loads(text, parse_int=_int_or_digits)
    except json.JSONDecodeError as exc:
        raise IngestError(f"invalid JSON: {exc.msg} (column {exc.colno})", path=path, line=exc.lineno) from None
    except RecursionError:  # arrays or objects nested thousands deep: no export writes that
        raise IngestError("invalid JSON for an export: values nested too deeply to read", path=path) from None
    if not isinstance(data, list):
        raise IngestError(
            f"expected a JSON array of records ({kind} export), found a {type(data).__name__}",
            path=path,
        )
    decoder = json.JSONDecoder(parse_int=_int_or_digits)
    out: list[tuple[int, Any]] = []
    pos = text.index("[") + 1
    line = 1 + text.count("\n", 0, pos)
    for _ in range(len(data)):
        start = pos
        while text[pos] in " \t\r\n,":
            pos += 1
        line += text.count("\n", start, pos)
        value, end = decoder.raw_decode(text, pos)
        out.append((line, value))
        line += text.count("\n", pos, end)
        pos = end
    return out


def json_objects(source: Source, kind: str, problems: list[Problem]) -> list[tuple[int, dict[str, Any]]]:
    """``(line, object)`` for each record object of a JSON-array export; any other element is
    an error in ``problems`` (counted in ``found``, never dropped silently). ``kind`` names
    the export in messages ("Publish or Perish", "CSL-JSON")."""
    path = display_path(source)
    if source.text is None:
        raise IngestError(f"not a text file (expected a {kind} JSON export)", path=path)
    objects: list[tuple[int, dict[str, Any]]] = []
    # only a file with a surrogate escape can hold a lone one (a cheap test on the text first)
    surrogates = re.search(r"\\u[dD][89a-fA-F]", source.text) is not None
    for ordinal, (line, item) in enumerate(iter_array(source.text, path, kind)):
        if isinstance(item, dict):
            if surrogates:
                item, changed = _without_lone_surrogates(item)
                if changed:
                    problems.append(
                        Problem(
                            f"line {line}: a \\u escape gives half of a character pair (a lone surrogate, "
                            "the file is damaged there); it was replaced by U+FFFD (\ufffd)",
                            index=len(objects),
                            line=line,
                            severity="warning",
                        )
                    )
            objects.append((line, item))
        else:
            reason = f"line {line}: array element {ordinal + 1} is a {type(item).__name__}, not a record object"
            problems.append(Problem(reason, index=ordinal, line=line))
    return objects


@register
class PublishOrPerishJsonReader:
    """Publish or Perish "Save as JSON"."""

    name = "pop_json"
    priority = 10

    def sniff(self, source: Source) -> float:
        """A JSON array whose first objects carry PoP's own keys."""
        head = source.head.lstrip()
        if not head.startswith("["):
            return 0.0
        hits = sum(key in head for key in _POP_KEYS)
        if hits >= 2 and '"title"' in head:
            return 0.95
        return 0.0

    def parse(self, source: Source) -> ParseResult:
        records: list[ParsedRecord] = []
        problems: list[Problem] = []
        for line, item in json_objects(source, "Publish or Perish", problems):
            fields = record_fields(item)
            index = len(records)
            if is_truncated(fields["title"]):
                problems.append(
                    Problem(
                        f"line {line}: title truncated by the source (ends with an ellipsis); "
                        "kept as given, check it before relying on title matching",
                        index=index,
                        line=line,
                        severity="warning",
                    )
                )
            records.append(ParsedRecord(fields=fields, raw=item, line=line))
        return ParseResult(records=records, problems=problems, database=_DEFAULT_DATABASE)
