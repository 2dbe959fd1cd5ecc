"""The shared field normalisers: every reader relies on them, so each quirk is pinned here."""

import pyarrow as pa
import pytest

from evreview.records import (
    _OTHER_WS,
    RECORD_FIELDS,
    clean_doi,
    clean_issn,
    clean_pages,
    clean_pmid,
    clean_text,
    finalise_record,
    make_record_id,
    normalise_columns,
    normalise_doc_type,
    normalise_language,
    parse_year,
    split_list,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("http://dx.doi.org/10.1002/cpp.2398", "10.1002/cpp.2398"),
        ("https://doi.org/10.1016/J.SCITOTENV.2018.04.123", "10.1016/j.scitotenv.2018.04.123"),
        ("doi: 10.4103/abr.abr_99_17 [doi]", "10.4103/abr.abr_99_17"),
        ("10.4103/abr.abr_99_17 [doi]", "10.4103/abr.abr_99_17"),
        ("10.1000/xyz123.", "10.1000/xyz123"),
        ("10.1002%2fjcc.20289", "10.1002/jcc.20289"),
        ("S0140-6736(20)30183-5 [pii]", ""),
        ("10.4103/abr.abr_99_17[doi]", "10.4103/abr.abr_99_17"),  # note glued on
        ("10.1016/j.ajo.2019.01.001[Epub ahead of print]", "10.1016/j.ajo.2019.01.001"),
        # a SICI DOI keeps its item part: cut at "[", every article of the issue shared one DOI
        ("10.1892/0891-6640(2006)20[523:IDICKC]2.0.CO;2", "10.1892/0891-6640(2006)20[523:idickc]2.0.co;2"),
        # ... and loses a note glued on after it, as any DOI does
        ("10.1892/0891-6640(2006)20[523:IDICKC]2.0.CO;2[doi]", "10.1892/0891-6640(2006)20[523:idickc]2.0.co;2"),
        ("10.1892/0891-6640(2006)20[523:IDICKC]2.0.CO;2[Epub ahead of print]",
         "10.1892/0891-6640(2006)20[523:idickc]2.0.co;2"),
        ("", ""),
        (None, ""),
        (float("nan"), ""),
    ],
)
def test_clean_doi(raw, expected):
    assert clean_doi(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2019//", 2019),
        ("2021 Mar 5", 2021),
        (2003, 2003),
        (2003.0, 2003),
        ("n.d.", None),
        ("12345", None),
        ("", None),
        ("Start date: 20170812", 2017),  # TRID's PY (CoLRev's trid_ris.ris test export)
        ("20171345", None),
    ],
)
def test_parse_year(raw, expected):
    assert parse_year(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("123-9", "123-129"),
        ("1781\u20131802", "1781-1802"),
        ("e1234", "e1234"),
        ("53-53", "53"),
        ("12--15", "12-15"),
        ("pp 37-64", "37-64"),  # TRID's SP
        ("p. 12", "12"),
        ("pp.37-64", "37-64"),
        ("P123", "P123"),  # a poster or e-page number, not page 123
        ("P1-P10", "P1-P10"),
        ("146p", "146p"),
        ("1279\u20101297", "1279-1297"),  # the Cochrane Library's Unicode hyphen
        ("43\u201158", "43-58"),  # non-breaking hyphen
        ("12\u221215", "12-15"),  # minus sign
        # Inspec's article-number pages (article 041103, pages 1-3): never "41103-41101"
        ("41103-1", "41103-1"),
        ("41103-1 - 41103-3", "41103-1-41103-3"),
        ("41103-1-41103-3", "41103-1-41103-3"),
        ("41103-1-41103-41103-3", "41103-1-41103-3"),  # WoS's BP 41103-1, EP 41103-41103-3
        ("41103-1-41103-41103-1", "41103-1"),
        ("129-3", "129-3"),  # no abbreviation: it would end before it starts
    ],
)
def test_clean_pages(raw, expected):
    assert clean_pages(raw) == expected


def test_inspec_article_pages_keep_the_dedup_page_keys_of_the_article_number() -> None:
    """Deduplication compares the first page and the page range: Inspec's "41103-1-41103-3"
    must key as article 41103, as Scopus's and Crossref's "041103" for the same article do."""
    from evreview.dedup.keys import first_page, page_range

    for raw in ("41103-1", "41103-1 - 41103-3", "41103-1-41103-41103-3", "041103"):
        assert first_page(clean_pages(raw)) == "41103"
        assert page_range(clean_pages(raw)) == (41103, 41103)


def test_clean_text_collapses_whitespace_and_entities():
    assert clean_text("  Trust &amp; power\n   in  partnerships ") == "Trust & power in partnerships"
    assert clean_text(float("nan")) == ""
    assert clean_text(12.0) == "12"


def test_clean_pmid():
    assert clean_pmid("29657938") == "29657938"
    assert clean_pmid("PMID: 29657938") == "29657938"
    assert clean_pmid("pmid:29657938") == "29657938"
    assert clean_pmid("WOS:000123") == ""
    assert clean_pmid("PUBMED 21314913") == "21314913"  # the Cochrane Library's CSV
    assert clean_pmid("EMBASE 643589775") == ""


def test_split_list_dedupes_and_cleans():
    assert split_list("trust; power ;; trust") == ["trust", "power"]
    assert split_list(["a", " a ", "", "b"]) == ["a", "b"]


@pytest.mark.parametrize(
    ("written", "code"),
    [("中文", "chi"), ("中文;", "chi"), ("Español", "spa"), ("espanol", "spa"), ("Português", "por"),
     ("Deutsch", "ger"), ("Français", "fre"), ("日本語", "jpn"), ("Русский", "rus"), ("한국어", "kor"),
     ("Greek", "gre"), ("ell", "gre"), ("Ukrainian", "ukr"), ("pt-BR", "por"), ("Bahasa Indonesia", "ind"),
     ("Espan\u0303ol", "spa"),  # the accent as a combining character (NFD)
     ("Chinese (Simplified)", "chi"), ("English [US]", "eng"), ("Klingon (Qo'noS)", "klingon (qo'nos)"),
     ("UK", "uk"), ("CA", "ca")],  # country codes in some tools' language fields: not Ukrainian, Catalan
)
def test_a_language_written_in_its_own_name_is_its_code(written: str, code: str) -> None:
    """CNKI writes "中文", and an export may name a language in its own words ("Español"): kept
    lower-cased, such a record failed a rule allowing "spa" ("language not eligible")."""
    assert normalise_language(written) == code


def test_doc_type_and_language_vocabularies():
    assert normalise_doc_type("JOUR") == "article"
    assert normalise_doc_type("Conference Paper") == "conference"
    assert normalise_doc_type("Review") == "review"
    assert normalise_doc_type("Erratum") == "erratum"
    assert normalise_doc_type("Something odd") == "other"
    # Web of Science: a journal article also given at a meeting is an article (an [article]
    # allow-list excluded it as a conference paper); a proceedings paper alone is not
    assert normalise_doc_type("Article; Proceedings Paper") == "article"
    assert normalise_doc_type("Proceedings Paper") == "conference"
    assert normalise_doc_type("Book, Section") == normalise_doc_type("Book Section") == "chapter"  # RefWorks, EndNote
    assert normalise_doc_type("Book, Whole") == "book"
    assert normalise_doc_type("Review; Proceedings Paper") == "review"
    assert normalise_language("English") == "eng"
    assert normalise_language("en; fr") == "eng"
    assert normalise_language("Klingon") == "klingon"


def test_record_id_is_stable_and_position_specific():
    a = make_record_id("2024-03", "data/raw/2024-03/scopus.ris", 0)
    assert a == make_record_id("2024-03", "data/raw/2024-03/scopus.ris", 0)
    assert a != make_record_id("2024-03", "data/raw/2024-03/scopus.ris", 1)
    assert a != make_record_id("2025-01", "data/raw/2024-03/scopus.ris", 0)
    assert a.startswith("r") and len(a) == 16


def test_finalise_record_fills_every_field():
    rec = finalise_record({"title": "<i>Trust</i> in  partnerships", "doi": "DOI:10.1234/ABC", "year": "2020//"})
    assert rec["title"] == "Trust in partnerships"
    assert rec["doi"] == "10.1234/abc"
    assert rec["year"] == 2020
    assert rec["authors"] == [] and rec["keywords"] == []
    assert rec["abstract"] == ""


# --------------------------------------------------------------------------- columnar path


def test_url_and_source_id_are_not_html_unescaped():
    url = "https://example.org/view?id=1&region=us&para=2&sect;3"
    rec = finalise_record({"url": url, "source_id": "a&copy;b", "title": "A &amp; B"})
    assert rec["url"] == url and rec["source_id"] == "a&copy;b"
    assert rec["title"] == "A & B"
    columns = normalise_columns([{"url": url, "source_id": "a&copy;b"}])
    assert columns["url"].to_pylist() == [url] and columns["source_id"].to_pylist() == ["a&copy;b"]


def test_other_whitespace_list_is_exactly_what_str_split_splits_on():
    every = {chr(c) for c in range(0x110000) if chr(c).isspace()}
    assert set(_OTHER_WS) | {" "} == every


VARIED: list[dict] = [
    {},
    {"title": None, "abstract": float("nan"), "volume": 12.0, "issue": 3, "year": 2019.0, "pages": 5},
    {"title": "  <i>Trust</i>\u00a0in\tpartnerships\n", "abstract": "a\u2003b\u3000c\x1cd\x85e  f "},
    {"title": "&lt;b&gt;Bold&lt;/b&gt; title &amp; more", "journal": "J &#233;tudes &#x3b1;", "volume": "&nbsp;7"},
    {"title": "x < y and y > z", "abstract": "R&amp D &notanentity; &#\u0661\u0662; plain & amp"},
    {"doi": "10.1234/ABC.", "pages": "123-9", "pmid": "PMID: 123456", "year": "2021 Mar 5"},
    {"doi": "http://dx.doi.org/10.1002/CPP.2398", "pages": "1781\u20131802", "pmid": "29657938", "year": 2003},
    {"doi": "doi: 10.4103/abr.abr_99_17 [doi]", "pages": "12--15", "pmid": "WOS:1", "year": "n.d."},
    {"doi": "10.1002%2fjcc.20289", "pages": "53-53", "year": 12345, "language": "en; fr", "doc_type": "JOUR"},
    {"doi": "10.1000/a b", "pages": "e1234", "year": True, "language": "Klingon", "doc_type": "Conference Paper"},
    {"doi": "10.1000/x&amp;y", "pages": " 10 - 12 ", "language": None, "doc_type": float("nan")},
    {"doi": 0, "pmid": 0, "pages": "", "language": "", "doc_type": ""},
    {"authors": "Smith, J; Doe, A ;; Smith, J", "keywords": ["a", " a ", "", "b", None, 3.0, "&amp;x", "&x"]},
    {"authors": ["One, A", "One,\u00a0A", "Two, B"], "keywords": ("k1", "k2;k3")},
    {"authors": float("nan"), "keywords": "&amp;amp; once", "source_database": " Scopus\n"},
    {"url": "http://x.org/?a=1&amp;b=2  ", "source_id": "\tWOS:000123 ", "issn": "1234-5678", "isbn": 9781234567890},
    {"issn": "18602002"}, {"issn": "21945411; 21945403"}, {"issn": "1387585x"}, {"issn": 18602002}, {"issn": None},
    {"issn": " 1860-2002 (Print) "}, {"issn": "9781234567897"}, {"issn": "0000-000"},
    {"title": "NA", "abstract": " NA ", "journal": "N/A", "volume": "NULL", "issue": "NA", "pages": "n/a"},
    {"title": "NASA", "issue": "Na", "journal": "NA Journal", "authors": ["NA"], "keywords": ["NA"]},
    {"title": "nan", "volume": "NaN", "issue": "nan", "journal": "Nano Letters", "pages": "nan"},
]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1860-2002", "1860-2002"),
        ("18602002", "1860-2002"),  # Scopus, Embase and Lens tables write it without the hyphen
        ("1387585x", "1387-585X"),  # Lens: a lower-case check character
        ("1553734X", "1553-734X"),
        ("21945411; 21945403", "2194-5411; 2194-5403"),  # Lens: print and electronic
        ("1860-2002; 18602002", "1860-2002"),  # one journal's ISSN, once
        ("0025-732X; 0025-732x", "0025-732X"),  # EndNote XML: the same ISSN in two cases
        ("1860-2002;1234-5678;", "1860-2002; 1234-5678"),
        (18602002, "1860-2002"),  # a spreadsheet cell read as a number
        ("  1860-2002 (Print) ", "1860-2002 (Print)"),
        ("9781234567897", "9781234567897"),  # an ISBN is no ISSN: left as it is
        ("1234567", "1234567"),  # too short
        ("ISSN-18602002x", "ISSN-18602002x"),  # part of a longer code
        ("", ""),
        (None, ""),
    ],
)
def test_clean_issn(raw, expected):
    """One record's ISSN read the same from every export: RIS gives 1860-2002, the Lens CSV
    18602002 for the same journal; every reader's ISSN is normalised once, in records.py."""
    assert clean_issn(raw) == expected
    assert finalise_record({"issn": raw})["issn"] == expected
    assert normalise_columns([{"issn": raw}])["issn"].to_pylist() == [expected]


def test_a_missing_value_marker_is_no_value():
    """R-based tools (revtools, synthesisr, CiteSource) write a missing field as "NA": an issue
    "NA" showed in merged studies and a title "NA" read as a title. Whole values only; lists
    keep theirs (an author may be called Na)."""
    record = finalise_record({"title": "NA", "abstract": "N/A", "journal": "NULL", "volume": "NA", "issue": " NA ",
                              "pages": "n/a", "authors": ["Na, J."]})
    assert [record[f] for f in ("title", "abstract", "journal", "volume", "issue", "pages")] == [""] * 6
    assert record["authors"] == ["Na, J."]
    # a Python script's astype(str) writes a missing value as "nan"
    assert finalise_record({"volume": "nan", "issue": "NaN", "journal": "Nano"})["volume"] == ""
    assert finalise_record({"issue": "NaN"})["issue"] == ""
    kept = finalise_record({"title": "NASA missions", "journal": "NA Journal", "issue": "Na"})
    assert (kept["title"], kept["journal"], kept["issue"]) == ("NASA missions", "NA Journal", "Na")


def test_columnar_normalisation_equals_finalise_record():
    """Both paths must give identical records: the driver uses one, other code the other."""
    batch = VARIED * 3
    columns = normalise_columns(batch)
    assert list(columns) == list(RECORD_FIELDS)
    for name in RECORD_FIELDS:
        expected = [finalise_record(dict(record))[name] for record in batch]
        assert columns[name].to_pylist() == expected, name


def test_columnar_normalisation_of_an_empty_batch():
    columns = normalise_columns([])
    assert all(len(array) == 0 for array in columns.values())
    assert columns["authors"].type == pa.list_(pa.string())


def test_list_row_dedupe_small_python_path_matches_arrow_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small tables skip Arrow's hash grouping (its import costs tens of ms); both paths flag the same rows."""
    import random

    import pyarrow as pa

    import evreview.records as records

    rng = random.Random(1)
    for _ in range(300):
        rows = [[rng.choice(["a", "b", "", None, "c"]) for _ in range(rng.randint(0, 4))]
                for _ in range(rng.randint(1, 30))]
        offsets, flat = [0], []
        for row in rows:
            flat += row
            offsets.append(len(flat))
        items = pa.array(flat, type=pa.string())
        lists = pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), items)
        small = records._rows_to_dedupe(lists, items)
        monkeypatch.setattr(records, "_SMALL_LISTS", -1)
        big = records._rows_to_dedupe(lists, items)
        monkeypatch.setattr(records, "_SMALL_LISTS", 20_000)
        assert small == big, rows
