"""Red team for false merges of titles that differ only in a number or a numbered part.

Two records by the same authors in the same journal, volume and year (no DOI, no pages: how
conference abstracts and thin databases export them, see :data:`tests.test_dedup_redteam.BASES`)
whose titles differ only in a trial's phase, a series' part, a guideline's year, a survey's wave,
a follow-up's length, a virus' or a cytokine's number, a tumour's stage or a disease's type are
two studies: one group reports each of them as a sibling abstract or paper. The number is one or
two characters of a long title, which title similarity alone reads as a typo. Each must stay two
studies (a "maybe" for the reviewer is acceptable: it is never merged).

The same title written two ways ("Part 2" / "Part II" / "part two", "12 month" / "12-month",
"5 year" / "five-year", a trailing period or "[abstract]") is still one study (positive controls).
"""

from __future__ import annotations

import pytest

from evreview.dedup import Deduplicator
from evreview.dedup.keys import title_contrast, title_numbers
from tests.test_dedup_redteam import BASES, make_records, n_studies

#: (template, one, other): the title with ``{}`` as one and as the other names two studies
DISTINCT = [
    ("A randomised phase {} trial of nivolumab plus ipilimumab in advanced gastric cancer", "2", "3"),
    ("A randomised phase {} trial of nivolumab plus ipilimumab in advanced gastric cancer", "II", "III"),
    ("A randomised phase {} trial of nivolumab plus ipilimumab in advanced gastric cancer", "1a", "1b"),
    ("A randomised phase {} trial of nivolumab plus ipilimumab in advanced gastric cancer", "Ia", "Ib"),
    ("Long-term outcomes of laparoscopic versus open surgery for rectal cancer: part {}", "1", "2"),
    ("Long-term outcomes of laparoscopic versus open surgery for rectal cancer: part {}", "I", "II"),
    ("Long-term outcomes of laparoscopic versus open surgery for rectal cancer: part {}", "one", "two"),
    ("Management of community-acquired pneumonia in adults: a national clinical guideline ({} update)",
     "2019", "2020"),
    ("Health behaviours and wellbeing of adolescents during the pandemic: results of survey wave {}", "1", "2"),
    ("Quality of life and glycaemic control in adults with type {} diabetes: a cross-sectional survey",
     "1", "2"),
    ("Quality of life and glycaemic control in adults with type {} diabetes: a cross-sectional survey",
     "I", "II"),
    ("Survival after adjuvant chemotherapy in patients with stage {} colon cancer: a population study",
     "II", "III"),
    ("Survival after adjuvant chemotherapy in patients with stage {} colon cancer: a population study",
     "IIIA", "IIIB"),
    ("Survival after adjuvant chemotherapy in patients with stage {} colon cancer: a population study",
     "3a", "3b"),
    ("{} follow-up of a randomised trial of bariatric surgery versus medical therapy for diabetes",
     "12-month", "24-month"),
    ("{} outcomes of a randomised trial of bariatric surgery versus medical therapy for diabetes",
     "5-year", "10-year"),
    ("{} outcomes of a randomised trial of bariatric surgery versus medical therapy for diabetes",
     "Two-year", "Three-year"),
    ("{} outcomes of a randomised trial of bariatric surgery versus medical therapy for diabetes",
     "Twenty-year", "Thirty-year"),
    ("{} outcomes of a randomised trial of bariatric surgery versus medical therapy for diabetes",
     "Fifteen-year", "Twenty-year"),
    ("Prevalence of HPV {} infection among women attending cervical screening in a national programme",
     "16", "18"),
    ("Development and validation of the patient experience questionnaire, version {}: a psychometric study",
     "2.0", "3.0"),
    ("Implicit attitudes towards physical activity and exercise behaviour in university students: study {}",
     "1", "2"),
    ("Safety and tolerability of a {} topical formulation of minoxidil in androgenetic alopecia",
     "5%", "10%"),
    ("Prognostic value of Ki-67 in {} gastroenteropancreatic neuroendocrine tumours: a multicentre study",
     "G2", "G3"),
    ("Serum {} concentrations predict mortality in patients with sepsis admitted to intensive care",
     "IL-6", "IL-8"),
    ("Serum {} concentrations predict mortality in patients with sepsis admitted to intensive care",
     "interleukin-6", "interleukin-8"),
    ("Long-term prophylaxis with recombinant factor {} concentrate in children with severe haemophilia",
     "VIII", "IX"),
    ("Long-term prophylaxis with recombinant factor {} concentrate in children with severe haemophilia",
     "VII", "VIII"),
    ("Long-term outcomes of direct-acting antiviral therapy in patients with chronic hepatitis {} infection",
     "B", "C"),
    ("Intrapartum antibiotic prophylaxis and early-onset group {} streptococcal disease in newborns",
     "A", "B"),
    ("Seasonal influenza {} virus infection in hospitalised adults: a multicentre surveillance study",
     "A", "B"),
    ("Results of the {} wave of a national survey of health workers during the COVID-19 pandemic",
     "first", "second"),
    ("Germline {} mutations in unselected women with ovarian cancer: a population-based study",
     "BRCA1", "BRCA2"),
    ("Cost-effectiveness of {}-line pembrolizumab in advanced non-small cell lung cancer in the UK",
     "first", "second"),
]

#: (template, one, other): the same title written two ways, one study
SAME = [
    ("Long-term outcomes of laparoscopic versus open surgery for rectal cancer: part {}", "2", "II"),
    ("Long-term outcomes of laparoscopic versus open surgery for rectal cancer: part {}", "II", "two"),
    ("Long-term outcomes of laparoscopic versus open surgery for rectal cancer: part {}", "2", "two"),
    ("Long-term outcomes of laparoscopic versus open surgery for rectal cancer{}", "", "."),
    ("Long-term outcomes of laparoscopic versus open surgery for rectal cancer{}", "", " [abstract]"),
    ("Long-term outcomes of laparoscopic versus open surgery for rectal cancer{}", "", ". [Abstract]"),
    ("{} follow-up of a randomised trial of bariatric surgery versus medical therapy for diabetes",
     "12 month", "12-month"),
    ("{} follow-up of a randomised trial of bariatric surgery versus medical therapy for diabetes",
     "Twelve-month", "12-month"),
    ("{} outcomes of a randomised trial of bariatric surgery versus medical therapy for diabetes",
     "5 year", "five-year"),
    ("{} outcomes of a randomised trial of bariatric surgery versus medical therapy for diabetes",
     "Twenty-year", "20-year"),
    ("{} outcomes of a randomised trial of bariatric surgery versus medical therapy for diabetes",
     "Twenty-five-year", "25-year"),
    ("{} outcomes of a randomised trial of bariatric surgery versus medical therapy for diabetes",
     "Fifteen-year", "15-year"),
    ("A randomised phase {} trial of nivolumab plus ipilimumab in advanced gastric cancer", "2", "II"),
    ("A randomised phase {} trial of nivolumab plus ipilimumab in advanced gastric cancer", "IIIb", "IIIB"),
    ("Survival after adjuvant chemotherapy in patients with stage {} colon cancer: a population study",
     "IIIA", "3A"),
    ("Survival after adjuvant chemotherapy in patients with stage {} colon cancer: a population study",
     "III", "3"),
    ("Serum {} concentrations predict mortality in patients with sepsis admitted to intensive care",
     "IL-6", "IL6"),
    ("Serum {} concentrations predict mortality in patients with sepsis admitted to intensive care",
     "interleukin-6", "interleukin 6"),
    ("Long-term prophylaxis with recombinant factor {} concentrate in children with severe haemophilia",
     "VIII", "viii"),
    ("Long-term outcomes of direct-acting antiviral therapy in patients with chronic hepatitis {} infection",
     "C", "c"),
]


#: Merged (DISTINCT) or split (SAME) when this module was written, fixed since: phase "1a" / "1b" and "Ia" /
#: "Ib", stage "IIIA" / "IIIB" and "3a" / "3b" (a sub-stage letter dropped, both read as "3"), factor "VIII" /
#: "IX" and "VII" / "VIII" (Roman numerals mid-title were words), "Twenty-year" / "20-year" and "IIIA" / "3A"
#: (number words only up to twelve; a sub-stage letter; see keys.title_numbers), and hepatitis "B" / "C", group
#: and influenza "A" / "B" (a letter swapped for a letter: now a reviewer question, title_population_differs).
#: Still missed (strict xfail: a fix makes them fail until the mark is removed). "Twenty-five-year" / "25-year" and
#: "Fifteen-year" / "15-year" now have the same numbers but titles under 95 % alike letter for letter: a reviewer
#: question (similar_title), no longer split silently by title_numbers_differ (test below).
STILL_MERGED: set[tuple[str, str]] = set()
STILL_SPLIT = {("Twenty-five-year", "25-year"), ("Fifteen-year", "15-year")}


def _cases(cases: list[tuple[str, str, str]], known: set[tuple[str, str]]) -> list:
    return [pytest.param(t, x, y, id=f"{x}|{y}|{t[:20]}",
                         marks=[pytest.mark.xfail(strict=True, reason="known miss")] if (x, y) in known else [])
            for t, x, y in cases]



@pytest.mark.parametrize("base", list(BASES))
@pytest.mark.parametrize(("template", "x", "y"), _cases(DISTINCT, STILL_MERGED))
def test_titles_a_number_apart_name_two_studies(template: str, x: str, y: str, base: str) -> None:
    fields = BASES[base]
    assert n_studies({**fields, "title": template.format(x)}, {**fields, "title": template.format(y)}) == 2


@pytest.mark.parametrize("base", list(BASES))
@pytest.mark.parametrize(("template", "x", "y"), _cases(SAME, STILL_SPLIT))
def test_one_title_with_its_numbers_written_two_ways_is_one_study(template: str, x: str, y: str, base: str) -> None:
    fields = BASES[base]
    assert n_studies({**fields, "title": template.format(x)}, {**fields, "title": template.format(y)}) == 1


@pytest.mark.parametrize("base", list(BASES))
@pytest.mark.parametrize(("x", "y"), sorted(STILL_SPLIT))
def test_numbers_in_words_and_digits_are_at_least_a_question(x: str, y: str, base: str) -> None:
    """Those of :data:`STILL_SPLIT`: one study, or two with a "maybe" pair for the reviewer (never
    told apart by their numbers)."""
    template = "{} outcomes of a randomised trial of bariatric surgery versus medical therapy for diabetes"
    fields = BASES[base]
    model = Deduplicator().fit(make_records({**fields, "title": template.format(x)},
                                            {**fields, "title": template.format(y)}))
    assert model.n_studies_ == 1 or set(model.pairs_["decision"]) == {"maybe"}


@pytest.mark.parametrize(("a", "b", "contrast"), [
    ("x in chronic hepatitis b infection", "x in chronic hepatitis c infection", True),
    ("group a streptococcal disease in x", "group b streptococcal disease in x", True),
    ("vitamin d and e in x", "vitamin d and k in x", True),
    ("x in chronic hepatitis b infection", "x in chronic hepatitis b infections", False),
])
def test_a_letter_swapped_for_a_letter_is_a_contrast(a: str, b: str, contrast: bool) -> None:
    assert title_contrast(a, b) is contrast


@pytest.mark.parametrize(("title", "numbers"), [
    ("survival in stage iiia x", "3a"), ("survival in stage 3a x", "3a"), ("survival in stage iiib x", "3b"),
    ("a phase ib trial of x", "1b"), ("a phase 1b trial of x", "1b"), ("class ic antiarrhythmics", "1c"),
    ("recombinant factor viii in x", "8"), ("recombinant factor ix in x", "9"), ("complex ii deficiency", "2"),
    ("twenty year outcomes", "20"), ("twenty five year outcomes", "25"), ("fifteen year outcomes", "15"),
    ("ninety nine cases of x", "99"), ("twenty oneself", "20"),
    # words, not numbers: "IV" (intravenous) mid-title, a lone "x" or "v", "via" after a sequence word;
    # units after a number ("24h", "3D") are no sub-part letters
    ("iv iron versus oral iron in x", ""), ("x in stage iv", "4"), ("clinical features of fragile x", ""),
    ("factor v leiden in x", ""), ("a pilot study via telehealth", ""), ("24h urine sodium", "24"),
    ("3d printing in x", "3"),
])
def test_title_numbers_read_sub_stages_numerals_and_number_words(title: str, numbers: str) -> None:
    assert title_numbers(title) == numbers
