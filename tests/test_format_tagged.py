"""Readers for tag-per-line exports: Web of Science tagged, MEDLINE, EndNote/Refer, ProQuest text,
Ovid "Citation (fields)" text.

Own fixtures (tests/fixtures/tagged) pin the field mapping and every problem path: wrapped
continuation lines, a record missing its title, a truncated last record, non-ASCII text,
stray lines. Shared-data tests ingest the real exports listed in ../shared's MANIFEST.csv.
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
from evreview.ingest.formats.enw import EndNoteTaggedReader
from evreview.ingest.formats.medline import MedlineReader, pick_doc_type, pick_issn
from evreview.ingest.formats.ovid_txt import OvidCitationReader, parse_source, split_authors
from evreview.ingest.formats.proquest import ProQuestTextReader
from evreview.ingest.formats.wos import WosTaggedReader, database_for
from evreview.ingest.registry import Source, detect
from evreview.records import normalise_doc_type

OURS = {
    "wos": WosTaggedReader(),
    "medline": MedlineReader(),
    "enw": EndNoteTaggedReader(),
    "proquest": ProQuestTextReader(),
    "ovid_txt": OvidCitationReader(),
}
FIXTURE_FORMATS = {
    "wos_small.ciw": "wos",
    "wos_broken.ciw": "wos",
    "medline_small.nbib": "medline",
    "enw_small.enw": "enw",
    "proquest_small.txt": "proquest",
    "ovid_fields.txt": "ovid_txt",
    "ovid_broken.txt": "ovid_txt",
}
#: Manifest ``format`` values these readers own.
MANIFEST_FORMATS = {
    "WoS plain text (tagged)": "wos",
    "PubMed MEDLINE (.nbib)": "medline",
    "EndNote tagged (.enw)": "enw",
    "ProQuest plain text": "proquest",
}
#: Where the manifest's count is wrong. ais_enl.txt: the manifest counted ``%0`` lines (2), but
#: four of its six blank-line-separated records have no ``%0`` (each has its own %T, %D, %U).
CORRECTED_COUNTS = {"ais_elibrary/ais_enl.txt": 6}

DOI = re.compile(r"^10\.\d{4,9}/\S+$")


def tagged(fixtures_dir: Path, name: str) -> Path:
    return fixtures_dir / "tagged" / name


def source_of(text: str, name: str = "x.txt") -> Source:
    return Source(path=Path(name), data=text.encode(), text=text)


def problems_of(result) -> list[tuple[object, str, str]]:
    """``(source_index or None, severity, reason)`` per problem, for compact assertions."""
    out = []
    for row in result.problems.to_dict("records"):
        index = row["source_index"]
        out.append((None if index is None or index != index else int(index), row["severity"], row["reason"]))
    return out


# ---- Web of Science tagged ------------------------------------------------------------------


def test_wos_fields_continuations_and_non_ascii(fixtures_dir: Path) -> None:
    result = ingest_file(tagged(fixtures_dir, "wos_small.ciw"))
    report = result.report.iloc[0]
    assert (report["source_format"], report["found"], report["parsed"], report["failed"]) == ("wos", 3, 3, 0)
    first = result.records.iloc[0]
    assert first["title"] == "Phosphorus removal in shallow lakes: a whole-lake experiment with magnetic particles"
    assert first["authors"] == ["Müller, Jürgen", "Ørsted, Karen"]  # AF (full names) over AU
    assert first["journal"] == "SCIENCE OF THE TOTAL ENVIRONMENT"
    assert first["abstract"] == "First sentence of the abstract continues here."
    # DE then ID, wrapped inside the ;-list: "LAKE\n   SEDIMENT" is one keyword
    assert first["keywords"] == [
        "Lake restoration",
        "Phosphorus",
        "Magnetic particles",
        "TROPHIC STATE",
        "FRESH-WATER",
        "LAKE SEDIMENT",
    ]
    assert (first["year"], first["volume"], first["issue"], first["pages"]) == (2019, "656", "2", "598-607")
    assert first["doi"] == "10.1016/j.scitotenv.2018.11.375"
    assert (first["pmid"], first["issn"], first["language"], first["doc_type"]) == (
        "30529964",
        "0048-9697",
        "eng",
        "article",
    )
    assert (first["source_id"], first["source_database"], first["source_line"]) == (
        "WOS:000455039600059",
        "Web of Science Core Collection",
        3,
    )
    raw = json.loads(first["raw"])
    assert raw["CR"] == "Smith J, 2001, NATURE, V1, P1\nDoe A, 2002, SCIENCE, V2, P2"
    assert raw["EI"] == "1879-1026" and raw["PD"] == "MAR 15" and "C1" in raw


def test_wos_untitled_and_truncated_records_are_kept_with_warnings(fixtures_dir: Path) -> None:
    result = ingest_file(tagged(fixtures_dir, "wos_small.ciw"))
    second, third = result.records.iloc[1], result.records.iloc[2]
    assert second["title"] == ""
    assert (second["source_database"], second["pages"], second["year"]) == ("MEDLINE (Web of Science)", "e03021", 2021)
    assert second["doi"] == "10.1002/ecy.3021" and second["doc_type"] == "review"
    assert third["title"] == "A book chapter cut off mid-way" and third["isbn"] == "978-3-16-148410-0"
    assert third["doc_type"] == "book"  # from PT B when DT is absent
    assert problems_of(result) == [
        (1, "warning", "record has no title"),
        (2, "warning", "record has no ER line (export truncated?); parsed what is there"),
    ]
    assert result.report.iloc[0]["untitled"] == 1


def test_wos_broken_file_reports_every_line_it_could_not_place(fixtures_dir: Path) -> None:
    result = ingest_file(tagged(fixtures_dir, "wos_broken.ciw"))
    report = result.report.iloc[0]
    assert (report["found"], report["parsed"], report["failed"]) == (3, 2, 1)
    problems = problems_of(result)
    assert problems[0][:2] == (None, "error") and "no usable fields" in problems[0][2]
    assert result.problems.iloc[0]["source_line"] == 4
    reasons = [p[2] for p in problems]
    assert any("untagged line kept as a continuation of TI" in r for r in reasons)
    assert any("record does not start with PT" in r for r in reasons)
    assert any("outside any Web of Science record" in r and "not part of any record" in r for r in reasons)
    assert list(result.records["title"]) == [
        "A good record some untagged line inside the record",
        "A record whose PT line is missing",
    ]


def test_wos_database_from_accession_prefix() -> None:
    assert database_for("WOS:000123") == "Web of Science Core Collection"
    assert database_for("MEDLINE:123") == "MEDLINE (Web of Science)"
    assert database_for("SCIELO:S0001") == "SciELO Citation Index"
    assert database_for("NEWDB:1") == "Web of Science (NEWDB)"


# ---- MEDLINE ----------------------------------------------------------------------------


def test_medline_fields(fixtures_dir: Path) -> None:
    result = ingest_file(tagged(fixtures_dir, "medline_small.nbib"))
    report = result.report.iloc[0]
    assert (report["source_format"], report["found"], report["parsed"], report["failed"]) == (
        "medline",
        4,
        4,
        0,
    )
    first = result.records.iloc[0]
    assert first["source_line"] == 3  # after two leading blank lines
    assert first["title"] == ("Blue light and acne: a randomised trial with a title that wraps onto a second line.")
    assert first["authors"] == ["Žukauskas, Rūta", "García, José"]  # FAU over AU
    assert "Café-au-lait" in first["abstract"] and "\n" not in first["abstract"]
    assert first["doi"] == "10.1000/abc.123"  # the [doi], not the [pii]
    assert first["issn"] == "1234-5678"  # the Linking ISSN
    assert (first["year"], first["volume"], first["issue"], first["pages"]) == (2019, "12", "3", "101-109")
    assert first["journal"] == "Journal of dermatology"  # JT over TA
    assert first["keywords"] == ["blue light", "Acne Vulgaris/therapy", "Humans"]  # OT, then MH without *
    assert first["doc_type"] == "review"  # Systematic Review beats Journal Article and descriptors
    assert (first["pmid"], first["source_id"], first["source_database"]) == ("31000001", "31000001", "PubMed")
    assert first["url"] == "https://pubmed.ncbi.nlm.nih.gov/31000001/"
    raw = json.loads(first["raw"])
    assert raw["AD"] == "Vilnius University,\nLithuania."
    assert raw["IS"] == ["1234-5678 (Print)", "8765-4321 (Electronic)", "1234-5678 (Linking)"]
    assert raw["STAT"] == "MEDLINE"


def test_medline_untitled_book_and_truncated(fixtures_dir: Path) -> None:
    result = ingest_file(tagged(fixtures_dir, "medline_small.nbib"))
    untitled, book, cut = (result.records.iloc[i] for i in (1, 2, 3))
    assert untitled["title"] == "" and untitled["language"] == "ger" and untitled["doc_type"] == "letter"
    assert untitled["issn"] == "2222-3333"
    assert (book["title"], book["journal"], book["isbn"]) == (
        "A chapter on phototherapy.",
        "Handbook of Dermatology",
        "978-0-00-000000-2",
    )
    assert cut["pmid"] == "31000004" and cut["title"] == "A record that was cut off in the midd"
    assert problems_of(result) == [
        (1, "warning", "record has no title"),
        (3, "warning", "last record looks truncated (file ends mid-record); parsed what is there"),
    ]


def test_medline_crlf_and_lf_give_the_same_records(fixtures_dir: Path, tmp_path: Path) -> None:
    lf = tagged(fixtures_dir, "medline_small.nbib")
    crlf = tmp_path / "medline_small.nbib"
    crlf.write_bytes(b"\xef\xbb\xbf" + lf.read_bytes().replace(b"\n", b"\r\n"))
    a = ingest_file(lf).records.drop(columns=["record_id", "source_file"])
    b = ingest_file(crlf).records.drop(columns=["record_id", "source_file"])
    assert a.equals(b)


def test_medline_pickers() -> None:
    assert pick_issn(["1111-1111 (Print)", "2222-2222 (Electronic)"]) == "2222-2222"
    assert pick_issn(["3333-3333"]) == "3333-3333"
    # study descriptors are articles, never conference abstracts or reports
    assert normalise_doc_type(pick_doc_type(["English Abstract", "Journal Article"])) == "article"
    assert normalise_doc_type(pick_doc_type(["Case Reports"])) == "article"
    assert normalise_doc_type(pick_doc_type(["Comparative Study"])) == "article"
    assert pick_doc_type(["Journal Article", "Comment", "Review"]) == "Review"
    assert pick_doc_type(["Published Erratum"]) == "Published Erratum"
    assert pick_doc_type([]) == ""


# ---- EndNote / Refer -------------------------------------------------------------------------


def test_enw_fields(fixtures_dir: Path) -> None:
    result = ingest_file(tagged(fixtures_dir, "enw_small.enw"))
    report = result.report.iloc[0]
    assert (report["source_format"], report["found"], report["parsed"], report["failed"]) == ("enw", 3, 3, 0)
    first = result.records.iloc[0]
    assert first["title"] == "An EndNote record whose title continues on an untagged line"  # %T before %0
    assert first["authors"] == ["Ångström, Anders", "O'Neil, Siobhán"]
    assert first["keywords"] == ["first keyword", "second keyword", "third keyword"]
    assert (first["journal"], first["year"], first["volume"], first["issue"], first["pages"]) == (
        "Journal of Nordic Studies",
        2016,
        "7",
        "2",
        "11-20",
    )
    assert (first["doi"], first["issn"], first["language"], first["doc_type"]) == (
        "10.5555/jns.2016.7",
        "1234-567X",
        "eng",
        "article",
    )
    assert (first["source_id"], first["source_database"], first["url"]) == (
        "ACC-0001",
        "Nordic Index",
        "https://example.org/jns/7/2",
    )
    assert json.loads(first["raw"])["K"] == ["first keyword", "second keyword; third keyword"]


def test_enw_untitled_chapter_and_truncated(fixtures_dir: Path) -> None:
    result = ingest_file(tagged(fixtures_dir, "enw_small.enw"))
    chapter, cut = result.records.iloc[1], result.records.iloc[2]
    assert chapter["title"] == "" and chapter["doc_type"] == "chapter"
    assert (chapter["journal"], chapter["isbn"], chapter["issn"]) == ("Collected Essays", "978-3-16-148410-0", "")
    assert cut["doc_type"] == "conference" and cut["journal"] == "Proceedings of the"
    assert problems_of(result) == [
        (1, "warning", "record has no title"),
        (2, "warning", "file ends mid-line: the last record may be truncated; parsed what is there"),
    ]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_enw_records_with_no_blank_line_between_are_split_at_the_second_percent_zero(tmp_path: Path) -> None:
    """A record holds one %0; before, two records with no blank line between them were one
    record (found 2 for 3 records, the second's title and authors lost in the first's raw)."""
    text = (
        "%0 Journal Article\n%T First record\n%A Smith, J\n%D 2020\n"
        "%0 Journal Article\n%T Second record\n%A Jones, K\n%D 2021\n"
        "\n%0 Book\n%T Third record\n%D 2019\n"
    )
    result = ingest_file(_write(tmp_path, "joined.enw", text), root=tmp_path)
    report = result.reports[0]
    assert (report.found, report.parsed, report.failed, report.warnings) == (3, 3, 0, 1)
    records = result.records
    assert records["title"].tolist() == ["First record", "Second record", "Third record"]
    assert records["source_line"].tolist() == [1, 5, 10]
    assert records["authors"].tolist() == [["Smith, J"], ["Jones, K"], []]
    assert problems_of(result) == [
        (
            1,
            "warning",
            "line 5: a second %0 inside the record that starts on line 1, with no blank line between "
            "(a record has one %0): a new record starts here",
        )
    ]
    assert result.problems["source_file"].tolist() == ["joined.enw"]


def test_enw_split_keeps_a_title_written_before_percent_zero_with_its_record(tmp_path: Path) -> None:
    """The AIS eLibrary writes %T before %0: the second record's %T, just before its %0,
    goes with it, as the first record's did."""
    text = "%T First AIS title\n%0 Journal Article\n%A Smith, J\n%T Second AIS title\n%0 Journal Article\n%A Jones, K\n"
    result = ingest_file(_write(tmp_path, "ais.enw", text), root=tmp_path)
    report = result.reports[0]
    assert (report.found, report.parsed) == (2, 2)
    assert result.records["title"].tolist() == ["First AIS title", "Second AIS title"]
    assert result.records["authors"].tolist() == [["Smith, J"], ["Jones, K"]]
    assert result.records["source_line"].tolist() == [1, 4]
    reason = problems_of(result)[0][2]
    assert reason.startswith("line 4: a second %0 on line 5 inside the record that starts on line 1")
    assert reason.endswith("a new record starts here, at the %T before that %0, as the record before it starts")


def test_enw_one_percent_zero_per_block_is_not_split(fixtures_dir: Path, tmp_path: Path) -> None:
    """Records whose %0 comes after other tags, or that have none, stay whole."""
    text = "%T No type here\n%D 2020\n\n%T Type second\n%0 Journal Article\n%D 2021\n%K a\n%K b\n"
    result = ingest_file(_write(tmp_path, "fine.enw", text), root=tmp_path)
    assert (result.reports[0].found, result.reports[0].parsed, result.reports[0].warnings) == (2, 2, 0)
    assert result.records["title"].tolist() == ["No type here", "Type second"]


@pytest.mark.parametrize(
    ("name", "text", "warning"),
    [
        # RIS: TY opens a record; a missing ER is reported
        (
            "noer.ris",
            "TY  - JOUR\nTI  - First\nPY  - 2020\nTY  - JOUR\nTI  - Second\nPY  - 2021\nER  - \n",
            "not terminated by ER before the next TY",
        ),
        # MEDLINE: PMID- opens a record, blank line or not
        ("noblank.nbib", "PMID- 111\nTI  - First\nDP  - 2020\nPMID- 222\nTI  - Second\nDP  - 2021\n", None),
        # WoS: PT opens a record; a missing ER is reported
        (
            "noer.ciw",
            "FN Clarivate Analytics Web of Science\nVR 1.0\n"
            "PT J\nTI First\nPY 2020\nPT J\nTI Second\nPY 2021\nER\n\nEF\n",
            "record has no ER line",
        ),
    ],
)
def test_other_tagged_formats_split_records_at_their_start_tag(
    tmp_path: Path, name: str, text: str, warning: str | None
) -> None:
    """The gap the EndNote reader had (records joined with no separator) does not exist in the
    readers whose formats have a start tag: each record is found and counted."""
    result = ingest_file(_write(tmp_path, name, text), root=tmp_path)
    report = result.reports[0]
    assert (report.found, report.parsed, report.failed) == (2, 2, 0)
    assert result.records["title"].tolist() == ["First", "Second"]
    reasons = result.problems["reason"].tolist()
    assert (any(warning in r for r in reasons) if warning else reasons == []), reasons


# ---- ProQuest text --------------------------------------------------------------------------


def test_proquest_fields(fixtures_dir: Path) -> None:
    result = ingest_file(tagged(fixtures_dir, "proquest_small.txt"))
    report = result.report.iloc[0]
    # the table of contents lists three titles too, but only "Document N of M" sections are records
    assert (report["source_format"], report["found"], report["parsed"], report["failed"]) == (
        "proquest",
        3,
        3,
        0,
    )
    first = result.records.iloc[0]
    assert first["title"] == "Lake restoration: a review of magnetic methods"  # the heading line
    assert first["authors"] == ["Núñez, María", "Smith, John"]
    assert first["abstract"] == (
        "First paragraph of the abstract. Background: this line is part of the abstract, not a field. "
        "Methodology: so is this one. Last paragraph."
    )
    assert (first["journal"], first["volume"], first["issue"], first["pages"], first["year"]) == (
        "Journal of Lake Science",
        "12",
        "3",
        "45-67",
        2019,
    )
    assert (first["doi"], first["issn"], first["language"], first["doc_type"]) == (
        "10.1234/jls.2019.045",
        "1234-5678",
        "fre",
        "article",
    )
    assert (first["source_id"], first["source_database"]) == ("111111111", "ProQuest Central")
    assert first["url"] == "http://search.proquest.com/docview/111111111?accountid=1"
    assert first["keywords"] == ["Limnology", "Ecology", "magnets", "phosphorus"]
    raw = json.loads(first["raw"])
    assert raw["Links"] == "http://links.example.org/a?x=1\nhttp://links.example.org/b?y=2"
    assert raw["Custom vendor field"] == "kept in raw"
    assert raw["Document"] == "1 of 4"


def test_proquest_untitled_truncated_and_count_mismatch(fixtures_dir: Path) -> None:
    result = ingest_file(tagged(fixtures_dir, "proquest_small.txt"))
    assert result.records.iloc[1]["title"] == "" and result.records.iloc[1]["year"] == 2020
    assert result.records.iloc[2]["abstract"] == "The export stopped in the middle of this abs"
    assert problems_of(result) == [
        (1, "warning", "record has no title"),
        (2, "warning", "document is not closed by a rule line (export truncated?); parsed what is there"),
        (
            None,
            "warning",
            "the report says it holds 4 documents but 3 were found (export truncated or files concatenated?)",
        ),
    ]


# ---- Ovid "Citation (fields)" text -------------------------------------------------------------
# ovid_fields.txt is written for these tests in the layout of Ovid's export (as in JabRef's
# OvidImporterTest*.txt, MIT): a search-history preamble over three databases, then a MEDLINE,
# an Embase, a PsycINFO and a Journals@Ovid record, each with its database's field names.


def test_ovid_fields_per_database(fixtures_dir: Path) -> None:
    result = ingest_file(tagged(fixtures_dir, "ovid_fields.txt"))
    report = result.report.iloc[0]
    assert report["source_format"] == "ovid_txt"
    assert (report["found"], report["parsed"], report["failed"], report["warnings"]) == (4, 4, 0, 0)
    medline, embase, psycinfo, journals = (result.records.iloc[i] for i in range(4))
    assert medline["source_line"] == 10  # the preamble is not a record
    # the "[Review]" note Ovid appends to a title is dropped (it stays in raw)
    assert medline["title"] == "Rewetting drained peatlands: a systematic review of carbon outcomes."
    assert medline["authors"] == ["Lindqvist, Mara", "Ørsted, Karen"]  # Authors Full Name over Authors
    assert (medline["journal"], medline["volume"], medline["issue"], medline["pages"], medline["year"]) == (
        "Global Change Biology",
        "30",
        "2",
        "e17012",
        2024,
    )
    assert (medline["pmid"], medline["source_id"], medline["doi"], medline["issn"]) == (
        "38012345",
        "38012345",
        "10.1111/gcb.17012",
        "1354-1013",
    )
    assert medline["abstract"].startswith("BACKGROUND: Drained") and "databases and pooled" in medline["abstract"]
    assert medline["keywords"] == ["peatland", "rewetting", "Carbon Cycle", "Humans", "Wetlands"]
    assert (medline["doc_type"], medline["language"]) == ("review", "eng")
    # no Database field and a three-database preamble: named from the link's D=medl, as the RIS reader does
    assert medline["source_database"] == "Ovid MEDLINE(R)"
    assert (embase["source_database"], embase["source_id"], embase["pmid"]) == ("Embase via Ovid", "2028765432", "")
    assert embase["authors"] == ["Weber T.", "Müller J."]
    assert (embase["journal"], embase["volume"], embase["issue"], embase["pages"], embase["year"]) == (
        "Ecological Engineering",
        "188",
        "4",
        "106-118",
        2023,
    )
    assert (embase["doc_type"], embase["keywords"]) == ("article", ["methane", "peatland"])
    assert psycinfo["source_database"] == "APA PsycInfo via Ovid"
    assert (psycinfo["journal"], psycinfo["volume"], psycinfo["pages"], psycinfo["year"]) == (
        "Journal of Environmental Psychology",
        "84",
        "101-115",
        2022,
    )
    assert psycinfo["doc_type"] == "article"  # "Peer Reviewed Journal" is not a review
    assert psycinfo["keywords"] == ["place attachment", "wetlands", "restoration"]
    assert journals["authors"] == ["Dahl, Ingrid", "Nakamura, Ken MD, PhD", "Silva, Ana"]  # affiliation marks dropped
    assert journals["source_id"] == "00001234-202301000-00007"
    assert journals["journal"] == "Journal of Occupational Health Nursing"
    assert journals["doi"] == "10.1097/john.0000000000000421"
    assert journals["year"] is pd.NA  # ahead of print: the Source has no year and there is no year field
    assert journals["keywords"] == ["peat smoke", "occupational exposure", "nursing"]
    assert journals["source_database"] == "Journals@Ovid Full Text"  # from its link code (ovftq)
    raw = json.loads(medline["raw"])
    assert raw["Record Number"] == "1" and raw["MeSH Subject Headings"] == "*Carbon Cycle\nHumans\n*Wetlands"
    assert raw["Title"].endswith("[Review]")


def test_ovid_preamble_names_the_database_of_a_single_database_search() -> None:
    text = (
        "Database: Embase <1974 to 2024 March 13>\nSearch Strategy:\n-----\n1     peat*.ti. (12)\n\n"
        "<1>\nAccession Number\n  2020111\nTitle\n  One.\nSource\n  Soil Use. 12(3):45-67, 2019 Mar.\n"
    )
    result = OURS["ovid_txt"].parse(source_of(text))
    assert (result.found, result.problems, result.database) == (1, [], "Embase via Ovid")
    assert result.records[0].line == 6 and result.records[0].fields["source_database"] == "Embase via Ovid"


def test_ovid_damaged_file_reports_every_problem_with_its_line(fixtures_dir: Path) -> None:
    """Unindented value lines (a sentence, or a name that reads as a field name), an empty
    record, a skipped record number and a file cut after a field name: every one reported with
    its line, no record dropped silently."""
    result = ingest_file(tagged(fixtures_dir, "ovid_broken.txt"))
    report = result.report.iloc[0]
    assert (report["found"], report["parsed"], report["failed"]) == (4, 3, 1)
    assert result.records["source_line"].tolist() == [1, 12, 20]
    kept = "but this one is not, so it is kept with a caveat."
    assert result.records.iloc[0]["abstract"] == f"The first line is indented. {kept}"
    assert result.records.iloc[1]["authors"] == ["Nobody, Jane"]  # "Smith, John" lost its indentation
    problems = [(p["source_line"], p["severity"], p["reason"]) for p in result.problems.to_dict("records")]
    assert problems == [
        (1, "warning", f"line 8: untagged line kept as a continuation of Abstract: {kept!r}"),
        (11, "error", "Ovid record 2 has no usable fields (tags: <record>); not ingested"),
        (12, "warning", "line 17: field name 'Smith, John' has no value (an unindented value line?)"),
        (12, "warning", "record has no title"),
        (20, "warning", "line 25: field name 'Abstract' has no value (an unindented value line?)"),
        (12, "warning", "record <4> follows <2>: 1 record(s) missing from the file"),
        (20, "warning", "file ends inside this record (export truncated?); parsed what is there"),
    ]


def test_ovid_text_before_the_first_record_that_is_no_search_history_is_reported() -> None:
    text = "exported by a colleague\n<1>\nAccession Number\n  7\nTitle\n  Seven.\n"
    result = OURS["ovid_txt"].parse(source_of(text))
    assert [(p.line, p.severity) for p in result.problems] == [(1, "warning")]
    assert "line outside any Ovid record" in result.problems[0].reason


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Journal of Things. 12(3):45-67, 2019 Mar.", ("Journal of Things", "12", "3", "45-67", "2019 Mar.")),
        ("BMJ. 364:l1234, 2019 03 14.", ("BMJ", "364", "", "l1234", "2019 03 14.")),
        ("PLoS ONE [Electronic Resource]. 14(1):e0209483, 2019.", ("PLoS ONE", "14", "1", "e0209483", "2019.")),
        (
            "Lancet. 393 (10170) (pp 423-433), 2019. Date of Publication: 02 Feb 2019.",
            ("Lancet", "393", "10170", "423-433", "2019. Date of Publication: 02 Feb 2019."),
        ),
        (
            "BMC Proceedings. 12 (Supplement 3) (no pagination), 2018.",
            ("BMC Proceedings", "12", "Supplement 3", "", "2018."),
        ),
        ("Journal X. Vol.128(3), 2019, pp. 234-245.", ("Journal X", "128", "3", "234-245", "2019")),
        ("Journal X. Vol 12(3) Mar 2019, 45-67.", ("Journal X", "12", "3", "45-67", "Mar 2019")),
        ("Journal of Orthopaedic Trauma. ", ("Journal of Orthopaedic Trauma", "", "", "", "")),  # ahead of print
        ("Nursing Open. 2019 Jan 15.", ("Nursing Open", "", "", "", "2019 Jan 15.")),
        (
            "Smith, J (Ed). (2019). Handbook of wetland psychology. (pp. 45-67). New York, NY: Wiley.",
            ("Handbook of wetland psychology", "", "", "45-67", "2019"),
        ),
    ],
)
def test_ovid_source_citations(source: str, expected: tuple[str, ...]) -> None:
    parsed = parse_source(source)
    assert (parsed["journal"], parsed["volume"], parsed["issue"], parsed["pages"], parsed["date"]) == expected


def test_ovid_author_layouts() -> None:
    assert split_authors(["Smith J", "Jones AB"]) == ["Smith J", "Jones AB"]
    assert split_authors(["Holstiege, Jakob 1;  Mathes, Tim 2;  Pieper, Dawid 2"]) == [
        "Holstiege, Jakob",
        "Mathes, Tim",
        "Pieper, Dawid",
    ]
    assert split_authors(["Muller S.  Garda P.  Muller JD."]) == ["Muller S.", "Garda P.", "Muller JD."]


# ---- detection ------------------------------------------------------------------------------

NOT_OURS = {
    "ris": "TY  - JOUR\nTI  - A title\nAU  - Doe, J\nPY  - 2020\nER  - \n",
    "ris_with_pmid_like": "TY  - JOUR\nAN  - 12345\nTI  - PMID- in a title\nER  - \n",
    "csv": 'Title,Authors,Year,DOI\nA title,"Doe, J",2020,10.1/x\n',
    "bibtex": "% Encoding: UTF-8\n@article{key,\n  title={A title},\n  year={2020}\n}\n",
    "xml": '<?xml version="1.0"?>\n<xml><records><record><titles><title>A</title></titles></record></records></xml>\n',
    "wos_tab": "PT\tAU\tBA\tTI\tSO\tUT\nJ\tDoe, J\t\tA title\tNATURE\tWOS:0001\n",
    "json": '[{"title": "A title", "year": 2020}]\n',
    "latex": "%% a comment\n% another\n\\documentclass{article}\n",
    "html_list": "<1>\n<li>Title</li>\n<2>\nSome notes\n",
}


@pytest.mark.parametrize("kind", sorted(NOT_OURS))
def test_readers_do_not_claim_other_formats(kind: str) -> None:
    source = source_of(NOT_OURS[kind])
    assert {name: reader.sniff(source) for name, reader in OURS.items()} == dict.fromkeys(OURS, 0.0)


@pytest.mark.parametrize("name", sorted(FIXTURE_FORMATS))
def test_fixtures_detected_by_their_reader_only(fixtures_dir: Path, name: str) -> None:
    text = tagged(fixtures_dir, name).read_text(encoding="utf-8")
    source = source_of(text, name)
    expected = FIXTURE_FORMATS[name]
    assert {n for n, reader in OURS.items() if reader.sniff(source) > 0} == {expected}
    assert detect(source).name == expected


def test_wos_sniff_without_header() -> None:
    text = "PT J\nAU Doe, J\nTI A title\nSO NATURE\nPY 2020\nUT WOS:1\nER\n"
    assert OURS["wos"].sniff(source_of(text)) == 0.9
    result = OURS["wos"].parse(source_of(text))
    assert result.found == 1 and result.records[0].fields["title"] == "A title"


def test_forced_reader_on_a_file_without_records_reports_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("just some notes\nnothing tagged here\n", encoding="utf-8")
    with pytest.raises(IngestError, match="unrecognised format"):
        ingest_file(path)
    result = ingest_file(path, fmt="wos")
    assert result.report.iloc[0]["found"] == 0 and len(result.records) == 0
    problems = problems_of(result)
    assert [p[1] for p in problems] == ["warning", "warning", "warning"]
    assert "format was forced" in problems[0][2]  # then the two lines it ignored


def test_same_input_same_output(fixtures_dir: Path) -> None:
    for name in FIXTURE_FORMATS:
        a = ingest_file(tagged(fixtures_dir, name), search="r1").records
        b = ingest_file(tagged(fixtures_dir, name), search="r1").records
        assert a.equals(b), name


# ---- real exports (../shared) --------------------------------------------------------------


def manifest(shared_dir: Path) -> list[dict[str, str]]:
    with open(shared_dir / "fixtures" / "exports" / "MANIFEST.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.shared
@pytest.mark.parametrize("fmt", sorted(set(MANIFEST_FORMATS.values())))
def test_shared_exports_parse_completely(shared_dir: Path, fmt: str) -> None:
    exports = shared_dir / "fixtures" / "exports"
    rows = [row for row in manifest(shared_dir) if MANIFEST_FORMATS.get(row["format"]) == fmt]
    assert rows, f"no {fmt} files in the manifest"
    for row in rows:
        expected = CORRECTED_COUNTS.get(row["path"], int(row["records"]))
        result = ingest_file(exports / row["path"], root=exports)
        report = result.report.iloc[0]
        assert report["source_format"] == fmt, row["path"]
        assert (report["found"], report["parsed"], report["failed"]) == (expected, expected, 0), row["path"]
        assert report["warnings"] == 0, (row["path"], result.problems["reason"].tolist())
        records = result.records
        assert (records["title"].str.len() > 0).all(), row["path"]
        dois = records.loc[records["doi"] != "", "doi"]
        assert dois.map(lambda d: bool(DOI.match(d))).all(), (row["path"], dois.tolist())
        assert records["year"].between(1900, 2026).all(), row["path"]
        if fmt != "enw":  # the AIS eLibrary export carries no accession numbers
            assert records["source_id"].is_unique and (records["source_id"] != "").all(), row["path"]
        assert (records["source_database"] != "").all() or fmt == "enw", row["path"]


@pytest.mark.shared
def test_shared_blue_light_pmids_all_parsed(shared_dir: Path) -> None:
    path = shared_dir / "fixtures" / "exports" / "pubmed" / "blue-light.nbib"
    in_file = re.findall(r"^PMID- (\d+)", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
    records = ingest_file(path).records
    assert len(in_file) == 80
    assert list(records["pmid"]) == in_file
    assert (records["url"] == [f"https://pubmed.ncbi.nlm.nih.gov/{p}/" for p in in_file]).all()


@pytest.mark.shared
def test_shared_wos_tab_delimited_is_not_claimed(shared_dir: Path) -> None:
    path = shared_dir / "fixtures" / "exports" / "web_of_science" / "wos_2026_04_02_4071.txt"
    text = path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
    assert OURS["wos"].sniff(Source(path=path, data=b"", text=text)) == 0.0


@pytest.mark.shared
def test_shared_other_formats_not_claimed(shared_dir: Path) -> None:
    from evreview.ingest.textio import decode, is_container

    exports = shared_dir / "fixtures" / "exports"
    for row in manifest(shared_dir):
        if row["format"] in MANIFEST_FORMATS:
            continue
        data = (exports / row["path"]).read_bytes()
        text = None if is_container(data) else decode(data, row["path"])
        source = Source(path=exports / row["path"], data=data, text=text)
        claimed = {name: reader.sniff(source) for name, reader in OURS.items() if reader.sniff(source) > 0}
        assert claimed == {}, row["path"]


def test_wos_concatenated_exports_and_missing_er() -> None:
    """Two exports pasted together: FN/VR/EF between them are file metadata, and EF (or the next
    PT) ends a record whose ER line is missing."""
    text = (
        "FN Clarivate Analytics Web of Science\nVR 1.0\nPT J\nTI One\nUT WOS:1\nEF\n"
        "FN Clarivate Analytics Web of Science\nVR 1.0\nPT J\nTI Two\nUT WOS:2\nER\nPT J\nTI Three\nUT WOS:3\nEF\n"
    )
    result = OURS["wos"].parse(source_of(text))
    assert result.found == 3
    assert [r.fields["title"] for r in result.records] == ["One", "Two", "Three"]
    assert result.records[0].raw == {"PT": "J", "TI": "One", "UT": "WOS:1"}
    assert [(p.index, p.severity) for p in result.problems] == [(0, "warning"), (2, "warning")]
    assert all("no ER line" in p.reason for p in result.problems)


def test_medline_doi_from_citation_when_no_doi_identifier(tmp_path: Path) -> None:
    path = tmp_path / "x.nbib"
    path.write_text(
        "PMID- 1\nTI  - Title.\nAID - S1 [pii]\n"
        "SO  - PLoS One. 2019 Jan 28;14(1):e1. doi:\n      10.1371/journal.pone.0000001. eCollection 2019.\n",
        encoding="utf-8",
    )
    assert ingest_file(path).records["doi"].tolist() == ["10.1371/journal.pone.0000001"]


def test_wos_medline_records_split_one_line_authors_and_read_ps_pages_and_pmid() -> None:
    """MEDLINE records exported from the old ISI platform: all authors on one ``;``-separated
    ``AU`` line, the page span in ``PS`` and the PMID only in ``UT  MEDLINE:...`` (self-written
    in that layout)."""
    text = (
        "FN ISI Export Format\nVR 1.0\nPT J\nTI A trial of things.\n"
        "AU Doe, Jane A; Roe, Rick; Poe, E\nSO Curr Things\nVL 12\nIS 20\nPS 2457-71\nPY 2006\n"
        "UT MEDLINE:16842170\nER\n\nPT J\nTI Another.\nAU Single, Author\nSO Things\nPY 2007\n"
        "UT MEDLINE:16735938\nPM 16735938\nER\n\nEF"
    )
    result = WosTaggedReader().parse(source_of(text, "medline.isi"))
    first, second = (r.fields for r in result.records)
    assert first["authors"] == ["Doe, Jane A", "Roe, Rick", "Poe, E"]
    assert first["pages"] == "2457-71" and first["pmid"] == "16842170"
    assert first["source_database"] == "MEDLINE (Web of Science)"
    assert second["authors"] == ["Single, Author"] and second["pmid"] == "16735938"


def test_wos_inspec_records_take_the_doi_from_id_and_no_keywords_from_it() -> None:
    """Inspec on the WoS platform writes identifiers, not Keywords Plus, in ``ID`` (self-written
    in that layout)."""
    text = (
        "FN ISI Export Format\nVR 1.0\nPT J\nTI Lasers.\nAU Doe, J.\n   Roe, R.\nSO Appl Things\nPY 2006\n"
        "DE Experimental/ lasers; optics\n"
        "ID 0003-6951/2006/89(4)/041103-1(3)/$23.00],[0003-6951(20060724)89:4L.41103:SHGC;1-T],"
        "[S0003-6951(06)22430-6],[10.1063/1.2234275]\nUT INSPEC:9027814\nER\n\nEF"
    )
    fields = WosTaggedReader().parse(source_of(text, "inspec.isi")).records[0].fields
    assert fields["doi"] == "10.1063/1.2234275"
    assert fields["keywords"] == ["Experimental/ lasers", "optics"]
    assert fields["source_database"] == "Inspec"


def test_wos_inspec_article_number_pages_are_first_and_last_page(fixtures_dir: Path) -> None:
    """``wos_inspec.isi`` is self-written in the layout of Inspec records on the WoS platform
    (JabRef's IsiImporterTestInspec.isi): article 041103's pages 1-3 come as ``BP 41103-1`` and
    ``EP 41103-41103-3``. They were "41103-1-41103-41103-3"; a lone "41103-1" became "41103-41101"."""
    result = ingest_file(tagged(fixtures_dir, "wos_inspec.isi"))
    pages = result.records["pages"].tolist()
    assert pages == ["41103-1-41103-3", "5323-5331"]
    assert result.records["source_database"].tolist() == ["Inspec", "Inspec"]


def test_wos_old_isi_accession_is_the_core_collection() -> None:
    assert database_for("ISI:000238592600006") == "Web of Science Core Collection"
    assert database_for("WOS:000238592600006") == "Web of Science Core Collection"


# ---- Ovid direct export (Citavi .ovd / EndNote .cgi) -----------------------------------------

def test_ovid_direct_export_reads_fields_database_and_untagged_abstract_lines(fixtures_dir: Path) -> None:
    """``ovid_direct.ovd`` is self-written in the layout of Ovid's direct export to Citavi/EndNote:
    "<N. >" record lines, two-letter tags, an indented continuation (IN) and, as in the EndNote
    variant, an untagged abstract line."""
    path = tagged(fixtures_dir, "ovid_direct.ovd")
    text = path.read_text(encoding="utf-8")
    source = Source(path=path, data=text.encode(), text=text)
    assert detect(source).name == "ovid_tagged"
    result = detect(source).parse(source)
    first, second = (r.fields for r in result.records)
    assert first["title"] == "A trial of walking." and first["authors"] == ["Doe J.", "Roe R.S."]
    assert first["abstract"] == "Background: first part. Method(s): second part."
    citation = (first["journal"], first["volume"], first["issue"], first["pages"])
    assert citation == ("Journal of Things", "12", "3", "45-67")
    assert (first["issn"], first["source_id"]) == ("1234-5678", "620000001")
    assert first["source_database"] == "Embase via Ovid"
    assert first["doi"] == "http://dx.doi.org/10.1000/walk.12"  # cleaned to the bare DOI by the driver
    assert second["source_database"] == "Ovid MEDLINE(R)" and second["pmid"] == "29000001"
    assert result.problems == [] and result.found == 2
