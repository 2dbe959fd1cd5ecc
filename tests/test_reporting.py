"""The shared table writer and reader (evreview.reporting): the fast CSV writer must give
exactly the bytes pandas' ``to_csv`` gave, for every kind of awkward cell."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evreview.errors import EvreviewError
from evreview.reporting import csv_chunks, csv_ready, read_table, write_csv, write_frame_csv

AWKWARD = [
    "", "plain", "a,b", 'say "hi"', '"', "line\nbreak", "cr\ronly", "crlf\r\n", " lead", "trail ", "=1+2",
    "+44 20", "-1.5", "@user", "\tTab", "é ü 中文 🙂", "\x00nul", "\x1funit sep", "\u2028ls", None, np.nan, "x",
]


def _pandas_csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def _fast_csv(frame: pd.DataFrame, rows: int = 3) -> str:
    chunks = csv_chunks(frame, rows_per_chunk=rows)
    assert chunks is not None, frame.dtypes
    return "".join(chunks)


def _reference_write_csv(frame: pd.DataFrame, path: Path, safe: bool = True) -> None:
    """write_csv as it was before the fast writer: the same preparation, then pandas' to_csv."""
    csv_ready(frame, safe=safe).to_csv(path, index=False, lineterminator="\n")


def _awkward_frame() -> pd.DataFrame:
    n = len(AWKWARD)
    return pd.DataFrame(
        {
            "str": pd.array(AWKWARD, dtype="str"),
            "string": pd.array(AWKWARD, dtype="string"),
            "object": pd.Series(AWKWARD, dtype=object),
            "float": ([0.1, np.nan, 1e16, 1e-5, -0.0, np.inf, -np.inf, 123456789.123, 1 / 3, 2.5, 5e-324, 1e300]
                      + [float(i) for i in range(n - 12)]),
            "float32": np.linspace(0, 1, n, dtype=np.float32),
            "int": np.arange(n) - 5,
            "uint": np.arange(n, dtype=np.uint64) * 2**40,
            "bool": [True, False] * (n // 2),
            "Int64": pd.array([1, None] * (n // 2), dtype="Int64"),
            "boolean": pd.array([True, None] * (n // 2), dtype="boolean"),
            "mixed": pd.Series([1, 2.5, "t", None, [1, 2], (3,), {"a": 1}, np.float64(0.1), np.int64(3), b"by",
                                True, pd.NA, pd.NaT, float("nan"), "=x", ["=a", "b"], ("c",), 0, -1, "", " ", "z"],
                               dtype=object),
        }
    )


def test_fast_csv_gives_pandas_bytes_for_awkward_cells() -> None:
    frame = _awkward_frame()
    for rows in (1, 3, 7, 1000):
        assert _fast_csv(frame, rows) == _pandas_csv(frame)
    assert _fast_csv(frame.head(0)) == _pandas_csv(frame.head(0))  # the header alone
    for col in frame.columns:  # a one-column table quotes an empty cell, so its line is not blank
        assert _fast_csv(frame[[col]]) == _pandas_csv(frame[[col]]), col
    labels = pd.DataFrame({"a,b": [1], 'q"': [2], "n\nl": [3], "": [4]})
    assert _fast_csv(labels) == _pandas_csv(labels)
    assert _fast_csv(pd.DataFrame({"": ["", "a", None]})) == _pandas_csv(pd.DataFrame({"": ["", "a", None]}))


def test_fast_csv_matches_pandas_on_random_text_and_floats() -> None:
    rng = np.random.default_rng(7)
    chars = [*',"\n\r ab=+-@\t\x00é中', "\u2028"]
    for _ in range(200):
        n = int(rng.integers(0, 25))
        text = ["".join(rng.choice(chars, size=int(rng.integers(0, 6)))) for _ in range(n)]
        floats = rng.standard_normal(n) * 10.0 ** rng.integers(-30, 30, size=n)
        floats[rng.random(n) < 0.2] = np.nan
        frame = pd.DataFrame({"t": pd.array(text, dtype="str"), "o": pd.Series(text, dtype=object), "f": floats})
        assert _fast_csv(frame, int(rng.integers(1, 10))) == _pandas_csv(frame)


def test_unsupported_tables_are_left_to_pandas(tmp_path: Path) -> None:
    dated = pd.DataFrame({"when": pd.to_datetime(["2024-01-02", None]), "n": [1, 2]})
    cat = pd.DataFrame({"c": pd.Categorical(["a", "b"])})
    multi = pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")]))
    for frame in (dated, cat, multi, pd.DataFrame({0: [1]}), pd.DataFrame(index=range(2))):
        assert csv_chunks(frame) is None
    for frame in (dated, cat, pd.DataFrame({0: [1]})):
        write_frame_csv(frame, tmp_path / "t.csv")
        assert (tmp_path / "t.csv").read_text(encoding="utf-8") == _pandas_csv(frame)


@pytest.mark.parametrize("safe", [True, False])
def test_write_csv_bytes_equal_the_pandas_writer(tmp_path: Path, safe: bool) -> None:
    """Formula neutralisation, list joining and the writer together: the bytes write_csv wrote before."""
    frame = _awkward_frame()
    frame["lists"] = pd.Series([["=a", "b"], ("c", 1), [], None] * (len(frame) // 4) + [["x"]] * (len(frame) % 4),
                               dtype=object)
    write_csv(frame, tmp_path / "fast.csv", safe=safe)
    _reference_write_csv(frame, tmp_path / "ref.csv", safe=safe)
    assert (tmp_path / "fast.csv").read_bytes() == (tmp_path / "ref.csv").read_bytes()
    if safe:
        text = (tmp_path / "fast.csv").read_text(encoding="utf-8")
        assert "\n'=1+2,'=1+2,'=1+2," in text and ",'@user," in text
        assert "\n=" not in text and ",=" not in text
        assert ",-1.5," in text  # a number keeps its sign


def test_read_table_reads_only_the_columns_asked_for(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": ["001", "002"], "title": ["a", "b"], "abstract": ["x", "y"]})
    frame.to_parquet(tmp_path / "t.parquet")
    frame.to_csv(tmp_path / "t.csv", index=False)
    for name in ("t.parquet", "t.csv"):
        part = read_table(tmp_path / name, columns=("title", "id", "missing"))
        assert list(part.columns) == ["id", "title"]  # the file's order; a missing column is left out
        assert part["id"].tolist() == ["001", "002"]
    assert list(read_table(tmp_path / "t.csv").columns) == ["id", "title", "abstract"]
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(EvreviewError, match="cannot read table"):
        read_table(tmp_path / "bad.parquet", columns=("id",))


@pytest.mark.parametrize("dtype", ["str", "string[pyarrow]", "string[python]", object])
def test_formula_cells_are_found_alike_in_every_text_dtype(dtype: object) -> None:
    """Arrow-backed text is tested with one RE2 pattern: the same cells as ``str.startswith``."""
    from evreview.reporting import _FORMULA_START, _formula_starts

    values = pd.Series(["=1+1", "+x", "-5", "-abc", "@a", "\tt", "\rr", "ok", "", None, " =x", "a=b", "\u2212x"],
                       dtype=dtype)
    expected = values.str.startswith(_FORMULA_START, na=False).to_numpy(dtype=bool)
    assert _formula_starts(values).tolist() == expected.tolist() == [True] * 7 + [False] * 6


def test_write_csv_takes_object_columns_without_text(tmp_path: Path) -> None:
    """Found by running ``evreview dedup`` on damaged exports: maybe_pairs' ``year_a`` held
    years and gaps (object ints and NA, no text), and neutralising formulas stopped with a
    pandas AttributeError traceback ("Can only use .str accessor with string values")."""
    frame = pd.DataFrame(
        {
            "title": ["=HYPERLINK(1)", "Plain"],
            "year": pd.Series([2020, pd.NA], dtype=object),
            "count": pd.Series([1, 2], dtype=object),
        }
    )
    path = tmp_path / "maybe.csv"
    write_csv(frame, path)
    assert path.read_text(encoding="utf-8") == "title,year,count\n'=HYPERLINK(1),2020,1\nPlain,,2\n"
