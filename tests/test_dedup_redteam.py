"""Red team for false merges: pairs of distinct items that agree on everything a careless matcher
reads (authors, journal, volume, year; no pages, as conference abstracts and thin databases
export them) and titles ~95 % alike. Each was merged before the fix its test names; the same
records written twice still merge (positive controls), so the fixes cost no duplicates.

Families: one word swapped for its opposite or a sibling (species, drug, side, stage, "with" /
"without", "pre-" / "post-"), a negation added ("non-small cell" / "small cell"), series numbers
written as a trailing Roman numeral, notices that repeat the article's title ("Re:", "Letter:",
"Data from:", "Author Correction:", "Addendum:"), and boilerplate titles that recur in every issue
("From the editor", "Reviewer acknowledgement")."""

from __future__ import annotations

import pandas as pd
import pytest

from evreview.dedup import Deduplicator
from evreview.dedup.benchmark import bib_row_to_fields
from evreview.dedup.keys import (
    build_keys,
    fold_text,
    is_correction_title,
    is_generic_title,
    is_notice_title,
    title_contrast,
    title_numbers,
)
from evreview.records import make_record_id

AUTHORS = "Zhang, Wei and Li, Na and Wang, Jun and Chen, Hong"
#: one group's abstracts in one supplement: no pages, every other field alike
ABSTRACT = {"author": AUTHORS, "year": "2019", "journal": "Annals of Oncology", "volume": "30", "number": "Suppl 5"}
#: an article-numbered journal: every article on page 1
ARTICLE_NUMBERED = {"author": AUTHORS, "year": "2019", "journal": "Scientific Reports", "volume": "9", "number": "1",
                    "pages": "1-10"}
#: a thin record: title, authors, journal and year
THIN = {"author": AUTHORS, "year": "2019", "journal": "Value in Health"}
BASES = {"abstract": ABSTRACT, "article_numbered": ARTICLE_NUMBERED, "thin": THIN}


def make_records(*rows: dict) -> pd.DataFrame:
    out = []
    for n, row in enumerate(rows):
        fields = bib_row_to_fields({k: v for k, v in row.items() if v != ""})
        fields.update(record_id=make_record_id("", "t.csv", n), search="", source_file="t.csv", source_index=n,
                      source_id=row.get("ID", str(n)))
        out.append(fields)
    return pd.DataFrame(out)


def n_studies(*rows: dict) -> int:
    return Deduplicator().fit(make_records(*rows)).n_studies_


# --- one word swapped: sibling studies ----------------------------------------------------------

SWAPS = [
    # species (a drug's pharmacokinetics in two species, one lab)
    ("Pharmacokinetics and tissue distribution of a novel oral anticoagulant in {} after a single dose",
     [("mice", "rats"), ("dogs", "cats"), ("rats", "rabbits"), ("pigs", "sheep"), ("mice", "humans"),
      ("rat", "mouse")]),
    # drugs of one class (one HTA group's cost-effectiveness models)
    ("Cost-effectiveness of {} for moderate to severe plaque psoriasis in the National Health Service",
     [("adalimumab", "golimumab"), ("secukinumab", "ixekizumab"), ("infliximab", "rituximab")]),
    # drugs of one class two letters apart, which the typo test read as one word mistyped
    ("Real-world outcomes of first-line {} in EGFR-mutated non-small cell lung cancer: a cohort study",
     [("afatinib", "axitinib")]),
    ("Effect of {} on the pharmacokinetics of clopidogrel in healthy volunteers: a crossover study",
     [("omeprazole", "esomeprazole")]),
    # opposites
    ("Efficacy and safety of trastuzumab deruxtecan in HER2-{} metastatic breast cancer: a phase 2 trial",
     [("positive", "negative")]),
    ("Interventions for {} gastrointestinal bleeding in patients receiving direct oral anticoagulants",
     [("upper", "lower")]),
    ("Predictors of {} nausea and vomiting after laparoscopic cholecystectomy in a tertiary centre",
     [("early", "late"), ("preoperative", "postoperative"), ("pre-operative", "post-operative")]),
    ("Efficacy of cognitive behavioural therapy for insomnia in patients {} comorbid major depression",
     [("with", "without")]),
    ("Effect of {}-dose aspirin on cardiovascular events in patients with type 2 diabetes mellitus",
     [("low", "high")]),
    ("Nivolumab as {}-line treatment for advanced hepatocellular carcinoma: results of a randomised trial",
     [("first", "second")]),
    ("Outcomes of surgical resection for {} cholangiocarcinoma: a multicentre retrospective cohort study",
     [("intrahepatic", "extrahepatic"), ("hilar", "distal")]),
    ("Management of {} in patients with chronic kidney disease: a systematic review and meta-analysis",
     [("hyperkalaemia", "hypokalaemia"), ("hypertension", "hypotension"), ("hyperthyroidism", "hypothyroidism")]),
    ("Risk factors for breast cancer in {} women: a prospective population-based cohort study",
     [("premenopausal", "postmenopausal"), ("pre-menopausal", "post-menopausal")]),
    ("Long-term outcomes of {} total knee arthroplasty in patients with osteoarthritis of the knee",
     [("unilateral", "bilateral"), ("cemented", "uncemented")]),
    ("{} reliability of the modified Ashworth scale for spasticity in chronic stroke survivors",
     [("Inter-rater", "Intra-rater")]),
    ("Coronary artery bypass grafting {}-pump in high-risk patients: a propensity-matched analysis",
     [("on", "off")]),
]


@pytest.mark.parametrize("base", list(BASES))
@pytest.mark.parametrize(("template", "x", "y"), [(t, x, y) for t, pairs in SWAPS for x, y in pairs])
def test_titles_one_word_apart_name_two_studies(template: str, x: str, y: str, base: str) -> None:
    """Merged by title_match before: the two titles are >= 95 % alike, and authors, journal and
    year agree. A word swapped for another that is no spelling of it (a species, a drug, an
    opposite, "pre-" / "post-") is now a question for the reviewer (title_population_differs)."""
    fields = BASES[base]
    assert n_studies({**fields, "title": template.format(x)}, {**fields, "title": template.format(y)}) == 2


@pytest.mark.parametrize(("a", "b"), [
    ("Radiotherapy dose escalation in non-small cell lung cancer: an individual patient data meta-analysis",
     "Radiotherapy dose escalation in small cell lung cancer: an individual patient data meta-analysis"),
    ("Effect of intensive blood pressure lowering on cardiovascular events in nondiabetic patients",
     "Effect of intensive blood pressure lowering on cardiovascular events in diabetic patients"),
    ("Long-term outcomes of atypical femoral fractures after bisphosphonate therapy in older women",
     "Long-term outcomes of typical femoral fractures after bisphosphonate therapy in older women"),
])
def test_a_negation_added_names_the_other_group(a: str, b: str) -> None:
    """"non-small cell" / "small cell", "nondiabetic" / "diabetic": one title adds a negation (a word
    or a prefix). Merged by title_match before."""
    assert n_studies({**ABSTRACT, "title": a}, {**ABSTRACT, "title": b}) == 2


@pytest.mark.parametrize(("a", "b", "contrast"), [
    ("x in mice y", "x in rats y", True),
    ("x with y", "x without y", True),
    ("x in hyperthyroidism", "x in hypothyroidism", True),
    ("preoperative x", "postoperative x", True),
    ("pre operative x", "post operative x", True),
    ("x in non small cell lung cancer", "x in small cell lung cancer", True),
    ("atypical x", "typical x", True),
    # spellings, plurals, cut words and abbreviations are one word written twice: no contrast
    ("randomised trial of x", "randomized trial of x", False),
    ("x in paediatric y", "x in pediatric y", False),
    ("x of the oesophagus", "x of the esophagus", False),
    ("aetiology of x", "etiology of x", False),  # "a" + vowel is a spelling, not a negation
    ("manoeuvre for x", "maneuver for x", False),
    ("effect of x", "effects of x", False),
    ("x versus y", "x vs y", False),
    ("hospital x", "hosp x", False),
    ("x in children", "x in kids", False),  # one member of a contrast group
    ("x in beta thalassaemia", "x in β thalassaemia", False),  # not ASCII letters
    ("x and y in 2019", "x and y in two thousand", False),  # words and digits
    ("x in men and women", "x in women", False),
    # a non-English article's title as two databases translate it
    ("diagnosis and management of paroxysmal nocturnal hemoglobinuria",
     "diagnosis and treatment of paroxysmal nocturnal hemoglobinuria", False),
    # British and American spellings the rules alone did not read alike
    ("x paid by cheque", "x paid by check", False),
    ("plough injuries in x", "plow injuries in x", False),
    ("draught beer and x", "draft beer and x", False),
    ("aluminium adjuvants in x", "aluminum adjuvants in x", False),
    ("healthy ageing in x", "healthy aging in x", False),
    # an organ's noun and adjective, "antenatal" / "prenatal": one title translated two ways
    ("kidney transplantation in x", "renal transplantation in x", False),
    ("x in heart failure", "x in cardiac failure", False),
    ("liver fibrosis in x", "hepatic fibrosis in x", False),
    ("lung function in x", "pulmonary function in x", False),
    ("antenatal care in x", "prenatal care in x", False),
    ("x in neonatal sepsis", "x in newborn sepsis", False),
    # ... but a trial's efficacy and practice's effectiveness are two papers of one group
    ("efficacy of x against y", "effectiveness of x against y", True),
    ("antenatal x", "postnatal x", True),
])
def test_title_contrast_of_one_swapped_word(a: str, b: str, contrast: bool) -> None:
    assert title_contrast(a, b) is contrast


#: Latin and Greek plurals and their singulars: one word, whose forms differ in 3+ letters for some
LATIN_PLURALS = [
    ("genera", "genus"), ("corpora", "corpus"), ("apices", "apex"), ("cortices", "cortex"), ("vertices", "vertex"),
    ("vortices", "vortex"), ("cervices", "cervix"), ("helices", "helix"), ("calyces", "calyx"),
    ("appendices", "appendix"), ("indices", "index"), ("matrices", "matrix"), ("viscera", "viscus"),
    ("foramina", "foramen"), ("criteria", "criterion"), ("phenomena", "phenomenon"), ("bacteria", "bacterium"),
    ("stimuli", "stimulus"), ("foci", "focus"), ("nuclei", "nucleus"), ("diagnoses", "diagnosis"),
    ("analyses", "analysis"), ("metastases", "metastasis"), ("vertebrae", "vertebra"), ("larvae", "larva"),
    ("formulae", "formula"), ("stomata", "stoma"),
]


@pytest.mark.parametrize(("plural", "singular"), LATIN_PLURALS)
def test_a_latin_plural_is_no_contrast(plural: str, singular: str) -> None:
    """"Bacteria of the genera x" / "... genus x": one word in two numbers, not a sibling study (the
    forms of "genus", "corpus" and "-ex" / "-ix" words differ in 3+ letters, read as two words before)."""
    assert title_contrast(f"x in the {plural} of y", f"x in the {singular} of y") is False
    assert title_contrast(f"x in the {singular} of y", f"x in the {plural} of y") is False


def test_one_abstract_from_two_databases_still_merges() -> None:
    """Positive controls: spellings, case and punctuation do not make two studies, nor a plural."""
    title = "Randomised trial of paediatric anaemia management in haemodialysis: effect on outcomes of care"
    other = "Randomized trial of pediatric anemia management in hemodialysis - effect on outcomes of care."
    assert n_studies({**ABSTRACT, "title": title}, {**ABSTRACT, "title": other}) == 1
    assert n_studies({**ABSTRACT, "title": title}, {**ABSTRACT, "title": title.upper()}) == 1
    plural = title.replace("effect on outcomes", "effects on outcomes")
    assert n_studies({**ABSTRACT, "title": title}, {**ABSTRACT, "title": plural}) == 1


# --- British and American spellings --------------------------------------------------------------

SPELT = ("A national programme for healthy ageing: modelling the labelled costs of counselling in {}",
         "A national program for healthy aging: modeling the labeled costs of counseling in {}")


@pytest.mark.parametrize("base", list(BASES))
def test_one_title_in_british_and_american_spelling_is_one_study(base: str) -> None:
    """Positive control: four spellings apart, the titles shared no blocking key (start, end and
    longest words all spelt differently) and stayed two studies with no pair for a reviewer."""
    fields = BASES[base]
    british, american = (title.format(who) for title, who in zip(SPELT, ("paediatric anaemia", "pediatric anemia")))
    assert n_studies({**fields, "title": british}, {**fields, "title": american}) == 1


@pytest.mark.parametrize("base", list(BASES))
@pytest.mark.parametrize(("x", "y"), [("men", "women"), ("mice", "rats"), ("kenya", "ghana"), ("adults", "children")])
def test_spellings_apart_and_a_group_apart_are_two_studies(x: str, y: str, base: str) -> None:
    """Now paired on the spelt title, sibling papers whose titles also differ in spelling keep
    their contrast: the spellings are left out and "men" / "women" decides (before, the extra
    words "programme" / "program" hid it from title_contrast)."""
    fields = BASES[base]
    assert n_studies({**fields, "title": SPELT[0].format(x)}, {**fields, "title": SPELT[1].format(y)}) == 2


# --- series numbered by a trailing Roman numeral --------------------------------------------------

@pytest.mark.parametrize("base", list(BASES))
@pytest.mark.parametrize(("x", "y"), [("I", "II"), ("II", "III"), ("(I)", "(II)")])
def test_a_trailing_roman_numeral_numbers_a_series(x: str, y: str, base: str) -> None:
    """"...: a comprehensive review I" / "... II" (no "Part" before the numeral): merged by
    title_match before, the numeral one letter of a long title."""
    title = "Hereditary angioedema: a comprehensive review of pathogenesis, diagnosis and treatment {}"
    fields = BASES[base]
    assert n_studies({**fields, "title": title.format(x)}, {**fields, "title": title.format(y)}) == 2


def test_trailing_roman_numerals_are_numbers() -> None:
    assert title_numbers("a review of x ii") == "2"
    assert title_numbers("a review of x iv") == "4"
    assert title_numbers("studies on x iii effect of y") == "3"  # "ii" / "iii" anywhere: never an English word
    assert title_numbers("what i learned about x") == ""  # a pronoun
    assert title_numbers("iv iron versus oral iron in x") == ""  # "iv" (intravenous) mid-title is a word
    assert title_numbers("x in type ii diabetes") == "2"
    assert title_numbers("clinical features of fragile x") == title_numbers("deficiency of factor v") == ""
    assert title_numbers("a review of x i") == "1"


# --- notices that repeat the article's title ------------------------------------------------------

ARTICLE = {**ARTICLE_NUMBERED, "title": "Gut microbiota composition predicts response to immune checkpoint "
                                        "inhibitors in metastatic melanoma"}


@pytest.mark.parametrize("prefix", ["Re: ", "RE: ", "Letter: ", "Data from: ", "Addendum: ", "Commentary on: ",
                                    "Invited commentary on: ", "In response to: ", "Editorial comment on: ",
                                    "Supplementary material for: "])
@pytest.mark.parametrize("base", ["same_issue", "no_pages", "thin"])
def test_a_notice_repeating_the_title_is_not_the_article(prefix: str, base: str) -> None:
    """A commentary ("Re: <title>", J Urol's form; "Letter: <title>", Aliment Pharmacol Ther's), an
    addendum or a data package ("Data from: <title>", Dryad's) repeats the article's title: merged
    by title_lead_in_same_issue or title_match before."""
    article = {"same_issue": ARTICLE, "no_pages": {**ARTICLE, "pages": "", "number": ""},
               "thin": {"title": ARTICLE["title"], "author": AUTHORS, "year": "2019"}}[base]
    assert n_studies(article, {**article, "title": prefix + article["title"]}) == 2


@pytest.mark.parametrize(("title", "notice", "correction"), [
    ("re: effect of x on y", True, False),
    ("re evaluation of x in y", False, False),  # "Re-evaluation of ...": a study
    ("letter: x in y", True, False),
    ("letters of recommendation in residency applications", False, False),
    ("data from: x in y", True, False),
    ("data from a national registry on x", False, False),
    ("author correction: x", True, True),
    ("publisher correction: x", True, True),
    ("addendum: x", True, False),
    ("commentary on x", True, False),
])
def test_notice_titles(title: str, notice: bool, correction: bool) -> None:
    keys = build_keys(pd.DataFrame({"title": [title], "record_id": ["r"]}))
    assert bool(keys["title_notice"].iloc[0]) is notice
    assert bool(keys["title_correction"].iloc[0]) is correction
    folded = fold_text(title)
    if ":" not in title:  # the colon-marked forms are read from the title as written
        assert is_notice_title(folded) is notice and is_correction_title(folded) is correction


def test_author_correction_in_the_articles_volume_joins_it_as_an_erratum_does() -> None:
    """Nature's "Author Correction: <title>" is an erratum: the labelled sets count an erratum by
    the article's authors in its journal volume and year as the article (erratum_of_item)."""
    model = Deduplicator().fit(make_records(ARTICLE, {**ARTICLE, "title": "Author Correction: " + ARTICLE["title"]}))
    assert model.n_studies_ == 1 and set(model.pairs_["rule"]) == {"erratum_of_item"}


# --- boilerplate that recurs in every issue --------------------------------------------------------

BOILERPLATE = ["From the editor", "Letter from the editor", "Message from the president", "President's message",
               "Reviewer acknowledgement", "Acknowledgement to reviewers", "Thank you to our reviewers",
               "Editor's introduction", "Highlights of this issue", "Letters to the editor", "Editor's choice",
               "Notes on contributors", "Instructions for authors", "Introduction to the special issue",
               "Year in review", "A note from the editors",
               # digital_work: MIS Quarterly's column in every issue of 2000-2002, the journal named in it
               "Remarks from MIS Quarterly Editor - Editor's Comments"]


@pytest.mark.parametrize("title", BOILERPLATE)
@pytest.mark.parametrize("fields", [
    {"year": "2019", "journal": "Journal of Hepatology"},
    {"year": "2019", "journal": "Journal of Hepatology", "author": "Smith, John", "volume": "70"},
], ids=["journal_year", "editor_volume"])
def test_boilerplate_of_two_issues_is_not_one_item(title: str, fields: dict) -> None:
    """The editor's column of two issues of one volume, no pages: merged by title_match before
    (title, year and journal agree; the editor too). Boilerplate is now generic: it needs the
    year, volume and start page to merge."""
    assert is_generic_title(fold_text(title))
    assert n_studies({**fields, "title": title}, {**fields, "title": title}) == 2
    located = {**fields, "title": title, "volume": "70", "pages": "201-202"}
    assert n_studies(located, dict(located)) == 1


@pytest.mark.parametrize("title", ["Letters from the field: community health workers in rural Kenya",
                                   "Editorial decision making in medical journals: a qualitative study",
                                   "Message framing and vaccination intention in young adults",
                                   "Editorial: peer review in crisis", "Editor's comments on telemedicine"])
def test_studies_about_editors_and_messages_are_not_boilerplate(title: str) -> None:
    assert not is_generic_title(fold_text(title))


def test_a_drug_name_mistyped_by_one_letter_is_still_one_word() -> None:
    """Two names of one drug class are two drugs from two letters apart; one letter apart is a
    typo ("erlotinib" / "erlitinib"), as for any word."""
    from evreview.dedup.keys import _swap_contrast

    assert _swap_contrast("afatinib", "axitinib") and _swap_contrast("omeprazole", "esomeprazole")
    assert not _swap_contrast("erlotinib", "erlitinib") and not _swap_contrast("randomised", "randomized")
    assert not _swap_contrast("nivolumab", "nivolumabs")
