# Paths and input discovery shared by the rule files.

from pathlib import Path

RAW = config["paths"]["raw"]
RESULTS = config["paths"]["results"]
LOGS = config["paths"]["logs"]
DECISIONS = config["paths"]["decisions"]
CODED = config["paths"]["coded"]
CONFIG_FILE = workflow.overwrite_configfiles[0] if workflow.overwrite_configfiles else "config/config.yaml"

# Files that sit in a round folder but are not exports.
NOT_EXPORTS = {"README.md", "README.txt", "search.yaml", ".DS_Store"}


wildcard_constraints:
    search=r"[^/]+",
    file=r"[^/]+",


def raw_exports():
    """(search round, file name) of every export under paths.raw, sorted."""
    found = []
    root = Path(RAW)
    if root.is_dir():
        for search_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for path in sorted(search_dir.iterdir()):
                if path.is_file() and not path.name.startswith(".") and path.name not in NOT_EXPORTS:
                    found.append((search_dir.name, path.name))
    return found


def ingested_tables():
    return [f"{RESULTS}/ingest/{search}/{name}.parquet" for search, name in raw_exports()]


def all_outputs():
    return [f"{RESULTS}/report.html", f"{RESULTS}/prisma/prisma.png", f"{RESULTS}/map/egm.html"]


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
