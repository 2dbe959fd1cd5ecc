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
    assert (report.source_format, report.found, report.parsed) == ("refworks", 6, 6)
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


def test_a_book_section_is_a_chapter_with_its_book_as_the_journal(result) -> None:
    section = result.records.iloc[1]
    assert section["doc_type"] == "chapter"
    assert section["journal"] == "Research with communities: a handbook"
    assert (section["pages"], section["isbn"], section["issn"]) == ("45-67", "978-0-415-12345-6", "")
    assert list(section["keywords"]) == ["trust", "reciprocity", "CBPR"]
    assert list(section["authors"]) == ["Haddad, Leila"]  # A2 is the editor, not an author


def test_citation_js_and_cnki_layouts(result) -> None:
    """citation.js: "First Last", a free-form date, no blank line before the next RT (which
    still opens a record); CNKI: the authors on one line with ";", the page range in OP."""
    cjs, cnki = result.records.iloc[2], result.records.iloc[3]
    assert list(cjs["authors"]) == ["Lars G. Willighagen"]
    assert (cjs["year"], cjs["volume"], cjs["pages"], cjs["journal"]) == (2019, "5", "e214", "PeerJ Computer Science")
    assert cjs["title"].startswith("Citation.js: a format-independent")
    assert list(cnki["authors"]) == ["张伟", "李娜"]
    assert (cnki["pages"], cnki["issue"], cnki["source_database"]) == ("1-12", "03", "CNKI")
    assert list(cnki["keywords"]) == ["合作研究", "地方政府"]
    assert cnki["url"] == "https://link.cnki.net/example1"
    assert cnki["source_line"] == 56


def test_an_untitled_record_and_one_without_its_rt_line_are_kept_with_warnings(result) -> None:
    problems = result.problems
    reasons = dict(zip(problems["source_line"], problems["reason"], strict=True))
    assert reasons[70] == "record has no title"
    assert "does not start with an RT line" in reasons[76]
    assert set(problems["severity"]) == {"warning"}
    last = result.records.iloc[5]
    assert (last["title"], last["journal"]) == ("A record whose RT line was lost", "Urban Studies")
    assert last["doc_type"] == ""


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
