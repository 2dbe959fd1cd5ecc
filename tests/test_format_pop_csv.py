"""Publish or Perish CSV (``Cites,Authors,Title,...,GSRank,...``): read by its own reader.

Read by the generic table reader, the file's records had no database (PRISMA counted them as
unknown), its zeros were volume "0" and pages "0-0", and a warning proposed mapping
``CitesPerAuthor`` and ``AuthorCount`` to authors. Fixtures: tests/fixtures/tabular/README.md
(detection: test_format_tabular).
"""

from __future__ import annotations

from pathlib import Path

from evreview.ingest import ingest_file

TABULAR = Path(__file__).parent / "fixtures" / "tabular"


def test_fields_zeros_and_the_google_scholar_source() -> None:
    out = ingest_file(TABULAR / "pop.csv", root=TABULAR)
    report = out.reports[0]
    assert (report.source_format, report.found, report.parsed) == ("pop_csv", 3, 3)
    assert report.source_database == "Google Scholar"
    first, book, uncited = (out.records.iloc[i] for i in range(3))
    assert list(first["authors"]) == ["G Okafor", "E Lindqvist"]
    assert (first["journal"], first["year"], first["volume"], first["issue"], first["pages"]) == (
        "Journal of Place-Based Research", 2021, "14", "2", "115-131")
    assert (first["doi"], first["issn"]) == ("10.1332/jpbr.2021.0014", "1750-0001")
    assert first["url"] == "https://www.example.org/jpbr/2021/14/115"
    assert first["abstract"].endswith("together …")
    # 0 is PoP's "unknown"; the "..." of a cut author list is no author
    assert (book["volume"], book["issue"], book["pages"], book["doc_type"]) == ("", "", "", "book")
    assert list(book["authors"]) == ["L Haddad", "P Moreau"]
    # an uncited result has no CitesURL: the file's source all the same
    assert set(out.records["source_database"]) == {"Google Scholar"}
    assert uncited["url"] == "https://www.example.org/report/2020"


def test_a_truncated_title_is_the_only_warning() -> None:
    problems = ingest_file(TABULAR / "pop.csv", root=TABULAR).problems
    assert list(problems["reason"]) == ["line 3: title truncated by Google Scholar (ends with an ellipsis)"]
    assert list(problems["severity"]) == ["warning"]


def test_a_file_from_another_source_is_left_unnamed(tmp_path: Path) -> None:
    """PoP's Crossref or OpenAlex results have no Google Scholar cites link: no database guessed."""
    text = (TABULAR / "pop.csv").read_text(encoding="utf-8").replace("https://scholar.google.com/scholar?cites=", "")
    path = tmp_path / "pop_crossref.csv"
    path.write_text(text.replace("1234567890123&as_sdt", "x").replace("9876543210&as_sdt", "x"), encoding="utf-8")
    out = ingest_file(path, root=tmp_path)
    assert set(out.records["source_database"]) == {""}


def test_the_older_eleven_column_layout() -> None:
    record = ingest_file(TABULAR / "pop_old.csv", root=TABULAR).records.iloc[0]
    assert (record["title"], record["year"], record["journal"], record["source_database"]) == (
        "Co-production in place-based partnerships", 2014, "Urban Studies", "Google Scholar")
    assert list(record["authors"]) == ["J Smith", "A Doe"]
