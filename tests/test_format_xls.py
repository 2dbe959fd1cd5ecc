"""Legacy binary ``.xls`` workbooks (BIFF8 in an OLE2 file), read with xlrd.

Web of Science's "Excel" export is ``savedrecs.xls``; ProQuest and EBSCOhost also write .xls.
Every table reader sees the first sheet's rows as it sees an .xlsx's. The fixtures are written
by tests/fixtures/tabular/make_xls.py (see the README there); damaged, encrypted and
not-a-workbook files are made from them here. xlrd is a dependency: these tests fail, not
skip, without it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from evreview import cli
from evreview.errors import IngestError
from evreview.ingest import ingest_file
from evreview.ingest.formats._tabular import Table, load_table
from evreview.ingest.registry import Source, detect
from evreview.ingest.textio import decode, is_container

FIX = Path(__file__).resolve().parent / "fixtures" / "tabular"
SAVEDRECS = FIX / "wos_savedrecs.xls"
#: the same five records, as WoS's tab-delimited export wrote them (the .xls is made from them)
SAVEDRECS_TXT = FIX / "wos_savedrecs.txt"


def source_for(path: Path) -> Source:
    data = path.read_bytes()
    text = None if is_container(data) else decode(data, path)
    return Source(path=path, data=data, text=text, options={})


def table_of(path: Path) -> Table:
    return load_table(source_for(path))


def test_xlrd_is_installed() -> None:
    """A dependency (pyproject.toml), not an optional extra: without it no .xls is read."""
    import xlrd

    assert tuple(int(part) for part in xlrd.__version__.split(".")[:3]) >= (2, 0, 1)


# --------------------------------------------------------------------------- Web of Science savedrecs.xls


def test_wos_savedrecs_xls_reads_as_wos_tab() -> None:
    assert detect(source_for(SAVEDRECS)).name == "wos_tab"
    result = ingest_file(SAVEDRECS, root=FIX)
    report = result.reports[0]
    assert (report.source_format, report.found, report.parsed, report.failed, report.warnings) == (
        "wos_tab",
        5,
        5,
        0,
        0,
    )
    recs = result.records
    assert set(recs["source_database"]) == {"Web of Science Core Collection"}
    assert list(recs["source_id"]) == [
        "WOS:000381182400049",
        "WOS:001597451300009",
        "WOS:000478684800001",
        "WOS:000985526700039",
        "WOS:000272266800006",
    ]
    assert list(recs["source_line"]) == [2, 3, 4, 5, 6]  # sheet rows
    assert list(recs["year"]) == [2016, 2025, 2019, 2023, 2009]  # numbers in the sheet: 2016.0 is 2016
    first = recs.iloc[0]
    assert first["title"] == (
        "Development of a Wearable Cardiac Monitoring System for Behavioral Neurocardiac Training: A Usability Study"
    )
    assert list(first["authors"])[:2] == ["Uddin, Akib A.", "Morita, Plinio P."]  # Author Full Names
    assert (first["journal"], first["volume"], first["issue"], first["pages"]) == (
        "JMIR MHEALTH AND UHEALTH",
        "4",
        "2",
        "604-614",
    )
    assert (first["doi"], first["pmid"]) == ("10.2196/mhealth.5288", "27106171")
    assert first["abstract"].startswith("Background: Elevated blood pressure")
    assert list(recs["pages"]) == ["604-614", "36908-36925", "643-668", "914-926", "24"]
    assert recs.iloc[3]["volume"] == "E106D"  # a volume that is not a number stays text
    raw = json.loads(first["raw"])
    assert (raw["Publication Year"], raw["Pubmed Id"], raw["Date of Export"]) == ("2016", "27106171", "2026-04-02")


def test_wos_savedrecs_xls_gives_the_records_of_the_same_rows_in_tab_delimited_text() -> None:
    from_xls = ingest_file(SAVEDRECS, root=FIX)
    from_txt = ingest_file(SAVEDRECS_TXT, root=FIX)
    assert from_txt.reports[0].source_format == "wos_tab"
    fields = [c for c in from_txt.records.columns if c not in ("record_id", "source_file", "raw")]
    left = from_xls.records[fields].to_dict("records")
    right = from_txt.records[fields].to_dict("records")
    assert json.dumps(left, default=list) == json.dumps(right, default=list)
    # every cell, under its long name in the workbook and its tag in the text
    xls_columns, txt_columns = table_of(SAVEDRECS).columns, table_of(SAVEDRECS_TXT).columns
    assert len(xls_columns) == len(txt_columns) == 71
    assert (xls_columns[0], xls_columns[8], xls_columns[-1]) == (
        "Publication Type",
        "Article Title",
        "UT (Unique WOS ID)",
    )
    for xls_raw, txt_raw in zip(from_xls.records["raw"], from_txt.records["raw"]):
        a, b = json.loads(xls_raw), json.loads(txt_raw)
        assert [a[name] for name in xls_columns] == [b[tag] for tag in txt_columns]


def test_wos_excel_columns_without_the_accession_are_not_wos() -> None:
    """Only the reader's signature claims a workbook: the generic table reads the rest."""
    assert detect(source_for(FIX / "generic.xls")).name == "generic_table"


# --------------------------------------------------------------------------- any other table


def test_generic_xls_reads_like_the_same_xlsx(tmp_path: Path) -> None:
    """The cells of an .xls are the texts the .xlsx path gives: whole numbers without ``.0``,
    dates as ISO dates, booleans as TRUE/FALSE, an empty row skipped (its number kept)."""
    import datetime as dt

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Records"
    for row in (
        ["Title", "Abstract", "Authors", "Year", "DOI", "Screened on", "Included"],
        ["Walking programmes for chronic low back pain", "A randomised trial of walking.", "Doe, J; Roe, R",
         2019.0, "10.1000/WALK.2019.1", dt.datetime(2024, 5, 17), True],
        [None] * 7,
        ["Yoga for neck pain: a pilot study", None, "Poe, E", 2021, None, None, False],
        ["Tai chi and balance in older adults", "Balance improved.", "Li, X", 2018.5, "10.1000/taichi", None, None],
    ):
        sheet.append(row)
    book.create_sheet("Second search").append(["A record on the second sheet"])
    xlsx = tmp_path / "generic.xlsx"
    book.save(xlsx)

    from_xls, from_xlsx = table_of(FIX / "generic.xls"), table_of(xlsx)
    assert from_xls.columns == from_xlsx.columns
    assert [(row.line, row.values) for row in from_xls.rows] == [(row.line, row.values) for row in from_xlsx.rows]
    assert from_xls.rows[0].values[3:] == ["2019", "10.1000/WALK.2019.1", "2024-05-17", "TRUE"]
    assert from_xls.rows[2].values[3] == "2018.5"
    assert from_xls.notes == from_xlsx.notes and "'Second search'" in from_xls.notes[0]


def test_generic_xls_records() -> None:
    result = ingest_file(FIX / "generic.xls", root=FIX)
    report = result.reports[0]
    assert (report.source_format, report.parsed, report.warnings) == ("generic_table", 3, 1)  # the other sheet
    recs = result.records
    assert list(recs["source_line"]) == [2, 4, 5]
    assert list(recs["year"][:2]) == [2019, 2021]
    assert (recs.iloc[0]["doi"], list(recs.iloc[0]["authors"])) == ("10.1000/walk.2019.1", ["Doe, J", "Roe, R"])
    assert json.loads(recs["raw"].iloc[1])["Included"] == "FALSE"


def test_dimensions_xls_with_the_about_the_data_row() -> None:
    """Dimensions' reader finds its preamble row in an .xls's first sheet as in an .xlsx's."""
    assert detect(source_for(FIX / "dimensions.xls")).name == "dimensions_csv"
    from_xls = ingest_file(FIX / "dimensions.xls", root=FIX)
    from_csv = ingest_file(FIX / "dimensions.csv", root=FIX)
    assert list(from_xls.records["source_id"]) == ["pub.1000000001", "pub.1000000002", "pub.1000000003"]
    assert list(from_xls.records["source_line"]) == [3, 4, 5]
    for field in ("title", "year", "volume", "issue", "pages", "doi", "pmid", "journal"):
        assert list(from_xls.records[field]) == list(from_csv.records[field]), field


# --------------------------------------------------------------------------- files that are not readable workbooks


def _encrypted(data: bytes) -> bytes:
    """``data`` with its WRITEACCESS record (0x005C, 112 bytes, in the workbook globals) turned
    into a FILEPASS record (0x002F) of the same length: what a password-protected workbook holds."""
    at = data.index(b"\x5c\x00\x70\x00")
    return data[:at] + b"\x2f\x00" + data[at + 2 :]


def _not_a_workbook(data: bytes) -> bytes:
    """``data`` with its "Workbook" stream renamed "WordDocument": an OLE2 file as a Word .doc is."""
    at = data.index("Workbook".encode("utf-16-le"))
    name = "WordDocument\0".encode("utf-16-le")
    entry = name + data[at + len(name) : at + 64] + len(name).to_bytes(2, "little")
    return data[:at] + entry + data[at + 66 :]


BAD = {
    "cut.xls": (lambda data: data[: len(data) // 2], r"a damaged \.xls workbook, cut short or corrupt \(.+\): downl"),
    "locked.xls": (_encrypted, r"a password-protected \(encrypted\) \.xls workbook: open it in Excel, remove"),
    "letter.xls": (_not_a_workbook, r"an Office file that is not an Excel workbook \(.*Word \.doc"),
    "zeros.xls": (lambda data: data[:8] + bytes(1024), r"a damaged \.xls workbook"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_unreadable_xls_is_one_line_naming_the_file(name: str, tmp_path: Path, capsys) -> None:
    make, message = BAD[name]
    path = tmp_path / name
    path.write_bytes(make((FIX / "generic.xls").read_bytes()))
    with pytest.raises(IngestError, match=rf"{name}: {message}"):
        ingest_file(path, root=tmp_path)
    assert cli.main(["ingest", str(path), "--out", str(tmp_path / "records.parquet")]) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and "Traceback" not in err, err
    assert "WARNING" not in out + err  # xlrd's own warnings go to its log, not the terminal
    assert not (tmp_path / "records.parquet").exists()


def test_xls_with_an_empty_first_sheet_says_to_move_the_table(tmp_path: Path) -> None:
    path = FIX / "empty_first_sheet.xls"
    message = r"empty_first_sheet\.xls: .*first sheet \('Sheet1'\) holds no table; sheet 'Records' holds data"
    with pytest.raises(IngestError, match=message):
        ingest_file(path, root=FIX)


def test_forced_format_on_an_unreadable_xls_is_the_same_one_line(tmp_path: Path) -> None:
    path = tmp_path / "savedrecs.xls"
    path.write_bytes((FIX / "wos_savedrecs.xls").read_bytes()[:12000])
    with pytest.raises(IngestError, match=r"savedrecs\.xls: a damaged \.xls workbook"):
        ingest_file(path, root=tmp_path, fmt="wos_tab")


def test_xls_cut_inside_its_last_block_is_read_with_a_warning(tmp_path: Path) -> None:
    """A file one byte short still holds every record (xlrd reads it); the report says it was cut."""
    path = tmp_path / "savedrecs.xls"
    path.write_bytes(SAVEDRECS.read_bytes()[:-1])
    result = ingest_file(path, root=tmp_path)
    assert result.reports[0].parsed == 5
    assert "ends in the middle of a block" in result.problems["reason"].iloc[0]


# --------------------------------------------------------------------------- start-up cost


def _modules_after(code: str) -> list[str]:
    probe = textwrap.dedent(
        f"""
        import contextlib, io, json, sys
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        {textwrap.indent(textwrap.dedent(code).strip(), " " * 12)}
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "xlrd")))
        """
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_xlrd_is_imported_only_when_an_xls_is_read(tmp_path: Path) -> None:
    ingest = "from evreview.cli import main; main(['ingest', {path!r}, '--out', {out!r}])"
    csv_path, xlsx_out = str(FIX / "generic.tsv"), str(tmp_path / "a.csv")
    assert _modules_after(ingest.format(path=csv_path, out=xlsx_out)) == []
    assert "xlrd" in _modules_after(ingest.format(path=str(SAVEDRECS), out=str(tmp_path / "b.csv")))
