"""The text of a study as the models see it: sentences, with the title as the first one.

Coding works at sentence level so every zero-shot decision can quote the sentence that
carried it; the record vector is the mean of its sentence vectors, so one sentence cache
serves both coding and topic modelling and a long abstract is never cut at the model's
token limit.
"""

from __future__ import annotations

import re
from typing import Any

from evreview.records import clean_text

# A sentence ends at . ! ? followed by space and an upper-case letter, digit or bracket; this
# keeps "e.g. the" and "U.K. councils" together often enough for evidence quotes.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[\"'])")
_STRUCTURED_LABEL = re.compile(r"^(?:BACKGROUND|OBJECTIVES?|AIMS?|METHODS?|RESULTS?|CONCLUSIONS?|PURPOSE)\s*:\s*")

#: Cap on sentences per record: bounds cost on pathological abstracts (full texts pasted in).
MAX_SENTENCES = 40


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences, dropping empties and structured-abstract labels."""
    text = clean_text(text)
    if not text:
        return []
    out = []
    for part in _SENTENCE_END.split(text):
        part = _STRUCTURED_LABEL.sub("", part.strip())
        if len(part) > 1:
            out.append(part)
    return out


def _as_text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "; ".join(clean_text(v) for v in value if clean_text(v))
    if value is not None and hasattr(value, "tolist") and not isinstance(value, str):
        return _as_text(value.tolist())
    return clean_text(value)


def study_sentences(title: Any, abstract: Any, keywords: Any = None, limit: int = MAX_SENTENCES) -> list[str]:
    """Title, then abstract sentences, then the keywords as one line; at most ``limit``."""
    sentences: list[str] = []
    title_text = _as_text(title)
    if title_text:
        sentences.append(title_text)
    sentences.extend(split_sentences(_as_text(abstract)))
    keyword_text = _as_text(keywords)
    if keyword_text:
        sentences.append(keyword_text)
    return sentences[:limit]


def study_text(title: Any, abstract: Any, keywords: Any = None) -> str:
    """One string for models that want whole documents (topic representations, TF-IDF fit)."""
    return " ".join(study_sentences(title, abstract, keywords))
