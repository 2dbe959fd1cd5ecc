"""Round 7 of unseen exports: Nested Knowledge and TRID RIS, Zoological Record tab-delimited,
Europe PMC BibTeX, Web of Science database names.

Fixtures and their origins: tests/fixtures/round7/README.md.
"""

from __future__ import annotations

from pathlib import Path

from evreview.ingest import ingest_file

FIXTURES = Path(__file__).parent / "fixtures" / "round7"


def _records(name: str):
    result = ingest_file(FIXTURES / name)
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
