"""Round 7 of unseen exports: Nested Knowledge and TRID RIS, Zoological Record tab-delimited,
Europe PMC BibTeX, Web of Science database names.

Fixtures and their origins: tests/fixtures/round7/README.md.
"""

from __future__ import annotations

from pathlib import Path

from evreview.ingest import ingest_file

FIXTURES = Path(__file__).parent / "fixtures" / "round7"


def _records(name: str, folder: Path = FIXTURES):
    """Records (as dicts), report and result of one fixture, every record accounted for."""
    result = ingest_file(folder / name)
    (report,) = result.reports
    assert report.found == report.parsed + report.failed
    return result.records.to_dict("records"), report, result


def test_nested_knowledge_ris_reads_pmid_from_pubmed_link_and_no_other_via_ovid() -> None:
    """Nested Knowledge numbers its records like Ovid ("1.") and writes ``DB  - other``: the
    records were "other via Ovid", and their PMIDs (only in their PubMed links) were lost."""
    records, report, _ = _records("nestedknowledge.ris")
    assert report.found == 3 and report.parsed == 3
    assert [r["pmid"] for r in records] == ["21294377", "12635642", "15772794"]
    assert {r["source_database"] for r in records} == {"PubMed"}
    assert report.source_database == "PubMed"
    first = records[0]
    assert first["title"].startswith("Activation of peroxisome-proliferator-receptor alpha")
    assert first["journal"] == "Exp Biol Med (Maywood)"
    assert first["doi"] == "10.1258/ebm.2010.011f01"
    assert (first["year"], first["volume"], first["issue"], first["pages"]) == (2011, "236", "1", "viii")


def test_pubmed_link_gives_no_pmid_when_links_disagree() -> None:
    from evreview.ingest.formats.ris import _pubmed_link_pmid

    assert _pubmed_link_pmid({"UR": "https://pubmed.ncbi.nlm.nih.gov/123456/"}) == "123456"
    two = ["https://www.ncbi.nlm.nih.gov/pubmed/1", "https://www.ncbi.nlm.nih.gov/pubmed/2"]
    assert _pubmed_link_pmid({"UR": two}) == ""
    # a search page or a PMC article is not the record's PubMed page
    assert _pubmed_link_pmid({"UR": "https://www.ncbi.nlm.nih.gov/pubmed/?term=123456"}) == ""
    assert _pubmed_link_pmid({"L2": "https://www.ncbi.nlm.nih.gov/pmc/articles/PMC8641745"}) == ""


def test_trid_ris_is_named_from_its_trid_link() -> None:
    """TRID writes no DB; each record's own trid.trb.org link comes after its full-text links."""
    records, report, result = _records("trid.ris")
    assert report.found == 3 and report.parsed == 3
    assert {r["source_database"] for r in records} == {"TRID"}
    assert [r["source_id"] for r in records] == ["01611111", "01722222", "01744444"]
    assert records[1]["doi"] == "10.1333/hello.2019.12.012" and records[1]["pages"] == "278-298"
    assert records[2]["authors"][:2] == ["Author-One, A", "Author-Two, B"]
    # the file ends without the last record's ER: kept, with a warning
    assert list(result.problems["severity"]) == ["warning"]


def test_zoological_record_tab_export_reads_ps_pages_and_names_collections() -> None:
    """Zoological Record (and BIOSIS, CABI) tab-delimited exports have the page span in ``PS``:
    their pages were empty; a CAB Abstracts record was "Web of Science" though the tagged reader
    names it."""
    records, report, result = _records("zoorec_tab.txt")
    assert report.source_format == "wos_tab"
    assert report.found == 3 and report.parsed == 3 and result.problems.empty
    first, second, third = records
    assert first["title"] == "Hedgerow width and the nesting success of two invented warblers."
    assert first["authors"] == ["Doe, Jane A.", "Roe, Richard"]
    assert (first["journal"], first["volume"], first["issue"], first["pages"]) == (
        "Journal of Invented Ecology",
        "12",
        "3",
        "101-115",
    )
    assert (first["year"], first["pmid"], first["source_id"]) == (2019, "99999991", "ZOOREC:ZOOR99900000001")
    assert [r["source_database"] for r in records] == ["Zoological Record", "BIOSIS Citation Index", "CAB Abstracts"]
    assert (second["pages"], third["pages"]) == ("e12", "1-9")


def test_wos_medline_has_one_name_in_every_wos_format() -> None:
    """WoS's MEDLINE records were "MEDLINE" (tagged), "MEDLINE (via Web of Science)" (tab) and
    "MEDLINE (Web of Science)" (RIS, BibTeX)."""
    from evreview.ingest.formats import bibtex, ris, wos, wos_tab

    names = {
        wos.database_for("MEDLINE:16842170"),
        wos_tab.collection_of("MEDLINE:16842170"),
        ris.name_database("", "", "MEDLINE:16842170", ""),
        bibtex.entry_fields("article", "k", {"unique-id": "MEDLINE:16842170"})["source_database"],
    }
    assert names == {"MEDLINE (Web of Science)"}


def test_europe_pmc_bibtex_takes_the_pmid_from_its_key_and_names_europe_pmc() -> None:
    """Europe PMC keys its entries ``PMID:36788546`` and has no pmid field: the PMID was lost and
    the database unknown."""
    records, report, _ = _records("europepmc.bib")
    assert report.found == 3 and report.parsed == 3
    assert [r["pmid"] for r in records] == ["36788546", "36879665", "36540961"]
    assert report.source_database == "Europe PMC"
    second = records[1]
    assert second["title"].startswith("Validation of Fitbit Inspire 2TM Against Polysomnography")
    assert second["authors"][0] == "Lim, Su Eun" and second["pages"] == "59-67"
    assert (second["journal"], second["volume"]) == ("Nature and science of sleep", "15")
    assert second["doi"] == "10.2147/nss.s391802"


def test_dblp_bibtex_is_named_dblp() -> None:
    records, report, _ = _records("dblp.bib")
    assert report.found == 3 and report.source_database == "dblp"
    third = records[2]
    assert third["authors"][-1] == "Williams, Alex C." and third["pages"] == "465:1-465:20"
    assert third["title"] == "Mobilizing Crowdwork: A Systematic Assessment of the Mobile Usability of HITs"


def test_a_table_with_a_header_and_no_rows_says_so(tmp_path: Path) -> None:
    """Web of Science's tab-delimited file with its line breaks lost (one long header line) was
    0 records without a word; a header with nothing below it is now a warning naming the cause."""
    from evreview.ingest import ingest_file

    joined = tmp_path / "savedrecs.txt"
    joined.write_text("PT\tAU\tTI\tSO\tPY\tUT J\tSmith, J\tA title\tJ X\t2020\tWOS:1 ", encoding="utf-8")
    header = tmp_path / "empty.csv"
    header.write_text("title,authors,year\n", encoding="utf-8")
    for path in (joined, header):
        result = ingest_file(path)
        assert len(result.records) == 0
        reasons = result.problems["reason"].tolist()
        assert any(reason.startswith("no records: the file is a header line") for reason in reasons), reasons
        assert (result.problems["severity"] == "warning").all()
