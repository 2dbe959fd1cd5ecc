"""Codebook loading: the shipped default validates; reviewers' mistakes get file:line messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from evreview.code.codebook import load_codebook
from evreview.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]

SMALL = """\
name: small
dimensions:
  - id: theme
    label: Theme
    multi_label: true
    codes:
      - id: trust
        label: Trust
        description: Trust and respect between partners.
        terms: [trust, respect]
      - id: funding
        label: Funding
        description: Sustainable funding and governance.
        terms: [funding]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "codebook.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_codebook_validates_and_has_the_review_dimensions() -> None:
    codebook = load_codebook(REPO / "config" / "codebook.yaml")
    assert [d.id for d in codebook.dimensions] == ["theme", "outcome_level", "evidence_type", "stage", "place"]
    assert codebook.dimension("theme").code_ids() == [
        "infrastructure_systems",
        "skills_expertise",
        "approaches",
        "behaviours_values",
    ]
    assert not codebook.dimension("evidence_type").multi_label
    assert codebook.dimension("place").methods == ("terms",)
    assert codebook.version.startswith("cb-")


def test_missing_label_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, SMALL.replace("        label: Funding\n", ""))
    with pytest.raises(ConfigError) as info:
        load_codebook(path)
    message = str(info.value)
    assert message.startswith(f"{path}:11: ")  # the "- id: funding" item
    assert "dimensions[0].codes[1]" in message and "'label' is a required property" in message


def test_bad_identifier_and_unknown_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r":7: .*codes\[0\]\.id: 'Trust Me' does not match"):
        load_codebook(_write(tmp_path, SMALL.replace("id: trust", "id: Trust Me")))
    extra = SMALL.replace("    multi_label: true\n", "    multi_label: true\n    colour: red\n")
    with pytest.raises(ConfigError, match=r"Additional properties are not allowed \('colour'"):
        load_codebook(_write(tmp_path, extra))


def test_duplicate_code_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="duplicate code id 'trust'"):
        load_codebook(_write(tmp_path, SMALL.replace("id: funding", "id: trust")))
    with pytest.raises(ConfigError, match=r"codebook.yaml:\d+: codebook is not valid YAML"):
        load_codebook(_write(tmp_path, SMALL + "  - id: [unclosed\n"))
    with pytest.raises(ConfigError, match="topic_dimension"):
        load_codebook(_write(tmp_path, SMALL + "assignment:\n  topic_dimension: nope\n"))


def test_two_codes_of_a_dimension_with_one_label_name_the_line(tmp_path: Path) -> None:
    """A copied code whose label was not changed gave the map two indistinguishable rows, and
    ``load_results(...).matrix()`` failed with pandas' "Index contains duplicate entries"."""
    with pytest.raises(ConfigError, match=r"codebook.yaml:12: codebook dimensions\[0\]\.codes\[1\]\.label: code "
                       r"'funding' has the label 'trust ' of code 'trust' in dimension 'theme'"):
        load_codebook(_write(tmp_path, SMALL.replace("label: Funding", "label: 'trust '")))
    # the same label in two dimensions is fine (each axis has its own), and so are non-ASCII labels
    other = SMALL + SMALL.split("dimensions:\n")[1].replace("id: theme", "id: stage").replace(
        "label: Funding", "label: Förderung – «Finanzen»")
    book = load_codebook(_write(tmp_path, other))
    assert [c.label for c in book.dimension("stage").codes] == ["Trust", "Förderung – «Finanzen»"]


def test_version_tracks_content_not_formatting(tmp_path: Path) -> None:
    base = load_codebook(_write(tmp_path, SMALL)).version
    assert load_codebook(_write(tmp_path, "# a comment\n" + SMALL)).version == base
    assert load_codebook(_write(tmp_path, SMALL.replace("[funding]", "[funding, grant]"))).version != base


def test_an_impossible_date_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """YAML builds an unquoted date while parsing; 2024-02-30 raised a bare ValueError."""
    with pytest.raises(ConfigError, match=r"codebook.yaml: codebook is not valid YAML: day is out of range"):
        load_codebook(_write(tmp_path, SMALL.replace("name: ", "reviewed: 2024-02-30\nname: ", 1)))

