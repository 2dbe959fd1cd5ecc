"""The ranked worklist as files reviewers can screen in any tool: CSV and RIS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from evreview.reporting import write_csv

WORKLIST_COLUMNS = ("rank", "study_id", "score", "title", "abstract", "year", "journal", "authors", "doi")


def _str(v: Any) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return ""
    return str(v)


def _one_line(text: str) -> str:
    """RIS fields are one line each: fold any line break into a space."""
    return " ".join(text.split())


def to_ris(worklist: pd.DataFrame) -> str:
    """RIS text, one ``TY - JOUR`` record per worklist row in rank order.

    The study_id goes in ``ID`` and the rank and score in ``N1`` so a reviewer's decisions
    made in another tool (Rayyan, Zotero, EndNote) can be keyed back to the study.
    """
    lines: list[str] = []
    for row in worklist.to_dict("records"):
        lines.append("TY  - JOUR")
        lines.append(f"ID  - {_str(row.get('study_id'))}")
        if _str(row.get("title")):
            lines.append(f"TI  - {_one_line(_str(row['title']))}")
        authors = row.get("authors")
        if isinstance(authors, (list, tuple)) or hasattr(authors, "tolist"):
            for a in list(authors):
                lines.append(f"AU  - {_one_line(str(a))}")
        elif _str(authors):
            for a in _str(authors).split(";"):
                if a.strip():
                    lines.append(f"AU  - {a.strip()}")
        if _str(row.get("year")):
            lines.append(f"PY  - {_str(row['year'])}")
        if _str(row.get("journal")):
            lines.append(f"JO  - {_one_line(_str(row['journal']))}")
        if _str(row.get("doi")):
            lines.append(f"DO  - {_str(row['doi'])}")
        if _str(row.get("abstract")):
            lines.append(f"AB  - {_one_line(_str(row['abstract']))}")
        lines.append(f"N1  - evreview rank {_str(row.get('rank'))}; score {_str(row.get('score'))}")
        lines.append("ER  - ")
        lines.append("")
    return "\n".join(lines)


def write_worklist(worklist: pd.DataFrame, csv_path: str | Path, ris_path: str | Path | None = None) -> None:
    """Write the worklist CSV (formula-safe, atomic) and, if asked, the RIS beside it (atomic)."""
    import os

    write_csv(worklist, csv_path)
    if ris_path is not None:
        ris_path = Path(ris_path)
        ris_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = ris_path.with_name(ris_path.name + f".tmp{os.getpid()}")
        tmp.write_text(to_ris(worklist), encoding="utf-8", newline="\n")
        os.replace(tmp, ris_path)
