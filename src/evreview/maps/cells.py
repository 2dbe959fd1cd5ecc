"""Evidence-gap map cells and gaps, as pure functions over the coded studies table.

A map is drawn from three codebook dimensions (rows x columns, segmented by a third); any
other dimension (and year, source database) can filter it. Coding is multi-label, so a study
counts once in every cell whose row *and* column codes it carries; cell totals are numbers of
distinct studies, never of assignments.

Gaps, in the sense of the 3ie / Campbell evidence-gap maps:

* **absolute** gap: a cell with no study; **sparse**: at most ``sparse_threshold`` studies;
* **synthesis** gap: at least ``synthesis_min_primary`` primary studies but no review
  (a study coded with the review code of the evidence-type dimension);
* **segment** gap: a cell that has studies but none of one segment code (e.g. no
  longitudinal study of early-stage set-up);
* **filtered** gaps: the above recomputed under each filter value, reported only when the gap
  does not already show on the unfiltered map (e.g. a cell empty only for one place).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

#: An ordered list of (code id, label) per dimension id: the map's vocabulary.
Vocabulary = Mapping[str, Sequence[tuple[str, str]]]


@dataclass(frozen=True)
class MapSpec:
    """Which dimensions a map uses and how gaps are called."""

    rows: str
    columns: str
    segment: str | None = None
    filters: tuple[str, ...] = ()
    sparse_threshold: int = 2
    synthesis_min_primary: int = 5
    review_dimension: str | None = "evidence_type"
    review_code: str | None = "review"
    min_filter_studies: int = 5
    extra: dict = field(default_factory=dict)


def split_codes(value: object) -> list[str]:
    """Codes of one study in one dimension (wide tables join them with ``;``)."""
    if value is None or (isinstance(value, float) and value != value):
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if str(v)]
    return [part.strip() for part in str(value).split(";") if part.strip()]


def explode_codes(coded: pd.DataFrame, dims: Iterable[str]) -> dict[str, dict[str, set[str]]]:
    """dimension -> code -> set of study ids.

    Gap finding calls this dozens of times per run (every filter value, both states of a
    change report), so it works on distinct cell values: a column of 100k studies holds a few
    hundred distinct ``a;b`` strings. Each distinct value is split once and its studies are
    added to each code's set in one ``set.update``. Codes keep the order in which they first
    occur down the table, as a row-by-row walk would give them.
    """
    out: dict[str, dict[str, set[str]]] = {}
    sids: np.ndarray | None = None
    for dim in dims:
        members: dict[str, set[str]] = {}
        if dim in coded.columns:
            if sids is None:
                # plain Python objects once: element access on Arrow-backed strings is slow
                sids = np.array(coded["study_id"].astype(str).tolist(), dtype=object)
            column = coded[dim]
            # all text, nothing missing (the usual coded table): no per-cell type check needed
            text = not column.isna().any() and pd.api.types.infer_dtype(column, skipna=False) == "string"
            _add_members(members, sids, column.tolist(), all_text=text)
        out[dim] = members
    return out


def _add_members(members: dict[str, set[str]], sids: np.ndarray, values: list, *, all_text: bool = False) -> None:
    """Add each study id of ``sids`` to the set of every code in its cell of ``values``
    (``all_text``: the caller knows every value is a ``str``)."""
    if not all_text and not all(type(v) is str or _is_nan(v) for v in values):
        for sid, value in zip(sids.tolist(), values):  # lists, numbers, pd.NA: the general path
            for code in split_codes(value):
                members.setdefault(code, set()).add(sid)
        return
    # NaN/None rows carry no code (split_codes gives none), so only strings are grouped
    labels, uniques = pd.factorize(np.array(values, dtype=object), use_na_sentinel=True)
    keep = labels >= 0
    labels, kept_sids = labels[keep], sids[keep]
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(len(uniques) + 1))
    for k, value in enumerate(uniques):  # in order of first occurrence
        ids = kept_sids[order[bounds[k]:bounds[k + 1]]]
        for code in split_codes(value):
            members.setdefault(code, set()).update(ids)


def _is_nan(value: object) -> bool:
    """None or a float NaN: the missing cells :func:`split_codes` reads as no code."""
    return value is None or (isinstance(value, float) and value != value)


def check_codes_known(coded: pd.DataFrame, vocab: Vocabulary, source: str | Path | None = None) -> None:
    """Refuse coded studies carrying a code the codebook lacks: they were coded with another codebook.

    Why: the map's rows and columns come from the codebook, so after a code is renamed or
    removed (and before the code step has run again) its studies sat in no cell, and the map
    and ``load_results(...).matrix()`` showed an empty row or column, a gap that is not there.
    ``source``: the coded table, named in the error.
    """
    from evreview.errors import EvreviewError

    dims = [dim for dim in vocab if dim in coded.columns]
    for dim, members in explode_codes(coded, dims).items():
        known = {code for code, _ in vocab[dim]}
        stale = sorted(set(members) - known)
        if stale:
            sid = sorted(members[stale[0]])[0]
            more = f" (and {len(stale) - 1} more such code{'s' if len(stale) > 2 else ''})" if len(stale) > 1 else ""
            raise EvreviewError(
                f"{dim} code {stale[0]!r} of study {sid} is not in the codebook{more} (its {dim} codes: "
                f"{', '.join(sorted(known))}): the codebook changed since the studies were coded; run the code "
                "step again (make run) before drawing the map",
                path=source,
            )


def as_plain_strings(coded: pd.DataFrame) -> pd.DataFrame:
    """``coded`` with its string columns as Python-object columns (the same values, missing ones kept).

    pandas 3 stores text in Arrow arrays; the map code selects subsets with ``isin`` and walks
    cells one by one, both far slower on Arrow strings than on object arrays.
    """
    out = coded.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.StringDtype):
            out[col] = out[col].astype(object)
    return out


#: dimension -> code -> ids of the studies carrying it (:func:`explode_codes`).
Members = dict[str, dict[str, set[str]]]


def _map_dims(spec: MapSpec) -> list[str]:
    """The dimensions a map's cells are drawn from: rows, columns and the segment, if any."""
    return [spec.rows, spec.columns] + ([spec.segment] if spec.segment else [])


def _cells(members: Members, spec: MapSpec, vocab: Vocabulary) -> Iterator[tuple[str, str, str, str, set[str], list]]:
    """(row, row label, column, column label, study ids, segments) of every cell in map order
    (rows x columns, in vocabulary order); ``segments`` holds (segment, label, study ids) for
    each segment code, in vocabulary order."""
    segments = list(vocab[spec.segment]) if spec.segment else []
    for r_code, r_label in vocab[spec.rows]:
        r_ids = members[spec.rows].get(r_code, set())
        for c_code, c_label in vocab[spec.columns]:
            cell = r_ids & members[spec.columns].get(c_code, set())
            parts = [
                (s_code, s_label, cell if not s_code else cell & members[spec.segment].get(s_code, set()))  # type: ignore[index]
                for s_code, s_label in segments
            ]
            yield r_code, r_label, c_code, c_label, cell, parts


def map_cells(coded: pd.DataFrame, spec: MapSpec, vocab: Vocabulary) -> pd.DataFrame:
    """One row per (row code, column code[, segment code]) with the number of studies.

    Rows with ``segment == ""`` are cell totals; every vocabulary combination appears, empty
    cells included (they are the point of the map). ``study_ids`` lists the studies (sorted).
    """
    members = explode_codes(coded, _map_dims(spec))
    rows = []
    for r_code, r_label, c_code, c_label, cell, parts in _cells(members, spec, vocab):
        for s_code, s_label, ids in [("", "", cell), *parts]:
            rows.append(
                {
                    "row": r_code,
                    "row_label": r_label,
                    "column": c_code,
                    "column_label": c_label,
                    "segment": s_code,
                    "segment_label": s_label,
                    "n_studies": len(ids),
                    "study_ids": ";".join(sorted(ids)),
                }
            )
    return pd.DataFrame(rows)


def find_gaps(coded: pd.DataFrame, spec: MapSpec, vocab: Vocabulary) -> pd.DataFrame:
    """Every gap on the map (and under each filter value), one row each, with its kind.

    The codes of every study are read once (:func:`explode_codes`); the map under a filter
    value is those code sets restricted to its studies (what reading the codes of just those
    rows of ``coded`` gives), so no table is subset and no cell list rebuilt per filter value.
    """
    review = [spec.review_dimension] if spec.review_dimension and spec.review_code else []
    filters = [dim for dim in spec.filters if dim != "year"]
    members = explode_codes(coded, dict.fromkeys([*_map_dims(spec), *review, *filters]))
    # a cell's study ids went through ";".join and split(";") before: the same set unless an id
    # is empty or holds a ";" (then that round trip is kept, so the gaps stay as they were)
    ids = coded["study_id"].astype(str).tolist() if "study_id" in coded.columns else []
    listed = None if all(sid and ";" not in sid for sid in ids) else _listed
    gaps = _gaps_of(members, spec, vocab, filter_dim="", filter_code="", listed=listed)
    seen = {(g["kind"], g["row"], g["column"], g["segment"]) for g in gaps}
    used = _map_dims(spec) + review
    for dim in spec.filters:
        labels = dict(vocab.get(dim, ()))
        for code, studies in sorted(({} if dim == "year" else members[dim]).items()):
            if len(studies) < spec.min_filter_studies:
                continue
            subset = {d: {c: m & studies for c, m in members[d].items()} for d in used}
            for gap in _gaps_of(subset, spec, vocab, filter_dim=dim, filter_code=code,
                                filter_label=labels.get(code, code), listed=listed):
                if gap["kind"] == "sparse":
                    continue  # a subset is sparse everywhere by construction; report only holes
                if (gap["kind"], gap["row"], gap["column"], gap["segment"]) in seen:
                    continue
                gaps.append(gap)
    columns = [
        "kind", "row", "row_label", "column", "column_label", "segment", "segment_label",
        "filter_dimension", "filter_code", "filter_label", "n_studies", "n_primary", "n_reviews", "description",
    ]
    return pd.DataFrame(gaps, columns=columns)


def _listed(ids: set[str]) -> set[str]:
    """``ids`` as read back from a ``;``-joined list of them (empty ids dropped, ids split at ``;``)."""
    return set(filter(None, ";".join(sorted(ids)).split(";")))


def _gaps_of(
    members: Members, spec: MapSpec, vocab: Vocabulary, *, filter_dim: str, filter_code: str,
    filter_label: str = "", listed: Callable[[set[str]], set[str]] | None = None,
) -> list:
    """The gaps of the map whose studies' codes are ``members`` (one dict per gap, map order).

    Descriptions name the filter value by its label, as they name rows and columns (``gaps.md``
    is read by people; the code is in the ``filter_code`` column).
    """
    reviews: set[str] = set()
    if spec.review_dimension and spec.review_code:
        reviews = members.get(spec.review_dimension, {}).get(spec.review_code, set())
    under = f" (only where {filter_dim} = {filter_label or filter_code})" if filter_dim else ""
    out = []
    for r_code, r_label, c_code, c_label, cell, parts in _cells(members, spec, vocab):
        ids = listed(cell) if listed else cell
        n_reviews = len(ids & reviews)
        n_primary = len(ids) - n_reviews
        base = {
            "row": r_code, "row_label": r_label, "column": c_code, "column_label": c_label,
            "segment": "", "segment_label": "", "filter_dimension": filter_dim, "filter_code": filter_code,
            "filter_label": filter_label, "n_studies": len(ids), "n_primary": n_primary, "n_reviews": n_reviews,
        }
        name = f"{r_label} x {c_label}"
        if not ids:
            out.append({**base, "kind": "absolute", "description": f"no study on {name}{under}"})
            continue
        if len(ids) <= spec.sparse_threshold:
            noun = "study" if len(ids) == 1 else "studies"
            out.append({**base, "kind": "sparse", "description": f"only {len(ids)} {noun} on {name}{under}"})
        if reviews and n_primary >= spec.synthesis_min_primary and n_reviews == 0:
            primary = "primary study" if n_primary == 1 else "primary studies"
            out.append({**base, "kind": "synthesis", "description": f"{n_primary} {primary} but no review on "
                        f"{name}{under}"})
        for s_code, s_label, seg_ids in parts:
            if s_code and not seg_ids and s_code != spec.review_code:
                out.append({**base, "segment": s_code, "segment_label": s_label, "kind": "segment", "n_studies": 0,
                            "description": f"no study of type '{s_label}' on {name}{under}"})
    return out


def dimension_gaps(coded: pd.DataFrame, dim_a: str, dim_b: str, vocab: Vocabulary) -> pd.DataFrame:
    """Cross-tabulate any two dimensions (e.g. stage x evidence type) and list empty pairs.

    The planted 'no longitudinal evaluation of early-stage set-up' is a gap between two
    dimensions that need not be the map's axes; this finds such holes directly.
    """
    members = explode_codes(coded, [dim_a, dim_b])
    rows = []
    for a_code, a_label in vocab[dim_a]:
        for b_code, b_label in vocab[dim_b]:
            n = len(members[dim_a].get(a_code, set()) & members[dim_b].get(b_code, set()))
            rows.append({"dimension_a": dim_a, "code_a": a_code, "label_a": a_label, "dimension_b": dim_b,
                         "code_b": b_code, "label_b": b_label, "n_studies": n})
    return pd.DataFrame(rows)
