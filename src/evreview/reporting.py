"""Writing tables that people open: deterministic, atomic, and safe in a spreadsheet.

Titles and abstracts come from outside. A cell starting with ``=``, ``+``, ``-``, ``@`` (or a
tab/CR) is executed as a formula by Excel and LibreOffice (CSV injection), so every CSV we
write prefixes such text cells with a single quote, as OWASP recommends. Numbers keep their
sign.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from evreview.atomic import write_atomically  # also imported from here by the stages

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: The same test as one RE2 pattern (characters as code points, so none needs escaping)
_FORMULA_START_RE2 = "^[" + "".join(f"\\x{{{ord(c):x}}}" for c in _FORMULA_START) + "]"


def neutralise_cell(value: object) -> object:
    """Prefix a text cell that a spreadsheet would run as a formula with ``'``."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``frame`` with every text cell made formula-safe.

    Vectorised: only cells starting with a trigger character go through
    :func:`neutralise_cell` (mapping every cell was the slowest step of writing a large table).
    """
    out = frame.copy()
    for col in out.columns:
        values = out[col]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
            continue
        try:
            hit = _formula_starts(values)
        except AttributeError:
            # an object column holding no text at all (maybe_pairs' years, ints with gaps),
            # where pandas refuses ``.str``: nothing in it can run as a formula
            continue
        if hit.any():
            text = values.astype(object)
            text[hit] = [neutralise_cell(v) for v in text[hit].tolist()]
            out[col] = text
    return out


def _formula_starts(values: pd.Series) -> np.ndarray:
    """Where a text column's cell starts with a formula trigger (:data:`_FORMULA_START`).

    Arrow-backed text is tested with one Arrow kernel: ``str.startswith`` with six prefixes runs
    one per prefix, ~50 microseconds a column however short (most of writing a dozen-row table).
    """
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc

        found = pc.match_substring_regex(pa.array(values.array), _FORMULA_START_RE2)
        return np.asarray(pc.fill_null(found, False), dtype=bool)
    return values.str.startswith(_FORMULA_START, na=False).to_numpy(dtype=bool)


def write_csv(frame: pd.DataFrame, path: str | Path, *, safe: bool = True) -> None:
    """Write ``frame`` as UTF-8 CSV atomically (write a temp file, then rename).

    List cells are joined with ``"; "``. ``safe`` neutralises spreadsheet formulas. The bytes
    are those of ``DataFrame.to_csv(index=False, lineterminator="\\n")``, written by
    :func:`write_frame_csv` (several times faster on large tables).
    """
    flat = csv_ready(frame, safe=safe)
    write_atomically(path, lambda tmp: write_frame_csv(flat, tmp))


def csv_ready(frame: pd.DataFrame, *, safe: bool = True) -> pd.DataFrame:
    """``frame`` as :func:`write_csv` writes it: list cells joined with ``"; "``, and with
    ``safe`` spreadsheet formulas neutralised (a copy; ``frame`` is not changed)."""
    flat = frame.copy()
    for col in flat.columns:
        if flat[col].dtype == object:
            flat[col] = flat[col].map(lambda v: "; ".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
    return neutralise_formulas(flat) if safe else flat


def _probe_quote_chars() -> tuple[str, ...]:
    """The characters that make the standard library's CSV writer quote a field, as pandas
    configures it (minimal quoting, ``"`` doubled, ``"\\n"`` line ends).

    Probed rather than assumed: whether a lone ``\\r`` is quoted has differed between Python
    versions, and the fast writer must quote exactly where ``to_csv`` does.
    """
    found = []
    for ch in (",", '"', "\n", "\r"):
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow([f"a{ch}b", "c"])
        if buf.getvalue() != f"a{ch}b,c\n":
            found.append(ch)
    if found[:3] != [",", '"', "\n"]:  # pragma: no cover - every csv module quotes these
        raise RuntimeError(f"unexpected CSV quoting of {found!r}")
    return tuple(found)


_QUOTE_CR = "\r" in _probe_quote_chars()
#: Rows per piece of text the fast writer builds before writing it (bounds its memory).
_CSV_CHUNK_ROWS = 20_000


def _quoted(cells: list[str]) -> list[str]:
    """Minimal CSV quoting of text cells, as the ``csv`` module does it (``"`` doubled)."""
    if _QUOTE_CR:
        return [
            '"' + c.replace('"', '""') + '"' if ("," in c or '"' in c or "\n" in c or "\r" in c) else c for c in cells
        ]
    return ['"' + c.replace('"', '""') + '"' if ("," in c or '"' in c or "\n" in c) else c for c in cells]


def _csv_cells(values: pd.Series) -> list[str] | None:
    """Each cell of ``values`` as the text ``to_csv`` writes for it (before quoting), or ``None``
    for a dtype this does not mirror (the caller then lets pandas write the table).

    Mirrors ``pandas.core.indexes.base.get_values_for_csv`` with ``na_rep=""`` and no float
    format, followed by the ``csv`` module's ``str()`` of each non-text cell: missing cells are
    empty; NumPy floats are ``astype(str)``; integers, booleans and objects are ``str()``.
    """
    dtype = values.dtype
    if isinstance(dtype, np.dtype):
        if dtype.kind == "f":
            arr = values.to_numpy()
            text = arr.astype(str).astype(object)
            text[np.isnan(arr)] = ""
            return text.tolist()
        if dtype.kind in "iub":
            return list(map(str, values.tolist()))
        if dtype.kind == "O":
            arr = values.to_numpy()
            cells = [v if isinstance(v, str) else str(v) for v in arr.tolist()]
            for i in np.flatnonzero(pd.isna(arr)).tolist():
                cells[i] = ""
            return cells
        return None
    if isinstance(dtype, pd.StringDtype):
        return values.to_numpy(dtype=object, na_value="").tolist()
    if _nullable_int_or_bool(dtype):
        arr = np.asarray(values.array.astype(object))
        cells = list(map(str, arr.tolist()))
        for i in np.flatnonzero(values.isna().to_numpy()).tolist():
            cells[i] = ""
        return cells
    return None


def _nullable_int_or_bool(dtype: object) -> bool:
    """A pandas extension dtype of integers or booleans (``Int64``, ``boolean``, Arrow ints):
    ``to_csv`` writes ``str()`` of each value and nothing for a missing one."""
    return (
        isinstance(dtype, pd.api.extensions.ExtensionDtype)
        and not isinstance(dtype, pd.SparseDtype)
        and dtype.kind in "iub"
    )


def csv_chunks(frame: pd.DataFrame, rows_per_chunk: int = _CSV_CHUNK_ROWS) -> Iterator[str] | None:
    """The text of ``frame.to_csv(index=False, lineterminator="\\n")`` in pieces, built column
    by column; ``None`` when the table has something this does not mirror (then use pandas).

    Why: ``to_csv`` hands every row to the ``csv`` module, which looks at each character in
    turn; a 160k-row worklist with abstracts took 3 s. Here each column becomes a list of
    strings, only cells holding ``,``, ``"`` or a line break are quoted (found with ``in``), and
    rows are joined with ``str.join``. What is supported: string labels, no MultiIndex, and
    NumPy bool/int/float/object, pandas string, nullable integer and boolean columns.
    """
    labels = list(frame.columns)
    if not labels or isinstance(frame.columns, pd.MultiIndex) or not all(isinstance(c, str) for c in labels):
        return None
    for dtype in frame.dtypes:
        numpy_ok = isinstance(dtype, np.dtype) and dtype.kind in "iufbO"
        if not (numpy_ok or isinstance(dtype, pd.StringDtype) or _nullable_int_or_bool(dtype)):
            return None
    single = len(labels) == 1

    def row_text(cells: list[str]) -> str:
        # the csv module quotes a record's only field when it is empty, so the line is not blank
        return '""' if single and cells == [""] else ",".join(cells)

    def pieces() -> Iterator[str]:
        yield row_text(_quoted(labels)) + "\n"
        for start in range(0, len(frame), rows_per_chunk):
            part = frame if len(frame) <= rows_per_chunk else frame.iloc[start : start + rows_per_chunk]
            # items(), not iloc[:, j]: the same columns (duplicate labels too) without iloc's
            # indexing overhead per column, most of writing a small table
            columns = [_quoted(_csv_cells(values)) for _, values in part.items()]  # type: ignore[arg-type]
            if single:
                lines = ['""' if c == "" else c for c in columns[0]]
            else:
                lines = list(map(",".join, zip(*columns)))
            yield "\n".join(lines) + "\n"

    return pieces()


def write_frame_csv(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` exactly as ``frame.to_csv(path, index=False, lineterminator="\\n")`` would
    (UTF-8), with :func:`csv_chunks` when it mirrors the table, else with pandas."""
    chunks = csv_chunks(frame)
    if chunks is None:
        frame.to_csv(path, index=False, lineterminator="\n")
        return
    with open(path, "w", encoding="utf-8", newline="") as fh:
        for text in chunks:
            fh.write(text)


def read_table(path: str | Path, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """Read a stage's table (.parquet, else CSV as text), or a clear error naming the file.

    CSV cells stay strings (no NaN, no type guessing), so ids such as ``00123`` survive.
    ``columns``: read only these (in the file's order); one the file lacks is left out, so the
    caller fails on it as it would on the whole table. Abstracts, URLs and raw records are most
    of a large table's bytes, and a stage that needs ids should not parse them.
    """
    from evreview.errors import EvreviewError

    path = Path(path)
    if not path.exists():
        raise EvreviewError("file not found", path=path)
    wanted = None if columns is None else set(columns)
    try:
        if path.suffix.lower() == ".parquet":
            if wanted is None:
                return pd.read_parquet(path)
            import pyarrow.parquet as pq

            return pd.read_parquet(path, columns=[c for c in pq.read_schema(path).names if c in wanted])
        usecols = None if wanted is None else wanted.__contains__
        return pd.read_csv(path, dtype=str, keep_default_na=False, usecols=usecols)
    except Exception as exc:  # pyarrow/pandas raise many types for a corrupt file: the user's file
        raise EvreviewError(f"cannot read table: {exc}", path=path) from exc


def write_parquet(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` as Parquet atomically, with the run provenance in its schema metadata.

    Atomic (temporary file + rename) so a killed job never leaves a half-written table that a
    re-run would trust; the provenance (:mod:`evreview.provenance`) lets a table found on its
    own be traced to the evreview version, config and inputs that made it.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from evreview.provenance import parquet_metadata

    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **parquet_metadata()})
    write_atomically(path, lambda tmp: pq.write_table(table, tmp))
