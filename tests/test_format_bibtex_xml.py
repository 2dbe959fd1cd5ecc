"""BibTeX, EndNote XML and PubMed XML readers: own fixtures (tests/fixtures/structured) and the shared exports."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from evreview.errors import IngestError
from evreview.ingest import ingest_file
from evreview.ingest.formats import bibtex, endnote_xml
from evreview.ingest.registry import Source, detect, readers

STRUCTURED = Path(__file__).resolve().parent / "fixtures" / "structured"


def _source(text: str) -> Source:
    return Source(path=Path("x"), data=text.encode("utf-8"), text=text)


def _by_id(records, column: str = "source_id") -> dict:
    return {row[column]: row for row in records.to_dict("records")}


# --------------------------------------------------------------------------- BibTeX, own fixture


@pytest.fixture(scope="module")
def edge_bib():
    return ingest_file(STRUCTURED / "edge_cases.bib")


def test_bibtex_counts_found_parsed_failed(edge_bib):
    report = edge_bib.report.iloc[0]
    assert report["source_format"] == "bibtex"
    assert (report["found"], report["parsed"], report["failed"], report["warnings"]) == (7, 5, 2, 1)
    # the Scopus preamble lines and the @string/@comment blocks are not records
    assert edge_bib.records["source_line"].tolist() == [6, 29, 35, 44, 62]


def test_bibtex_failed_entries_are_errors_with_their_lines(edge_bib):
    errors = edge_bib.problems[edge_bib.problems["severity"] == "error"]
    assert errors["source_line"].tolist() == [25, 42]
    assert "@article{broken" in errors["reason"].iloc[0]
    assert "Expected comma after entry key" in errors["reason"].iloc[1]


def test_bibtex_duplicate_key_keeps_both_with_a_warning(edge_bib):
    keys = edge_bib.records["raw"].map(lambda raw: json.loads(raw)["ID"])
    same_key = edge_bib.records[keys == "Larsen1999"]
    assert same_key["title"].tolist() == [
        "Microangiography in Cocker Spaniel and non-Cocker Spaniel dogs: < 5% of 50% cases",
        "A different paper with the Same key",
    ]
    # the duplicate gets the same processing as the others (@string macro resolved)
    assert same_key["journal"].tolist() == ["Journal of Veterinary Genetics"] * 2
    warning = edge_bib.problems[edge_bib.problems["severity"] == "warning"].iloc[0]
    assert warning["source_line"] == 35
    assert warning["source_index"] == 2
    assert "duplicate citation key 'Larsen1999' (first used at line 6)" in warning["reason"]


def test_bibtex_scopus_fields_braces_and_accents(edge_bib):
    rec = edge_bib.records.iloc[0]
    assert rec["authors"] == ["Müller, Jörg", "Agóston, Ádám", "World Health Organization"]
    assert rec["pages"] == "134-137"
    assert rec["doi"] == "10.1234/abc.5678"
    # a bare % in a URL is not a LaTeX comment: the URL survives whole
    assert rec["url"].endswith("doi=10.1234%2fabc.5678&partnerID=40")
    assert rec["keywords"] == ["blood supply", "Cocker Spaniels", "humeral condyle", "dogs"]
    assert rec["source_database"] == "Scopus"
    assert rec["source_id"] == "2-s2.0-850"  # the EID in Scopus' record URL, as in Scopus CSV
    assert rec["doc_type"] == "review"  # Scopus' type field is finer than @ARTICLE
    assert (rec["year"], rec["volume"], rec["issue"], rec["language"]) == (1999, "12", "3", "eng")
    raw = json.loads(rec["raw"])
    assert raw["ENTRYTYPE"] == "article"  # bibtexparser lower-cases entry types
    assert raw["title"].startswith("Microangiography in {Cocker} {Spaniel}")
    assert raw["note"] == "Cited by: 12"


def test_bibtex_web_of_science_entry(edge_bib):
    rec = _by_id(edge_bib.records)["WOS:000123456700001"]
    assert rec["title"] == "Fish oil and ADHD: a trial"
    assert rec["source_database"] == "Web of Science Core Collection"
    assert rec["keywords"] == ["omega-3", "ADHD", "FATTY-ACIDS"]
    assert rec["authors"] == ["Alceste, F", "Smith, Robert J."]
    assert (rec["journal"], rec["issn"], rec["doi"]) == (
        "JOURNAL OF PEDIATRICS",
        "0022-3476",
        "10.1016/j.jpeds.2018.01.001",
    )
    assert json.loads(rec["raw"])["Keywords-Plus"] == "FATTY-ACIDS"


def test_bibtex_biblatex_inproceedings(edge_bib):
    rec = _by_id(edge_bib.records)["conf2021"]
    assert rec["authors"] == ["Lovelace, Ada", "de la Vallée Poussin, Charles"]
    assert rec["title"] == "Engines in β-testing"
    assert rec["journal"] == "Proceedings of the IEEE Conference"
    assert (rec["year"], rec["pmid"], rec["isbn"], rec["doc_type"]) == (
        2021,
        "33445566",
        "978-3-16-148410-0",
        "conference",
    )
    assert rec["keywords"] == ["engines", "testing"]


def test_bibtex_with_bom_and_crlf(tmp_path):
    text = (STRUCTURED / "edge_cases.bib").read_text(encoding="utf-8").replace("\n", "\r\n")
    path = tmp_path / "scopus.bib"
    path.write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))
    result = ingest_file(path)
    assert result.report.iloc[0][["found", "parsed", "failed"]].tolist() == [7, 5, 2]
    assert result.records["source_line"].tolist() == [6, 29, 35, 44, 62]


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        (r"M{\"u}ller", "Müller"),
        (r"\'{e}t\'e", "été"),
        (r"{\textless} 1 year", "< 1 year"),
        (r"31.8\%, 50% of {Cocker}", "31.8%, 50% of Cocker"),
        (r"$\alpha$-tocopherol", "α-tocopherol"),
        (r"Na\"{\i}ve \& {\O}stergaard", "Naïve & Østergaard"),
        (r"A \textit{in vitro} study~x", "A in vitro study x"),
        (r"{\v{S}}koda", "Škoda"),
        (r"\emph{Escherichia {coli}}", "Escherichia coli"),
        ("plain text, no markup", "plain text, no markup"),
        (r"costs \'{e} $5 to $10", "costs é $5 to $10"),
    ],
)
def test_decode_latex(latex, text):
    assert bibtex.decode_latex(latex) == text


def test_parse_authors_keeps_last_first_and_corporate_names():
    assert bibtex.parse_authors("Haseli, Gholamreza and {Simon and Schuster} and Donald E. Knuth") == [
        "Haseli, Gholamreza",
        "Simon and Schuster",
        "Knuth, Donald E.",
    ]
    assert bibtex.parse_authors("Smith, J and others") == ["Smith, J"]
    assert bibtex.parse_authors("") == []


def test_split_keywords_by_semicolon_or_comma():
    assert bibtex.split_keywords("a, b; c") == ["a, b", "c"]
    assert bibtex.split_keywords("a, {B} c") == ["a", "B c"]


def test_entry_fields_small_conventions():
    fields = bibtex.entry_fields(
        "inproceedings",
        "key1",
        {
            "doi": r"10.1000/a\_b",
            "isbn": "0449-3087",  # Zotero puts a series ISSN here
            "note": "PMID: 12345678",
            "booktitle": "Proc. {IEEE}",
            "date": "2021-03-05",
        },
    )
    assert (fields["doi"], fields["issn"], fields["isbn"], fields["pmid"]) == (
        "10.1000/a_b",
        "0449-3087",
        "",
        "12345678",
    )
    assert (fields["journal"], fields["year"], fields["doc_type"], fields["source_id"]) == (
        "Proc. IEEE",
        "2021-03-05",
        "inproceedings",
        "key1",
    )
    wos_medline = bibtex.entry_fields("article", "k", {"unique-id": "MEDLINE:123"})
    assert (wos_medline["source_id"], wos_medline["source_database"]) == ("MEDLINE:123", "MEDLINE (Web of Science)")


def test_uncovered_entry_starts_catch_swallowed_entries():
    text = "@article{a,\n title={x}\n}\n@article{b,\n title={y}}\n@comment{c}\n"
    assert bibtex._uncovered_entry_starts(text, [(0, 2), (3, 4)]) == []
    # if the parser had reported only the first block, the second start must surface
    assert bibtex._uncovered_entry_starts(text, [(0, 2)]) == [4]


def test_bibtex_entry_the_parser_skips_is_reported(tmp_path):
    path = tmp_path / "skipped.bib"
    # bibtexparser ignores this first entry without a failed block; it must not vanish
    path.write_text("@ article {a, title={A}}\n@article{b, title={B}}\n", encoding="utf-8")
    result = ingest_file(path)
    assert result.report.iloc[0][["found", "parsed", "failed"]].tolist() == [2, 1, 1]
    error = result.problems.iloc[0]
    assert (error["severity"], error["source_line"]) == ("error", 1)
    assert "not recognised" in error["reason"]


def test_bibtex_fields_cut_off_by_an_extra_brace_are_reported(tmp_path):
    """An extra ``}`` in a title closed the entry early: its author and year were read as a
    comment between entries and lost without a word."""
    path = tmp_path / "brace.bib"
    path.write_text(
        "Scopus\nEXPORT DATE: 08 July 2023\n\n"
        "@article{a, title = {A {Study} of} things},\n  author = {Smith, John},\n  year = {2020}\n}\n\n"
        "@article{b, title = {B}, year = {2021}}\n",
        encoding="utf-8",
    )
    result = ingest_file(path)
    assert result.report.iloc[0][["found", "parsed", "failed", "warnings"]].tolist() == [2, 2, 0, 1]
    warning = result.problems.iloc[0]
    assert (warning["severity"], warning["source_index"], warning["source_line"]) == ("warning", 0, 5)
    assert "'author = {Smith, John},'" in warning["reason"] and "extra '}'" in warning["reason"]


def test_bibtex_malformed_comment_is_not_a_record(tmp_path):
    path = tmp_path / "c.bib"
    path.write_text("@comment{ unclosed\n@article{y, title={Y}}\n", encoding="utf-8")
    result = ingest_file(path)
    assert result.report.iloc[0][["found", "parsed", "failed"]].tolist() == [1, 1, 0]
    assert result.problems["severity"].tolist() == ["warning"]


def test_bibtex_repeated_field_keeps_all_values_in_raw(tmp_path):
    path = tmp_path / "d.bib"
    path.write_text("@article{d, title = {T1}, title = {T2}, year = 2020}\n", encoding="utf-8")
    result = ingest_file(path)
    rec = result.records.iloc[0]
    assert (rec["title"], rec["year"]) == ("T1", 2020)
    assert json.loads(rec["raw"])["title"] == ["T1", "T2"]
    assert "Duplicate field keys" in result.problems["reason"].iloc[0]
    assert result.problems["severity"].tolist() == ["warning"]


def test_bibtex_sniff():
    reader = readers()["bibtex"]
    assert reader.sniff(_source("Scopus\nEXPORT DATE: x\n\n@ARTICLE{k,\n\tauthor = {A},\n}\n")) >= 0.9
    assert reader.sniff(_source("TY  - JOUR\nTI  - @home{x}\nER  - \n")) == 0
    assert reader.sniff(_source("@comment{only a comment}\n")) == 0
    assert reader.sniff(_source((STRUCTURED / "styled.xml").read_text(encoding="utf-8"))) == 0


# --------------------------------------------------------------------------- EndNote XML, own fixtures


@pytest.fixture(scope="module")
def styled():
    return ingest_file(STRUCTURED / "styled.xml")


def test_endnote_xml_style_wrappers_and_fields(styled):
    assert styled.report.iloc[0][["source_format", "found", "parsed", "failed"]].tolist() == [
        "endnote_xml",
        3,
        3,
        0,
    ]
    assert styled.records["source_line"].tolist() == [3, 20, 28]
    rec = styled.records.iloc[0]
    # one title split over four <style> runs, one of them mid-word
    assert rec["title"] == "Blue light and Propionibacterium acnes: a trial"
    assert rec["authors"] == ["Müller, A.", "Smith, B. C."]
    assert rec["journal"] == "J Dermatol Sci"
    assert (rec["year"], rec["volume"], rec["issue"], rec["pages"]) == (2019, "12", "3", "101-109")
    assert rec["issn"] == "0923-1811"  # "(Print)\r... (Linking)" collapsed
    assert rec["doi"] == "10.1016/j.jdermsci.2019.01.001"
    assert (rec["source_id"], rec["pmid"], rec["source_database"]) == ("30123456", "30123456", "PubMed")
    assert rec["abstract"] == "Background: blue light <415 nm> kills bacteria."
    assert rec["keywords"] == ["acne", "blue light & phototherapy"]
    assert rec["url"] == "https://example.org/a?x=1&y=2"
    assert (rec["language"], rec["doc_type"]) == ("eng", "article")


def test_endnote_xml_raw_keeps_caption_custom_fields_and_lists(styled):
    raw = json.loads(styled.records["raw"].iloc[0])
    assert raw["caption"] == "Duplicate"
    assert raw["custom2"] == "PMC123"
    assert raw["ref-type@name"] == "Journal Article"
    assert raw["urls/related-urls/url"] == ["https://example.org/a?x=1&y=2", "https://example.org/b"]
    assert raw["contributors/authors/author"] == ["Müller, A.", "Smith, B. C."]
    assert raw["isbn"] == "0923-1811 (Print)\r0923-1811 (Linking)"


def test_endnote_xml_non_pubmed_accession_and_fallbacks(styled):
    chapter, generic = styled.records.iloc[1], styled.records.iloc[2]
    assert (chapter["source_id"], chapter["pmid"]) == ("L12345", "")
    assert chapter["source_database"] == "Embase; Medline"
    assert (chapter["doc_type"], chapter["isbn"], chapter["issn"]) == ("chapter", "978-0-19-852663-6", "")
    assert chapter["title"] == "A chapter without style wrappers"
    # digits, but Embase is not PubMed: an accession number, not a PMID
    assert (generic["source_id"], generic["pmid"]) == ("99887766", "")
    assert generic["journal"] == "BJOG Int. J. Obstet. Gynaecol."
    assert generic["doc_type"] == "other"


def test_endnote_xml_deeply_nested_markup_reads_in_linear_time(tmp_path, styled):
    """Found by fuzzing: a title holding 100,000 nested ``<i>`` took 22 s to read (each
    element's end joined the whole path into its key: quadratic). Deeper than
    ``MAX_DEPTH``, elements are text of the one above; 20,000 of them took 1 s before, now a
    few ms, and every record reads as without them."""
    import time

    depth = 20_000
    text = (STRUCTURED / "styled.xml").read_text(encoding="utf-8")
    assert "<title>" in text
    path = tmp_path / "nested.xml"
    path.write_text(text.replace("<title>", "<title>" + "<i>" * depth + "Deep" + "</i>" * depth, 1), encoding="utf-8")
    started = time.process_time()
    nested = ingest_file(path)
    assert time.process_time() - started < 0.5
    assert nested.records["title"].tolist() == styled.records["title"].tolist()


def test_endnote_xml_on_one_line_reports_line_1(tmp_path, styled):
    path = tmp_path / "one_line.xml"
    path.write_text((STRUCTURED / "styled.xml").read_text(encoding="utf-8").replace("\n", ""), encoding="utf-8")
    result = ingest_file(path)
    assert result.records["source_line"].tolist() == [1, 1, 1]
    assert result.records["source_index"].tolist() == [0, 1, 2]
    columns = ["title", "authors", "doi", "pmid", "keywords", "raw"]
    assert result.records[columns].equals(styled.records[columns])


def test_endnote_xml_utf16_file(tmp_path, styled):
    text = (STRUCTURED / "styled.xml").read_text(encoding="utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
    path = tmp_path / "u16.xml"
    path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    assert ingest_file(path).records["title"].tolist() == styled.records["title"].tolist()


@pytest.mark.parametrize("name", ["bomb.xml", "external_entity.xml"])
def test_endnote_xml_refuses_entities(name):
    with pytest.raises(IngestError, match="refusing to read this XML") as info:
        ingest_file(STRUCTURED / name)
    assert info.value.path.endswith(name)
    assert info.value.line == 2


@pytest.mark.parametrize(
    "prolog",
    [
        '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>',
        '<!DOCTYPE xml SYSTEM "http://example.invalid/evil.dtd">',
    ],
)
def test_endnote_xml_refuses_dtds_even_when_forced(tmp_path, prolog):
    path = tmp_path / "inline.xml"
    path.write_text(
        f'<?xml version="1.0"?>{prolog}'
        "<xml><records><record><titles><title>x</title></titles></record></records></xml>",
        encoding="utf-8",
    )
    with pytest.raises(IngestError, match=r"refusing.*DTDForbidden"):
        ingest_file(path, fmt="endnote_xml")


def test_endnote_xml_truncated_keeps_complete_records(tmp_path):
    result = ingest_file(STRUCTURED / "truncated.xml")
    assert result.report.iloc[0][["found", "parsed", "failed", "warnings"]].tolist() == [3, 2, 1, 0]
    error = result.problems.iloc[0]
    assert (error["severity"], error["source_index"], error["source_line"]) == ("error", 2, 28)
    assert "no element found at line 29" in error["reason"]


def test_endnote_xml_broken_record_in_the_middle(tmp_path):
    result = ingest_file(STRUCTURED / "broken_middle.xml")
    assert result.report.iloc[0][["found", "parsed", "failed", "warnings"]].tolist() == [3, 2, 1, 1]
    assert result.records["source_line"].tolist() == [3, 28]
    error = result.problems[result.problems["severity"] == "error"].iloc[0]
    assert error["source_line"] == 20
    assert "not well-formed (invalid token) at line 22, column 27" in error["reason"]
    warning = result.problems[result.problems["severity"] == "warning"].iloc[0]
    assert (warning["source_index"], warning["source_line"]) == (1, 28)


def test_endnote_xml_broken_record_on_one_line_gives_file_column(tmp_path):
    text = (STRUCTURED / "broken_middle.xml").read_text(encoding="utf-8").replace("\n", "")
    path = tmp_path / "broken_one_line.xml"
    path.write_text(text, encoding="utf-8")
    result = ingest_file(path)
    error = result.problems[result.problems["severity"] == "error"].iloc[0]
    column = text.index("A chapter & broken") + len("A chapter &") + 1  # 1-based, after the "&"
    assert f"at line 1, column {column}" in error["reason"]


def test_endnote_xml_unreadable_is_an_error_with_line_and_column(tmp_path):
    path = tmp_path / "cut.xml"
    path.write_text('<?xml version="1.0"?>\n<xml><records>\n<record><titles><title>Cut he', encoding="utf-8")
    with pytest.raises(IngestError, match=r"no record could be read") as info:
        ingest_file(path, fmt="endnote_xml")
    assert info.value.line == 3
    assert "column" in info.value.message


def test_endnote_xml_damage_after_last_record_is_a_warning(tmp_path):
    text = (STRUCTURED / "styled.xml").read_text(encoding="utf-8").replace("</records></xml>", "</records")
    path = tmp_path / "tail.xml"
    path.write_text(text, encoding="utf-8")
    result = ingest_file(path)
    assert result.report.iloc[0][["found", "parsed", "failed", "warnings"]].tolist() == [3, 3, 0, 1]
    assert "after the last record" in result.problems["reason"].iloc[0]


def test_endnote_xml_sniff():
    reader = readers()["endnote_xml"]
    text = (STRUCTURED / "styled.xml").read_text(encoding="utf-8")
    assert reader.sniff(_source(text)) >= 0.9
    assert detect(_source(text)).name == "endnote_xml"
    assert reader.sniff(_source((STRUCTURED / "edge_cases.bib").read_text(encoding="utf-8"))) == 0
    assert reader.sniff(_source('<?xml version="1.0"?><PubmedArticleSet></PubmedArticleSet>')) == 0


# --------------------------------------------------------------------------- PubMed XML


@pytest.fixture(scope="module")
def pubmed_xml():
    return ingest_file(STRUCTURED / "pubmed.xml", root=STRUCTURED)


def test_pubmed_xml_is_read_not_unrecognised(pubmed_xml):
    """PubMed XML (efetch / PubMed's XML download; e.g. asreview's tests/demo_data/pubmed.xml)
    was "unrecognised format": no reader claimed <PubmedArticleSet>."""
    report = pubmed_xml.report.iloc[0]
    assert (report["source_format"], report["source_database"]) == ("pubmed_xml", "PubMed")
    assert (report["found"], report["parsed"], report["failed"]) == (3, 3, 0)
    assert pubmed_xml.records["source_line"].tolist() == [4, 69, 95]


def test_pubmed_xml_fields(pubmed_xml):
    first, old, book = pubmed_xml.records.to_dict("records")
    assert first["title"] == "Screening with machine learning: CO2 of reviews."  # inline markup is text
    assert first["abstract"] == "BACKGROUND: Reviews take long. RESULTS: It took less time."
    assert first["authors"] == ["M\u00fcller, Anna K", "Okafor, C", "Evidence Synthesis Group"]
    assert (first["year"], first["journal"], first["volume"], first["issue"], first["pages"]) == (
        2019,
        "Journal of evidence synthesis",
        "12",
        "3",
        "101-109",
    )
    assert (first["doi"], first["pmid"], first["source_id"], first["issn"]) == (
        "10.1000/jes.2019.001",
        "30000001",
        "30000001",
        "1234-5678",
    )
    assert (first["doc_type"], first["language"], first["keywords"]) == ("review", "eng", ["Machine Learning"])
    assert (old["year"], old["doi"], old["authors"], old["abstract"]) == (
        1998,
        "10.1000/aot.1998.77",
        [],
        "One paragraph only.",
    )
    assert (book["title"], book["journal"], book["year"], book["authors"]) == (
        "Chapter on deduplication",
        "Handbook of reviews",
        2021,
        ["Lee, Min"],
    )


def test_pubmed_xml_cut_short_keeps_whole_records_and_reports_the_rest(tmp_path):
    text = (STRUCTURED / "pubmed.xml").read_text(encoding="utf-8")
    path = tmp_path / "cut.xml"
    path.write_text(text[: text.index("<ArticleTitle>An unstructured")], encoding="utf-8")
    result = ingest_file(path, root=tmp_path)
    assert result.report.iloc[0][["found", "parsed", "failed"]].tolist() == [2, 1, 1]
    error = result.problems.iloc[0]
    assert (error["severity"], error["source_index"], error["source_line"]) == ("error", 1, 69)
    assert "malformed XML (no element found at line" in error["reason"]


def test_pubmed_xml_refuses_a_doctype_with_entities(tmp_path):
    path = tmp_path / "bomb.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>\n'
        "<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID></MedlineCitation>"
        "</PubmedArticle></PubmedArticleSet>\n",
        encoding="utf-8",
    )
    with pytest.raises(IngestError, match="refusing to read this XML") as info:
        ingest_file(path, root=tmp_path)
    assert info.value.line == 2


def test_pubmed_xml_sniff():
    reader = readers()["pubmed_xml"]
    text = (STRUCTURED / "pubmed.xml").read_text(encoding="utf-8")
    assert detect(_source(text)).name == "pubmed_xml"
    assert reader.sniff(_source((STRUCTURED / "styled.xml").read_text(encoding="utf-8"))) == 0
    assert readers()["endnote_xml"].sniff(_source(text)) == 0


def test_issn_isbn_routing():
    assert endnote_xml._issn_isbn("2277-9175 (Print)\r2277-9175") == ("2277-9175", "")
    assert endnote_xml._issn_isbn("1234-567X\r0000-0001") == ("1234-567X; 0000-0001", "")
    assert endnote_xml._issn_isbn("978-0-19-852663-6") == ("", "978-0-19-852663-6")


# --------------------------------------------------------------------------- shared exports


@pytest.fixture(scope="module")
def zotero(shared_dir):
    return ingest_file(shared_dir / "fixtures/exports/zotero/zotero_export.bib")


@pytest.fixture(scope="module")
def scopus_bib(shared_dir):
    return ingest_file(shared_dir / "fixtures/exports/scopus/scopus_m.bib")


@pytest.mark.shared
@pytest.mark.parametrize(("name", "count", "database"), [("scopus_bib", 24, "Scopus"), ("zotero", 1000, "")])
def test_shared_bibtex_exports(request, name, count, database):
    result = request.getfixturevalue(name)
    report = result.report.iloc[0]
    assert report["source_format"] == "bibtex"
    assert (report["found"], report["parsed"], report["failed"], report["warnings"]) == (count, count, 0, 0)
    records = result.records
    assert records["title"].ne("").all()
    assert not records["title"].str.contains(r"[{}\\]").any()  # braces and LaTeX decoded
    assert not records["authors"].map(lambda names: any("{" in n or "\\" in n for n in names)).any()
    assert records["authors"].map(len).gt(0).all()
    assert set(records["source_database"]) == {database}


@pytest.mark.shared
def test_shared_scopus_bibtex_fields(scopus_bib):
    records = scopus_bib.records
    assert records["source_id"].str.match(r"^2-s2\.0-\d+$").all()
    assert records["source_line"].iloc[0] == 4  # after the "Scopus" / "EXPORT DATE" preamble
    assert records["doc_type"].value_counts().to_dict() == {"article": 18, "conference": 5, "review": 1}
    first = records.iloc[0]
    assert first["authors"] == ["Haseli, Gholamreza", "Sheikh, Reza", "Sana, Shib Sankar"]
    assert (first["pages"], first["doi"]) == ("79-88", "10.1080/17509653.2019.1633964")


@pytest.mark.shared
def test_shared_zotero_brace_protected_titles(zotero):
    records = zotero.records
    first = records.iloc[0]
    assert first["title"] == "Microangiography of the humeral condyle in Cocker Spaniel and non-Cocker Spaniel dogs"
    assert first["authors"][:2] == ["Larsen, LJ", "Roush, JK"]
    assert (first["pages"], first["source_line"]) == ("134-137", 2)
    assert records["doc_type"].value_counts().to_dict() == {"article": 997, "conference": 3}


@pytest.mark.shared
def test_shared_endnote_xml(shared_dir):
    result = ingest_file(shared_dir / "fixtures/exports/endnote/blue-light.xml")
    report = result.report.iloc[0]
    assert (report["source_format"], report["found"], report["parsed"], report["failed"]) == (
        "endnote_xml",
        102,
        102,
        0,
    )
    assert result.records["title"].ne("").all()
    assert result.records["source_line"].eq(1).all()  # the whole file is one line
    assert result.records["pmid"].ne("").all()
    assert set(result.records["source_database"]) == {"PubMed"}


@pytest.mark.shared
@pytest.mark.parametrize(
    ("relpath", "count", "duplicates"),
    [
        ("benchmarks/dedup/sra_respiratory/Respiratory.xml", 1988, 799),
        ("benchmarks/dedup/iebh_copper/copper.xml", 505, 281),
        ("benchmarks/dedup/iebh_tafenoquine/tafenoquine.xml", 179, 114),
    ],
)
def test_shared_benchmark_endnote_xml(shared_dir, relpath, count, duplicates):
    result = ingest_file(shared_dir / relpath)
    assert result.report.iloc[0][["found", "parsed", "failed"]].tolist() == [count, count, 0]
    captions = result.records["raw"].map(lambda raw: json.loads(raw).get("caption"))
    assert (captions == "Duplicate").sum() == duplicates
    assert result.records["title"].ne("").all()


@pytest.mark.shared
def test_shared_pubmed_pmids_reappear_in_endnote_xml(shared_dir):
    if "medline" not in readers():
        pytest.skip("the MEDLINE reader is not available")
    pubmed = ingest_file(shared_dir / "fixtures/exports/pubmed/blue-light.nbib").records
    endnote = ingest_file(shared_dir / "fixtures/exports/endnote/blue-light.xml").records
    assert len(pubmed) == 80
    doi_by_id: dict[str, str] = {}
    for row in endnote.to_dict("records"):
        for key in {row["pmid"], row["source_id"]} - {""}:
            doi_by_id[key] = row["doi"]
    missing = sorted(set(pubmed["pmid"]) - set(doi_by_id))
    assert missing == []
    mismatched = [
        (row["pmid"], row["doi"], doi_by_id[row["pmid"]])
        for row in pubmed.to_dict("records")
        if row["doi"] and doi_by_id[row["pmid"]] and row["doi"] != doi_by_id[row["pmid"]]
    ]
    assert mismatched == []


def test_pubmed_xml_most_specific_type_and_no_editors_as_authors(tmp_path):
    """PubMed lists "Journal Article" first and "Review" after it (as MEDLINE's PT lines): the
    record's type is the most specific one, as the MEDLINE reader picks it, not the first. A
    book's editors (``<AuthorList Type="editors">``: the Type is the list's, not the Author's)
    are not the chapter's authors."""
    path = tmp_path / "pm.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<PubmedArticleSet>\n<PubmedArticle><MedlineCitation><PMID>31111111</PMID>'
        "<Article><Journal><Title>J X</Title><JournalIssue><PubDate><Year>2020</Year></PubDate></JournalIssue>"
        "</Journal><ArticleTitle>A review of things.</ArticleTitle><PublicationTypeList>"
        "<PublicationType>Journal Article</PublicationType>"
        "<PublicationType>Research Support, Non-U.S. Gov't</PublicationType>"
        "<PublicationType>Review</PublicationType></PublicationTypeList></Article></MedlineCitation>"
        "</PubmedArticle>\n<PubmedBookArticle><BookDocument><PMID>20301300</PMID><Book>"
        "<BookTitle>GeneReviews</BookTitle><PubDate><Year>1993</Year></PubDate>"
        '<AuthorList Type="editors"><Author><LastName>Adam</LastName><ForeName>Margaret P</ForeName></Author>'
        "</AuthorList></Book><ArticleTitle>Some syndrome</ArticleTitle>"
        '<AuthorList Type="authors"><Author><LastName>Lee</LastName><ForeName>Min</ForeName></Author>'
        "</AuthorList></BookDocument></PubmedBookArticle>\n</PubmedArticleSet>\n",
        encoding="utf-8",
    )
    review, chapter = ingest_file(path, root=tmp_path).records.to_dict("records")
    assert review["doc_type"] == "review"
    assert chapter["authors"] == ["Lee, Min"]
