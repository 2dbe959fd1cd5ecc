"""The analysts' API: load a run's results as DataFrames.

>>> import evreview
>>> res = evreview.load_results(".")            # the project folder (config/config.yaml inside)
>>> res.coded.head()                            # one row per included, coded study
>>> res.cells(filters={"place": "uk"})          # map cells under a filter (code ids, not labels)
>>> res.studies_in_cell("infrastructure_systems", "societal")

Everything is read lazily from the paths in the project's config, so a notebook opens fast
and only touches the tables it uses. Nothing here writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from evreview.errors import EvreviewError

#: Where each output lives, relative to ``paths.results`` (R) or ``paths.coded`` (C); the
#: tables (all but the two JSON files) are what :meth:`Results.table` reads.
LAYOUT: dict[str, tuple[str, str]] = {
    "records": ("R", "records.parquet"),
    "ingest_report": ("R", "ingest_report.csv"),
    "ingest_problems": ("R", "ingest_problems.csv"),
    "duplicates": ("R", "dedup/duplicates.csv"),
    "studies": ("R", "dedup/studies.parquet"),
    "pairs": ("R", "dedup/pairs.parquet"),
    "screening": ("R", "screen/screening.csv"),
    "worklist": ("R", "screen/worklist.csv"),
    "ledger": ("R", "ledger.csv"),
    "prisma": ("R", "prisma/prisma.csv"),
    "map_cells": ("R", "map/egm_cells.csv"),
    "gaps": ("R", "map/gaps.csv"),
    "cross_gaps": ("R", "map/cross_gaps.csv"),
    "coded": ("C", "coded_records.parquet"),
    "assignments": ("C", "assignments.parquet"),
    "topics": ("C", "topics.csv"),
    "unmatched_decisions": ("C", "unmatched_decisions.csv"),
    "stopping": ("R", "screen/stopping.json"),
    "changes": ("R", "changes/changes.json"),
}

#: The workflow rule (``snakemake --until RULE``) that writes each output.
STEPS: dict[str, str] = {
    "records": "gather_records", "ingest_report": "gather_records", "ingest_problems": "gather_records",
    "duplicates": "deduplicate", "studies": "deduplicate", "pairs": "deduplicate",
    "screening": "screen", "worklist": "screen", "stopping": "screen", "ledger": "ledger", "prisma": "prisma",
    "map_cells": "evidence_gap_map", "gaps": "evidence_gap_map", "cross_gaps": "evidence_gap_map",
    "coded": "code", "assignments": "code", "topics": "code", "unmatched_decisions": "code", "changes": "changes",
}


#: The CSV tables' columns that are not text (numbers, flags), with the dtype they are read as;
#: every other column, ids included, stays text with empty cells as "".
CSV_TYPES: dict[str, dict[str, str]] = {
    "ingest_report": {c: "Int64" for c in ("found", "parsed", "failed", "warnings", "untitled", "bytes")},
    "ingest_problems": {"source_index": "Int64", "source_line": "Int64"},
    "duplicates": {"kept": "boolean"},
    "screening": {"score": "Float64", "rank": "Int64"},
    "worklist": {"rank": "Int64", "score": "Float64", "year": "Int64"},
    "ledger": {"source_index": "Int64", "kept": "boolean", "coded": "boolean"},
    "map_cells": {"n_studies": "Int64"},
    "gaps": {"n_studies": "Int64", "n_primary": "Int64", "n_reviews": "Int64"},
    "cross_gaps": {"n_studies": "Int64"},
    "topics": {"size": "Int64", "nearest_code_score": "Float64"},
    "unmatched_decisions": {"line": "Int64"},
}


def _typed(frame: pd.DataFrame, types: dict[str, str], path: Path) -> pd.DataFrame:
    """``frame`` (read as text) with the columns of ``types`` as numbers or booleans; "" is missing."""
    for col, dtype in types.items():
        if col not in frame.columns:
            continue
        text = frame[col].astype(object).where(frame[col] != "", None)
        try:
            if dtype == "boolean":
                bad = text.notna() & ~text.isin(["True", "False"])
                if bad.any():
                    raise ValueError(f"{text[bad].iloc[0]!r} is not True or False")
                frame[col] = text.map({"True": True, "False": False}).astype("boolean")
            else:
                frame[col] = pd.to_numeric(text).astype(dtype)
        except (TypeError, ValueError) as exc:
            raise EvreviewError(f"column {col!r} is not {dtype}: {exc}", path=path) from None
    return frame


def _existing(path: Path, name: str) -> Path:
    """``path``, or a clear error saying which stage's output is missing."""
    if not path.exists():
        raise EvreviewError(f"{name} not found: the workflow's {STEPS[name]!r} step writes it; has it run? "
                            "(make run)", path=path)
    return path


def _read(path: Path, types: dict[str, str] | None = None) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return _typed(pd.read_csv(path, dtype=str, keep_default_na=False), types or {}, path)


@dataclass
class Results:
    """A run's outputs. Attributes are DataFrames read on first use."""

    root: Path
    config: dict[str, Any] = field(repr=False)

    def path(self, name: str) -> Path:
        where, rel = LAYOUT[name]
        base = self.config["paths"]["results"] if where == "R" else self.config["paths"]["coded"]
        return self.root / base / rel

    def table(self, name: str) -> pd.DataFrame:
        """Any table of :data:`LAYOUT` by name; a clear error when that stage has not run.

        Ids and text are strings ("" when empty); the counts, scores, ranks and flags of the
        CSV tables are nullable numbers and booleans (:data:`CSV_TYPES`)."""
        tables = [n for n, (_, rel) in LAYOUT.items() if not rel.endswith(".json")]
        if name not in tables:
            raise EvreviewError(f"no table {name!r}; known: {', '.join(tables)}")
        return _read(_existing(self.path(name), name), CSV_TYPES.get(name))

    def available(self) -> list[str]:
        """The outputs of :data:`LAYOUT` this project has (the workflow steps that have run)."""
        return [name for name in LAYOUT if self.path(name).exists()]

    @cached_property
    def records(self) -> pd.DataFrame:
        return self.table("records")

    @cached_property
    def studies(self) -> pd.DataFrame:
        return self.table("studies")

    @cached_property
    def duplicates(self) -> pd.DataFrame:
        """One row per record: its study, cluster and whether it is the kept one."""
        return self.table("duplicates")

    @cached_property
    def pairs(self) -> pd.DataFrame:
        """Every record pair dedup compared, with its field scores, decision and deciding rule."""
        return self.table("pairs")

    @cached_property
    def screening(self) -> pd.DataFrame:
        return self.table("screening")

    @cached_property
    def ledger(self) -> pd.DataFrame:
        return self.table("ledger")

    @cached_property
    def assignments(self) -> pd.DataFrame:
        return self.table("assignments")

    @cached_property
    def topics(self) -> pd.DataFrame:
        """One row per topic, with ``code``: the topic's code id in :attr:`coded` and the
        assignments (``topic_3`` for topic 3), so ``coded.merge(topics, left_on="topic",
        right_on="code")`` joins them."""
        topics = self.table("topics")
        if "topic" in topics.columns and "code" not in topics.columns:
            topics.insert(1, "code", "topic_" + topics["topic"].astype(str))
        return topics

    @cached_property
    def gaps(self) -> pd.DataFrame:
        """The gap report: ``kind`` (absolute, sparse, synthesis, segment) per cell, on the whole map
        (``filter_dimension == ""``) or only under one filter value."""
        return self.table("gaps")

    @cached_property
    def cross_gaps(self) -> pd.DataFrame:
        """Every combination of the two ``map.cross`` dimensions with its study count (0: none)."""
        return self.table("cross_gaps")

    @cached_property
    def changes(self) -> dict[str, Any]:
        """What the latest search round changed (``changes/changes.json``: new records per
        database, new duplicates of earlier studies, new inclusions, changed map cells, gaps
        opened and closed)."""
        return json.loads(_existing(self.path("changes"), "changes").read_text(encoding="utf-8"))

    @cached_property
    def coded(self) -> pd.DataFrame:
        """Included, coded studies with their metadata (title, year, journal, doi, databases),
        as the code step wrote them (also when the codebook was edited since: see :meth:`matrix`)."""
        from evreview.maps.commands import load_coded

        studies = self.path("studies")
        path = _existing(self.path("coded"), "coded")
        return load_coded(path, studies if studies.exists() else None)

    @cached_property
    def _mapped(self) -> pd.DataFrame:
        """:attr:`coded` for the map's views (matrix, cells, filters): a code the project's
        codebook no longer has is an error there (the codebook was edited since the code step
        ran), as the map would show its studies nowhere, a gap that is not there. ``coded``
        itself still loads, so a notebook can look at the stale codes."""
        from evreview.maps.cells import check_codes_known

        check_codes_known(self.coded, self.vocab, self.path("coded"))
        return self.coded

    @cached_property
    def codebook(self) -> Any:
        from evreview.code.codebook import load_codebook

        return load_codebook(self.root / self.config.get("code", {}).get("codebook", "config/codebook.yaml"))

    @cached_property
    def vocab(self) -> dict[str, list[tuple[str, str]]]:
        from evreview.maps import vocab_from_codebook

        return vocab_from_codebook(self.codebook)

    @cached_property
    def _map_keys(self) -> list[str]:
        """The keys of the config's ``map`` section (from the schema, read once)."""
        from evreview.config import load_schema

        return list(load_schema()["properties"]["map"]["properties"])

    def spec(self, **overrides: Any):
        """The map spec from config, with e.g. ``rows="stage"`` overridden (any key of the
        config's ``map`` section; another name is an error, not silently the config's map)."""
        from evreview.maps import map_roles, spec_from_config

        known = self._map_keys
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise EvreviewError(f"unknown argument {unknown[0]!r}: the map takes filters=, years= and "
                                f"the config's map keys ({', '.join(known)})")
        return spec_from_config({**self.config.get("map", {}), **overrides}, self.vocab, roles=map_roles(self.codebook))

    def filter_coded(self, filters: dict[str, str] | None = None, years: tuple[int, int] | None = None) -> pd.DataFrame:
        """Coded studies carrying every ``{dimension: code}`` in ``filters`` (code ids, not labels)
        and with a year in ``years`` (inclusive); none is an empty table, an unknown code an error."""
        from evreview.maps.cells import split_codes

        coded = self._mapped
        mask = pd.Series(True, index=coded.index)
        for dim, code in (filters or {}).items():
            if dim not in coded.columns:
                raise EvreviewError(f"no dimension {dim!r}; known: {', '.join(self.vocab)}")
            codes = [c for c, _ in self.vocab.get(dim, ())]
            if codes and code not in codes:
                raise EvreviewError(f"no code {code!r} in dimension {dim!r}; its codes: {', '.join(codes)}")
            mask &= coded[dim].map(lambda v, c=code: c in split_codes(v))
        if years is not None:
            try:
                low, high = (int(y) for y in years)
            except (TypeError, ValueError):
                raise EvreviewError(f"years must be two whole years (first, last), not {years!r}") from None
            year = pd.to_numeric(coded["year"], errors="coerce")
            mask &= year.between(low, high)
        return coded[mask]

    def cells(self, filters: dict[str, str] | None = None, years: tuple[int, int] | None = None,
              **spec_overrides: Any) -> pd.DataFrame:
        """Map cells (rows x columns x segment) under optional filters."""
        from evreview.maps.cells import map_cells

        return map_cells(self.filter_coded(filters, years), self.spec(**spec_overrides), self.vocab)

    def matrix(self, filters: dict[str, str] | None = None, years: tuple[int, int] | None = None,
               **spec_overrides: Any) -> pd.DataFrame:
        """The map as a rows x columns table of study counts (segment totals)."""
        cells = self.cells(filters, years, **spec_overrides)
        totals = cells[cells["segment"] == ""]
        table = totals.pivot(index="row_label", columns="column_label", values="n_studies")
        spec = self.spec(**spec_overrides)
        order_r = [label for _, label in self.vocab[spec.rows]]
        order_c = [label for _, label in self.vocab[spec.columns]]
        return table.reindex(index=order_r, columns=order_c)

    def studies_in_cell(self, row: str, column: str, filters: dict[str, str] | None = None,
                        years: tuple[int, int] | None = None, **spec_overrides: Any) -> pd.DataFrame:
        """The studies behind one cell (title, year, journal, doi).

        ``row`` and ``column`` are code ids or their labels: :meth:`matrix` is indexed by labels,
        and ``studies_in_cell(m.index[0], m.columns[0])`` said there was no such cell.
        """
        cells = self.cells(filters, years, **spec_overrides)
        row = self._code_id(cells, "row", row)
        column = self._code_id(cells, "column", column)
        hit = cells[(cells["row"] == row) & (cells["column"] == column) & (cells["segment"] == "")]
        if hit.empty:
            raise EvreviewError(f"no cell {row!r} x {column!r} on this map")
        ids = [i for i in hit["study_ids"].iloc[0].split(";") if i]
        coded = self._mapped
        cols = [c for c in ("study_id", "title", "year", "journal", "doi") if c in coded.columns]
        return coded[coded["study_id"].isin(ids)][cols].sort_values("study_id").reset_index(drop=True)

    @staticmethod
    def _code_id(cells: pd.DataFrame, axis: str, value: str) -> str:
        """The code id of ``value`` on ``axis`` ("row"/"column") of ``cells``: itself if an id, else the
        id of the code labelled so (labels are what :meth:`matrix` shows)."""
        if (cells[axis] == value).any():
            return value
        ids = cells.loc[cells[f"{axis}_label"] == value, axis]
        return str(ids.iloc[0]) if len(ids) else value

    def stopping(self) -> dict[str, Any]:
        """Screening's ``stopping.json``: reviewers' agreement (Cohen's kappa) and the stopping estimate."""
        return json.loads(_existing(self.path("stopping"), "stopping").read_text(encoding="utf-8"))


def load_results(project: str | Path = ".", config: str | Path | None = None) -> Results:
    """Open a project's results (``project/config/config.yaml`` unless ``config`` is given).

    A relative ``config`` is looked for from the current directory, as a shell would, and
    then inside ``project`` (``load_results("review", config="config/alt.yaml")``).
    """
    from evreview.config import load_config

    root = Path(project)
    cfg_path = Path(config) if config else root / "config" / "config.yaml"
    if config and not cfg_path.is_absolute() and not cfg_path.exists() and (root / cfg_path).exists():
        cfg_path = root / cfg_path
    return Results(root=root, config=load_config(cfg_path))
