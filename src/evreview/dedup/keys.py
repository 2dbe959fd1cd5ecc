"""Normalised matching keys: the forms in which two spellings of one study compare equal.

Exports disagree on capitalisation, punctuation, diacritics, journal abbreviations, page
ranges and DOI versions. Everything downstream (blocking, similarities, rules) works on the
key table built here once, so each record is normalised once however many pairs it is in.
Functions are pure; the per-string work has an ASCII fast path because it runs on every
record of million-record searches.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from evreview.dedup.places import join_places, place_of
from evreview.records import is_register

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: ASCII punctuation and whitespace as a space, as a byte table: ``bytes.translate`` is a table
#: lookup per byte, 2-3x faster than ``str.translate`` with a mapping (folding is most of the key
#: building). ``\x1c``-``\x1f`` are whitespace to ``str.split`` but not to ``bytes.split``, hence here.
_ASCII_PUNCT = bytes(
    32 if chr(byte) in string.punctuation + "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f" else byte for byte in range(256)
)
_NON_WORD = re.compile(r"[^\w]+")
_DIGITS = re.compile(r"\d+")
#: A SICI DOI that ends at its issue part "(year)volume": the item part "[page:code]..." is missing.
_SICI_ISSUE_ONLY = re.compile(r"\(\d{4}\)\d+$")
_COCHRANE_VERSION = re.compile(r"^(10\.1002/14651858\.[a-z]{2}\d+)(?:\.pub\d+)?$")
_LEADING_NUMBER = re.compile(r"^[a-z]{0,3}(\d+)")
#: Notes databases append to titles: "[Review]", "[Erratum appears in ...", "(vol 142, pg 310, 2003)",
#: "(multiple letters)", and a trailing "... N Engl J Med. 2009 Jan 29;360(5):544-6" citation; a
#: trailing "(Abstract)" (Embase and Web of Science on meeting abstracts, as "[abstract]" elsewhere) and
#: MEDLINE's "(author's transl)" on translated titles of the 1970s-80s. Not "(review)": Project MUSE
#: titles a book review "<the book's title> (review)", another item than the book.
_TITLE_NOTES = re.compile(
    r"\[[^\]]*(?:\]|$)"
    r"|\((?:vol|volume)\b[^)]*(?:\)|$)"
    r"|\(multiple letters\)"
    r"|\((?:(?:meeting|conference) )?abstracts?\)(?=\W*$)"
    r"|\(authors?['\u2019]?s?['\u2019]? transl(?:\.|ation)?\)"
    r"|\s*\.{2,}\s+[^.]*\.\s+(?:19|20)\d\d\b.*$",
    re.IGNORECASE,
)

#: Words ignored when comparing journal names ("The Lancet" == "Lancet").
JOURNAL_STOPWORDS = frozenset({"the", "of", "and", "for", "in", "on", "a", "an", "de", "la", "le", "und", "der"})

#: Titles this generic name a kind of item, not a study: they never match on title alone.
GENERIC_TITLES = frozenset(
    {
        "unknown", "untitled", "no title", "editorial", "erratum", "errata", "correction",
        "corrigendum", "reply", "response", "author reply", "authors reply", "letter",
        "letter to the editor", "comment", "commentary", "book review", "book reviews",
        "introduction", "preface", "foreword", "in this issue", "abstracts", "news",
        "retraction", "retraction notice", "notice of retraction", "correspondence",
        "index", "contents", "table of contents", "editors note", "editor s note",
        "announcement", "obituary", "review", "summary",
    }
)

#: Title starts that mark a notice about another item (same title as the item it refers to).
NOTICE_PREFIXES = (
    "erratum", "errata", "correction", "corrigendum", "reply", "response to", "retraction",
    "retracted", "notice of retraction", "comment on", "in reply", "expression of concern",
    "withdrawn", "author correction", "publisher correction", "addendum", "commentary on",
    "invited commentary on", "editorial comment on", "in response to", "supplementary material for",
    "supplementary materials for", "supplemental material for", "supplementary information for",
    "supplementary data for", "publisher s note",
)
#: Notice prefixes of a correction of the item itself (not a reply, comment or retraction):
#: Nature's "Author Correction" and "Publisher Correction" are its errata.
CORRECTION_PREFIXES = ("erratum", "errata", "correction", "corrigendum", "author correction", "publisher correction")
#: Notices known by a colon after a word that starts studies' titles too: J Urol's commentaries
#: "Re: <title>" ("Re-evaluation of ..." is a study), Aliment Pharmacol Ther's "Letter: <title>"
#: ("Letters of recommendation ..."), Dryad's data packages "Data from: <title>" ("Data from a
#: national registry ..."). Read from the title as written, before folding drops the colon.
_COLON_NOTICE = re.compile(r"\s*(?:re|letter|data from)\s*:", re.IGNORECASE)
_COLON_NOTICE_WORDS = ("re ", "letter ", "data from ")

#: Conference acronyms and the folded long names databases write for them ("ICIS : Transforming
#: Society with Digital Innovation" and "International Conference on Information Systems" are
#: one venue). Matched on whole words of the folded venue, stop words removed.
VENUE_ALIASES = {
    "amcis": ("americas conference information systems",),
    "icis": ("international conference information systems",),
    "ecis": ("european conference information systems",),
    "hicss": ("hawaii international conference system sciences",),
    "pacis": ("pacific asia conference information systems",),
    "chi": ("chi conference human factors computing systems", "conference human factors computing systems"),
    "cscw": ("computer supported cooperative work",),
}

_VENUE_OF = {name: acronym for acronym, names in VENUE_ALIASES.items() for name in (acronym, *names)}
_VENUE_PATTERN = re.compile(
    r"(?:^| )(" + "|".join(sorted(map(re.escape, _VENUE_OF), key=len, reverse=True)) + r")(?: |$)"
)
_MEETING_WORDS = frozenset({"conference", "proceedings", "symposium", "workshop"})

#: Words of a title that mark a recurring item (one per conference year), never a study's version.
RECURRING_TITLE_WORDS = frozenset({"minitrack", "track", "introduction", "editorial", "preface", "foreword"})

#: The names of the Greek letters, as MEDLINE and Web of Science spell the letters out in titles
#: ("beta-blockers", "TNF-alpha", "NF-kappaB") where Scopus, Embase and publishers keep the symbol.
GREEK_LETTER_NAMES = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
                      "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi",
                      "psi", "omega")
#: Each Greek letter (both cases, the final sigma, the symbol variants and the micro sign) as its name
#: between spaces.
_GREEK_TABLE = {
    **{ord(chr(0x3B1 + k)): f" {name} " for k, name in enumerate(GREEK_LETTER_NAMES[:17])},  # alpha-rho
    **{ord(chr(0x3C3 + k)): f" {name} " for k, name in enumerate(GREEK_LETTER_NAMES[17:])},  # sigma-omega
    **{ord(chr(0x391 + k)): f" {name} " for k, name in enumerate(GREEK_LETTER_NAMES[:17])},
    **{ord(chr(0x3A3 + k)): f" {name} " for k, name in enumerate(GREEK_LETTER_NAMES[17:])},
    ord("\u03c2"): " sigma ", ord("\u03d1"): " theta ", ord("\u03d5"): " phi ", ord("\u03f5"): " epsilon ",
    ord("\u00b5"): " mu ",
}
#: The micro sign (or mu) before a unit ("µmol/L", "μg/kg", "μm"): MEDLINE writes "micromol/L",
#: "microg/kg", "microm", so it is read as the prefix "micro", glued, not as the letter's name.
_MICRO_UNIT = re.compile("[\u00b5\u03bc](?=(?:mol|g|l|L|m|M|s|V|A|W|F|Sv|Ci|Gy|Pa|J|Hz|IU|U|kat)(?![A-Za-z]))")
#: Greek letters standing in Latin text ("β-blockers", "γδ T cells", "NF-κB")
_GREEK_SYMBOLS = re.compile("[\u00b5\u0370-\u03ff]+")
#: A Greek word (three letters or more): a title in Greek is left as it is, no string of letter names
_GREEK_WORD = re.compile("[\u0370-\u03ff\u1f00-\u1fff]{3}")
#: A spelt-out letter glued to its word in a folded title ("il 1beta", "tnfalpha", "nf kappab",
#: "beta2"): the letter's name is made a word of its own, as the symbol's name is. Only the names of
#: 4+ letters (shorter ones end or start too many words: "meta", "pine") and only before nothing, one
#: letter or digits ("kappab", "alpha1", not "alphabet" or "betaine").
_GLUED_GREEK_NAMES = ("alpha", "beta", "gamma", "delta", "epsilon", "theta", "kappa", "lambda", "sigma", "omega")
_GLUED_GREEK = re.compile(
    r"(?<=[a-z0-9])(?:" + "|".join(_GLUED_GREEK_NAMES) + r")(?=[a-z]?\d*\b)"
    r"|\b(?:" + "|".join(_GLUED_GREEK_NAMES) + r")(?=[a-z]\d*\b|\d+\b)"
)

#: Words that name who or what a study is about, by group: two titles that differ only in such
#: words of one group ("... in men" / "... in women", "... in adults" / "... in adolescents",
#: "acute" / "chronic") name two studies, typically one group's sibling papers or abstracts, even
#: when every other field agrees. Spelling variants and plurals map to one member
#: ("paediatric" / "pediatric", "child" / "children") and stay a typo-level difference.
CONTRAST_WORDS: dict[str, tuple[str, str]] = {
    **dict.fromkeys(("men", "man", "male", "males", "boys", "boy", "fathers", "father"), ("sex", "male")),
    **dict.fromkeys(("women", "woman", "female", "females", "girls", "girl", "mothers", "mother"), ("sex", "female")),
    **dict.fromkeys(("adult", "adults"), ("age", "adult")),
    **dict.fromkeys(("adolescent", "adolescents", "teenagers", "teenager", "youth", "youths"), ("age", "adolescent")),
    **dict.fromkeys(("child", "children", "childhood", "paediatric", "pediatric", "kids"), ("age", "child")),
    **dict.fromkeys(("infant", "infants", "infancy", "neonate", "neonates", "neonatal", "newborn", "newborns"),
                    ("age", "infant")),
    **dict.fromkeys(("elderly", "older"), ("age", "old")),
    **dict.fromkeys(("younger", "young"), ("age", "young")),
    "acute": ("course", "acute"),
    "chronic": ("course", "chronic"),
    # species: one lab's pharmacokinetics or toxicology in two species (the words of 4+ letters are
    # told apart by :func:`_swap_contrast` too; these are here for the short ones and the plurals)
    **dict.fromkeys(("mice", "mouse", "murine"), ("species", "mouse")),
    **dict.fromkeys(("rat", "rats"), ("species", "rat")),
    **dict.fromkeys(("dog", "dogs", "canine"), ("species", "dog")),
    **dict.fromkeys(("cat", "cats", "feline"), ("species", "cat")),
    **dict.fromkeys(("pig", "pigs", "piglets", "swine", "porcine"), ("species", "pig")),
    **dict.fromkeys(("cow", "cows", "cattle", "bovine"), ("species", "cow")),
    **dict.fromkeys(("human", "humans"), ("species", "human")),
    # a Greek letter that names a subunit, an isoform or a variant ("IL-1α" / "IL-1β", "oestrogen receptor
    # α" / "β", "PPARγ" / "PPARδ", "Delta" / "Omicron"): one letter of a long title, written as a symbol
    # by one database and as a word by another (:func:`greek_names`), never a typo
    **{name: ("greek", name) for name in GREEK_LETTER_NAMES},
    # opposites of three letters or fewer, or spelt alike ("with" / "without"), and the prefixes a
    # hyphen leaves as words ("pre-operative" / "post-operative")
    "with": ("presence", "with"), "without": ("presence", "without"),
    "low": ("level", "low"), "high": ("level", "high"),
    "on": ("switch", "on"), "off": ("switch", "off"),
    "dry": ("wet", "dry"), "wet": ("wet", "wet"),
    **{affix: ("affix", affix) for affix in ("pre", "post", "peri", "intra", "inter", "extra", "hyper", "hypo",
                                             "uni", "bi", "sub", "supra", "anti", "pro")},
}

#: Words that, added to a title, name the other group ("non-small cell" / "small cell", "not").
NEGATIONS = frozenset({"non", "not", "no", "without"})
#: Prefixes that make a word's opposite or sibling ("pre" / "post" operative, "hyper" / "hypo"
#: thyroidism, "intra" / "extra" hepatic, "uni" / "bi" lateral, "un" cemented, "a" typical);
#: "" is the bare word. Two negations ("non" / "un" resectable) mean one thing.
_AFFIXES = ("", "pre", "post", "peri", "intra", "inter", "extra", "trans", "sub", "supra", "infra", "hyper",
            "hypo", "normo", "uni", "bi", "multi", "mono", "poly", "non", "un", "in", "dis", "de", "anti", "pro", "a",
            "an", "endo", "exo", "epi", "over", "under", "up", "down", "out", "micro", "macro", "homo", "hetero")
_NEGATION_AFFIXES = frozenset({"non", "un", "in", "dis", "a", "an"})
#: Irregular plurals whose two forms are less alike than a typo ("feet" / "foot"), and Latin or Greek
#: ones that :func:`_latin_singular`'s endings do not cover ("genera" / "genus", "corpora" / "corpus").
_PLURALS = {"feet": "foot", "teeth": "tooth", "people": "person", "fungi": "fungus", "media": "medium",
            "indices": "index", "matrices": "matrix", "appendices": "appendix", "data": "datum", "geese": "goose",
            "lice": "louse", "oxen": "ox", "dice": "die", "genera": "genus", "corpora": "corpus",
            "viscera": "viscus", "foramina": "foramen", "lumina": "lumen", "calyces": "calyx"}
#: Latin and Greek plural endings and their singulars' ("vertebrae" / "vertebra", "stimuli" /
#: "stimulus", "diagnoses" / "diagnosis", "apices" / "apex", "cervices" / "cervix", "criteria" /
#: "criterion", "bacteria" / "bacterium", "stomata" / "stoma"). Only a plural and the singular of
#: its own stem: "ices" and "ex" differ in 3+ letters, which :func:`_swap_contrast` read as two words.
_LATIN_PLURAL_ENDINGS = (("ices", ("ex", "ix")), ("mata", ("ma",)), ("ae", ("a",)), ("es", ("is",)),
                         ("i", ("us",)), ("a", ("on", "um")))
#: Two words of a swap less alike than this (``fuzz.ratio``), and 3+ edits apart, are two words, not
#: one spelt twice: typos in the labelled sets' duplicates score 86-99 ("persistant", "eculizamab",
#: "phsophorous"), two records' typos in one short word 60 but 2 edits ("kasne" / "ksaen", each a
#: letter pair swapped: the synthetic scale set), British and American spellings as low as 75
#: ("grey" / "gray", "sulphur" / "sulfur", read alike by :func:`american_spelling`); sibling studies' words
#: 0-78 and 3+ edits ("mice" / "rats", "adalimumab" / "golimumab", "losartan" / "valsartan").
SWAP_ALIKE = 80.0
#: Words that one title's translations write for one another ("Diagnosis and management of ..." /
#: "Diagnosis and treatment of ...", a non-English article's title as two databases translate it):
#: a swap within a group is no contrast.
_SYNONYMS = {word: group for group, words in enumerate((
    ("management", "treatment", "treatments", "therapy", "therapies"),
    ("study", "trial", "analysis", "investigation"),
    ("effect", "effects", "influence", "impact"),
    ("assessment", "evaluation", "appraisal"),
    ("patients", "subjects", "individuals", "people", "persons", "cases"),
    ("disease", "diseases", "disorder", "disorders", "illness", "condition"),
    ("outcome", "outcomes", "result", "results"),
    ("role", "importance", "significance", "value"),
    ("use", "usage", "application", "utility"),
    ("current", "present", "actual", "contemporary"),
    ("review", "overview", "update"),
    ("method", "methods", "technique", "techniques", "approach", "approaches"),
    ("features", "characteristics", "findings", "manifestations", "aspects"),
    ("problems", "issues", "challenges"),
    ("prospects", "perspectives", "perspective"),
    ("new", "novel"),
    # an organ's noun and its adjective ("kidney transplantation" / "renal transplantation"), and
    # "antenatal" / "prenatal": one title translated two ways, never two groups' sibling studies (unlike
    # "efficacy" / "effectiveness", a trial's result against practice's: a contrast, asked about)
    ("kidney", "kidneys", "renal"),
    ("heart", "cardiac"),
    ("liver", "hepatic"),
    ("lung", "lungs", "pulmonary"),
    ("antenatal", "prenatal"),
)) for word in words}
#: British spellings written the American way (:func:`american_spelling`), in this order: words the
#: rules below would not reach or would spell wrong ("ageing", "cheque", "practise", whose "ise" is
#: no "-ize"), then the rules ("haem" / "hem", "paediatric", "oesophagus", "sulphate" / "sulfate",
#: "tumour", "centre", "randomise", "analyse", "catalogue", "programme", "modelling", "grey", "licence").
#: Each rule keeps to one word: its anchors read a space or a line break as a word's end, so a
#: whole title, or titles joined by line breaks, is spelt as its words one by one are (the rules
#: only see letters, and the text has no other separators once folded). No rule changes a number
#: word ("four" keeps its "our": "for" is no number), for compare.py's reading of titles alike
#: letter for letter, once spelt, as titles with the same numbers.
_SPELLINGS: tuple[tuple[str | re.Pattern[str], str], ...] = (
    ("ageing", "aging"), ("cheque", "check"), ("plough", "plow"), ("draught", "draft"), ("aluminium", "aluminum"),
    ("practis", "practic"), ("mould", "mold"), ("dgement", "dgment"), ("artefact", "artifact"),
    ("specialit", "specialt"), ("orientated", "oriented"),
    ("ae", "e"), ("oe", "e"), ("ph", "f"),
    # a literal first, then the lookarounds: the pattern's literal start is what lets ``re`` skip ahead
    (re.compile(r"our(?<!\bfour)"), "or"),
    (re.compile(r"re(?<=[^aeiou \n]re)(?=s?\b)"), "er"),
    (re.compile(r"is(?=e|ing|ation)"), "iz"), (re.compile(r"ys(?=e|ing)"), "yz"),
    (re.compile(r"ogue(?=s?\b)"), "og"), (re.compile(r"mme(?=s?\b)"), "m"),
    ("ll", "l"), ("grey", "gray"), (re.compile(r"ence(?=s?\b)"), "ense"),
)


def american_spelling(text: str) -> str:
    """Folded text with British spellings written the American way (see :data:`_SPELLINGS`).

    "haemolytic" -> "hemolytic", "programmes" -> "programs", "ageing" -> "aging", "modelling" ->
    "modeling", "centre" -> "center", "randomised" -> "randomized". A comparison form, not
    English: both sides of a comparison are spelt alike, so words the rules overreach ("disease" ->
    "dizease") still compare equal, and only two spellings of one word become one. Works on a word,
    a title or titles joined by line breaks alike, one pass of C string search per rule: blocking
    keys and title scores spell every distinct title of a search this way at once (build_keys).
    """
    for pattern, repl in _SPELLINGS:
        text = text.replace(pattern, repl) if isinstance(pattern, str) else pattern.sub(repl, text)
    return text


#: :func:`american_spelling` of one word, remembered: contrasts spell the same words pair after pair.
_american_word = functools.lru_cache(maxsize=1 << 16)(american_spelling)


def title_contrast(a: str, b: str, swaps: bool = True) -> bool:
    """Whether two folded titles differ only in who or where the study is about, naming other groups.

    Each title must have a word the other lacks, every such word must be a contrast word
    (:data:`CONTRAST_WORDS`) or a place (:data:`~evreview.dedup.places.PLACES`, names of several
    words taken as one), and in one group the two sides must name different members ("men"
    against "women", "kenya" against "ghana"; not "children" against "child" or "uk" against
    "united kingdom", nor "men and women" against "women", where "and" differs too).

    Two titles one word apart are also two studies when the words are two words, not one spelt
    twice (:func:`_swap_contrast`: "mice" / "rats", "adalimumab" / "golimumab", "pre" / "post"
    operative), and so are titles one of which adds a negation (:data:`NEGATIONS`); not with
    ``swaps`` false (titles too unlike for a rule to merge them: the pair is told apart anyway,
    and a question for the reviewer would be noise: "Transplantation" / "Thrombomodulin in ...").

    Words the titles write as two spellings or two translations of one word ("programme" /
    "program", "management" / "treatment") are left out first: "A programme ... in men" and "A
    program ... in women" differ in who the study is about as much as two titles spelt alike do.
    """
    if a == b:
        return False
    # words as multisets: "high-risk HPV ... high-grade" / "low-risk HPV ... high-grade" swap one "high"
    ca, cb = Counter(join_places(a).split()), Counter(join_places(b).split())
    only_a, only_b = set(ca - cb), set(cb - ca)
    if _GLUED_GREEK.search(" ".join(only_a | only_b)):  # "il 1alpha" / "il 1beta": the letters as words
        ca, cb = Counter(join_places(split_greek_names(a)).split()), Counter(join_places(split_greek_names(b)).split())
        only_a, only_b = set(ca - cb), set(cb - ca)
    if only_a and only_b:
        only_a, only_b = _unlike_words(only_a, only_b)
    if not only_a or not only_b:
        # one title adds words: a negation ("non-small cell" / "small cell") names the other group
        added = only_a or only_b
        return swaps and bool(added) and added <= NEGATIONS
    if swaps and len(only_a) == 1 and len(only_b) == 1:
        swapped = _swap_contrast(next(iter(only_a)), next(iter(only_b)))
        if swapped is not None:
            return swapped
    side_a, side_b = _contrast_members(only_a), _contrast_members(only_b)
    if side_a is None or side_b is None:
        return False
    groups_a = {group: {m for g, m in side_a if g == group} for group, _ in side_a}
    groups_b = {group: {m for g, m in side_b if g == group} for group, _ in side_b}
    return any(groups_a[g] != groups_b[g] for g in groups_a.keys() & groups_b.keys())


def _swap_contrast(x: str, y: str) -> bool | None:
    """Whether one word swapped for another (the rest of two titles alike) names another study.

    True for two single letters ("hepatitis B" / "C"), for words of one prefix family
    ("preoperative" / "postoperative", "cemented" / "uncemented", but not "nonresectable" /
    "unresectable", two negations), and for two words of
    ASCII letters, 4+ each, neither a start or a plural of the other, 3+ edits apart and less
    than :data:`SWAP_ALIKE` alike (a species, a drug, an opposite); False for spellings, typos ("randomised",
    "persistant", "cheque" / "check") and plurals ("genera" / "genus", "apices" / "apex"). None when
    both words are contrast words or places: :func:`title_contrast`'s groups decide ("children" /
    "kids" are one member). A translation's synonyms (:data:`_SYNONYMS`) never reach it:
    :func:`_unlike_words` leaves them out of both titles first.
    """
    if (x in CONTRAST_WORDS or place_of(x) is not None) and (y in CONTRAST_WORDS or place_of(y) is not None):
        return None
    if not (x.isascii() and y.isascii() and x.isalpha() and y.isalpha()):
        return False
    if len(x) == 1 and len(y) == 1:
        # a letter that names a virus, a group, a vitamin or a cohort ("hepatitis B" / "C", "group A" /
        # "B streptococcus", "influenza A" / "B"): one character of a long title, no typo of a word
        return True
    if _affix_contrast(x, y) or _affix_contrast(y, x):
        return True
    x, y = _PLURALS.get(x, x), _PLURALS.get(y, y)
    if _latin_singular(x, y) or _latin_singular(y, x):
        return False
    if len(x) < 4 or len(y) < 4:
        return False
    sx, sy = _american_word(x), _american_word(y)
    if sx.startswith(sy) or sy.startswith(sx) or _singular(sx) == _singular(sy):
        return False
    from rapidfuzz.distance import OSA  # imported with the scoring (compare.py) already
    from rapidfuzz.fuzz import ratio

    edits = OSA.distance(x, y)
    stem = _drug_stem(x)
    if edits >= 2 and stem is not None and stem == _drug_stem(y):
        return True  # two drugs of one class, however alike: "afatinib" / "axitinib"
    return edits > 2 and ratio(x, y) < SWAP_ALIKE


#: Endings that name a class of drugs in their international names (WHO INN stems): two such
#: names with one ending are two drugs even when two letters apart ("afatinib" / "axitinib",
#: "omeprazole" / "esomeprazole"), which the typo test above would read as one word mistyped.
#: One letter apart stays a typo ("erlotinib" / "erlitinib").
_DRUG_STEMS = (
    "tinib", "ciclib", "parib", "rafenib", "mab", "cept", "prazole", "azole", "sartan", "olol", "pril",
    "statin", "cillin", "cycline", "floxacin", "mycin", "vir", "dipine", "gliptin", "gliflozin", "glitazone",
    "lukast", "setron", "triptan", "oxetine", "tidine", "platin", "rubicin", "taxel", "dronate", "parin",
    "xaban", "gatran", "afil", "semide", "thiazide", "zolam", "azepam", "caine", "profen", "coxib", "lutamide",
    "relin", "tropin", "terol", "sonide", "pramine", "peridol", "tadine", "conazole", "fungin",
)


def _drug_stem(word: str) -> str | None:
    """The drug-class ending of a word of 7+ letters (:data:`_DRUG_STEMS`, longest first), or None."""
    if len(word) < 7:
        return None
    for stem in _DRUG_STEMS_LONGEST_FIRST:
        if word.endswith(stem):
            return stem
    return None


_DRUG_STEMS_LONGEST_FIRST = sorted(_DRUG_STEMS, key=len, reverse=True)


def _unlike_words(only_a: set[str], only_b: set[str]) -> tuple[set[str], set[str]]:
    """The words of each side that name no word of the other side, spelt or translated otherwise.

    Two words are one when :func:`american_spelling` writes them alike ("programme" / "program",
    "ageing" / "aging") or :data:`_SYNONYMS` puts them in one group ("management" / "treatment").
    """
    common = set(map(_american_word, only_a)) & set(map(_american_word, only_b))
    groups = {_SYNONYMS.get(w, -1) for w in only_a} & {_SYNONYMS.get(w, -2) for w in only_b}
    if not common and not groups:
        return only_a, only_b

    def unlike(words: set[str]) -> set[str]:
        return {w for w in words if _american_word(w) not in common and _SYNONYMS.get(w, -1) not in groups}

    return unlike(only_a), unlike(only_b)


def _latin_singular(plural: str, singular: str) -> bool:
    """Whether ``singular`` is the singular of ``plural`` by a Latin or Greek ending (:data:`_LATIN_PLURAL_ENDINGS`)."""
    for ending, singulars in _LATIN_PLURAL_ENDINGS:
        if plural.endswith(ending):
            stem = plural[:-len(ending)]
            if len(stem) >= 2 and any(singular == stem + one for one in singulars):
                return True
    return False


def _affix_contrast(x: str, y: str) -> bool:
    """``x`` and ``y`` are one stem (4+ letters) behind two prefixes of :data:`_AFFIXES`, not both negations."""
    for px in _AFFIXES:
        if not x.startswith(px):
            continue
        stem = x[len(px):]
        if len(stem) < 4 or not y.endswith(stem):
            continue
        py = y[:len(y) - len(stem)]
        if py == px or py not in _AFFIXES or (px in _NEGATION_AFFIXES and py in _NEGATION_AFFIXES):
            continue
        # "a" / "an" negate before a consonant / a vowel only: "aetiology" is "etiology" spelt the British way
        if ("a" in (px, py) and stem[0] in "aeiou") or ("an" in (px, py) and stem[0] not in "aeiou"):
            continue
        return True
    return False


def _singular(word: str) -> str:
    """A regular plural's singular ("studies" -> "study", "analyses" -> "analyse", "groups" -> "group")."""
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("es"):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word


def _contrast_members(words: set[str]) -> set[tuple[str, str]] | None:
    """(group, member) of each word, or None when a word names no group or place."""
    members = set()
    for word in words:
        member = CONTRAST_WORDS.get(word)
        if member is None:
            place = place_of(word)
            if place is None:
                return None
            member = ("place", place)
        members.add(member)
    return members


#: With fewer distinct values than this share of records, an issue column holds issues; a column
#: unique on (almost) every record of a large file is a record counter (EndNote's "number").
ISSUE_COUNTER_MIN_RECORDS = 50
ISSUE_COUNTER_UNIQUE_SHARE = 0.9

KEY_COLUMNS = (
    "title_key", "title_spelled", "title_compact", "title_numbers", "title_generic", "title_notice", "title_correction",
    "author_key", "first_author", "surname_key", "year_key", "volume_key",
    "issue_key", "first_page", "online_first", "page_first", "page_last",
    "journal_key", "doi_key", "pmid_key", "registration_key", "venue_alias", "conference", "title_recurring",
)

#: Placeholder values some exports write for a missing field.
MISSING_VALUES = frozenset({"unknown", "n a", "na", "none", "null"})


def fold_text(text: Any) -> str:
    """Lower-case, accent-free text with punctuation as single spaces (``""`` for missing).

    Same result as :func:`evreview.records.fold` but several times faster on ASCII text,
    which is almost every record.
    """
    if text is None or (isinstance(text, float) and text != text):
        return ""
    text = str(text)
    if text.isascii():
        return b" ".join(text.lower().encode().translate(_ASCII_PUNCT).split()).decode()  # "_" is punctuation here
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", text.lower()).replace("_", " ").split())


def clean_title(title: Any) -> str:
    """Title without the notes databases append ("[Erratum appears in ...]", "(vol 3, pg 4, 2003)").

    Falls back to the full title when the notes are all there is (a title in brackets, as
    MEDLINE writes translated titles).
    """
    if title is None or (isinstance(title, float) and title != title):
        return ""
    text = str(title)
    if "[" not in text and "(" not in text and ".." not in text:
        return text
    cleaned = _TITLE_NOTES.sub(" ", text).strip()
    return cleaned if len(cleaned) >= 8 else text


def greek_names(text: str) -> str:
    """Text with each Greek letter standing in Latin text written as its name ("β-blockers" ->
    " beta -blockers", "NF-κB" -> "NF- kappa B", "γδ" -> " gamma  delta ").

    One article's title is "TNF-α inhibitors ..." in Scopus and "TNF-alpha inhibitors ..." in
    MEDLINE; folded as symbols against names, a short title of the two differed in four letters
    of thirty and the pair was not merged. Named, the two fold alike, and a title that names
    another letter ("IL-1α" / "IL-1β") differs in a word, which :func:`title_contrast` reads as
    another study. ASCII text (almost every title) is returned at once, and so is Greek text (a word
    of three Greek letters or more): a title in Greek is read as it is written. The micro sign before
    a unit is the prefix ("50 µmol/L" -> "50 micromol/L", as MEDLINE writes it); elsewhere it is
    the letter ("μ-opioid" -> " mu -opioid").
    """
    if text.isascii() or not _GREEK_SYMBOLS.search(text) or _GREEK_WORD.search(text):
        return text
    text = _MICRO_UNIT.sub("micro", text)
    return _GREEK_SYMBOLS.sub(lambda m: m.group(0).translate(_GREEK_TABLE), text)


def split_greek_names(folded: str) -> str:
    """A folded title with a spelt-out Greek letter glued to its word made a word ("il 1beta" ->
    "il 1 beta", "tnfalpha" -> "tnf alpha", "nf kappab" -> "nf kappa b"), as :func:`greek_names`
    writes a symbol: "IL-1alpha" and "IL-1β" are then one word apart ("alpha" / "beta"), a contrast.

    Read by :func:`title_contrast` only where the words two titles do not share hold such a name:
    the title keys keep the title as folded (their compact form is alike either way), and the
    search for the names in every title cost a few per cent of the key building.
    """
    new = folded
    for _ in range(3):  # "ikappabalpha": "alpha" first, then "kappa" before the "b" it leaves
        spaced = _GLUED_GREEK.sub(_spaced, new)
        if spaced == new:
            break
        new = spaced
    return folded if new == folded else " ".join(new.split())


def _spaced(match: re.Match[str]) -> str:
    return " " + match.group(0) + " "


def title_words(title_key: str) -> str:
    """The four longest title words, sorted (a blocking key): survives word-order changes and typos elsewhere."""
    if title_key.count(" ") < 3:
        return ""
    words = title_key.split()
    words.sort()
    words.sort(key=len, reverse=True)  # stable: longest first, alphabetical among equals, without a key tuple per word
    return " ".join(sorted(words[:4]))


#: Words that number the items of a series: the word after them is a number however it is
#: written ("Part II", "phase 2", "stage IV"; after "part" a letter too: "Part B"). Titles of
#: other languages number parts too ("Teil II", "partie II", "parte II", "часть II").
_SEQUENCE_WORDS = ("part", "parts", "phase", "phases", "stage", "stages", "type", "types", "grade", "class",
                   "chapter", "section", "volume", "vol", "series", "study", "trial", "report", "paper", "wave",
                   "round", "cycle", "level", "step", "tier", "arm", "cohort", "book",
                   "teil", "partie", "parte", "fase", "typ", "tipo", "часть")
#: Number words ("one-year" is "1-year", "fifteen-year" is "15-year") and Roman numerals (i-xxxix).
_NUMBER_WORDS = {word: str(n) for n, word in enumerate(
    ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
     "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"))}
#: Tens, alone ("twenty-year" is "20-year") or with a unit after them ("twenty-five" is "25").
_TENS = {word: n for n, word in zip(range(20, 100, 10),
                                    ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"))}
_UNITS = {word: int(_NUMBER_WORDS[word]) for word in ("one", "two", "three", "four", "five", "six", "seven",
                                                      "eight", "nine")}
#: The letter of a sub-stage or sub-phase after a number ("stage IIIA" / "IIIB", "phase 1a" / "1b",
#: "type 2a" / "2b"): part of the number. Only a-c: "2D" / "3D" differ in their digits already,
#: and "24h" / "24-h" (hours) is one number written two ways, not a sub-part.
_SUB_LETTERS = "abc"
#: Words that a Roman numeral and a sub-part letter spell, after a sequence word ("a study via ..."):
#: not numbers.
_ROMAN_LOOKALIKES = ("via", "va")
_ROMAN = re.compile(r"^x{0,3}(?:ix|iv|v?i{0,3})$")
_ROMAN_VALUE = {"i": 1, "v": 5, "x": 10}


def _words_pattern(words: Any) -> str:
    return "|".join(sorted(words, key=len, reverse=True))


_TITLE_NUMBER = re.compile(
    r"\b\d+[" + _SUB_LETTERS + r"]\b"
    r"|\d+"
    r"|\b(?:" + _words_pattern(_TENS) + r")(?: (?:" + _words_pattern(_UNITS) + r"))?\b"
    r"|\b(?:" + _words_pattern(_NUMBER_WORDS) + r")\b"
    r"|\b(?:" + "|".join(_SEQUENCE_WORDS) + r") (?!(?:" + "|".join(_ROMAN_LOOKALIKES) + r")\b)"
    r"[ivx]+[" + _SUB_LETTERS + r"]?\b"
    r"|\bparts? [a-h]\b"
    r"|\b[ivx]{2,}\b"
    r"|\bi$"
)


def _roman(numeral: str) -> int:
    """The value of a Roman numeral matched by :data:`_ROMAN` ("iv" -> 4)."""
    total = 0
    for k, ch in enumerate(numeral):
        value = _ROMAN_VALUE[ch]
        total += -value if k + 1 < len(numeral) and _ROMAN_VALUE[numeral[k + 1]] > value else value
    return total


def _sub_letter(mark: str) -> tuple[str, str]:
    """A numeral after a sequence word and the sub-stage letter ending it ("iiia" -> ("iii", "a")),
    or the mark and "" (read alike by :func:`title_numbers` and :func:`_title_numbers_by_pattern`)."""
    if len(mark) > 1 and mark[-1] in _SUB_LETTERS:
        return mark[:-1], mark[-1]
    return mark, ""


def title_numbers(folded: str) -> str:
    """The numbers in a title, in order: "Part 1" and "Part 2" are different items.

    Numbers are digits, number words up to ninety-nine ("one-year" = "1-year", "twenty-five-year"
    = "25-year") and, after a word that numbers a series ("part", "phase", "stage", "type" ...), a
    Roman numeral ("Part II" = "part 2"; "Phase II" and "Phase III" trials differ by one letter of
    a long title, which the title similarity alone reads as a typo) or a letter ("Part A", "Part
    B"). A number keeps the letter of a sub-stage or sub-phase after it ("stage IIIA" = "stage 3a",
    not "stage IIIB"; "phase 1a" / "phase 1b"): otherwise the two read as one number and their
    titles, one letter apart, as one title. Roman numerals of two or more letters are numbers
    anywhere ("factor VIII" / "factor IX", "complex II"), as is one ending the title ("Hereditary
    angioedema: a review, II", as older series number their parts), but for "iv" mid-title ("IV
    iron": intravenous) and a lone "x" or "v" ("fragile X", "factor V"); a karyotype's "XX" reads as
    20 too, harmless where both titles write it and telling "XX" from "XY". A lone "i" only ends a
    title as a numeral: mid-title it is mostly a word ("what I learned"). (A typo's stray "i" at
    the end, "... grakabr i", is no harm: titles alike letter for letter count as having the same
    numbers, see compare.py.)

    :func:`_title_numbers_by_pattern` is the definition; a title of ASCII letters and digits in
    single-space-separated words (what :func:`fold_text` makes of almost every title) is read
    here word by word, with the same result: the pattern tries its ~80 alternatives at every
    word start, several times this loop's time on the keys of a search.
    """
    words = folded.split(" ")
    if not folded.isascii() or not all(map(str.isalnum, words)):  # "" (no title, double spaces) too
        return _title_numbers_by_pattern(folded)
    out = []
    k, n = 0, len(words)
    while k < n:
        word = words[k]
        k += 1
        if word.isalpha():
            number = _WORD_NUMBERS.get(word)
            if number is not None:  # a number word, or a Roman numeral of 2+ letters ("ii", "viii", "ix")
                if word != "iv" or k == n:  # "iv" mid-title is a word ("IV iron")
                    out.append(number)
            elif word in _TENS:  # "twenty", "twenty five"
                tens = _TENS[word]
                if k < n and words[k] in _UNITS:
                    tens += _UNITS[words[k]]
                    k += 1
                out.append(str(tens))
            elif k == n and word == "i":  # "\bi$"
                out.append("1")
            elif k < n and word in _SEQUENCE_WORD_SET:
                mark = words[k]
                roman, letter = _sub_letter(mark)
                if roman and _ROMAN_LETTERS.issuperset(roman) and mark not in _ROMAN_LOOKALIKES:
                    k += 1  # the pattern's "<sequence word> [ivx]+[abc]?" (mark is not "")
                    if _ROMAN.match(roman):
                        out.append(str(_roman(roman)) + letter)
                elif word in ("part", "parts") and len(mark) == 1 and "a" <= mark <= "h":  # "parts? [a-h]"
                    k += 1
                    out.append(mark)
        elif word.isdigit() or (word[-1] in _SUB_LETTERS and word[:-1].isdigit()):  # "12", "3a" (a sub-part)
            out.append(word)
        else:  # letters and digits ("covid19", "2x2"): each run of digits
            out.extend(_DIGITS.findall(word))
    return " ".join(out)


_SEQUENCE_WORD_SET = frozenset(_SEQUENCE_WORDS)
_ROMAN_LETTERS = frozenset("ivx")
#: Number words, and the Roman numerals of 2+ letters (every one :data:`_ROMAN` reads, "ii" to "xxxix")
_WORD_NUMBERS = {
    **_NUMBER_WORDS,
    **{numeral: str(_roman(numeral))
       for numeral in ("".join(t) + "".join(u) for t in ("", "x", "xx", "xxx")
                       for u in ("", "i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix"))
       if len(numeral) >= 2},
}


def _title_numbers_by_pattern(folded: str) -> str:
    """:func:`title_numbers` of any text, by :data:`_TITLE_NUMBER` (the definition of the numbers)."""
    out = []
    for match in _TITLE_NUMBER.finditer(folded):
        text = match.group(0)
        if text[0].isdigit():
            out.append(text)
        elif text in _NUMBER_WORDS:
            out.append(_NUMBER_WORDS[text])
        elif text.split(" ", 1)[0] in _TENS:
            tens, _, unit = text.partition(" ")
            out.append(str(_TENS[tens] + _UNITS.get(unit, 0)))
        elif " " not in text:  # a Roman numeral of 2+ letters anywhere ("iv" only last), or "i" as the last word
            if _ROMAN.match(text) and (text != "iv" or match.end() == len(folded)):
                out.append(str(_roman(text)))
        else:
            mark = text.rsplit(" ", 1)[1]
            roman, letter = _sub_letter(mark)
            if mark in _ROMAN_VALUE or (roman and _ROMAN_LETTERS.issuperset(roman)):
                if _ROMAN.match(roman):
                    out.append(str(_roman(roman)) + letter)
            elif len(mark) == 1:
                out.append(mark)  # "part b": a letter that numbers a part
    return " ".join(out)


#: Words of the boilerplate a journal prints in every issue or year ("From the editor", "Message
#: from the president", "Reviewer acknowledgement", "Notes on contributors", "Annual report"): a
#: title of these words only (a few, one of them not a :data:`_FILLER_WORDS`) names a kind of item.
BOILERPLATE_WORDS = frozenset({
    "editor", "editors", "editorial", "editorials", "president", "presidents", "presidential", "chair", "chairs",
    "message", "messages", "letter", "letters", "note", "notes", "reviewer", "reviewers", "referees",
    "acknowledgement", "acknowledgements", "acknowledgment", "acknowledgments", "thank", "thanks", "you", "issue",
    "issues", "information", "contributors", "authors", "instructions", "introduction", "introducing", "special",
    "highlights", "news", "brief", "briefs", "choice", "board", "cover", "image", "front", "back", "matter",
    "masthead", "guest", "comment", "comments", "column", "corner", "desk", "welcome", "year", "review", "books",
    "book", "received", "calendar", "events", "upcoming", "call", "papers", "memoriam", "obituary", "obituaries",
    "announcement", "announcements", "correspondence", "contents", "index", "preface", "foreword", "reader",
    "readers", "farewell", "notice", "notices", "meeting", "abstracts", "report", "annual", "society", "journal",
    "supplement", "erratum", "errata", "correction", "corrections", "remarks", "quarterly",
})
_FILLER_WORDS = frozenset({"the", "a", "an", "of", "to", "from", "for", "in", "on", "this", "our", "and", "with",
                           "s", "by", "at", "new", "year", "you", "back", "front"})
#: The words of boilerplate that name the column as the editor's or the society's: with one of
#: them and 3+ boilerplate words, two other words are let through (the journal's name in "Remarks from MIS Quarterly
#: Editor - Editor's Comments", MIS Quarterly's column in every issue of 2000-2002).
_BOILERPLATE_OWNERS = frozenset({"editor", "editors", "editorial", "president", "presidents", "reviewers", "chair"})
_BOILERPLATE_ALL = BOILERPLATE_WORDS | _FILLER_WORDS


def is_generic_title(folded: str) -> bool:
    """True when the title alone cannot identify a study ("Reply", "Book review", "UNKNOWN",
    "From the editor": :data:`BOILERPLATE_WORDS`)."""
    if not folded:
        return True
    if folded in GENERIC_TITLES:
        return True
    words = folded.split()
    if len(words) <= 2 and len(folded) < 20:
        return True
    if len(words) > 10:
        return False
    # set operations in C, most titles leave at the first word that is no boilerplate
    if _BOILERPLATE_OWNERS.isdisjoint(words):
        return _BOILERPLATE_ALL.issuperset(words) and not _FILLER_WORDS.issuperset(words)
    other = len(set(words) - _BOILERPLATE_ALL)
    return other == 0 or (other <= 2 and sum(word in BOILERPLATE_WORDS and word not in _FILLER_WORDS
                                              for word in words) >= 3)


def is_notice_title(folded: str) -> bool:
    """True for errata, replies and retraction notices, which repeat the title they concern."""
    return starts_with_words(folded, NOTICE_PREFIXES)


def is_correction_title(folded: str) -> bool:
    """True for a correction of the item itself (:data:`CORRECTION_PREFIXES`)."""
    return starts_with_words(folded, CORRECTION_PREFIXES)


def starts_with_words(folded: str, prefixes: tuple[str, ...]) -> bool:
    """Whether ``folded`` starts with one of ``prefixes`` as whole words (a plural "s" allowed).

    "Corrections to ..." is a notice, "Correctional officers' health" is not: as a bare
    prefix, "correction" made such a study a notice, which rules treat as another item.
    """
    if not folded.startswith(prefixes):
        return False
    for prefix in prefixes:
        if folded.startswith(prefix):
            rest = folded[len(prefix):]
            if not rest or rest[0] == " " or (rest[0] == "s" and (len(rest) == 1 or rest[1] == " ")):
                return True
    return False


def author_surnames(authors: Any) -> list[str]:
    """Folded surnames of an author list, however the database wrote the names.

    Handles "Zuber, J", "J. Zuber", "Zuber J" and "UNKNOWN"; the surname is the part before a
    comma, else the longest token that is not an initial.
    """
    if authors is None or (isinstance(authors, float) and authors != authors):
        return []
    if isinstance(authors, str):
        authors = [authors]
    return [surname for surname in map(_surname, authors) if surname]


#: Author "names" that are placeholders, not surnames.
_NOT_SURNAMES = frozenset({"unknown", "anonymous", "et al", "et", "al"})


def _surname(name: Any) -> str:
    """The folded surname of one author name (see :func:`author_surnames`), ``""`` for none."""
    name = str(name)
    if "," in name:
        surname = fold_text(name.split(",", 1)[0])
    else:
        tokens = [t for t in fold_text(name).split() if len(t) > 1]
        surname = tokens[0] if tokens else ""
        if len(tokens) > 1 and "." in name.split()[0]:  # "B. Abrahao": initials first
            surname = tokens[-1]
    return "" if surname in _NOT_SURNAMES else surname


def author_key(authors: Any) -> str:
    """The full author list folded into one string (for token-set similarity)."""
    if authors is None or (isinstance(authors, float) and authors != authors):
        return ""
    if isinstance(authors, str):
        authors = [authors]
    text = fold_text(" ".join(str(a) for a in authors))
    return "" if text in {"unknown", "anonymous"} else text


def doi_key(doi: Any) -> str:
    """DOI as compared: Cochrane review versions (``.pub2``, ``.pub3``) share one key.

    A Cochrane update keeps the review's CD number and only bumps the ``.pubN`` suffix; the
    bib-dedupe curated cases treat these as the same review. Truncated DOIs that end in a
    dot (a journal landing page) are not DOIs of an item and are ignored, and so is a SICI DOI
    cut after its issue ("10.1892/0891-6640(2006)20", from "...(2006)20[523:IDICKC]2.0.CO;2"):
    it is shared by every article of that issue.
    """
    if not isinstance(doi, str) or not doi:
        return ""
    doi = doi.strip().lower()
    if doi.endswith(".") or "/" not in doi or doi.endswith("/") or _SICI_ISSUE_ONLY.search(doi):
        return ""
    match = _COCHRANE_VERSION.match(doi)
    return match.group(1) if match else doi


def volume_key(volume: Any) -> str:
    """Leading number of the volume ("4 (1) (no pagination)" -> "4"), else folded text ("UNKNOWN" -> "")."""
    text = fold_text(volume)
    if text in MISSING_VALUES:
        return ""
    match = _DIGITS.search(text)
    return match.group(0).lstrip("0") or "0" if match else text


#: Month names (folded, full and abbreviated) as issue numbers: monthly magazines' issues are months.
MONTHS = {
    name: str(number)
    for number, names in enumerate(
        (("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
         ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
         ("november", "nov"), ("december", "dec")),
        start=1,
    )
    for name in names
}


#: An NLM journal id (7-9 digits, some ending in "r"), alone or after Ovid's journal code:
#: Ovid MEDLINE's RIS writes it in the issue tag of records without an issue.
_NLM_JOURNAL_ID = re.compile(r"(?:^| )\d{7,9}r?(?: |$)")


def issue_key(issue: Any) -> str:
    """Issue as compared: like :func:`volume_key`, and a month name as its number ("May" == "5").

    Monthly magazines (Harvard Business Review) are exported with the issue as "May" by one
    database and "5" by another; as text they would conflict and split one article in two.
    Only the leading word counts ("May-Jun" -> "5"), so two different months still conflict.
    Ovid MEDLINE writes the NLM journal id where a record has no issue ("uj0, 0330500",
    "6dr, 2985151r", "101616579"): that is no issue ("6dr" would read as issue 6 and split the
    article from its Embase or Scopus record, which has the real one), so it counts as missing.
    """
    text = fold_text(issue)
    if _NLM_JOURNAL_ID.search(text):
        return ""
    head = text.split(" ", 1)[0]
    return MONTHS[head] if head in MONTHS else volume_key(text)


def first_page(pages: Any) -> str:
    """Start page as compared: "e1234" == "1234", "CD002273" == "cd002273"."""
    text = fold_text(pages)
    if not text:
        return ""
    head = text.split()[0]
    match = _LEADING_NUMBER.match(head)
    if match:
        return match.group(1).lstrip("0") or "0"
    return ""  # "Suppl", roman numerals: not comparable


def page_range(pages: Any) -> tuple[int, int]:
    """(first, last) numeric page, ``(-1, -1)`` when not numeric; "945-8" style already expanded."""
    numbers = [int(n) for n in _DIGITS.findall(fold_text(pages))[:2] if len(n) <= 7]
    if not numbers:
        return -1, -1
    first = numbers[0]
    last = numbers[1] if len(numbers) > 1 and numbers[1] >= first else first
    return first, last


def _journal_tokens(folded: str) -> str:
    return " ".join(t for t in folded.split() if t not in JOURNAL_STOPWORDS)


def venue_alias(journal_key: str) -> str:
    """The conference acronym a venue key names (see :data:`VENUE_ALIASES`), else ``""``.

    "icis transforming society digital innovation" and "international conference information
    systems" both give "icis"; a journal gives "".
    """
    if not journal_key:
        return ""
    match = _VENUE_PATTERN.search(journal_key)
    return _VENUE_OF[match.group(1)] if match else ""


def is_conference(doc_type: Any, journal_key: str, alias: str = "") -> bool:
    """Whether a record is a conference paper: by its document type, or a venue that names a meeting."""
    if alias or (isinstance(doc_type, str) and doc_type == "conference"):
        return True
    return not _MEETING_WORDS.isdisjoint(journal_key.split())


def issue_is_counter(issues: list[Any], files: list[Any]) -> np.ndarray:
    """Per record: whether its file's "issue" column is a record counter rather than issues.

    EndNote exports carry a per-record "number" that CSV/BibTeX conversions map to the issue;
    as an issue it would make every pair of that file conflict. A large file whose issue is
    distinct on (almost) every record is such a counter (real issues repeat: 1-12, 1-52).
    """
    # plain dicts: a pandas groupby on Arrow strings costs more than the counting (and imports pyarrow.acero)
    folded = _cached(fold_text, list(issues))
    names = [str(f) for f in files]
    size: dict[str, int] = {}
    distinct: dict[str, set[str]] = {}
    for name, issue in zip(names, folded):
        if issue:
            size[name] = size.get(name, 0) + 1
            distinct.setdefault(name, set()).add(issue)
    counters = {name for name, n in size.items()
                if n >= ISSUE_COUNTER_MIN_RECORDS and len(distinct[name]) >= ISSUE_COUNTER_UNIQUE_SHARE * n}
    return np.fromiter((name in counters for name in names), dtype=bool, count=len(names))


def journals_compatible(a: str, b: str) -> bool:
    """Whether two journal keys can name the same venue, allowing abbreviations.

    "nat rev nephrol" fits "nature reviews nephrology": every word of the shorter name is a
    prefix of a word of the longer one, in order. Empty names are compatible with anything.
    """
    if not a or not b or a == b:
        return True
    ta, tb = a.split(), b.split()
    if len(ta) > len(tb):
        ta, tb = tb, ta
    return _abbreviates(ta, tb) or (len(ta) == len(tb) and _abbreviates(tb, ta))


#: ISO 4 contractions of journal title words that are no start of the word (the List of Title Word
#: Abbreviations keeps a word's first and last letters: "Natl" national, "Intl" international, "Hlth"
#: health): "Proc Natl Acad Sci U S A" names the "Proceedings of the National Academy of Sciences ...".
#: Each stands for the words starting with its value ("dtsch" for "deutsche", "deutsches"). A list, not
#: any letters in order: "nurs" is in "neurosciences" so, and "J Nurs" is no "J Neurosci".
JOURNAL_CONTRACTIONS = {
    "natl": "national", "intl": "international", "hlth": "health", "dtsch": "deutsch", "mgmt": "management",
    "assn": "association", "govt": "government", "dept": "department", "jpn": "japan", "zbl": "zentralblatt",
    "ztschr": "zeitschrift", "wschr": "wochenschrift", "mschr": "monatsschrift", "bldg": "building",
    "engn": "engineering", "ctr": "cent", "yrbk": "yearbook", "qtly": "quarterly",
}


def _abbreviates(short: list[str], long: list[str]) -> bool:
    """Every word of ``short`` is a prefix of a word of ``long`` (or its contraction,
    :data:`JOURNAL_CONTRACTIONS`), or the initials of as many words of it ("mis" for "management
    information systems": Google Scholar's "MIS Quarterly" against the AIS eLibrary's "Management
    Information Systems Quarterly"), in order.

    The initials are compared as one slice of the string of ``long``'s first letters (its words
    come from ``str.split``, so none is empty), and only for a word of 2+ letters, not by a
    function call per word of ``long``: the 2,180 journal pairs of sra_haematology that the
    score leaves open took 4.1 ms, now 2.2 ms.
    """
    heads = "".join(word[0] for word in long)
    if short:
        # most pairs fail on the first word, which starts no word of ``long`` and spells no run of
        # its initials: two substring searches settle those without the loop below
        first = short[0]
        words = " " + " ".join(long)
        if (" " + first not in words and not (len(first) >= 2 and first.isalpha() and first in heads)
                and " " + JOURNAL_CONTRACTIONS.get(first, first) not in words):
            return False
    n = len(long)
    j = 0
    for tok in short:
        initials = len(tok) >= 2 and tok.isalpha()
        word = JOURNAL_CONTRACTIONS.get(tok, tok)
        while j < n:
            if long[j].startswith(word) or long[j].startswith(tok):
                j += 1
                break
            if initials and heads.startswith(tok, j):  # the initials of long[j:j + len(tok)]
                j += len(tok)
                break
            j += 1
        else:
            return False
    return True


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, float):
        return []
    return [str(v) for v in value]


def _cached(fn: Any, values: list[Any]) -> list[Any]:
    """``fn`` over ``values``, computed once per distinct value (journals, volumes, author names repeat).

    Other values are keyed by their type and text: by text alone a missing value (NaN, whose
    ``repr`` is ``"nan"``) and the text ``"nan"`` shared one entry, so whichever came first
    decided both (a record without a volume got volume "nan", agreeing with another such record).
    """
    cache: dict[Any, Any] = {}
    out = []
    for value in values:
        key = value if isinstance(value, (str, int, type(None))) else (type(value), repr(value))
        hit = cache.get(key, cache)
        if hit is cache:
            hit = cache[key] = fn(value)
        out.append(hit)
    return out


def is_recurring_title(folded: str) -> bool:
    """True when a title word marks a recurring item (:data:`RECURRING_TITLE_WORDS`)."""
    return bool(RECURRING_TITLE_WORDS.intersection(folded.split()))


#: The keys of a folded title as written, in :func:`build_keys`'s order: numbers, and whether it is
#: generic, a notice, a correction and a recurring item's.
_TITLE_KEYS: tuple[Callable[[str], Any], ...] = (
    title_numbers, is_generic_title, is_notice_title, is_correction_title, is_recurring_title,
)


def spelled_titles(distinct: list[str]) -> list[str]:
    """:func:`american_spelling` of each folded title, all in one pass per rule over the titles joined.

    The title as compared (blocking, title scores): "A national programme for healthy ageing" and
    "A national program for healthy aging" are one title. Folded titles have no line breaks, so
    the titles are joined by them and split again; a title the rules leave alone is returned as
    the same object (a million records keep one string, not two).
    """
    spelled = american_spelling("\n".join(distinct)).split("\n")
    return [title if new == title else new for new, title in zip(spelled, distinct)]


def build_keys(records: pd.DataFrame) -> pd.DataFrame:
    """One row of matching keys per record (same index as ``records``)."""
    import pandas as pd

    n = len(records)

    def col(name: str) -> list[Any]:
        if name not in records:
            return [None] * n
        if name == "year":  # whole years or None, whatever the column's dtype
            return [None if y is pd.NA else int(y) for y in pd.array(records[name], dtype="Int64")]
        return records[name].tolist()

    return key_frame(key_columns(col, n), records.index)


def key_frame(columns: dict[str, Any], index: Any = None) -> pd.DataFrame:
    """The keys table of :func:`key_columns`' columns (text as ``object``: every later step
    indexes these per pair in Python, and Arrow-backed strings box each value)."""
    import pandas as pd

    return pd.DataFrame(
        {
            name: pd.Series(values, index=index, dtype=object) if name in _TEXT_KEYS else values
            for name, values in columns.items()
        },
        index=index,
    )


#: Key columns holding text (the others are booleans and whole numbers).
_TEXT_KEYS = frozenset(
    (
        "title_key", "title_spelled", "title_compact", "title_words", "title_numbers", "author_key",
        "first_author", "surname_key", "volume_key", "first_page", "issue_key", "journal_key",
        "venue_alias", "doi_key", "pmid_key", "registration_key",
    )
)


#: Trial registration numbers as the registers write them (spaces removed, upper-cased): only an id
#: of one of these forms is a registration number (a register exported as RIS may carry a
#: reference manager's ``ID - 5``, which names nothing outside that file).
_REGISTRATION = re.compile(
    r"NCT\d{8}|ISRCTN\d{8}|ACTRN\d{14}|CHICTR[-A-Z]*\d{6,}|(?:EUCTR|EUDRACT)?(\d{4}-\d{6}-\d{2}(?:-\d{2})?)(?:-[A-Z]{2,3})?"
    r"|DRKS\d{8}|CTRI/\d{4}/\d{2,3}/\d+|(?:JPRN-)?(UMIN\d{9}|UMIN-CTR\d+|JRCT[A-Z]?\d+|JAPICCTI-\d+|JMA-IIA\d+)"
    r"|NL-OMON\d+|NTR\d+|NL\d{4,}|IRCT\d+N?\d*|KCT\d{7}|TCTR\d{11}|PACTR\d{15}|RBR-[0-9A-Z]+|SLCTR/\d{4}/\d+"
    r"|LBCTR\d+|RPCEC\d+|PER-\d{3}-\d{2}|ITMCTR\d+"
)


def registration_number(value: Any) -> str:
    """``value`` as a trial registration number in one form for every register and portal, or "".

    WHO ICTRP lists an EU trial once per member state (``EUCTR2020-001234-56-DE``, ``-FR``) and a
    Japanese one under its portal prefix (``JPRN-UMIN000012345``); the EU register writes the
    bare EudraCT number (``2020-001234-56``). All of these name one trial: the EudraCT number
    becomes ``EU2020-001234-56``, the ``JPRN-`` prefix goes.
    """
    text = "" if value is None or value != value else "".join(str(value).split()).upper()
    match = _REGISTRATION.fullmatch(text)
    if match is None:
        return ""
    if match.group(1):
        return "EU" + match.group(1)
    return match.group(2) or text


def registration_keys(ids: list[Any], databases: list[Any]) -> list[str]:
    """A trial register record's registration number (``NCT04000001``, ``ISRCTN12345678``), else "".

    Why: ClinicalTrials.gov and the WHO ICTRP portal both hold every ClinicalTrials.gov trial,
    each under its own title (the brief one, the scientific one), so titles alone left one trial
    two studies. A register record's id is the trial's registration number in every register
    and portal that lists it. Only register records (:func:`evreview.records.is_register`) have
    one: a database's accession number names a record, not a trial; and only an id of a
    registration number's form (:func:`registration_number`).
    """
    registers: dict[Any, bool] = {}  # a few database names among a million records: each tested once
    out = []
    for value, database in zip(ids, databases, strict=True):
        register = registers.get(database)
        if register is None:
            register = registers[database] = isinstance(database, str) and is_register(database)
        out.append(registration_number(value) if register else "")
    return out


def key_columns(col: Callable[[str], list[Any]], n: int) -> dict[str, Any]:
    """The columns of :func:`build_keys` for ``n`` records whose field ``name`` is ``col(name)``
    (a list; ``year`` as whole numbers or None), as lists and NumPy arrays.

    Without pandas, so ``evreview dedup`` can compute them in a process of its own while its
    main process imports pandas (see :mod:`evreview.dedup.commands`).
    """
    titles = [fold_text(greek_names(clean_title(t))) for t in col("title")]
    # every key of a title, once per distinct title: duplicates share titles (a tenth of the
    # records of sra_haematology, two fifths of sra_cytology_screening's). One list per key, not
    # a tuple per title: a million tuples set off collections of the whole heap (+10 % GC time)
    position = {title: k for k, title in enumerate(dict.fromkeys(titles))}
    distinct = list(position)
    at = list(map(position.__getitem__, titles))
    # blocking and title scores read the title spelt the American way ("programme" / "program"),
    # the other keys the title as written (a place's or a contrast word's own spelling)
    spelled_distinct = spelled_titles(distinct)
    spelled, compact, words = (
        list(map(values.__getitem__, at)) for values in (
            spelled_distinct, [title.replace(" ", "") for title in spelled_distinct],
            list(map(title_words, spelled_distinct)))
    )
    numbers, generic, notice, correction, recurring = (
        list(map(list(map(key, distinct)).__getitem__, at)) for key in _TITLE_KEYS
    )
    # "Re: <title>": only the few titles that fold to such a start are read again as written
    colon = {title for title in distinct if title.startswith(_COLON_NOTICE_WORDS)}
    if colon:
        for k, (title, raw) in enumerate(zip(titles, col("title"))):
            if title in colon and _COLON_NOTICE.match(str(raw)):
                notice[k] = True
    authors = [_as_list(a) for a in col("authors")]
    names = sorted({name for names in authors for name in names})
    surname_of = dict(zip(names, (_surname(name) for name in names)))
    surnames = [[s for s in (surname_of[a] for a in names) if s] for names in authors]
    years = col("year")
    pages = col("pages")
    # a volume equal to the year ("2016" for Harvard Business Review) is a year, not a volume
    year_text = ["" if y is None else str(y) for y in years]
    volumes = ["" if v and v == y else v for v, y in zip(_cached(volume_key, col("volume")), year_text)]
    first_pages = _cached(first_page, pages)
    issues = col("issue")
    counter = issue_is_counter(issues, col("source_file"))
    if counter.any():
        issues = [None if c else v for v, c in zip(issues, counter)]
    ranges = _cached(page_range, pages)
    online_first = [
        fp == "1" and not vol and not iss
        for fp, vol, iss in zip(first_pages, volumes, _cached(fold_text, issues))
    ]
    journals = [j if j not in MISSING_VALUES else ""
                for j in _cached(lambda j: _journal_tokens(fold_text(j)), col("journal"))]
    aliases = _cached(venue_alias, journals)

    return {
        "title_key": titles,
        "title_spelled": spelled,
        "title_compact": compact,
        "title_words": words,
        "title_numbers": numbers,
        "title_generic": generic,
        "title_notice": notice,
        "title_correction": correction,
        "author_key": [author_key(a) for a in authors],
        "first_author": [(s[0] if s else "") for s in surnames],
        "surname_key": [" ".join(s) for s in surnames],
        "year_key": np.array([-1 if y is None else y for y in years], dtype=np.int64),
        "volume_key": volumes,
        "first_page": first_pages,
        "issue_key": _cached(issue_key, issues),
        "online_first": online_first,
        "page_first": np.array([r[0] for r in ranges], dtype=np.int64),
        "page_last": np.array([r[1] for r in ranges], dtype=np.int64),
        "journal_key": journals,
        "venue_alias": aliases,
        "conference": [is_conference(d, j, a) for d, j, a in zip(col("doc_type"), journals, aliases)],
        "title_recurring": recurring,
        "doi_key": [doi_key(d) for d in col("doi")],
        "pmid_key": [("" if p is None or p != p else str(p)) for p in col("pmid")],
        "registration_key": registration_keys(col("source_id"), col("source_database")),
    }
