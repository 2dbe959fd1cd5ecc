"""The code stage: included studies -> codebook codes, topics, and the audit trail.

``code_studies`` (pure, returns :class:`CodingResult`) and :func:`write_coding` (I/O) are the
entry points the Snakemake rules and ``evreview code`` call; see :mod:`evreview.code.assign`.
"""

from __future__ import annotations

from pathlib import Path

from evreview.code.assign import ASSIGNMENT_COLUMNS, CodingResult, code_studies
from evreview.code.codebook import Codebook, load_codebook
from evreview.code.decisions import read_code_decisions

__all__ = [
    "ASSIGNMENT_COLUMNS",
    "Codebook",
    "CodingResult",
    "code_studies",
    "load_codebook",
    "read_code_decisions",
    "write_coding",
]


def write_coding(result: CodingResult, out_dir: str | Path, *, save_model: bool = True) -> list[Path]:
    """Write ``coded_records``, ``assignments`` (CSV + Parquet), ``topics``, ``topics_over_time``,
    ``unmatched_decisions`` CSVs and the topic model folder; returns the paths written."""
    from evreview.code.topics import save_topic_model
    from evreview.reporting import write_csv, write_parquet

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, frame in (("coded_records", result.coded), ("assignments", result.assignments)):
        write_csv(frame, out / f"{name}.csv")
        write_parquet(frame, out / f"{name}.parquet")
        written += [out / f"{name}.csv", out / f"{name}.parquet"]
    for name, frame in (
        ("topics", result.topics),
        ("topics_over_time", result.topics_over_time),
        ("unmatched_decisions", result.unmatched_decisions),
    ):
        write_csv(frame, out / f"{name}.csv")
        written.append(out / f"{name}.csv")
    if save_model and result.topic_result is not None:
        save_topic_model(
            result.topic_result,
            out / "topic_model",
            model_id=str(result.stats.get("model_id", "")),
            codebook_version=str(result.stats.get("codebook_version", "")),
        )
        written.append(out / "topic_model")
    return written
