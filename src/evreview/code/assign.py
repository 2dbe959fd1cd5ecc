"""Coding included studies into the codebook: seed terms, zero-shot similarity, topics.

``code_studies`` is a pure function of (studies, codebook, embeddings, decisions): it returns
DataFrames; :func:`evreview.code.write_coding` does the I/O. Every machine row says which
method produced it, its score, the evidence (the sentence or the matched terms), the model
id and the codebook version, so a reviewer can audit and override each one.

Zero-shot score of code c for a study = ``w * max_sentence cos + (1 - w) * study cos``, where
the prototype of c is the normalised sum of the embeddings of "label: description" and of its
seed terms. Calibration: each code's scores are centred on that code's corpus median (plus the
dimension's overall median), because a generic description is close to every abstract and
would otherwise win everywhere. A code is assigned when its raw cosine reaches
``min_similarity``; single-label dimensions take the one best code (terms add
``term_weight``). A multi-label dimension assigns every code whose calibrated score is within
``margin`` of the study's best *and* that has a sentence of its own (:func:`sentence_leads`):
a sentence, not the keyword line, whose calibrated cosine to that code leads its cosine to
every other code of the dimension by at least ``evidence_lead``. Why: whole-study similarity
says what a study is about, not which outcomes it reports; near-ties between codes are the
rule when every sentence names the same partners, and a background, method or keyword
sentence that mentions "organisations" is no organisational outcome (issue #7: three reviews
landed in a planted synthesis gap that way). When no near-best code has such a sentence the
study keeps its best code, as before.

Everything is column-wise so 20,000 studies code in seconds (issue #6): sentence scores are one
matrix product per dimension with per-study maxima by ``reduceat``; seed terms are looked up in
one token index of the whole corpus (:class:`TermIndex`) rather than by a regex per study; rows
are built as columns. :class:`TermMatcher` is the per-study regex reference the index is tested
against.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from evreview.code.codebook import Codebook, Dimension
from evreview.code.topics import (
    SavedTopics,
    TopicConfig,
    TopicResult,
    assign_with_saved_topics,
    fit_topics,
    reuse_decision,
    topics_over_time,
)
from evreview.embed import StudyEmbeddings, embed_texts
from evreview.embed.backends import EmbeddingBackend, l2_normalise
from evreview.records import clean_text, fold

ASSIGNMENT_COLUMNS: tuple[str, ...] = (
    "study_id",
    "dimension",
    "code",
    "method",
    "status",
    "score",
    "evidence",
    "model_id",
    "codebook_version",
    "reviewer",
    "timestamp",
)

#: Row status: ``assigned`` counts in the coded table; ``uncoded`` explains a gap;
#: ``removed`` is a machine code a reviewer took away (kept for the audit trail).
STATUSES = ("assigned", "uncoded", "removed")
EVIDENCE_CHARS = 300


@dataclass
class CodingResult:
    """Everything the code stage produces, as tables (see :func:`evreview.code.write_coding`)."""

    assignments: pd.DataFrame
    coded: pd.DataFrame
    topics: pd.DataFrame
    topics_over_time: pd.DataFrame
    unmatched_decisions: pd.DataFrame
    topic_result: TopicResult | None = None
    stats: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- terms


def term_pattern(term: str) -> re.Pattern[str]:
    """Whole-word regex for a seed term on folded text: plural -s/-es allowed, ``*`` = any ending."""
    star = term.endswith("*")
    folded = fold(term.rstrip("*"))
    body = r"\s+".join(re.escape(part) for part in folded.split())
    suffix = r"\w*" if star else r"(?:s|es)?"
    return re.compile(rf"(?<!\w){body}{suffix}(?!\w)")


@dataclass(frozen=True)
class TermMatcher:
    """Seed-term patterns of one code, with a combined pattern to skip studies quickly."""

    terms: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    any_pattern: re.Pattern[str] | None

    @classmethod
    def for_terms(cls, terms: Sequence[str]) -> TermMatcher:
        patterns = tuple(term_pattern(t) for t in terms)
        combined = re.compile("|".join(f"(?:{p.pattern})" for p in patterns)) if patterns else None
        return cls(tuple(terms), patterns, combined)

    def match(self, sentences: Sequence[str], folded: Sequence[str]) -> tuple[list[str], str]:
        """Distinct seed terms found, and the first sentence that had one (``folded`` = folded sentences)."""
        if self.any_pattern is None or not self.any_pattern.search(" \n ".join(folded)):
            return [], ""
        found: list[str] = []
        first_index: int | None = None
        for term, pattern in zip(self.terms, self.patterns):
            for index, text in enumerate(folded):
                if pattern.search(text):
                    found.append(term)
                    first_index = index if first_index is None else min(first_index, index)
                    break
        return found, sentences[first_index] if first_index is not None else ""


def match_terms(sentences: Sequence[str], terms: Sequence[str]) -> tuple[list[str], str]:
    """Distinct seed terms found in the sentences, and the first sentence that had one.

    The per-study regex reference; :class:`TermIndex` gives the same answer for a whole corpus.
    """
    return TermMatcher.for_terms(terms).match(sentences, [fold(s) for s in sentences])


def _ascii_fold_table() -> bytes:
    table = bytearray(b" " * 256)
    for c in b"abcdefghijklmnopqrstuvwxyz0123456789_\n":
        table[c] = c
    for c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        table[c] = c + 32
    return bytes(table)


#: ASCII bytes -> lower case, word characters ([a-z0-9_], ``\\w`` on ASCII) and newline kept, the rest a space
_ASCII_FOLD = _ascii_fold_table()


def _fold_spaced(texts: Sequence[str]) -> list[str]:
    """Each text as :func:`~evreview.records.fold` makes it, except that runs of spaces are not collapsed or stripped.

    Why this is exact and fast: for ASCII text NFKD is the identity and nothing is combining,
    so ``fold`` is lower-casing plus "every non-word character becomes a space" (then collapsing
    spaces): one ``bytes.translate`` over all ASCII texts joined by newlines (which no text
    then contains). Other texts go through ``fold`` itself.
    """
    texts = list(texts)
    is_ascii = [t.isascii() and "\n" not in t for t in texts]
    ascii_texts = [t for t, a in zip(texts, is_ascii) if a]
    spaced: list[str] = []
    if ascii_texts:
        spaced = "\n".join(ascii_texts).encode("ascii").translate(_ASCII_FOLD).decode("ascii").split("\n")
    if len(ascii_texts) == len(texts):
        return spaced
    # fold() costs ~45 µs a sentence (NFKD, a test per character); a corpus repeats its
    # sentences (a project's description in every abstract), so each distinct one is folded once
    folded = {t: "" for t, a in zip(texts, is_ascii) if not a}
    for t in folded:
        folded[t] = fold(t)
    it = iter(spaced)
    return [next(it) if a else folded[t] for t, a in zip(texts, is_ascii)]


def fold_many(texts: Sequence[str]) -> list[str]:
    """``[fold(t) for t in texts]``, fast (see :func:`_fold_spaced`)."""
    return [" ".join(t.split()) for t in _fold_spaced(texts)]


class TermIndex:
    """All codable studies' folded sentences as one token array, to match seed terms column-wise.

    Folded text is word characters separated by single spaces, so a term's whole-word regex
    (:func:`term_pattern`) matches a sentence exactly when consecutive tokens of that sentence
    equal the term's words, the last one also as ``+s``/``+es`` (or, for ``word*``, any token
    starting with it). Matching a term is then a lookup of its words' token ids in a sorted
    position index: cost grows with the term's occurrences, not with the corpus, and the
    answer equals :class:`TermMatcher`'s (tests/test_code.py compares them).
    """

    def __init__(self, sentences: Sequence[Sequence[str]], include: np.ndarray | None = None) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        n = len(sentences)
        include = np.ones(n, dtype=bool) if include is None else np.asarray(include, dtype=bool)
        counts = np.array([len(g) if include[i] else 0 for i, g in enumerate(sentences)], dtype=np.int64)
        flat = [s for i, g in enumerate(sentences) if include[i] for s in g]
        self.n_studies = n
        self.sentence_study = np.repeat(np.arange(n, dtype=np.int64), counts)
        starts = np.zeros(n + 1, dtype=np.int64)
        starts[1:] = np.cumsum(counts)
        self.sentence_local = np.arange(len(flat), dtype=np.int64) - starts[self.sentence_study]
        self._flat = flat
        # Tokens of each distinct sentence only: a corpus repeats its sentences (24,000 studies
        # have 270,000 sentences but 67,000 distinct), and whether a sentence holds a term
        # depends on its text alone, so hits on a distinct sentence go to all its copies.
        ids: dict[str, int] = {}
        self._flat_unique = np.fromiter((ids.setdefault(s, len(ids)) for s in flat), dtype=np.int64, count=len(flat))
        self._unique = list(ids)
        lists = pc.split_pattern(pa.array(_fold_spaced(self._unique), type=pa.string()), " ")
        words = pc.list_flatten(lists)
        real = pc.not_equal(words, "")  # runs of spaces leave empty strings between words
        self.token_sentence = np.asarray(pc.list_parent_indices(lists).filter(real), dtype=np.int64)
        encoded = words.filter(real).dictionary_encode()
        tokens = np.asarray(encoded.indices, dtype=np.int64)
        self._dictionary = encoded.dictionary
        self.vocab = {w: i for i, w in enumerate(self._dictionary.to_pylist())}
        self.tokens = tokens
        # positions of each token id: order[bounds[t]:bounds[t + 1]] (ascending, stable sort; a
        # stable sort's order is unique, and NumPy radix-sorts 16-bit keys, several times faster)
        keys = tokens.astype(np.uint16) if len(self.vocab) <= 1 << 16 else tokens
        self._order = np.argsort(keys, kind="stable")
        self._bounds = np.zeros(len(self.vocab) + 1, dtype=np.int64)
        self._bounds[1:] = np.cumsum(np.bincount(tokens, minlength=len(self.vocab)))
        self._memo: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def _ids(self, word: str, last: bool, star: bool) -> np.ndarray:
        if last and star:
            import pyarrow.compute as pc

            return np.flatnonzero(np.asarray(pc.starts_with(self._dictionary, pattern=word), dtype=bool))
        forms = (word, word + "s", word + "es") if last else (word,)
        return np.array(sorted({self.vocab[f] for f in forms if f in self.vocab}), dtype=np.int64)

    def _positions(self, ids: np.ndarray) -> np.ndarray:
        if len(ids) == 0:
            return np.zeros(0, dtype=np.int64)
        parts = [self._order[self._bounds[t] : self._bounds[t + 1]] for t in ids]
        return np.sort(np.concatenate(parts))

    def find(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """Studies (indices, ascending) whose sentences contain ``term``, and the first such sentence of each."""
        if term in self._memo:
            return self._memo[term]
        star = term.endswith("*")
        words = fold(term.rstrip("*")).split()
        empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        if not words:  # a term of punctuation only: no tokens to look up, so ask its regex (rare)
            pattern = term_pattern(term)
            folded = fold_many(self._unique)
            hits = self._copies(np.array([i for i, text in enumerate(folded) if pattern.search(text)], dtype=np.int64))
            result = self._first_per_study(hits) if len(hits) else empty
            self._memo[term] = result
            return result
        pos = self._positions(self._ids(words[0], len(words) == 1, star))
        for k, word in enumerate(words[1:], start=1):
            ok = np.zeros(len(self.vocab), dtype=bool)
            ok[self._ids(word, k == len(words) - 1, star)] = True
            nxt = pos + k
            pos = pos[nxt < len(self.tokens)]
            nxt = pos + k
            keep = ok[self.tokens[nxt]] & (self.token_sentence[nxt] == self.token_sentence[pos])
            pos = pos[keep]
        result = self._first_per_study(self._copies(self.token_sentence[pos])) if len(pos) else empty
        self._memo[term] = result
        return result

    def _copies(self, unique_ids: np.ndarray) -> np.ndarray:
        """Every sentence (flat index, ascending) that is a copy of one of these distinct sentences."""
        hit = np.zeros(len(self._unique), dtype=bool)
        hit[unique_ids] = True
        return np.flatnonzero(hit[self._flat_unique])

    def _first_per_study(self, sentence_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sentence_ids = np.sort(sentence_ids)  # study-major order: the first hit is the first sentence
        studies = self.sentence_study[sentence_ids]
        uniq, first = np.unique(studies, return_index=True)
        return uniq, self.sentence_local[sentence_ids[first]]


@dataclass
class CodeTerms:
    """Seed-term matches of one code for every study: counts, found terms, first matching sentence."""

    terms: tuple[str, ...]
    found: np.ndarray  # (n_studies, n_terms) bool, in the code's term order
    first: np.ndarray  # (n_studies,) first sentence with any term, -1 when none

    @property
    def n_found(self) -> np.ndarray:
        return self.found.sum(axis=1).astype(np.float64)

    def evidence(self, i: int, sentences: Sequence[str]) -> str:
        found = [t for t, hit in zip(self.terms, self.found[i]) if hit]
        sentence = sentences[self.first[i]] if self.first[i] >= 0 else ""
        return f'terms: {", ".join(found)} in "{_clip(sentence)}"'

    def evidence_many(self, rows: Sequence[int], sentences: Sequence[Sequence[str]]) -> list[str]:
        """``[self.evidence(i, sentences[i]) for i in rows]``, each term list joined and quote clipped once.

        Why: 110,000 term rows at 24,000 studies, where the same few term combinations and
        the same sentences come back again and again.
        """
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) == 0:
            return []
        patterns, which = np.unique(self.found[rows], axis=0, return_inverse=True)
        joined = [", ".join(t for t, hit in zip(self.terms, p.tolist()) if hit) for p in patterns]
        first = self.first[rows].tolist()
        quotes = _clip_many([sentences[i][k] if k >= 0 else "" for i, k in zip(rows.tolist(), first)])
        return [f'terms: {joined[w]} in "{q}"' for w, q in zip(np.ravel(which).tolist(), quotes)]


def code_terms(index: TermIndex, terms: Sequence[str]) -> CodeTerms:
    """Match one code's seed terms in every study of ``index`` (as :meth:`TermMatcher.match`)."""
    n = index.n_studies
    found = np.zeros((n, len(terms)), dtype=bool)
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    for t, term in enumerate(terms):
        studies, sentence = index.find(term)
        found[studies, t] = True
        np.minimum.at(first, studies, sentence)
    first[first == np.iinfo(np.int64).max] = -1
    return CodeTerms(tuple(terms), found, first)


@lru_cache(maxsize=1 << 17)
def _clip(text: str) -> str:
    """The evidence quote of a sentence (memoised: every dimension quotes the same sentences)."""
    text = clean_text(text)
    return text if len(text) <= EVIDENCE_CHARS else text[: EVIDENCE_CHARS - 1] + "…"


def _clip_many(texts: Sequence[str]) -> list[str]:
    """``[_clip(t) for t in texts]``, each distinct text clipped once (evidence quotes repeat sentences)."""
    memo = dict.fromkeys(texts, "")
    for text in memo:
        memo[text] = _clip(text)
    return [memo[t] for t in texts]


# --------------------------------------------------------------------------- zero-shot


def code_prototypes(
    dim: Dimension, backend: EmbeddingBackend, cache_dir: Any = None, *, batch_size: int = 32
) -> np.ndarray:
    """One unit vector per code: description + seed terms, embedded with the coding backend."""
    texts = [c.prototype_text for c in dim.codes] + [", ".join(c.terms) for c in dim.codes]
    vectors, _ = embed_texts(texts, backend, cache_dir, batch_size=batch_size, progress=False)
    n = len(dim.codes)
    return l2_normalise(vectors[:n] + vectors[n:])


def zero_shot_scores(
    emb: StudyEmbeddings, prototypes: np.ndarray, sentence_weight: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw scores ``(n_studies, n_codes)``, best-sentence index and best-sentence cosine.

    One matrix product for all sentences, then per-study maxima with ``reduceat`` over the
    study offsets; the best sentence is the first one reaching the maximum (``np.argmax``'s
    tie rule). Studies without sentences score 0.
    """
    n, k = len(emb.study_ids), prototypes.shape[0]
    raw = np.zeros((n, k), dtype=np.float64)
    best_idx = np.zeros((n, k), dtype=np.int64)
    best_sim = np.zeros((n, k), dtype=np.float64)
    if emb.sentence_vectors.size == 0:
        return raw, best_idx, best_sim
    sims = emb.sentence_vectors @ prototypes.T
    if not np.isfinite(sims).all():
        raise ValueError("non-finite sentence embeddings: rebuild the embedding cache")
    study = emb.study_vectors @ prototypes.T
    offsets = np.asarray(emb.offsets, dtype=np.int64)
    lengths = np.diff(offsets)
    has = lengths > 0
    starts = offsets[:-1][has]
    seg_max = np.maximum.reduceat(sims, starts, axis=0)
    owner = np.repeat(np.arange(len(starts)), lengths[has])
    rows = np.arange(sims.shape[0], dtype=np.int64)[:, None]
    first = np.minimum.reduceat(np.where(sims == seg_max[owner], rows, sims.shape[0]), starts, axis=0)
    best_idx[has] = first - starts[:, None]
    best_sim[has] = seg_max
    raw[has] = sentence_weight * best_sim[has] + (1 - sentence_weight) * study[has]
    return raw, best_idx, best_sim


def sentence_leads(
    emb: StudyEmbeddings,
    prototypes: np.ndarray,
    codable: np.ndarray,
    *,
    calibrate_sentences: bool,
    min_studies: int,
    exclude_last: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per study and code: the largest lead one of its sentences gives that code, and that sentence.

    ``lead(s, c) = cal(s, c) - max over c' != c of cal(s, c')``, where ``cal`` centres each code's
    sentence cosines on their median over the countable sentences of codable studies (with
    ``calibrate_sentences`` and at least ``min_studies`` codable studies), so a description
    close to every sentence of the corpus does not lead everywhere. A positive lead means the
    sentence is more about ``c`` than about any other code of the dimension. The last sentence
    of a study flagged in ``exclude_last`` (its keyword line: a list of topics, not a statement)
    never counts. Returns ``(lead, index)``, both ``(n_studies, n_codes)``; studies without a
    countable sentence get ``-inf`` and index -1. A dimension of one code has nothing to lead,
    so every countable study gets ``+inf``.
    """
    n, k = len(emb.study_ids), prototypes.shape[0]
    lead = np.full((n, k), -np.inf)
    index = np.full((n, k), -1, dtype=np.int64)
    offsets = np.asarray(emb.offsets, dtype=np.int64)
    if emb.sentence_vectors.size == 0 or k == 0:
        return lead, index
    lengths = np.diff(offsets)
    owner = np.repeat(np.arange(n), lengths)
    countable = np.ones(len(owner), dtype=bool)
    if exclude_last is not None:
        drop = np.asarray(exclude_last, dtype=bool) & (lengths > 0)
        countable[offsets[1:][drop] - 1] = False
    sims = (emb.sentence_vectors @ prototypes.T).astype(np.float64)
    basis = countable & np.asarray(codable, dtype=bool)[owner]
    if calibrate_sentences and int(np.asarray(codable, dtype=bool).sum()) >= min_studies and basis.any():
        sims = sims - np.median(sims[basis], axis=0)
    if k == 1:
        per = np.where(countable[:, None], np.inf, -np.inf)
    else:
        # the best code of each sentence (the first on ties, as a stable sort of -sims puts
        # first) and the runner-up's cosine: no sort of the 270,000 x k matrix needed
        rows = np.arange(len(sims))
        if np.isfinite(sims).all():
            first = np.argmax(sims, axis=1)
            top1 = sims[rows, first]
            rest = sims.copy()
            rest[rows, first] = -np.inf
            top2 = rest.max(axis=1)
        else:  # NaN sorts last, where argmax would take it first: keep the sort
            order = np.argsort(-sims, axis=1, kind="stable")
            first = order[:, 0]
            top1, top2 = sims[rows, first], sims[rows, order[:, 1]]
        per = sims - top1[:, None]  # <= 0 for every code but the sentence's best
        per[rows, first] = top1 - top2
        per[~countable] = -np.inf
    has = lengths > 0
    starts = offsets[:-1][has]
    seg_max = np.maximum.reduceat(per, starts, axis=0)
    seg_owner = np.repeat(np.arange(len(starts)), lengths[has])
    pos = np.arange(len(per), dtype=np.int64)[:, None]
    first = np.minimum.reduceat(np.where(per == seg_max[seg_owner], pos, len(per)), starts, axis=0)
    lead[has] = seg_max
    index[has] = np.where(seg_max > -np.inf, first - starts[:, None], -1)
    return lead, index


def keyword_line_flags(keywords: Sequence[Any], sentences: Sequence[Sequence[str]]) -> np.ndarray:
    """Whether each study's last sentence is its keyword line (as the embedding step writes it)."""
    from evreview.embed.text import study_sentences

    flags = np.zeros(len(sentences), dtype=bool)
    for i, (kw, sents) in enumerate(zip(keywords, sentences)):
        if len(sents) == 0 or kw is None or (isinstance(kw, float) and kw != kw):
            continue
        line = study_sentences(None, None, kw)
        flags[i] = bool(line) and sents[-1] == line[0]
    return flags


def _keyword_lines(frame: pd.DataFrame, embeddings: StudyEmbeddings) -> np.ndarray | None:
    """:func:`keyword_line_flags` of the studies, or the flags the embedding step made with their split.

    Why: re-deriving each study's keyword line costs a third of a second per 24,000 studies,
    and :func:`evreview.embed.embed_studies` has the answer already (it is stored with the
    memoised split, see :func:`evreview.embed.sentences.keyword_line_flag`).
    """
    if "keywords" not in frame:
        return None
    flags = embeddings.extra.get("keyword_lines") if embeddings.extra else None
    if isinstance(flags, np.ndarray) and flags.shape == (len(embeddings.study_ids),):
        return flags.astype(bool, copy=False)
    return keyword_line_flags(frame["keywords"].tolist(), embeddings.sentences)


def calibrate(raw: np.ndarray, codable: np.ndarray, min_studies: int) -> np.ndarray:
    """Centre each code's column on its median over codable studies (see module docstring)."""
    if raw.size == 0 or codable.sum() < min_studies:
        return raw.copy()
    sub = raw[codable]
    return raw - np.median(sub, axis=0) + np.median(sub)


# --------------------------------------------------------------------------- per-study coding


class _Rows:
    """Assignment rows collected as columns (one list per column): no dict per row."""

    COLUMNS = ("study_id", "dimension", "code", "method", "status", "score", "evidence", "reviewer", "timestamp")

    def __init__(self) -> None:
        self.cols: dict[str, list[Any]] = {c: [] for c in self.COLUMNS}

    def add(
        self,
        study_ids: Sequence[str],
        dim: str | Sequence[str],
        code: str | Sequence[str],
        method: str,
        status: str,
        scores: Sequence[float],
        evidence: Sequence[str],
    ) -> None:
        n = len(study_ids)
        self.cols["study_id"].extend(study_ids)
        self.cols["dimension"].extend([dim] * n if isinstance(dim, str) else dim)
        self.cols["code"].extend([code] * n if isinstance(code, str) else code)
        self.cols["method"].extend([method] * n)
        self.cols["status"].extend([status] * n)
        # Python's round (correctly rounded), not np.round: the CSV shows these digits.
        self.cols["score"].extend(round(float(s), 4) if s == s else float("nan") for s in scores)
        self.cols["evidence"].extend(evidence)
        self.cols["reviewer"].extend([""] * n)
        self.cols["timestamp"].extend([""] * n)

    def frame(self) -> pd.DataFrame:
        if not self.cols["study_id"]:
            return pd.DataFrame([], columns=list(self.COLUMNS))
        return pd.DataFrame(self.cols, columns=list(self.COLUMNS))


def _uncoded_reason(language: str, sentences: list[str], languages: Sequence[str]) -> str:
    if not sentences:
        return "no title, abstract or keywords to code"
    if language and language not in languages:
        return (
            f"language {language!r} is not one the models code ({', '.join(languages)}): "
            "left for a reviewer to code by hand"
        )
    return ""


@dataclass(frozen=True)
class StudyMeta:
    """Per-study metadata some codes are decided by: the export's document type and the title.

    ``keyword_lines`` flags studies whose last sentence is their keyword line, which is no
    statement and so never a multi-label code's own evidence (see :func:`sentence_leads`).
    """

    doc_types: list[str]
    titles: list[str]
    keyword_lines: np.ndarray | None = None
    #: ``TermIndex([[title] for title in titles])``, when given: the titles' seed terms are looked
    #: up in it for every dimension's document-type codes instead of a regex search per title
    title_index: TermIndex | None = None


def doc_type_masks(dim: Dimension, meta: StudyMeta | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(forced, blocked)`` ``(n_studies, n_codes)`` masks from the codes' ``doc_types``.

    Why: a review is a document type the databases record reliably ("Review" in Scopus, Web of
    Science, PubMed), while a primary study's abstract often *mentions* a literature review and
    reads like one to a sentence model; one false "review" erases a synthesis gap from the map.
    So a study whose document type a code lists gets that code (``forced``), and a study of
    another *known* type can get it only when its title carries one of the code's terms
    (``blocked`` otherwise). A study without a document type is coded as before.
    """
    forced = np.zeros((n, len(dim.codes)), dtype=bool)
    blocked = np.zeros((n, len(dim.codes)), dtype=bool)
    if meta is None:
        return forced, blocked
    types = np.array([str(x or "").strip().lower() for x in meta.doc_types], dtype=object)
    known = types != ""
    for j, code in enumerate(dim.codes):
        if not code.doc_types:
            continue
        listed = np.isin(types, list(code.doc_types))
        forced[:, j] = listed
        candidates = np.flatnonzero(known & ~listed)
        if len(candidates) and code.terms:
            # a title carries one of the terms exactly when TermMatcher finds one in it, and the
            # title index finds what TermMatcher finds (see TermIndex)
            index = meta.title_index
            if index is None or index.n_studies != n:
                index = TermIndex([[t] for t in meta.titles])
            titled = np.zeros(n, dtype=bool)
            for term in code.terms:
                titled[index.find(term)[0]] = True
            blocked[candidates[~titled[candidates]], j] = True
        else:
            blocked[candidates, j] = True
    return forced, blocked


def code_dimension(
    dim: Dimension,
    emb: StudyEmbeddings,
    codable: np.ndarray,
    prototypes: np.ndarray | None,
    codebook: Codebook,
    index: TermIndex | None = None,
    meta: StudyMeta | None = None,
) -> pd.DataFrame:
    """Assignment (and per-dimension 'uncoded') rows of one dimension for all codable studies.

    Column-wise: scores are ``(n_studies, n_codes)`` matrices, the decisions boolean masks of
    the same shape, and only the evidence strings of emitted rows are formatted one by one.
    """
    min_sim = float(codebook.setting("min_similarity"))
    margin = float(codebook.setting("margin"))
    term_weight = float(codebook.setting("term_weight"))
    use_terms = "terms" in dim.methods
    use_zero_shot = "zero-shot" in dim.methods and prototypes is not None
    n, k = len(emb.study_ids), len(dim.codes)
    codable = np.asarray(codable, dtype=bool)
    if use_terms and index is None:
        index = TermIndex(emb.sentences, codable)
    matches = [code_terms(index, c.terms) for c in dim.codes] if use_terms and index is not None else []
    n_terms = np.zeros((n, k), dtype=np.float64)
    for j, m in enumerate(matches):
        n_terms[:, j] = m.n_found
    n_terms[~codable] = 0
    term_score = 1 - 0.5**n_terms
    has_terms = term_score > 0
    if use_zero_shot:
        raw, best_idx, best_sim = zero_shot_scores(emb, prototypes, float(codebook.setting("sentence_weight")))
        cal = (
            calibrate(raw, codable, int(codebook.setting("calibration_min_studies")))
            if codebook.setting("calibrate")
            else raw
        )
        eligible = raw >= min_sim
        rank = cal + term_weight * n_terms
    else:
        eligible = np.zeros((n, k), dtype=bool)
        rank = n_terms + 0.01 * term_score
    eligible &= codable[:, None]
    forced, blocked = doc_type_masks(dim, meta, n)
    forced &= codable[:, None]
    eligible &= ~blocked
    has_terms &= ~blocked
    lead = lead_idx = None
    if dim.multi_label:
        if use_zero_shot:
            best = np.where(eligible, cal, -np.inf).max(axis=1, initial=-np.inf)
            near = eligible & (cal >= best[:, None] - margin)
            lead, lead_idx = sentence_leads(
                emb, prototypes, codable, calibrate_sentences=bool(codebook.setting("calibrate")),
                min_studies=int(codebook.setting("calibration_min_studies")),
                exclude_last=None if meta is None else meta.keyword_lines,
            )
            own = near & (lead >= float(codebook.setting("evidence_lead")))
            # no near-best code has a sentence of its own: the study keeps its best code(s), as before
            keep_best = ~own.any(axis=1)
            zs = own.copy()
            zs[keep_best] = (eligible & (cal >= best[:, None]))[keep_best]
            lead_idx = np.where(own & np.isfinite(lead), lead_idx, -1)
        else:
            zs = np.zeros((n, k), dtype=bool)
        by_terms = has_terms.copy()
    else:
        candidates = eligible | has_terms
        winner = np.argmax(np.where(candidates, rank, -np.inf), axis=1) if k else np.zeros(n, dtype=np.int64)
        chosen = np.zeros((n, k), dtype=bool)
        some = candidates.any(axis=1)
        chosen[np.flatnonzero(some), winner[some]] = True
        chosen[forced.any(axis=1)] = False  # the document type decides a single-label dimension
        zs = chosen & eligible
        by_terms = chosen & has_terms
    if dim.multi_label:
        zs &= ~forced
        by_terms &= ~forced
    rows = _Rows()
    codes = [c.id for c in dim.codes]
    ii, jj = np.nonzero(forced)
    if len(ii):
        assert meta is not None  # doc_type_masks forces nothing without metadata
        doc_types = meta.doc_types
        rows.add(
            [emb.study_ids[i] for i in ii],
            dim.id,
            [codes[j] for j in jj],
            "metadata",
            "assigned",
            [1.0] * len(ii),
            [f"document type {doc_types[i]!r} in the export" for i in ii.tolist()],
        )
    ii, jj = np.nonzero(zs)
    if len(ii):
        rows.add(
            [emb.study_ids[i] for i in ii],
            dim.id,
            [codes[j] for j in jj],
            "zero-shot",
            "assigned",
            cal[ii, jj],
            _zero_shot_evidence_many(emb.sentences, ii, jj, best_idx, best_sim, raw, lead, lead_idx),
        )
    ii, jj = np.nonzero(by_terms)
    if len(ii):
        rows.add(
            [emb.study_ids[i] for i in ii],
            dim.id,
            [codes[j] for j in jj],
            "terms",
            "assigned",
            term_score[ii, jj],
            _terms_evidence(matches, emb.sentences, ii, jj),
        )
    none = np.flatnonzero(codable & ~zs.any(axis=1) & ~by_terms.any(axis=1) & ~forced.any(axis=1))
    if len(none):
        if use_zero_shot:
            top = np.argmax(raw[none], axis=1)
            why = [
                f"no code reached min_similarity {min_sim} (best {codes[j]} {raw[i, j]:.3f})"
                for i, j in zip(none.tolist(), top.tolist())
            ]
        else:
            why = ["no seed term of this dimension found"] * len(none)
        if use_terms and use_zero_shot:
            why = [w + " and no seed term found" for w in why]
        rows.add([emb.study_ids[i] for i in none], dim.id, "", "none", "uncoded", [float("nan")] * len(none), why)
    return rows.frame()


def _zero_shot_evidence(
    sentences: Sequence[str],
    i: int,
    j: int,
    best_idx: np.ndarray,
    best_sim: np.ndarray,
    raw: np.ndarray,
    lead: np.ndarray | None,
    lead_idx: np.ndarray | None,
) -> str:
    """Evidence of one zero-shot row: the sentence that decided it, with the numbers that did.

    Multi-label codes cite their own leading sentence when it qualified them (``lead_idx`` is
    -1 otherwise); single-label codes, and a study's best code kept without such a sentence,
    cite the sentence most similar to the code.
    """
    score = f"study score {raw[i, j]:.3f}"
    if lead is not None and lead_idx is not None and lead_idx[i, j] >= 0:
        sentence = sentences[lead_idx[i, j]]
        return f'"{_clip(sentence)}" (leads the other codes by {lead[i, j]:.3f}; {score})'
    note = "; best code, no sentence of its own" if lead is not None and np.isfinite(lead[i, j]) else ""
    return f'"{_clip(sentences[best_idx[i, j]])}" (sentence cos {best_sim[i, j]:.3f}; {score}{note})'


def _zero_shot_evidence_many(
    sentences: Sequence[Sequence[str]],
    ii: np.ndarray,
    jj: np.ndarray,
    best_idx: np.ndarray,
    best_sim: np.ndarray,
    raw: np.ndarray,
    lead: np.ndarray | None,
    lead_idx: np.ndarray | None,
) -> list[str]:
    """``[_zero_shot_evidence(sentences[i], i, j, ...) for i, j in zip(ii, jj)]``, the numbers
    picked column-wise and each quoted sentence clipped once."""
    n = len(ii)
    scores = raw[ii, jj].tolist()
    if lead is not None and lead_idx is not None:
        own = lead_idx[ii, jj] >= 0
        leads = lead[ii, jj]
        finite = np.isfinite(leads).tolist()
        leads = leads.tolist()
        which = np.where(own, lead_idx[ii, jj], best_idx[ii, jj]).tolist()
        own = own.tolist()
    else:
        own = finite = [False] * n
        leads = [0.0] * n
        which = best_idx[ii, jj].tolist()
    quotes = _clip_many([sentences[i][k] for i, k in zip(ii.tolist(), which)])
    sims = best_sim[ii, jj].tolist()
    note = "; best code, no sentence of its own"
    return [
        f'"{q}" (leads the other codes by {ld:.3f}; study score {sc:.3f})' if o
        else f'"{q}" (sentence cos {sm:.3f}; study score {sc:.3f}{note if f else ""})'
        for q, o, ld, f, sm, sc in zip(quotes, own, leads, finite, sims, scores)
    ]


def _terms_evidence(
    matches: Sequence[CodeTerms], sentences: Sequence[Sequence[str]], ii: np.ndarray, jj: np.ndarray
) -> list[str]:
    """Evidence of the term rows ``(ii[r], jj[r])`` (study, code), in that order, code by code."""
    out = [""] * len(ii)
    for j in np.unique(jj).tolist():
        at = np.flatnonzero(jj == j)
        for r, text in zip(at.tolist(), matches[j].evidence_many(ii[at], sentences)):
            out[r] = text
    return out


def _topic_rows(result: TopicResult, dimension: str = "topic") -> pd.DataFrame:
    words = dict(zip(result.topics["topic"], result.topics["top_words"]))
    per = result.per_study
    rows = _Rows()
    topics = [int(t) for t in per["topic"]]
    notes = per["evidence_note"].tolist() if "evidence_note" in per.columns else [""] * len(per)
    evidence = [
        f"topic words: {words.get(t, '')}" + (" (outlier moved to nearest topic)" if moved else "") + note
        for t, moved, note in zip(topics, per["outlier_reassigned"].tolist(), notes)
    ]
    rows.add(per["study_id"].tolist(), dimension, [f"topic_{t}" for t in topics], "topic", "assigned",
             per["score"].tolist(), evidence)
    return rows.frame()


def code_studies(
    studies: pd.DataFrame,
    codebook: Codebook,
    embeddings: StudyEmbeddings,
    backend: EmbeddingBackend,
    *,
    decisions: pd.DataFrame | None = None,
    cache_dir: Any = None,
    topic_config: TopicConfig | None = None,
    fit_topic_model: bool = True,
    batch_size: int = 32,
    saved_topics: SavedTopics | None = None,
    refit_topics: bool = False,
) -> CodingResult:
    """Code every study (one row per ``study_id`` in ``studies``) into every dimension.

    ``embeddings`` must come from :func:`evreview.embed.embed_studies` on ``studies`` sorted
    by ``study_id`` with the same ``backend``. Reviewers' ``decisions`` (see
    :mod:`evreview.code.decisions`) are applied last and always win.

    Topics: with ``saved_topics`` (a previous round's model, see
    :func:`evreview.code.topics.load_saved_topics`) that matches this run's embedding model,
    codebook version and topic settings, the studies it knows keep their topic and new ones go
    to the nearest saved topic centroid; otherwise (or with ``refit_topics``) the topic model
    is refitted. ``stats["topic_model"]`` says which, and why.
    """
    from evreview.code.decisions import apply_decisions

    frame = studies.sort_values("study_id", kind="stable").reset_index(drop=True)
    ids = frame["study_id"].astype(str).tolist()
    if ids != embeddings.study_ids:
        raise ValueError("embeddings do not match the studies (embed the study_id-sorted table)")
    languages = list(codebook.setting("languages"))
    lang_col = frame["language"].fillna("").astype(str).tolist() if "language" in frame else [""] * len(ids)
    reasons = [_uncoded_reason(lang, embeddings.sentences[i], languages) for i, lang in enumerate(lang_col)]
    codable = np.array([not r for r in reasons], dtype=bool)
    parts: list[pd.DataFrame] = []
    uncoded = _Rows()
    skipped = [i for i, reason in enumerate(reasons) if reason]
    uncoded.add([ids[i] for i in skipped], "", "", "none", "uncoded", [float("nan")] * len(skipped),
                [reasons[i] for i in skipped])
    parts.append(uncoded.frame())
    prototypes: dict[str, np.ndarray] = {}
    titles = frame["title"].fillna("").astype(str).tolist() if "title" in frame else [""] * len(ids)
    by_doc_type = any(c.doc_types and c.terms for d in codebook.dimensions for c in d.codes)
    meta = StudyMeta(
        doc_types=frame["doc_type"].fillna("").astype(str).tolist() if "doc_type" in frame else [""] * len(ids),
        titles=titles,
        keyword_lines=_keyword_lines(frame, embeddings),
        title_index=TermIndex([[t] for t in titles]) if by_doc_type else None,
    )
    index = TermIndex(embeddings.sentences, codable) if any("terms" in d.methods for d in codebook.dimensions) else None
    for dim in codebook.dimensions:
        proto = (
            code_prototypes(dim, backend, cache_dir, batch_size=batch_size) if "zero-shot" in dim.methods else None
        )
        if proto is not None:
            prototypes[dim.id] = proto
        parts.append(code_dimension(dim, embeddings, codable, proto, codebook, index, meta))
    topic_result = None
    topics = pd.DataFrame()
    over_time = pd.DataFrame(columns=["topic", "year", "n_studies"])
    topic_decision = "not fitted (--no-topics)"
    if fit_topic_model:
        config = topic_config or TopicConfig()
        topic_dim = codebook.setting("topic_dimension")
        idx = np.where(codable)[0]
        reuse, topic_decision = reuse_decision(
            saved_topics, model_id=backend.model_id, codebook_version=codebook.version, config=config,
            refit=refit_topics,
        )
        if reuse and saved_topics is not None:
            topic_result = assign_with_saved_topics(saved_topics, [ids[i] for i in idx], embeddings.study_vectors[idx])
            topic_decision += f": {topic_result.note}"
        else:
            docs = [" ".join(embeddings.sentences[i]) for i in idx]
            code_ids = codebook.dimension(topic_dim).code_ids() if topic_dim else []
            topic_result = fit_topics(
                [ids[i] for i in idx],
                docs,
                embeddings.study_vectors[idx],
                config=config,
                code_prototypes=prototypes.get(topic_dim) if topic_dim else None,
                code_ids=code_ids,
            )
        topics = topic_result.topics
        parts.append(_topic_rows(topic_result))
        years = frame.set_index("study_id")["year"] if "year" in frame else pd.Series(dtype="Int64")
        over_time = topics_over_time(topic_result.per_study, years)
    filled = [p for p in parts if len(p)]
    machine = pd.concat(filled, ignore_index=True) if filled else _Rows().frame()
    machine.insert(7, "model_id", backend.model_id)
    machine.insert(8, "codebook_version", codebook.version)
    machine = machine[list(ASSIGNMENT_COLUMNS)]
    assignments, unmatched = apply_decisions(machine, decisions, codebook, set(ids))
    assignments = sort_assignments(assignments)
    coded = wide_table(frame, assignments, codebook, topic_result is not None)
    stats = {
        "n_studies": len(ids),
        "n_codable": int(codable.sum()),
        "n_uncoded": int((~codable).sum()),
        "model_id": backend.model_id,
        "codebook_version": codebook.version,
        "topics": topic_result.note if topic_result is not None else "not fitted",
        "topic_model": topic_decision,
        "n_decisions_applied": 0 if decisions is None else len(decisions) - len(unmatched),
    }
    return CodingResult(assignments, coded, topics, over_time, unmatched, topic_result, stats)


_METHOD_ORDER = {"reviewer": 0, "metadata": 1, "terms": 2, "zero-shot": 3, "topic": 4, "none": 5}


def sort_assignments(frame: pd.DataFrame) -> pd.DataFrame:
    """Stable, documented order: study, dimension, code, method, status."""
    out = frame.assign(_m=frame["method"].map(_METHOD_ORDER).fillna(9))
    out = out.sort_values(["study_id", "dimension", "code", "_m", "status"], kind="stable")
    return out.drop(columns="_m").reset_index(drop=True)


def wide_table(
    studies: pd.DataFrame, assignments: pd.DataFrame, codebook: Codebook, with_topics: bool
) -> pd.DataFrame:
    """One row per study: one column per dimension with its assigned codes joined by ";".

    Codes are listed in codebook order; ``uncoded_reason`` explains empty rows.
    """
    base_cols = [c for c in ("study_id", "title", "year") if c in studies.columns]
    out = studies[base_cols].copy()
    out["study_id"] = out["study_id"].astype(str)
    assigned = assignments[assignments["status"] == "assigned"]
    dims: list[tuple[str, list[str]]] = [(d.id, d.code_ids()) for d in codebook.dimensions]
    if with_topics:
        topic_codes = sorted(assigned.loc[assigned["dimension"] == "topic", "code"].unique().tolist())
        dims.append(("topic", topic_codes))
    pairs = assigned[["study_id", "dimension", "code"]].drop_duplicates()
    study_ids = out["study_id"].tolist()
    for dim_id, order in dims:
        part = pairs[pairs["dimension"] == dim_id]
        rank = part["code"].map({c: i for i, c in enumerate(order)})
        part = part[rank.notna()].assign(_rank=rank[rank.notna()])
        part = part.sort_values(["study_id", "_rank"], kind="stable")
        joined: dict[str, str] = {}
        for sid, code in zip(part["study_id"].tolist(), part["code"].tolist()):  # plain loop: no per-group pandas
            joined[sid] = f"{joined[sid]};{code}" if sid in joined else code
        out[dim_id] = [joined.get(sid, "") for sid in study_ids]
    uncoded = assignments[(assignments["status"] == "uncoded") & (assignments["dimension"] == "")]
    reason = dict(zip(uncoded["study_id"], uncoded["evidence"]))
    out["uncoded_reason"] = [reason.get(s, "") for s in out["study_id"]]
    return out.sort_values("study_id", kind="stable").reset_index(drop=True)
