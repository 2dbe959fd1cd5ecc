"""The ``evreview`` command: a thin shell over the stage functions.

Each stage contributes its subcommands from its own ``commands`` module (a ``register``
function adding parsers whose ``func`` does the work), so this file only lists them. Stage
modules import their heavy dependencies lazily: ``evreview ingest`` must start in well under
a second and never load torch.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from evreview import __version__
from evreview.errors import EvreviewError

#: Modules with a ``register(subparsers)`` function, in help order.
COMMAND_MODULES: tuple[str, ...] = (
    "evreview.ingest.commands",
    "evreview.dedup.commands",
    "evreview.screen.commands",
    "evreview.code.commands",
    "evreview.ledger.commands",
    "evreview.maps.commands",
    "evreview.report.commands",
    "evreview.provenance.commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evreview",
        description="Systematic evidence reviews from database exports: ingest, deduplicate, "
        "screen, code themes and map evidence gaps.",
    )
    parser.add_argument("--version", action="version", version=f"evreview {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        result = args.func(args)
    except EvreviewError as exc:
        if args.debug:
            raise
        print(f"evreview {args.command}: error: {exc}", file=sys.stderr)
        if exc.__cause__ is not None and not isinstance(exc.__cause__, EvreviewError):
            print("  (run with --debug for the traceback)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"evreview {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
