"""WHO ICTRP's "Export results to XML": trials from the world's registers, read by their own reader
and counted as a register in PRISMA.

Fixture tests/fixtures/structured/ictrp.xml: synthetic (trials invented) in the export's layout as
the readers of such exports describe it (ctrdata and public parsers of real exports): the root
``<Trials_downloaded_from_ICTRP>``, flat ``<Trial>`` records of text elements each padded with a
line break before its closing tag, empty ones as ``<Acronym/>``, ``Date_registration3`` as
YYYYMMDD; trials from ClinicalTrials.gov, ISRCTN (no scientific title; conditions split by an
escaped ``<br>``) and ChiCTR.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evreview.errors import IngestError
from evreview.ingest import ingest_file
from evreview.prisma import is_register

STRUCTURED = Path(__file__).parent / "fixtures" / "structured"


@pytest.fixture(scope="module")
def result():
    return ingest_file(STRUCTURED / "ictrp.xml", root=STRUCTURED)


def test_every_trial_with_its_fields(result) -> None:
    report = result.reports[0]
    assert (report.source_format, report.found, report.parsed, report.source_database) == (
        "ictrp_xml", 3, 3, "WHO ICTRP")
    assert result.problems.empty
    first, second, third = (result.records.iloc[i] for i in range(3))
    assert (first["source_id"], first["year"], first["source_line"]) == ("NCT04000001", 2019, 3)
    assert first["title"].startswith("Community-Academic Partnership")  # the scientific title
    assert list(first["keywords"]) == ["Type 2 Diabetes", "Prediabetes", "Community coaching", "Usual care"]
    assert first["url"] == "https://clinicaltrials.gov/show/NCT04000001"
    # no scientific title: the public one; "<br>" between conditions
    assert second["title"] == "Walking groups run with local councils"
    assert list(second["keywords"]) == ["Physical inactivity", "Obesity", "Co-produced walking groups"]
    assert (third["source_id"], third["year"]) == ("ChiCTR2000030001", 2020)
    # the register each trial came from stays in raw; the register searched is ICTRP
    assert json.loads(second["raw"])["Source_Register"] == "ISRCTN"
    assert is_register("WHO ICTRP")


def test_a_break_keeps_the_trials_before_it_and_names_the_rest(tmp_path: Path) -> None:
    text = (STRUCTURED / "ictrp.xml").read_text(encoding="utf-8")
    path = tmp_path / "cut.xml"
    path.write_text(text[: text.index("<TrialID>ISRCTN")], encoding="utf-8")
    out = ingest_file(path, root=tmp_path)
    assert (out.reports[0].found, out.reports[0].parsed, out.reports[0].failed) == (2, 1, 1)
    error = out.problems.iloc[0]
    assert (error["severity"], error["source_line"]) == ("error", 34)
    assert "malformed XML" in error["reason"]


def test_a_bad_character_costs_its_trial_only(tmp_path: Path) -> None:
    """A stray "&" in the second trial: the third, well-formed, was reported as malformed at a
    line of the second; now it is read on its own (a warning) and the error names trial 2."""
    text = (STRUCTURED / "ictrp.xml").read_text(encoding="utf-8")
    path = tmp_path / "amp.xml"
    path.write_text(text.replace("Walking groups run with local councils", "Walking & talking groups"),
                    encoding="utf-8")
    out = ingest_file(path, root=tmp_path)
    assert (out.reports[0].found, out.reports[0].parsed, out.reports[0].failed) == (3, 2, 1)
    assert out.records["source_id"].tolist() == ["NCT04000001", "ChiCTR2000030001"]
    assert out.records.iloc[1]["source_line"] == 64
    problems = out.problems.sort_values("source_line")
    assert problems["source_line"].tolist() == [34, 64]
    assert problems["severity"].tolist() == ["error", "warning"]
    assert "record could not be read: malformed XML" in problems["reason"].iloc[0]


def test_a_literal_br_element_separates_two_items(tmp_path: Path) -> None:
    path = tmp_path / "br.xml"
    path.write_text("<Trials_downloaded_from_ICTRP><Trial><TrialID>NCT04000009</TrialID>"
                    "<Public_title>A trial</Public_title><Condition>Asthma<br/>Obesity</Condition>"
                    "</Trial></Trials_downloaded_from_ICTRP>", encoding="utf-8")
    assert list(ingest_file(path, root=tmp_path).records.iloc[0]["keywords"]) == ["Asthma", "Obesity"]


def test_a_doctype_with_entities_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE T [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>\n'
        "<Trials_downloaded_from_ICTRP><Trial><TrialID>&b;</TrialID></Trial></Trials_downloaded_from_ICTRP>\n",
        encoding="utf-8",
    )
    with pytest.raises(IngestError, match="refusing to read this XML"):
        ingest_file(path, root=tmp_path)


def test_the_csv_layout_gives_the_same_records_as_the_xml(result) -> None:
    """WHO's ICTRP tables (the XML's element names with spaces) were "no title column recognised"."""
    csv_out = ingest_file(STRUCTURED.parent / "tabular" / "ictrp.csv", root=STRUCTURED.parent)
    assert (csv_out.reports[0].source_format, csv_out.reports[0].source_database) == ("ictrp_csv", "WHO ICTRP")
    assert csv_out.problems.empty
    fields = ["source_id", "title", "year", "url", "source_database"]
    assert csv_out.records[fields].equals(result.records[fields])
    assert [list(k) for k in csv_out.records["keywords"]] == [list(k) for k in result.records["keywords"]]
