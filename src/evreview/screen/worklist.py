"""The ranked worklist as files reviewers can screen in any tool: CSV and RIS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evreview.reporting import write_atomically, write_csv

WORKLIST_COLUMNS = ("rank", "study_id", "score", "title", "abstract", "year", "journal", "authors", "doi")


def _str(v: Any) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return ""
    return str(v)


def _one_line(text: str) -> str:
    """RIS fields are one line each: fold any line break into a space."""
    return " ".join(text.split())


def _texts(values: list[Any]) -> list[str]:
    """:func:`_str` over a column, strings passed through as they are (the common case)."""
    return [v if type(v) is str else _str(v) for v in values]


def to_ris(worklist: pd.DataFrame) -> str:
    """RIS text, one ``TY - JOUR`` record per worklist row in rank order.

    The study_id goes in ``ID`` and the rank and score in ``N1`` so a reviewer's decisions
    made in another tool (Rayyan, Zotero, EndNote) can be keyed back to the study. Works on
    whole columns (per-row pandas access cost 19 s on 158k rows).
    """
    n = len(worklist)

    def col(name: str) -> list[Any]:
        return worklist[name].tolist() if name in worklist.columns else [None] * n

    ids, years, dois = _texts(col("study_id")), _texts(col("year")), _texts(col("doi"))
    titles, journals, abstracts = _texts(col("title")), _texts(col("journal")), _texts(col("abstract"))
    # records are separated by a blank line (the earlier writer joined lines ending each record with "")
    notes = [f"N1  - evreview rank {_str(r)}; score {_str(sc)}\nER  - \n\n" for r, sc in zip(col("rank"), col("score"))]
    chunks: list[str] = []
    add = chunks.append
    for sid, title, authors, year, journal, doi, abstract, note in zip(
        ids, titles, col("authors"), years, journals, dois, abstracts, notes
    ):
        add(f"TY  - JOUR\nID  - {sid}\n")
        if title:
            add(f"TI  - {_one_line(title)}\n")
        if isinstance(authors, (list, tuple)) or hasattr(authors, "tolist"):
            for a in list(authors):
                add(f"AU  - {_one_line(str(a))}\n")
        elif _str(authors):
            for a in _str(authors).split(";"):
                if a.strip():
                    add(f"AU  - {a.strip()}\n")
        if year:
            add(f"PY  - {year}\n")
        if journal:
            add(f"JO  - {_one_line(journal)}\n")
        if doi:
            add(f"DO  - {doi}\n")
        if abstract:
            add(f"AB  - {_one_line(abstract)}\n")
        add(note)
    return "".join(chunks)[:-1] if chunks else ""


def joined_lists(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with list cells (lists, tuples, NumPy arrays from Parquet) joined by ``"; "``.

    Why here: :func:`evreview.reporting.write_csv` joins lists and tuples but not the arrays
    Parquet gives back, which pandas would write as a NumPy repr (``['a' 'b']``), slowly.
    """
    out = frame.copy(deep=False)
    for name in out.columns:
        if out[name].dtype != object:
            continue
        values = out[name].tolist()
        if any(isinstance(v, (list, tuple, np.ndarray)) for v in values):
            out[name] = ["; ".join(map(str, v)) if isinstance(v, (list, tuple, np.ndarray)) else v for v in values]
    return out


def write_worklist(worklist: pd.DataFrame, csv_path: str | Path, ris_path: str | Path | None = None) -> None:
    """Write the worklist CSV (formula-safe, atomic, lists joined by "; ") and, if asked, the RIS beside it."""
    write_csv(joined_lists(worklist), csv_path)
    if ris_path is not None:
        text = to_ris(worklist)
        write_atomically(ris_path, lambda tmp: tmp.write_text(text, encoding="utf-8", newline="\n"))
