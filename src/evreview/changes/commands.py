"""``evreview changes``: what the latest search round changed (changes.json, changes.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

#: The ledger columns the change report reads (not the duplicate links or screening reasons).
LEDGER_COLUMNS = ("record_id", "search", "source_file", "source_database", "study_id", "kept", "fate")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "changes",
        help="what the latest search round changed: new records, duplicates of earlier studies, new "
        "inclusions, map cells and gaps (changes.json, changes.md)",
        description="Compare the current results with the same results restricted to the search rounds "
        "before the latest one (rounds ordered by their dates in the config or search.yaml). With one "
        "round there is nothing to compare and the outputs say so.",
    )
    p.add_argument("--ledger", type=Path, required=True, help="ledger.csv")
    p.add_argument("--studies", type=Path, help="studies.parquet from dedup (titles of new studies)")
    p.add_argument("--coded", type=Path, help="coded_records (.parquet or .csv); without it the map is not compared")
    p.add_argument("--codebook", type=Path, help="codebook (needed with --coded)")
    p.add_argument("--config", type=Path, required=True, help="config (search dates, map axes)")
    p.add_argument("--raw", type=Path, help="folder of the search rounds (default: the config's paths.raw)")
    p.add_argument("--out-dir", type=Path, required=True)
    p.set_defaults(func=run)


def _study_titles(path: Path) -> pd.DataFrame:
    """The columns of dedup's studies table that the change report lists (id, title, year).

    Only those are read from a Parquet table: the rest (abstracts, authors, members) is most of
    its bytes and of the command's time at 100k studies.
    """
    from evreview.errors import EvreviewError
    from evreview.reporting import read_table

    if not path.exists() or path.suffix.lower() != ".parquet":
        return read_table(path)
    try:
        import pyarrow.parquet as pq

        names = pq.read_schema(path).names
        return pd.read_parquet(path, columns=[c for c in ("study_id", "title", "year") if c in names])
    except Exception as exc:  # a corrupt file is the user's: same message as read_table's
        raise EvreviewError(f"cannot read table: {exc}", path=path) from exc


def run(args: argparse.Namespace) -> int:
    from evreview.changes import MapInputs, compute_changes, write_changes
    from evreview.config import load_config
    from evreview.errors import EvreviewError
    from evreview.ledger import read_ledger
    from evreview.rounds import round_order, rounds_for, searched_rounds

    config = load_config(args.config)
    ledger = read_ledger(args.ledger, columns=LEDGER_COLUMNS)
    rounds = rounds_for(config, args.raw, extra_rounds=set(ledger["search"]))
    raw = args.raw if args.raw is not None else config["paths"]["raw"]
    order = round_order(rounds, searched_rounds(rounds, raw, ledger["search"]))
    studies = _study_titles(args.studies) if args.studies is not None else None
    map_inputs = None
    if args.coded is not None:
        if args.codebook is None:
            raise EvreviewError("--coded needs --codebook (the map's vocabulary)")
        from evreview.code.codebook import load_codebook
        from evreview.maps import map_roles, spec_from_config, vocab_from_codebook
        from evreview.maps.commands import load_coded

        codebook = load_codebook(args.codebook)
        vocab = vocab_from_codebook(codebook)
        map_config = config.get("map", {})
        cross = tuple(map_config["cross"]) if map_config.get("cross") else None
        map_inputs = MapInputs(
            coded=load_coded(args.coded, None),
            spec=spec_from_config(map_config, vocab, source=args.config, roles=map_roles(codebook)),
            vocab=vocab,
            cross=cross,  # type: ignore[arg-type]
        )
    changes = compute_changes(ledger, order, rounds=rounds, studies=studies, map_inputs=map_inputs)
    write_changes(changes, args.out_dir)
    if changes["status"] != "compared":
        print(f"changes: {changes['message']}", file=sys.stderr)
    else:
        s = changes["summary"]
        print(f"changes: round {changes['latest_round']}: {s['new_records']} new records, "
              f"{s['new_duplicates_of_previous_studies']} of earlier studies, {s['new_studies']} new studies "
              f"({s['new_studies_included']} included)", file=sys.stderr)
    return 0
