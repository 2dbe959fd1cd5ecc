"""Exports added in round 4 of the hunt for unread formats (Dimensions CSV/XLSX, and the others
listed in tests/fixtures/tabular/README.md and tests/fixtures/tagged/README.md, which say where
each fixture comes from and under which licence)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evreview.errors import IngestError
from evreview.ingest import ingest_file
from evreview.ingest.registry import Source, detect
from evreview.ingest.textio import decode, is_container

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TABULAR = FIXTURES / "tabular"
TAGGED = FIXTURES / "tagged"


def source_for(path: Path) -> Source:
    data = path.read_bytes()
    return Source(path=path, data=data, text=None if is_container(data) else decode(data, path))


def raw_of(result, index: int) -> dict:
    return json.loads(result.records["raw"].iloc[index])


# --------------------------------------------------------------------------- Dimensions


def test_dimensions_full_record_csv_skips_its_about_the_data_line() -> None:
    """The "About the data" line above the header made the file an unrecognised format."""
    path = TABULAR / "dimensions.csv"
    assert detect(source_for(path)).name == "dimensions_csv"
    result = ingest_file(path, root=TABULAR)
    report = result.reports[0]
    assert (report.found, report.parsed, report.failed, report.warnings) == (3, 3, 0, 0)
    assert report.source_database == "Dimensions"
    article, chapter, preprint = (result.records.iloc[i] for i in range(3))
    assert list(result.records["source_line"]) == [3, 6, 7]  # the preamble and the header are lines 1-2
    assert (article["source_id"], article["doi"], article["pmid"]) == (
        "pub.1000000001",
        "10.1000/dim.2022.001",
        "35000001",
    )
    assert list(article["authors"]) == ["Doe, Jane A", "van der Berg, Pieter", "O'Neil, Siobhán"]
    assert (article["year"], article["journal"], article["volume"], article["issue"], article["pages"]) == (
        2022,
        "Journal of Spine Tests",
        "47",
        "6",
        "411-420",
    )
    assert list(article["keywords"]) == ["Humans", "Low Back Pain", "Walking", "Exercise Therapy"]
    assert article["doc_type"] == "article"
    assert article["url"] == "https://app.dimensions.ai/details/publication/pub.1000000001"
    # a chapter's book is its journal; a preprint of a review is a preprint
    assert (chapter["journal"], chapter["isbn"], chapter["doc_type"]) == (
        "Handbook of Example Medicine",
        "978-3-030-00000-7",
        "chapter",
    )
    assert (preprint["doc_type"], preprint["title"]) == (
        "preprint",
        'A "step count" review of walking interventions, with a note on quotes',
    )
    assert raw_of(result, 0)["PMCID"] == "PMC9000001"


def test_dimensions_bibliometric_mapping_csv() -> None:
    """The "Export for bibliometric mapping" layout: ``Source title/Anthology title``, CRLF."""
    result = ingest_file(TABULAR / "dimensions_mapping.csv", root=TABULAR)
    assert result.reports[0].source_format == "dimensions_csv"
    first, second = result.records.iloc[0], result.records.iloc[1]
    assert (first["journal"], first["pages"], first["year"]) == ("Journal of Example Rehabilitation", "e0123", 2020)
    assert list(first["authors"]) == ["Ng, Wei", "Park, Soo-Ah"]
    assert (second["source_id"], second["pages"]) == ("pub.1000000012", "77-80")
    assert raw_of(result, 0)["Cited references"].startswith("[Doe, Jane A;")


def test_dimensions_unquoted_preamble_and_no_preamble(tmp_path: Path) -> None:
    """An unquoted "About the data" line with quotes inside, and a file whose line was deleted."""
    text = (TABULAR / "dimensions.csv").read_text(encoding="utf-8-sig")
    rest = text.split("\n", 1)[1]
    unquoted = tmp_path / "unquoted.csv"
    unquoted.write_text(
        'About the data: Exported on Sep 30, 2026. Criteria: "walking" in title,"x\n' + rest, encoding="utf-8"
    )
    deleted = tmp_path / "deleted.csv"
    deleted.write_text(rest, encoding="utf-8")
    for path, first_line in ((unquoted, 3), (deleted, 2)):
        result = ingest_file(path, root=tmp_path)
        assert result.reports[0].source_format == "dimensions_csv", path.name
        assert len(result.records) == 3 and result.records.iloc[0]["source_line"] == first_line
        assert result.records.iloc[0]["source_database"] == "Dimensions"


def test_dimensions_xlsx_with_the_about_the_data_row(tmp_path: Path) -> None:
    """Dimensions' Excel export puts the same line in the first row of the sheet."""
    import csv

    from openpyxl import Workbook

    rows = list(csv.reader((TABULAR / "dimensions.csv").read_text(encoding="utf-8-sig").splitlines(keepends=True)))
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append([int(cell) if cell.isdigit() and len(cell) < 6 else cell for cell in row])
    path = tmp_path / "Dimensions-Publication-2026-12-04_10-11-12.xlsx"
    book.save(path)
    assert detect(source_for(path)).name == "dimensions_csv"
    result = ingest_file(path, root=tmp_path)
    assert result.reports[0].source_format == "dimensions_csv"
    assert list(result.records["source_id"]) == ["pub.1000000001", "pub.1000000002", "pub.1000000003"]
    assert list(result.records["source_line"]) == [3, 4, 5]  # sheet rows
    assert (result.records.iloc[0]["year"], result.records.iloc[0]["volume"]) == (2022, "47")


def test_dimensions_preamble_alone_is_not_a_table(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text('"About the data: Exported on Dec 04, 2026. Criteria: none."\n', encoding="utf-8")
    with pytest.raises(IngestError, match=r"empty\.csv"):
        ingest_file(path, root=tmp_path)


# --------------------------------------------------------------------------- Cochrane Library plain text


def test_cochrane_plain_text_records_databases_and_pmid() -> None:
    """The Library's plain-text export ("Record #1 of 3", "ID: CN-...") was an unrecognised format."""
    path = TAGGED / "cochrane.txt"
    assert detect(source_for(path)).name == "cochrane_txt"
    result = ingest_file(path, root=TAGGED)
    report = result.reports[0]
    assert (report.found, report.parsed, report.failed, report.warnings) == (3, 3, 0, 0)
    trial, registry, review = (result.records.iloc[i] for i in range(3))
    assert list(result.records["source_line"]) == [1, 20, 30]
    assert (trial["source_id"], trial["pmid"], trial["doi"], trial["pages"]) == (
        "CN-01234567",
        "31234567",
        "10.1000/xyz",
        "123-130",
    )
    assert trial["source_database"] == "Cochrane Central Register of Controlled Trials (CENTRAL)"
    assert list(trial["authors"]) == ["Smith J", "Doe A"]
    assert (trial["year"], trial["journal"], trial["volume"], trial["issue"]) == (2019, "Journal of Things", "12", "3")
    assert trial["abstract"].endswith("We randomised 200 adults. Results. Pain fell more with walking.")
    assert list(trial["keywords"]) == ["Adult", "Back Pain [*therapy]", "Humans", "Walking"]
    assert registry["source_database"] == trial["source_database"] and registry["title"].startswith("Yoga")
    assert (review["source_database"], review["doc_type"], review["issue"]) == (
        "Cochrane Database of Systematic Reviews",
        "review",
        "9",
    )
    assert list(review["authors"]) == ["Roe R", "Poe P"]
    assert raw_of(result, 0)["XR"] == "PUBMED 31234567; EMBASE 628123456"


def test_cochrane_ris_with_record_headers_is_still_ris() -> None:
    """The Library's RIS download starts with the same "Record #1 of N" line."""
    text = (
        'Record #1 of 1\nProvider: John Wiley & Sons, Ltd\nContent: text/plain; charset="UTF-8"\n\n'
        "TY  - JOUR\nID  - CN-01234567\nTI  - A trial\nER  - \n"
    )
    assert detect(Source(path=Path("c.ris"), data=text.encode(), text=text)).name == "ris"


def test_cochrane_plain_text_cut_inside_a_record_keeps_what_is_there(tmp_path: Path) -> None:
    path = tmp_path / "cut.txt"
    path.write_text((TAGGED / "cochrane.txt").read_text(encoding="utf-8")[:700], encoding="utf-8")
    result = ingest_file(path, root=tmp_path)
    assert result.reports[0].source_format == "cochrane_txt"
    assert result.reports[0].found == result.reports[0].parsed + result.reports[0].failed


# --------------------------------------------------------------------------- Rayyan and Covidence CSV


def test_rayyan_csv_names_rayyan_and_cuts_glued_ris_lines() -> None:
    """Rayyan's articles.csv (real rows, asreview/citation-file-formatting, CC0): a generic table
    before, with no database, ``url``/``doi`` cells ending in RIS lines, an ISSN JSON list."""
    path = TABULAR / "rayyan.csv"
    assert detect(source_for(path)).name == "rayyan_csv"
    result = ingest_file(path, root=TABULAR)
    assert (result.reports[0].found, result.reports[0].parsed, result.reports[0].warnings) == (3, 3, 0)
    assert result.reports[0].source_database == "Rayyan"
    first, _, third = (result.records.iloc[i] for i in range(3))
    assert (first["source_id"], first["doi"], first["year"]) == ("rayyan-42924189", "10.1038/s41467-024-48400-3", 2024)
    assert first["url"] == "https://www.embase.com/search/results?subaction=viewrecord&id=L2029880245&from=export"
    assert list(first["authors"]) == ["Yang, Z.", "Jiang, B.", "Xu, J.", "McNamara, M.E."]
    assert list(first["keywords"])[:3] == ["keratin", "melanin", "animal scales"]
    assert (third["issn"], third["pages"], third["language"]) == ("1932-8494", "549-565", "eng")
    assert "RAYYAN-INCLUSION" in raw_of(result, 0)["notes"]


def test_a_table_in_rayyans_import_layout_is_not_named_rayyan(tmp_path: Path) -> None:
    path = tmp_path / "for_rayyan.csv"
    path.write_text('key,title,authors,year,notes,pubmed_id\n1,A study,"Doe, J",2020,,123\n', encoding="utf-8")
    result = ingest_file(path, root=tmp_path)
    assert result.reports[0].source_format == "rayyan_csv"
    assert result.records.iloc[0]["source_database"] == "" and result.records.iloc[0]["pmid"] == "123"


def test_covidence_csv_reads_the_year_and_drops_affiliations_in_issue() -> None:
    """Covidence's references CSV (real rows, asreview/citation-file-formatting, CC0): read as a
    generic table it lost every year (``Published Year``) and took the review's Tags as keywords."""
    path = TABULAR / "covidence.csv"
    assert detect(source_for(path)).name == "covidence_csv"
    result = ingest_file(path, root=TABULAR)
    report = result.reports[0]
    assert (report.found, report.parsed, report.warnings, report.source_database) == (4, 4, 1, "Covidence")
    assert list(result.records["year"]) == [2024] * 4
    assert list(result.records["source_id"]) == ["#1", "#2", "#16", "#17"]
    assert list(result.records.iloc[0]["authors"]) == ["Yang, Z.", "Jiang, B.", "Xu, J.", "McNamara, M.E."]
    assert (result.records.iloc[1]["pages"], result.records.iloc[2]["issue"]) == ("14316", "1 January")
    assert result.records.iloc[3]["issue"] == ""
    warning = result.problems.iloc[0]
    assert warning["source_line"] == 5 and "Issue holds no issue" in warning["reason"]
    assert raw_of(result, 3)["Issue"].startswith("(Boisvert C.)")


# --------------------------------------------------------------------------- Zotero CSV, damaged legacy .xls


def test_zotero_csv_reads_as_a_generic_table_without_spurious_warnings() -> None:
    """Zotero's CSV read right already, but warned that "Short Title" and "Series Title" looked
    like unrecognised title columns and suggested mapping both onto the title."""
    result = ingest_file(TABULAR / "zotero.csv", root=TABULAR)
    report = result.reports[0]
    assert (report.source_format, report.found, report.parsed, report.warnings) == ("generic_table", 2, 2, 0)
    first, second = result.records.iloc[0], result.records.iloc[1]
    assert (first["source_id"], first["year"], first["journal"]) == ("KDG9RGZA", 2012, "Molecular imaging and biology")
    assert (first["volume"], first["issue"], first["pages"], first["doi"]) == (
        "15",
        "1",
        "97-105",
        "10.1007/s11307-012-0572-0",
    )
    assert list(first["authors"])[:2] == ["Blomberg, Björn A.", "Moghbel, Mateen"]
    assert list(second["keywords"]) == [
        "electrochemotherapy",
        "head and neck cancer",
        "quality of life",
        "systematic review",
    ]


def test_web_of_science_damaged_legacy_xls_says_to_download_it_again(tmp_path: Path) -> None:
    """A readable savedrecs.xls is read (tests/test_format_xls.py); a damaged one is one line."""
    path = tmp_path / "savedrecs.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024))
    with pytest.raises(IngestError, match=r"savedrecs\.xls: a damaged \.xls workbook, .*download the export again"):
        ingest_file(path, root=tmp_path)


def test_pubmed_summary_text_is_named_for_what_it_is(tmp_path: Path) -> None:
    """PubMed's "Summary (text)" download (self-written in its layout) was "no title column
    recognised ... columns found: 1. Smith J, Doe A. ..." (its commas made it a table)."""
    path = tmp_path / "pubmed-summary.txt"
    path.write_text(
        "1. Smith J, Doe A. Walking for back pain: a trial. J Things. 2020 Jan;12(3):123-130. doi: 10.1000/xyz. "
        "PMID: 31234567; PMCID: PMC123456.\n\n2. Lee M. Second study. J Two. 2021;5:1-2. PMID: 31234568.\n",
        encoding="utf-8",
    )
    with pytest.raises(IngestError, match=r"pubmed-summary\.txt: a numbered list of citations .*'PubMed' format"):
        ingest_file(path, root=tmp_path)


def test_covidence_warning_shows_a_short_cell_whole_without_an_ellipsis(tmp_path: Path) -> None:
    """A cell of 41-60 characters is too long for an issue but was shown whole with "..." after
    it, as if cut; a longer one is cut to 60 characters with the "..."."""
    short = "Department of Medicine, University of Example"  # 45 characters
    long = "(Boisvert C.) Brigham Young University, Provo, Utah, United States"
    text = "Title,Authors,Published Year,Issue,Covidence #\n" + "".join(
        f'T{i},"Smith, J.",2024,"{issue}",#{i}\n' for i, issue in enumerate((short, long))
    )
    path = tmp_path / "covidence.csv"
    path.write_text(text, encoding="utf-8")
    result = ingest_file(path, root=tmp_path)
    reasons = result.problems["reason"].tolist()
    assert f"({short!r})" in reasons[0]
    assert f"({(long[:57] + '...')!r})" in reasons[1]
