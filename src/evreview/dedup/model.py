"""The deduplication model: :class:`Deduplicator` and :func:`write_outputs`.

Kept out of the package ``__init__`` so that ``import evreview.dedup.commands`` (every
``evreview dedup`` start-up, ``--help`` included) does not import pandas before it is needed;
``evreview.dedup`` re-exports these names lazily. See the package docstring for the pipeline.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from evreview.dedup.blocking import DEFAULT_PASSES, MAX_BLOCK, WINDOW, candidate_pairs, pairs_frame
from evreview.dedup.cache import KEY_FIELDS, DedupCache
from evreview.dedup.cluster import cluster_pairs
from evreview.dedup.compare import ScoredPairs, with_scores
from evreview.dedup.decisions import empty_decisions, normalise_previous
from evreview.dedup.keys import build_keys
from evreview.dedup.merge import MERGE_FIELDS, assign_study_ids, choose_kept, completeness, merge_studies, record_order
from evreview.dedup.rules import RuleParams, decide
from evreview.errors import EvreviewError
from evreview.gcpause import gc_paused

__all__ = [
    "DUPLICATE_COLUMNS", "INPUT_COLUMNS", "METHOD", "PAIR_COLUMNS", "Deduplicator", "pairs_table", "write_outputs",
]

log = logging.getLogger(__name__)

METHOD = "evreview.dedup/1"
DUPLICATE_COLUMNS = ("record_id", "source_file", "source_id", "study_id", "cluster_id", "kept")
PAIR_COLUMNS = (
    "record_id_a", "record_id_b", "study_id_a", "study_id_b", "blocked_by", "title_score",
    "title_token_score", "title_partial_score", "author_score", "surname_score", "journal_score",
    "journal_compatible", "year_diff", "doi", "pmid", "registration", "volume", "issue", "first_page",
    "first_author", "title_numbers_equal", "title_prefix", "title_word_prefix", "title_min_length", "title_recurring",
    "page_range_equal", "same_venue_alias", "both_conference", "score", "decision", "rule", "outcome", "reviewer",
    "timestamp", "overruled", "method",
)
REQUIRED_COLUMNS = ("record_id",)
#: Every record column deduplication reads (keys, order, merged rows, duplicates.csv): a record
#: table is read with these only, never its ``raw`` JSON (two thirds of the file's bytes).
INPUT_COLUMNS = tuple(dict.fromkeys((
    "record_id", "search", "source_file", "source_index", "source_id", "source_database", *KEY_FIELDS, *MERGE_FIELDS,
)))


@dataclass
class Deduplicator:
    """Find duplicate records and group them into studies.

    Parameters are the blocking limits and the rule thresholds; ``workers`` is the number of
    rapidfuzz threads (scores are element-wise, so results are the same for any number).
    ``cache_dir`` (optional) keeps matching keys per export file and field scores per pair
    between runs (:mod:`.cache`), so a new search round normalises and compares only what is
    new; results are identical with or without it.
    """

    max_block: int = MAX_BLOCK
    window: int = WINDOW
    rules: RuleParams = field(default_factory=RuleParams)
    workers: int = 1
    round_order: Sequence[str] | None = None
    cache_dir: str | Path | None = None

    def get_params(self) -> dict[str, object]:
        """Parameters as written to the audit (``method`` column and ``params_``)."""
        return {
            "max_block": self.max_block,
            "window": self.window,
            "rules": asdict(self.rules),
            "passes": [p.name for p in DEFAULT_PASSES],
        }

    def fit(
        self,
        records: pd.DataFrame,
        decisions: pd.DataFrame | None = None,
        previous: Mapping[str, str] | None = None,
        *,
        keys: pd.DataFrame | None = None,
        scored: ScoredPairs | None = None,
    ) -> Deduplicator:
        """Deduplicate ``records`` (a record table from ingest, any order).

        ``decisions`` are reviewers' pair decisions (see :mod:`.decisions`); ``previous`` maps
        record ids of earlier rounds to their study ids, which are kept. ``keys``: the
        records' matching keys (:func:`~evreview.dedup.keys.build_keys`, row for row with
        ``records``) when they were computed elsewhere: ``evreview dedup`` computes them in a
        process of its own while its main process imports pandas, and ``scored``, the
        candidate pairs and their scores (:class:`~evreview.dedup.compare.ScoredPairs`, used
        only where it holds exactly what fit would compute). The results are the same.

        Sets ``keys_``, ``pairs_`` (every compared pair with scores, decision, rule and
        guard outcome), ``maybe_pairs_``, ``duplicates_`` (one row per record), ``studies_``,
        ``clusters_`` (study_id -> member record ids), ``notes_``, ``unmatched_decisions_`` and
        ``cache_stats_`` (what came from the cache).

        The cyclic GC is paused meanwhile (:mod:`evreview.gcpause`): its collections, set off by
        the keys and pairs' many small objects, found nothing to free and took 0.8 of 12 s at
        300,000 records, at the same peak memory.
        """
        with gc_paused():
            return self._fit(records, decisions, previous, keys, scored)

    def _fit(
        self,
        records: pd.DataFrame,
        decisions: pd.DataFrame | None,
        previous: Mapping[str, str] | None,
        keys: pd.DataFrame | None = None,
        given: ScoredPairs | None = None,
    ) -> Deduplicator:
        """:meth:`fit` with the GC paused."""
        missing = [c for c in REQUIRED_COLUMNS if c not in records]
        if missing:
            raise EvreviewError(f"record table lacks column(s) {', '.join(missing)}")
        # work in (round, file, position) order: positions, pairs and ties never depend on input order
        records = records.reset_index(drop=True)
        order = record_order(records, self.round_order)
        in_order = np.argsort(order, kind="stable")
        records = records.iloc[in_order].reset_index(drop=True)
        build = build_keys if keys is None else _given_keys(keys, in_order, len(records))
        order = np.arange(len(records))
        ids = records["record_id"].astype(str)
        dup = ids[ids.duplicated()]
        if len(dup):
            raise EvreviewError(f"record_id {dup.iloc[0]!r} appears more than once (records ingested twice?)",
                                record=dup.iloc[0])
        previous = normalise_previous(previous)
        decisions = decisions if decisions is not None else empty_decisions()
        self.params_ = self.get_params()
        # the pairs table names the method and a digest of its parameters (full text in dedup_params.json)
        params_text = json.dumps(self.params_, sort_keys=True, separators=(",", ":"))
        method = f"{METHOD} params:{hashlib.sha1(params_text.encode()).hexdigest()[:10]}"
        self.method_ = method

        log.info("dedup: keys for %d records", len(records))
        cache = DedupCache(self.cache_dir)
        self.keys_ = cache.keys(records, build)
        if given is not None and self._can_use(given, ids, decisions):
            pairs = pairs_frame(given.pairs)
            self.unmatched_decisions_ = decisions.iloc[:0]
            compared = with_scores(pairs, given.scores)
            cache.stats.pairs_compared += len(pairs)
        else:
            pairs = candidate_pairs(self.keys_, max_block=self.max_block, window=self.window)
            pairs, self.unmatched_decisions_ = _add_decision_pairs(pairs, decisions, ids)
            compared = cache.compare(self.keys_, pairs, workers=self.workers)
        log.info("dedup: %d candidate pairs", len(pairs))
        scored = decide(compared, self.rules)
        self.cache_stats_ = cache.stats
        scored = _apply_decisions(scored, decisions, ids)
        labels, outcome = cluster_pairs(self.keys_, scored)
        scored["outcome"] = outcome  # "" for pairs that are not "same"

        study_ids, self.notes_ = assign_study_ids(ids.to_numpy(), labels, order, previous)
        if "overruled" in decisions:
            self.notes_ += [
                f"reviewers disagree on {a} / {b}: {who}'s {said!r} (line {line}) is applied over {others}; "
                "add a row to resolve it"
                for a, b, said, who, line, others in zip(
                    decisions["record_id_a"], decisions["record_id_b"], decisions["decision"],
                    decisions["reviewer"], decisions["line"], decisions["overruled"])
                if others
            ]
        complete = completeness(records)
        kept = choose_kept(study_ids, complete, order)
        self.duplicates_ = pd.DataFrame(
            {
                "record_id": ids,
                "source_file": records.get("source_file", ""),
                "source_id": records.get("source_id", ""),
                "study_id": study_ids,
                "cluster_id": study_ids,
                "kept": kept,
            }
        ).sort_values(["study_id", "record_id"], kind="stable").reset_index(drop=True)
        self.studies_ = merge_studies(records, study_ids, kept, order, complete)
        # lists, not the Series: iterating an Arrow-backed Series boxes each value (0.7 -> 0.1 ms here)
        self.clusters_ = dict(zip(self.studies_["study_id"].tolist(), self.studies_["member_record_ids"].tolist()))

        self.pairs_ = pairs_table(scored, ids.to_numpy(dtype=object), study_ids, method)
        # for a reviewer: uncertain pairs, and "same" pairs the anti-chaining guard refused
        for_review = (self.pairs_["decision"] == "maybe") | (
            (self.pairs_["decision"] == "same") & ~self.pairs_["outcome"].isin(["merged", ""])
        )
        self.maybe_pairs_ = _with_record_text(self.pairs_[for_review].reset_index(drop=True), records)
        return self

    def _can_use(self, given: ScoredPairs, ids: pd.Series, decisions: pd.DataFrame) -> bool:
        """``given`` holds exactly the pairs and scores this fit would compute: the same records
        in the same order, blocking settings, no reviewer decision (each adds its pair), no
        cache (which keeps the scores for the next run)."""
        return (
            decisions.empty
            and self.cache_dir is None
            and (given.max_block, given.window) == (self.max_block, self.window)
            and given.record_ids == ids.tolist()
        )

    @property
    def n_studies_(self) -> int:
        return len(self.studies_)


def _given_keys(keys: pd.DataFrame, in_order: np.ndarray, n: int) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """A key builder that looks up keys given to :meth:`Deduplicator.fit` (in the records'
    input order) instead of building them: the records are put in ``in_order`` first."""
    if len(keys) != n:
        raise ValueError(f"keys has {len(keys)} rows for {n} records")
    ordered = keys.iloc[in_order].reset_index(drop=True)

    def build(part: pd.DataFrame) -> pd.DataFrame:
        return ordered if part.index.equals(ordered.index) else ordered.loc[part.index]

    return build


def _add_decision_pairs(
    pairs: pd.DataFrame, decisions: pd.DataFrame, ids: pd.Series
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Make sure every reviewer-decided pair is compared (even if blocking missed it)."""
    if decisions.empty:
        return pairs, decisions.iloc[:0]
    pos = pd.Series(np.arange(len(ids)), index=ids.to_numpy())
    a = decisions["record_id_a"].map(pos)
    b = decisions["record_id_b"].map(pos)
    known = a.notna() & b.notna()
    unmatched = decisions[~known]
    if len(unmatched):
        log.warning("dedup: %d reviewer decision(s) name records not in this run", len(unmatched))
    ia = np.minimum(a[known], b[known]).astype(np.int64).to_numpy()
    jb = np.maximum(a[known], b[known]).astype(np.int64).to_numpy()
    extra = pd.DataFrame({"i": ia, "j": jb, "blocked_by": "reviewer"})
    merged = pd.concat([pairs, extra], ignore_index=True)
    merged = merged.groupby(["i", "j"], sort=True, as_index=False)["blocked_by"].agg(
        lambda s: "+".join(dict.fromkeys(x for v in s for x in v.split("+"))))
    return merged, unmatched.reset_index(drop=True)


def _apply_decisions(scored: pd.DataFrame, decisions: pd.DataFrame, ids: pd.Series) -> pd.DataFrame:
    """Reviewers' decisions replace the rules' decision on their pairs.

    Decided pairs are found by position (``i * n + j`` looked up in a hash index), not by
    walking millions of pairs in Python; :func:`_add_decision_pairs` made sure each is there.
    """
    out = scored.copy(deep=False)  # copy-on-write: the caller's frame never changes, no column is copied twice
    out["reviewer"] = False
    out["reviewer_name"] = ""
    out["timestamp"] = ""
    out["overruled"] = ""  # other reviewers' differing decisions on the pair, so the audit shows them
    out["machine_rule"] = scored["rule"]  # the rule's word before a reviewer's (what the reviewer answered)
    if decisions.empty or not len(out):
        return out
    n = len(ids)
    pos = pd.Series(np.arange(n), index=ids.to_numpy())
    a = decisions["record_id_a"].map(pos)
    b = decisions["record_id_b"].map(pos)
    known = (a.notna() & b.notna()).to_numpy()
    dec = decisions[known]
    lo = np.minimum(a[known], b[known]).astype(np.int64).to_numpy()
    hi = np.maximum(a[known], b[known]).astype(np.int64).to_numpy()
    rows = pd.Index(out["i"].to_numpy() * n + out["j"].to_numpy()).get_indexer(lo * n + hi)
    dec, rows = dec[rows >= 0], rows[rows >= 0]
    verdicts = dec["decision"].to_numpy(dtype=object)
    for col, values in (
        ("decision", verdicts),
        ("rule", np.array([f"reviewer_{v}" for v in verdicts], dtype=object)),
        ("reviewer", np.ones(len(rows), dtype=bool)),
        ("reviewer_name", dec["reviewer"].to_numpy(dtype=object)),
        ("timestamp", dec["timestamp"].to_numpy(dtype=object)),
        ("overruled", dec["overruled"].fillna("").to_numpy(dtype=object) if "overruled" in dec
         else np.full(len(rows), "", dtype=object)),
    ):
        column = out[col].copy()
        column.iloc[rows] = values
        out[col] = column
    return out


def pairs_table(scored: pd.DataFrame, record_ids: np.ndarray, study_ids: np.ndarray, method: str) -> pd.DataFrame:
    """The audit table: :data:`PAIR_COLUMNS` of every scored pair, ``record_id_a < record_id_b``.

    Rows are sorted by (record_id_a, record_id_b), compared as ranks of the ids. Text columns
    are built in Arrow (a take from the ids or from each column's few distinct values) and
    handed to pandas as Arrow-backed strings: at 3.3 million pairs, a Python string object per
    cell cost more than all the sorting, once to build and again to write Parquet.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(record_ids)
    ids = pa.array(record_ids, type=pa.large_string())
    rank = np.empty(n, dtype=np.int64)
    rank[pc.sort_indices(ids).to_numpy()] = np.arange(n)  # UTF-8 byte order = code point order
    i, j = scored["i"].to_numpy(), scored["j"].to_numpy()
    swap = rank[i] > rank[j]
    first = np.where(swap, j, i)
    second = np.where(swap, i, j)
    sort = np.argsort(rank[first] * max(n, 1) + rank[second], kind="stable")
    first, second = first[sort], second[sort]
    studies = pa.array(np.asarray(study_ids, dtype=object), type=pa.large_string())
    reviewer = _text_column(scored["reviewer_name"], sort)
    derived = {
        "record_id_a": ids.take(first),
        "record_id_b": ids.take(second),
        "study_id_a": studies.take(first),
        "study_id_b": studies.take(second),
        "method": pc.if_else(pc.not_equal(reviewer, ""), "reviewer", method).cast(pa.large_string()),
        "reviewer": reviewer,
    }
    columns = {}
    for col in PAIR_COLUMNS:
        if col in derived:
            columns[col] = pd.Series(derived[col], dtype="str")
            continue
        values = scored[col]  # looked up once (a DataFrame column lookup is several microseconds)
        if values.dtype == object or isinstance(values.dtype, pd.CategoricalDtype) or (
                pd.api.types.is_string_dtype(values.dtype)):
            columns[col] = pd.Series(_text_column(values, sort), dtype="str")
        else:
            columns[col] = values.to_numpy()[sort]
    return pd.DataFrame(columns)


def _text_column(values: pd.Series, order: np.ndarray):  # -> pa.LargeStringArray
    """``values[order]`` as an Arrow string array, through its distinct values (missing as "")."""
    import pyarrow as pa

    if isinstance(values.dtype, pd.CategoricalDtype):
        codes, uniques = values.cat.codes.to_numpy(), values.cat.categories
    else:
        codes, uniques = pd.factorize(values.fillna(""), sort=False)
    return pa.array(np.asarray(uniques, dtype=object), type=pa.large_string()).take(codes[order])


#: what a reviewer reads to decide a pair, beside its record ids in maybe_pairs.csv
REVIEW_TEXT_COLUMNS = ("title", "year", "source_database")


def _with_record_text(maybe: pd.DataFrame, records: pd.DataFrame) -> pd.DataFrame:
    """``maybe`` with each record's title, year and database beside its study id.

    The pairs a reviewer is asked to decide held only ids and scores: to tell whether two
    records are one study, the reviewer had to look both ids up in records.parquet.
    """
    text: dict[str, pd.Series] = {}
    lookup = pd.Index(records["record_id"].astype(str)) if len(maybe) else None
    for side in ("a", "b"):
        ids = maybe[f"record_id_{side}"].astype(str)
        # only the few rows named are taken from the record table (a million records at scale)
        at_rows = lookup.get_indexer(ids) if lookup is not None else np.array([], dtype=np.intp)
        found = at_rows >= 0
        for col in REVIEW_TEXT_COLUMNS:
            values = np.full(len(ids), None, dtype=object)
            if col in records and found.any():
                values[found] = records[col].iloc[at_rows[found]].to_numpy(dtype=object)
            text[f"{col}_{side}"] = pd.Series(values, index=maybe.index, dtype=object)
    at = maybe.columns.get_loc("study_id_b") + 1 if "study_id_b" in maybe else len(maybe.columns)
    order = [f"{col}_{side}" for col in REVIEW_TEXT_COLUMNS for side in ("a", "b")]
    head, tail = maybe.iloc[:, :at], maybe.iloc[:, at:]
    return pd.concat([head, pd.DataFrame({c: text[c] for c in order}), tail], axis=1)


def write_outputs(model: Deduplicator, out_dir: str | Path) -> dict[str, Path]:
    """Write duplicates.csv, studies.parquet, pairs.parquet, maybe_pairs.csv and dedup_params.json.

    The full pairs table is Parquet: at scale it has millions of rows (3.3 million for 200,000
    records: 800 MB and half a minute as CSV, 40 MB and a few seconds as Parquet, and more rows
    than a spreadsheet opens). The pairs a reviewer acts on, ``maybe_pairs.csv``, stay CSV.
    """
    from evreview.reporting import write_csv, write_parquet

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "duplicates": out / "duplicates.csv",
        "studies": out / "studies.parquet",
        "pairs": out / "pairs.parquet",
        "maybe_pairs": out / "maybe_pairs.csv",
    }
    write_csv(model.duplicates_, paths["duplicates"])
    write_csv(model.maybe_pairs_, paths["maybe_pairs"])
    params = out / "dedup_params.json"
    params.write_text(json.dumps({"method": model.method_, "params": model.params_}, indent=2, sort_keys=True) + "\n")
    paths["params"] = params
    write_parquet(model.studies_, paths["studies"])
    write_parquet(model.pairs_, paths["pairs"])
    return paths
