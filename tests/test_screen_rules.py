"""Eligibility rules and the boolean term-query parser."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evreview.errors import ConfigError
from evreview.records import fold
from evreview.screen.rules import apply_rules, failed_rules, parse_query, parse_rules, terms_of


def match(query: str, text: str) -> bool:
    return parse_query(query).matches(fold(text))


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("nudge AND health", "A nudge for health", True),
        ("nudge AND health", "A nudge for wealth", False),
        ("nudge health", "health nudge", True),  # juxtaposition is AND
        ("nudge OR default", "the default option", True),
        ("nudge OR default", "an option", False),
        ("NOT mice", "humans only", True),
        ("NOT mice", "in Mice", False),
        ("nudge -mice", "nudge in mice", False),
        ("nudg*", "Nudging people", True),
        ("nudg*", "a nudg", True),
        ("behavio*r", "behaviour change", True),
        ("behavio*r", "behavior change", True),
        ("rat", "pirate ships", False),  # whole words only
        ('"public administration"', "Public-administration reform", True),  # punctuation folds
        ('"public administration"', "administration of public goods", False),
        ("(nudge OR default) AND NOT (mice OR rat)", "Default options in rats", True),
        ("(nudge OR default) AND NOT (mice OR rat)", "Default options in rat", False),
        ("a OR (b AND c)", "a", True),
        ("a OR (b AND c)", "b", False),
        ("(a OR b) AND c", "b c", True),
        ("(a b) OR c", "c", True),
        ("café", "Cafe culture", True),  # accents fold
        ("(x & y) | z", "z", True),
    ],
)
def test_query_semantics(query, text, expected):
    assert match(query, text) is expected


@pytest.mark.parametrize("bad", ["", "nudge AND", "(nudge", "nudge)", "AND nudge", "*", "OR"])
def test_bad_queries_are_config_errors(bad):
    with pytest.raises(ConfigError):
        parse_query(bad)


def test_query_parser_does_not_evaluate_code():
    # a query is data: Python syntax is just words
    assert match("__import__ ('os')", "__import__ os") is True
    assert match("__import__ ('os')", "import") is False
    with pytest.raises(ConfigError):  # a call is read as a database's field tag: refused, never run
        parse_query("__import__('os')")
    assert terms_of(parse_query('a OR (b AND NOT c) OR "d e"')) == ["a", "b", "d e"]


STUDIES = pd.DataFrame(
    {
        "study_id": ["s1", "s2", "s3", "s4", "s5", "s6"],
        "title": ["Nudges in health", "Nudge trial", "Nudge diet", "Mice nudged", "Nudge x", "Defaults"],
        "abstract": ["", "", "", "", "", "default options"],
        "keywords": [[], [], ["health"], [], [], []],
        "year": pd.array([2010, 1990, None, 2012, 2015, 2011], dtype="Int64"),
        "language": ["eng", "eng", "eng", "eng", "fre", ""],
        "doc_type": ["article", "article", "", "article", "erratum", "article"],
    }
)


def test_rules_give_reason_codes_and_missing_metadata_never_excludes():
    cfg = {
        "years": [2000, None],
        "languages": ["eng"],
        "exclude_doc_types": ["erratum"],
        "require": "nudg* OR default*",
        "exclude": "mice",
    }
    out = apply_rules(STUDIES, cfg)
    assert out["rule_excluded"].tolist() == [False, True, False, True, True, False]
    assert out["rule_reason"].tolist() == ["", "year", "", "excluded_terms", "language", ""]
    assert out.loc[4, "rule_evidence"] == "language; doc_type"  # every failed rule is listed


def test_required_terms_rule_and_keywords_are_searched():
    studies = STUDIES.assign(abstract=["a trial"] * 6)
    out = apply_rules(studies, {"require": "health"})
    assert out["rule_reason"].tolist() == ["", "required_terms", "", "required_terms", "required_terms",
                                           "required_terms"]


def test_required_terms_never_exclude_a_study_without_an_abstract():
    """A title-only record ("Nudge trial": a letter, a conference paper, an old record) failed
    ``require: health`` although its missing abstract is where the word would be; a rule acts
    only on what the record says, so such studies are left to reviewers. ``exclude`` still
    acts on the title, and a study whose abstract lacks the words is still excluded."""
    out = apply_rules(STUDIES, {"require": "health"})
    assert out["rule_reason"].tolist() == ["", "", "", "", "", "required_terms"]  # only s6 has an abstract
    out = apply_rules(STUDIES, {"require": "health", "exclude": "mice"})
    assert out["rule_reason"].tolist() == ["", "", "", "excluded_terms", "", "required_terms"]
    frame = pd.DataFrame({"study_id": ["a", "b", "c"], "title": ["Nudge", "Nudge", "Nudge"],
                          "abstract": [None, np.array([], dtype=object), "Nudges in schools"]})
    out = apply_rules(frame, {"require": "health"})
    assert out["rule_excluded"].tolist() == [False, False, True]


@pytest.mark.parametrize(
    "cfg",
    [{"years": [2020, 2000]}, {"years": "2000"}, {"languages": "eng", "nonsense": 1}, {"require": "(a"},
     {"languages": [1, 2]}],
)
def test_bad_rules_are_config_errors(cfg):
    with pytest.raises(ConfigError):
        parse_rules(cfg)


def test_no_rules_exclude_nothing():
    assert not apply_rules(STUDIES, None)["rule_excluded"].any()


TRICKY = pd.DataFrame(
    {
        "study_id": [f"t{i}" for i in range(10)],
        "title": ["Public-administration NUDGES", None, "Café nudging in rats", float("nan"), "Ratatouille nudge",
                  "behaviour   change", "", "Default   options", "in vitro nudge", "Nudge"],
        "abstract": [pd.NA, "Public administration of defaults", "", "nudge", "x", None, "   ",
                     "Mice and rats", "cells", "naïve behavior"],
        "keywords": [np.array(["health", "policy"], dtype=object), None, ["public", "administration"], (),
                     float("nan"), ["behavio-r"], np.array([], dtype=object), [], ["In Vitro"], ["health"]],
        "year": ["2001", None, 1999, pd.NA, 2030, 2010.0, "  ", 2005, 2001, 2000],
        "language": ["ENG", "eng", None, "ger", float("nan"), " ", "eng", "fre", "eng", "eng"],
        "doc_type": ["Article", None, "erratum", "review", "letter", "", "article", "erratum", "article", "book"],
    }
)
TRICKY_RULES = [
    {"require": '"public administration" OR (nudg* AND NOT rat*)', "exclude": '"in vitro" OR mice'},
    {"require": "behavio*r -cafe", "years": [2000, 2020], "languages": ["eng"]},
    {"exclude": "NOT (health | default*) & nudge", "doc_types": ["article", "review"]},
    {"exclude_doc_types": ["erratum"], "years": [None, 2004], "require": "naive OR cafe OR options"},
    {"require": "x", "exclude": "nudge"},
    {},
]


# the same studies with typed columns, as Parquet gives them back (Int64 years, string columns with NA)
TRICKY_TYPED = TRICKY.assign(
    year=pd.array([2001, None, 1999, None, 2030, 2010, None, 2005, 2001, 2000], dtype="Int64"),
    language=pd.array(["ENG", "eng", None, "ger", None, " ", "eng", "fre", "eng", "eng"], dtype="string"),
    doc_type=pd.array(["Article", None, "erratum", "review", "letter", "", "article", "erratum", "article", "book"],
                      dtype="string"),
    title=pd.array(["Public-administration NUDGES", None, "Café nudging in rats", None, "Ratatouille nudge",
                    "behaviour   change", "", "Default   options", "in vitro nudge", "Nudge"], dtype="string"),
)


@pytest.mark.parametrize("frame", [TRICKY, TRICKY_TYPED], ids=["object", "typed"])
@pytest.mark.parametrize("cfg", TRICKY_RULES)
def test_vectorised_rules_equal_the_per_record_rules(cfg, frame):
    """apply_rules works per column; every reason and evidence must equal failed_rules per record."""
    rules = parse_rules(cfg)
    out = apply_rules(frame, rules)
    expected = [failed_rules(row, rules) for row in frame.to_dict("records")]
    assert any(expected) or not cfg
    assert out["rule_excluded"].tolist() == [bool(r) for r in expected]
    assert out["rule_reason"].tolist() == [r[0] if r else "" for r in expected]
    assert out["rule_evidence"].tolist() == ["; ".join(r) for r in expected]


def test_vectorised_rules_spot_checks():
    out = apply_rules(TRICKY, TRICKY_RULES[0]).set_index("study_id")
    assert out.loc["t0", "rule_reason"] == ""  # phrase matches across punctuation, NA abstract is skipped
    assert out.loc["t2", "rule_reason"] == ""  # rats fail NOT rat*, but the keywords make the phrase
    assert out.loc["t4", "rule_reason"] == "required_terms"  # rat* matches Ratatouille; no phrase
    assert out.loc["t8", "rule_evidence"] == "excluded_terms"  # keyword phrase "In Vitro"
    assert out.loc["t7", "rule_evidence"] == "required_terms; excluded_terms"
    out = apply_rules(TRICKY, TRICKY_RULES[1]).set_index("study_id")
    assert out.loc["t2", "rule_evidence"] == "year"  # a missing language (or abstract) never excludes
    assert out.loc["t3", "rule_evidence"] == "language; required_terms"  # missing year never excludes
    assert out.loc["t9", "rule_reason"] == ""  # naïve folds, behavior matches behavio*r


def test_a_study_without_text_columns_is_only_judged_on_what_it_has():
    frame = pd.DataFrame({"study_id": ["a", "b"], "year": [1990, None]})
    out = apply_rules(frame, {"years": [2000, None], "exclude": "anything"})
    assert out["rule_evidence"].tolist() == ["year", ""]


def test_year_rule_reads_years_written_as_text_or_floats():
    """A studies CSV with "1999.0" (a float column written out) or "n.d." stopped screen and
    screen-report with "ValueError: invalid literal for int()"; such a year is read as a year,
    or, when it is none, left to the reviewer like a missing one."""
    studies = pd.DataFrame({"study_id": ["s1", "s2", "s3", "s4", "s5"],
                            "year": ["n.d.", "2020", "1999.0", "", 1998.0]})
    rules = parse_rules({"years": [2000, None]})
    table = apply_rules(studies, rules)
    assert table["rule_excluded"].tolist() == [False, False, True, False, True]
    assert [bool(failed_rules(r, rules)) for r in studies.to_dict("records")] == table["rule_excluded"].tolist()


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        # a wildcard inside a phrase keeps the phrase's spaces (it required one word "behavio...change")
        ('"behavio* change"', "Behaviour change interventions", True),
        ('"behavio* change"', "behavioural-change", True),
        ('"nudg* theory"', "nudge theory", True),
        ('"nudg* theory"', "nudgetheory", False),
        ('"public partner*"', "Public partnerships", True),
        ('"* partnership"', "public partnership", True),
        # ? is one letter (Scopus, Web of Science): British and American spelling in one term
        ("organi?ation", "organisation", True),
        ("organi?ation", "Organization", True),
        ("organi?ation", "organiation", False),
        ("wom?n", "women and men", True),
        # curly quotes pasted from a word processor are a phrase, not two ANDed words
        ("\u201cnudge theory\u201d", "theory of nudge", False),
        ("\u201cnudge theory\u201d", "Nudge theory", True),
        ("\u201eco-production\u201c", "co production", True),
        # words of scripts written without spaces are found inside longer runs
        ("\u5065\u5eb7", "\u516c\u5171\u5065\u5eb7\u653f\u7b56", True),  # 健康 in 公共健康政策
        ("\u5065\u5eb7 AND policy", "\u516c\u5171\u5065\u5eb7 policy", True),
        ("art", "participatory arts", False),  # Latin words stay whole words
        ("\uff23\uff2f\uff36\uff29\uff24", "COVID-19", True),  # full-width folds to covid
        ("\uff23\uff2f\uff36\uff29\uff24", "COVID19", False),  # a whole word
        ("\u00e4rzte", "\u00c4RZTE", True),
        ('"co-production"', "Co production", True),
        ("NOT NOT nudge", "nudge", True),
        ("a AND NOT (b OR NOT c)", "a c", True),
    ],
)
def test_query_wildcards_phrases_and_scripts(query, text, expected):
    """Attempts from the red-team of wrong exclusions: each False here was a True that excluded a study."""
    assert match(query, text) is expected


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("nudge or nudging", "'or' is read as a word"),  # lower-case operators required the word "or"
        ("nudge and health", "'and' is read as a word"),
        ("nudge Not rats", "'Not' is read as a word"),
        ("nudge W/3 health", "proximity operator 'W/3'"),  # Scopus
        ("nudge NEAR/3 health", "proximity operator 'NEAR/3'"),  # Web of Science
        ("nudge ADJ3 health", "proximity operator 'ADJ3'"),  # Ovid
        ("nudge[tiab]", "field syntax"),  # PubMed
        ('"choice architecture"[tiab] OR nudge', "field syntax"),
        ("TITLE-ABS-KEY(nudge)", "field syntax"),  # Scopus
        ("TS=(nudge)", "field syntax"),  # Web of Science
        ('"nudge theory', "a quote that is never closed at character 1"),
        ("nudge AND \u201cchoice architecture", "a quote that is never closed at character 11"),
    ],
)
def test_other_tools_syntax_is_a_config_error_not_a_term(query, says):
    """Each of these was a term no study contains: a ``require`` rule with it excluded every study."""
    with pytest.raises(ConfigError, match=says.replace("(", r"\(").replace("[", r"\[")):
        parse_query(query)
    assert parse_query('"nudge and health"').matches(fold("nudge and health"))  # quoted, "and" is a word
    assert match("N95 AND respirator*", "N95 respirators")  # not a proximity operator


@pytest.mark.parametrize(
    ("cfg", "says"),
    [
        ({"require": "(nudge OR default"}, "screening rule 'require': bad query '(nudge OR default': missing ')'"),
        ({"require": "nudge", "exclude": "rats)"}, "screening rule 'exclude': bad query 'rats)': unexpected ')'"),
        ({"exclude": '"in vitro'}, "screening rule 'exclude': bad query"),
        ({"require": ["nudge"]}, "screening rule 'require': a term query must be a string"),
        ({"require": "   "}, "screening rule 'require': bad query '   ': empty query"),
    ],
)
def test_a_bad_query_is_one_config_error_naming_its_rule(cfg, says):
    """Which of a config's two queries is wrong was left to the reader."""
    with pytest.raises(ConfigError) as info:
        parse_rules(cfg)
    assert str(info.value).startswith(says)
    assert "\n" not in str(info.value)


LANGS = pd.DataFrame(
    {
        "study_id": [f"l{i}" for i in range(9)],
        "language": ["eng", "fre", "", "en-us", "French; English", "English", "und", "ger", "mul"],
    }
)


@pytest.mark.parametrize("allowed", [["eng"], ["English"], ["en"], ["ENG"], ["english "]])
def test_a_language_rule_reads_every_way_of_naming_english(allowed):
    """``languages: [English]`` (or ``[en]``) excluded every English study: records say "eng"."""
    out = apply_rules(LANGS, {"languages": allowed})
    # excluded: only the French-only and German-only studies; "French; English" has an English
    # version, "en-us" (Zotero) and "English" (a studies table from another tool) are English,
    # "und"/"mul" say nothing, like a missing language
    assert out.loc[out["rule_excluded"], "study_id"].tolist() == ["l1", "l7"]
    rules = parse_rules({"languages": allowed})
    assert [bool(failed_rules(r, rules)) for r in LANGS.to_dict("records")] == out["rule_excluded"].tolist()


def test_language_region_tags_are_their_language():
    from evreview.records import normalise_language

    assert [normalise_language(v) for v in ("en-US", "en_GB", "pt-BR", "zh-Hans", "xx-YY")] == [
        "eng", "eng", "por", "chi", "xx-yy"]


DOCS = pd.DataFrame(
    {
        "study_id": [f"d{i}" for i in range(7)],
        "doc_type": ["article", "review", "conference", "other", "", "Journal Article", "Erratum"],
    }
)


def test_doc_type_rules_use_the_records_vocabulary():
    """A config value records are never given matched nothing: it is a ConfigError naming the rule."""
    with pytest.raises(ConfigError, match=r"screening rule 'doc_types': 'journal article' is not a document type.*"
                                          r"did you mean 'article'\?"):
        parse_rules({"doc_types": ["Journal Article", "review"]})
    with pytest.raises(ConfigError, match="screening rule 'exclude_doc_types': 'conference paper'"):
        parse_rules({"exclude_doc_types": ["Conference Paper"]})
    with pytest.raises(ConfigError, match="'short survey' is not a document type"):
        parse_rules({"doc_types": ["short survey"]})
    out = apply_rules(DOCS, {"doc_types": ["Article", "review"]})
    # a conference paper and an erratum fail the allow-list; an unknown type ("other") and a
    # missing one are the reviewers' call; "Journal Article" from another tool is an article
    assert out.loc[out["rule_excluded"], "study_id"].tolist() == ["d2", "d6"]
    out = apply_rules(DOCS, {"exclude_doc_types": ["erratum", "other"]})
    assert out.loc[out["rule_excluded"], "study_id"].tolist() == ["d3", "d6"]  # "other" only when named


def test_a_number_that_is_no_year_never_fails_the_year_rule():
    """0 (a spreadsheet's fill for "no year") and 19 (a two-digit year) were years before 2000."""
    studies = pd.DataFrame({"study_id": list("abcdef"), "year": [0, 19, "19", "2019-2020", "c. 1998", 1999]})
    rules = parse_rules({"years": [2000, 2024]})
    out = apply_rules(studies, rules)
    assert out["rule_excluded"].tolist() == [False, False, False, False, True, True]
    assert [bool(failed_rules(r, rules)) for r in studies.to_dict("records")] == out["rule_excluded"].tolist()


@pytest.mark.parametrize(
    "query",
    ["rat OR mice AND model", "a OR b AND c", "x & y | z", "choice architecture OR nudge", "a NOT b OR c",
     "(a AND b) OR a AND b", "((a OR b c))"],
)
def test_and_beside_or_without_parentheses_is_a_config_error(query):
    """``exclude: rat OR mice AND model`` means (rat OR mice) AND model in Scopus; read AND-first
    it excluded every study mentioning rats. Databases disagree, so the query must say."""
    with pytest.raises(ConfigError, match="without parentheses"):
        parse_query(query)
    for fine in ("(rat OR mice) AND model", "rat OR (mice AND model)", "a b c", "a OR b OR c", "NOT a OR b",
                 '"choice architecture" OR nudge', "(a b) OR (a b)"):
        parse_query(fine)
