# Paths and input discovery shared by the rule files.

import json
import os
from pathlib import Path

from snakemake.exceptions import WorkflowError

from evreview.checks import DECISION_FILES, check_inputs, check_settings
from evreview.config import file_options, validate_config
from evreview.errors import EvreviewError
from evreview.provenance import ENV_VAR as PROVENANCE_ENV
from evreview.provenance import dumps, run_provenance
from evreview.rounds import SEARCH_FILE, check_raw_layout, check_round_names, load_rounds


def project_path(path):
    """``path`` relative to the working directory when inside it, else absolute.

    Snakemake makes a ``--configfile`` absolute; as a job's param or input it then differs
    between ``make run`` (which passes one) and a run without it (a profile), and when the
    project folder moves, and every job that takes it would re-run.
    """
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(resolved)


CONFIG_FILE = project_path(workflow.overwrite_configfiles[0] if workflow.overwrite_configfiles else "config/config.yaml")

# The config against the schema (defaults filled in), then what only a stage's own parser or
# the codebook can check (ranker options, map axes, embedding backend): one line naming the
# file and key, while the workflow is parsed, instead of Snakemake's schema dump or a job
# failing after ingest, deduplication and embedding.
try:
    validate_config(config, CONFIG_FILE)
    check_settings(config, CONFIG_FILE)
except EvreviewError as exc:
    raise WorkflowError(f"evreview: {exc}") from None

RAW = config["paths"]["raw"]
RESULTS = config["paths"]["results"]
LOGS = config["paths"]["logs"]
DECISIONS = config["paths"]["decisions"]
CODED = config["paths"]["coded"]

CODEBOOK = config.get("code", {}).get("codebook", "config/codebook.yaml")

# Decision files are inputs only; a malformed one stops the run here, while the workflow is
# parsed, before any job could rewrite an output.
try:
    check_inputs(DECISIONS, CODEBOOK)
except EvreviewError as exc:
    raise WorkflowError(f"evreview: {exc}") from None

# Search rounds (sub-folders of paths.raw) in date order (config `searches` or the round's
# search.yaml), so the earliest search's record names a study when a later round re-finds it.
# An export outside the round folders would never be ingested: refused, not skipped.
try:
    check_raw_layout(RAW)
    ROUNDS = load_rounds(RAW, config.get("searches", {}))
    check_round_names(ROUNDS, config.get("searches", {}), CONFIG_FILE, RAW)
except EvreviewError as exc:
    raise WorkflowError(f"evreview: {exc}") from None
SEARCH_FILES = [str(p) for p in sorted(Path(RAW).glob(f"*/{SEARCH_FILE}"))]


wildcard_constraints:
    search=r"[^/]+",
    file=r"[^/]+",
    shard=r"\d+",


def raw_exports():
    """(search round, file name) of every export under paths.raw: rounds by date, files by name."""
    return [(row.round, name) for row in ROUNDS.itertuples() for name in row.files]


def ingested_tables():
    return [f"{RESULTS}/ingest/{search}/{name}.parquet" for search, name in raw_exports()]


def settings(*sections):
    """The config ``sections`` a job reads, as a param: an edit there re-runs the job (Snakemake
    compares params), an edit elsewhere does not. With the config file itself as the input, a
    changed map threshold re-ran screening, and after it embedding and coding."""
    return json.dumps({name: config.get(name, {}) for name in sections}, sort_keys=True)


def optional_decisions(name):
    """A reviewers' decision file as an input when it exists (its edits then trigger a re-run)."""
    path = Path(DECISIONS) / name
    return [str(path)] if path.exists() else []


def decisions_flag(files):
    """``--decisions PATH`` for an existing decision file, nothing otherwise."""
    return f"--decisions '{files[0]}'" if len(files) else ""


def folder_of(name):
    """A params function: the folder of output ``name`` (for commands that write a folder)."""
    return lambda wildcards, output: str(Path(output[name]).parent)


def mem_mb(base, per_input_mb=0):
    """A ``mem_mb`` resource: ``base`` plus ``per_input_mb`` MB per MB of input, doubled on each
    retry (``--retries`` on a cluster), so a job killed for memory comes back with more."""
    return lambda wildcards, input, attempt: int((base + per_input_mb * input.size_mb) * 2 ** (attempt - 1))


def run_inputs():
    """Every input file of the run: exports, decision files, codebook (for the provenance)."""
    files = [f"{RAW}/{search}/{name}" for search, name in raw_exports()]
    files += SEARCH_FILES
    files += [str(Path(DECISIONS) / name) for name in sorted(DECISION_FILES)]
    return [*files, CODEBOOK]


# Every job gets the run provenance (version, config hash, input hashes, model ids) in its
# environment; writers embed it. Not a job input, so a new round does not re-run old jobs.
# Computed once, by the main process: a cluster job inherits it (and re-parses this file
# without hashing every export again).
if PROVENANCE_ENV not in os.environ:
    os.environ[PROVENANCE_ENV] = dumps(run_provenance(config, inputs=run_inputs()))
