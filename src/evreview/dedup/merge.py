"""From clusters to studies: stable study keys, the kept record, and one merged row per study.

A study key must survive new search rounds, because reviewers' screening decisions refer to
it. It is "s" + the record id (minus its "r") of the cluster's earliest member in (round,
file, position) order, unless a member already had a study id in a previous run; then that
one is kept. The merged row takes each field from the most complete member that has it and
lists every member and source database (PRISMA counts per database).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from evreview.dedup.codes import order_ranks

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
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        # ingest's text columns: one Arrow kernel, a sixth of the time of the general test below,
        # which runs twice per field (completeness and merge_studies): ~2.5 ms of a 1,400-record run
        import pyarrow as pa
        import pyarrow.compute as pc

        return np.asarray(pc.fill_null(pc.equal(pa.array(values.array), ""), True), dtype=bool)
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


def _runs(labels: np.ndarray) -> list[tuple[int, int, int]]:
    """(label, start, end) of each run of equal labels in an array sorted by label."""
    if not len(labels):
        return []
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    ends = np.r_[starts[1:], len(labels)]
    return list(zip(labels[starts].tolist(), starts.tolist(), ends.tolist()))


def completeness(records: pd.DataFrame) -> np.ndarray:
    """Number of filled fields per record, abstracts counted twice (most useful to screeners)."""
    score = np.zeros(len(records), dtype=np.int64)
    for col in MERGE_FIELDS:
        if col in records:
            score += ~_is_empty(records[col])
    if "abstract" in records:
        score += ~_is_empty(records["abstract"])
    return score


def study_id_for(record_id: str) -> str:
    """The study id a cluster whose earliest member is ``record_id`` gets: "s" + the id minus its "r"."""
    return "s" + (record_id[1:] if record_id.startswith("r") else record_id)


def retired_ids(members: Iterable[tuple[str, str]], current: Collection[str]) -> dict[str, str]:
    """Study ids that no longer exist -> the study that now holds their record.

    ``members``: (record_id, study_id) of every record. A study id is "s" + a record id
    (:func:`study_id_for`), so when studies merge (a reviewer's ``same`` in duplicates.csv,
    or a new round's record bridging two) the retired id is found through its record, and
    decisions made on it (screening, codes) follow that record. An id in ``current`` is never
    retired; the first record naming a retired id wins.
    """
    out: dict[str, str] = {}
    for rid, sid in members:
        old = study_id_for(str(rid))
        if old not in current:
            out.setdefault(old, sid)
    return out


def record_order(records: pd.DataFrame, round_order: Sequence[str] | None = None) -> np.ndarray:
    """Rank of every record in (search round, source_file, source_index) order."""
    n = len(records)
    search = records["search"].fillna("").astype(str).tolist() if "search" in records else [""] * n
    files = records["source_file"].fillna("").astype(str).tolist() if "source_file" in records else [""] * n
    index = records["source_index"].to_numpy() if "source_index" in records else np.arange(n)
    return order_ranks(search, files, index, records["record_id"].astype(str).tolist(), round_order)


def assign_study_ids(
    record_ids: np.ndarray, labels: np.ndarray, order: np.ndarray, previous: Mapping[str, str]
) -> tuple[np.ndarray, list[str]]:
    """Study id per record, and notes about previous studies that were merged or split.

    Clusters are visited in order of their earliest member. A cluster keeps the previous
    study id of its earliest member that had one, unless an earlier cluster already took it
    (a previous study split); otherwise it gets "s" + its earliest member's record id.
    """
    # NumPy and plain lists, not a DataFrame sorted and a Series of labels: the same order (the
    # ranks are distinct), 2.2 -> 1.4 ms for 1,400 records
    by_order = np.argsort(np.asarray(order), kind="stable")
    taken: set[str] = set()
    study_of_label: dict[int, str] = {}
    notes: list[str] = []
    members = _groups(np.asarray(labels)[by_order].tolist(), np.asarray(record_ids, dtype=object)[by_order].tolist())
    first_order = list(members)  # label order = earliest member
    # pass 1: previous ids (earliest cluster wins a contested id)
    for label in first_order:
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
    for label in first_order:
        if label in study_of_label:
            continue
        for rid in members[label]:
            candidate = study_id_for(rid)
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
    """Exactly one kept record per study: the most complete, earliest on ties.

    The first of each study's run in (study, most complete, earliest) order, by one NumPy
    lexsort: a DataFrame sort and ``groupby().head(1)`` picked the same rows in 0.9 ms where
    this takes 0.4 ms (1,400 records).
    """
    codes = pd.factorize(np.asarray(study_ids, dtype=object), sort=True)[0]
    ranked = np.lexsort((np.asarray(order), -np.asarray(complete), codes))
    ranked_codes = codes[ranked]
    first = np.r_[True, ranked_codes[1:] != ranked_codes[:-1]] if len(ranked) else np.zeros(0, dtype=bool)
    kept = np.zeros(len(codes), dtype=bool)
    kept[ranked[first]] = True
    return kept


def _object_values(values: pd.Series) -> np.ndarray:
    """The column as an object array, missing values as ``None`` (Arrow strings are slow to index one by one)."""
    out = values.to_numpy(dtype=object)
    if values.dtype != object or values.hasnans:
        out = out.copy()
        out[values.isna().to_numpy()] = None
    return out


def merge_studies(records: pd.DataFrame, study_ids: np.ndarray, kept: np.ndarray, order: np.ndarray,
                  complete: np.ndarray | None = None) -> pd.DataFrame:
    """One row per study: each field from the most complete member that has it.

    ``complete`` is :func:`completeness` of ``records`` when the caller has it already.
    Members are ranked once (kept record first, then most complete, then earliest) and each
    field is picked with NumPy over that ranking: sorting the whole record table (abstracts,
    raw JSON) per call was the slowest step of small runs.
    """
    complete = completeness(records) if complete is None else complete
    records = records.reset_index(drop=True)
    sid = np.asarray(study_ids, dtype=object)
    codes, uniques = pd.factorize(sid, sort=True)  # code order = study_id order
    # rank: (study_id, kept first, most complete, earliest)
    perm = np.lexsort((order, -np.asarray(complete), np.where(kept, -1, 0), codes))
    pcodes = codes[perm]
    n_studies = len(uniques)
    # columns are collected here and framed once (a DataFrame.__setitem__ per field cost more than the picking)
    studies: dict[str, object] = {"study_id": pd.array(list(uniques), dtype="str")}

    def first_per_study(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Study codes with a ranked row where ``mask``, and the position (in ``perm``) of the first one."""
        rows = np.flatnonzero(mask)
        got, first = np.unique(pcodes[rows], return_index=True)
        return got, rows[first]

    for col in MERGE_FIELDS:
        if col not in records:
            studies[col] = pd.Series([None] * n_studies, dtype=object)
            continue
        empty = _is_empty(records[col])[perm]
        if col in ("authors", "keywords"):
            values = records[col].to_numpy(dtype=object)[perm]
            rows = np.flatnonzero(~empty)
            if col == "authors":
                # the longest list; ties: the higher-ranked member
                lengths = np.fromiter((len(v) for v in values[rows]), dtype=np.int64, count=len(rows))
                best = rows[np.lexsort((rows, -lengths, pcodes[rows]))]
                got, first = np.unique(pcodes[best], return_index=True)
                picked: list[list[object]] = [[]] * n_studies  # shared empty list, replaced where a study has authors
                for code, pos in zip(got.tolist(), best[first].tolist()):
                    picked[code] = list(values[pos])
                picked = [v if v else [] for v in picked]
            else:
                # the union of the members' keywords, in rank order (rows are grouped by study)
                picked = [[] for _ in range(n_studies)]
                values_kw = values[rows].tolist()
                for code, start, end in _runs(pcodes[rows]):
                    words = [w for value in values_kw[start:end] for w in value]
                    picked[code] = list(dict.fromkeys(words))
            studies[col] = pd.Series(picked, dtype=object)
        elif col == "abstract":
            values = _object_values(records[col])[perm]
            rows = np.flatnonzero(~empty)
            lengths = np.fromiter((len(str(v)) for v in values[rows]), dtype=np.int64, count=len(rows))
            best = rows[np.lexsort((rows, -lengths, pcodes[rows]))]
            got, first = np.unique(pcodes[best], return_index=True)
            out = np.full(n_studies, "", dtype=object)
            out[got] = values[best[first]]
            studies[col] = pd.Series(out, dtype=object)
        elif col == "year":
            values = records[col].astype("Int64").to_numpy(dtype=object, na_value=None)[perm]
            got, first = first_per_study(~empty)
            out = np.full(n_studies, None, dtype=object)
            out[got] = values[first]
            studies[col] = pd.array(out.tolist(), dtype="Int64")
        else:
            values = _object_values(records[col])[perm]
            got, first = first_per_study(~empty)
            out = np.full(n_studies, "", dtype=object)
            out[got] = values[first]
            studies[col] = pd.Series(out, dtype=object)
    # members in (round, file, position) order; every study has at least one member, so the runs
    # of the sorted codes are the studies in code order
    by_order = np.lexsort((order, codes))
    member_ids = records["record_id"].to_numpy(dtype=object)[by_order].tolist()
    runs = _runs(codes[by_order])
    studies["member_record_ids"] = pd.Series([member_ids[start:end] for _, start, end in runs], dtype=object)
    if "source_database" in records:
        dbs = records["source_database"].to_numpy(dtype=object)[by_order].tolist()
        studies["source_databases"] = pd.Series(
            [sorted({v for v in dbs[start:end] if isinstance(v, str) and v}) for _, start, end in runs], dtype=object)
    else:
        studies["source_databases"] = pd.Series([[] for _ in range(n_studies)], dtype=object)
    studies["n_members"] = np.array([end - start for _, start, end in runs], dtype=np.int64)
    return pd.DataFrame({col: studies[col] for col in STUDY_COLUMNS})
