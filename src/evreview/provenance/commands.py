"""``evreview provenance``: the run's manifest (provenance block + sha256 of every output)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "provenance",
        help="write provenance.json: evreview version, config hash, input hashes, model ids, output hashes",
        description="Hash every output file given and write them, with the run provenance the workflow "
        "passed in $EVREVIEW_PROVENANCE, to one JSON manifest.",
    )
    p.add_argument("outputs", nargs="*", type=Path, metavar="FILE", help="output files to hash")
    p.add_argument("--root", type=Path, default=Path("."), help="paths are recorded relative to this folder")
    p.add_argument("--out", "-o", type=Path, required=True)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from evreview.provenance import write_manifest

    write_manifest(args.outputs, args.out, root=args.root)
    return 0
