"""What changed since the previous search round: records, studies, inclusions, map cells, gaps.

When a review is updated, a new round of exports goes into ``data/raw/<round>/`` and the whole
workflow runs again. Readers of the update want to know what the new search added. This is
computed without any saved state from an earlier run, so it is deterministic and cannot go
stale: the *current* results are compared with the same results restricted to the rounds
before the latest one.

* previous state = the records of rounds before the latest (rounds ordered by search date,
  :mod:`evreview.rounds`); a study is *previous* when any of its records is from an earlier
  round (deduplication gives it the same study id and its decisions carry over);
* a previous study's screening and coding state is its *current* one (the earlier run's
  outputs are not read): an inclusion changed by a reviewer since then shows as if it had
  always been so. This assumption is written into every output.

Every function here is pure (DataFrames in, DataFrames or dicts out); :func:`write_changes`
puts ``changes.json`` (stable key order) and ``changes.md`` on disk.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evreview.ledger import (
    FATES,
    as_text,
    database_names,
    lookup_rows,
    ordered_rounds,
    study_fates,
    study_first_round,
)

ASSUMPTION = (
    "Compared with the same results restricted to the search rounds before the latest one; "
    "no earlier run is read. A study is previous when any of its records is from an earlier round; "
    "a previous study's inclusion and codes are taken as they are now."
)
FIRST_ROUND = "first round: nothing to compare"
#: Study fates that are a screening outcome (a study's kept record never has the other two).
STUDY_FATES: tuple[str, ...] = tuple(f for f in FATES if f not in ("unparsed", "duplicate"))
EXCLUDED = ("excluded_automation", "excluded_reviewer", "excluded_machine")
GAP_KEY = ("kind", "row", "column", "segment", "filter_dimension", "filter_code")
#: The summary's figures in reading order, with their labels (the JSON itself sorts keys).
SUMMARY_LABELS: tuple[tuple[str, str], ...] = (
    ("new_records", "records found by the latest search"),
    ("new_records_unparsed", "of which unparsable"),
    ("new_duplicates_of_previous_studies", "of which duplicates of studies found in earlier searches"),
    ("new_duplicates_within_new_studies", "of which duplicates of other new records"),
    ("new_studies", "new studies"),
    ("new_studies_included", "new studies included"),
    ("new_studies_excluded", "new studies excluded"),
    ("new_studies_awaiting", "new studies awaiting screening"),
    ("new_studies_awaiting_classification", "new studies awaiting classification (maybe)"),
    ("previous_studies", "studies from earlier searches"),
    ("previous_studies_included", "studies from earlier searches included"),
    ("total_studies_included", "studies included in total"),
    ("map_cells_changed", "evidence-gap map cells whose count changed"),
    ("gaps_closed", "gaps closed"),
    ("gaps_opened", "gaps opened"),
)


@dataclass(frozen=True)
class MapInputs:
    """What the map comparison needs: the coded studies, the map spec, the vocabulary.

    ``cross`` is the config's ``map.cross`` pair (empty combinations of two dimensions).
    """

    coded: pd.DataFrame
    spec: Any
    vocab: Mapping[str, Sequence[tuple[str, str]]]
    cross: tuple[str, str] | None = None


def records_by_round(ledger: pd.DataFrame, order: Sequence[str], first: pd.Series | None = None) -> pd.DataFrame:
    """Records per round and database: how many, unparsed, of studies seen in an earlier
    round, of studies first found in that round.

    ``first``: :func:`evreview.ledger.study_first_round` of the same ledger and order, when the
    caller has it already (it groups every record).
    """
    if first is None:
        first = study_first_round(ledger, list(order))
    parsed = ledger["fate"] != "unparsed"
    first_of_row = _first_round_of(as_text(ledger["study_id"]), first).where(parsed, "")
    frame = pd.DataFrame(
        {
            "round": as_text(ledger["search"]),
            "database": database_names(ledger),
            "unparsed": (~parsed).astype(int),
            "of_earlier_studies": (parsed & (first_of_row != as_text(ledger["search"]))).astype(int),
            "of_new_studies": (parsed & (first_of_row == as_text(ledger["search"]))).astype(int),
        }
    )
    frame["records"] = 1
    table = frame.groupby(["round", "database"], sort=False).sum().reset_index()
    rank = {r: i for i, r in enumerate(order)}
    table["_rank"] = table["round"].map(lambda r: rank.get(r, len(rank)))
    table = table.sort_values(["_rank", "database"], kind="mergesort").drop(columns="_rank")
    return table[["round", "database", "records", "unparsed", "of_earlier_studies", "of_new_studies"]].reset_index(
        drop=True
    )


def _first_round_of(study_ids: pd.Series, first: pd.Series) -> pd.Series:
    """``study_ids.map(first)``: each record's study's first round, missing for a study ``first``
    does not hold. One hash look-up of all ids (:func:`evreview.ledger.lookup_rows`)."""
    rows = lookup_rows(study_ids.to_numpy(dtype=object), first.index.to_numpy(dtype=object))
    if rows is None:  # a repeated study id: leave the answer to pandas
        return study_ids.map(first)
    values = first.to_numpy(dtype=object)[rows]
    values[rows < 0] = np.nan
    return pd.Series(values, index=study_ids.index, dtype=object)


def duplicates_of_previous(ledger: pd.DataFrame, first: pd.Series, latest: str) -> pd.DataFrame:
    """Records of the latest round whose study was already found in an earlier round."""
    rows = ledger[(as_text(ledger["search"]) == latest) & (ledger["fate"] != "unparsed")]
    first_of_row = _first_round_of(as_text(rows["study_id"]), first)
    hit = rows[first_of_row != latest]
    out = pd.DataFrame(
        {
            "record_id": as_text(hit["record_id"]),
            "source_database": as_text(hit["source_database"]),
            "source_file": as_text(hit["source_file"]),
            "study_id": as_text(hit["study_id"]),
            "first_round": first_of_row[first_of_row != latest].astype(str),
        }
    )
    return out.sort_values(["study_id", "record_id"], kind="mergesort").reset_index(drop=True)


def new_studies(
    ledger: pd.DataFrame, first: pd.Series, latest: str, studies: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Studies first found in the latest round, with their fate (and title, year when given)."""
    ids = sorted(first.index[first == latest])
    out = pd.DataFrame({"study_id": ids, "fate": fates_of(study_fates(ledger), ids)})
    if studies is not None and len(studies):
        meta = studies[[c for c in ("study_id", "title", "year") if c in studies.columns]].copy()
        meta["study_id"] = as_text(meta["study_id"])
        out = out.merge(meta.drop_duplicates("study_id"), on="study_id", how="left")
        for col in ("title", "year"):
            if col in out:
                out[col] = out[col].astype(object).map(lambda v: "" if pd.isna(v) else v)
    return out


def fates_of(fates: pd.Series, ids: Sequence[str]) -> list[str]:
    """The fate (as text) of each study of ``ids``; ``undecided`` for a study without one.

    One index look-up for all ids (a per-id ``Series.get`` cost seconds at 100k studies).
    """
    pos = lookup_rows(np.array(list(ids), dtype=object), fates.index.to_numpy(dtype=object))
    if pos is None:  # not from a checked ledger: keep the per-id look-up's answers
        return [str(fates.get(s, "undecided")) for s in ids]
    values = fates.to_numpy(dtype=object)
    return [str(values[i]) if i >= 0 else "undecided" for i in pos.tolist()]


def fate_table(fates: pd.Series, ids: Sequence[str]) -> dict[str, int]:
    """Number of the studies ``ids`` per screening fate (every fate listed, zeros included)."""
    counts = pd.Series(fates_of(fates, ids), dtype=object).value_counts()
    return {f: int(counts.get(f, 0)) for f in STUDY_FATES}


def cell_changes(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Map cells (as :func:`evreview.maps.cells.map_cells` gives them) whose count changed.

    ``studies_added``: the studies that are in the cell now and were not before.
    """
    key = ["row", "column", "segment"]
    merged = after.merge(before[[*key, "n_studies", "study_ids"]], on=key, how="left", suffixes=("", "_before"))
    merged["n_studies_before"] = merged["n_studies_before"].fillna(0).astype(int)
    changed = merged[merged["n_studies"] != merged["n_studies_before"]].copy()

    def added(now: str, then: object) -> str:
        old = set(str(then or "").split(";")) if isinstance(then, str) else set()
        return ";".join(sorted(set(filter(None, now.split(";"))) - old))

    changed["studies_added"] = [added(a, b) for a, b in zip(changed["study_ids"], changed["study_ids_before"])]
    changed = changed.rename(columns={"n_studies": "n_after", "n_studies_before": "n_before"})
    changed["change"] = changed["n_after"] - changed["n_before"]
    cols = ["row", "row_label", "column", "column_label", "segment", "segment_label", "n_before", "n_after",
            "change", "studies_added"]
    return changed[cols].sort_values(key, kind="mergesort").reset_index(drop=True)


def _gap_keys(gaps: pd.DataFrame) -> set[str]:
    if not len(gaps):
        return set()
    return set(gaps[list(GAP_KEY)].astype(str).agg("\x1f".join, axis=1))


def _filter_codes(gaps: pd.DataFrame) -> dict[str, list[str]]:
    """filter dimension -> the filter values that the (reported) ``gaps`` mention."""
    filtered = gaps[gaps["filter_dimension"].astype(str) != ""] if len(gaps) else gaps
    out: dict[str, list[str]] = {}
    for dim, code in sorted(set(zip(filtered.get("filter_dimension", []), filtered.get("filter_code", [])))):
        out.setdefault(str(dim), []).append(str(code))
    return out


def existing_gaps(coded: pd.DataFrame, spec: Any, vocab: Any, filter_codes: Mapping[str, Sequence[str]],
                  reported: pd.DataFrame) -> set[str]:
    """Keys of every gap that *exists* on the map and under each given filter value.

    The gap report (``reported``: :func:`evreview.maps.cells.find_gaps` of ``coded``) hides a
    filtered gap that also shows unfiltered, and the gaps of a filter value with fewer than
    ``min_filter_studies`` studies. Those are reporting choices: a hole that existed but was
    hidden has not "opened" when it becomes visible, so opened/closed are judged on existence,
    computed here for the given filter values without those rules. (The unfiltered gaps are all
    reported, so they are taken from ``reported``.)
    """
    from evreview.maps.cells import explode_codes, find_gaps

    plain = replace(spec, filters=())
    keys = _gap_keys(reported[reported["filter_dimension"].astype(str) == ""] if len(reported) else reported)
    for dim, codes in filter_codes.items():
        members = explode_codes(coded, [dim])[dim]
        for code in codes:
            subset = coded[as_text(coded["study_id"]).isin(members.get(code, set()))]
            gaps = find_gaps(subset, plain, vocab)
            gaps = gaps[gaps["kind"] != "sparse"].assign(filter_dimension=dim, filter_code=code)
            keys |= _gap_keys(gaps)
    return keys


def gap_changes(
    before: pd.DataFrame, after: pd.DataFrame, spec: Any, vocab: Any
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Gaps that opened and closed between two coded-study tables (``before`` within ``after``).

    A gap is one (kind, cell, segment, filter) combination, as :func:`evreview.maps.cells.find_gaps`
    reports it. *Opened*: reported now and absent before; *closed*: reported before and absent
    now (absence judged by :func:`existing_gaps`, so a gap only hidden or revealed by the report's
    rules is neither). A cell going from no study to one closes its absolute gap and opens a
    sparse one; both are listed.
    """
    from evreview.maps.cells import find_gaps

    cols = ["kind", "row", "row_label", "column", "column_label", "segment", "segment_label", "filter_dimension",
            "filter_code", "filter_label", "n_studies", "description"]
    reported_before = find_gaps(before, spec, vocab)
    reported_after = find_gaps(after, spec, vocab)
    # only the filter values a reported gap mentions need checking in the other state
    exists_before = existing_gaps(before, spec, vocab, _filter_codes(reported_after), reported_before)
    exists_after = existing_gaps(after, spec, vocab, _filter_codes(reported_before), reported_after)
    out = []
    for reported, other in ((reported_after, exists_before), (reported_before, exists_after)):
        keys = reported[list(GAP_KEY)].astype(str).agg("\x1f".join, axis=1) if len(reported) else pd.Series()
        frame = reported[~keys.isin(other).to_numpy()] if len(reported) else reported
        frame = frame.reindex(columns=cols).fillna("")
        out.append(frame.sort_values(list(GAP_KEY), kind="mergesort").reset_index(drop=True))
    return out[0], out[1]


def cross_gap_changes(before: pd.DataFrame, after: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Empty combinations of two dimensions (map.cross) that appeared / were filled."""
    key = ["dimension_a", "code_a", "dimension_b", "code_b"]
    merged = after.merge(before[[*key, "n_studies"]], on=key, how="left", suffixes=("", "_before"))
    merged["n_studies_before"] = merged["n_studies_before"].fillna(0).astype(int)
    cols = [*key, "label_a", "label_b", "n_studies_before", "n_studies"]
    opened = merged[(merged["n_studies"] == 0) & (merged["n_studies_before"] > 0)][cols]
    closed = merged[(merged["n_studies"] > 0) & (merged["n_studies_before"] == 0)][cols]
    return opened.reset_index(drop=True), closed.reset_index(drop=True)


def map_changes(inputs: MapInputs, previous_ids: set[str]) -> dict[str, Any]:
    """Cells whose count changed and gaps that opened or closed, current map vs previous studies only.

    Both states use the same spec and vocabulary (so the same cells exist in both).
    """
    from evreview.maps.cells import as_plain_strings, dimension_gaps, map_cells

    # object columns once: the many subsets and code look-ups below are slow on Arrow strings
    coded = as_plain_strings(inputs.coded)
    coded["study_id"] = coded["study_id"].astype(str).astype(object)
    coded = coded.sort_values("study_id").reset_index(drop=True)
    before = coded[coded["study_id"].isin(previous_ids)].reset_index(drop=True)
    cells = cell_changes(map_cells(before, inputs.spec, inputs.vocab), map_cells(coded, inputs.spec, inputs.vocab))
    opened, closed = gap_changes(before, coded, inputs.spec, inputs.vocab)
    out: dict[str, Any] = {
        "coded_studies_before": len(before),
        "coded_studies_after": len(coded),
        "cells_changed": _records(cells),
        "gaps_opened": _records(opened),
        "gaps_closed": _records(closed),
    }
    if inputs.cross:
        a, b = inputs.cross
        c_open, c_closed = cross_gap_changes(dimension_gaps(before, a, b, inputs.vocab),
                                             dimension_gaps(coded, a, b, inputs.vocab))
        out["empty_combinations_opened"] = _records(c_open)
        out["empty_combinations_closed"] = _records(c_closed)
    return out


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows (numpy scalars made plain Python)."""
    return json.loads(frame.to_json(orient="records", force_ascii=False)) if len(frame) else []


def compute_changes(
    ledger: pd.DataFrame,
    order: Sequence[str] | None = None,
    *,
    rounds: pd.DataFrame | None = None,
    studies: pd.DataFrame | None = None,
    map_inputs: MapInputs | None = None,
) -> dict[str, Any]:
    """Everything that changed with the latest round, as one JSON-ready dict.

    ``order``: the rounds earliest first (by date; :func:`evreview.rounds.round_order`);
    ``rounds``: :func:`evreview.rounds.load_rounds`'s table, for dates and files in the output.
    With a single round the result says :data:`FIRST_ROUND` and compares nothing.
    """
    order = ordered_rounds(ledger, order)
    first = study_first_round(ledger, order)
    by_round = records_by_round(ledger, order, first)
    per_round = by_round.groupby("round", sort=False)["records"].sum()
    meta = {r["round"]: r for r in rounds.to_dict("records")} if rounds is not None and len(rounds) else {}
    round_rows = [
        {
            "round": name,
            "date": str(meta.get(name, {}).get("date", "") or "unknown"),
            "date_source": str(meta.get(name, {}).get("date_source", "unknown")),
            "description": str(meta.get(name, {}).get("description", "")),
            "files": list(meta.get(name, {}).get("files", [])),
            "records": int(per_round.get(name, 0)),
        }
        for name in order
    ]
    out: dict[str, Any] = {
        "assumption": ASSUMPTION,
        "rounds": round_rows,
        "records_by_round": _records(by_round),
    }
    notes = same_date_notes(round_rows)
    if notes:
        out["notes"] = notes
    if len(order) < 2:
        out.update({"status": "first_round", "message": FIRST_ROUND, "latest_round": order[-1] if order else ""})
        return out

    latest = order[-1]
    fates = study_fates(ledger)
    previous = sorted(first.index[first != latest])
    dups = duplicates_of_previous(ledger, first, latest)
    fresh = new_studies(ledger, first, latest, studies)
    latest_rows = ledger[as_text(ledger["search"]) == latest]
    new_ids = list(fresh["study_id"])
    new_fates = fate_table(fates, new_ids)
    prev_fates = fate_table(fates, previous)
    summary = {
        "new_records": len(latest_rows),
        "new_records_unparsed": int((latest_rows["fate"] == "unparsed").sum()),
        "new_duplicates_of_previous_studies": len(dups),
        "new_duplicates_within_new_studies": int(
            ((latest_rows["fate"] == "duplicate") & as_text(latest_rows["study_id"]).isin(set(new_ids))).sum()
        ),
        "new_studies": len(new_ids),
        "new_studies_included": new_fates["included"],
        "new_studies_excluded": sum(new_fates[f] for f in EXCLUDED),
        # as the PRISMA diagram counts them: a reviewer's maybe is assessed, awaiting classification
        "new_studies_awaiting": new_fates["undecided"],
        "new_studies_awaiting_classification": new_fates["maybe"],
        "previous_studies": len(previous),
        "previous_studies_included": prev_fates["included"],
        "total_studies_included": prev_fates["included"] + new_fates["included"],
    }
    out.update(
        {
            "status": "compared",
            "latest_round": latest,
            "previous_rounds": order[:-1],
            "summary": summary,
            "new_records_by_database": _records(by_round[by_round["round"] == latest].drop(columns="round")),
            "duplicates_of_previous": _records(dups),
            "new_studies": _records(fresh),
            "screening": {"new_studies_by_fate": new_fates, "previous_studies_by_fate": prev_fates},
        }
    )
    if map_inputs is not None:
        changes = map_changes(map_inputs, set(previous))
        out["map"] = changes
        summary["map_cells_changed"] = sum(1 for c in changes["cells_changed"] if c["segment"] == "")
        summary["gaps_opened"] = len(changes["gaps_opened"])
        summary["gaps_closed"] = len(changes["gaps_closed"])
    return out


def same_date_notes(round_rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """A note per search date shared by several rounds: their order (which one is "latest",
    what counts as new) then comes from the folder names alone, which the reader should know."""
    by_date: dict[str, list[str]] = {}
    for row in round_rows:
        if row["date"] and row["date"] != "unknown":
            by_date.setdefault(str(row["date"]), []).append(str(row["round"]))
    return [
        f"rounds {', '.join(names)} have the same search date {date}: they are ordered by folder name, so "
        f"{names[-1]} counts as the later search; if they are one search, put their exports in one round folder"
        for date, names in by_date.items()
        if len(names) > 1
    ]


def _cell_name(c: Mapping[str, Any]) -> str:
    name = f"{c['row_label']} x {c['column_label']}"
    return name + (f" [{c['segment_label']}]" if c.get("segment") else "")


def changes_markdown(changes: Mapping[str, Any], *, max_items: int = 40) -> str:
    """The change report in the small Markdown subset the run report renders (headings, bullets)."""
    lines = ["# What changed since the previous search round", ""]
    for r in changes["rounds"]:
        lines.append(f"- round {r['round']}: searched {r['date']} ({r['date_source']}), {r['records']} records")
    lines += [f"- note: {note}" for note in changes.get("notes", [])]
    lines.append("")
    if changes["status"] != "compared":
        return "\n".join([*lines, changes.get("message", FIRST_ROUND), ""])
    s = changes["summary"]
    lines += [
        f"Latest round {changes['latest_round']} compared with {', '.join(changes['previous_rounds'])}. "
        + changes["assumption"],
        "",
        "## Summary",
        "",
        f"- new records: {s['new_records']} (unparsable: {s['new_records_unparsed']})",
        f"- new records that are duplicates of previously found studies: {s['new_duplicates_of_previous_studies']}",
        f"- new records that are duplicates of other new records: {s['new_duplicates_within_new_studies']}",
        f"- new studies: {s['new_studies']}: included {s['new_studies_included']}, excluded "
        f"{s['new_studies_excluded']}, awaiting screening {s['new_studies_awaiting']}, awaiting "
        f"classification (maybe) {s['new_studies_awaiting_classification']}",
        f"- studies included from earlier rounds: {s['previous_studies_included']}; in total: "
        f"{s['total_studies_included']}",
    ]
    if "map" in changes:
        lines += [
            f"- map cells whose count changed: {s['map_cells_changed']}; gaps opened: {s['gaps_opened']}, "
            f"closed: {s['gaps_closed']}",
        ]
    lines += ["", "## New records per database", ""]
    lines += [
        f"- {r['database']}: {r['records']} records, {r['of_earlier_studies']} of studies found earlier, "
        f"{r['of_new_studies']} of new studies, {r['unparsed']} unparsable"
        for r in changes["new_records_by_database"]
    ] or ["- none"]
    included = [r for r in changes["new_studies"] if r["fate"] == "included"]
    lines += ["", f"## New inclusions ({len(included)})", ""]
    lines += [f"- {r['study_id']}: {r.get('title', '')} ({r.get('year', '')})" for r in included[:max_items]]
    if len(included) > max_items:
        lines.append(f"- ... and {len(included) - max_items} more (changes.json lists all)")
    if not included:
        lines.append("- none")
    if "map" in changes:
        m = changes["map"]
        totals = [c for c in m["cells_changed"] if c["segment"] == ""]
        lines += ["", f"## Evidence-gap map cells that changed ({len(totals)})", ""]
        lines += [f"- {_cell_name(c)}: {c['n_before']} -> {c['n_after']} studies" for c in totals[:max_items]]
        lines += [] if totals else ["- none"]
        for key, heading in (("gaps_closed", "Gaps closed"), ("gaps_opened", "Gaps opened")):
            gaps = m[key]
            lines += ["", f"## {heading} ({len(gaps)})", ""]
            lines += [f"- [{g['kind']}] {g['description']}" for g in gaps[:max_items]] or ["- none"]
            if len(gaps) > max_items:
                lines.append(f"- ... and {len(gaps) - max_items} more (changes.json lists all)")
        for key, heading in (("empty_combinations_closed", "Empty combinations filled"),
                             ("empty_combinations_opened", "Empty combinations opened")):
            if m.get(key):
                lines += ["", f"## {heading} ({len(m[key])})", ""]
                lines += [f"- {g['label_a']} x {g['label_b']}: {g['n_studies_before']} -> {g['n_studies']}"
                          for g in m[key]]
    lines.append("")
    return "\n".join(lines)


def write_changes(changes: Mapping[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """Write ``changes.json`` (sorted keys: byte-identical for identical inputs) and ``changes.md``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "changes.json", "md": out / "changes.md"}
    paths["json"].write_text(json.dumps(changes, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                             encoding="utf-8")
    paths["md"].write_text(changes_markdown(changes), encoding="utf-8")
    return paths
