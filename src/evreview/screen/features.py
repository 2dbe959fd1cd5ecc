"""Text features for prioritisation: TF-IDF fitted once over every record.

Why fit once: the vocabulary and IDF weights come from the whole candidate set (labelled or
not), so they do not depend on which records the reviewers happen to have decided. The
matrix is therefore built a single time per session or simulation and only the (cheap)
classifier is retrained after each decision; re-ranking 50,000 records is then one sparse
matrix-vector product.

Titles can get their own vectoriser block with a weight (``title_weight``), but on the
development benchmarks an extra title block made ranking worse (nudging WSS@95 64 vs 70), so
it is off by default; likewise English stop-word removal (bigrams such as "ace inhibitor"
or "opt out" carry the signal). Dropping terms seen once (``min_df=2``) makes the SVM ~2x
faster but cost 0.3-1.7 WSS@95 points on ace/nudging/virus. Defaults: uni+bigrams, sublinear
tf, all terms (ASReview elas_u4's ``max_df=0.95`` is available; it only helps together with
elas_u4's strongly regularised SVM, which loses to the default ensemble, see ranker.py).
``char_ngram_max`` (>= 3) adds a character 3..n-gram block (``char_wb``, terms in >= 2
records) so inflections and compound names ("inhibitor"/"inhibitors", "coronaviruses") share
features; it multiplies the non-zeros several-fold, so it is off by default.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from evreview.errors import ConfigError


@dataclass(frozen=True)
class FeatureConfig:
    """How record text becomes a TF-IDF matrix (all fields plain values, so it prints as evidence)."""

    ngram_max: int = 2
    title_weight: float = 0.0
    min_df: int = 1
    max_df: float = 1.0
    sublinear_tf: bool = True
    stop_words: str | None = None
    char_ngram_max: int = 0
    char_weight: float = 1.0

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any] | None) -> FeatureConfig:
        """Build from the ``features`` part of the model config, rejecting unknown keys."""
        cfg = dict(cfg or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise ConfigError(f"unknown screening feature option(s): {', '.join(unknown)}")
        try:
            return cls(**cfg)
        except TypeError as exc:  # pragma: no cover - defensive
            raise ConfigError(f"bad screening feature options: {exc}") from None


def _as_text(values: Sequence[Any]) -> list[str]:
    """Strings for the vectoriser: missing values (None/NaN/pd.NA) become ``""``; lists are joined."""
    out: list[str] = []
    for v in values:
        if isinstance(v, (list, tuple, np.ndarray)):
            out.append(" ".join(str(x) for x in v))
        elif v is None or (isinstance(v, float) and v != v):
            out.append("")
        else:
            try:
                out.append("" if v != v else str(v))  # pd.NA compares as NA -> bool() raises
            except TypeError:
                out.append("")
    return out


def build_matrix(
    titles: Sequence[Any],
    abstracts: Sequence[Any],
    keywords: Sequence[Any] | None = None,
    config: FeatureConfig | None = None,
) -> sp.csr_matrix:
    """L2-normalised TF-IDF matrix, one row per record, in input order.

    The title block (weighted) and the title+abstract+keywords block are stacked side by side.
    Deterministic: scikit-learn's vectoriser sorts its vocabulary.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    cfg = config or FeatureConfig()
    t = _as_text(titles)
    a = _as_text(abstracts)
    k = _as_text(keywords) if keywords is not None else [""] * len(t)
    body = [f"{x} {y} {z}" for x, y, z in zip(t, a, k)]

    # a share below one document (a one-record set) would make the vectoriser refuse everything
    max_df = cfg.max_df if cfg.max_df * len(body) >= 1 else 1.0

    def vec(min_df: int) -> TfidfVectorizer:
        return TfidfVectorizer(
            ngram_range=(1, cfg.ngram_max),
            min_df=min_df,
            max_df=max_df,
            sublinear_tf=cfg.sublinear_tf,
            stop_words=cfg.stop_words,
            dtype=np.float64,
        )

    blocks = []
    try:
        blocks.append(vec(cfg.min_df).fit_transform(body))
    except ValueError:  # every record empty: an all-zero matrix ranks by tie-break only
        blocks.append(sp.csr_matrix((len(body), 1)))
    if cfg.char_ngram_max >= 3:
        with contextlib.suppress(ValueError):
            chars = TfidfVectorizer(
                analyzer="char_wb", ngram_range=(3, cfg.char_ngram_max), min_df=2, max_df=max_df,
                sublinear_tf=cfg.sublinear_tf, dtype=np.float64,
            ).fit_transform(body)
            blocks.append(normalize(chars) * cfg.char_weight)
    if cfg.title_weight > 0:
        with contextlib.suppress(ValueError):  # no title has a word: abstracts alone rank
            blocks.append(vec(1).fit_transform(t) * cfg.title_weight)
    matrix = sp.hstack(blocks, format="csr") if len(blocks) > 1 else blocks[0].tocsr()
    return normalize(matrix, norm="l2", copy=False).tocsr()
