"""The record ledger: one row per ingested record with its fate at every stage.

Every count downstream (PRISMA boxes, the run report, the map's totals) is computed from
this one table, so they reconcile by construction; :func:`check_ledger` verifies the
invariants that make that true (each record has exactly one fate; each study exactly one
kept record).

Fates, in pipeline order:

``unparsed``
    found in an export but could not be parsed (listed in the ingest problems, with reason)
``duplicate``
    a further copy of a study; ``duplicate_of`` names the kept record
``excluded_automation``
    the kept record of a study excluded by an eligibility rule (``screen_reason`` = rule)
``excluded_reviewer`` / ``excluded_machine``
    excluded at title/abstract screening by a reviewer / by the model above its threshold
``maybe``, ``undecided``
    still waiting for a reviewer
``included``
    included (by a reviewer, or by the model when config allows: ``screen_decided_by``)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evreview.records import UNKNOWN_DATABASE, make_record_id

LEDGER_COLUMNS: tuple[str, ...] = (
    "record_id",
    "search",
    "source_file",
    "source_database",
    "source_index",
    "study_id",
    "kept",
    "duplicate_of",
    "screen_status",
    "screen_decided_by",
    "screen_reason",
    "coded",
    "fate",
)

FATES: tuple[str, ...] = (
    "unparsed",
    "duplicate",
    "excluded_automation",
    "excluded_reviewer",
    "excluded_machine",
    "maybe",
    "undecided",
    "included",
)

_SCREEN_FATE = {
    ("excluded", "rule"): "excluded_automation",
    ("excluded", "reviewer"): "excluded_reviewer",
    ("excluded", "machine"): "excluded_machine",
    ("included", "reviewer"): "included",
    ("included", "machine"): "included",
    ("maybe", "reviewer"): "maybe",
}


class LedgerError(ValueError):
    """The stage outputs disagree (a bug or a stale intermediate file), never a user error."""


@dataclass(frozen=True)
class StageTables:
    """The stage outputs the ledger is built from; later stages may be absent (``None``).

    ``records``: the ingested record table; ``problems``: ingest problems (errors are the
    unparsed records); ``duplicates``: dedup's per-record table (record_id, study_id, kept);
    ``screening``: one row per study (study_id, status, decided_by, reason);
    ``coded``: study ids that received codes (a ``study_id`` column).
    """

    records: pd.DataFrame
    problems: pd.DataFrame | None = None
    duplicates: pd.DataFrame | None = None
    screening: pd.DataFrame | None = None
    coded: pd.DataFrame | None = None


def _unparsed_rows(problems: pd.DataFrame | None, databases: dict[str, str]) -> pd.DataFrame:
    if problems is None or not len(problems):
        return pd.DataFrame(columns=list(LEDGER_COLUMNS))
    errors = problems[problems["severity"].astype(str) == "error"].reset_index(drop=True)
    rows = []
    for i, row in errors.iterrows():
        search = str(row.get("search", "") or "")
        source_file = str(row["source_file"])
        index = row.get("source_index")
        position = f"unparsed:{index if pd.notna(index) and str(index) != '' else f'#{i}'}"
        rows.append(
            {
                "record_id": make_record_id(search, source_file, position),  # type: ignore[arg-type]
                "search": search,
                "source_file": source_file,
                "source_database": databases.get(source_file, ""),
                "source_index": -1,
                "fate": "unparsed",
            }
        )
    return pd.DataFrame(rows, columns=list(LEDGER_COLUMNS))


def build_ledger(tables: StageTables) -> pd.DataFrame:
    """One row per ingested record (and per unparsed record) with its fate.

    Stages not run yet leave their columns empty and records ``undecided`` (or, before
    deduplication, every record counts as its own kept study).

    The stage tables are joined by index look-ups (:func:`lookup_rows`), not merges: the same
    left joins, without copying every column of the growing table at each one. The record
    table's text columns stay pandas strings (Arrow) throughout, as the ledger returns them.
    """
    rec = tables.records
    ledger = pd.DataFrame(
        {
            "record_id": rec["record_id"].astype("str"),
            "search": rec["search"].astype("str"),
            "source_file": rec["source_file"].astype("str"),
            "source_database": rec["source_database"].astype("str"),
            "source_index": rec["source_index"].astype("int64"),
        }
    )
    if ledger["record_id"].duplicated().any():
        dup = ledger.loc[ledger["record_id"].duplicated(), "record_id"].iloc[0]
        raise LedgerError(f"record_id {dup} occurs twice in the record table")

    if tables.duplicates is not None:
        dups = plain_strings(tables.duplicates[["record_id", "study_id", "kept"]])
        dups["record_id"] = as_text(dups["record_id"])
        rows = lookup_rows(ledger["record_id"], dups["record_id"])
        found = rows >= 0 if rows is not None else ledger["record_id"].isin(dups["record_id"]).to_numpy()
        missing = ledger["record_id"][~found]
        if len(missing):  # record ids are unique (checked above): one row per missing id
            raise LedgerError(f"{len(missing)} ingested records missing from the dedup output, e.g. {min(missing)}")
        if rows is None:  # a record listed twice: which study it is in cannot be told
            raise LedgerError("a record_id occurs more than once in the dedup output")
        ledger["study_id"] = _take(dups["study_id"], rows)
        ledger["kept"] = _truthy(pd.Series(_take(dups["kept"], rows), index=ledger.index))
    else:
        ledger["study_id"] = "s" + ledger["record_id"].str[1:]
        ledger["kept"] = True
    kept = ledger["kept"].to_numpy(dtype=bool)
    kept_of = lookup_rows(ledger["study_id"], ledger["study_id"][kept])
    if kept_of is None:
        raise LedgerError("a study has more than one kept record")
    if (kept_of < 0).any():
        raise LedgerError("a study has no kept record")
    duplicate_of = ledger["record_id"].to_numpy(dtype=object)[np.flatnonzero(kept)[kept_of]]
    duplicate_of[kept] = ""
    ledger["duplicate_of"] = duplicate_of

    if tables.screening is not None:
        scr = plain_strings(tables.screening[["study_id", "status", "decided_by", "reason"]])
        rows = lookup_rows(ledger["study_id"], scr["study_id"])
        if rows is None:
            raise LedgerError("a study_id occurs more than once in the screening table")
        for col in ("status", "decided_by", "reason"):
            name = f"screen_{col}"
            ledger[name] = pd.Series(_take(scr[col], rows), index=ledger.index).fillna("").astype(str)
    else:
        for name, value in (("screen_status", "undecided"), ("screen_decided_by", ""), ("screen_reason", "")):
            ledger[name] = pd.Series(value, index=ledger.index).astype(str)
    ledger.loc[ledger["screen_status"] == "", "screen_status"] = "undecided"

    coded_ids = set(as_text(tables.coded["study_id"])) if tables.coded is not None else set()
    ledger["coded"] = ledger["study_id"].isin(coded_ids) & ledger["kept"]

    ledger["fate"] = _fates(ledger["kept"], ledger["screen_status"], ledger["screen_decided_by"])
    # the last record's database per file, as a dict built row by row would hold
    last = ledger.drop_duplicates("source_file", keep="last")
    databases = dict(zip(last["source_file"].tolist(), last["source_database"].tolist()))
    unparsed = _unparsed_rows(tables.problems, databases)
    if len(unparsed):
        unparsed["kept"] = False
        unparsed["coded"] = False
        for col in ("study_id", "duplicate_of", "screen_status", "screen_decided_by", "screen_reason"):
            unparsed[col] = ""
        ledger = pd.concat([ledger, unparsed], ignore_index=True)
    ledger = ledger[list(LEDGER_COLUMNS)]
    order = ["search", "source_file", "source_index", "record_id"]
    if not _is_sorted(ledger, order):  # gather writes records in this order: the sort is usually a no-op
        ledger = ledger.sort_values(order, kind="mergesort")
    # text columns back to pandas' own string dtype, as the table had before (the CSV writer
    # maps every cell of an object column, looking for lists)
    for col in ledger.columns:
        if ledger[col].dtype == object and pd.api.types.infer_dtype(ledger[col], skipna=True) == "string":
            ledger[col] = ledger[col].astype("str")
    return ledger.reset_index(drop=True)


def lookup_rows(keys: pd.Series | np.ndarray, table_keys: pd.Series | np.ndarray) -> np.ndarray | None:
    """For each key, the position of the row of ``table_keys`` holding it (``-1``: none), as a
    left join on that column (or ``Index.get_indexer``) finds it; ``None`` when ``table_keys``
    repeats a key (a left join would then duplicate rows).

    Text keys are matched by Arrow's hash join (``index_in``: 0.05 s for 220k ids, where a
    pandas index on Python strings took 0.2 s); other keys by a pandas index.
    """
    import pyarrow.compute as pc

    left, right = _arrow_text(keys), _arrow_text(table_keys)
    if left is None or right is None:  # not all text: numbers, say
        index = pd.Index(np.asarray(table_keys, dtype=object))
        return index.get_indexer(np.asarray(keys, dtype=object)) if index.is_unique else None
    if len(pc.unique(right)) != len(right):  # a missing key is one value, as in pandas
        return None
    return pc.index_in(left, value_set=right).fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp)


def _arrow_text(values: pd.Series | np.ndarray) -> Any:
    """``values`` as one Arrow ``large_string`` array (missing values null), or ``None`` when
    they are not all text. A pandas string column is handed over as it is stored."""
    import pyarrow as pa

    try:
        stored = getattr(values, "dtype", None)
        if isinstance(values, pd.Series) and isinstance(stored, pd.StringDtype) and stored.storage == "pyarrow":
            array = pa.array(values)
            if isinstance(array, pa.ChunkedArray):
                array = array.combine_chunks()
            return array.cast(pa.large_string())
        return pa.array(np.asarray(values, dtype=object), type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None


def _take(values: pd.Series, rows: np.ndarray) -> Any:
    """``values`` at ``rows``, missing where a row is ``-1`` (integers then become floats), as a
    left join fills the columns of an unmatched row."""
    return values.array.take(rows, allow_fill=True)


def _is_sorted(frame: pd.DataFrame, keys: list[str]) -> bool:
    """Whether ``frame`` is already in the order of a stable sort on ``keys`` (each row's key
    tuple at most the next one's). A missing key value, which sorts last, answers no."""
    if len(frame) < 2:
        return True
    import pyarrow.compute as pc

    ahead = np.ones(len(frame) - 1, dtype=bool)  # rows whose order is not settled by earlier keys yet
    for key in keys:
        text = None if pd.api.types.is_numeric_dtype(frame[key]) else _arrow_text(frame[key])
        if text is not None:  # compared by Arrow, byte by byte: the code point order pandas sorts by
            if text.null_count:
                return False
            before, after = text.slice(0, len(text) - 1), text.slice(1)
            less = pc.less(before, after).to_numpy(zero_copy_only=False)
            equal = pc.equal(before, after).to_numpy(zero_copy_only=False)
        else:
            values = frame[key].to_numpy()
            if values.dtype == object and pd.isna(values).any():
                return False
            before, after = values[:-1], values[1:]
            less, equal = np.asarray(before < after, dtype=bool), np.asarray(before == after, dtype=bool)
        if (ahead & ~less & ~equal).any():
            return False
        ahead &= equal
    return True


def _truthy(values: pd.Series) -> pd.Series:
    """dedup's ``kept`` cells as booleans: ``true``/``1``/``yes`` in any case (text or not) is kept.

    Decided once per distinct cell value (a column of 100k ids holds two or three). Mixed
    types (``1``, ``1.0`` and ``True`` are equal keys but read differently) go cell by cell.
    """
    if pd.api.types.infer_dtype(values, skipna=False) not in ("string", "boolean"):
        return pd.Series([str(v).lower() in {"true", "1", "yes"} for v in values], index=values.index, dtype=bool)
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=False)
    truth = np.array([str(v).lower() in {"true", "1", "yes"} for v in uniques], dtype=bool)
    return pd.Series(truth[codes], index=values.index, dtype=bool)


def _fates(kept: pd.Series, status: pd.Series, decided_by: pd.Series) -> np.ndarray:
    """Each record's fate: ``duplicate`` unless kept, else its study's screening outcome
    (:data:`_SCREEN_FATE`, ``undecided`` for any other status/decider pair). Vectorised."""
    status_v, by_v = status.to_numpy(dtype=object), decided_by.to_numpy(dtype=object)
    fate = np.full(len(kept), "undecided", dtype=object)
    for (st, by), name in _SCREEN_FATE.items():
        fate[(status_v == st) & (by_v == by)] = name
    fate[~kept.to_numpy(dtype=bool)] = "duplicate"
    return fate


def plain_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with its pandas string columns as object columns (the same values).

    Joins, ``isin`` and sets over ids run several times faster on Python strings than on
    pandas 3's Arrow-backed ones.
    """
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.StringDtype):
            out[col] = out[col].astype(object)
    return out


def as_text(series: pd.Series) -> pd.Series:
    """``series.astype(str)`` as plain Python strings (object dtype) rather than pandas 3's Arrow strings.

    The same values (a missing value stays missing, as ``astype(str)`` leaves it); sets, loops,
    ``isin`` and ``groupby`` over ids are several times faster on object arrays.
    """
    if series.dtype == object and pd.api.types.infer_dtype(series, skipna=False) == "string":
        return series
    return series.astype(str).astype(object)


def database_names(ledger: pd.DataFrame) -> pd.Series:
    """Each record's source database as the outputs list it (:data:`UNKNOWN_DATABASE` for none)."""
    return as_text(ledger["source_database"]).replace("", UNKNOWN_DATABASE)


def check_ledger(ledger: pd.DataFrame) -> None:
    """Raise :class:`LedgerError` unless the ledger's invariants hold.

    Works on masks over the three columns involved (filtering the whole table, twice, copied
    every column of 220k rows).
    """
    fate = ledger["fate"]
    # sets of the distinct values only: a set of every cell walks 100k Arrow strings one by one
    bad = set(pd.unique(fate)) - set(FATES)
    if bad:
        raise LedgerError(f"unknown fate(s) {sorted(bad)}")
    parsed = (fate != "unparsed").to_numpy(dtype=bool)
    kept = ledger["kept"].to_numpy(dtype=bool)
    study = ledger["study_id"]
    # counts of distinct ids, not sets of them (Python sets walk Arrow strings one by one): the
    # kept studies are among the parsed ones, so the two sets are equal when their sizes are
    kept_studies = study[parsed & kept]
    n_kept = len(pd.unique(kept_studies))
    if n_kept != len(kept_studies):
        raise LedgerError("a study has more than one kept record")
    if len(pd.unique(study[parsed])) != n_kept:
        raise LedgerError("a study has no kept record")
    if (fate[parsed & ~kept] != "duplicate").any():
        raise LedgerError("a non-kept record has a fate other than duplicate")
    if (fate[ledger["coded"].to_numpy(dtype=bool)] != "included").any():
        raise LedgerError("a coded study is not included")


def fate_counts(ledger: pd.DataFrame) -> dict[str, int]:
    """Number of records per fate (every fate present, zeros included)."""
    counts = ledger["fate"].value_counts()
    return {fate: int(counts.get(fate, 0)) for fate in FATES}


def read_ledger(path: str | Path, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """Read a ledger CSV written by ``evreview ledger`` back with its boolean columns.

    ``columns``: only these (a reader that counts fates needs neither the duplicate links nor
    the screening reasons); one the file lacks is left out.
    """
    from evreview.errors import EvreviewError

    path = Path(path)
    if not path.exists():
        raise EvreviewError("no such ledger", path=path)
    # plain Python strings (object columns), not pandas 3's Arrow-backed ones: the readers
    # (changes, PRISMA, report) walk, group and look up ids record by record, far slower on Arrow
    usecols = None if columns is None else set(columns).__contains__
    ledger = pd.read_csv(path, dtype=object, keep_default_na=False, usecols=usecols)
    for col in ("kept", "coded"):
        if col in ledger.columns:
            ledger[col] = ledger[col] == "True"
    return ledger


def study_fates(ledger: pd.DataFrame) -> pd.Series:
    """study_id -> the fate of its kept record (the study's own screening outcome)."""
    kept = ((ledger["fate"] != "unparsed") & ledger["kept"].astype(bool)).to_numpy(dtype=bool)
    return pd.Series(
        ledger["fate"].to_numpy()[kept], index=as_text(ledger["study_id"]).to_numpy()[kept], name="fate"
    )


def _factorize_sorted(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(values, sort=True)``: codes (``-1`` for a missing value) into the sorted
    distinct values. Text is encoded and its distinct values sorted by Arrow (by code point, as
    Python sorts strings): sorting 160k ids as Python objects was most of the time."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        encoded = pa.array(values, type=pa.string(), from_pandas=True).dictionary_encode()
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text
        return pd.factorize(values, sort=True)
    order = pc.array_sort_indices(encoded.dictionary).to_numpy()
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order))
    indices = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    codes = np.where(indices >= 0, rank[indices], -1) if len(order) else np.full(len(indices), -1, dtype=np.intp)
    uniques = np.asarray(encoded.dictionary.take(order).to_pylist(), dtype=object)
    return codes.astype(np.intp), uniques


def ordered_rounds(ledger: pd.DataFrame, order: Sequence[str] | None = None) -> list[str]:
    """The rounds, earliest first: ``order`` (by date; it may hold a round searched without a
    record, :func:`evreview.rounds.searched_rounds`), then any other round of the ledger by name."""
    present = set(as_text(ledger["search"]))
    out = list(dict.fromkeys(order)) if order else sorted(present)
    return out + sorted(present - set(out))


def study_first_round(ledger: pd.DataFrame, order: list[str]) -> pd.Series:
    """study_id -> the earliest search round (in ``order``) holding one of its records, by
    study id.

    A study is "previously seen" in a round when this is an earlier round: its record key and
    every decision on it carry over, whichever member record dedup now keeps. (Vectorised: a
    round not in ``order`` ranks after every round in it and maps to ``""``; a record without
    a study id is left out.) The rounds are ranked once per distinct round, and the studies'
    minimum taken over factorised ids, not by a groupby on 200k id strings.
    """
    rank = {name: i for i, name in enumerate(order)}
    parsed = (ledger["fate"] != "unparsed").to_numpy(dtype=bool)
    round_codes, rounds = pd.factorize(as_text(ledger["search"]).to_numpy()[parsed], use_na_sentinel=False)
    ranks = np.array([rank.get(r, len(order)) for r in rounds], dtype=np.int64)[round_codes]
    study_codes, studies = _factorize_sorted(as_text(ledger["study_id"]).to_numpy()[parsed])
    has_study = study_codes >= 0
    first = np.full(len(studies), len(order), dtype=np.int64)
    np.minimum.at(first, study_codes[has_study], ranks[has_study])
    names = np.array([*order, ""], dtype=object)
    return pd.Series(names[first], index=pd.Index(studies), name="first_round", dtype="str")
