"""ClinicalTrials.gov's CSV download: a trial register, read by its own reader and counted as a
register in PRISMA. The generic table reader refused it ("no title column recognised").
Fixtures: tests/fixtures/tabular/README.md (detection: test_format_tabular)."""

from __future__ import annotations

from pathlib import Path

from evreview.ingest import ingest_file
from evreview.prisma import is_register

TABULAR = Path(__file__).parent / "fixtures" / "tabular"


def test_current_layout_fields() -> None:
    out = ingest_file(TABULAR / "ctgov.csv", root=TABULAR)
    assert (out.reports[0].found, out.reports[0].parsed, out.reports[0].source_database) == (
        2, 2, "ClinicalTrials.gov")
    assert out.problems.empty
    trial, qualitative = out.records.iloc[0], out.records.iloc[1]
    assert (trial["source_id"], trial["year"]) == ("NCT04000001", 2019)  # first posted, not started
    assert trial["title"] == "Community-Academic Partnership to Reduce Diabetes Risk in Northtown"
    assert trial["abstract"].startswith("A university, the city council and community groups co-produce")
    # conditions, then interventions without their type
    assert list(trial["keywords"]) == ["Type 2 Diabetes", "Prediabetes", "Community coaching", "Usual care"]
    assert trial["url"] == "https://clinicaltrials.gov/study/NCT04000001"
    assert list(trial["authors"]) == []  # a sponsor is no author
    assert (qualitative["year"], qualitative["abstract"]) == (2022, "")
    assert list(qualitative["keywords"]) == ["Health Equity"]
    assert set(out.records["source_database"]) == {"ClinicalTrials.gov"} and is_register("ClinicalTrials.gov")


def test_classic_layout_fields() -> None:
    record = ingest_file(TABULAR / "ctgov_classic.csv", root=TABULAR).records.iloc[0]
    assert (record["source_id"], record["title"], record["year"]) == (
        "NCT01000003", "Co-Produced Walking Groups With Local Councils", 2009)
    assert list(record["keywords"]) == ["Obesity", "Walking group"]
    assert record["url"] == "https://ClinicalTrials.gov/show/NCT01000003"


def test_a_file_without_a_url_column_links_each_study_by_its_number(tmp_path: Path) -> None:
    path = tmp_path / "ct.csv"
    path.write_text("NCT Number,Study Title,Study Status,First Posted,Conditions\n"
                    "NCT09999999,A study,COMPLETED,2020-01-02,Asthma|COVID-19: long covid\n", encoding="utf-8")
    record = ingest_file(path, root=tmp_path).records.iloc[0]
    assert record["url"] == "https://clinicaltrials.gov/study/NCT09999999"
    assert list(record["keywords"]) == ["Asthma", "COVID-19: long covid"]  # a condition keeps its colon


def test_a_reviewers_sheet_with_an_nct_column_is_no_register_export(tmp_path: Path) -> None:
    """An extraction sheet of publications with an "NCT Number" column was read as ClinicalTrials.gov:
    its authors, journal and DOI dropped, its rows counted as a register's, and dedup merging a
    protocol with its results paper by the number. It is a generic table."""
    path = tmp_path / "sheet.csv"
    path.write_text("Title,Authors,Year,Journal,DOI,NCT Number,Study Status,First Posted\n"
                    "A protocol,Doe J,2019,Trials,10.1000/x1,NCT04000001,COMPLETED,2019-07-15\n", encoding="utf-8")
    out = ingest_file(path, root=tmp_path)
    assert out.reports[0].source_format == "generic_table"
    record = out.records.iloc[0]
    assert (record["doi"], record["journal"], list(record["authors"])) == ("10.1000/x1", "Trials", ["Doe J"])


def test_an_interventions_type_is_dropped_as_both_registers_write_it() -> None:
    """One definition for ClinicalTrials.gov (``DIETARY_SUPPLEMENT:``, classic ``Dietary Supplement:``)
    and ICTRP (``Drug:``, ``Behavioural:``); a condition with a colon of its own keeps it."""
    from evreview.ingest.formats._trials import without_intervention_type

    assert [without_intervention_type(item) for item in (
        "BEHAVIORAL: Coaching", "Dietary Supplement: Vitamin D", "DIETARY_SUPPLEMENT: Vitamin D",
        "Behavioural: Walking", " Usual care ", "COVID-19: long covid")] == [
        "Coaching", "Vitamin D", "Vitamin D", "Walking", "Usual care", "COVID-19: long covid"]
