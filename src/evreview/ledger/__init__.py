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

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from evreview.records import make_record_id

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
    """
    rec = tables.records
    ledger = pd.DataFrame(
        {
            "record_id": as_text(rec["record_id"]),
            "search": as_text(rec["search"]),
            "source_file": as_text(rec["source_file"]),
            "source_database": as_text(rec["source_database"]),
            "source_index": rec["source_index"].astype("int64"),
        }
    )
    if ledger["record_id"].duplicated().any():
        dup = ledger.loc[ledger["record_id"].duplicated(), "record_id"].iloc[0]
        raise LedgerError(f"record_id {dup} occurs twice in the record table")

    if tables.duplicates is not None:
        dups = plain_strings(tables.duplicates[["record_id", "study_id", "kept"]])
        dups["record_id"] = as_text(dups["record_id"])
        missing = ledger["record_id"][~ledger["record_id"].isin(dups["record_id"]).to_numpy()]
        if len(missing):  # record ids are unique (checked above): one row per missing id
            raise LedgerError(f"{len(missing)} ingested records missing from the dedup output, e.g. {min(missing)}")
        ledger = ledger.merge(dups, on="record_id", how="left", validate="one_to_one")
        ledger["kept"] = _truthy(ledger["kept"])
    else:
        ledger["study_id"] = "s" + ledger["record_id"].str[1:]
        ledger["kept"] = True
    kept_of = ledger.loc[ledger["kept"], ["study_id", "record_id"]].rename(columns={"record_id": "duplicate_of"})
    if kept_of["study_id"].duplicated().any():
        raise LedgerError("a study has more than one kept record")
    ledger = ledger.merge(kept_of, on="study_id", how="left")
    ledger.loc[ledger["kept"], "duplicate_of"] = ""
    if ledger["duplicate_of"].isna().any():
        raise LedgerError("a study has no kept record")

    if tables.screening is not None:
        scr = plain_strings(tables.screening[["study_id", "status", "decided_by", "reason"]]).rename(
            columns={"status": "screen_status", "decided_by": "screen_decided_by", "reason": "screen_reason"}
        )
        ledger = ledger.merge(scr, on="study_id", how="left", validate="many_to_one")
    else:
        ledger["screen_status"] = "undecided"
        ledger["screen_decided_by"] = ""
        ledger["screen_reason"] = ""
    for col in ("screen_status", "screen_decided_by", "screen_reason"):
        ledger[col] = ledger[col].fillna("").astype(str)
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
    ledger = ledger.sort_values(["search", "source_file", "source_index", "record_id"], kind="mergesort")
    # text columns back to pandas' own string dtype, as the table had before (the CSV writer
    # maps every cell of an object column, looking for lists)
    for col in ledger.columns:
        if ledger[col].dtype == object and pd.api.types.infer_dtype(ledger[col], skipna=True) == "string":
            ledger[col] = ledger[col].astype("str")
    return ledger.reset_index(drop=True)


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


def check_ledger(ledger: pd.DataFrame) -> None:
    """Raise :class:`LedgerError` unless the ledger's invariants hold."""
    # sets of the distinct values only: a set of every cell walks 100k Arrow strings one by one
    bad = set(pd.unique(ledger["fate"])) - set(FATES)
    if bad:
        raise LedgerError(f"unknown fate(s) {sorted(bad)}")
    parsed = ledger[ledger["fate"] != "unparsed"]
    kept = parsed[parsed["kept"]]
    if kept["study_id"].duplicated().any():
        raise LedgerError("a study has more than one kept record")
    if set(pd.unique(parsed["study_id"])) != set(pd.unique(kept["study_id"])):
        raise LedgerError("a study has no kept record")
    if (parsed.loc[~parsed["kept"], "fate"] != "duplicate").any():
        raise LedgerError("a non-kept record has a fate other than duplicate")
    if (ledger.loc[ledger["coded"], "fate"] != "included").any():
        raise LedgerError("a coded study is not included")


def fate_counts(ledger: pd.DataFrame) -> dict[str, int]:
    """Number of records per fate (every fate present, zeros included)."""
    counts = ledger["fate"].value_counts()
    return {fate: int(counts.get(fate, 0)) for fate in FATES}


def read_ledger(path: str | Path) -> pd.DataFrame:
    """Read a ledger CSV written by ``evreview ledger`` back with its boolean columns."""
    from evreview.errors import EvreviewError

    path = Path(path)
    if not path.exists():
        raise EvreviewError("no such ledger", path=path)
    # plain Python strings (object columns), not pandas 3's Arrow-backed ones: the readers
    # (changes, PRISMA, report) walk, group and look up ids record by record, far slower on Arrow
    ledger = pd.read_csv(path, dtype=object, keep_default_na=False)
    for col in ("kept", "coded"):
        ledger[col] = ledger[col] == "True"
    return ledger


def study_fates(ledger: pd.DataFrame) -> pd.Series:
    """study_id -> the fate of its kept record (the study's own screening outcome)."""
    kept = ledger[(ledger["fate"] != "unparsed") & ledger["kept"].astype(bool)]
    return pd.Series(kept["fate"].to_numpy(), index=as_text(kept["study_id"]).to_numpy(), name="fate")


def study_first_round(ledger: pd.DataFrame, order: list[str]) -> pd.Series:
    """study_id -> the earliest search round (in ``order``) holding one of its records.

    A study is "previously seen" in a round when this is an earlier round: its record key and
    every decision on it carry over, whichever member record dedup now keeps. (Vectorised: a
    round not in ``order`` ranks after every round in it and maps to ``""``.)
    """
    rank = {name: i for i, name in enumerate(order)}
    parsed = ledger[ledger["fate"] != "unparsed"]
    ranks = as_text(parsed["search"]).map(rank).fillna(len(order)).astype("int64")
    first = ranks.groupby(as_text(parsed["study_id"]).to_numpy()).min()
    names = np.array([*order, ""], dtype=object)
    return pd.Series(
        names[np.minimum(first.to_numpy(), len(order))], index=first.index, name="first_round", dtype="str"
    )
