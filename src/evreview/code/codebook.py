"""The codebook: reviewer-edited YAML, validated against a JSON schema, versioned by hash.

Errors name the file and the YAML line of the offending item, because reviewers (not
programmers) edit this file. The ``version`` every assignment row carries is a hash of the
parsed content (not the file bytes), so reformatting or comments do not change it but any
change of a code, term or threshold does.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from evreview.config import parse_yaml
from evreview.errors import ConfigError

#: Assignment settings used when the codebook leaves them out (tuned on MiniLM).
DEFAULT_ASSIGNMENT: dict[str, Any] = {
    "min_similarity": 0.25,
    "margin": 0.03,
    "calibrate": True,
    "calibration_min_studies": 20,
    "sentence_weight": 0.5,
    "term_weight": 0.1,
    # Multi-label: a code needs a sentence whose calibrated cosine to it leads every other code of
    # the dimension by this much (see evreview.code.assign.sentence_leads; issue #7).
    "evidence_lead": 0.1,
    "languages": ["eng"],
    "topic_dimension": "theme",
}


@dataclass(frozen=True)
class Code:
    """One code of a dimension: what reviewers read (label, description) and match (terms)."""

    id: str
    label: str
    description: str
    terms: tuple[str, ...] = ()
    #: document types (as the exports give them, normalised) that carry this code; see assign
    doc_types: tuple[str, ...] = ()

    @property
    def prototype_text(self) -> str:
        """The text the zero-shot model compares sentences with."""
        return f"{self.label}: {self.description}"


@dataclass(frozen=True)
class Dimension:
    id: str
    label: str
    multi_label: bool
    codes: tuple[Code, ...]
    map: str = "axis"
    methods: tuple[str, ...] = ("terms", "zero-shot")
    description: str = ""

    def code_ids(self) -> list[str]:
        return [c.id for c in self.codes]


@dataclass(frozen=True)
class Codebook:
    name: str
    dimensions: tuple[Dimension, ...]
    assignment: dict[str, Any] = field(default_factory=dict)
    version: str = ""
    source: str = ""

    def dimension(self, dim_id: str) -> Dimension:
        for dim in self.dimensions:
            if dim.id == dim_id:
                return dim
        raise KeyError(dim_id)

    def setting(self, key: str) -> Any:
        return self.assignment.get(key, DEFAULT_ASSIGNMENT[key])

    def with_settings(self, **overrides: Any) -> Codebook:
        """A copy with some assignment settings replaced (and the version recomputed)."""
        data = dict(self.assignment, **overrides)
        raw = _to_mapping(self)
        raw["assignment"] = data
        return build_codebook(raw, source=self.source)


def load_schema() -> dict[str, Any]:
    """The packaged codebook JSON schema."""
    text = resources.files("evreview").joinpath("schemas/codebook.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def _line_of(node: yaml.Node | None, path: list[Any]) -> int | None:
    """1-based YAML line of the element at ``path`` (as deep as the path resolves)."""
    line = node.start_mark.line + 1 if node is not None else None
    for step in path:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == step), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            match = node.value[step]
        else:
            match = None
        if match is None:
            break
        node = match
        line = node.start_mark.line + 1
    return line


def _format_path(path: list[Any]) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out or "(top level)"


def validate_codebook_data(data: Any, *, source: str = "codebook", node: yaml.Node | None = None) -> None:
    """Raise :class:`ConfigError` for the first schema or consistency problem, with its line."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), list(map(str, e.path))))
    if errors:
        err = errors[0]
        path = list(err.absolute_path)
        raise ConfigError(f"codebook {_format_path(path)}: {err.message}", path=source, line=_line_of(node, path))
    seen_dims: set[str] = set()
    for d_index, dim in enumerate(data["dimensions"]):
        if dim["id"] in seen_dims:
            path = ["dimensions", d_index, "id"]
            raise ConfigError(
                f"codebook {_format_path(path)}: duplicate dimension id {dim['id']!r}",
                path=source,
                line=_line_of(node, path),
            )
        seen_dims.add(dim["id"])
        seen_codes: set[str] = set()
        # labels name the map's rows and columns (and index ``Results.matrix``): two codes
        # labelled alike were two indistinguishable rows and made the matrix a pandas error
        seen_labels: dict[str, str] = {}
        for c_index, code in enumerate(dim["codes"]):
            if code["id"] in seen_codes:
                path = ["dimensions", d_index, "codes", c_index, "id"]
                raise ConfigError(
                    f"codebook {_format_path(path)}: duplicate code id {code['id']!r} in dimension {dim['id']!r}",
                    path=source,
                    line=_line_of(node, path),
                )
            seen_codes.add(code["id"])
            label = " ".join(str(code["label"]).split()).casefold()
            if label in seen_labels:
                path = ["dimensions", d_index, "codes", c_index, "label"]
                raise ConfigError(
                    f"codebook {_format_path(path)}: code {code['id']!r} has the label {code['label']!r} of code "
                    f"{seen_labels[label]!r} in dimension {dim['id']!r}: the map could not tell them apart",
                    path=source,
                    line=_line_of(node, path),
                )
            seen_labels[label] = code["id"]
    topic_dim = (data.get("assignment") or {}).get("topic_dimension", DEFAULT_ASSIGNMENT["topic_dimension"])
    if topic_dim is not None and topic_dim not in seen_dims and "topic_dimension" in (data.get("assignment") or {}):
        path = ["assignment", "topic_dimension"]
        raise ConfigError(
            f"codebook {_format_path(path)}: {topic_dim!r} is not a dimension of this codebook",
            path=source,
            line=_line_of(node, path),
        )


def codebook_version(data: dict[str, Any]) -> str:
    """``cb-`` + 12 hex of sha256 over canonical JSON of the parsed codebook."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "cb-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


def build_codebook(data: dict[str, Any], *, source: str = "codebook", node: yaml.Node | None = None) -> Codebook:
    """Validate a parsed mapping and build the :class:`Codebook`."""
    validate_codebook_data(data, source=source, node=node)
    dims = tuple(
        Dimension(
            id=d["id"],
            label=d["label"],
            multi_label=bool(d["multi_label"]),
            map=d.get("map", "axis"),
            methods=tuple(d.get("methods", ("terms", "zero-shot"))),
            description=d.get("description", ""),
            codes=tuple(
                Code(id=c["id"], label=c["label"], description=c["description"], terms=tuple(c.get("terms", ())),
                     doc_types=tuple(str(x).lower() for x in c.get("doc_types", ())))
                for c in d["codes"]
            ),
        )
        for d in data["dimensions"]
    )
    return Codebook(
        name=data["name"],
        dimensions=dims,
        assignment=dict(data.get("assignment") or {}),
        version=codebook_version(data),
        source=source,
    )


def load_codebook(path: str | Path) -> Codebook:
    """Read, validate and build the codebook at ``path`` (errors name file and line)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read codebook: {exc}", path=path) from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(f"codebook is not valid YAML: {getattr(exc, 'problem', exc)}", path=path, line=line) from None
    data = parse_yaml(text, path, "codebook ")  # composed already: only a value YAML cannot build fails here
    if not isinstance(data, dict):
        raise ConfigError("codebook must be a YAML mapping with 'name' and 'dimensions'", path=path, line=1)
    return build_codebook(data, source=str(path), node=node)


def _to_mapping(codebook: Codebook) -> dict[str, Any]:
    return {
        "name": codebook.name,
        "assignment": dict(codebook.assignment),
        "dimensions": [
            {
                "id": d.id,
                "label": d.label,
                "multi_label": d.multi_label,
                "map": d.map,
                "methods": list(d.methods),
                **({"description": d.description} if d.description else {}),
                "codes": [
                    {"id": c.id, "label": c.label, "description": c.description, "terms": list(c.terms),
                     **({"doc_types": list(c.doc_types)} if c.doc_types else {})}
                    for c in d.codes
                ],
            }
            for d in codebook.dimensions
        ],
    }
