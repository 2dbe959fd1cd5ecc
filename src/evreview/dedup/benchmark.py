"""Labelled deduplication sets: loading them as record tables and scoring a clustering.

Used by ``benchmarks/dedup_benchmark.py`` and the shared-data tests. The labelled sets are
bib-dedupe style CSVs (``records_pre_merged.csv`` with an ``ID`` column, BibTeX-like field
names, ``author`` joined with " and "); :func:`records_from_bib_csv` maps them onto the
record schema with the shared normalisers, as a stop-gap until the generic CSV reader lands.
Scores follow the README of the benchmark folder: record-level sensitivity/specificity in the
ASySD / bib-dedupe removal convention, pairwise precision/recall/F1, and lost entities. Sets
labelled only by a per-record flag (EndNote XML libraries whose ``<caption>`` reads
"Duplicate" on every member of a duplicate set, the SRA convention) are scored by
:func:`score_flags`: they say which records have a duplicate, not which one.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from evreview.records import RECORD_COLUMNS, finalise_record, make_record_id

#: bib-dedupe CSV column -> record field
BIB_FIELDS = {
    "ID": "source_id", "title": "title", "year": "year", "author": "authors", "pages": "pages",
    "volume": "volume", "number": "issue", "journal": "journal", "doi": "doi", "abstract": "abstract",
    "isbn": "isbn", "ENTRYTYPE": "doc_type", "url": "url", "language": "language",
}


def _split_authors(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and value != value):
        return []
    text = str(value)
    parts = text.split(" and ") if " and " in text else text.split(";")
    return [p.strip() for p in parts if p.strip()]


def bib_row_to_fields(row: Mapping[str, Any], ignore_issue: bool = False) -> dict[str, Any]:
    """One bib-dedupe style row as a normalised record dict (see :data:`BIB_FIELDS`)."""
    fields: dict[str, Any] = {}
    for column, target in BIB_FIELDS.items():
        value = row.get(column)
        if value is None or (isinstance(value, float) and value != value) or value == "UNKNOWN":
            continue
        fields[target] = _split_authors(value) if target == "authors" else value
    if not fields.get("journal") and row.get("booktitle") not in (None, "", "UNKNOWN"):
        booktitle = row.get("booktitle")
        if isinstance(booktitle, str):
            fields["journal"] = booktitle
    if ignore_issue:
        fields.pop("issue", None)
    return finalise_record(fields)


def records_from_bib_csv(path: str | Path, *, search: str = "", ignore_issue: bool | None = None) -> pd.DataFrame:
    """A record table from a bib-dedupe ``records_pre_merged.csv`` (``source_id`` = its ``ID``).

    In the SRA sets the ``number`` column is an EndNote record counter, not an issue, so it
    is dropped when ``ignore_issue`` is true (default: when the file name says respiratory).
    """
    path = Path(path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if ignore_issue is None:
        ignore_issue = "respiratory" in str(path)
    shown = path.as_posix()
    rows = []
    for index, row in enumerate(frame.to_dict("records")):
        fields = bib_row_to_fields({k: (v if v != "" else None) for k, v in row.items()}, ignore_issue)
        fields.update(
            record_id=make_record_id(search, shown, index), search=search, source_file=shown,
            source_format="bib_csv", source_index=index, source_line=index + 2,
            raw=json.dumps(row, ensure_ascii=False, sort_keys=True),
        )
        fields.setdefault("source_database", "")
        rows.append(fields)
    out = pd.DataFrame.from_records(rows, columns=list(RECORD_COLUMNS))
    out["year"] = out["year"].astype("Int64")
    out["source_index"] = out["source_index"].astype("int64")
    out["source_line"] = out["source_line"].astype("Int64")
    return out


def pair_case_records(case: Mapping[str, Any]) -> pd.DataFrame:
    """The two records of one bib-dedupe curated pair case (``record_a``, ``record_b``) as a table."""
    rows = []
    for n, rec in enumerate((case["record_a"], case["record_b"])):
        fields = bib_row_to_fields({k: v for k, v in rec.items() if isinstance(v, str)})
        fields.update(record_id=make_record_id("", case["id"], n), search="", source_file=case["id"], source_index=n)
        rows.append(fields)
    return pd.DataFrame(rows)


def gold_clusters(ids: pd.Series, groups_csv: str | Path) -> pd.Series:
    """Gold cluster label per source id: the group index, or a singleton label."""
    groups = pd.read_csv(groups_csv, dtype=str)
    gold = {i: f"g{g}" for g, merged in enumerate(groups["merged_ids"]) for i in merged.split(";")}
    return ids.map(lambda i: gold.get(i, f"single_{i}"))


@dataclass
class Scores:
    """Benchmark figures of one predicted clustering against gold groups."""

    records: int
    tp: int
    fp: int
    tn: int
    fn: int
    sensitivity: float
    specificity: float
    pair_precision: float
    pair_recall: float
    pair_f1: float
    gold_pairs: int
    predicted_pairs: int
    lost_entities: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pairs_count(sizes: pd.Series) -> int:
    return int((sizes * (sizes - 1) // 2).sum())


def score_clustering(gold: pd.Series, predicted: pd.Series, kept: pd.Series) -> Scores:
    """Score a clustering (same index for the three series; ``kept`` bool per record).

    Record level, removal convention: per gold group of size n with k kept records, k == 0
    is 1 FP (the entity is lost) and n-1 TP, else 1 TN, k-1 FN and n-k TP.
    """
    frame = pd.DataFrame({"gold": gold.to_numpy(), "pred": predicted.to_numpy(), "kept": kept.to_numpy(bool)})
    per_group = frame.groupby("gold")["kept"].agg(["size", "sum"])
    n, k = per_group["size"], per_group["sum"]
    lost = k == 0
    tp = int((n[lost] - 1).sum() + (n[~lost] - k[~lost]).sum())
    fp = int(lost.sum())
    tn = int((~lost).sum())
    fn = int((k[~lost] - 1).sum())
    gold_pairs = _pairs_count(frame.groupby("gold").size())
    pred_pairs = _pairs_count(frame.groupby("pred").size())
    both = _pairs_count(frame.groupby(["gold", "pred"]).size())
    precision = both / pred_pairs if pred_pairs else 1.0
    recall = both / gold_pairs if gold_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(
        records=len(frame), tp=tp, fp=fp, tn=tn, fn=fn,
        sensitivity=tp / (tp + fn) if tp + fn else 1.0,
        specificity=tn / (tn + fp) if tn + fp else 1.0,
        pair_precision=precision, pair_recall=recall, pair_f1=f1,
        gold_pairs=gold_pairs, predicted_pairs=pred_pairs, lost_entities=fp,
    )


def caption_flags(xml_path: str | Path) -> list[bool]:
    """Per ``<record>`` of an EndNote XML library, in file order: whether its caption is "Duplicate".

    The order is the reader's ``source_index`` order, so flags and records line up by position.
    """
    flags = []
    for _, element in ET.iterparse(str(xml_path)):
        if element.tag == "record":
            caption = element.find("caption")
            flags.append(caption is not None and "".join(caption.itertext()).strip() == "Duplicate")
            element.clear()
    return flags


@dataclass
class FlagScores:
    """A clustering against per-record duplicate flags (SRA convention: every member is flagged).

    ``sensitivity`` is the share of flagged records put in a study with another record;
    ``grouped_unflagged`` counts records grouped although unflagged: false merges, or
    duplicates the labellers missed, to be looked at by hand (there is no gold grouping).
    """

    records: int
    flagged: int
    grouped: int
    flagged_grouped: int
    flagged_alone: int
    grouped_unflagged: int
    studies: int
    sensitivity: float
    specificity: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_flags(flags: Sequence[bool], study_ids: Sequence[str]) -> FlagScores:
    """Score study ids (one per record, in the flags' order) against per-record duplicate flags."""
    if len(flags) != len(study_ids):
        raise ValueError(f"{len(flags)} flags for {len(study_ids)} records")
    frame = pd.DataFrame({"flag": list(flags), "study": list(study_ids)})
    grouped = frame.groupby("study")["study"].transform("size").to_numpy() > 1
    flag = frame["flag"].to_numpy(bool)
    n_flagged, n_unflagged = int(flag.sum()), int((~flag).sum())
    hit = int((flag & grouped).sum())
    wrong = int((~flag & grouped).sum())
    return FlagScores(
        records=len(frame), flagged=n_flagged, grouped=int(grouped.sum()), flagged_grouped=hit,
        flagged_alone=n_flagged - hit, grouped_unflagged=wrong, studies=int(frame["study"].nunique()),
        sensitivity=hit / n_flagged if n_flagged else 1.0,
        specificity=(n_unflagged - wrong) / n_unflagged if n_unflagged else 1.0,
    )
