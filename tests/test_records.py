"""The shared field normalisers: every reader relies on them, so each quirk is pinned here."""

import pytest

from evreview.records import (
    clean_doi,
    clean_pages,
    clean_pmid,
    clean_text,
    finalise_record,
    make_record_id,
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
        ("", ""),
        (None, ""),
        (float("nan"), ""),
    ],
)
def test_clean_doi(raw, expected):
    assert clean_doi(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2019//", 2019), ("2021 Mar 5", 2021), (2003, 2003), (2003.0, 2003), ("n.d.", None), ("12345", None), ("", None)],
)
def test_parse_year(raw, expected):
    assert parse_year(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("123-9", "123-129"), ("1781\u20131802", "1781-1802"), ("e1234", "e1234"), ("53-53", "53"), ("12--15", "12-15")],
)
def test_clean_pages(raw, expected):
    assert clean_pages(raw) == expected


def test_clean_text_collapses_whitespace_and_entities():
    assert clean_text("  Trust &amp; power\n   in  partnerships ") == "Trust & power in partnerships"
    assert clean_text(float("nan")) == ""
    assert clean_text(12.0) == "12"


def test_clean_pmid():
    assert clean_pmid("29657938") == "29657938"
    assert clean_pmid("PMID: 29657938") == "29657938"
    assert clean_pmid("pmid:29657938") == "29657938"
    assert clean_pmid("WOS:000123") == ""


def test_split_list_dedupes_and_cleans():
    assert split_list("trust; power ;; trust") == ["trust", "power"]
    assert split_list(["a", " a ", "", "b"]) == ["a", "b"]


def test_doc_type_and_language_vocabularies():
    assert normalise_doc_type("JOUR") == "article"
    assert normalise_doc_type("Conference Paper") == "conference"
    assert normalise_doc_type("Review") == "review"
    assert normalise_doc_type("Erratum") == "erratum"
    assert normalise_doc_type("Something odd") == "other"
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
