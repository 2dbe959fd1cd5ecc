"""The record-id register: a record id must name the same record on every run.

A record's id is its search round, export file name and position in the file
(:func:`evreview.records.make_record_id`), and a study's id is ``s`` + its earliest record's id.
Reviewers' decisions name records and studies by these ids. So an export that is edited in
place (a corrected re-export with one record fewer near the top) silently moves every later
id, and with it every decision, onto another record; an export moved to another round folder
or renamed gets new ids, and its decisions fail as unknown keys without saying why.

``evreview ingest --id-register DIR`` (the workflow's ``results/ingest/ids``) remembers what
each record id of each export named (title, DOI, PMID, database id, one small Parquet file per
export, never a declared output so Snakemake keeps it) and refuses, with one line naming the
file, an export whose ids now name other records, or an export that holds the same records
(positions, titles and identifiers) as one that has gone from its registered place. Like a
cache, the register can be deleted: the next run then checks nothing and registers what it
finds.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from evreview.atomic import write_atomically
from evreview.errors import IngestError

#: Columns kept per record: the id, where it is, and what identifies the record it names.
COLUMNS: tuple[str, ...] = ("record_id", "source_index", "source_line", "title", "doi", "pmid", "source_id")
#: Identifiers compared; a record keeps its identity when any one present on both sides agrees.
IDENTIFIERS: tuple[str, ...] = ("doi", "pmid", "source_id", "title_key")
SUFFIX = ".ids.parquet"


def _title_key(title: pd.Series) -> pd.Series:
    return title.fillna("").astype(str).str.lower().map(lambda t: re.sub(r"[\W_]+", "", t))


def fingerprints(records: pd.DataFrame) -> pd.DataFrame:
    """What each record id of one export names (:data:`COLUMNS`, strings; missing as "")."""
    out = pd.DataFrame({c: records.get(c, "") for c in COLUMNS}, index=records.index).reset_index(drop=True)
    for col in COLUMNS:
        if col in ("source_index", "source_line"):  # a CSV records table holds them as text
            out[col] = pd.to_numeric(out[col], errors="coerce").fillna(-1).astype("int64")
        else:
            out[col] = out[col].fillna("").astype(str)
    return out


def moved_ids(before: pd.DataFrame, now: pd.DataFrame) -> pd.DataFrame:
    """Record ids present in both registers that now name another record, in file order.

    Two records are the same when any identifier present on both agrees (a corrected title
    with the same DOI is the same record); ids only in one of them (records appended or cut
    from the end) are not moves. Columns: ``record_id, source_index, title_before, title_now``.
    """
    a = before.assign(title_key=_title_key(before["title"]))
    b = now.assign(title_key=_title_key(now["title"]))
    both = a.merge(b, on="record_id", suffixes=("_before", "_now"))
    same = pd.Series(False, index=both.index)
    unchanged = pd.Series(True, index=both.index)
    for col in IDENTIFIERS:
        x, y = both[f"{col}_before"], both[f"{col}_now"]
        same |= (x != "") & (x == y)
        unchanged &= x == y
    # a record with no identifier at all (only authors and a year) is the same record when
    # nothing about it changed: it must not read as "moved" on every later run
    same |= unchanged
    moved = both[~same].sort_values("source_index_now")
    return pd.DataFrame({"record_id": moved["record_id"], "source_index": moved["source_index_now"],
                         "title_before": moved["title_before"], "title_now": moved["title_now"]})


def same_records(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """True when two exports hold the same records in the same order (ids aside)."""
    cols = [c for c in COLUMNS if c not in ("record_id", "source_line")]
    return len(a) == len(b) and len(a) > 0 and a[cols].reset_index(drop=True).equals(b[cols].reset_index(drop=True))


#: Register folder for exports given outside ``--root`` (``source_file`` absolute or ``../``).
OUTSIDE = "_outside_root"


def entry_path(register: Path, source_file: str) -> Path:
    """The register file of the export shown as ``source_file`` (its path below ``--root``).

    An export outside the root (an absolute path, or one starting ``..``) is registered under
    :data:`OUTSIDE` by its absolute path, so the entry stays inside the register.
    """
    shown = Path(source_file)
    if shown.is_absolute() or ".." in shown.parts:
        return register / OUTSIDE / f"{shown.resolve().as_posix().lstrip('/')}{SUFFIX}"
    return register / f"{source_file}{SUFFIX}"


def _registered_path(register: Path, entry: Path, root: Path) -> tuple[str, Path]:
    """The export an entry registers: (as its records show it, where it should be on disk)."""
    name = entry.relative_to(register).as_posix()[: -len(SUFFIX)]
    if name.startswith(OUTSIDE + "/"):
        where = Path("/" + name[len(OUTSIDE) + 1:])
        return where.as_posix(), where
    return name, root / name


def _read(path: Path) -> pd.DataFrame:
    """A register entry; a damaged one is an error naming it (deleting it re-registers the export)."""
    try:
        return pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise IngestError(f"this id register entry is damaged ({exc}); delete it and the next run registers "
                          "the export again", path=str(path)) from None


def _short(title: str) -> str:
    return repr(title if len(title) <= 70 else title[:67] + "...")


def check_and_register(register: Path, source_file: str, records: pd.DataFrame, root: Path) -> None:
    """Refuse an export whose record ids would now name other records; else register it.

    ``source_file`` is the export's path below ``root`` as written in its records. Raises
    :class:`IngestError` naming the export: edited in place (ids moved onto other records), or
    the same records as a registered export that is no longer at its path (moved or renamed).
    """
    now = fingerprints(records)
    entry = entry_path(register, source_file)
    if entry.is_file():
        moved = moved_ids(_read(entry), now)
        if len(moved):
            first = moved.iloc[0]
            more = f" (and {len(moved) - 1} more)" if len(moved) > 1 else ""
            raise IngestError(
                f"this export changed since its records were given ids: record {int(first.source_index) + 1} "
                f"({first.record_id}) was {_short(first.title_before)} and is now {_short(first.title_now)}{more}, "
                "so decisions made on it would apply to another record; put the original export back and add "
                f"the corrected one as a new search round (or delete {entry} if no decision names its records)",
                path=source_file,
            )
    else:
        for other in sorted(register.rglob(f"*{SUFFIX}")):
            old_source, old_place = _registered_path(register, other, root)
            if old_place.exists() or not same_records(_read(other), now):
                continue
            raise IngestError(
                f"this export was {old_source} (moved or renamed): a record's id is its round folder, file "
                f"name and position, so decisions made on its records would no longer apply; move it back "
                f"(or delete {other} if no decision names its records)",
                path=source_file,
            )
    table = pa.Table.from_pandas(now, preserve_index=False)
    write_atomically(entry, lambda tmp: pq.write_table(table, tmp))
