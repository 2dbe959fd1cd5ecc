"""RefWorks tagged format (``RT``/``A1``/``T1`` lines): one small reader module.

The fixture (tests/fixtures/tagged/refworks_small.txt, see the README there) holds the
layouts of RefWorks itself, citation.js and CNKI, and the problem paths: a record without a
title, one whose ``RT`` line is missing, a wrapped abstract line that looks like a tag.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evreview.ingest import ingest_file
from evreview.ingest.formats.refworks import RefWorksTaggedReader, match_tag
from evreview.ingest.registry import Source, detect

FIXTURE = Path(__file__).parent / "fixtures" / "tagged" / "refworks_small.txt"


def _source(text: str, name: str = "refs.txt") -> Source:
    return Source(Path(name), text.encode("utf-8"), text)


@pytest.fixture(scope="module")
def result():
    return ingest_file(FIXTURE, root=FIXTURE.parent)


def test_refworks_tagged_is_detected_from_its_content() -> None:
    text = FIXTURE.read_text(encoding="utf-8")
    assert detect(_source(text)).name == "refworks"
    assert RefWorksTaggedReader().sniff(_source(text)) == 0.9


def test_every_record_is_read_with_its_fields(result) -> None:
    records = result.records
    report = result.reports[0]
    # six RT-less blocks would be six records; the one whose RT line is missing joins the one before it
    assert (report.source_format, report.found, report.parsed) == ("refworks", 5, 5)
    first = records.iloc[0]
    assert first["title"] == "Co-producing local evidence: a university and council research partnership"
    assert list(first["authors"]) == ["Okafor, Grace", "Lindqvist, Erik"]
    assert (first["journal"], first["year"], first["volume"], first["issue"], first["pages"]) == (
        "Journal of Place-Based Research", 2021, "14", "2", "115-131")
    assert first["doi"] == "10.1332/jpbr.2021.0014"
    assert (first["issn"], first["source_id"], first["source_database"]) == ("1750-0001", "2021-11234-005", "PsycINFO")
    assert list(first["keywords"]) == ["co-production", "local government", "research partnerships"]
    assert first["doc_type"] == "article"


def test_a_wrapped_line_that_starts_like_a_tag_continues_the_abstract(result) -> None:
    """"US policy ..." is two capitals and a space, but US is no RefWorks tag: the abstract goes on."""
    abstract = result.records.iloc[0]["abstract"]
    assert abstract.endswith("This study follows one partnership over three years. "
                             "US policy makers were interviewed as a comparison group.")
    assert match_tag("US policy makers were interviewed") is None
    assert match_tag("T1 A title") == ("T1", "A title")
    assert (match_tag("vo 23"), match_tag("do not apply"), match_tag("is it")) == (("VO", "23"), None, None)


def test_a_book_section_is_a_chapter_with_its_book_as_the_journal(result) -> None:
    section = result.records.iloc[1]
    assert section["doc_type"] == "chapter"
    assert section["journal"] == "Research with communities: a handbook"
    assert (section["pages"], section["isbn"], section["issn"]) == ("45-67", "978-0-415-12345-6", "")
    assert list(section["keywords"]) == ["trust", "reciprocity", "CBPR"]
    assert list(section["authors"]) == ["Haddad, Leila"]  # A2 is the editor, not an author


def test_citation_js_and_cnki_layouts(result) -> None:
    """citation.js: "First Last", a free-form date, no blank line before the next RT (which
    still opens a record); CNKI: the authors on one line with ";", the page range in OP, the
    volume as "vo" (only that tag in lower case: "do ..." starts text)."""
    cjs, cnki = result.records.iloc[2], result.records.iloc[3]
    assert list(cjs["authors"]) == ["Lars G. Willighagen"]
    assert (cjs["year"], cjs["volume"], cjs["pages"], cjs["journal"]) == (2019, "5", "e214", "PeerJ Computer Science")
    assert cjs["title"].startswith("Citation.js: a format-independent")
    assert list(cnki["authors"]) == ["张伟", "李娜"]
    # CNKI's lower-case "vo": the volume, not a line glued to the issue
    assert (cnki["pages"], cnki["issue"], cnki["volume"], cnki["source_database"]) == ("1-12", "03", "41", "CNKI")
    assert list(cnki["keywords"]) == ["合作研究", "地方政府"]
    assert cnki["url"] == "https://link.cnki.net/example1"
    assert cnki["source_line"] == 56


def test_a_record_whose_rt_line_is_missing_joins_the_one_before_it_with_a_warning(result) -> None:
    """Only RT opens a record (a blank line may sit inside a field), so a record that lost its RT
    line is read into the one before it: nothing dropped, and a warning names the line."""
    problems = result.problems
    assert list(problems["severity"]) == ["warning"]
    assert problems["source_line"].iloc[0] == 71
    assert problems["reason"].iloc[0].startswith(
        "line 77: A1 after a blank line inside the record that starts on line 71: if a record's RT line is missing")
    joined = result.records.iloc[4]
    assert (joined["title"], joined["doc_type"]) == ("A record whose RT line was lost", "report")
    assert list(joined["authors"]) == ["Field, Anna", "Stone, Mark"]


def test_a_blank_line_inside_a_field_ends_nothing(tmp_path: Path) -> None:
    """A note or abstract of two paragraphs (Zotero writes notes so): the second paragraph, the
    DOI and the ISSN after it stay with their record, which has no warning."""
    path = tmp_path / "paragraphs.txt"
    path.write_text(
        "RT Journal Article\nT1 Two paragraphs\nA1 Doe, Jane\nAB Background: first paragraph.\n\n"
        "Methods: second paragraph.\nDO 10.1000/xyz123\nSN 1234-5678\nYR 2020\n\n"
        "RT Journal Article\nT1 Next\nYR 2021\n",
        encoding="utf-8",
    )
    out = ingest_file(path, root=tmp_path)
    assert (out.reports[0].found, out.reports[0].parsed) == (2, 2)
    first = out.records.iloc[0]
    assert first["abstract"] == "Background: first paragraph. Methods: second paragraph."
    assert (first["doi"], first["issn"], first["year"]) == ("10.1000/xyz123", "1234-5678", 2020)
    assert out.problems.empty


def test_an_untitled_record_and_a_second_title_are_warnings(tmp_path: Path) -> None:
    path = tmp_path / "titles.txt"
    path.write_text(
        "RT Report\nA1 Field, Anna\nYR 2020\nAB A report without a title line.\n\n"
        "RT Journal Article\nT1 First title\nA1 Doe, J\nT1 Second title\nYR 2019\n",
        encoding="utf-8",
    )
    out = ingest_file(path, root=tmp_path)
    reasons = list(out.problems.sort_values("source_line")["reason"])
    assert reasons[0] == "record has no title"
    assert reasons[1].startswith("line 9: a second T1 line: if a record's RT line is missing")
    assert out.records.iloc[1]["title"] == "First title"


def test_tabs_dashes_repeated_abstracts_and_a_bare_rt_line(tmp_path: Path) -> None:
    """A tab after the tag (hand-edited files), an en dash in SP, an abstract given as two AB
    lines, and a first RT line with no type: none is lost or glued to the previous field."""
    from evreview.ingest.registry import SNIFF_GATES

    text = ("RT\nT1\tTabbed title\nA1\tDoe, Jane\nYR 2020\nSP 1\u201310\nOP 12\n"
            "AB First part.\nAB Second part.\nVO\u00a012\n")
    assert SNIFF_GATES["refworks"](text) and RefWorksTaggedReader().sniff(_source(text)) == 0.9
    path = tmp_path / "odd.txt"
    path.write_text(text, encoding="utf-8")
    record = ingest_file(path, root=tmp_path).records.iloc[0]
    assert (record["title"], list(record["authors"]), record["volume"]) == ("Tabbed title", ["Doe, Jane"], "12")
    assert record["pages"] == "1-10"  # the dash normalised; OP is not glued on
    assert record["abstract"] == "First part. Second part."


def test_a_file_of_wrapped_abstracts_is_still_detected() -> None:
    """Most lines of a file whose abstracts are wrapped are continuation lines."""
    wrapped = "\n".join(["word " * 14] * 25)
    record = f"RT Journal Article\nT1 A title\nA1 Doe, J\nYR 2020\nJF A Journal\nAB {wrapped}\n\n"
    assert RefWorksTaggedReader().sniff(_source(record * 3)) == 0.9


def test_a_record_with_nothing_usable_is_an_error_and_a_cut_last_line_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "cut.txt"
    path.write_text("RT Journal Article\nSR Electronic(1)\nID 7\n\nRT Journal Article\nT1 Kept\nA1 Doe, J\nYR 20",
                    encoding="utf-8")
    out = ingest_file(path, root=tmp_path)
    report = out.reports[0]
    assert (report.found, report.parsed) == (2, 1)
    problems = out.problems.sort_values("source_line")
    assert list(problems["severity"]) == ["error", "warning"]
    assert "has no usable fields" in problems["reason"].iloc[0] and problems["source_line"].iloc[0] == 1
    assert "ends mid-line" in problems["reason"].iloc[1]


def test_crlf_and_lf_give_the_same_records(tmp_path: Path) -> None:
    text = FIXTURE.read_text(encoding="utf-8")
    crlf = tmp_path / "crlf.txt"
    crlf.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    a = ingest_file(FIXTURE, root=FIXTURE.parent).records
    b = ingest_file(crlf, root=tmp_path).records
    cols = ["title", "year", "pages", "doi", "journal", "source_line"]
    assert a[cols].equals(b[cols])


@pytest.mark.parametrize(
    "text",
    [
        "TY  - JOUR\nTI  - A RIS record\nER  - \n",  # RIS: its tags are no RefWorks tags
        "FN Clarivate Analytics Web of Science\nVR 1.0\nPT J\nAU Doe, J\nTI A title\nER\nEF\n",
        "%0 Journal Article\n%T A title\n%A Doe, J\n",
        "RT is what we call it\nand this is prose, not an export.\n",
    ],
)
def test_other_formats_and_prose_are_not_claimed(text: str) -> None:
    assert RefWorksTaggedReader().sniff(_source(text)) == 0.0
