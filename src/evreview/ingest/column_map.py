"""The config's ``ingest.column_map`` checked across every table of one ingest.

The config's map is one map for every generic table of the review (:class:`~evreview.ingest.
registry.ConfigColumnMap`), so a column one table lacks is skipped: it may name another
table's column. A column found in *none* of the tables, though, is almost surely misspelt
(``"Abstrct": abstract``), and skipping it without a word left that field empty in every
record. Only a step that sees every table can tell: ``evreview gather --config`` in the
workflow (whose ``evreview ingest`` jobs each read one export), or ``evreview ingest`` given
several files. The check reads only each table's header line (or a workbook's first rows),
never a table's records again.
"""

from __future__ import annotations

import codecs
import difflib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

#: Bytes read from the start of a text table to find its header (what format detection sees).
_HEAD_BYTES = 512 * 1024
#: The reader whose tables the config's column map applies to.
GENERIC_FORMAT = "generic_table"


def table_header(path: str | Path, encoding: str | None = None) -> list[str] | None:
    """The header cells of the CSV/TSV/XLSX table at ``path``, or ``None`` when it cannot be read.

    Only the head of a text file is read (its header is on the first non-blank line); a
    workbook is opened for its first rows. Bytes invalid in the encoding are replaced: the
    file was ingested already, and only its column names are wanted.
    """
    from evreview.errors import EvreviewError
    from evreview.ingest.formats._tabular import source_header
    from evreview.ingest.registry import Source
    from evreview.ingest.textio import pick_encoding

    path = Path(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEAD_BYTES)
        if head.startswith(b"PK\x03\x04"):  # a workbook: its first rows need the whole zip
            return source_header(Source(path=path, data=path.read_bytes(), text=None))
        text = codecs.decode(head, pick_encoding(head, path, encoding), errors="replace")
    except (OSError, LookupError, ValueError, EvreviewError):  # gone, unreadable, unknown encoding, binary
        return None
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return source_header(Source(path=path, data=head, text=text))


def unmatched_columns(
    column_map: Mapping[str, str], headers: Mapping[str, Sequence[str]]
) -> list[tuple[str, str | None, str | None]]:
    """``(column, nearest column, its table)`` for each mapped column in none of ``headers``.

    ``headers`` maps each table's name to its header cells. Columns compare as the readers
    compare them (:func:`~evreview.ingest.formats._tabular.column_key`: case and punctuation
    aside); the nearest actual column (difflib) and the first table holding it are ``None``
    when no name is close.
    """
    from evreview.ingest.formats._tabular import column_key

    where: dict[str, tuple[str, str]] = {}  # column key -> (first spelling seen, its table)
    for table, cells in headers.items():
        for cell in cells:
            where.setdefault(column_key(str(cell)), (str(cell), table))
    out = []
    for theirs in column_map:
        key = column_key(str(theirs))
        if key in where:
            continue
        close = difflib.get_close_matches(key, list(where), n=1, cutoff=0.75)
        nearest = where[close[0]] if close else (None, None)
        out.append((str(theirs), *nearest))
    return out


def _config_line(config_path: str | Path, column: str) -> int | None:
    """The line of ``config_path`` where ``ingest.column_map`` names ``column`` (for the message),
    or ``None``.

    Read from the YAML node tree, not by searching the text: the first line after
    ``column_map:`` holding the name as a substring named the wrong entry when an earlier key
    contained it ("Abstract" in "Abstract Note: abstract"), or a line past the map.
    """
    import yaml

    try:
        root = yaml.compose(Path(config_path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    node = root
    for step in ("ingest", "column_map"):
        if not isinstance(node, yaml.MappingNode):
            return None
        node = next((v for k, v in node.value if getattr(k, "value", None) == step), None)
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((k.start_mark.line + 1 for k, _ in node.value if str(getattr(k, "value", "")) == column), None)


def column_map_warnings(
    column_map: Mapping[str, str],
    report: pd.DataFrame,
    root: str | Path,
    config_path: str | Path,
    encoding_of: Callable[[Path], str | None] = lambda path: None,
) -> list[dict[str, Any]]:
    """Ingest problem rows (severity ``warning``), one per ``column_map`` column in no table read.

    ``report`` is the ingest report (one row per file: ``source_file`` relative to ``root``,
    ``source_format``); the map applies to its generic tables only, whose headers are read
    (:func:`table_header`; ``encoding_of`` gives a file's configured encoding). Nothing is
    said when no generic table was read: the map then named no column of this ingest at all
    (e.g. ``evreview ingest`` given only RIS files of a review with a spreadsheet elsewhere).
    """
    if not column_map or report is None or not len(report):
        return []
    mapped = {str(theirs): str(ours) for theirs, ours in column_map.items()}
    generic = report[report["source_format"].astype(str) == GENERIC_FORMAT]["source_file"].astype(str)
    headers: dict[str, list[str]] = {}
    for name in dict.fromkeys(generic):
        path = Path(root) / name
        header = table_header(path, encoding_of(path))
        if header is not None:
            headers[name] = header
    if not headers:
        return []
    shown = Path(config_path).as_posix()
    tables = f"{len(headers)} table(s) read" if len(headers) > 3 else ", ".join(headers)
    rows = []
    for column, nearest, table in unmatched_columns(mapped, headers):
        hint = f"; did you mean {nearest!r} (in {table})?" if nearest else ""
        rows.append({
            "search": "",
            "source_file": shown,
            "source_format": "",
            "source_index": None,
            "source_line": _config_line(config_path, column),
            "severity": "warning",
            "reason": f"ingest.column_map names column {column!r} (-> {mapped[column]}), which is in none of "
                      f"the tables read ({tables}), so it was not used{hint}",
        })
    return rows
