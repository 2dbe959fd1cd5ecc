"""Field similarities of candidate pairs, computed column-wise with rapidfuzz.

Only blocked pairs are scored. String similarities use ``rapidfuzz.process.cpdist`` (the
element-wise, vectorised form of ``cdist``) so the scoring loop runs in C; exact-field
agreement (DOI, year, volume, first page) is plain NumPy comparison. Every score is kept in
the audit so a reviewer sees why a pair was merged or not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from rapidfuzz import fuzz, process

from evreview.dedup.blocking import Keys
from evreview.dedup.codes import factorize
from evreview.dedup.keys import journals_compatible, title_contrast

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: Agreement codes of exact fields: both present and equal / both present and different / a side missing.
AGREE, CONFLICT, MISSING = 1, -1, 0
#: Start pages differ but the page ranges overlap (a typo in one database: "945-948" vs "948-961").
OVERLAP = 2

SCORE_COLUMNS = (
    "title_score", "title_token_score", "title_partial_score", "author_score", "surname_score",
    "journal_score", "journal_compatible", "year_diff", "doi", "pmid", "registration",
    "volume", "issue", "first_page", "title_numbers_equal", "title_prefix",
    "page_one", "journal_present", "title_missing", "authors_missing", "title_generic",
    "notice_differs", "online_first", "same_venue_alias", "both_conference", "title_recurring",
    "page_range_equal", "title_word_prefix", "title_min_length", "title_word_suffix", "page_span_equal",
    "first_author", "doi_registrant", "title_numbers_cut", "correction_differs", "pages_shared",
    "title_contrast",
)


def _agreement(a: np.ndarray, b: np.ndarray, missing: object = "") -> np.ndarray:
    """AGREE/CONFLICT/MISSING per pair for an exact-match field."""
    present = (a != missing) & (b != missing)
    return np.where(present, np.where(a == b, AGREE, CONFLICT), MISSING).astype(np.int8)


def _pair_scores(
    left: np.ndarray, right: np.ndarray, scorer: object, workers: int, codes: np.ndarray | None = None
) -> np.ndarray:
    """Element-wise similarity 0-100 of two object arrays of text; pairs where either side is empty score 0.

    ``codes`` (optional) names each pair's two texts by one integer (see :func:`_text_pair_codes`):
    then each distinct pair of texts is scored once. Duplicates make the same pair of titles,
    authors or journals recur (a quarter of title pairs, over half of journal pairs), and a
    score depends on the two texts only, so the result is the same.
    """
    if not len(left):
        return np.zeros(0, dtype=np.float32)
    if codes is None:
        scores = process.cpdist(left.tolist(), right.tolist(), scorer=scorer, workers=workers, dtype=np.float32)
        scores[(left == "") | (right == "")] = 0.0
        return np.round(scores, 1)
    scores = np.zeros(len(left), dtype=np.float32)
    present = np.flatnonzero((left != "") & (right != ""))
    if len(present):
        _, first, inverse = np.unique(codes[present], return_index=True, return_inverse=True)
        rows = present[first]
        distinct = process.cpdist(
            left[rows].tolist(), right[rows].tolist(), scorer=scorer, workers=workers, dtype=np.float32
        )
        scores[present] = np.round(distinct, 1)[inverse.reshape(-1)]
    return scores


def _text_pair_codes(values: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """One int64 per pair (``values[i]``, ``values[j]``), equal exactly when both texts are."""
    codes = factorize(values, missing=())  # a missing value is a code too, never -1
    return codes[i] * max(int(codes.max(initial=0)) + 1, 1) + codes[j]


def _column(keys: Keys, name: str) -> np.ndarray:
    """Key column ``name`` as a NumPy array: whole numbers as int64, anything else as objects."""
    values = keys[name]
    if isinstance(values, list):
        array = np.empty(len(values), dtype=object)
        array[:] = values
        return array
    array = values if isinstance(values, np.ndarray) else values.to_numpy()
    return array if array.dtype == np.int64 else array.astype(object, copy=False)


def compare_pairs(keys: pd.DataFrame, pairs: pd.DataFrame, workers: int = 1) -> pd.DataFrame:
    """Add the similarity columns of :data:`SCORE_COLUMNS` to ``pairs`` (positions ``i``, ``j``)."""
    return with_scores(pairs, pair_scores(keys, pairs["i"].to_numpy(), pairs["j"].to_numpy(), workers))


def with_scores(pairs: pd.DataFrame, scores: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """``pairs`` with the score columns ``scores`` (:func:`pair_scores`) added or replaced."""
    import pandas as pd

    kept = pairs.drop(columns=[col for col in pairs.columns if col in scores])
    return pd.concat([kept, pd.DataFrame(scores, index=pairs.index)], axis=1)


@dataclass(frozen=True)
class ScoredPairs:
    """Candidate pairs and their scores computed elsewhere (the ``evreview dedup`` program's
    reader process): :func:`~evreview.dedup.blocking.candidate_pair_arrays` with
    ``max_block`` and ``window``, then :func:`pair_scores`, for the records whose ids in
    processing order (:func:`~evreview.dedup.merge.record_order`) are ``record_ids``.
    :meth:`~evreview.dedup.model.Deduplicator.fit` uses them only for those very records and
    settings, with no reviewer decisions to add pairs and no cache to keep scores in."""

    record_ids: list[str]
    max_block: int
    window: int
    pairs: dict[str, np.ndarray]
    scores: dict[str, np.ndarray]


def pair_scores(keys: Keys, i: np.ndarray, j: np.ndarray, workers: int = 1) -> dict[str, np.ndarray]:
    """The columns of :data:`SCORE_COLUMNS` for the pairs of positions ``i``, ``j`` into the
    keys (a keys table or key columns: no pandas needed)."""
    # columns are collected in a dict and framed once at the end: ~35 DataFrame.__setitem__ calls
    # cost more than the NumPy work on a few thousand pairs (same columns, order and dtypes)
    out: dict[str, np.ndarray] = {}
    n_pairs = len(i)

    def side(column: str) -> tuple[np.ndarray, np.ndarray]:
        values = _column(keys, column)
        return values[i], values[j]

    def scored(column: str, scorer: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        values = _column(keys, column)
        a, b = values[i], values[j]
        return a, b, _pair_scores(a, b, scorer, workers, _text_pair_codes(values, i, j))

    # titles are scored as spelt the American way ("programme" / "program", keys.american_spelling):
    # the rules that merge on a title's likeness read two spellings of one title as one
    tc_a, tc_b, out["title_score"] = scored("title_compact", fuzz.ratio)
    ts_a, ts_b, out["title_token_score"] = scored("title_spelled", fuzz.token_sort_ratio)
    tk_a, tk_b = side("title_key")  # as written: contrasts read places and contrast words in their own spelling
    au_a, au_b, out["author_score"] = scored("author_key", fuzz.token_set_ratio)
    _, _, out["surname_score"] = scored("surname_key", fuzz.token_sort_ratio)
    jo_a, jo_b, out["journal_score"] = scored("journal_key", fuzz.token_set_ratio)
    # abbreviation-aware, or nearly the same words ("2010 IEEE Int Conf X" vs "IEEE INT CONF X (SMC)");
    # the word-by-word check only where neither makes it compatible already, once per pair of names
    compatible = (out["journal_score"] >= 90) | (jo_a == "") | (jo_b == "") | (jo_a == jo_b)
    check = np.flatnonzero(~compatible)
    if len(check):
        seen: dict[tuple[str, str], bool] = {}
        found = []  # the few compatible ones, set at once: a NumPy item assignment per pair cost more
        for pos, a, b in zip(check.tolist(), jo_a[check].tolist(), jo_b[check].tolist()):
            hit = seen.get((a, b))
            if hit is None:
                hit = seen[(a, b)] = journals_compatible(a, b)
            if hit:
                found.append(pos)
        compatible[found] = True
    out["journal_compatible"] = compatible
    y_a, y_b = side("year_key")
    out["year_diff"] = np.where((y_a < 0) | (y_b < 0), -1, np.abs(y_a - y_b)).astype(np.int16)
    for name, column in (("doi", "doi_key"), ("pmid", "pmid_key"), ("registration", "registration_key"),
                         ("volume", "volume_key"), ("issue", "issue_key"),
                         ("first_page", "first_page"), ("first_author", "first_author")):
        a, b = side(column)
        out[name] = _agreement(a, b)
    # two DOIs of one registrant ("10.1586/14737140.7.1.57" and "10.1586/14787210.7.1.57"): a typo
    # in one publisher's DOI is possible, another publisher's DOI names another publication.
    # Only pairs whose DOIs differ are looked at (few: most pairs have the same DOI or lack one)
    registrant = np.zeros(n_pairs, dtype=bool)
    differ = np.flatnonzero(out["doi"] == CONFLICT)
    if len(differ):
        d_a, d_b = side("doi_key")
        registrant[differ] = [a.split("/", 1)[0] == b.split("/", 1)[0]
                              for a, b in zip(d_a[differ].tolist(), d_b[differ].tolist())]
    out["doi_registrant"] = registrant
    len_a = np.fromiter(map(len, tc_a), dtype=np.int64, count=len(tc_a))
    len_b = np.fromiter(map(len, tc_b), dtype=np.int64, count=len(tc_b))
    short = np.minimum(len_a, len_b)
    out["title_min_length"] = short
    # one compact title starts the other: only long titles count, so only they are checked
    prefix = np.zeros(len(short), dtype=bool)
    check = np.flatnonzero(short >= 40)
    prefix[check] = [a.startswith(b) or b.startswith(a) for a, b in zip(tc_a[check].tolist(), tc_b[check].tolist())]
    out["title_prefix"] = prefix
    pf_a, pf_b = side("page_first")
    pl_a, pl_b = side("page_last")
    # two ranges that only touch ("401-409" / "409-415") under titles that differ are two articles
    # printed back to back (one group's "... in rural Kenya" / "... in urban Kenya"), not one with
    # a mistyped range: other pages (a conflict), not an overlap. The same title on touching
    # ranges is one article with one database's range wrong (Zanotti 2003, "945-948" / "948-961")
    touching = ((pl_a > pf_a) & (pl_b > pf_b) & (np.minimum(pl_a, pl_b) == np.maximum(pf_a, pf_b))
                & (tc_a != tc_b))
    overlap = ((out["first_page"] == CONFLICT) & (pf_a >= 0) & (pf_b >= 0) & (pf_a <= pl_b) & (pf_b <= pl_a)
               & ~touching)
    out["first_page"] = np.where(overlap, OVERLAP, out["first_page"]).astype(np.int8)
    # overlapping ranges that share two or more pages ("2141-2147" / "2142-2147", a start page
    # mistyped), not two articles printed back to back ("401-409" / "409-415": one page shared)
    out["pages_shared"] = overlap & (np.minimum(pl_a, pl_b) > np.maximum(pf_a, pf_b))
    out["page_one"] = (pf_a == 1) | (pf_b == 1)
    # "1-6" against "e12724": per-article pagination against an article number, not a conflict
    out["first_page"] = np.where((out["first_page"] == CONFLICT) & out["page_one"],
                                 MISSING, out["first_page"]).astype(np.int8)
    n_a, n_b = side("title_numbers")
    # titles alike letter for letter have the same numbers: "... grakabr i" (a typo's stray letter,
    # read as a trailing Roman numeral) is "... grakabri", "type ii" is "typeii" (spelling changes
    # no number word: "four" is not "for")
    numbers_equal = n_a == n_b
    differ = np.flatnonzero(~numbers_equal)
    numbers_equal[differ] = tc_a[differ] == tc_b[differ]
    out["title_numbers_equal"] = numbers_equal
    # one title cut short (prefix): the numbers it keeps must lead the other's ("...: Part I" is
    # not "...: Part II" cut short, though it is its compact prefix)
    cut = np.zeros(n_pairs, dtype=bool)
    check = np.flatnonzero(prefix & ~out["title_numbers_equal"])
    cut[check] = [_numbers_lead(a, b) if la <= lb else _numbers_lead(b, a)
                  for a, b, la, lb in zip(n_a[check].tolist(), n_b[check].tolist(),
                                          len_a[check].tolist(), len_b[check].tolist())]
    out["title_numbers_cut"] = cut
    # titles alike but for who the study is about ("... in men" / "... in women"): only alike,
    # different titles can be merged on their title, so only they are looked at
    contrast = np.zeros(n_pairs, dtype=bool)
    check = np.flatnonzero((out["title_score"] >= 80) & (ts_a != ts_b))  # titles alike once spelt name no contrast
    # one word swapped ("mice" / "rats") or a negation added counts only where a rule could merge two
    # titles a word apart: titles alike (see rules.py), one DOI, or one page range; elsewhere the pair
    # is told apart anyway ("Transplantation" / "Thrombomodulin in aHUS"), and a question would be noise
    range_equal = (pf_a >= 0) & (pf_a == pf_b) & (pl_a == pl_b) & (pl_a > pf_a)
    swaps = ((out["title_score"] >= 85) | (out["title_token_score"] >= 95) | prefix | (out["doi"] == AGREE)
             | range_equal)
    contrast[check] = [title_contrast(a, b, s) for a, b, s in
                       zip(tk_a[check].tolist(), tk_b[check].tolist(), swaps[check].tolist())]
    out["title_contrast"] = contrast
    out["journal_present"] = (jo_a != "") & (jo_b != "")
    out["title_missing"] = (tk_a == "") | (tk_b == "")
    out["authors_missing"] = (au_a == "") | (au_b == "")
    g_a, g_b = side("title_generic")
    out["title_generic"] = g_a.astype(bool) | g_b.astype(bool)
    no_a, no_b = side("title_notice")
    out["notice_differs"] = no_a.astype(bool) != no_b.astype(bool)
    # a correction notice ("Erratum to: <title>") against an item: the one notice grouped with its item
    cr_a, cr_b = side("title_correction")
    out["correction_differs"] = out["notice_differs"] & (cr_a.astype(bool) | cr_b.astype(bool))
    of_a, of_b = side("online_first")
    out["online_first"] = of_a.astype(bool) | of_b.astype(bool)
    va_a, va_b = side("venue_alias")
    out["same_venue_alias"] = (va_a != "") & (va_a == va_b)
    out["journal_compatible"] = out["journal_compatible"] | out["same_venue_alias"]
    co_a, co_b = side("conference")
    out["both_conference"] = co_a.astype(bool) & co_b.astype(bool)
    re_a, re_b = side("title_recurring")
    out["title_recurring"] = re_a.astype(bool) | re_b.astype(bool)
    # a full page range that agrees ("1-29" both) locates an article even when it starts at page 1
    out["page_range_equal"] = range_equal
    # two page ranges of the same length (5+ pages), wherever they start: an article printed twice
    span_a, span_b = pl_a - pf_a, pl_b - pf_b
    out["page_span_equal"] = (pf_a >= 0) & (pf_b >= 0) & (span_a == span_b) & (span_a >= 4)
    # one title's words start / end the other's: only where the titles differ and the shorter has 3+ words
    word_prefix = np.zeros(n_pairs, dtype=bool)
    word_suffix = np.zeros(n_pairs, dtype=bool)
    check = np.flatnonzero((len_a != len_b) & (short >= 3))
    prefixes, suffixes = [], []  # positions of the (few) hits, set at once after the loop
    for pos, a, b in zip(check.tolist(), ts_a[check].tolist(), ts_b[check].tolist()):
        # inline _word_prefix / _word_suffix: this loop sees most pairs
        if len(a) > len(b):
            a, b = b, a
        if a and a != b and a.count(" ") >= 2:
            if b.startswith(a + " "):
                prefixes.append(pos)
            if b.endswith(" " + a):
                suffixes.append(pos)
    word_prefix[prefixes] = True
    word_suffix[suffixes] = True
    out["title_word_prefix"] = word_prefix
    out["title_word_suffix"] = word_suffix
    # partial_ratio is the costly scorer and only the rules in `partial_needed` read it: score
    # those pairs, leave the rest blank (NaN) in the audit
    partial = np.full(n_pairs, np.nan, dtype=np.float32)
    need = np.flatnonzero(partial_needed(out))
    partial[need] = _pair_scores(ts_a[need], ts_b[need], fuzz.partial_ratio, workers)
    out["title_partial_score"] = partial
    return out


def _numbers_lead(short: str, long: str) -> bool:
    """The numbers of a cut-short title (``short``) are the leading numbers of the full title's."""
    kept, full = short.split(), long.split()
    return full[:len(kept)] == kept


def partial_needed(scores: Mapping[str, Any]) -> np.ndarray:
    """Pairs whose decision can depend on ``title_partial_score`` (see :mod:`.rules`).

    Only titles that are not already the same (``title_score`` < 95) with a shared DOI, a
    correction notice on one side, or authors, year, volume and start page in agreement.
    """
    def col(name: str) -> np.ndarray:
        return np.asarray(scores[name])

    t = col("title_score")
    locator = ((col("author_score") >= 90) & (col("year_diff") == 0)
               & (col("volume") == AGREE) & (col("first_page") == AGREE))
    return (t < 95) & ((col("doi") == AGREE) | col("notice_differs") | locator)


# _word_prefix and _word_suffix define the title_word_prefix / title_word_suffix columns; compare_pairs
# computes both in one inline loop (tests/test_dedup.py checks the loop against these definitions).
def _word_prefix(a: str, b: str) -> bool:
    """One title is the other with a subtitle dropped: its words start the other's (3+ words)."""
    if not a or not b or a == b:
        return False
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return short.count(" ") >= 2 and long.startswith(short + " ")


def _word_suffix(a: str, b: str) -> bool:
    """One title is the other behind a lead-in ("How did it ... <title>"): its words end the other's (3+ words)."""
    if not a or not b or a == b:
        return False
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return short.count(" ") >= 2 and long.endswith(" " + short)
