"""``evreview map``: the evidence-gap map from the coded studies."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from evreview.errors import EvreviewError

META_COLUMNS = ("title", "year", "journal", "doi", "source_databases")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "map",
        help="evidence-gap map (HTML, SVG, PNG), its cells and the gap report",
        description="Draw the evidence-gap map of the coded studies with the axes in the config's map "
        "section and the codebook's vocabulary.",
    )
    p.add_argument("--coded", type=Path, required=True, help="coded_records (.parquet or .csv)")
    p.add_argument("--studies", type=Path, help="studies.parquet from dedup (title, year, journal, doi, databases)")
    p.add_argument("--codebook", type=Path, required=True)
    p.add_argument("--config", type=Path, required=True)
    p.add_argument("--out-dir", type=Path, required=True)
    p.add_argument("--screening", type=Path,
                   help="screening.csv from screen: the gap report says how many studies still await screening")
    p.set_defaults(func=run)


def count_awaiting(screening_path: Path | None) -> int:
    """Studies of screening.csv still undecided or a reviewer's maybe (0 without the file)."""
    if screening_path is None:
        return 0
    from evreview.reporting import read_table

    screening = read_table(screening_path, columns=("status",))
    if "status" not in screening:
        raise EvreviewError("lacks column 'status' (is it screen's screening.csv?)", path=screening_path)
    return int(screening["status"].isin(["undecided", "maybe"]).sum())


def load_coded(coded_path: Path, studies_path: Path | None) -> pd.DataFrame:
    """Coded studies with the metadata the map lists (joined from dedup's studies when given)."""
    if not coded_path.exists():
        raise EvreviewError("no such file", path=coded_path)
    coded = pd.read_parquet(coded_path) if coded_path.suffix == ".parquet" else pd.read_csv(coded_path, dtype=str)
    if studies_path is not None:
        import pyarrow.parquet as pq

        # only the listed metadata: abstracts, authors and members are most of the table's bytes
        names = pq.read_schema(studies_path).names
        meta = [c for c in META_COLUMNS if c in names]
        studies = pd.read_parquet(studies_path, columns=["study_id", *meta] if "study_id" in names else None)
        coded = coded.drop(columns=[c for c in meta if c in coded.columns]).merge(
            studies[["study_id", *meta]], on="study_id", how="left"
        )
    return coded


def run(args: argparse.Namespace) -> int:
    from evreview.code.codebook import load_codebook
    from evreview.config import load_config
    from evreview.maps import build_map, dimension_labels, map_roles, spec_from_config, vocab_from_codebook, write_map
    from evreview.maps.cells import as_plain_strings, check_codes_known

    config = load_config(args.config)
    codebook = load_codebook(args.codebook)
    vocab = vocab_from_codebook(codebook)
    map_config = config.get("map", {})
    spec = spec_from_config(map_config, vocab, source=args.config, roles=map_roles(codebook))
    # object columns: the map's many subsets and per-study loops are slow on Arrow strings
    coded = as_plain_strings(load_coded(args.coded, args.studies))
    check_codes_known(coded, vocab, args.coded)
    cross = tuple(map_config["cross"]) if map_config.get("cross") else None
    result = build_map(
        coded,
        vocab,
        spec,
        title=map_config.get("title") or f"Evidence-gap map: {config['review']['title']}",
        labels=dimension_labels(codebook),
        cross=cross,
    )
    write_map(result, args.out_dir, len(coded), count_awaiting(args.screening))
    n_gaps = int((result.gaps["filter_dimension"] == "").sum())
    studies = "study" if len(coded) == 1 else "studies"
    print(f"map: {len(coded)} {studies}, {n_gaps} gaps on the full map, written to {args.out_dir}", file=sys.stderr)
    return 0
