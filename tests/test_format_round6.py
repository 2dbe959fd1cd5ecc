"""Round 6 of unseen exports: ERIC NBIB, old Web of Science BibTeX, PubMed XML books, EBSCOhost RIS.

Fixtures and their origins: tests/fixtures/round6/README.md.
"""

from __future__ import annotations

from pathlib import Path

from evreview.ingest.formats.bibtex import decode_latex
from evreview.ingest.registry import Source, detect

FIXTURES = Path(__file__).parent / "fixtures" / "round6"


def _parse(name: str):
    path = FIXTURES / name
    data = path.read_bytes()
    source = Source(path=path, data=data, text=data.decode("utf-8"))
    reader = detect(source)
    result = reader.parse(source)
    records = list(result.records)
    return reader.name, records, result


def test_eric_nbib_is_recognised_and_mapped() -> None:
    """ERIC's NBIB has no PMID line: it was an unrecognised format."""
    name, records, result = _parse("eric.nbib")
    assert name == "eric_nbib"
    assert result.found == 3 and len(records) == 3
    assert not [p for p in result.problems if p.severity == "error"]
    first, second, report = (r.fields for r in records)
    assert first["title"] == "Paper title"
    assert first["authors"] == ["Smith, Tom", "Hunter, Shawn"]
    assert first["source_id"] == "EJ1131633"
    assert first["source_database"] == "ERIC"
    assert first["doi"] == "10.1000/123456789"
    assert first["issn"] == "1234-4567"
    assert first["pages"] == "1-9" and first["volume"] == "10" and first["issue"] == "1"
    assert first["keywords"] == ["Keyword 1", "Keyword 2"]
    assert first["url"] == "http://eric.ed.gov/?id=EJ1131633"
    assert second["title"] == "A second paper on teacher collaboration in rural secondary schools"
    assert second["doi"] == "10.1016/j.tate.2020.103215"
    assert second["issn"] == "0742-051X"
    assert report["source_id"] == "ED612345" and report["isbn"] == "978-0-00-000000-2"
    assert report["journal"] == "" and report["doi"] == ""


def test_eric_major_descriptors_lose_their_mark() -> None:
    """ERIC marks major descriptors with a leading '*'; the keyword is the descriptor without it."""
    text = (FIXTURES / "eric.nbib").read_text(encoding="utf-8")
    added = "MH  - *Rural Schools\nMH  - Teacher Collaboration\n"
    marked = text.replace("OT  - Keyword 2\n", "OT  - Keyword 2\n" + added, 1)
    source = Source(path=Path("marked.nbib"), data=marked.encode(), text=marked)
    records = list(detect(source).parse(source).records)
    assert records[0].fields["keywords"] == ["Keyword 1", "Keyword 2", "Rural Schools", "Teacher Collaboration"]


def test_wos_isi_bibtex_names_its_database_and_id() -> None:
    """Old WoS BibTeX double-braces values: the id was '{ISI:...}' and the database unknown."""
    name, records, _ = _parse("wos_isi.bib")
    assert name == "bibtex"
    assert len(records) == 3
    assert [r.fields["source_id"] for r in records] == [
        "ISI:000186671900001",
        "ISI:000186671900002",
        "ISI:000186671900004",
    ]
    assert {r.fields["source_database"] for r in records} == {"Web of Science Core Collection"}
    assert records[1].fields["title"] == "The framework for approximate queries on simulation data"
    assert records[1].fields["authors"][0] == "Lee, B" and len(records[1].fields["authors"]) == 8
    assert "\u201cphysical\u201d" in records[2].fields["abstract"]
    assert "``" not in records[2].fields["abstract"]


def test_latex_quotes_only_where_opened() -> None:
    assert decode_latex("``physical{''} data") == "\u201cphysical\u201d data"
    assert decode_latex("it''s two apostrophes") == "it''s two apostrophes"


def test_pubmed_book_chapter_year_and_book_doi() -> None:
    """A GeneReviews chapter was dated 1993 (the series); a book's own DOI was not read."""
    name, records, _ = _parse("pubmed_books.xml")
    assert name == "pubmed_xml"
    chapter, book = (r.fields for r in records)
    assert chapter["title"] == "BRCA1- and BRCA2-Associated Hereditary Breast and Ovarian Cancer"
    assert chapter["year"] == "1998"
    assert chapter["authors"] == ["Petrucelli, Nancie", "Daly, Mary B"]  # not the book's editors
    assert chapter["journal"] == "GeneReviews\u00ae"
    assert chapter["pmid"] == "20301295"
    assert book["year"] == "2019"
    assert book["doi"] == "10.17226/25303"
    assert book["title"] == "Reproducibility and Replicability in Science"


def test_ebsco_medline_id_is_the_pmid() -> None:
    """EBSCOhost's older RIS writes the accession as ID: for MEDLINE (DB mdc) it is the PMID."""
    name, records, _ = _parse("ebsco_id.ris")
    assert name == "ris"
    cinahl, eric, medline = (r.fields for r in records)
    assert medline["source_database"] == "MEDLINE via EBSCOhost"
    assert medline["pmid"] == "33012345"
    assert cinahl["source_database"] == "CINAHL via EBSCOhost" and cinahl["pmid"] == ""
    assert eric["source_database"] == "ERIC via EBSCOhost" and eric["source_id"] == "EJ1234567"
    assert eric["pmid"] == ""


def test_epistemonikos_ris_names_database_id_and_each_author_once() -> None:
    """Epistemonikos RIS without DB was 'unknown database' with no id, and listed a person
    twice (``Braman SS`` and ``Braman, Sidney S``); with ``DB  - EPISTEMONIKOS`` the name
    was in capitals, unlike the link-named records."""
    name, records, _ = _parse("epistemonikos.ris")
    assert name == "ris"
    assert len(records) == 3
    assert {r.fields["source_database"] for r in records} == {"Epistemonikos"}
    assert [r.fields["source_id"] for r in records] == [
        "0f8b5c48838a36541497f4d318c92297c3fa68e3",
        "177eb71442d2ef8dcf2811559a3ff13314275b5e",
        "b45cfa6f057184644c48096a29b5c09f10f5d75d",
    ]
    assert records[0].fields["authors"] == ["Braman, Sidney S"]
    assert records[1].fields["authors"] == ["Kenealy T", "Arroll B"]
    assert records[0].fields["pmid"] == "16428698"
