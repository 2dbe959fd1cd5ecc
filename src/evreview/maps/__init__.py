"""Evidence-gap maps: cells, gaps, the interactive HTML map and the static SVG/PNG.

``build_map`` is pure (coded studies + vocabulary + spec -> tables and HTML text);
``write_map`` puts them on disk. The axes come from config (``map.rows``, ``map.columns``,
``map.segment``, ``map.filters``), the vocabulary from the codebook.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from evreview.errors import ConfigError
from evreview.maps.cells import MapSpec, Vocabulary, dimension_gaps, find_gaps, map_cells
from evreview.maps.html import map_payload, render_map_html
from evreview.reporting import write_csv

__all__ = ["MapResult", "MapSpec", "build_map", "gap_report", "spec_from_config", "vocab_from_codebook", "write_map"]


@dataclass
class MapResult:
    spec: MapSpec
    vocab: dict[str, list[tuple[str, str]]]
    cells: pd.DataFrame
    gaps: pd.DataFrame
    cross_gaps: pd.DataFrame
    html: str
    title: str


def vocab_from_codebook(codebook: Any) -> dict[str, list[tuple[str, str]]]:
    """dimension id -> [(code id, label)] in codebook order (works on evreview.code's Codebook)."""
    return {dim.id: [(code.id, code.label) for code in dim.codes] for dim in codebook.dimensions}


def map_roles(codebook: Any) -> dict[str, str]:
    """Each codebook dimension's ``map`` (axis, filter or none), for :func:`spec_from_config`."""
    return {d.id: d.map for d in codebook.dimensions}


def dimension_labels(codebook: Any) -> dict[str, str]:
    return {dim.id: dim.label for dim in codebook.dimensions}


def spec_from_config(
    map_config: dict[str, Any], vocab: Vocabulary, *, source: str | Path | None = None,
    roles: Mapping[str, str] | None = None,
) -> MapSpec:
    """The map spec from config, checked against the codebook's dimensions (``map.cross`` too).

    ``source``: the config file, named in the error. ``roles``: each dimension's ``map`` in the
    codebook (:func:`map_roles`): an ``axis`` dimension may be rows, columns or segment, a
    ``filter`` one only a filter (or a ``cross`` dimension), a ``none`` one nothing on the map.
    Without the check the codebook's ``map`` was read by nothing, and said otherwise than the map
    drawn (the demo's evidence type, ``map: filter``, was the map's segment).
    """
    spec = MapSpec(
        rows=map_config.get("rows", "theme"),
        columns=map_config.get("columns", "outcome_level"),
        segment=map_config.get("segment") or None,
        filters=tuple(map_config.get("filters", ())),
        sparse_threshold=int(map_config.get("sparse_threshold", 2)),
        synthesis_min_primary=int(map_config.get("synthesis_min_primary", 5)),
        review_dimension=map_config.get("review_dimension", "evidence_type"),
        review_code=map_config.get("review_code", "review"),
        min_filter_studies=int(map_config.get("min_filter_studies", 5)),
    )
    used = [("rows", spec.rows), ("columns", spec.columns), ("segment", spec.segment),
            *(("filters", f) for f in spec.filters), *(("cross", c) for c in map_config.get("cross") or ())]
    for name, dim in used:
        if dim and dim not in vocab:
            raise ConfigError(
                f"map.{name}: {dim!r} is not a codebook dimension (known: {', '.join(vocab)})", path=source
            )
    allowed = {"rows": ("axis",), "columns": ("axis",), "segment": ("axis",), "filters": ("axis", "filter"),
               "cross": ("axis", "filter")}
    for name, dim in used:
        role = (roles or {}).get(dim or "")
        if role is not None and role not in allowed[name]:
            raise ConfigError(
                f"map.{name}: dimension {dim!r} has map: {role} in the codebook, so it cannot be the map's {name}; "
                f"set its map to {' or '.join(allowed[name])} in the codebook, or choose another dimension",
                path=source,
            )
    review_codes = {code for code, _ in vocab.get(spec.review_dimension or "", ())}
    # set in the config, a dimension or code the codebook lacks is a typo ("reveiw") that would
    # silently switch synthesis gaps off; only the defaults may be absent from a codebook
    if "review_dimension" in map_config and spec.review_dimension and spec.review_dimension not in vocab:
        raise ConfigError(f"map.review_dimension: {spec.review_dimension!r} is not a codebook dimension "
                          f"(known: {', '.join(vocab)})", path=source)
    if "review_code" in map_config and spec.review_dimension in vocab and spec.review_code not in review_codes:
        raise ConfigError(f"map.review_code: {spec.review_code!r} is not a code of {spec.review_dimension!r} "
                          f"(its codes: {', '.join(sorted(review_codes))})", path=source)
    if spec.review_dimension and (spec.review_dimension not in vocab or spec.review_code not in review_codes):
        # no review code to tell reviews from primary studies: the gap report says synthesis gaps
        # were not looked for, rather than listing none
        spec = MapSpec(**{**spec.__dict__, "review_dimension": None, "review_code": None})
    return spec


def build_map(
    coded: pd.DataFrame,
    vocab: Vocabulary,
    spec: MapSpec,
    *,
    title: str = "Evidence-gap map",
    labels: dict[str, str] | None = None,
    cross: tuple[str, str] | None = None,
) -> MapResult:
    """Cells, gaps and the interactive page for the included, coded studies."""
    coded = coded.sort_values("study_id").reset_index(drop=True)
    cells = map_cells(coded, spec, vocab)
    gaps = find_gaps(coded, spec, vocab)
    cross_gaps = dimension_gaps(coded, *cross, vocab) if cross else pd.DataFrame()
    html_text = render_map_html(map_payload(coded, spec, vocab, title=title, dimension_labels=labels))
    return MapResult(spec, {k: list(v) for k, v in vocab.items()}, cells, gaps, cross_gaps, html_text, title)


def gap_report(result: MapResult, n_studies: int, awaiting: int = 0) -> str:
    """The gap report in Markdown: absolute, sparse, synthesis, segment and filtered gaps.

    ``awaiting``: studies still awaiting screening or a reviewer's maybe; the report says how
    many, as its gaps may close when they are screened (with 11 of 286 studies screened, "no
    study on X" said little about the evidence, and nothing said so).
    """
    spec = result.spec
    lines = [
        # the map's default title is "Evidence-gap map: <review title>": the heading said
        # "Evidence gaps: Evidence-gap map: ..." with it
        f"# Evidence gaps: {result.title.removeprefix('Evidence-gap map: ')}",
        "",
        f"Map of {n_studies} included studies: rows = {spec.rows}, columns = {spec.columns}"
        + (f", segments = {spec.segment}" if spec.segment else "")
        + f". Sparse = at most {spec.sparse_threshold} studies; synthesis gap = at least "
        f"{spec.synthesis_min_primary} primary studies and no review.",
        "",
    ]
    totals = result.cells[result.cells["segment"] == ""]["study_ids"] if len(result.cells) else []
    placed = {i for ids in totals for i in ids.split(";") if i}
    unplaced = n_studies - len(placed)
    if unplaced > 0:
        lines += [
            f"{unplaced} included stud{'y has' if unplaced == 1 else 'ies have'} no {spec.rows} or no {spec.columns} "
            "code and so appear in no cell (their uncoded_reason is in the coded records).",
            "",
        ]
    if awaiting and n_studies:
        lines += [
            f"{awaiting} stud{'y is' if awaiting == 1 else 'ies are'} still awaiting screening or classification, "
            f"against {n_studies} included: the gaps below may close as they are screened.",
            "",
        ]
    if n_studies == 0:
        # a first run before any screening: every cell is empty, which says nothing about the evidence
        lines += [
            "No study is included yet, so every cell below is empty because nothing has been screened in, "
            "not because evidence is missing. Screen (evreview screen) and run again.",
            "",
        ]
    gaps = result.gaps
    sections = [
        ("absolute", "Absolute gaps (no study)"),
        ("sparse", "Sparse cells"),
        ("synthesis", "Synthesis gaps (primary studies, no review)"),
        ("segment", "Missing evidence types within a cell"),
    ]
    for kind, heading in sections:
        if kind == "synthesis" and not (spec.review_dimension and spec.review_code):
            lines += [f"## {heading} (not looked for)", "",
                      "- the codebook has no review code to tell reviews from primary studies: set "
                      "map.review_dimension and map.review_code to a dimension and its code for reviews", ""]
            continue
        rows = gaps[(gaps["kind"] == kind) & (gaps["filter_dimension"] == "")]
        lines += [f"## {heading} ({len(rows)})", ""]
        lines += [f"- {d}" for d in rows["description"]] or ["- none"]
        lines.append("")
    filtered = gaps[gaps["filter_dimension"] != ""]
    lines += [f"## Gaps that appear only under a filter ({len(filtered)})", ""]
    lines += [f"- [{k}] {d}" for k, d in zip(filtered["kind"], filtered["description"])] or ["- none"]
    lines.append("")
    if len(result.cross_gaps):
        cg = result.cross_gaps
        empty = cg[cg["n_studies"] == 0]
        a, b = cg["dimension_a"].iloc[0], cg["dimension_b"].iloc[0]
        lines += [f"## Empty combinations of {a} x {b} ({len(empty)})", ""]
        lines += [f"- no study: {x} x {y}" for x, y in zip(empty["label_a"], empty["label_b"])] or ["- none"]
        lines.append("")
        # a machine-coded map rarely shows a true hole as exactly zero: one mis-coded study
        # fills it, so thin combinations are listed beside the empty ones
        sparse = cg[(cg["n_studies"] > 0) & (cg["n_studies"] <= spec.sparse_threshold)]
        lines += [f"## Sparse combinations of {a} x {b} (at most {spec.sparse_threshold} studies) ({len(sparse)})", ""]
        lines += [
            f"- {n} stud{'y' if n == 1 else 'ies'}: {x} x {y}"
            for x, y, n in zip(sparse["label_a"], sparse["label_b"], sparse["n_studies"])
        ] or ["- none"]
        lines.append("")
    return "\n".join(lines)


def write_map(result: MapResult, outdir: str | Path, n_studies: int, awaiting: int = 0) -> dict[str, Path]:
    """Write egm.html, egm.svg, egm.png, egm_cells.csv/.json, gaps.csv, gaps.md and cross_gaps.csv
    (every combination of the two ``map.cross`` dimensions with its study count) into ``outdir``;
    ``awaiting`` studies not yet screened are noted in gaps.md (:func:`gap_report`)."""
    from evreview.maps.static import draw_map

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "html": out / "egm.html",
        "svg": out / "egm.svg",
        "png": out / "egm.png",
        "cells_csv": out / "egm_cells.csv",
        "cells_json": out / "egm_cells.json",
        "gaps_csv": out / "gaps.csv",
        "gaps_md": out / "gaps.md",
        "cross_csv": out / "cross_gaps.csv",
    }
    paths["html"].write_text(result.html, encoding="utf-8")
    draw_map(result.cells, result.spec, result.vocab, title=result.title, svg_path=paths["svg"], png_path=paths["png"])
    write_csv(result.cells, paths["cells_csv"])
    paths["cells_json"].write_text(
        json.dumps(result.cells.to_dict("records"), ensure_ascii=False, indent=1, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    write_csv(result.gaps, paths["gaps_csv"])
    write_csv(result.cross_gaps, paths["cross_csv"])
    paths["gaps_md"].write_text(gap_report(result, n_studies, awaiting), encoding="utf-8")
    return paths
