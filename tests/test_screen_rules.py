"""Eligibility rules and the boolean term-query parser."""

from __future__ import annotations

import pandas as pd
import pytest

from evreview.errors import ConfigError
from evreview.records import fold
from evreview.screen.rules import apply_rules, parse_query, parse_rules, terms_of


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
        ("a OR b AND c", "a", True),  # AND binds tighter than OR
        ("a OR b AND c", "b", False),
        ("café", "Cafe culture", True),  # accents fold
        ("x & y | z", "z", True),
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
    assert match("__import__('os')", "__import__ os") is True
    assert match("__import__('os')", "import") is False
    assert terms_of(parse_query('a OR (b AND NOT c) "d e"')) == ["a", "b", "d e"]


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
    out = apply_rules(STUDIES, {"require": "health"})
    assert out["rule_reason"].tolist() == ["", "required_terms", "", "required_terms", "required_terms",
                                           "required_terms"]


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
