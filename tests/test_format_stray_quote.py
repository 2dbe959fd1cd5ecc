"""A CSV/TSV field that opens with a quote never closed (a stray quote) must not swallow rows.

Python's csv module reads such a quote as the start of a quoted field running to the next
``"`` in the file, or to its end: the rows in between became one cell, one record, and the
ingest report's ``found`` counted them as one. Each file here is written in the test; the
comments give what the reading was before the stray-quote check.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evreview.ingest import ingest_file
from evreview.ingest.formats import _stray_quote
from evreview.ingest.formats._tabular import read_text_table


def ingest(tmp_path: Path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = ingest_file(path, root=tmp_path)
    report = result.reports[0]
    assert report.found == report.parsed + report.failed
    return result, report


def counts(report) -> tuple[int, int, int, int]:
    return report.found, report.parsed, report.failed, report.warnings


def test_a_quote_never_closed_is_read_as_a_literal_and_every_row_is_a_record(tmp_path: Path) -> None:
    # before: one row over lines 2-4, an error: found 1, parsed 0
    result, report = ingest(tmp_path, "broken.csv", 'ID,title,year\n1,"Opened quote,2001\n2,Next,2002\n3,Last,2003\n')
    assert counts(report) == (3, 3, 0, 1)
    assert result.records["title"].tolist() == ['"Opened quote', "Next", "Last"]
    assert result.records["source_line"].tolist() == [2, 3, 4]
    problem = result.problems.iloc[0]
    assert (problem["source_file"], problem["source_line"], problem["severity"]) == ("broken.csv", 2, "warning")
    assert problem["reason"].startswith("line 2: the 'title' field starts with a quote (\") that is never closed")
    assert "lines 2-4 (3 lines, to the end of the file)" in problem["reason"]
    assert "read as a literal character" in problem["reason"]


def test_a_stray_quote_closed_by_a_later_quote_no_longer_merges_rows_silently(tmp_path: Path) -> None:
    """The brief's case: a title ``"Quoted start of title, rest`` from a tool that does not
    escape. The quote ran on to ``Fifth "paper"`` and the four rows read as one record, with
    the header's field count: found 3, parsed 3, no problem at all. Now each row is read; the
    stray row itself, its title's comma splitting it, has a field too many and is an error."""
    text = (
        "Title,Authors,Year,DOI\n"
        "First paper,Smith J,2020,10.1/a\n"
        '"Quoted start of title, rest,Jones K,2021,10.1/b\n'
        "Third paper,Lee K,2019,10.1/c\n"
        "Fourth paper,Wu X,2018,10.1/d\n"
        'Fifth "paper",Kim Y,2017,10.1/e\n'
        "Sixth paper,Ng P,2016,10.1/f\n"
    )
    result, report = ingest(tmp_path, "stray.csv", text)
    assert counts(report) == (6, 5, 1, 0)
    assert result.records["title"].tolist() == [
        "First paper",
        "Third paper",
        "Fourth paper",
        'Fifth "paper"',
        "Sixth paper",
    ]
    assert result.records["source_line"].tolist() == [2, 4, 5, 6, 7]
    problem = result.problems.iloc[0]
    assert (problem["source_file"], problem["source_line"], problem["severity"]) == ("stray.csv", 3, "error")
    reason = problem["reason"]
    assert reason.startswith(
        "line 3: the 'Title' field starts with a quote (\") that is not closed where the field ends"
    )
    assert "lines 3-6 (4 lines)" in reason and "3 of which read as whole rows of 4 fields" in reason
    assert "5 fields but the header has 4: not read" in reason


def test_the_summary_counts_every_row_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from evreview.cli import main

    path = tmp_path / "stray.tsv"
    path.write_text(
        "Title\tYear\nOne\t2001\n"
        + '"Stray quote at the start\t2002\n'
        + "".join(f"Row {i}\t20{i:02d}\n" for i in range(10)),
        encoding="utf-8",
    )
    assert main(["ingest", str(path), "--root", str(tmp_path), "--out", str(tmp_path / "records.csv")]) == 0
    # before: "1/2 records (1 NOT parsed)": eleven rows in one never-closed field
    assert "stray.tsv: generic_table, unknown database: 12/12 records" in capsys.readouterr().err


def test_every_stray_quote_of_a_file_is_found(tmp_path: Path) -> None:
    # before: "Stray one" swallowed lines 2-4 up to the second stray quote, which swallowed the
    # end of the file: found 2, parsed 1
    result, report = ingest(tmp_path, "two.csv", 'Title,Year\n"Stray one,2001\nOk,2002\n"Stray two,2003\nOk2,2004\n')
    assert counts(report) == (4, 4, 0, 2)
    assert result.records["title"].tolist() == ['"Stray one', "Ok", '"Stray two', "Ok2"]
    assert result.problems["source_line"].tolist() == [2, 4]
    assert "lines 2-4 (3 lines)" in result.problems["reason"].iloc[0]
    assert "lines 4-5 (2 lines, to the end of the file)" in result.problems["reason"].iloc[1]


def test_a_quote_cut_off_by_the_end_of_the_file_is_an_error_naming_its_line(tmp_path: Path) -> None:
    """A file cut inside a quoted abstract: the lines after the quote do not read as rows, so
    reading the quote as a literal would make a record of a piece of abstract; one error."""
    result, report = ingest(tmp_path, "cut.csv", 'Title,Abstract,Year\nA,"Abstract first line\nsecond line\nthird')
    assert counts(report) == (1, 0, 1, 0)
    problem = result.problems.iloc[0]
    assert (problem["source_file"], problem["source_line"], problem["severity"]) == ("cut.csv", 2, "error")
    assert "'Abstract' field starts with a quote (\") that is never closed" in problem["reason"]
    assert "lines 2-4 (3 lines, to the end of the file)" in problem["reason"]
    assert "not read" in problem["reason"] and "fix the quote" in problem["reason"]


def test_a_well_formed_quote_that_swallowed_whole_rows_is_flagged(tmp_path: Path) -> None:
    """A stray quote closed by chance where a later field ends (``12"``) is well-formed CSV
    with the header's field count: either reading may be right, so the record is kept as read,
    with a warning (before: the same record, no warning)."""
    text = 'Title,Year\n"Stray title,2001\nSecond,2002\nThird,2003\nFourth 12",2004\n'
    result, report = ingest(tmp_path, "flag.csv", text)
    assert counts(report) == (1, 1, 0, 1)
    problem = result.problems.iloc[0]
    assert (problem["source_line"], problem["severity"]) == (2, "warning")
    assert (
        "'Title' field is quoted over lines 2-5 (4 lines), 3 of which read as whole rows of 2 fields"
        in problem["reason"]
    )
    assert "check the quote on line 2" in problem["reason"]


@pytest.mark.parametrize(
    "text",
    [
        # abstracts with line breaks, commas and doubled quotes, in a narrow table
        'Title,Abstract,Year\nA,"First line, with a comma\nsecond, line, here\nthird ""quoted"" line",2020\n'
        "B,plain,2021\n",
        'Title\tAbstract\tYear\nA\t"Tab\tinside\nand a new line"\t2020\nB\tplain\t2021\n',
        'Title,Abstract\nA,"Two\n\nparagraphs"\nB,"ends the file\n"',
    ],
)
def test_legitimate_multi_line_fields_read_as_before(tmp_path: Path, text: str) -> None:
    name = "legit.tsv" if "\t" in text else "legit.csv"
    result, report = ingest(tmp_path, name, text)
    assert counts(report) == (2, 2, 0, 0)
    assert result.records["title"].tolist() == ["A", "B"]
    assert "\n" in json.loads(result.records["raw"].iloc[0])["Abstract"]


def test_healthy_files_never_pay_for_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """Multi-line abstracts that fit the header pass the cheap test: the costly look at a row's
    text is never taken (on real exports it is taken only for rows of the wrong width, such as
    Scopus's shifted funding texts, and finds nothing to say)."""

    examined: list[int] = []
    real = _stray_quote.examine

    def spy(text: str, stop: int, start: int, *args: Any) -> Any:
        examined.append(start)
        return real(text, stop, start, *args)

    rows = "".join(f'Title {i},"Abstract {i}, first line\nsecond, line; of it",{2000 + i % 20}\n' for i in range(2000))
    monkeypatch.setattr(_stray_quote, "examine", spy)
    table = read_text_table("Title,Abstract,Year\n" + rows)
    assert len(table.rows) == len(table.span_end) == 2000 and not table.flags
    # only the file's last row, where a quote never closed would end
    assert examined == [2 * 1999 + 2]


def test_real_exports_raise_no_stray_quote_problem(shared_dir: Path) -> None:
    for name in ("scopus/scopus.csv", "embase/embase.csv", "lens/lens_sample.csv", "pubmed/pubmed-chatbot.csv"):
        result = ingest_file(shared_dir / "fixtures/exports" / name, root=shared_dir)
        assert not result.problems["reason"].str.contains("quote").any(), name


def test_suspect_is_cheap_and_exact_on_the_common_cases() -> None:
    # an abstract over two lines, none holding a whole row's two commas
    assert not _stray_quote.suspect(["A", "an abstract\nover, two lines", "2020"], 3, ",")
    assert _stray_quote.suspect(["A", "swallowed\nB,row,2021", "2020"], 3, ",")
    # the wrong field count, but the lines after the first hold too few delimiters for a row
    assert not _stray_quote.suspect(["A", "too few\nfields"], 3, ",")
    assert _stray_quote.suspect(["A", "x\ny,b,c", "d"], 4, ",")


@pytest.mark.parametrize(
    ("text", "titles"),
    [
        # two adjacent rows open their title with a stray quote: the second quote "closes" the
        # first (the csv module ends a quoted field at any quote), the cells fit the header
        ('Title,Authors,Year\n"Stray title,Smith,2020\n"Another stray title,Jones,2021\nThird,Lee,2019\n',
         ['"Stray title', '"Another stray title', "Third"]),
        ('Title,Authors,Year,DOI\nA,"Stray author,2020,10.1/a\nB,"Stray too,2021,10.1/b\nC,Lee,2019,10.1/c\n',
         ["A", "B", "C"]),
    ],
)
def test_two_adjacent_stray_quotes_do_not_merge_two_rows_silently(tmp_path: Path, text: str, titles: list) -> None:
    """Before: the two rows read as one record (the second title glued into the first's field)
    with no problem at all; found counted 2 of 3 rows."""
    result, report = ingest(tmp_path, "adjacent.csv", text)
    assert (report.found, report.parsed, report.failed) == (3, 3, 0)
    assert result.records["title"].tolist() == titles
    assert result.records["source_line"].tolist() == [2, 3, 4]
    assert result.problems["source_line"].tolist() == [2, 3]
    assert (result.problems["severity"] == "warning").all()
