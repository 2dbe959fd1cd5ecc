"""The ``evreview`` command: a thin shell over the stage functions.

Each stage contributes its subcommands from its own ``commands`` module (a ``register``
function adding parsers whose ``func`` does the work), so this file only lists them. The
list is a table of command name -> (module, one-line help) because importing every stage to
build the parser costs start-up time that small runs feel: ``evreview dedup ...`` imports only
``evreview.dedup.commands``, and ``evreview --help`` lists the commands from the table without
importing any stage. Stage modules import their heavy dependencies lazily as well:
``evreview ingest`` must start in well under a second and never load torch.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from evreview import __version__
from evreview.errors import EvreviewError

#: Modules with a ``register(subparsers)`` function, in help order. Only these are offered;
#: a module listed here but absent from :data:`COMMANDS` is always imported (its command
#: names are unknown until it registers them).
COMMAND_MODULES: tuple[str, ...] = (
    "evreview.ingest.commands",
    "evreview.dedup.commands",
    "evreview.screen.commands",
    "evreview.embed.commands",
    "evreview.code.commands",
    "evreview.ledger.commands",
    "evreview.maps.commands",
    "evreview.changes.commands",
    "evreview.report.commands",
    "evreview.provenance.commands",
)

#: command name -> (module that registers it, its one-line help), in help order. The help
#: must equal the ``help=`` the module passes to ``add_parser`` (tests/test_cli.py checks it):
#: it is what ``evreview --help`` shows without importing the module.
COMMANDS: dict[str, tuple[str, str]] = {
    "ingest": ("evreview.ingest.commands", "read database exports into one normalised record table"),
    "gather": ("evreview.ingest.commands", "combine per-file ingest outputs into one record table and report"),
    "dedup": ("evreview.dedup.commands", "find duplicate records and merge them into studies"),
    "screen": ("evreview.screen.commands", "interactive screening session (ranked, retrains as you go)"),
    "screen-report": ("evreview.screen.commands",
                      "apply rules and decisions, write the screening table, worklist and stopping estimate"),
    "simulate": ("evreview.screen.commands",
                 "replay prioritised screening on a fully labelled CSV (WSS@95, RRF@10, ATD)"),
    "embed": ("evreview.embed.commands",
              "embed studies into the content-hash cache (only new or changed text is computed)"),
    "embed-gather": ("evreview.embed.commands",
                     "merge embedding shard files into the content-hash cache (after embed --shard K --shards N)"),
    "code": ("evreview.code.commands", "code included studies into the codebook and topics"),
    "audit": ("evreview.code.commands", "draw a stratified, seeded sample of coded studies for blind double-coding"),
    "agreement": ("evreview.code.commands", "Cohen's kappa and per-code precision/recall of machine vs human codes"),
    "ledger": ("evreview.ledger.commands", "one row per ingested record with its fate at every stage"),
    "prisma": ("evreview.ledger.commands",
               "PRISMA 2020 flow diagram (SVG, PNG) and counts (CSV in the PRISMA2020 template layout)"),
    "map": ("evreview.maps.commands", "evidence-gap map (HTML, SVG, PNG), its cells and the gap report"),
    "changes": ("evreview.changes.commands",
                "what the latest search round changed: new records, duplicates of earlier studies, new "
                "inclusions, map cells and gaps (changes.json, changes.md)"),
    "report": ("evreview.report.commands",
               "self-contained HTML run report (counts, PRISMA, dedup, screening, map, gaps)"),
    "provenance": ("evreview.provenance.commands",
                   "write provenance.json: evreview version, config hash, input hashes, model ids, output hashes"),
}

#: options of the top-level parser that take no value (skipped when finding the command name)
_GLOBAL_FLAGS = frozenset({"-h", "--help", "--version", "-v", "--verbose", "--debug"})


def _offered() -> dict[str, tuple[str, str]]:
    """The table restricted to :data:`COMMAND_MODULES` (tests narrow that tuple)."""
    return {name: entry for name, entry in COMMANDS.items() if entry[0] in COMMAND_MODULES}


def command_name(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` asks for: its first token that is not a top-level flag, if any."""
    for token in argv:
        if token == "--" or token in _GLOBAL_FLAGS:
            continue
        return None if token.startswith("-") else token
    return None


def build_parser(command: str | None = None, *, lazy: bool = False) -> argparse.ArgumentParser:
    """The ``evreview`` parser.

    By default every module in :data:`COMMAND_MODULES` registers its commands (the complete
    parser). With ``lazy=True`` only the module of ``command`` is imported; the other commands
    of :data:`COMMANDS` are listed as stubs carrying the table's help, so the top-level help
    and the "invalid choice" message are the same as the complete parser's.
    """
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
    offered = _offered()
    tabled = {module for module, _ in COMMANDS.values()}
    if not lazy:
        load = list(COMMAND_MODULES)
    else:
        # modules the table does not describe must register themselves, in their listed place
        wanted = offered[command][0] if command in offered else None
        load = [m for m in COMMAND_MODULES if m == wanted or m not in tabled]
    for module in COMMAND_MODULES:
        if module in load:
            importlib.import_module(module).register(sub)
            continue
        for name, (owner, help_text) in offered.items():
            if owner == module and name not in sub.choices:
                stub = sub.add_parser(name, help=help_text, add_help=False)
                stub.set_defaults(_stub=True)
    return parser


#: Arrow's allocator for the program's own process (and the ingest workers it forks), unless the
#: user chose one with this variable. Arrow's default, its bundled mimalloc, hands freed pages
#: back to the kernel at once, so a stage that builds and drops table after table faults the
#: same memory in again and again: on the 2-core VM of our benchmarks, ingesting 102,000 RIS
#: records spent 3.1 s of system time with mimalloc and 1.0 s with the C library's allocator
#: (wall 4.9 -> 3.6 s), and deduplicating peaked 30-45 MB lower. Read by Arrow when it first
#: allocates, so it is set before any stage imports pyarrow.
ARROW_POOL_ENV = "ARROW_DEFAULT_MEMORY_POOL"
ARROW_POOL = "system"


def main(argv: Sequence[str] | None = None) -> int:
    program = argv is None  # the evreview program itself, not a call from Python code
    if program and "pyarrow" not in sys.modules:
        os.environ.setdefault(ARROW_POOL_ENV, ARROW_POOL)
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(command_name(argv), lazy=True).parse_args(argv)
    if getattr(args, "_stub", False):  # a command the lazy parser did not load: parse with everything
        args = build_parser().parse_args(argv)
    # a command may tune the process it owns (e.g. dedup's start-up), never a Python caller's
    args.as_program = program
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
    except OSError as exc:
        # a file the command could not read or write (permission, a full disk, a folder where a
        # file was expected) that no stage check caught first: the user's to fix, so one line
        # naming the file, as for an EvreviewError; --debug shows where it happened
        if args.debug:
            raise
        from evreview.atomic import shown_name

        where = f"{shown_name(exc.filename)}: " if exc.filename else ""
        print(f"evreview {args.command}: error: {where}{shown_name(exc.strerror or exc)}", file=sys.stderr)
        print("  (run with --debug for the traceback)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"evreview {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
