"""Round 8 of unseen exports: IEEE Xplore RIS, EBSCOhost BibTeX, Springer Link CSV.

Fixtures and their origins: tests/fixtures/round8/README.md.
"""

from __future__ import annotations

from pathlib import Path

from evreview.ingest import ingest_file
from tests.test_ingest_round7 import _records as _records_in

FIXTURES = Path(__file__).parent / "fixtures" / "round8"


def _records(name: str):
    return _records_in(name, FIXTURES)


def test_ieee_xplore_ris_is_named_from_its_tag_layout() -> None:
    """IEEE Xplore's RIS names no database and links nowhere; its records were "unknown
    database". Its own layout (``VO`` and ``VL``, ``JA``, ``Y1``) names it."""
    records, report, _ = _records("ieee_xplore.ris")
    assert report.found == 4 and report.parsed == 4
    assert {r["source_database"] for r in records} == {"IEEE Xplore"}
    assert report.source_database == "IEEE Xplore"
    first = records[0]
    assert first["title"] == "The European Approach to the Exascale Challenge"
    assert first["authors"] == ["G. Kalbe"]
    assert (first["year"], first["journal"], first["volume"], first["issue"], first["pages"]) == (
        2019, "Computing in Science & Engineering", "21", "1", "42-47")
    assert first["doi"] == "10.1109/mcse.2018.2884139"
    assert records[1]["journal"] == "2019 15th International Conference on eScience (eScience)"
    assert records[1]["volume"] == "" and records[3]["doi"] == ""


def test_ris_without_the_whole_ieee_layout_stays_unnamed(tmp_path: Path) -> None:
    """``JA`` and ``Y1`` alone are common RIS tags: no database is guessed from them."""
    path = tmp_path / "plain.ris"
    path.write_text("TY  - JOUR\nTI  - A\nJA  - J\nY1  - 2019\nVL  - 3\nER  - \n", encoding="utf-8")
    records = ingest_file(path).records.to_dict("records")
    assert records[0]["source_database"] == ""


def test_ebscohost_bibtex_is_named_from_its_link_db_code() -> None:
    """EBSCOhost's BibTeX names no database; its record link's ``db=`` code does, as in its CSV
    export, and the link's ``AN=`` is the record's accession number."""
    records, report, _ = _records("ebsco.bib")
    assert report.found == 2 and report.parsed == 2
    assert [r["source_database"] for r in records] == [
        "Business Source Premier via EBSCOhost", "APA PsycInfo via EBSCOhost"]
    assert [r["source_id"] for r in records] == ["11111111111111111", "2020-12345-001"]
    first = records[0]
    assert (first["title"], first["journal"], first["year"], first["pages"]) == (
        "Paper title.", "MIS Quarterly", 2000, "1-10")
    assert first["authors"] == ["Smith, Tom", "Steward, Hugo"]


def test_springer_csv_drops_editors_academic_titles() -> None:
    """Springer Link writes a book's editors with their titles, run together like every name
    (``Prof. Rafik A. AlievProf. Dr. Janusz Kacprzyk...``): "Prof. Dr. Janusz Kacprzyk" was an
    author's name, another person than "Janusz Kacprzyk" of any other export."""
    records, report, _ = _records("springer.csv")
    assert report.found == 4 and report.parsed == 4
    assert {r["source_database"] for r in records} == {"Springer Link"}
    assert records[1]["authors"] == [
        "Rafik A. Aliev", "Janusz Kacprzyk", "Witold Pedrycz", "Mo Jamshidi", "Mustafa Babanli",
        "Fahreddin M. Sadikoglu"]
    assert records[2]["authors"] == ["Barnabás Bede", "Martine Ceberio", "Martine De Cock", "Vladik Kreinovich"]
    assert records[0]["authors"] == ["Araz R. Aliev", "Nigar T. Ismayilova"]
    article = records[3]
    assert (article["journal"], article["volume"], article["issue"], article["doi"], article["year"]) == (
        "Journal of Big Data", "9", "1", "10.1186/s40537-021-00555-2", 2022)
