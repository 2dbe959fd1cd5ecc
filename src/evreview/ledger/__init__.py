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
            "record_id": rec["record_id"].astype(str),
            "search": rec["search"].astype(str),
            "source_file": rec["source_file"].astype(str),
            "source_database": rec["source_database"].astype(str),
            "source_index": rec["source_index"].astype("int64"),
        }
    )
    if ledger["record_id"].duplicated().any():
        dup = ledger.loc[ledger["record_id"].duplicated(), "record_id"].iloc[0]
        raise LedgerError(f"record_id {dup} occurs twice in the record table")

    if tables.duplicates is not None:
        dups = tables.duplicates[["record_id", "study_id", "kept"]].copy()
        dups["record_id"] = dups["record_id"].astype(str)
        missing = set(ledger["record_id"]) - set(dups["record_id"])
        if missing:
            raise LedgerError(f"{len(missing)} ingested records missing from the dedup output, e.g. {min(missing)}")
        ledger = ledger.merge(dups, on="record_id", how="left", validate="one_to_one")
        ledger["kept"] = ledger["kept"].map(lambda v: str(v).lower() in {"true", "1", "yes"})
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
        scr = tables.screening[["study_id", "status", "decided_by", "reason"]].rename(
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

    coded_ids = set(tables.coded["study_id"].astype(str)) if tables.coded is not None else set()
    ledger["coded"] = ledger["study_id"].isin(coded_ids) & ledger["kept"]

    fate = [
        "duplicate" if not kept else _SCREEN_FATE.get((status, by), "undecided")
        for kept, status, by in zip(ledger["kept"], ledger["screen_status"], ledger["screen_decided_by"])
    ]
    ledger["fate"] = fate
    databases = dict(zip(ledger["source_file"], ledger["source_database"]))
    unparsed = _unparsed_rows(tables.problems, databases)
    if len(unparsed):
        unparsed["kept"] = False
        unparsed["coded"] = False
        for col in ("study_id", "duplicate_of", "screen_status", "screen_decided_by", "screen_reason"):
            unparsed[col] = ""
        ledger = pd.concat([ledger, unparsed], ignore_index=True)
    ledger = ledger[list(LEDGER_COLUMNS)]
    ledger = ledger.sort_values(["search", "source_file", "source_index", "record_id"], kind="mergesort")
    return ledger.reset_index(drop=True)


def check_ledger(ledger: pd.DataFrame) -> None:
    """Raise :class:`LedgerError` unless the ledger's invariants hold."""
    bad = set(ledger["fate"]) - set(FATES)
    if bad:
        raise LedgerError(f"unknown fate(s) {sorted(bad)}")
    parsed = ledger[ledger["fate"] != "unparsed"]
    kept = parsed[parsed["kept"]]
    if kept["study_id"].duplicated().any():
        raise LedgerError("a study has more than one kept record")
    if set(parsed["study_id"]) != set(kept["study_id"]):
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
    ledger = pd.read_csv(path, dtype=str, keep_default_na=False)
    for col in ("kept", "coded"):
        ledger[col] = ledger[col] == "True"
    return ledger


def study_fates(ledger: pd.DataFrame) -> pd.Series:
    """study_id -> the fate of its kept record (the study's own screening outcome)."""
    kept = ledger[(ledger["fate"] != "unparsed") & ledger["kept"].astype(bool)]
    return pd.Series(kept["fate"].to_numpy(), index=kept["study_id"].astype(str).to_numpy(), name="fate")


def study_first_round(ledger: pd.DataFrame, order: list[str]) -> pd.Series:
    """study_id -> the earliest search round (in ``order``) holding one of its records.

    A study is "previously seen" in a round when this is an earlier round: its record key and
    every decision on it carry over, whichever member record dedup now keeps.
    """
    rank = {name: i for i, name in enumerate(order)}
    parsed = ledger[ledger["fate"] != "unparsed"]
    ranks = parsed["search"].astype(str).map(lambda s: rank.get(s, len(order)))
    first = ranks.groupby(parsed["study_id"].astype(str).to_numpy()).min()
    names = [*order, ""]
    return first.map(lambda i: names[min(int(i), len(order))]).rename("first_round")
