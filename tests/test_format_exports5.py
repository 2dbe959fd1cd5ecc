"""Exports checked in round 5 (asreview/citation-file-formatting, CC0: the same records exported
by about twenty tools). Where each fixture comes from is in tests/fixtures/tabular/README.md and
tests/fixtures/tagged/README.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evreview.ingest import ingest_file
from evreview.ingest.registry import SNIFF_GATES, Source, detect
from evreview.ingest.textio import decode, is_container

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TABULAR = FIXTURES / "tabular"
RIS = FIXTURES / "tagged"  # round 5's RIS fixtures (tests/fixtures/ris holds RIS files only, no README)


def raw_tags(result, index: int) -> dict:
    return json.loads(result.records["raw"].iloc[index])


def source_for(path: Path) -> Source:
    data = path.read_bytes()
    return Source(path=path, data=data, text=None if is_container(data) else decode(data, path))


# --------------------------------------------------------------------------- Embase CSV


@pytest.mark.parametrize(
    ("name", "lines", "titles"),
    [
        (
            "embase_search.csv",
            [5, 6, 7],
            ["Cellular structure", "Erratum: Author Correction", "A new abelisaurid"],
        ),
        (
            "embase_search_excel.csv",
            [5, 6, 7],
            ["Cellular structure", "A remarkable assemblage", "Erratum: Correction"],
        ),
    ],
)
def test_embase_csv_with_its_search_lines_above_the_header(name: str, lines: list[int], titles: list[str]) -> None:
    """Embase's "SEARCH QUERY" line, dashes and blank line above the header (and Excel's re-save
    of them with semicolons) made the export "no title column recognised"."""
    path = TABULAR / name
    source = source_for(path)
    assert SNIFF_GATES["embase_csv"](source.head)
    assert detect(source).name == "embase_csv"
    result = ingest_file(path, root=TABULAR)
    report = result.reports[0]
    assert (report.found, report.parsed, report.failed, report.warnings) == (3, 3, 0, 0)
    assert report.source_database == "Embase"
    records = result.records
    assert list(records["source_line"]) == lines
    for title, expected in zip(records["title"], titles):
        assert title.startswith(expected)
    first = records.iloc[0]
    assert (first["source_id"], first["doi"], first["pmid"], first["year"]) == (
        "L2029880245",
        "10.1038/s41467-024-48400-3",
        "38773066",
        2024,
    )
    assert list(first["authors"]) == ["Yang Z.", "Jiang B.", "Xu J.", "McNamara M.E."]


def test_embase_search_lines_without_the_dashes_are_not_skipped(tmp_path: Path) -> None:
    """Only Embase's whole block (down to its line of dashes) is skipped: a hand-made table
    whose first cell happens to say SEARCH QUERY is still read from its first line."""
    path = tmp_path / "table.csv"
    path.write_text('"SEARCH QUERY","Title"\n"q1","A title"\n', encoding="utf-8")
    assert detect(source_for(path)).name != "embase_csv"


# --------------------------------------------------------------------------- Abstrackr CSV


def test_abstrackr_csv_skips_its_section_line_and_zero_pmids() -> None:
    """Read as a generic table, the "citations that are not yet labeled by anyone" line was an
    empty record, every record had PMID 0 and the record id was that 0."""
    path = TABULAR / "abstrackr.csv"
    assert detect(source_for(path)).name == "abstrackr_csv"
    result = ingest_file(path, root=TABULAR)
    report = result.reports[0]
    assert (report.found, report.parsed, report.failed, report.warnings) == (4, 4, 0, 0)
    assert report.source_database == "Abstrackr"
    records = result.records
    assert list(records["source_id"]) == ["41893415", "41893418", "41893421", "41893424"]
    assert list(records["pmid"]) == ["", "", "", ""]
    assert all(records["title"].str.len() > 40)
    assert list(records.iloc[1]["authors"]) == [
        "Pol, D.", "Baiano, M.A.", "??ern??, D.", "Novas, F.E.", "Cerda, I.A.", "Pittman, M.",
    ]  # fmt: skip
    assert list(records.iloc[3]["authors"]) == ["Brownstein, C.D."]
    assert list(records.iloc[0]["keywords"])[:3] == ["phosphate", "Africa", "animal"]
    assert records.iloc[0]["abstract"].endswith("Titanosaurians and abelisaurids dominated the Gondwanan continents.")
    assert records.iloc[2]["abstract"] == ""


# --------------------------------------------------------------------------- Citavi (RefWorks tab-delimited)


def test_citavi_refworks_tab_delimited_export() -> None:
    """Citavi's tab-delimited export (RefWorks' field names: ``Title Primary``, ``Authors,
    Primary``...) was "no title column recognised"; its ``null`` given names are dropped."""
    path = TABULAR / "citavi_refworks.tsv"
    assert detect(source_for(path)).name == "refworks_tab"
    result = ingest_file(path, root=TABULAR)
    report = result.reports[0]
    assert (report.found, report.parsed, report.failed, report.warnings) == (3, 3, 0, 0)
    records = result.records
    first, second, third = (records.iloc[i] for i in range(3))
    assert first["title"].startswith("The effect of intra-arterial angiotensin II")
    assert list(first["authors"])[:3] == ["van den Hoven", "Smits, Maarten L. J.", "Rosenbaum, Charlotte E. N. M."]
    assert (first["year"], first["volume"], first["issue"], first["pages"], first["issn"]) == (
        2014, "25", "3", "S105", "1051-0443",
    )  # fmt: skip
    assert first["journal"] == "Journal of Vascular and Interventional Radiology"
    assert first["doi"] == "10.1016/j.jvir.2013.12.293"
    assert first["url"] == "https://www.sciencedirect.com/science/article/pii/S1051044313020757"
    assert first["source_id"] == "100,doc:61b997e48f08e21cc56b3955"
    assert (second["pages"], second["year"], second["journal"]) == ("69-79", 2020, "Journal of clinical epidemiology")
    assert third["abstract"].startswith('COVID-19 affects many societies by measures as "social distancing"')
    # named from its lens.org link, as the RIS reader names Citavi's and Mendeley's RIS of these records
    assert set(records["source_database"]) == {"The Lens"}


def test_refworks_author_names() -> None:
    from evreview.ingest.formats.refworks_tab import refworks_author

    assert refworks_author("van den Hoven,null") == "van den Hoven"
    assert refworks_author("van Dijk,Joris,D.") == "van Dijk, Joris D."
    assert refworks_author("Rosenbaum, Charlotte E. N. M.") == "Rosenbaum, Charlotte E. N. M."


# --------------------------------------------------------------------------- RIS re-exports


def test_covidence_ris_affiliations_in_is_are_no_issue() -> None:
    """Covidence's RIS (all four flavours) keeps an Embase record's affiliations in IS; it became
    the issue, as it did in its CSV before round 4. The Embase id is read from the record link."""
    result = ingest_file(RIS / "covidence_endnote.ris", root=RIS)
    records = result.records
    assert list(records["issue"]) == ["1", "1", ""]
    assert list(records["source_id"]) == ["L2029880245", "L643752320", "L2030246463"]
    assert set(records["source_database"]) == {"Embase"}
    assert "Brigham Young University" in str(raw_tags(result, 2)["IS"])


def test_rayyan_ris_issns_in_a_json_list() -> None:
    """``SN  - ["1932-8494", "1932-8486"]`` gave no ISSN (the CSV export's reader reads it)."""
    records = ingest_file(RIS / "rayyan_issns.ris", root=RIS).records
    assert list(records["issn"]) == ["2041-1723", "1932-8494; 1932-8486"]
    assert list(records["doi"]) == ["10.1038/s41467-024-48400-3", "10.1002/ar.25299"]
    assert list(records["source_id"]) == ["rayyan-42924189", "rayyan-42924194"]


def test_ebsco_ris_accession_number_from_its_link() -> None:
    """EBSCOhost's RIS has no AN tag: the record id (its CSV's ``Accession Number``) is in the link."""
    result = ingest_file(RIS / "ebsco_cinahl.ris", root=RIS)
    assert result.reports[0].source_database == "Academic Search Premier via EBSCOhost"
    assert list(result.records["source_id"]) == ["176404503", "163764290"]
    assert result.records.iloc[0]["abstract"].endswith("[ABSTRACT FROM AUTHOR]")


def test_mendeley_null_given_name_and_eppi_split_surname() -> None:
    mendeley = ingest_file(RIS / "mendeley_lens.ris", root=RIS).records
    assert list(mendeley.iloc[0]["authors"]) == ["van den Hoven", "Smits, Maarten L J", "Rosenbaum, Charlotte E N M"]
    assert "• MR imaging techniques" in mendeley.iloc[1]["abstract"]
    eppi = ingest_file(RIS / "eppi_reviewer.ris", root=RIS).records
    assert list(eppi.iloc[0]["authors"]) == ["Brownstein C D"]
    assert list(eppi.iloc[1]["authors"]) == ["Troiano L P", "Dos Santos H B", "Aureliano T", "Ghilardi A M"]


def test_tidy_authors_leaves_ordinary_lists_alone() -> None:
    from evreview.ingest.formats.ris import tidy_authors

    assert tidy_authors(["Smith, J", "Doe, A B"]) == ["Smith, J", "Doe, A B"]
    assert tidy_authors(["Null, Ann"]) == ["Null, Ann"]
    # initials alone after a name that has initials are an author of their own (not EPPI's split)
    assert tidy_authors(["Smith J", "A B"]) == ["Smith J", "A B"]
    # a comma anywhere: not EPPI's style, nothing rejoined
    organisation = ["World Health Organization", "H B", "Doe, J"]
    assert tidy_authors(organisation) == organisation


def test_ebsco_csv_abstract_without_the_copyright_notice() -> None:
    """EBSCOhost's CSV glued the publisher's copyright notice to every abstract; its RIS of the
    same records (a second AB line) gives the abstract alone, and so does the CSV now."""
    csv_records = ingest_file(TABULAR / "ebsco_cinahl.csv", root=TABULAR).records
    ris_records = ingest_file(RIS / "ebsco_cinahl.ris", root=RIS).records
    assert all(abstract.endswith("[ABSTRACT FROM AUTHOR]") for abstract in csv_records["abstract"])
    assert csv_records.iloc[0]["abstract"] == ris_records.iloc[0]["abstract"]
    assert csv_records.iloc[2]["abstract"] == ris_records.iloc[1]["abstract"]
    assert list(csv_records["source_id"][[0, 2]]) == list(ris_records["source_id"])
    assert '"subaqueous foragers."' in csv_records.iloc[1]["abstract"]


def test_embase_ris_medline_sourced_records_are_embase_records() -> None:
    """Embase.com writes ``DB  - Medline`` alone for a record it took from MEDLINE: the file was
    "Embase; Medline" (two databases for one search) and that record lost its C5 PMID."""
    result = ingest_file(RIS / "embase_medline_only.ris", root=RIS)
    assert result.reports[0].source_database == "Embase"
    records = result.records
    assert list(records["source_database"]) == ["Embase", "Embase"]
    assert list(records["pmid"]) == ["38773066", "38906957"]
    assert list(records["source_id"]) == ["L2029880245", "L644585435"]
    endnote = ingest_file(RIS / "endnote_embase.ris", root=RIS)
    assert list(endnote.records["source_database"]) == ["Embase", "Embase"]
    assert list(endnote.records.iloc[0]["keywords"]) == ["article", "biostratigraphy", "Colorado"]


def test_scopus_ris_pubmed_id_in_c2() -> None:
    """Scopus's RIS writes the PubMed ID in C2 (its CSV in "PubMed ID"): it was lost."""
    records = ingest_file(RIS / "scopus_pmid.ris", root=RIS).records
    assert (records.iloc[0]["pmid"], records.iloc[0]["source_database"]) == ("38580657", "Scopus")
