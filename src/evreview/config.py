"""Loading and validating the review configuration.

The same JSON schema validates the config in the Snakefile (``snakemake.utils.validate``)
and in the CLI, so a misspelt key fails the same way everywhere, with the file and the key
path named, before any output is touched.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import hashlib
import json
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from evreview.errors import ConfigError

SCHEMA_FILE = "config.schema.yaml"


def schema_path() -> Path:
    """Filesystem path of the config schema shipped with the package."""
    return Path(str(resources.files("evreview.schemas").joinpath(SCHEMA_FILE)))


def load_schema() -> dict[str, Any]:
    return yaml.safe_load(schema_path().read_text(encoding="utf-8"))


def _fill_defaults(schema: dict[str, Any], value: Any) -> Any:
    """Insert schema defaults for missing object keys (what snakemake.utils.validate does)."""
    if not isinstance(value, dict) or schema.get("type") != "object":
        return value
    for key, sub in schema.get("properties", {}).items():
        if key not in value and "default" in sub:
            value[key] = json.loads(json.dumps(sub["default"]))
        if key in value:
            value[key] = _fill_defaults(sub, value[key])
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key in value:
            if key not in schema.get("properties", {}):
                value[key] = _fill_defaults(extra, value[key])
    return value


def _dates_as_text(config: dict[str, Any]) -> None:
    """``searches.<round>.date`` written unquoted (``date: 2025-03-10``) as the text it was.

    YAML reads an unquoted date as a date, and the schema's string check then stopped the run
    with "datetime.date(2025, 3, 10) is not of type 'string'", while the same line in a round's
    search.yaml was accepted. Changed in place, as the Snakefile's ``config`` must be.
    """
    searches = config.get("searches")
    if not isinstance(searches, dict):
        return
    for entry in searches.values():
        if isinstance(entry, dict) and type(entry.get("date")) is _dt.date:
            entry["date"] = entry["date"].isoformat()


def validate_config(config: dict[str, Any], source: str | Path = "config", *, partial: bool = False) -> dict[str, Any]:
    """Validate ``config`` against the schema, fill defaults, and return it.

    Raises :class:`ConfigError` naming ``source`` and the offending key path. ``partial``
    allows the required top-level sections to be absent (a command given a config holding
    only its own section), while still refusing misspelt or mistyped keys everywhere.
    """
    import jsonschema

    _dates_as_text(config)
    schema = load_schema()
    if partial:
        schema = {k: v for k, v in schema.items() if k != "required"}
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise ConfigError(f"invalid config at {where}: {err.message}{more}", path=source)
    return _fill_defaults(schema, config)


def parse_yaml(text: str, path: str | Path, what: str = "") -> Any:
    """``text`` of the YAML file at ``path``, parsed; a mistake is one :class:`ConfigError` line.

    Besides YAML's own errors, an impossible unquoted date (``date: 2024-02-30``) raises a
    ValueError while YAML builds it: that ended the run, or the command, in a traceback.
    ``what`` prefixes the message (``"codebook "``).
    """
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{what}is not valid YAML: {problem}", path=path,
                          line=None if mark is None else mark.line + 1) from None
    except ValueError as exc:  # YAML reads 2024-02-30 as a date and fails building it
        raise ConfigError(f"{what}is not valid YAML: {exc} (a date is written YYYY-MM-DD and must exist)",
                          path=path) from None


def read_config_yaml(path: str | Path) -> Any:
    """The parsed YAML of the config file at ``path`` (not validated), or a one-line error."""
    path = Path(path)
    if not path.exists():
        raise ConfigError("config file not found", path=path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config: {exc}", path=path) from None
    return parse_yaml(text, path, "config ")


def load_config(path: str | Path) -> dict[str, Any]:
    """Read and validate a YAML config file."""
    path = Path(path)
    config = read_config_yaml(path) or {}
    if not isinstance(config, dict):
        raise ConfigError("config must be a mapping of sections", path=path)
    return validate_config(config, path)


def config_hash(config: dict[str, Any]) -> str:
    """Short, order-independent hash of a config (recorded in every output's provenance)."""
    blob = json.dumps(config, sort_keys=True, ensure_ascii=False, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def file_options(ingest_config: dict[str, Any], rel_path: str) -> dict[str, Any]:
    """Per-file ingest options (encoding, database, format) whose glob matches ``rel_path``.

    ``rel_path`` is the file's path below ``paths.raw`` (``round/file``). The first matching
    glob in file order wins for each option.
    """
    rel = PurePosixPath(rel_path).as_posix()
    out: dict[str, Any] = {}
    for option, key in (("encodings", "encoding"), ("databases", "database"), ("formats", "fmt")):
        for pattern, value in (ingest_config.get(option) or {}).items():
            if fnmatch.fnmatchcase(rel, pattern):
                out[key] = value
                break
    if ingest_config.get("column_map"):
        from evreview.ingest.registry import ConfigColumnMap

        out["column_map"] = ConfigColumnMap(ingest_config["column_map"])
    return out
