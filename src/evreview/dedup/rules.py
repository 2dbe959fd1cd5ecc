"""Decision rules: scored pairs -> same / maybe / different, each with the rule that decided.

Precision first: a false merge silently loses a study, a missed duplicate only costs a
reviewer a second look. So hard contradictions (different DOIs, years two or more apart,
different start pages or volumes, different numbers in the title, a notice against an item)
decide "different" before any similarity can decide "same", and "same" needs the title plus
independent bibliographic agreement. Anything plausible but unproven is "maybe", listed for a
reviewer and never merged automatically.

A few narrow "same" rules run before a contradiction they override, each demanding more
agreement than the contradiction removes: an erratum notice by the article's authors in its
journal volume and year (``erratum_of_item``, despite its own DOI and page), and the same long
title by the same authors on other pages of the same journal volume and year
(``title_same_volume_other_pages``: the labelled sets count corrections and supplement
abstracts printed there as the same item), and an article the journal printed twice
(``duplicate_publication_same_length``: same long title, authors and journal, a year apart at
most, on as many pages, despite another DOI, volume and start page).

Rules are evaluated in order; the first that fires decides. The order and thresholds are
the method's parameters and are written to the audit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from evreview.dedup.compare import AGREE, CONFLICT


@dataclass(frozen=True)
class RuleParams:
    """Thresholds (rapidfuzz scores, 0-100) of the decision rules."""

    #: titles at least this similar (compact ``fuzz.ratio``) are "the same title"
    title_same: float = 95.0
    #: titles at least this similar may still be the same study (typos, truncation)
    title_similar: float = 85.0
    #: with a shared DOI/PMID, titles must still be at least this similar
    title_with_id: float = 80.0
    #: author lists at least this similar (``token_set_ratio``) agree
    author_agree: float = 70.0
    #: author lists below this clearly differ
    author_conflict: float = 50.0
    #: surname lists at least this similar (``token_sort_ratio``) are "the same authors" for the strict rules
    surnames_strict: float = 95.0
    #: titles at least this long (characters, spaces removed) are specific enough for the strict rules
    long_title: int = 40

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


#: The decisions a pair can get, and the rules that name a reviewer's decision (see model.py).
DECISIONS = ("same", "maybe", "different")
REVIEWER_RULES = ("reviewer_same", "reviewer_different", "reviewer_maybe")


def decide(pairs: pd.DataFrame, params: RuleParams | None = None) -> pd.DataFrame:
    """Add ``decision``, ``rule`` (categoricals) and ``score`` columns to scored pairs (see :mod:`.compare`)."""
    p = params or RuleParams()
    t = pairs["title_score"].to_numpy()
    tt = pairs["title_token_score"].to_numpy()
    au = pairs["author_score"].to_numpy()
    doi = pairs["doi"].to_numpy()
    pmid = pairs["pmid"].to_numpy()
    registration = pairs["registration"].to_numpy()
    vol = pairs["volume"].to_numpy()
    page = pairs["first_page"].to_numpy()
    yd = pairs["year_diff"].to_numpy()
    jc = pairs["journal_compatible"].to_numpy()
    j_present = pairs["journal_present"].to_numpy()
    prefix = pairs["title_prefix"].to_numpy()
    partial = pairs["title_partial_score"].to_numpy()
    issue = pairs["issue"].to_numpy()
    first_author = pairs["first_author"].to_numpy()
    page_one = pairs["page_one"].to_numpy()
    # the same numbers, or one title cut short keeping the other's leading numbers
    nums = pairs["title_numbers_equal"].to_numpy() | pairs["title_numbers_cut"].to_numpy()
    no_title = pairs["title_missing"].to_numpy()
    no_authors = pairs["authors_missing"].to_numpy()
    generic = pairs["title_generic"].to_numpy()
    notice = pairs["notice_differs"].to_numpy()
    correction = pairs["correction_differs"].to_numpy()
    online = pairs["online_first"].to_numpy()
    surname = pairs["surname_score"].to_numpy()
    both_conf = pairs["both_conference"].to_numpy()
    recurring = pairs["title_recurring"].to_numpy()
    range_equal = pairs["page_range_equal"].to_numpy()
    word_prefix = pairs["title_word_prefix"].to_numpy()
    word_suffix = pairs["title_word_suffix"].to_numpy()
    span_equal = pairs["page_span_equal"].to_numpy()
    pages_shared = pairs["pages_shared"].to_numpy()
    registrant = pairs["doi_registrant"].to_numpy()
    long_title = pairs["title_min_length"].to_numpy() >= p.long_title

    title_same = t >= p.title_same
    title_similar = (t >= p.title_similar) | (tt >= p.title_same) | prefix
    authors_ok = no_authors | (au >= p.author_agree)
    authors_clash = ~no_authors & (au < p.author_conflict)
    bib_page = page == AGREE
    # the same start page locates an article only when it is not page 1: article-numbered journals
    # (Sci Rep, PLoS ONE, MDPI, JMIR as "1-12") start every article at page 1
    locator_page = bib_page & ~page_one
    bib_vol = (vol == AGREE) & jc
    year_same = yd == 0
    year_ok = yd <= 0  # equal or unknown
    # independent evidence besides the title: how many of these agree
    support = (
        (~no_authors & (au >= p.author_agree)).astype(int)
        + year_same.astype(int)
        + (j_present & jc).astype(int)
        + bib_page.astype(int)
        + (vol == AGREE).astype(int)
    )

    # the same long title (no generic, recurring or notice title) by the same authors
    same_work = (title_same & nums & long_title & ~generic & ~recurring & ~notice & ~no_authors
                 & (surname >= p.surnames_strict))
    # the same authors, journal, volume, issue, start page (not 1) and year
    same_issue_locator = (~no_authors & (au >= 80) & (surname >= 90) & year_same & bib_page & ~page_one
                          & (vol == AGREE) & (issue == AGREE) & j_present & jc & ~notice)

    rules: list[tuple[str, str, np.ndarray]] = [
        # titles alike but for who or where the study is about ("... in men" / "... in women",
        # adults / adolescents, acute / chronic, "in Kenya" / "in Ghana"): one group's sibling
        # papers or abstracts agree on every other field, a shared supplement DOI included, so no
        # other rule may merge them. A maybe that keeps them apart, unless the PMID says they are
        # one record
        ("maybe", "title_population_differs",
         pairs["title_contrast"].to_numpy() & (pmid != AGREE) & (registration != AGREE)),
        # a DOI names one item, but a supplement's or proceedings' DOI is written on each of its
        # abstracts: titles with other numbers ("3-year" / "5-year follow-up of KEYNOTE-189") or by
        # other authors under one DOI are two items, for a reviewer (doi_shared_other_item) ...
        ("same", "doi_match", (doi == AGREE) & (no_title | ((t >= p.title_with_id) & nums & ~authors_clash))),
        ("same", "doi_match_title_contained",
         (doi == AGREE) & ~notice & ((partial >= 95) | prefix) & nums & ~authors_clash),
        # ... and they stay apart (a hard rule in cluster.py): a record with only that DOI (no title)
        # matches both by doi_match and would otherwise join them in one study. One PMID names one item
        ("maybe", "doi_shared_other_item",
         (doi == AGREE) & ~notice & ~no_title & (~nums | authors_clash) & (pmid != AGREE)),
        # a translated title: the DOI plus the PMID, or the DOI plus the full locator, and the same authors
        ("same", "doi_match_translated_title",
         (doi == AGREE) & ~notice & (no_authors | (surname >= p.surnames_strict))
         & ((pmid == AGREE) | (year_same & bib_page & (vol == AGREE) & j_present & jc))),
        ("maybe", "doi_match_title_differs", (doi == AGREE) & ~notice),
        ("same", "pmid_match", (pmid == AGREE) & (no_title | (t >= p.title_with_id))),
        # one trial in two trial registers or portals (ClinicalTrials.gov and WHO ICTRP), by its
        # registration number, whatever the titles (the brief one and the scientific one)
        ("same", "registration_match", registration == AGREE),
        # two registration numbers: two trials with one title (a sponsor's series of studies), or
        # one trial registered twice (ClinicalTrials.gov and ISRCTN): a reviewer's question
        ("maybe", "registration_differs", registration == CONFLICT),
        # "Erratum to: <title>": the correction notice of an article, by its authors, in its journal
        # volume and year; the labelled sets group it with the article (it has a DOI of its own)
        # Only a correction of the article itself: the erratum of its "Part 2" has other numbers,
        # and a reply, comment or retraction notice by its authors is another item (a retraction
        # merged into its article would hide it)
        ("same", "erratum_of_item",
         correction & nums & ((partial >= 98) | (t >= 95)) & long_title & ~no_authors & (au >= 90)
         & (surname >= p.surnames_strict) & year_same & (vol == AGREE) & j_present & jc),
        # a duplicate publication: the journal printed the article twice (another year, volume,
        # pages and DOI); the same long title by the same authors in the same journal within a
        # year, on as many pages (5+). A recurring column or a one-page notice differs in length.
        ("same", "duplicate_publication_same_length",
         (t >= 99) & nums & long_title & ~generic & ~recurring & ~notice & ~no_authors & (au >= 95)
         & (surname >= p.surnames_strict) & j_present & jc & (yd >= 0) & (yd <= 1) & (page == CONFLICT) & span_equal),
        # one publisher's two DOIs for one printed article: the same long title and authors in
        # the same journal, volume, issue, page range and year (IEBH copper: Levin, Expert Rev
        # Anti Infect Ther 7(1):57-68, as 10.1586/14737140.7.1.57 and 10.1586/14787210.7.1.57,
        # the ISSN part of one mistyped). Two articles cannot share all of that
        ("same", "doi_typo_same_article",
         (doi == CONFLICT) & registrant & same_work & year_same & j_present & jc & (vol == AGREE)
         & (issue == AGREE) & range_equal),
        # other DOIs for the same long title by the same authors: a preprint and its article, a
        # conference paper and its journal version, a reprint. Never merged (a DOI names one
        # publication), but listed for a reviewer, who may call them one study
        ("maybe", "doi_conflict_same_title_authors", (doi == CONFLICT) & same_work),
        ("different", "doi_conflict", doi == CONFLICT),
        ("different", "pmid_conflict", pmid == CONFLICT),
        ("different", "notice_vs_item", notice),
        ("maybe", "no_title_bibliographic_match",
         no_title & ~no_authors & (au >= 90) & year_same & bib_page & (vol == AGREE)),
        ("different", "no_title", no_title),
        # "p6INK4a" vs "p16(INK4a)": a digit typo, when journal, volume, page range, year and authors
        # agree; the whole range (2+ pages), not the start page: a supplement page holds several
        # abstracts, and one group's "3-year" and "5-year" results may share it
        ("same", "title_numbers_typo_bibliographic",
         ~nums & (t >= p.title_same) & range_equal & ~page_one & (vol == AGREE) & year_same & ~no_authors
         & (au >= 90) & j_present & jc),
        ("different", "title_numbers_differ", ~nums),
        # the same long title by the same authors in the same journal volume and issue, two
        # years apart: one database dates the article by its online-first year, the other by
        # the issue's (Lens 2019 "1-17" against Scopus 2021 "891-907", Int J Ment Health Addict
        # 19(4)); one issue of a journal does not hold the same article twice
        ("same", "title_same_issue_years_apart",
         same_work & (yd == 2) & j_present & jc & (vol == AGREE) & (issue == AGREE) & (page != CONFLICT)),
        ("different", "year_conflict", yd >= 2),
        # the same long title by the same authors in the same journal volume and year, on other
        # pages: an erratum or correction printed later in the volume, or the meeting abstract in
        # a supplement; the labelled sets count these as the same item
        ("same", "title_same_volume_other_pages",
         (t >= 99) & long_title & ~generic & ~recurring & ~no_authors & (au >= 90) & (surname >= 90)
         & year_same & (vol == AGREE) & j_present & jc & (page == CONFLICT)),
        ("different", "pages_conflict", (page == CONFLICT) & ~online),
        ("different", "volume_conflict", (vol == CONFLICT) & ~online),
        # a recurring column ("Editor's Comments") has one title per issue of a volume
        ("different", "issue_conflict", (issue == CONFLICT) & (page != AGREE)),
        # two articles of one volume in different issues, both starting on page 52 (journals
        # that number each issue's pages from 1) by other authors (another first author, the
        # surnames unlike), with titles that differ (another place, another project): what the
        # author-token overlap of common names and a similar title would otherwise merge. Found
        # as 2 false merges in 200k synthetic records. The same first author with the list cut
        # short in one database is not "other authors".
        ("different", "issue_conflict_authors_differ",
         (issue == CONFLICT) & (t < p.title_same) & ~no_authors & (surname < p.surnames_strict)
         & (first_author == CONFLICT)),
        # journal, volume, start page, year and authors all agree: one article, its title
        # written differently (translated, a section heading prefixed, a subtitle dropped)
        # Page 1 is no locator (two sibling papers of one group in one Sci Rep volume, "1-10" each),
        # and titles that are not alike need the whole page range: one page holds several items
        ("same", "bibliographic_match_title_variant",
         ((t >= 70) | (partial >= 95)) & ~no_authors & (au >= 90)
         & year_same & locator_page & (title_similar | range_equal) & (vol == AGREE) & j_present & jc & ~generic),
        # journal + volume + issue + start page + year locate one article (a translated title);
        # start page 1 does not (article-numbered journals start every article at 1). Titles
        # that are not alike need the whole page range (2+ pages) to agree: one page holds
        # several short items by one author (two commentaries by K Resch on page 133 of
        # Tierarztl Prax 47(2), "Categorization of ... Skull Shape" and "Do castrated overweight
        # dogs die earlier?", were merged), a translated article has the same range in both
        ("same", "bibliographic_locator_match", same_issue_locator & (title_similar | range_equal)),
        # the same locator, titles unlike and no page range to tell one article from two items
        # on one page: for a reviewer to look at
        ("maybe", "bibliographic_locator_title_differs", same_issue_locator),
        # "Infrastructure in the wild" vs "Infrastructure in the wild: what mapping ... reveals": a
        # subtitle dropped, on the same pages of the same venue and year by the same authors
        ("same", "title_subtitle_dropped_locator",
         word_prefix & ~generic & ~notice & ~recurring & ~no_authors & (surname >= p.surnames_strict) & year_same
         & j_present & jc & ((bib_page & ~page_one) | range_equal)),
        # "How did it ... Upwork's CEO on how ..." vs "Upwork's CEO on how ...": a lead-in (a teaser,
        # a section name) before the whole long title, by the same authors in the same journal
        # issue and year, nothing contradicting
        ("same", "title_lead_in_same_issue",
         word_suffix & long_title & ~generic & ~notice & ~recurring & ~no_authors & (surname >= p.surnames_strict)
         & year_same & j_present & jc & (issue == AGREE) & (vol != CONFLICT) & (page != CONFLICT)),
        ("different", "title_differs", ~title_similar),
        # "Editorial" on page 1 of one volume: every issue of an article-numbered journal has one;
        # page 1 locates it only with its authors
        ("same", "generic_title_bibliographic",
         generic & title_same & year_same & (locator_page | (bib_page & ~no_authors & (au >= 90))) & bib_vol
         & authors_ok),
        ("maybe", "generic_title", generic & title_same & year_ok & ~authors_clash),
        ("different", "generic_title_differs", generic),
        ("maybe", "authors_differ", authors_clash),
        ("same", "title_adjacent_year_bibliographic",
         title_same & (yd == 1) & (locator_page | bib_vol) & ~no_authors & (au >= p.author_agree)),
        ("same", "title_online_first",
         title_same & (yd == 1) & online & ~no_authors & (au >= 90) & j_present & jc),
        # a conference paper indexed under the meeting year and the proceedings year (ICIS in
        # December): same long title, same conference (acronyms resolved), same authors
        ("same", "conference_version_adjacent_year",
         title_same & (yd == 1) & both_conf & j_present & jc & long_title & ~generic & ~recurring & ~notice
         & ~no_authors & (surname >= p.surnames_strict)),
        ("maybe", "title_adjacent_year", title_same & (yd == 1)),
        ("same", "title_bibliographic", title_same & year_ok & ~jc & locator_page & (vol == AGREE)),
        # one journal under two names (a transliterated and a translated name): the same long title,
        # year, volume, issue and authors
        ("same", "title_locator_venue_renamed",
         title_same & ~jc & long_title & ~generic & ~recurring & year_same & (vol == AGREE) & (issue == AGREE)
         & ~no_authors & (surname >= p.surnames_strict)),
        ("maybe", "title_venue_differs", title_same & ~jc),
        ("same", "title_match", title_same & year_ok & authors_ok & (support >= 2)),
        ("maybe", "title_match_little_support", title_same),
        # a similar title needs the same start page (not 1), or page ranges of the same volume that
        # share 2+ pages (a start page mistyped: "2141-2147" vs "2142-2147"): the same volume alone
        # is the same year in most journals, and one group's sibling papers ("... in Kenya" / "... in
        # Ghana", "... in adults" / "... in adolescents") share journal, volume, year and authors,
        # and may be printed back to back ("401-409" / "409-415")
        ("same", "similar_title_bibliographic",
         title_similar & year_same & ~no_authors & (au >= 80) & (locator_page | (pages_shared & bib_vol))),
        ("maybe", "similar_title",
         title_similar & year_same & ~no_authors & (au >= 90) & j_present & jc),
        ("different", "similar_title_unsupported", np.ones(len(pairs), dtype=bool)),
    ]
    # the first rule that fires decides; kept as codes (categoricals): millions of pairs, a few
    # dozen rules, and a Python string per pair cost more than every rule above together
    which = np.full(len(pairs), len(rules) - 1, dtype=np.int16)  # the last rule fires for every pair
    undecided = np.ones(len(pairs), dtype=bool)
    for k, (_, _, mask) in enumerate(rules):
        hit = undecided & mask
        which[hit] = k
        undecided &= ~hit
    names = [name for _, name, _ in rules] + list(REVIEWER_RULES)
    verdict_code = np.array([DECISIONS.index(verdict) for verdict, _, _ in rules], dtype=np.int8)
    out = pairs.copy(deep=False)  # copy-on-write: the caller's frame is never changed
    out["decision"] = pd.Categorical.from_codes(verdict_code[which], categories=list(DECISIONS))
    out["rule"] = pd.Categorical.from_codes(which, categories=names)
    with np.errstate(invalid="ignore"):
        parts = np.stack([t, np.where(no_authors, np.nan, au), np.where(j_present, pairs["journal_score"], np.nan)])
        out["score"] = np.round(np.nanmean(parts, axis=0), 1)
    return out

