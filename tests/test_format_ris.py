"""The RIS reader: every dialect's quirks, sniffing, problems, and the real exports.

Own fixtures (tests/fixtures/ris/) are small hand-made files, one per dialect quirk; the
shared-data tests ingest every RIS export in ../shared and compare the hand-written tokenizer
with rispy record by record.
"""

from __future__ import annotations

import csv
import itertools
import json
import random
from pathlib import Path

import pytest
import rispy

from evreview.ingest import ingest_file
from evreview.ingest.formats.ris import (
    RisReader,
    classify_sn,
    find_doi,
    header_names,
    next_part_start,
    sniff_text,
)
from evreview.ingest.registry import Source, readers
from evreview.ingest.textio import decode, decode_part, pick_encoding
from evreview.records import clean_doi, clean_text, split_list

RIS = Path(__file__).resolve().parent / "fixtures" / "ris"


def ingest(name: str):
    """Ingest one own fixture through the real driver (BOM/CRLF handling included)."""
    return ingest_file(RIS / name, root=RIS)


def parse_text(text: str):
    """Parse and exhaust the reader's record stream (problems/found are complete only then)."""
    result = RisReader().parse(Source(path=Path("x.ris"), data=text.encode(), text=text))
    assert result.streaming and result.found is None
    result.records = list(result.records)
    return result


def only(result, **where):
    rows = result.records.to_dict("records")
    return [r for r in rows if all(r[k] == v for k, v in where.items())]


# --------------------------------------------------------------------------- sniffing


@pytest.mark.parametrize(
    "name",
    ["scopus.ris", "ovid.ris", "dimensions.ris", "endnote.ris", "rayyan.txt", "wos.txt", "embase.ris"],
)
def test_sniff_recognises_every_dialect(name: str) -> None:
    text = decode((RIS / name).read_bytes(), name)
    assert sniff_text(text) >= 0.9


def test_sniff_allows_leading_blank_and_ovid_number_lines_but_less_sure_after_preamble() -> None:
    assert sniff_text("\n\n1.\nTY  - JOUR\nTI  - x\nER  - \n") >= 0.9
    assert 0 < sniff_text("Exported 2024\nTY  - JOUR\nER  - \n") < 0.9


@pytest.mark.parametrize(
    "text",
    [
        "PMID- 123\nTI  - A MEDLINE title\nAU  - Doe J\n",
        "FN Clarivate Analytics Web of Science\nVR 1.0\nPT J\nTI x\nER\n",
        "%0 Journal Article\n%T Title\n",
        "Title,Authors,Year\nx,y,2020\n",
        "@article{a, title={TY  - JOUR}}\n",
        "",
    ],
)
def test_sniff_rejects_other_formats(text: str) -> None:
    assert sniff_text(text) == 0.0


def test_detect_picks_ris_for_txt_extension() -> None:
    result = ingest("rayyan.txt")
    assert result.reports[0].source_format == "ris"


# --------------------------------------------------------------------------- dialects


def test_scopus_fields_and_m3_document_type() -> None:
    result = ingest("scopus.ris")
    first, conf = result.records.to_dict("records")
    assert first["title"] == "Gambling harms in Australian households"  # inline markup stripped
    assert first["journal"] == "Addictive Behaviors"
    assert first["doi"] == "10.1016/j.addbeh.2022.107538"
    assert first["authors"] == ["Tulloch, C.", "Hing, N."]
    assert first["pages"] == "107-109"
    assert first["doc_type"] == "review"  # M3 "Review" is more specific than TY JOUR
    assert first["source_database"] == "Scopus"
    assert first["abstract"] == "Gambling harms can impact health & wellbeing."
    assert conf["doc_type"] == "conference"
    assert [first["source_line"], conf["source_line"]] == [1, 19]


def test_ovid_number_lines_trailer_and_doi_url() -> None:
    result = ingest("ovid.ris")
    assert result.reports[0].found == 2 and result.reports[0].parsed == 2
    assert result.problems.empty  # number lines, NL and the Ovid link are not "garbage"
    first, second = result.records.to_dict("records")
    assert first["title"] == "The influence of self-criticism on depression."
    assert first["authors"] == ["Trindade, Ines A", "Irons, Chris"]  # A1
    assert first["year"] == 2019  # Y1 "2019//"
    assert first["abstract"] == "Considering that self-criticism is important."  # N2
    assert first["doi"] == "10.1002/cpp.2398"  # DO http://dx.doi.org/...
    assert first["pages"] == ""  # SP "No" EP "Specified"
    assert first["doc_type"] == "article"  # M3 is a subject class in Ovid, not a type
    assert first["source_id"] == "2019-65183-001"
    assert first["source_database"] == "APA PsycInfo via Ovid"
    assert [first["source_line"], second["source_line"]] == [2, 23]
    raw = json.loads(first["raw"])
    assert raw["NL"] == "Clin Psychol Psychother"
    assert raw["_trailing"].startswith("Link to the Ovid Full Text")
    assert raw["DO"] == ["http://dx.doi.org/10.1002/cpp.2398"] * 2
    assert second["source_id"] == "2019-29490-001"  # no ID tag: AN= of the Ovid link


def test_ovid_medline_pmid_from_link_and_nlm_code_not_an_issue() -> None:
    first, second = ingest("ovid_medline.ris").records.to_dict("records")
    assert first["pmid"] == "39012781" and second["pmid"] == "36812001"
    assert first["issue"] == ""  # "eag, 7805975" is a journal code + NLM id
    assert second["issue"] == "4"
    # one database in PRISMA, whatever Ovid segment each record came from; the segment stays in raw
    assert first["source_database"] == second["source_database"] == "Ovid MEDLINE(R)"
    assert json.loads(first["raw"])["DB"] == "Ovid MEDLINE(R) Epub Ahead of Print"
    assert json.loads(second["raw"])["DB"] == "Ovid MEDLINE(R) <2023>"
    assert first["journal"] == "Diabetes care"


@pytest.mark.parametrize("value", ["101676033", "0372347", "9439514, b6e", "6dr, 2985151r", "uj0, 0330500"])
def test_ovid_medline_nlm_id_forms_are_no_issue(tmp_path: Path, value: str) -> None:
    """Every form Ovid MEDLINE writes its NLM journal id in IS (seen in medline_84.ris): alone,
    after or before the journal code, with the old "R" suffix; a merged study showed it as the issue."""
    path = tmp_path / "ovid.ris"
    path.write_text(f"TY  - JOUR\nTI  - A title\nIS  - {value}\nDB  - Ovid MEDLINE(R)\nER  - \n\n"
                    "TY  - JOUR\nTI  - Another title\nIS  - 12\nDB  - Ovid MEDLINE(R)\nER  - \n")
    first, second = ingest_file(path).records.to_dict("records")
    assert first["issue"] == ""
    assert second["issue"] == "12"


@pytest.mark.parametrize(
    ("db", "name"),
    [
        ("Ovid MEDLINE(R) <2021>", "Ovid MEDLINE(R)"),
        ("Ovid MEDLINE(R) PubMed-not-MEDLINE <2013 to 2016>", "Ovid MEDLINE(R)"),
        ("Ovid MEDLINE(R) Epub Ahead of Print", "Ovid MEDLINE(R)"),
        ("Ovid MEDLINE(R) ALL <1946 to March 13, 2024>", "Ovid MEDLINE(R)"),
        ("Embase <1974 to 2024 March 14>", "Embase via Ovid"),
        ("APA PsycInfo <1806 to March Week 2 2024>", "APA PsycInfo via Ovid"),
        ("Journals@Ovid Full Text <March 14, 2024>", "Journals@Ovid Full Text"),
        ("Ovid MEDLINE(R) and Epub Ahead of Print, In-Process, In-Data-Review & Other Non-Indexed Citations and "
         "Daily <1946 to March 14, 2024>", "Ovid MEDLINE(R)"),
        ("Scopus", "Scopus"),  # not Ovid's: as written
        ("Something <odd> here", "Something <odd> here"),  # angle brackets not at the end
        ("My Library <shared>", "My Library <shared>"),  # no dated coverage: not Ovid's
    ],
)
def test_ovid_database_drops_the_segment(db: str, name: str) -> None:
    from evreview.ingest.formats.ris import name_database

    assert name_database(db, "", "", "") == name


@pytest.mark.parametrize(
    ("db", "dp", "name"),
    [
        ("Academic Search Complete <2024>", "EBSCOhost", "Academic Search Complete <2024> via EBSCOhost"),
        ("ABI/INFORM Collection <1971 to 2024>", "ProQuest", "ABI/INFORM Collection <1971 to 2024> via ProQuest"),
        ("Embase <1974 to 2024 March 14>", "Ovid Technologies", "Embase via Ovid"),
    ],
)
def test_a_dated_name_is_ovid_s_only_on_ovid(db: str, dp: str, name: str) -> None:
    from evreview.ingest.formats.ris import name_database

    assert name_database(db, dp, "", "") == name


def test_ovid_segments_from_endnote_are_one_database() -> None:
    """An Ovid search that went through EndNote (XML or tagged) names its database as the RIS reader does."""
    from evreview.ingest.formats.endnote_xml import _Record, record_fields

    rec = _Record(line=1, values={"remote-database-name": ["Ovid MEDLINE(R) <2021>"],
                          "remote-database-provider": ["Ovid Technologies"], "titles/title": ["T"]})
    assert record_fields(rec)["source_database"] == "Ovid MEDLINE(R)"


def test_ebsco_crlf_database_codes_and_pmid_only_for_medline() -> None:
    psyc, medline = ingest("ebsco.ris").records.to_dict("records")
    assert psyc["source_database"] == "APA PsycInfo via EBSCOhost"
    assert psyc["pmid"] == ""  # a PsycInfo accession is not a PMID
    assert psyc["source_id"] == "2022-96522-001"
    assert psyc["keywords"] == ["Gambling", "public health"]
    assert medline["source_database"] == "MEDLINE via EBSCOhost"
    assert medline["pmid"] == "31234567"


@pytest.mark.parametrize(
    ("code", "name"), [("ecn", "EconLit"), ("8gh", "GreenFILE"), ("s3h", "SPORTDiscus with Full Text")]
)
def test_more_ebsco_database_codes_are_named(code: str, name: str) -> None:
    """An EconLit export (``DB  - ecn``, as in CiteSource's econlit_3.ris) was counted under the
    code: "ecn via EBSCOhost" instead of the database PRISMA names."""
    result = parse_text(f"TY  - JOUR\nTI  - A title\nDP  - EBSCOhost\nDB  - {code}\nER  - \n")
    assert result.records[0].fields["source_database"] == f"{name} via EBSCOhost"


def test_proquest_accession_pair_journal_and_doi_from_doi_link() -> None:
    (rec,) = ingest("proquest.ris").records.to_dict("records")
    assert rec["source_id"] == "2214991469"  # AN "2214991469; 51887"
    assert json.loads(rec["raw"])["AN"] == "2214991469; 51887"
    assert rec["journal"] == "Journal of Traumatic Stress"  # JF
    assert rec["title"].startswith("Predictors")  # T1
    assert rec["doi"] == "10.1002/jts.22387"  # no DO: the dx.doi.org link in L2
    assert rec["issn"] == "0894-9867"  # "0894-9867, 0894-9867"
    assert rec["language"] == "eng"
    assert rec["source_database"] == "PTSDpubs via ProQuest"


def test_embase_bom_y1_accession_and_medline_pmid() -> None:
    (rec,) = ingest("embase.ris").records.to_dict("records")
    assert rec["source_line"] == 1
    assert rec["year"] == 2004
    assert rec["source_id"] == "L39097156"
    assert rec["pmid"] == "15368318"
    assert rec["issn"] == "0008-543X"
    assert rec["authors"] == ["Eloubeidi M.A.", "Cohn M."]
    assert rec["source_database"] == "Embase"
    assert json.loads(rec["raw"])["DB"] == ["Embase", "Medline"]


def test_dimensions_leading_blank_line_multiline_abstract_and_u1_pmid() -> None:
    article, chapter = ingest("dimensions.ris").records.to_dict("records")
    assert article["source_line"] == 2
    assert article["source_id"] == "pub.1149029839"
    assert article["source_database"] == "Dimensions"
    assert article["pmid"] == "35957633"
    assert article["abstract"] == (
        "Background: The long-term health effects of bushfires. "
        "Objective: This review aimed to determine prevalence. Method: A systematic search."
    )
    assert json.loads(article["raw"])["AB"].count("\n") == 2  # raw keeps the paragraph breaks
    assert chapter["doc_type"] == "chapter"
    assert chapter["journal"] == "Artificial Intelligence Advances"  # BT as the container
    assert chapter["isbn"] == "9783030680800" and chapter["issn"] == ""


def test_endnote_bom_crlf_untagged_continuations_and_pubmed_accession() -> None:
    (rec,) = ingest("endnote.ris").records.to_dict("records")
    raw = json.loads(rec["raw"])
    assert raw["AD"] == [
        "Department of Pharmaceutics, Isfahan University, Iran",
        "Department of Pharmacognosy, Isfahan University, Iran",
    ]
    assert rec["keywords"] == ["Acne", "Antirrhinum majus", "blue light"]
    assert len(raw["N1"]) == 3
    assert raw["SN"] == ["2277-9175 (Print)", "2277-9175"]
    assert rec["issn"] == "2277-9175"
    assert rec["pmid"] == "29657938" and rec["source_id"] == "29657938"  # AN, not EndNote's ID
    # no DO tag: the PubMed citation note's clearly labelled "doi: 10.4103/..." is used
    assert rec["doi"] == "10.4103/abr.abr_99_17"
    assert rec["title"].startswith("Formulation of Herbal Gel of")  # TI over ST
    assert rec["source_database"] == "PubMed"
    assert rec["source_line"] == 1  # BOM and CRLF do not shift line numbers


def test_rayyan_keywords_continue_on_untagged_lines() -> None:
    (rec,) = ingest("rayyan.txt").records.to_dict("records")
    assert rec["keywords"] == ["Health Facility Administration", "Joint Commission", "Medication Errors"]
    assert rec["source_id"] == "rayyan-264552525"
    assert rec["source_database"] == "Rayyan"
    assert rec["pages"] == "1-5"


def test_wos_ris_accession_two_issns_and_note_continuation() -> None:
    (rec,) = ingest("wos.txt").records.to_dict("records")
    assert rec["source_database"] == "Web of Science Core Collection"
    assert rec["issn"] == "2211-3681; 2211-369X"
    assert rec["year"] == 2018  # PY, not DA "SEP"
    assert rec["pages"] == "387-397"
    assert json.loads(rec["raw"])["N1"][1] == "Total Times Cited:  7"


# --------------------------------------------------------------------------- problems


def test_truncated_file_keeps_last_record_with_a_warning() -> None:
    result = ingest("truncated.ris")
    report = result.reports[0]
    assert (report.found, report.parsed, report.failed, report.warnings) == (2, 2, 0, 1)
    (problem,) = result.problems.to_dict("records")
    assert problem["reason"] == "record not terminated by ER: file may be truncated"
    assert problem["severity"] == "warning"
    assert problem["source_line"] == 6 and problem["source_index"] == 1
    assert result.records["title"].iloc[1] == "Cut off in the middle"


def test_garbage_between_records_headless_and_empty_records_are_reported() -> None:
    result = ingest("garbage.ris")
    report = result.reports[0]
    assert (report.found, report.parsed, report.failed) == (5, 3, 2)
    assert report.found == report.parsed + report.failed
    assert list(result.records["title"]) == [
        "First good record",
        "Record missing its ER",
        "Book after the unterminated record",
    ]
    assert list(result.records["source_line"]) == [3, 18, 21]
    problems = [
        (p["source_line"], p["severity"], p["reason"].split(" (")[0]) for p in result.problems.to_dict("records")
    ]
    assert problems == [
        (1, "warning", "content outside any TY..ER record ignored"),
        (8, "warning", "content outside any TY..ER record ignored"),
        (11, "error", "empty record: TY..ER block"),
        (14, "error", "record without a TY start line"),
        (18, "warning", "record starting at line 18 not terminated by ER before the next TY"),
    ]
    assert "lines 8-9" in result.problems["reason"].iloc[1]


def test_file_of_only_empty_records_parses_nothing_and_says_why() -> None:
    result = parse_text("TY  - JOUR\nER  - \n\nTY  - JOUR\nER  - \n")
    assert result.records == [] and result.found == 2
    assert [p.severity for p in result.problems] == ["error", "error"]
    assert [p.line for p in result.problems] == [1, 4]


def test_stray_er_line_is_a_headless_record() -> None:
    result = parse_text("TY  - JOUR\nTI  - a\nER  - \nER  - \n")
    assert len(result.records) == 1 and result.found == 2
    assert result.problems[0].line == 4 and result.problems[0].severity == "error"


def test_tags_after_er_join_the_record_only_when_directly_after_a_kept_record() -> None:
    direct = parse_text("TY  - JOUR\nTI  - a\nER  - \nNL  - J Abbr\n")
    assert direct.records[0].raw["NL"] == "J Abbr" and direct.problems == []
    after_blank = parse_text("TY  - JOUR\nTI  - a\nER  - \n\nNL  - J Abbr\n")
    assert "NL" not in after_blank.records[0].raw
    assert [(p.line, p.severity) for p in after_blank.problems] == [(5, "warning")]
    after_empty = parse_text("TY  - JOUR\nTI  - a\nER  - \nTY  - JOUR\nER  - \nNL  - J Abbr\n")
    assert "NL" not in after_empty.records[0].raw
    assert [(p.line, p.severity) for p in after_empty.problems] == [(4, "error"), (6, "warning")]


def test_continuation_of_text_tag_joins_and_list_tag_splits() -> None:
    result = parse_text("TY  - JOUR\nTI  - A long\n  title here\nAU  - One, A\nTwo, B\nER  - \n")
    (rec,) = result.records
    assert rec.raw["TI"] == "A long\ntitle here"
    assert rec.fields["authors"] == ["One, A", "Two, B"]


def test_a_tag_in_lower_case_is_read_as_its_tag_with_a_warning() -> None:
    """``ti  - ...`` (a hand-edited file) was read as a continuation of the line above: the
    title vanished into ``TY`` ("JOUR\\nti  - ...") and nothing was reported."""
    result = parse_text("TY  - JOUR\nti  - A lower-case title\nAU  - One, A\npy  - 2020\nER  - \n")
    (rec,) = result.records
    assert (rec.fields["title"], rec.fields["year"], rec.raw["TY"]) == ("A lower-case title", 2020, "JOUR")
    (warning,) = result.problems
    assert (warning.severity, warning.line, warning.index) == ("warning", 1, 0)
    assert "lower case at line 2 and 1 more line(s)" in warning.reason
    assert "'ti  - A lower-case title'" in warning.reason


def test_a_four_letter_pmid_tag_is_its_own_tag_not_part_of_ty() -> None:
    """APA PsycNET writes ``PMID  - 33355555`` right after ``TY`` (layout of CoLRev's
    psycinfo_ris.ris test export). Read as a continuation line it vanished into ``TY``
    ("JOUR\nPMID  - ...") and the PubMed id was lost."""
    result = parse_text(
        "TY  - JOUR\nPMID  - 31234567\nID  - 2020-12345-001\nT1  - A title\nA1  - One, A\n"
        "N2  - An abstract\nXYZ  -\nER  -"
    )
    (rec,) = result.records
    assert (rec.raw["TY"], rec.raw["PMID"], rec.raw["XYZ"]) == ("JOUR", "31234567", "")
    assert (rec.fields["pmid"], rec.fields["title"], rec.fields["abstract"]) == ("31234567", "A title", "An abstract")
    assert rec.fields["doc_type"] == "JOUR" and result.problems == []


def test_inspec_article_number_pages_keep_first_and_last_page(tmp_path: Path) -> None:
    """Inspec's pages of an article number (``SP  - 41103-1``, ``EP  - 41103-3``) were the start
    page alone, normalised to "41103-41101"."""
    path = tmp_path / "inspec.ris"
    path.write_text(
        "TY  - JOUR\nTI  - Lasers\nSP  - 41103-1\nEP  - 41103-3\nER  - \n\n"
        "TY  - JOUR\nTI  - Optics\nSP  - 123-145\nEP  - 145\nER  - \n",
        encoding="utf-8",
    )
    assert ingest_file(path, root=tmp_path).records["pages"].tolist() == ["41103-1-41103-3", "123-145"]


def test_psycnet_header_names_the_database_of_its_records() -> None:
    """``psycnet.ris`` is self-written in APA PsycNET's layout (CoLRev's psycinfo_ris.ris, a
    ris2bib test's PsycNET chapter): a Provider/Database/Content header, records without DB or
    DP. They were 'unknown database', with a warning about the header's Content line."""
    result = ingest("psycnet.ris")
    rows = result.records.to_dict("records")
    assert [r["source_database"] for r in rows] == ["APA PsycInfo via APA PsycNet"] * 2
    assert result.problems.empty
    assert rows[0]["pmid"] == "30000001" and rows[0]["doi"] == "10.1000/tp0000001"
    # PsycNET's DESCRIPTORS line is a tag of its own, not part of TY
    raw = json.loads(rows[1]["raw"])
    assert raw["TY"] == "CHAP" and raw["DESCRIPTORS"] == "*Memory; Recall (Learning)"
    assert rows[1]["doc_type"] == "chapter"


def test_a_header_names_only_records_without_their_own_database() -> None:
    """JSTOR writes its header before every record (CoLRev's jstor_ris.ris), older downloads
    without a DB tag; a later header names the records after it; DB or DP wins over a header."""
    text = (
        "Provider: JSTOR http://www.jstor.org\nDatabase: JSTOR\nContent: text/plain\n\n\n\n"
        "TY  - JOUR\nTI  - Old JSTOR\nER  - \n\n"
        "Provider: Elsevier Engineering Information, Inc.\r\nDatabase: Inspec\r\n"
        "Content: application/x-research-info-systems\n\n"
        "TY  - JOUR\nTI  - From Inspec\nER  - \n\n"
        "TY  - JOUR\nTI  - Own database\nDB  - Compendex\nER  - \n"
    )
    result = parse_text(text.replace("\r\n", "\n"))
    assert [r.fields["source_database"] for r in result.records] == [
        "JSTOR",
        "Inspec via Engineering Village",
        "Compendex",
    ]
    assert result.problems == []


@pytest.mark.parametrize(
    ("header", "names"),
    [
        (("American Psychological Association", "PsycARTICLES"), ("APA PsycArticles", "APA PsycNet")),
        (("JSTOR http://www.jstor.org", "JSTOR"), ("JSTOR", "JSTOR")),
        (("Ingenta Connect", "Ingenta Connect"), ("Ingenta Connect", "Ingenta Connect")),
    ],
)
def test_header_names(header: tuple[str, str], names: tuple[str, str]) -> None:
    assert header_names(header) == names


def test_scopus_ris_eid_from_its_link_is_the_source_id() -> None:
    """Scopus RIS has no id tag; the EID its CSV gives as source id (and its BibTeX's link gives)
    is in the record link. Read with the pattern the BibTeX reader uses (``_ids.scopus_eid``);
    an ``AN`` still wins, and an ``eid=`` on another site is no Scopus EID."""
    text = (
        "TY  - JOUR\nTI  - A\nUR  - https://www.scopus.com/inward/record.uri?eid=2-s2.0-85189760133"
        "&doi=10.1038%2fs41467-024-46843-2&partnerID=40&md5=614b\nDB  - Scopus\nER  -\n"
        "TY  - JOUR\nTI  - B\nAN  - WOS:000123\nUR  - https://www.scopus.com/inward/record.uri?eid=2-s2.0-1\nER  -\n"
        "TY  - JOUR\nTI  - C\nUR  - https://example.org/record?eid=2-s2.0-85189760133\nER  -\n"
        "TY  - JOUR\nTI  - D\nUR  - https://www.scopus.com/inward/record.uri?partnerID=40&eid=2-s2.0-84\nER  -\n"
    )
    ids = [r.fields["source_id"] for r in parse_text(text).records]
    assert ids == ["2-s2.0-85189760133", "WOS:000123", "", "2-s2.0-84"]


def _ris(*records: str) -> list[dict]:
    return [r.fields for r in parse_text("".join(f"{record}ER  -\n" for record in records)).records]


def test_c7_article_number_is_the_pages_without_sp() -> None:
    """Scopus and Web of Science RIS write an article number in ``C7``; their CSV and tagged
    exports give it as the pages (Scopus "Art. No.", WoS ``AR``): one article had pages in one
    export and none in the other. Read as the pages when there are no SP/EP."""
    fields = _ris(
        "TY  - JOUR\nTI  - Scopus\nC7  - e0264922\nDB  - Scopus\n",  # Scopus RIS
        "TY  - JOUR\nTI  - WoS\nAN  - WOS:000123\nC7  - 1175856\n",  # Web of Science RIS
        "TY  - CONF\nTI  - Scopus paper\nC7  - 9054\nDB  - Scopus\n",  # any type from Scopus
        "TY  - CHAP\nTI  - Citavi\nC7  - 107538\nUR  - https://www.scopus.com/inward/record.uri?eid=2-s2.0-1\n",
        "TY  - JOUR\nTI  - EndNote\nC7  - 102345\n",  # the spec's C7 of a journal article
        "TY  - JOUR\nTI  - Pages win\nSP  - 1\nEP  - 21\nC7  - 583\nDB  - Scopus\n",  # as in Scopus CSV
        "TY  - BOOK\nTI  - Other type\nC7  - 2\n",  # C7 of another type is another field
        "TY  - JOUR\nTI  - Not a number\nC7  - Version of record\nDB  - Scopus\n",
    )
    assert [f["pages"] for f in fields] == ["e0264922", "1175856", "9054", "107538", "102345", "1-21", "", ""]


def test_bibtex_and_ris_share_the_scopus_eid_pattern() -> None:
    """One pattern, not two copies that could drift apart."""
    from evreview.ingest.formats import _ids, bibtex, ris

    assert bibtex.scopus_eid is _ids.scopus_eid and ris.scopus_eid is _ids.scopus_eid
    assert not hasattr(bibtex, "_SCOPUS_EID_IN_URL")


def test_citavi_re_export_is_named_from_its_scopus_or_lens_link() -> None:
    """Citavi re-exports records without DB or DP (asreview's ris_issue_1099.txt, records from
    Scopus and the Lens): they were 'unknown database'; their link names where they were found."""
    text = (
        "TY  - JOUR\nT1  - A\nU3  - Cited By :9\n\nExport Date: 12 May 2022\n\nArticle\n"
        "UR  - https://www.scopus.com/inward/record.uri?eid=2-s2.0-85054091539&partnerID=40\n"
        "M4  - Citavi\nER  -\n\n"
        "TY  - GEN\nT1  - B\nUR  - https://lens.org/190-777-589-117-351\nL2  - https://arxiv.org/abs/2111.09920\n"
        "M4  - Citavi\nER  -\n\n"
        "TY  - JOUR\nT1  - C\nUR  - https://example.org/lens.org/\nDB  - Own\nER  -\n"
    )
    names = [r.fields["source_database"] for r in parse_text(text).records]
    assert names == ["Scopus", "The Lens", "Own"]


@pytest.mark.parametrize(
    ("issue", "kept"),
    [
        ("Achenbach, T. (1991). Child Behavior Checklist/4-18. Burlington, VT: University Associates.", ""),
        ("4 (Supplement 1)", "4 (Supplement 1)"),
        ("Special Issue: Child development (2019)", "Special Issue: Child development (2019)"),
    ],
)
def test_a_cited_reference_in_is_is_no_issue(issue: str, kept: str) -> None:
    """Zotero's re-export of Ovid PsycInfo records (asreview's ovid_zotero.ris) put a record's
    first cited reference in IS; deduplication read it as issue 1991."""
    (record,) = parse_text(f"TY  - JOUR\nTI  - A\nVL  - 119\nIS  - {issue}\nER  - \n").records
    assert record.fields["issue"] == kept and record.raw["IS"] == issue


def test_fast_and_line_by_line_paths_agree() -> None:
    """A blank line inside a record sends it down the line-by-line path: same tags either way."""
    body = "TY  - JOUR\nTI  - Title \nAU  - One, A\nAU  - Two, B\nKW  - k1\nPY  - 2020\nER  - \n"
    fast = parse_text(body).records[0]
    slow = parse_text(body.replace("AU  - Two", "\nAU  - Two")).records[0]
    assert fast.raw == slow.raw
    assert fast.fields == slow.fields
    assert fast.raw["TI"] == "Title"


def test_mangled_files_never_lose_records_silently() -> None:
    """Randomly damaged exports: no exception, found == parsed + errors, lines point at TY."""
    base = (RIS / "garbage.ris").read_text() + (RIS / "ovid.ris").read_text() + (RIS / "endnote.ris").read_text()
    lines = base.replace("\ufeff", "").replace("\r\n", "\n").split("\n")
    rng = random.Random(20240601)
    for _ in range(150):
        damaged = list(lines)
        for _ in range(rng.randint(1, 6)):
            op = rng.random()
            at = rng.randrange(len(damaged))
            if op < 0.4:
                del damaged[at]
            elif op < 0.7:
                damaged.insert(at, rng.choice(["ER  - ", "TY  - JOUR", "junk text", "", "7.", "AU  - X"]))
            else:
                damaged[at] = damaged[at][: rng.randrange(len(damaged[at]) + 1)]
        text = "\n".join(damaged)
        result = parse_text(text)
        errors = sum(p.severity == "error" for p in result.problems)
        assert result.found == len(result.records) + errors
        split = text.split("\n")
        for rec in result.records:
            assert split[rec.line - 1].startswith("TY  -")
        for problem in result.problems:
            assert problem.line is not None and 1 <= problem.line <= len(split)


def test_same_input_same_output() -> None:
    first = ingest("garbage.ris")
    second = ingest("garbage.ris")
    assert first.records.equals(second.records)
    assert first.problems.equals(second.problems)


# --------------------------------------------------------------------------- parts (parallel ingest)


def cut_points(data: bytes) -> list[int]:
    """Every offset where :func:`next_part_start` lets the file be cut, in order."""
    cuts: list[int] = []
    at = next_part_start(data, 0)
    while at != -1:
        cuts.append(at)
        at = next_part_start(data, at)
    return cuts


def parse_in_parts(data: bytes, cuts: list[int]) -> tuple[list, list, int, dict]:
    """Parse ``data`` cut at ``cuts`` as the parallel driver does (lines from the file, record
    indices shifted by the records before); records, problems, found, database tallies."""
    encoding = pick_encoding(data, "x.ris")
    bounds = [0, *cuts, len(data)]
    records: list = []
    problems: list = []
    found = 0
    counts: dict[str, int] = {}
    line = 1
    context = None  # the export header in force, carried from part to part as the driver does
    for start, end in itertools.pairwise(bounds):
        text = decode_part(data[start:end], "x.ris", encoding, offset=start, line=line)
        result = RisReader().parse_part(Source(path=Path("x.ris"), data=b"", text=text), line, context)
        context = RisReader.part_context(data[start:end], context)
        part = list(result.records)
        for problem in result.problems:
            if problem.index is not None:
                problem.index += len(records)
        records += part
        problems += result.problems
        found += result.found
        for name, count in result.database_counts.items():
            counts[name] = counts.get(name, 0) + count
        piece = data[start:end]  # decoding makes \r\n, \n and a bare \r one line break each
        line += piece.count(b"\n") + piece.count(b"\r") - piece.count(b"\r\n")
    return records, problems, found, counts


def assert_parts_parse_as_whole(data: bytes, cuts: list[int]) -> None:
    whole = RisReader().parse(Source(path=Path("x.ris"), data=b"", text=decode(data, "x.ris")))
    whole_records = list(whole.records)
    records, problems, found, counts = parse_in_parts(data, cuts)
    assert [(r.line, r.fields, r.raw) for r in records] == [(r.line, r.fields, r.raw) for r in whole_records]
    assert [p.__dict__ for p in problems] == [p.__dict__ for p in whole.problems]
    assert found == whole.found
    assert counts == whole.database_counts
    assert (max(counts, key=counts.__getitem__) if counts else "") == whole.database


def test_cut_points_only_where_an_er_line_meets_the_next_ty() -> None:
    text = (
        "TY  - JOUR\nTI  - A\nER  - \n\n"  # cut before the next TY (blank line between)
        "TY  - JOUR\nTI  - B\nER  - \nNL  - Ovid tag after ER\n\n"  # no cut: joins record B
        "TY  - JOUR\nTI  - C\nER  - \nstray\nTY  - JOUR\nTI  - D\nER  - \n"  # no cut before D: stray line
        "TY  - JOUR\nTI  - E\nER  - \r\n\r\nTY  - JOUR\nTI  - F\nER  - \n"  # cut before E and F (CRLF)
    )
    data = text.encode()
    cuts = cut_points(data)
    assert [data[at : at + 14] for at in cuts] == [b"TY  - JOUR\nTI ", b"TY  - JOUR\nTI ", b"TY  - JOUR\nTI "]
    assert [data[at + 17 : at + 18] for at in cuts] == [b"B", b"E", b"F"]
    assert next_part_start(b"TY  - JOUR\nTI  - A\nER  - \n", 0) == -1
    assert_parts_parse_as_whole(data, cuts)


def test_own_fixtures_cut_at_every_point_parse_as_the_whole() -> None:
    """All dialect fixtures (BOMs, CRLF, Ovid trailers, garbage, a truncated record) and one
    with bare-CR line ends in one file, cut at every cut point: the same records, lines,
    problems and database as uncut."""
    names = sorted(path.name for path in RIS.iterdir())
    bare_cr = (RIS / "scopus.ris").read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r")
    data = (b"\n".join((RIS / name).read_bytes() for name in names) + b"\n" + bare_cr + b"\n") * 3
    cuts = cut_points(data)
    assert len(cuts) > 20
    assert_parts_parse_as_whole(data, cuts)
    header_parts = parse_in_parts(data, cuts)[0]
    assert sum(r.fields["source_database"] == "APA PsycInfo via APA PsycNet" for r in header_parts) > 10
    rng = random.Random(7)
    for _ in range(10):
        assert_parts_parse_as_whole(data, sorted(rng.sample(cuts, rng.randint(1, 5))))


def test_mangled_files_cut_anywhere_allowed_parse_as_the_whole() -> None:
    base = (RIS / "garbage.ris").read_text() + (RIS / "ovid.ris").read_text() + (RIS / "scopus.ris").read_text()
    lines = base.replace("\ufeff", "").replace("\r\n", "\n").split("\n") * 2
    rng = random.Random(20251125)
    for _ in range(100):
        damaged = list(lines)
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(len(damaged))
            damaged.insert(at, rng.choice(["ER  - ", "TY  - JOUR", "junk text", "", "7.", "AU  - X", "NL  - Y"]))
        data = "\n".join(damaged).encode()
        assert_parts_parse_as_whole(data, cut_points(data))


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (("0894-9867, 0894-9867",), ("0894-9867", "")),
        (("2277-9175 (Print)", "2277-9175"), ("2277-9175", "")),
        (("0008-543x",), ("0008-543X", "")),
        (("978-3-030-68080-0",), ("", "9783030680800")),
        (("0-19-852663-6 (hbk)",), ("", "0198526636")),
        (("not an identifier",), ("", "")),
    ],
)
def test_classify_sn(values: tuple[str, ...], expected: tuple[str, str]) -> None:
    assert classify_sn(values) == expected


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"DO": ["http://dx.doi.org/10.1002/CPP.2398"]}, "10.1002/cpp.2398"),
        ({"L2": ["http://dx.doi.org/10.1002/jts.22387"]}, "10.1002/jts.22387"),
        ({"N1": ["Adv Res. 2018;7:53. doi: 10.4103/abr_99. eCollection"]}, "10.4103/abr_99"),
        ({"UR": ["https://www.scopus.com/record.uri?doi=10.1016%2fj.x.1&eid=2"]}, ""),
        ({"N1": ["see 10.1000/xyz in the appendix"]}, ""),
        ({"UR": ["10.1000/xyz"]}, "10.1000/xyz"),
    ],
)
def test_doi_only_when_clearly_a_doi(tags: dict[str, list[str]], expected: str) -> None:
    assert find_doi(tags) == expected


def test_pmid_from_web_of_science_medline_accession() -> None:
    (rec,) = parse_text("TY  - JOUR\nTI  - t\nAN  - MEDLINE:31234567\nER  - \n").records
    assert rec.fields["pmid"] == "31234567"
    assert rec.fields["source_database"] == "MEDLINE (Web of Science)"


# --------------------------------------------------------------------------- shared exports

EXPECTED_DATABASES = {
    "scopus/20221207_gambling-harms_scopus_255.ris": "Scopus",
    "web_of_science/web_of_science.txt": "Web of Science Core Collection",
    "ebsco/20221207_gambling-harms_psycinfo_124.ris": "APA PsycInfo via EBSCOhost",
    "ovid/ovid_psycinfo.ris": "APA PsycInfo via Ovid",
    "ovid/medline_84.ris": "Ovid MEDLINE(R)",
    "proquest/proquest.ris": "PTSDpubs via ProQuest",
    "embase/embase.ris": "Embase",
    "dimensions/Dimensions_246.ris": "Dimensions",
    "endnote/blue-light.ris": "PubMed",
    "rayyan/ris_issue_992.txt": "Rayyan",
}


def shared_ris(shared_dir: Path) -> list[dict[str, str]]:
    with (shared_dir / "fixtures" / "exports" / "MANIFEST.csv").open(encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if row["format"] == "RIS"]


@pytest.mark.shared
def test_every_shared_ris_export(shared_dir: Path) -> None:
    exports = shared_dir / "fixtures" / "exports"
    rows = shared_ris(shared_dir)
    assert {row["path"] for row in rows} == set(EXPECTED_DATABASES)
    for row in rows:
        result = ingest_file(exports / row["path"], root=exports)
        report = result.reports[0]
        records = result.records
        assert report.source_format == "ris", row["path"]
        assert report.found == report.parsed == int(row["records"]), row["path"]
        assert result.problems.empty, (row["path"], result.problems.to_dict("records"))
        assert (records["title"] != "").all(), row["path"]
        assert records["source_line"].notna().all()
        databases = set(records["source_database"])
        assert all(db.startswith(EXPECTED_DATABASES[row["path"]]) for db in databases), (row["path"], databases)
        assert records["year"].notna().mean() > 0.95, row["path"]


@pytest.mark.shared
def test_every_shared_ris_export_cut_into_parts_parses_as_the_whole(shared_dir: Path) -> None:
    """What the parallel ingest relies on, on every real RIS dialect: cutting at every cut
    point changes no record, line, problem or database."""
    exports = shared_dir / "fixtures" / "exports"
    for row in shared_ris(shared_dir):
        data = (exports / row["path"]).read_bytes()
        assert_parts_parse_as_whole(data, cut_points(data))


@pytest.mark.shared
def test_tokenizer_agrees_with_rispy_on_every_shared_export(shared_dir: Path) -> None:
    """Differential test: the same titles, authors and DOIs per record as ``rispy.loads``.

    rispy reads the same decoded text (it cannot strip a BOM itself). Documented differences:
    values are compared after the shared ``clean_text``/``clean_doi``/``split_list`` (rispy
    joins text continuations with a space, we keep the line break in raw); our title falls
    back from TI to T1 (rispy: ``title`` vs ``primary_title``); authors are A1 then AU; and
    where rispy has no ``DO`` we may take a DOI from a ``doi.org`` link or ``doi:`` note.
    """
    exports = shared_dir / "fixtures" / "exports"
    for row in shared_ris(shared_dir):
        path = exports / row["path"]
        text = decode(path.read_bytes(), row["path"])
        theirs = rispy.loads(text)
        ours = list(RisReader().parse(Source(path=path, data=b"", text=text)).records)
        assert len(ours) == len(theirs), row["path"]
        for index, (mine, other) in enumerate(zip(ours, theirs)):
            where = (row["path"], index)
            title = other.get("title") or other.get("primary_title") or ""
            assert clean_text(mine.fields["title"]) == clean_text(title), where
            authors = split_list(list(other.get("first_authors", [])) + list(other.get("authors", [])))
            assert split_list(mine.fields["authors"]) == authors, where
            their_doi = clean_doi(other.get("doi", ""))
            if their_doi:
                assert clean_doi(mine.fields["doi"]) == their_doi, where
            elif mine.fields["doi"]:
                links = " ".join(str(v) for k, v in mine.raw.items() if k in {"UR", "L1", "L2", "L3", "L4", "N1"})
                assert mine.fields["doi"].lower() in links.lower(), where


@pytest.mark.shared
def test_blue_light_ris_agrees_with_pubmed_nbib(shared_dir: Path) -> None:
    if "medline" not in readers():
        pytest.skip("the MEDLINE reader is not available")
    exports = shared_dir / "fixtures" / "exports"
    ris = ingest_file(exports / "endnote" / "blue-light.ris", root=exports).records
    nbib = ingest_file(exports / "pubmed" / "blue-light.nbib", root=exports).records
    assert len(nbib) == 80
    by_pmid = {row["pmid"]: row for row in ris.to_dict("records")}
    assert set(nbib["pmid"]) <= set(by_pmid)
    compared = 0
    for row in nbib.to_dict("records"):
        mine = by_pmid[row["pmid"]]
        if row["doi"] and mine["doi"]:
            assert mine["doi"] == row["doi"], row["pmid"]
            compared += 1
    assert compared >= 50


# --------------------------------------------------------------------------- Cochrane Library RIS

#: Self-written in the layout of a Cochrane Library (Wiley) RIS download: a "Record #N of M /
#: Provider / Content" header before every record, "TY  -  " with two spaces after the dash,
#: no DB or DP tag, the PubMed id in C3 and a Unicode hyphen (U+2010) in SP.
COCHRANE_RIS = """Record #1 of 2
Provider: John Wiley & Sons, Ltd.
Content: text/plain; charset="UTF-8"

TY  -  JOUR
AN  -  CN-01234567
A1  -  Doe, J
T1  -  A trial of walking for back pain
JA  -  Spine
PY  -  2020
SP  -  10\u201020
C3  -  PUBMED 31234567,EMBASE 612345678
DO  -  10.1000/walk.1
UR  -  https://www.cochranelibrary.com/central/doi/10.1002/central/CN-01234567/full
ER  -  {end}


Record #2 of 2
Provider: John Wiley & Sons, Ltd.
Content: text/plain; charset="UTF-8"

TY  -  JOUR
AN  -  CN-07654321
AU  -  Roe, R
TI  -  A second trial
PY  -  2021
ER  -  {end}

""".format(end="")  # keeps the export's "ER  -  " (trailing spaces) out of the source line


def test_cochrane_ris_names_central_reads_pmid_and_skips_its_record_headers() -> None:
    result = parse_text(COCHRANE_RIS)
    fields = [r.fields for r in result.records]
    assert [f["title"] for f in fields] == ["A trial of walking for back pain", "A second trial"]
    assert {f["source_database"] for f in fields} == {"Cochrane Central Register of Controlled Trials (CENTRAL)"}
    assert fields[0]["pmid"] == "31234567" and fields[1]["pmid"] == ""
    assert fields[0]["source_id"] == "CN-01234567"
    assert result.problems == []  # the per-record header is boilerplate, not lost content
    assert result.found == 2


def test_cochrane_ris_through_the_driver_unifies_its_unicode_hyphen_pages(tmp_path: Path) -> None:
    path = tmp_path / "cochrane.ris"
    path.write_text(COCHRANE_RIS, encoding="utf-8")
    records = ingest_file(path, root=tmp_path).records
    assert list(records["pages"]) == ["10-20", ""]
    assert list(records["pmid"]) == ["31234567", ""]


def test_other_content_between_records_is_still_reported() -> None:
    text = COCHRANE_RIS.replace("Record #2 of 2", "Something else entirely")
    result = parse_text(text)
    assert len(result.records) == 2
    assert [p.severity for p in result.problems] == ["warning"]
    assert "Something else entirely" in result.problems[0].reason


def test_ovid_numbered_record_with_undated_db_is_named_via_ovid() -> None:
    """Ovid ERIC: "DB  - ERIC" (pre-1992 file) beside "DB  - ERIC <1992 to June 2024>" in one
    export; both are ERIC via Ovid, not two databases."""
    text = (
        "1. \nTY  - JOUR\nDB  - ERIC\nID  - EJ1\nT1  - Old record\nER  -  \n\n \n\n"
        "2. \nTY  - JOUR\nDB  - ERIC <1992 to June 2024>\nID  - EJ2\nT1  - New record\nER  -  \n"
    )
    result = parse_text(text)
    assert [r.fields["source_database"] for r in result.records] == ["ERIC via Ovid", "ERIC via Ovid"]
    assert result.database == "ERIC via Ovid"
    unnumbered = parse_text("TY  - JOUR\nDB  - ERIC\nT1  - Elsewhere\nER  - \n")
    assert unnumbered.records[0].fields["source_database"] == "ERIC"


def test_pubmed_provider_under_another_db_does_not_split_the_database() -> None:
    """Inciteful writes its PubMed-derived records with ``DB  - Inciteful`` and ``DP  - Nlm``
    (self-written in that layout); they are Inciteful's, like its other records."""
    text = (
        "TY  - JOUR\nTI  - One\nDB  - Inciteful\nID  - 1\nER  - \n\n"
        "TY  - JOUR\nTI  - Two\nAN  - 36037647\nDB  - Inciteful\nDP  - Nlm\nID  - 2\nER  - \n"
    )
    result = parse_text(text)
    assert [r.fields["source_database"] for r in result.records] == ["Inciteful", "Inciteful"]
    assert result.records[1].fields["pmid"] == "36037647"
    assert parse_text("TY  - JOUR\nTI  - Three\nDP  - NLM\nER  - \n").records[0].fields["source_database"] == "PubMed"


def test_provider_web_address_is_not_a_platform() -> None:
    """SciELO writes ``DP  - http://www.scielo.org/`` beside ``DB  - SciELO Brazil`` (self-written)."""
    result = parse_text("TY  - JOUR\nTI  - Aves\nDB  - SciELO Brazil\nDP  - http://www.scielo.org/\nER  -\n")
    assert result.records[0].fields["source_database"] == "SciELO Brazil"


def test_a_record_without_db_or_dp_is_named_from_its_embase_link(tmp_path: Path) -> None:
    """EPPI-Reviewer re-exports Embase records without DB or DP; their embase.com links say
    where they were found (before: no database, "unknown database" in PRISMA)."""
    path = tmp_path / "eppi.ris"
    path.write_text("TY  - JOUR\nTI  - A title\nUR  - https://www.embase.com/search/results?subaction=viewrecord"
                    "&id=L2001234567\nER  - \n")
    (record,) = ingest_file(path).records.to_dict("records")
    assert record["source_database"] == "Embase"


def test_shared_scopus_and_wos_ris_ids_and_article_numbers(shared_dir: Path) -> None:
    """On the real exports: every Scopus RIS record's id is the EID of its own link; the 62 of
    its 67 ``C7`` records without SP/EP take the article number as pages (the 5 with SP/EP keep
    them); the Web of Science RIS record with ``C7`` only, too (its DOI ends in the number)."""
    exports = shared_dir / "fixtures" / "exports"
    result = ingest_file(exports / "scopus/20221207_gambling-harms_scopus_255.ris")
    records = result.records
    links = [json.loads(raw)["UR"] for raw in records["raw"]]
    assert list(records["source_id"]) == [link.split("eid=")[1].split("&")[0] for link in links]
    raws = [json.loads(raw) for raw in records["raw"]]
    with_c7 = [(raw, pages) for raw, pages in zip(raws, records["pages"]) if "C7" in raw]
    assert len(with_c7) == 67
    assert sum(pages == raw["C7"] for raw, pages in with_c7 if "SP" not in raw) == 62
    assert all(pages != raw["C7"] for raw, pages in with_c7 if "SP" in raw)
    by_doi = dict(zip(records["doi"], records["pages"]))
    assert (by_doi["10.1371/journal.pone.0264922"], by_doi["10.1136/bmj.o2267"]) == ("e0264922", "o2267")
    wos = ingest_file(exports / "web_of_science/web_of_science.txt").records
    assert wos.set_index("doi").loc["10.3389/fpsyg.2023.1175856", "pages"] == "1175856"


def test_embase_record_without_db_keeps_its_medline_pmid_from_the_link() -> None:
    """An Embase.com record whose DB line was dropped (a reference manager's re-export keeps
    the embase.com link and C5) still gives C5 as its PMID, as it does with ``DB  - Embase``;
    C5 of a record from elsewhere stays unread (it is a free custom field there)."""
    record = (
        "TY  - JOUR\nTI  - A trial of something\nAU  - Smith, J.\nPY  - 2020\n"
        "C5  - 32123456\nUR  - https://www.embase.com/search/results?subaction=viewrecord&id=L2005123456\nER  - \n\n"
        "TY  - JOUR\nTI  - Another trial\nAU  - Jones, K.\nPY  - 2021\nC5  - 32999999\nER  - \n"
    )
    embase, other = parse_text(record).records
    assert embase.fields["pmid"] == "32123456"
    assert other.fields["pmid"] == ""
