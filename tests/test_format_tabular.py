"""Tabular readers (Scopus/PubMed/Embase/OpenAlex/Lens/Springer/IEEE CSV, WoS tab-delimited,
generic CSV/TSV/XLSX) and the Publish or Perish JSON reader.

Own fixtures live in tests/fixtures/tabular/; the shared-data tests read every export of these
formats listed in ../shared's MANIFEST.csv and the benchmark CSVs. ``ieee.csv`` is five rows of
NLeSC/litstudy's tests/resources/ieee.csv (Apache-2.0), abstracts and term lists shortened.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from evreview.errors import IngestError
from evreview.ingest import ingest_file
from evreview.ingest.formats.embase_csv import parse_openurl, parse_source
from evreview.ingest.formats.generic_table import split_authors
from evreview.ingest.formats.ieee_csv import ieee_doc_type
from evreview.ingest.formats.pubmed_csv import parse_citation
from evreview.ingest.registry import Source, detect, readers
from evreview.ingest.textio import decode, is_container
from evreview.records import normalise_doc_type

FIX = Path(__file__).resolve().parent / "fixtures" / "tabular"
TABULAR = (
    "scopus_csv",
    "pubmed_csv",
    "embase_csv",
    "openalex_csv",
    "lens_csv",
    "springer_csv",
    "ieee_csv",
    "wos_tab",
    "generic_table",
)
MINE = (*TABULAR, "pop_json")


def ingest(name: str, **options):
    return ingest_file(FIX / name, root=FIX, **options)


def raw_of(result, index: int) -> dict:
    return json.loads(result.records["raw"].iloc[index])


def source_for(path: Path, options: dict | None = None) -> Source:
    data = path.read_bytes()
    text = None if is_container(data) else decode(data, path)
    return Source(path=path, data=data, text=text, options=options or {})


# --------------------------------------------------------------------------- detection


@pytest.mark.parametrize(
    ("name", "reader"),
    [
        ("scopus_old.csv", "scopus_csv"),
        ("scopus_new.csv", "scopus_csv"),
        ("wos_tab.txt", "wos_tab"),
        ("wos_tab_utf16.txt", "wos_tab"),
        ("pubmed.csv", "pubmed_csv"),
        ("pubmed_old.csv", "pubmed_csv"),
        ("embase.csv", "embase_csv"),
        ("openalex.csv", "openalex_csv"),
        ("lens.csv", "lens_csv"),
        ("springer.csv", "springer_csv"),
        ("ieee.csv", "ieee_csv"),
        ("generic_semicolon.csv", "generic_table"),
        ("generic.tsv", "generic_table"),
        ("generic_malformed.csv", "generic_table"),
        ("pop.json", "pop_json"),
        ("pop.csv", "pop_csv"),
        ("pop_old.csv", "pop_csv"),
        ("ctgov.csv", "ctgov_csv"),
        ("ctgov_classic.csv", "ctgov_csv"),
        ("ictrp.csv", "ictrp_csv"),
        ("zotero.csl.json", "csl_json"),
    ],
)
def test_detects_format_from_content(name: str, reader: str) -> None:
    assert detect(source_for(FIX / name)).name == reader


@pytest.mark.parametrize(
    "text",
    [
        "TY  - JOUR\nTI  - A title, with comma\nER  - \n",
        "\nPMID- 123\nTI  - A title, with comma\n",
        "@article{key,\n title = {A, B},\n}\n",
        '<?xml version="1.0"?>\n<xml><records><record/></records></xml>\n',
        "FN Clarivate Analytics Web of Science\nVR 1.0\nPT J\nAU Smith, J\nTI A, b\nER\n",
        "%0 Journal Article\n%T A title, with comma\n%A Smith, J\n",
        '{"title": "a", "authors": "b, c"}\n',
    ],
)
def test_tabular_readers_never_claim_tagged_or_markup_text(text: str) -> None:
    source = Source(path=Path("x.txt"), data=text.encode(), text=text)
    known = readers()
    assert {name: known[name].sniff(source) for name in MINE} == dict.fromkeys(MINE, 0.0)


def test_specific_readers_beat_generic_on_their_files() -> None:
    known = readers()
    for name, reader in [
        ("scopus_old.csv", "scopus_csv"),
        ("lens.csv", "lens_csv"),
        ("pubmed.csv", "pubmed_csv"),
        ("ieee.csv", "ieee_csv"),
    ]:
        source = source_for(FIX / name)
        assert known[reader].sniff(source) > known["generic_table"].sniff(source) > 0


# --------------------------------------------------------------------------- Scopus


def test_scopus_old_layout_realigns_shifted_rows() -> None:
    result = ingest("scopus_old.csv")
    report = result.reports[0]
    assert (report.found, report.parsed, report.failed) == (4, 3, 1)
    recs = result.records
    assert recs["source_line"].tolist() == [2, 4, 6]  # the first row's abstract spans lines 2-3
    first = recs.iloc[0]
    assert first["authors"] == ["Phillips J.C.", "Braun R.", "Kalé L."]
    assert first["pages"] == "1781-1802"
    assert first["keywords"] == ["Molecular dynamics", "Parallel computing", "Algorithms", "Computer simulation"]
    assert (first["doc_type"], first["language"], first["source_database"]) == ("review", "eng", "Scopus")

    shifted = recs.iloc[1]
    assert shifted["source_id"] == "2-s2.0-85123480963"
    assert shifted["doi"] == "10.1038/s41598-022-04849-0"
    assert (shifted["issn"], shifted["pmid"]) == ("2045-2322", "35064163")
    assert (shifted["language"], shifted["doc_type"], shifted["pages"]) == ("eng", "article", "1135")
    raw = raw_of(result, 1)
    assert raw["Funding Text 2"] == "A second funding text, unlabelled in the header."
    assert raw["References"].startswith("Edelstein-Keshet")
    assert raw["EID"] == "2-s2.0-85123480963"

    problem = result.problems.iloc[0]
    assert (problem["severity"], problem["source_line"]) == ("error", 5)
    assert "46 fields" in problem["reason"] and "45" in problem["reason"]


def test_scopus_placeholders_are_emptied_but_kept_in_raw() -> None:
    result = ingest("scopus_old.csv")
    editorial = result.records.iloc[2]
    assert editorial["authors"] == [] and editorial["abstract"] == ""
    assert raw_of(result, 2)["Abstract"] == "[No abstract available]"


def test_scopus_new_layout_prefers_full_names_without_ids() -> None:
    result = ingest("scopus_new.csv")
    rec = result.records.iloc[0]
    assert rec["authors"] == ["Phillips, James C.", "Braun, Rosemary"]
    assert (rec["pages"], rec["isbn"], rec["language"]) == ("044130", "978-0-00-000000-2", "eng")
    assert (rec["doc_type"], rec["source_id"], rec["year"]) == ("conference", "2-s2.0-85088868779", 2020)
    assert rec["keywords"] == ["NAMD", "GPU"]


# --------------------------------------------------------------------------- Web of Science


def test_wos_tab_maps_tags_and_keeps_quotes_literal() -> None:
    result = ingest("wos_tab.txt")
    assert result.reports[0].parsed == 2 and result.problems.empty
    first, second = result.records.iloc[0], result.records.iloc[1]
    assert first["title"] == '"Smart" knee sensors: a wearable system'
    assert first["authors"] == ["Sheeja Prakash, Karthika", "Andersen, Erik"]
    assert (first["pages"], first["pmid"], first["issn"]) == ("2300058", "12345678", "2751-1219")
    assert first["keywords"] == ["wearable system", "knee", "RELIABILITY"]
    assert first["source_database"] == "Web of Science Core Collection"
    assert (second["authors"], second["year"], second["pages"]) == (["Lin, YJ"], 2019, "1-4")
    assert (second["issn"], second["doc_type"]) == ("2163-4025", "conference")
    assert second["source_database"] == "MEDLINE (Web of Science)"
    assert len(raw_of(result, 0)) == 71


def test_wos_tab_utf16_cr_variant_reads_the_same() -> None:
    plain, utf16 = ingest("wos_tab.txt"), ingest("wos_tab_utf16.txt")
    cols = ["title", "doi", "source_id", "source_line", "abstract"]
    assert plain.records[cols].equals(utf16.records[cols])


# --------------------------------------------------------------------------- PubMed, Embase, OpenAlex, Lens


def test_pubmed_csv_parses_citation() -> None:
    recs = ingest("pubmed.csv").records
    assert recs.iloc[0][["volume", "issue", "pages"]].tolist() == ["53", "2", "334-347"]
    assert recs.iloc[0]["authors"] == ["Lim SM", "Shiau CWC", "Cheng LJ", "Lau Y"]
    assert recs.iloc[1][["volume", "issue", "pages"]].tolist() == ["3", "", "617013"]
    assert recs.iloc[2][["volume", "issue", "pages"]].tolist() == ["", "", ""]
    assert recs["pmid"].tolist() == recs["source_id"].tolist() == ["35227408", "34713095", "39999999"]


@pytest.mark.parametrize(
    ("citation", "expected"),
    [
        ("JMIR Cancer. 2021 Nov 29;7(4):e27850. doi: 10.2196/27850.", ("7", "4", "e27850")),
        ("Health Informatics J. 2023 Jan-Mar;29(1):14604582221146719.", ("29", "1", "14604582221146719")),
        ("Nature. 2020;(Suppl 2):S1-5.", ("", "Suppl 2", "S1-5")),
        ("", ("", "", "")),
    ],
)
def test_parse_citation(citation: str, expected: tuple[str, str, str]) -> None:
    parsed = parse_citation(citation)
    assert (parsed["volume"], parsed["issue"], parsed["pages"]) == expected


def test_embase_multiline_fields_and_source_citation() -> None:
    result = ingest("embase.csv")
    recs = result.records
    assert recs["source_line"].tolist() == [2, 5]
    first, second = recs.iloc[0], recs.iloc[1]
    assert first["abstract"] == "First paragraph of the abstract. Second paragraph, after a blank line."
    assert (first["journal"], first["year"]) == ("Endoscopic Ultrasound", 2014)
    assert (first["volume"], first["issue"]) == ("3", "3")
    assert (first["pages"], first["doi"], first["issn"]) == ("152-160", "10.4103/2303-9027.138783", "2226-7190")
    assert first["authors"] == ["Liu R.", "Adler D.G."]
    assert "duplication cyst (diagnosis, surgery)" in first["keywords"]
    assert (second["journal"], second["pages"], second["doi"]) == ("World Journal of Gastroenterology", "130-134", "")
    assert second["keywords"] == ["omeprazole (drug therapy)", "human", "case report"]


def test_embase_helpers() -> None:
    assert parse_source("Cancer (2004) 102:4 (253-258). Date of Publication: 25 Aug 2004") == {
        "journal": "Cancer",
        "year": "2004",
        "volume": "102",
        "issue": "4",
        "pages": "253-258",
    }
    assert parse_source("International Journal of Surgery Case Reports (2019) 54 (83-86).")["volume"] == "54"
    assert parse_openurl("http://x/y?id=doi:10.1%2F2&volume=3")["doi"] == "10.1/2"
    assert parse_source("no citation here") == {}


def test_openalex_ids_and_pipes() -> None:
    rec = ingest("openalex.csv").records.iloc[0]
    assert (rec["source_id"], rec["doi"], rec["pmid"]) == ("W2755950973", "10.1016/j.joi.2017.08.007", "35434524")
    assert rec["authors"] == ["Massimo Aria", "Corrado Cuccurullo"]
    assert (rec["pages"], rec["volume"], rec["issue"], rec["language"]) == ("959-975", "11", "4", "eng")
    assert rec["keywords"] == ["Bibliometrics", "Science mapping"]


def test_lens_fields() -> None:
    rec = ingest("lens.csv").records.iloc[0]
    assert (rec["source_id"], rec["pmid"], rec["pages"]) == ("000-360-106-493-122", "33251087", "1-12")
    assert rec["authors"] == ["Petar Radanliev", "David De Roure"]
    assert rec["keywords"] == ["Cyber risk", "IoT", "Humans"]
    assert (rec["url"], rec["doc_type"], rec["source_database"]) == ("https://a.example/1.pdf", "article", "The Lens")
    # the cell says "21945411; 21945403": hyphenated as the RIS of the same record gives them
    assert rec["issn"] == "2194-5411; 2194-5403"


# --------------------------------------------------------------------------- generic tables


def test_springer_link_csv_columns_and_run_together_authors() -> None:
    """Springer Link's CSV (layout as in CoLRev's tests/.../springer_csv.csv) was refused: no
    column is called title; its Authors cell runs the names together without a separator."""
    result = ingest("springer.csv")
    assert (result.reports[0].source_format, result.reports[0].parsed) == ("springer_csv", 2)
    article, chapter = result.records.iloc[0], result.records.iloc[1]
    assert article["title"] == "Screening tools for systematic reviews"
    assert article["authors"] == ["Mara Lindqvist", "John McDonald", "Wei Zhang"]
    assert (article["journal"], article["volume"], article["issue"], article["year"]) == (
        "Research Synthesis Methods",
        "12",
        "4",
        2021,
    )
    assert (article["doi"], article["source_database"], article["doc_type"]) == (
        "10.1007/s00000-021-0001-2",
        "Springer Link",
        "article",
    )
    assert chapter["journal"] == "Lecture Notes in Computer Science"
    assert chapter["authors"] == ["Ana DeMarco"]
    assert raw_of(result, 0)["Authors"] == "Mara LindqvistJohn McDonaldWei Zhang"


def test_ieee_xplore_csv_fields_and_database() -> None:
    """IEEE Xplore's CSV went through the generic reader, with no database: PRISMA counted its
    records under "unknown database". Pages come from Start/End Page, the content type from
    Document Identifier, keywords are the author's then IEEE's terms (no repeats)."""
    result = ingest("ieee.csv")
    report = result.reports[0]
    assert (report.source_format, report.source_database) == ("ieee_csv", "IEEE Xplore")
    assert (report.found, report.parsed) == (5, 5)
    assert result.problems.empty
    magazine, conference, journal, ibm = (result.records.iloc[i] for i in (0, 1, 3, 4))
    assert magazine["title"] == 'Exascale Computing Trends: Adjusting to the "New Normal"\' for Computer Architecture'
    assert magazine["authors"] == ["P. Kogge", "J. Shalf"]
    assert (magazine["journal"], magazine["year"], magazine["volume"], magazine["issue"], magazine["pages"]) == (
        "Computing in Science & Engineering",
        2013,
        "15",
        "6",
        "16-26",
    )
    assert (magazine["doi"], magazine["issn"], magazine["doc_type"], magazine["source_id"]) == (
        "10.1109/mcse.2013.95",
        "1558-366X",
        "article",
        "6634083",
    )
    assert magazine["keywords"] == [  # author keywords, then the IEEE terms not already there
        "Computer architecture",
        "Market research",
        "Transistors",
        "scientific computing",
        "exascale",
    ]
    assert magazine["url"] == "https://ieeexplore.ieee.org/stamp/stamp.jsp?arnumber=6634083"
    assert conference["authors"][2] == "J. -P. Nominé"
    assert (conference["doc_type"], conference["isbn"], conference["pages"], conference["volume"]) == (
        "conference",
        "978-1-7281-2451-3",
        "471-478",
        "",
    )
    comma_list = ["GPGPU computing", "CUDA kernels", "Energy modeling", "Simulation"]  # no ";" in the cell
    assert result.records.iloc[2]["keywords"][:4] == comma_list
    assert (journal["journal"], journal["doc_type"]) == ("IEEE Access", "article")
    assert (ibm["issue"], ibm["pages"], ibm["doc_type"]) == ("3/4", "11:1-11:21", "article")  # "IBM Journals"
    raw = raw_of(result, 3)
    assert raw["Document Identifier"] == "IEEE Journals" and raw["License"] == "CCBY"


@pytest.mark.parametrize(
    ("identifier", "kind"),
    [
        ("IEEE Conferences", "conference"),
        ("IEEE Journals", "article"),
        ("IEEE Magazines", "article"),
        ("IEEE Early Access Articles", "article"),
        ("Wiley-IEEE Press eBook Chapters", "chapter"),
        ("IEEE Standards", "other"),
        ("", ""),
    ],
)
def test_ieee_document_identifier_types(identifier: str, kind: str) -> None:
    assert normalise_doc_type(ieee_doc_type(identifier)) == kind


def test_ieee_csv_cut_short_reports_the_cut_row_with_its_line(tmp_path: Path) -> None:
    """A download cut mid-row: the rows before it are read whole; the cut row is kept with what
    it has and a warning naming its line and the missing fields, never dropped silently."""
    data = (FIX / "ieee.csv").read_text(encoding="utf-8")
    path = tmp_path / "ieee_cut.csv"
    path.write_text(data[: data.index("increasingly relies on heterogeneous")], encoding="utf-8")
    result = ingest_file(path, root=tmp_path)
    report = result.reports[0]
    assert (report.source_format, report.found, report.parsed) == ("ieee_csv", 5, 5)
    assert (report.failed, report.warnings) == (0, 1)
    problem = result.problems.iloc[0]
    assert (problem["severity"], problem["source_line"], problem["source_index"]) == ("warning", 6, 4)
    assert "row has 11 fields but the header has 30" in problem["reason"]
    cut = result.records.iloc[4]
    assert (cut["abstract"], cut["doi"]) == ("High-performance computing (HPC)", "")


def test_generic_semicolon_csv() -> None:
    result = ingest("generic_semicolon.csv")
    recs = result.records
    assert recs["title"].tolist() == ["Eine Studie über Kaffee", "A second study; with a semicolon"]
    assert recs.iloc[0]["authors"] == ["Müller, Anna", "Schmidt, Bernd"]
    assert recs.iloc[1]["authors"] == ["Smith J", "Jones K"]
    assert recs["source_id"].tolist() == ["1", "2"]
    assert raw_of(result, 0)["label"] == "1" and raw_of(result, 0)["Titel"] == "x"


def test_generic_tsv_bibtex_authors_and_doi_url() -> None:
    recs = ingest("generic.tsv").records
    first, second = recs.iloc[0], recs.iloc[1]
    assert first["title"] == "Tabs, quoted"
    assert first["authors"] == ["Zuna, R E", "Wang, S S"]
    assert (first["doi"], first["year"], first["doc_type"]) == ("10.1002/cncr.22001", 2006, "article")
    assert first["keywords"] == ["HPV", "cytology"]
    assert second["authors"] == ["Bill and Melinda Gates Foundation"]


@pytest.mark.parametrize(
    ("cell", "authors"),
    [
        ("Zuber, J and Le Quintrec, M", ["Zuber, J", "Le Quintrec, M"]),
        ("P Nazzaro; M Manzari", ["P Nazzaro", "M Manzari"]),
        ("Smith, John", ["Smith, John"]),
        ("Lim SM, Lau Y", ["Lim SM", "Lau Y"]),
        ("John Smith and Jane Doe", ["John Smith", "Jane Doe"]),
        ("", []),
    ],
)
def test_split_authors(cell: str, authors: list[str]) -> None:
    assert split_authors(cell) == authors


def test_excel_sep_hint_blank_and_repeated_header_cells(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_text("sep=;\n;Title;Title;Year\n7;First;Second;2001\n", encoding="utf-8")
    result = ingest_file(path, root=tmp_path)
    assert result.records["title"].tolist() == ["First"] and result.records["source_line"].tolist() == [3]
    assert raw_of(result, 0) == {"column_1": "7", "Title": "First", "Title (2)": "Second", "Year": "2001"}


def test_pubmed_old_layout() -> None:
    rec = ingest("pubmed_old.csv").records.iloc[0]
    assert (rec["pmid"], rec["journal"], rec["year"]) == ("35227408", "Behav Ther", 2022)
    assert rec["doi"] == "10.1016/j.beth.2021.09.007"
    assert (rec["volume"], rec["issue"], rec["pages"]) == ("53", "2", "334-347")
    assert rec["authors"] == ["Lim SM", "Shiau CWC", "Cheng LJ", "Lau Y"]


def test_generic_column_map() -> None:
    mapping = {"Heading": "title", "Writers": "authors", "When": "year", "Where": "journal", "Ref": "source_id"}
    result = ingest("generic_mapped.csv", column_map=mapping)
    recs = result.records
    assert recs["title"].tolist() == ["Coffee and sleep", "Tea and sleep"]
    assert recs.iloc[0]["authors"] == ["Doe, Jane", "Roe, Rick"]
    assert recs["source_id"].tolist() == ["A1", "A2"] and recs["year"].tolist() == [2018, 2019]
    assert raw_of(result, 1)["Decision"] == "exclude"


def test_generic_column_map_errors_name_the_problem() -> None:
    with pytest.raises(IngestError, match="not a record field"):
        ingest("generic_mapped.csv", column_map={"Heading": "headline"})
    with pytest.raises(IngestError, match=r"'Nope'.*columns found: Ref, Heading"):
        ingest("generic_mapped.csv", column_map={"Nope": "title"})


def test_table_without_title_column_lists_columns() -> None:
    with pytest.raises(IngestError) as caught:
        ingest("generic_notitle.csv")
    message = str(caught.value)
    assert "generic_notitle.csv" in message and "columns found: Heading, Writers, When" in message


def test_a_header_with_a_huge_cell_gives_a_short_error(tmp_path: Path) -> None:
    """Found by fuzzing: 10 MB of text pasted into the header line made the "no title
    column ... columns found:" error a 10 MB line; each name is cut, and so is a long list."""
    path = tmp_path / "damaged.csv"
    path.write_text("Heading," + "y" * 1_000_000 + "," + ",".join(f"c{i}" for i in range(100)) + "\nA,b\n")
    with pytest.raises(IngestError) as caught:
        ingest_file(path)
    message = str(caught.value)
    assert len(message) < 3000 and "damaged.csv" in message
    assert "columns found: Heading, " + "y" * 59 + "\u2026, c0, c1" in message and "and 62 more" in message


def test_malformed_rows_become_problems_with_lines() -> None:
    result = ingest("generic_malformed.csv")
    report = result.reports[0]
    assert (report.found, report.parsed, report.failed, report.warnings) == (5, 4, 1, 1)
    assert result.records["source_id"].tolist() == ["id_1", "id_3", "id_4", "id_5"]
    assert result.records["source_line"].tolist() == [2, 4, 5, 7]
    problems = result.problems.set_index("source_line")
    assert problems.loc[3, "severity"] == "error" and "5 fields" in problems.loc[3, "reason"]
    assert problems.loc[4, "severity"] == "warning" and "left empty" in problems.loc[4, "reason"]


@pytest.mark.parametrize("name", ["pubmed.csv", "scopus_old.csv", "embase.csv", "wos_tab.txt", "generic.tsv"])
def test_exports_joined_into_one_file_do_not_read_the_second_header_as_a_record(tmp_path: Path, name: str) -> None:
    """Two exports joined with ``cat`` repeat the header mid-table: it was read as one more
    record (titled "Title"); now it is skipped with a warning naming its line."""
    data = (FIX / name).read_bytes()
    path = tmp_path / name
    path.write_bytes(data + (b"" if data.endswith(b"\n") else b"\n") + data)
    single = ingest(name)
    result = ingest_file(path, root=tmp_path)
    report = result.reports[0]
    assert (report.found, report.parsed) == (2 * single.reports[0].found, 2 * single.reports[0].parsed)
    assert result.records["title"].tolist() == 2 * single.records["title"].tolist()
    repeated = result.problems[result.problems["reason"].str.contains("header row is repeated")]
    header_line = data.decode("utf-8-sig").count("\n") + 1 + (not data.endswith(b"\n"))
    assert repeated["source_line"].tolist() == [header_line] and repeated["severity"].tolist() == ["warning"]


def test_xlsx_written_with_openpyxl(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Record ID", "Article Title", "Authors", "Year", "DOI", "included"])
    sheet.append(["k1", "Spreadsheet study one", "Doe, J; Roe, R", 2019.0, "10.1000/ABC", 1])
    sheet.append([None, None, None, None, None, None])
    sheet.append(["k2", "Spreadsheet study two", "Poe, E", 2020, None, 0])
    path = tmp_path / "records.xlsx"
    book.save(path)
    result = ingest_file(path, root=tmp_path)
    assert result.reports[0].source_format == "generic_table"
    recs = result.records
    assert recs["title"].tolist() == ["Spreadsheet study one", "Spreadsheet study two"]
    assert recs["source_line"].tolist() == [2, 4]
    assert recs["year"].tolist() == [2019, 2020] and recs.iloc[0]["doi"] == "10.1000/abc"
    assert recs.iloc[0]["authors"] == ["Doe, J", "Roe, R"]
    assert json.loads(recs["raw"].iloc[1])["included"] == "0"


def test_xlsx_other_sheets_with_data_are_reported(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["Title", "Year"])
    book.active.append(["On the first sheet", 2001])
    extra = book.create_sheet("More records")
    extra.append(["Title", "Year"])
    extra.append(["On the second sheet", 2002])
    book.create_sheet("Empty")
    path = tmp_path / "two_sheets.xlsx"
    book.save(path)
    result = ingest_file(path, root=tmp_path)
    assert result.records["title"].tolist() == ["On the first sheet"]
    assert result.reports[0].warnings == 1
    assert "'More records'" in result.problems["reason"].iloc[0]


def test_a_workbook_that_expands_a_thousandfold_is_refused(tmp_path: Path) -> None:
    """Found by fuzzing: a zip bomb named .xlsx (a sheet of 1.5 GB of cells in 4 MB) was read
    cell by cell until the job's time ran out. Here 80 MB of cells in about 100 KB: refused
    from the sizes the zip declares, before any cell is read."""
    import io
    import zipfile

    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["Title", "Year"])
    saved = io.BytesIO()
    book.save(saved)
    path = tmp_path / "bomb.xlsx"
    row = b"<row>" + b'<c t="inlineStr"><is><t>A title</t></is></c>' * 1000 + b"</row>"
    with zipfile.ZipFile(saved) as small, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in small.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                bomb.writestr(info, small.read(info))
                continue
            with bomb.open(info.filename, "w", force_zip64=True) as sheet:
                sheet.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
                for _ in range(80 * 1024**2 // len(row)):
                    sheet.write(row)
                sheet.write(b"</sheetData></worksheet>")
    assert path.stat().st_size < 1024**2
    with pytest.raises(IngestError, match=r"bomb\.xlsx: refusing to read this zip file: .* would expand to 80 MB"):
        ingest_file(path, root=tmp_path)


def test_damaged_legacy_xls_is_a_clear_error(tmp_path: Path) -> None:
    """An OLE2 header and nothing readable after it (.xls files are read: tests/test_format_xls.py)."""
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))
    with pytest.raises(IngestError, match=r"old\.xls: a damaged \.xls workbook, .* save it as \.xlsx or CSV"):
        ingest_file(path, root=tmp_path)


def test_wos_excel_long_names(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Publication Type", "Authors", "Article Title", "Publication Year", "UT (Unique WOS ID)"])
    sheet.append(["J", "Smith, J", "From the WoS Excel export", 2021, "WOS:000000000000001"])
    path = tmp_path / "savedrecs.xlsx"
    book.save(path)
    result = ingest_file(path, root=tmp_path)
    rec = result.records.iloc[0]
    assert result.reports[0].source_format == "wos_tab"
    assert (rec["title"], rec["source_id"], rec["year"]) == ("From the WoS Excel export", "WOS:000000000000001", 2021)


# --------------------------------------------------------------------------- Publish or Perish


def test_pop_json_records_warnings_and_errors() -> None:
    result = ingest("pop.json")
    report = result.reports[0]
    assert (report.found, report.parsed, report.failed, report.warnings) == (3, 2, 1, 1)
    first, second = result.records.iloc[0], result.records.iloc[1]
    assert first["title"].endswith("…") and first["authors"] == ["W Guo", "D Straub"]
    assert (first["volume"], first["issue"], first["pages"]) == ("", "", "")
    assert (first["source_line"], first["source_database"]) == (2, "Google Scholar")
    assert (second["volume"], second["issue"], second["pages"]) == ("16", "3", "381-392")
    assert (second["source_database"], second["doi"]) == ("Crossref", "10.1007/s10796-013-9440-y")
    warning = result.problems[result.problems.severity == "warning"].iloc[0]
    assert warning["source_line"] == 2 and "truncated" in warning["reason"]
    error = result.problems[result.problems.severity == "error"].iloc[0]
    assert error["source_line"] == 31
    assert json.loads(result.records["raw"].iloc[0])["authors"][-1] == "..."


def test_pop_invalid_json_names_line_and_column() -> None:
    with pytest.raises(IngestError) as caught:
        ingest("pop_invalid.json", fmt="pop_json")
    assert caught.value.line == 3 and "column" in caught.value.message


# --------------------------------------------------------------------------- CSL-JSON


def test_csl_json_records_names_dates_and_a_bad_element() -> None:
    """``zotero.csl.json`` is self-written in the CSL-JSON layout of Zotero and Better BibTeX
    exports (as retorquere/zotero-better-bibtex's test fixtures write it: date-parts with a
    string year, en dashes in page and issue); CSL-JSON was refused as an unrecognised format."""
    result = ingest("zotero.csl.json")
    report = result.reports[0]
    assert (report.found, report.parsed, report.failed) == (3, 2, 1)
    first, second = result.records.iloc[0], result.records.iloc[1]
    assert first["authors"] == ["Doe, Jane", "van Beethoven, Ludwig", "The Sleep Study Group"]
    citation = (first["year"], first["journal"], first["volume"], first["pages"])
    assert citation == (2023, "Journal of Things", "64", "797-810")
    assert (first["doi"], first["pmid"], first["source_database"]) == ("10.1000/things.2023.1", "37000001", "PubMed")
    assert first["keywords"] == ["sleep", "mood"] and first["source_id"] == "doe2023"
    assert (second["year"], second["doc_type"], second["isbn"]) == (2019, "chapter", "9780262210123")
    assert second["source_database"] == ""
    error = result.problems[result.problems.severity == "error"].iloc[0]
    assert error["source_line"] == 33 and "not a record" in error["reason"]


def test_pop_json_is_not_read_as_csl_json() -> None:
    assert readers()["csl_json"].sniff(source_for(FIX / "pop.json")) == 0.0


def test_csl_json_cut_short_is_invalid_json_at_its_line(tmp_path: Path) -> None:
    """A download cut before the first ``type`` (Zotero sorts keys: ``type`` comes last) is
    still CSL-JSON; it was an unrecognised format."""
    cut = tmp_path / "cut.json"
    text = '[\n  {\n    "DOI": "10.1/x",\n    "author": [\n      {\n        "family": "Doe",\n'
    text += '        "given": "Jane"\n      }\n    ],\n    "container-title": "Journal of Thi'
    cut.write_text(text, encoding="utf-8")
    with pytest.raises(IngestError) as caught:
        ingest_file(cut)
    assert caught.value.line is not None and "invalid JSON" in caught.value.message


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("pop.json", '"article_url": "https://x.org/a", "cites_url": "", "authors": ["R Zuna"]'),
        ("csl.json", '"type": "article-journal", "container-title": "J", "author": [{"family": "Zuna"}]'),
    ],
)
def test_json_exports_with_a_lone_surrogate_or_a_huge_number_keep_their_records(
    tmp_path: Path, name: str, fields: str
) -> None:
    """Found by fuzzing damaged exports: a ``\\ud800`` escape without its pair (half a
    character) was a UnicodeEncodeError traceback when Arrow wrote the title, and a number
    of 5,000 digits failed the whole file as "a bug in evreview" (Python's int conversion
    limit). Each record is kept: the lone half as U+FFFD with a warning at its line, the
    number as its digits."""
    text = (
        f'[\n  {{"title": "Trust \\ud800in place", {fields}, "issued": {{"date-parts": [[2020]]}}}},\n'
        f'  {{"title": "Second", {fields}, "page": {"9" * 5000}}}\n]\n'
    )
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = ingest_file(path)
    assert result.records["title"].tolist() == ["Trust \ufffdin place", "Second"]
    problems = result.problems
    warned = problems[problems["reason"].str.contains("half of a character pair")]
    assert warned["source_line"].tolist() == [2] and warned["severity"].tolist() == ["warning"]
    assert (problems["severity"] == "error").sum() == 0


# --------------------------------------------------------------------------- shared data

MANIFEST_FORMATS = {
    "Scopus CSV": "scopus_csv",
    "PubMed CSV": "pubmed_csv",
    "Embase CSV": "embase_csv",
    "OpenAlex CSV": "openalex_csv",
    "Lens CSV": "lens_csv",
    "WoS tab-delimited": "wos_tab",
    "Publish or Perish JSON": "pop_json",
}


def _manifest_rows(shared: Path) -> list[dict[str, str]]:
    with open(shared / "fixtures" / "exports" / "MANIFEST.csv", encoding="utf-8", newline="") as handle:
        return [row for row in csv.DictReader(handle) if row["format"] in MANIFEST_FORMATS]


@pytest.mark.shared
def test_shared_exports_of_these_formats(shared_dir: Path) -> None:
    rows = _manifest_rows(shared_dir)
    assert {row["format"] for row in rows} == set(MANIFEST_FORMATS)
    exports = shared_dir / "fixtures" / "exports"
    for row in rows:
        result = ingest_file(exports / row["path"], root=exports)
        report = result.reports[0]
        assert report.source_format == MANIFEST_FORMATS[row["format"]], row["path"]
        assert report.parsed == report.found == int(row["records"]), row["path"]
        assert (result.records["title"].str.len() > 0).all(), row["path"]
        assert result.records["source_line"].notna().all()


@pytest.mark.shared
def test_shared_scopus_shift_lands_fields_and_is_deterministic(shared_dir: Path) -> None:
    path = shared_dir / "fixtures" / "exports" / "scopus" / "scopus.csv"
    first, second = ingest_file(path, root=shared_dir), ingest_file(path, root=shared_dir)
    recs = first.records
    assert recs["source_id"].str.match(r"^2-s2\.0-\d+$").all()
    assert set(recs["language"]) == {"eng"}
    assert recs["doc_type"].isin({"article", "review", "conference", "chapter", "book", "other"}).all()
    assert recs["pmid"].str.fullmatch(r"\d*").all() and (recs["pmid"] != "").sum() > 0
    assert recs["doi"].str.startswith("10.").sum() == 44  # every DOI in the export
    assert first.problems.empty
    assert recs.equals(second.records)


@pytest.mark.shared
@pytest.mark.parametrize(
    "name", ["sra_haematology", "sra_cytology_screening", "sra_respiratory", "digital_work", "bibdedupe_special_cases"]
)
def test_shared_dedup_benchmark_csvs(shared_dir: Path, name: str) -> None:
    path = shared_dir / "benchmarks" / "dedup" / name / "records_pre_merged.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        ids = [row["ID"] for row in csv.DictReader(handle)]
    result = ingest_file(path, root=shared_dir)
    assert result.reports[0].source_format == "generic_table"
    assert result.reports[0].found == result.reports[0].parsed == len(ids)
    assert result.records["source_id"].tolist() == ids


@pytest.mark.shared
def test_shared_screening_csv_keeps_labels(shared_dir: Path) -> None:
    path = shared_dir / "benchmarks" / "screening" / "ace" / "ace.csv"
    result = ingest_file(path, root=shared_dir)
    recs = result.records
    assert len(recs) == 2235 and (recs["title"].str.len() > 0).all()
    labels = [json.loads(raw)["label_included"] for raw in recs["raw"]]
    assert labels.count("1") == 41
    assert (recs["pmid"] == recs["source_id"]).all()


@pytest.mark.shared
@pytest.mark.slow
def test_shared_screening_benchmarks_all_read(shared_dir: Path) -> None:
    """Every labelled screening CSV: one record per row, a title column found, labels in raw."""
    import pandas as pd

    folder = shared_dir / "benchmarks" / "screening"
    paths = sorted(folder.glob("*/*.csv"))
    assert len(paths) >= 20
    for path in paths:
        encoding = "latin-1" if path.parent.name == "Radjenovic_2013" else None  # per the README
        rows = len(pd.read_csv(path, dtype=str, encoding=encoding or "utf-8"))
        result = ingest_file(path, root=shared_dir, encoding=encoding)
        report = result.reports[0]
        assert (report.source_format, report.found, report.parsed) == ("generic_table", rows, rows), path
        raw = json.loads(result.records["raw"].iloc[0])
        assert any(key.lower() in {"label", "label_included", "included"} for key in raw), path


def test_the_configs_column_map_serves_tables_of_different_layouts(tmp_path: Path) -> None:
    """``ingest.column_map`` is one map for every generic table of a review: a second
    spreadsheet without the first one's columns stopped with "column_map names column
    'Heading', which is not in the file". A map given for one file (--column-map) stays strict."""
    from evreview.cli import main
    from evreview.ingest import read_records

    raw = tmp_path / "data" / "raw" / "r1"
    raw.mkdir(parents=True)
    (raw / "a.csv").write_bytes((FIX / "generic_mapped.csv").read_bytes())
    (raw / "b.csv").write_text("Article,Year\nGambling venues and harm,2020\n", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text("review: {title: x}\npaths: {raw: " + str(tmp_path / "data" / "raw") + "}\n"
                      "ingest:\n  column_map: {Heading: title, Article: title, Writers: authors}\n", encoding="utf-8")
    out = tmp_path / "records.parquet"
    assert main(["ingest", str(raw / "a.csv"), str(raw / "b.csv"), "--config", str(config), "--out", str(out)]) == 0
    assert read_records(out)["title"].tolist() == ["Coffee and sleep", "Tea and sleep", "Gambling venues and harm"]
    with pytest.raises(IngestError, match=r"'Article'.*columns found: Ref, Heading"):
        ingest("generic_mapped.csv", column_map={"Heading": "title", "Article": "title"})


def test_a_config_column_map_column_in_no_table_is_warned_about_once(tmp_path: Path, capsys) -> None:
    """The config's map skips a column a table lacks (it may be another table's), so a
    misspelt one ("Sumary Text") was skipped in every table without a word, its field empty
    in every record. A column in none of the tables of one ingest is now one warning in the
    problems (naming it, the config key and the nearest actual column) and on stderr: from
    `evreview ingest` given the files, and from `evreview gather --config` after the
    workflow's one-file ingest jobs (each sees one table: no warning there)."""
    from openpyxl import Workbook

    from evreview.cli import main

    root = tmp_path / "data" / "raw"
    raw = root / "r1"
    raw.mkdir(parents=True)
    (raw / "a.csv").write_text("Title,Year\nCoffee and sleep,2020\n", encoding="utf-8")
    (raw / "b.csv").write_text("Heading,Summary Text\nTea and sleep,Tea keeps you up\n", encoding="utf-8")
    book = Workbook()
    book.active.append(["Article", "Writers"])
    book.active.append(["Gambling venues and harm", "Smith, J"])
    book.save(raw / "c.xlsx")
    (raw / "d.ris").write_text("TY  - JOUR\nTI  - Sleep hygiene\nER  - \n", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text("review: {title: x}\npaths: {raw: " + str(root) + "}\ningest:\n  column_map:\n"
                      "    Heading: title\n    Sumary Text: abstract\n    Article: title\n    Writers: authors\n",
                      encoding="utf-8")
    files = [raw / name for name in ("a.csv", "b.csv", "c.xlsx", "d.ris")]

    def warnings(problems: Path) -> list[str]:
        frame = pd.read_csv(problems, dtype=str, keep_default_na=False)
        return [f"{r.source_file} | {r.source_line} | {r.reason}" for r in frame.itertuples()
                if r.severity == "warning"]

    want = (rf"^{config.as_posix()} \| 6 \| ingest.column_map names column 'Sumary Text' \(-> abstract\), which is "
            r"in none of the tables read \(r1/a.csv, r1/b.csv, r1/c.xlsx\), so it was not used; did you mean "
            r"'Summary Text' \(in r1/b.csv\)\?$")
    out = tmp_path / "all.parquet"
    assert main(["ingest", *map(str, files), "--config", str(config), "--root", str(root), "--out", str(out)]) == 0
    found = warnings(tmp_path / "all_problems.csv")
    assert len(found) == 1 and re.match(want, found[0]), found
    assert "warning: " in capsys.readouterr().err

    # the workflow: one ingest job per file (no warning: each sees one table), then gather
    tables = []
    for path in files:
        table = tmp_path / "per_file" / f"{path.name}.parquet"
        assert main(["ingest", str(path), "--config", str(config), "--root", str(root), "--out", str(table)]) == 0
        assert warnings(tmp_path / "per_file" / f"{path.name}_problems.csv") == []
        tables.append(str(table))
    gathered = ["gather", *tables, "--out", str(tmp_path / "g.parquet"), "--report", str(tmp_path / "g_report.csv"),
                "--problems", str(tmp_path / "g_problems.csv")]
    assert main(gathered) == 0
    assert warnings(tmp_path / "g_problems.csv") == []  # no config given: nothing to check
    capsys.readouterr()
    assert main([*gathered, "--config", str(config), "--root", str(root)]) == 0
    found = warnings(tmp_path / "g_problems.csv")
    assert len(found) == 1 and re.match(want, found[0]), found
    err = capsys.readouterr().err
    assert err.count("warning: ") == 1 and f"{config.as_posix()}:6: ingest.column_map names column 'Sumary Text'" in err

    # every mapped column in some table (none in all of them): nothing to say
    config.write_text(config.read_text(encoding="utf-8").replace("Sumary", "Summary"), encoding="utf-8")
    assert main([*gathered, "--config", str(config), "--root", str(root)]) == 0
    assert warnings(tmp_path / "g_problems.csv") == []


def test_columns_named_in_another_script_are_told_apart(tmp_path: Path) -> None:
    """Column names were compared by their ASCII letters only, so every Cyrillic or Chinese
    name was the same empty key: mapping a Russian table's "Заголовок" to title and
    "Аннотация" to abstract put the title in the abstract as well, and a misspelt mapped
    column of that script matched every such column instead of being warned about."""
    from evreview.cli import main

    table = tmp_path / "ru.csv"
    table.write_text("Заголовок,Аннотация,作者\nКофе и сон,Кофе мешает спать,王伟\n", encoding="utf-8")
    result = ingest_file(table, root=tmp_path, column_map={"Заголовок": "title", "Аннотация": "abstract",
                                                            "作者": "authors"})
    record = result.records.iloc[0]
    assert (record["title"], record["abstract"], list(record["authors"])) == ("Кофе и сон", "Кофе мешает спать",
                                                                             ["王伟"])
    with pytest.raises(IngestError, match="column_map names column 'Аннотацыя', which is not in the file"):
        ingest_file(table, root=tmp_path, column_map={"Заголовок": "title", "Аннотацыя": "abstract"})
    # accents aside, as before: "Resume" is the column "Résumé"
    accented = tmp_path / "fr.csv"
    accented.write_text("Titre,Résumé\nCafé et sommeil,Le café empêche de dormir\n", encoding="utf-8")
    fr = ingest_file(accented, root=tmp_path, column_map={"Titre": "title", "Resume": "abstract"})
    assert fr.records.iloc[0]["abstract"] == "Le café empêche de dormir"

    # the config's map across tables: the misspelt column is warned about
    (tmp_path / "other.csv").write_text("Title,Year\nTea and sleep,2021\n", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(f"review: {{title: x}}\npaths: {{raw: {tmp_path}}}\ningest:\n  column_map:\n"
                      "    Заголовок: title\n    Аннотацыя: abstract\n", encoding="utf-8")
    out = tmp_path / "all.parquet"
    assert main(["ingest", str(table), str(tmp_path / "other.csv"), "--config", str(config), "--root",
                 str(tmp_path), "--out", str(out)]) == 0
    problems = pd.read_csv(tmp_path / "all_problems.csv", dtype=str, keep_default_na=False)
    warned = problems[problems["reason"].str.contains("ingest.column_map names column")]
    assert len(warned) == 1 and "'Аннотацыя'" in warned["reason"].iloc[0], problems.to_dict("records")
    assert "did you mean 'Аннотация' (in ru.csv)?" in warned["reason"].iloc[0]


def test_the_column_map_check_reads_headers_in_the_encoding_given_on_the_command_line(tmp_path: Path) -> None:
    """`evreview ingest --encoding cp1252 a.csv b.csv --config ...` read the tables in cp1252
    but the column_map check read their headers as UTF-8, so "Résumé" (mapped, and used) was
    "R?sum?" there and was warned about as a column in none of the tables."""
    from evreview.cli import main

    for name, title in (("a.csv", "Café et sommeil"), ("b.csv", "Thé et sommeil")):
        (tmp_path / name).write_bytes(f"Titre;Résumé\n{title};Le café empêche de dormir\n".encode("cp1252"))
    config = tmp_path / "config.yaml"
    config.write_text(f"review: {{title: x}}\npaths: {{raw: {tmp_path}}}\ningest:\n  column_map:\n"
                      "    Titre: title\n    Résumé: abstract\n", encoding="utf-8")
    files = [str(tmp_path / "a.csv"), str(tmp_path / "b.csv")]
    out = tmp_path / "all.parquet"
    assert main(["ingest", *files, "--encoding", "cp1252", "--config", str(config), "--root", str(tmp_path),
                 "--out", str(out)]) == 0
    problems = pd.read_csv(tmp_path / "all_problems.csv", dtype=str, keep_default_na=False)
    assert not problems["reason"].str.contains("ingest.column_map names column").any(), problems.to_dict("records")
    from evreview.ingest import read_records

    assert read_records(out)["abstract"].tolist() == ["Le café empêche de dormir"] * 2


def test_the_column_map_warning_names_the_line_of_that_column(tmp_path: Path) -> None:
    """The warning's config line was the first line after ``column_map:`` holding the column's
    name anywhere: "Abstract" pointed at an earlier ``Abstract Note: abstract`` (a Zotero
    column the tables do have), not at its own entry."""
    from evreview.cli import main

    root = tmp_path / "raw"
    (root / "r1").mkdir(parents=True)
    (root / "r1" / "a.csv").write_text("Title,Abstract Note\nCoffee and sleep,Coffee keeps you up\n",
                                       encoding="utf-8")
    (root / "r1" / "b.csv").write_text("Title,Year\nTea and sleep,2021\n", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text("review: {title: x}\n# column_map: Abstract is the other tool's name\npaths: {raw: "
                      + str(root) + "}\ningest:\n  column_map:\n    Abstract Note: abstract   # Zotero\n"
                      '    "Abstract": abstract\n', encoding="utf-8")
    out = tmp_path / "all.parquet"
    files = [str(root / "r1" / name) for name in ("a.csv", "b.csv")]
    assert main(["ingest", *files, "--config", str(config), "--root", str(root), "--out", str(out)]) == 0
    problems = pd.read_csv(tmp_path / "all_problems.csv", dtype=str, keep_default_na=False)
    warned = problems[problems["reason"].str.contains("ingest.column_map names column")]
    assert warned["source_line"].tolist() == ["7"], warned.to_dict("records")
    assert "'Abstract' (-> abstract)" in warned["reason"].iloc[0]


def test_generic_table_names_columns_it_did_not_read(tmp_path: Path) -> None:
    """A spreadsheet whose abstract or DOI column has a name we do not know ingested with those
    fields empty and no word said; such columns are now named in a warning with a ready map, and
    common spellings ("Abstract Text", "Digital Object Identifier", "DOI Link") are recognised."""
    path = tmp_path / "refs.csv"
    path.write_text(
        "Article Title,Abstract Text,Digital Object Identifier,Abstract (English),Author Affiliations,"
        "Author ID,Times Cited,Notes,label\n"
        "A study,An abstract,10.1000/x1,Ein Abstract,Uni A,123,3,n,1\n"
    )
    result = ingest_file(path)
    record = result.records.iloc[0]
    assert (record["abstract"], record["doi"]) == ("An abstract", "10.1000/x1")
    warnings = result.problems["reason"].tolist()
    assert len(warnings) == 1
    assert "'Abstract (English)'" in warnings[0]
    assert '{"Abstract (English)": "abstract"}' in warnings[0]
    # affiliations, ids, counts and columns of the reviewer's own are not record fields
    assert not any(name in warnings[0] for name in ("Affiliations", "Author ID", "Times Cited", "Notes", "label"))
    # the suggested map works as given
    mapped = ingest_file(path, column_map={"Abstract (English)": "abstract"})
    assert mapped.records.iloc[0]["abstract"] == "Ein Abstract"
    assert mapped.problems.empty


def test_camel_case_counts_are_not_taken_for_record_fields(tmp_path: Path) -> None:
    """A table with Publish or Perish's count columns was told to map "CitesPerAuthor" and
    "AuthorCount" to authors (their names were read as one word each); "AuthorList" is
    still named, as a column of names."""
    path = tmp_path / "refs.csv"
    path.write_text("Title,Year,AuthorCount,CitesPerAuthor,AuthorList\nA study,2020,2,4,Jane Doe\n")
    warnings = ingest_file(path).problems["reason"].tolist()
    assert len(warnings) == 1
    assert '{"AuthorList": "authors"}' in warnings[0]
    assert "AuthorCount" not in warnings[0] and "CitesPerAuthor" not in warnings[0]


# --------------------------------------------------------------------------- Cochrane Library CSV

#: Self-written in the Cochrane Library CSV layout (column names as the Library writes them).
COCHRANE_CSV = (
    "CENTRAL ID,Author(s),Title,Source,Year,Abstract,Volume,Issue,Pages,Database Name,PubMed ID,"
    "Embase ID,CTgov ID,CINAHL ID,ICTRP ID,Publication Type,Keywords,DOI,URL,Cochrane Review Group Code\n"
    '"CN-01234567","Doe, J; Roe, R","A trial of walking","Spine","2020","Background.","12",,"10\u201020",'
    '"Cochrane Central Register of Controlled Trials (CENTRAL)","PUBMED 31234567","EMBASE 612345678",,,,'
    '"Journal article","Walking; Back pain","10.1000/walk.1","https://www.cochranelibrary.com/central/doi/'
    '10.1002/central/CN-01234567/full","Back and Neck"\n'
)


def _written(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path / name


def test_cochrane_csv_reads_database_pmid_and_central_id(tmp_path: Path) -> None:
    path = _written(tmp_path, "cochrane.csv", COCHRANE_CSV)
    assert detect(source_for(path)).name == "cochrane_csv"
    result = ingest_file(path, root=tmp_path)
    row = result.records.iloc[0]
    assert row["source_database"] == "Cochrane Central Register of Controlled Trials (CENTRAL)"
    assert (row["pmid"], row["source_id"], row["pages"]) == ("31234567", "CN-01234567", "10-20")
    assert list(row["authors"]) == ["Doe, J", "Roe, R"]
    assert list(row["keywords"]) == ["Walking", "Back pain"]
    assert result.reports[0].source_database == "Cochrane Central Register of Controlled Trials (CENTRAL)"


def test_google_scholar_csv_publication_column_is_the_journal(tmp_path: Path) -> None:
    """Google Scholar's CSV (Authors,Title,Publication,Volume,Number,Pages,Year,Publisher)."""
    header = "Authors,Title,Publication,Volume,Number,Pages,Year,Publisher\n"
    row_text = '"Doe, Jane; Roe, Rick; ",A study of things,Journal of Things,7,2,11-19,2001,Some Press\n'
    row = ingest_file(_written(tmp_path, "scholar.csv", header + row_text), root=tmp_path).records.iloc[0]
    assert (row["journal"], row["volume"], row["issue"], row["pages"]) == ("Journal of Things", "7", "2", "11-19")
    assert list(row["authors"]) == ["Doe, Jane", "Roe, Rick"]


#: Self-written in the layout of EBSCOhost's CSV export (its columns, Excel guards, PLink).
EBSCO_CSV = (
    "Article Title,Author,Journal Title,ISSN,ISBN,Publication Date,Volume,Issue,First Page,Page Count,"
    "Accession Number,DOI,Publisher,Doctype,Subjects,Keywords,Abstract,PLink\n"
    '"Walking and back pain.","Doe, Jane; Roe, Rick","Spine Things",="08912963",,="Jun2023","35","6","924","11",'
    '"163764290","10.1000/walk.1","A Press","Article","WALKING; BACK pain","exercise","An abstract.",'
    '"https://search.ebscohost.com/login.aspx?direct=true&db=rzh&AN=163764290&site=ehost-live"\n'
)


def test_ebsco_csv_unguards_values_and_names_database_and_pages(tmp_path: Path) -> None:
    path = _written(tmp_path, "ebsco.csv", EBSCO_CSV)
    assert detect(source_for(path)).name == "ebsco_csv"
    row = ingest_file(path, root=tmp_path).records.iloc[0]
    assert (row["issn"], row["year"], row["pages"]) == ("0891-2963", 2023, "924-934")
    assert row["source_database"] == "CINAHL Plus via EBSCOhost"
    assert (row["source_id"], row["doi"]) == ("163764290", "10.1000/walk.1")
    assert list(row["keywords"]) == ["WALKING", "BACK pain", "exercise"]
    assert list(row["authors"]) == ["Doe, Jane", "Roe, Rick"]
    assert json.loads(row["raw"])["ISSN"] == '="08912963"'  # raw keeps the export's own text
