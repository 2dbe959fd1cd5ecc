"""Writing tables that people open: deterministic, atomic, and safe in a spreadsheet.

Titles and abstracts come from outside. A cell starting with ``=``, ``+``, ``-``, ``@`` (or a
tab/CR) is executed as a formula by Excel and LibreOffice (CSV injection), so every CSV we
write prefixes such text cells with a single quote, as OWASP recommends. Numbers keep their
sign.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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
        hit = values.str.startswith(_FORMULA_START, na=False).to_numpy(dtype=bool)
        if hit.any():
            text = values.astype(object)
            text[hit] = [neutralise_cell(v) for v in text[hit].tolist()]
            out[col] = text
    return out


def write_atomically(path: str | Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place.

    A killed job never leaves a half-written file that a re-run would trust, and a reader
    never sees one. The temporary name ends in ``.tmp<pid>``; it is removed if ``write`` fails.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_csv(frame: pd.DataFrame, path: str | Path, *, safe: bool = True) -> None:
    """Write ``frame`` as UTF-8 CSV atomically (write a temp file, then rename).

    List cells are joined with ``"; "``. ``safe`` neutralises spreadsheet formulas.
    """
    flat = frame.copy()
    for col in flat.columns:
        if flat[col].dtype == object:
            flat[col] = flat[col].map(lambda v: "; ".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
    if safe:
        flat = neutralise_formulas(flat)
    write_atomically(path, lambda tmp: flat.to_csv(tmp, index=False, lineterminator="\n"))


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a stage's table (.parquet, else CSV as text), or a clear error naming the file.

    CSV cells stay strings (no NaN, no type guessing), so ids such as ``00123`` survive.
    """
    from evreview.errors import EvreviewError

    path = Path(path)
    if not path.exists():
        raise EvreviewError("file not found", path=path)
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=str, keep_default_na=False)
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
