"""From clusters to studies: stable study keys, the kept record, and one merged row per study.

A study key must survive new search rounds, because reviewers' screening decisions refer to
it. It is "s" + the record id (minus its "r") of the cluster's earliest member in (round,
file, position) order, unless a member already had a study id in a previous run; then that
one is kept. The merged row takes each field from the most complete member that has it and
lists every member and source database (PRISMA counts per database).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

#: Fields merged into the study row (first non-empty value, most complete member first).
MERGE_FIELDS = (
    "title", "abstract", "authors", "year", "journal", "volume", "issue", "pages", "doi", "pmid",
    "issn", "isbn", "keywords", "language", "doc_type", "url",
)
STUDY_COLUMNS = ("study_id", *MERGE_FIELDS, "member_record_ids", "source_databases", "n_members")


def _is_empty(values: pd.Series) -> np.ndarray:
    """True where a field is missing: None/NaN, empty text or an empty list."""
    if values.dtype == object:
        sample = next((v for v in values.tolist() if v is not None and not isinstance(v, (str, float))), None)
        if sample is not None:  # lists (or arrays from Parquet)
            return np.fromiter(
                (v is None or (isinstance(v, float) and v != v) or len(v) == 0 for v in values.tolist()),
                dtype=bool, count=len(values),
            )
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.isna().to_numpy()
    return (values.isna() | (values.astype(str) == "")).to_numpy(dtype=bool)


def _groups(labels: list[str], values: list[object]) -> dict[str, list[object]]:
    """labels (already sorted) -> their values in order, in one pass."""
    out: dict[str, list[object]] = {}
    for label, value in zip(labels, values):
        bucket = out.get(label)
        if bucket is None:
            out[label] = [value]
        else:
            bucket.append(value)
    return out


def completeness(records: pd.DataFrame) -> np.ndarray:
    """Number of filled fields per record, abstracts counted twice (most useful to screeners)."""
    score = np.zeros(len(records), dtype=np.int64)
    for col in MERGE_FIELDS:
        if col in records:
            score += ~_is_empty(records[col])
    if "abstract" in records:
        score += ~_is_empty(records["abstract"])
    return score


def record_order(records: pd.DataFrame, round_order: Sequence[str] | None = None) -> np.ndarray:
    """Rank of every record in (search round, source_file, source_index) order."""
    search = records["search"].fillna("").astype(str) if "search" in records else pd.Series("", index=records.index)
    rounds = list(round_order) if round_order else sorted(set(search))
    rank = {name: pos for pos, name in enumerate(rounds)}
    round_rank = search.map(lambda s: rank.get(s, len(rounds))).to_numpy()
    files = (records["source_file"].fillna("").astype(str).to_numpy() if "source_file" in records
             else np.zeros(len(records)))
    index = records["source_index"].to_numpy() if "source_index" in records else np.arange(len(records))
    order = np.lexsort((records["record_id"].astype(str).to_numpy(), index, files, round_rank))
    ranks = np.empty(len(records), dtype=np.int64)
    ranks[order] = np.arange(len(records))
    return ranks


def assign_study_ids(
    record_ids: np.ndarray, labels: np.ndarray, order: np.ndarray, previous: Mapping[str, str]
) -> tuple[np.ndarray, list[str]]:
    """Study id per record, and notes about previous studies that were merged or split.

    Clusters are visited in order of their earliest member. A cluster keeps the previous
    study id of its earliest member that had one, unless an earlier cluster already took it
    (a previous study split); otherwise it gets "s" + its earliest member's record id.
    """
    frame = pd.DataFrame({"rid": record_ids, "label": labels, "order": order}).sort_values("order")
    taken: set[str] = set()
    study_of_label: dict[int, str] = {}
    notes: list[str] = []
    members = _groups(frame["label"].tolist(), frame["rid"].tolist())  # label order = earliest member
    first_order = pd.Series(np.arange(len(members)), index=list(members))
    # pass 1: previous ids (earliest cluster wins a contested id)
    for label in first_order.index:
        olds = [previous[r] for r in members[label] if r in previous]
        distinct = list(dict.fromkeys(olds))
        for old in distinct:
            if old not in taken:
                study_of_label[label] = old
                taken.add(old)
                break
        if len(distinct) > 1:
            notes.append(f"previous studies {', '.join(distinct)} merged into {study_of_label.get(label, '?')}")
    # pass 2: fresh ids
    for label in first_order.index:
        if label in study_of_label:
            continue
        for rid in members[label]:
            candidate = "s" + (rid[1:] if rid.startswith("r") else rid)
            if candidate not in taken:
                break
        study_of_label[label] = candidate
        taken.add(candidate)
        olds = sorted({previous[r] for r in members[label] if r in previous})
        if olds:
            notes.append(f"previous study {', '.join(olds)} split: its records here form new study {candidate}")
    out = np.array([study_of_label[int(label)] for label in labels], dtype=object)
    return out, notes


def choose_kept(study_ids: np.ndarray, complete: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Exactly one kept record per study: the most complete, earliest on ties."""
    frame = pd.DataFrame({"study": study_ids, "neg": -complete, "order": order})
    best = frame.sort_values(["study", "neg", "order"]).groupby("study", sort=False).head(1).index
    kept = np.zeros(len(frame), dtype=bool)
    kept[best.to_numpy()] = True
    return kept


def merge_studies(records: pd.DataFrame, study_ids: np.ndarray, kept: np.ndarray, order: np.ndarray,
                  complete: np.ndarray | None = None) -> pd.DataFrame:
    """One row per study: each field from the most complete member that has it.

    ``complete`` is :func:`completeness` of ``records`` when the caller has it already.
    """
    complete = completeness(records) if complete is None else complete
    frame = records.reset_index(drop=True).copy()
    frame["study_id"] = study_ids
    frame["_rank"] = np.where(kept, -1, 0)
    frame["_neg"] = -complete
    frame["_order"] = order
    frame = frame.sort_values(["study_id", "_rank", "_neg", "_order"], kind="stable")
    studies = pd.DataFrame({"study_id": frame["study_id"].drop_duplicates().to_numpy()})
    for col in MERGE_FIELDS:
        if col not in frame:
            studies[col] = None
            continue
        empty = _is_empty(frame[col])
        if col in ("authors", "keywords"):
            # lists: the longest list (authors) / union in member order (keywords)
            sub = frame.loc[~empty, ["study_id", col]]
            if col == "authors":
                sub = sub.assign(_n=-sub[col].map(len)).sort_values(["study_id", "_n"], kind="stable")
                pick = sub.groupby("study_id", sort=False)[col].first()
            else:
                grouped = _groups(sub["study_id"].tolist(), sub[col].tolist())
                pick = pd.Series({k: list(dict.fromkeys(x for v in vs for x in v)) for k, vs in grouped.items()},
                                 dtype=object)
            picked_lists = studies["study_id"].map(pick)
            studies[col] = picked_lists.map(lambda v: list(v) if isinstance(v, (list, np.ndarray)) else [])
        elif col == "abstract":
            sub = frame.loc[~empty, ["study_id", col]]
            sub = sub.assign(_n=-sub[col].str.len()).sort_values(["study_id", "_n"], kind="stable")
            picked = studies["study_id"].map(sub.groupby("study_id", sort=False)[col].first())
            studies[col] = picked.astype(object).where(picked.notna(), "")
        else:
            sub = frame.loc[~empty, ["study_id", col]]
            picked = studies["study_id"].map(sub.groupby("study_id", sort=False)[col].first())
            studies[col] = (picked.astype("Int64") if col == "year"
                            else picked.astype(object).where(picked.notna(), ""))
    by_order = frame.sort_values(["study_id", "_order"], kind="stable")
    labels = by_order["study_id"].tolist()
    members = _groups(labels, by_order["record_id"].tolist())
    studies["member_record_ids"] = [members[sid] for sid in studies["study_id"].tolist()]
    if "source_database" in by_order:
        dbs = _groups(labels, by_order["source_database"].tolist())
        studies["source_databases"] = [
            sorted({str(v) for v in dbs[sid] if isinstance(v, str) and v}) for sid in studies["study_id"].tolist()
        ]
    else:
        studies["source_databases"] = [[] for _ in range(len(studies))]
    studies["n_members"] = studies["member_record_ids"].map(len).astype("int64")
    return studies.loc[:, list(STUDY_COLUMNS)].sort_values("study_id", kind="stable").reset_index(drop=True)
