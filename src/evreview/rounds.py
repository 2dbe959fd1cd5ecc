"""Search rounds: each sub-folder of ``paths.raw`` is one search, run on one date.

A review that is updated adds a round (``data/raw/2025-03_update/``) and runs again. Which
round is "earlier" decides which studies count as previously seen (:mod:`evreview.changes`,
the PRISMA updated-review template), so the order must come from the search dates, not from
folder names that may not sort by date. A round's date comes from ``config.searches`` or
from a ``search.yaml`` beside its exports::

    date: 2025-03-10            # YYYY-MM-DD
    description: Update search, Scopus and PubMed only
    query: '"research partnership*" AND (council* OR "local government")'   # optional

A round with no date is allowed (reported as ``unknown``) and is ordered after every dated
round, by name: a newly added round whose date was forgotten still counts as the latest.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from evreview.errors import ConfigError

#: Files in a round folder that are not exports (the workflow ingests every other file).
NOT_EXPORTS: frozenset[str] = frozenset({"README.md", "README.txt", "search.yaml", ".DS_Store"})
#: Name of the optional per-round metadata file.
SEARCH_FILE = "search.yaml"
#: Keys a ``search.yaml`` may hold (anything else is a typo we refuse, as in the config).
SEARCH_KEYS: frozenset[str] = frozenset({"date", "description", "query", "databases"})
ROUND_COLUMNS: tuple[str, ...] = ("round", "date", "date_source", "description", "files")


def _check_date(value: Any, where: str | Path, key: str = "date") -> str:
    """``value`` as an ISO date string, or a :class:`ConfigError` naming ``where``."""
    if isinstance(value, _dt.datetime):
        value = value.date()
    if isinstance(value, _dt.date):
        return value.isoformat()
    text = str(value).strip()
    try:
        parsed = _dt.date.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is None or len(text) != 10:
        raise ConfigError(f"{key} {value!r} is not a date in YYYY-MM-DD form", path=where)
    return parsed.isoformat()


def read_search_file(path: str | Path) -> dict[str, str]:
    """The metadata of one round's ``search.yaml`` (date ISO-formatted), or a clear error."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", path=path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"not valid YAML: {problem}", path=path, line=line) from None
    except ValueError as exc:  # YAML reads 2024-13-01 as a timestamp and fails building it
        raise ConfigError(f"date is not a date in YYYY-MM-DD form ({exc})", path=path) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("must be a mapping of keys (date, description, query, databases)", path=path)
    unknown = sorted(str(k) for k in data if k not in SEARCH_KEYS)
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(SEARCH_KEYS))})",
                          path=path)
    out: dict[str, str] = {}
    if data.get("date") is not None:
        out["date"] = _check_date(data["date"], path)
    for key in ("description", "query"):
        if data.get(key) is not None:
            if not isinstance(data[key], (str, int, float)):
                raise ConfigError(f"{key} must be text", path=path)
            out[key] = str(data[key])
    if data.get("databases") is not None:
        dbs = data["databases"]
        if isinstance(dbs, str):
            dbs = [dbs]
        if not isinstance(dbs, list) or not all(isinstance(d, str) for d in dbs):
            raise ConfigError("databases must be a list of names", path=path)
        out["databases"] = "; ".join(dbs)
    return out


def export_files(round_dir: Path) -> list[str]:
    """Names of the export files in one round folder (what the workflow ingests), sorted."""
    return sorted(
        p.name for p in round_dir.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.name not in NOT_EXPORTS
    )


def misplaced_exports(raw_dir: str | Path) -> list[Path]:
    """Files under ``raw_dir`` that the workflow would never ingest because of where they are.

    Only the files directly inside a round folder are exports (:func:`export_files`). A file
    dropped in ``raw_dir`` itself (``data/raw/scopus.ris``) or in a folder inside a round
    (``data/raw/2024-03/scopus/a.ris``) used to be skipped without a word, so its records were
    missing from every count while the run looked complete. Hidden files and READMEs are not
    exports; anything else is returned, sorted, for the run to refuse.
    """
    root = Path(raw_dir)
    if not root.is_dir():
        return []

    def visible(p: Path) -> bool:
        return not p.name.startswith(".") and p.name not in NOT_EXPORTS - {SEARCH_FILE}

    out = [p for p in root.iterdir() if p.is_file() and visible(p)]
    for sub in (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for inner in (p for p in sub.iterdir() if p.is_dir() and not p.name.startswith(".")):
            out += [p for p in inner.rglob("*") if p.is_file() and visible(p)
                    and not any(part.startswith(".") for part in p.relative_to(inner).parts)]
    return sorted(out)


def check_raw_layout(raw_dir: str | Path) -> None:
    """Refuse a raw folder the workflow cannot read whole: exports outside the round folders
    (see :func:`misplaced_exports`), or a round or export named with braces.

    Raises :class:`ConfigError` naming the first such file and what to do.
    """
    root = Path(raw_dir)
    if root.is_dir():
        for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for name in [sub.name, *export_files(sub)]:
                if "{" in name or "}" in name:
                    # Snakemake reads braces in an input path as a wildcard, whatever the quoting:
                    # the run stopped with "WildcardError ... cannot be determined: '1'"
                    where = sub if name == sub.name else sub / name
                    raise ConfigError("a folder or file name with { or } cannot be a workflow input: rename it "
                                      "before its first run (braces are Snakemake wildcards)", path=where.as_posix())
    stray = misplaced_exports(raw_dir)
    if not stray:
        return
    first = stray[0]
    more = f" ({len(stray) - 1} more file(s) like it)" if len(stray) > 1 else ""
    rel = first.relative_to(root)
    if len(rel.parts) == 1:
        how = (f"it is not in a search-round folder, so it would not be ingested: move it to "
               f"{root.as_posix()}/<round>/{first.name}")
    else:
        how = (f"it is in a folder inside round {rel.parts[0]!r}, so it would not be ingested: exports go "
               f"directly in {(root / rel.parts[0]).as_posix()}/ (or keep this file outside {root.as_posix()}/)")
    raise ConfigError(how + more, path=first.as_posix())


def check_round_names(rounds: pd.DataFrame, searches_config: Mapping[str, Any] | None, source: str | Path,
                      raw_dir: str | Path = "data/raw") -> None:
    """Refuse a ``searches`` entry that looks like a misspelt round folder name.

    A round listed in the config without a folder is allowed (a search planned, its exports
    to come), and a round folder without a date is allowed (ordered last). Together, with
    names this close, they are one round whose name was mistyped: the run went ahead with the
    real round undated, so the first search counted as the latest one (changes.md and the
    PRISMA diagram described it as the update). ``rounds`` is :func:`load_rounds`'s table.

    Only a config round with no folder of its own under ``raw_dir`` can be a typo: one whose
    folder exists (empty, or holding only its search.yaml while the exports are awaited) is a
    round of its own, however close its name to an undated folder's (``2025-04_update`` beside
    ``2025-03_update``); such a planned round was refused as a misspelling.
    """
    import difflib

    root = Path(raw_dir)
    folders = {r.round for r in rounds.itertuples() if r.files}
    if root.is_dir():
        folders |= {p.name for p in root.iterdir() if p.is_dir()}
    undated = sorted(r.round for r in rounds.itertuples() if r.files and not r.date)
    for name in sorted(searches_config or {}):
        if name in folders:
            continue
        close = difflib.get_close_matches(name, undated, n=1, cutoff=0.8)
        if close:
            raise ConfigError(
                f"searches.{name}: no round folder of that name in {root.as_posix()}/; did you mean "
                f"{close[0]!r}? (that folder has no date, so it would count as the latest search; "
                f"if {name} is a round planned, make its folder {(root / name).as_posix()}/ for its exports)",
                path=source)


def order_key(name: str, date: str) -> tuple[int, str, str]:
    """Sort key of a round: dated rounds by date (then name), then undated rounds by name."""
    return (0, date, name) if date else (1, "", name)


def load_rounds(raw_dir: str | Path | None, searches_config: Mapping[str, Mapping[str, Any]] | None = None,
                extra_rounds: Iterable[str] = ()) -> pd.DataFrame:
    """One row per search round: ``round, date, date_source, description, files``.

    Rounds are the sub-folders of ``raw_dir`` plus the rounds named in ``searches_config``
    (config ``searches``; a listed round without a folder has no files) plus ``extra_rounds``
    (e.g. rounds found in a ledger whose folder is gone). ``date_source`` is ``config``,
    ``search.yaml`` or ``unknown``; the config and a ``search.yaml`` that give different dates
    for one round are an error (one of them is a typo). Sorted with :func:`order_key`.
    """
    searches = dict(searches_config or {})
    found: dict[str, list[str]] = {}
    meta_files: dict[str, Path] = {}
    root = Path(raw_dir) if raw_dir is not None else None
    if root is not None and root.is_dir():
        for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            found[sub.name] = export_files(sub)
            if (sub / SEARCH_FILE).is_file():
                meta_files[sub.name] = sub / SEARCH_FILE
    names = set(found) | set(searches) | {str(r) for r in extra_rounds}
    rows = []
    for name in names:
        from_file = read_search_file(meta_files[name]) if name in meta_files else {}
        from_config = dict(searches.get(name) or {})
        if from_config.get("date") is not None:
            from_config["date"] = _check_date(from_config["date"], "config", key=f"searches.{name}.date")
        date, source = "", "unknown"
        if from_config.get("date"):
            date, source = from_config["date"], "config"
            if from_file.get("date") and from_file["date"] != date:
                raise ConfigError(
                    f"date {from_file['date']} disagrees with config searches.{name}.date {date}",
                    path=meta_files[name],
                )
        elif from_file.get("date"):
            date, source = from_file["date"], SEARCH_FILE
        description = str(from_config.get("description") or from_file.get("description") or "")
        rows.append(
            {
                "round": name,
                "date": date,
                "date_source": source,
                "description": description,
                "files": list(found.get(name, [])),
            }
        )
    rows.sort(key=lambda r: order_key(r["round"], r["date"]))
    return pd.DataFrame(rows, columns=list(ROUND_COLUMNS))


def round_order(rounds: pd.DataFrame | None, present: Iterable[str]) -> list[str]:
    """The rounds in ``present`` (e.g. a ledger's ``search`` values) from earliest to latest.

    Dates come from ``rounds`` (:func:`load_rounds`); a round it does not list is undated.
    """
    dates = dict(zip(rounds["round"], rounds["date"])) if rounds is not None and len(rounds) else {}
    names = {str(r) for r in present}
    return sorted(names, key=lambda n: order_key(n, str(dates.get(n, "") or "")))


def searched_rounds(rounds: pd.DataFrame, raw_dir: str | Path | None, present: Iterable[str]) -> list[str]:
    """The rounds searched: ``present`` (a ledger's rounds) and every round folder under
    ``raw_dir`` with a search.yaml and no export (a search that found nothing new), but not a
    round only listed in the config (planned) nor an empty folder without a search.yaml.
    A round without records was left out, so the round before it was reported as the latest
    search, in changes.md and the PRISMA diagram alike."""
    names = {str(r) for r in present}
    if raw_dir is not None:  # a round with exports is searched when the ledger has it (it may be given one round)
        names |= {str(r.round) for r in rounds.itertuples()
                  if not r.files and (Path(raw_dir) / str(r.round) / SEARCH_FILE).is_file()}
    return sorted(names)


def rounds_for(config: Mapping[str, Any], raw_dir: str | Path | None = None,
               extra_rounds: Iterable[str] = ()) -> pd.DataFrame:
    """:func:`load_rounds` for a loaded config (``raw_dir`` defaults to ``paths.raw``)."""
    raw = raw_dir if raw_dir is not None else (config.get("paths") or {}).get("raw")
    return load_rounds(raw, config.get("searches") or {}, extra_rounds)
