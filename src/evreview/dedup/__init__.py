"""Deduplication: records in, studies out, every merge explained.

Pipeline (each step a pure function over DataFrames, in its own module):

1. :mod:`.keys` normalises matching keys once per record;
2. :mod:`.blocking` finds candidate pairs on several cheap keys (never all pairs);
3. :mod:`.compare` scores candidate pairs field by field with rapidfuzz;
4. :mod:`.rules` decides same / maybe / different and names the deciding rule;
5. reviewers' decisions (:mod:`.decisions`) override the rules;
6. :mod:`.cluster` joins "same" pairs with a guard against chaining;
7. :mod:`.merge` assigns stable study ids, one kept record per study and merged rows.

:class:`Deduplicator` (in :mod:`.model`) wraps these with scikit-learn conventions
(parameters in the constructor, ``fit`` returns ``self``, results in attributes ending in
``_``), and :func:`write_outputs` writes ``duplicates.csv``, ``studies.parquet``,
``pairs.parquet`` and ``maybe_pairs.csv``. The names below are imported on first use (PEP 562),
so importing the package, as ``evreview dedup --help`` does, costs no pandas import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from evreview.dedup.decisions import read_decisions, read_previous
    from evreview.dedup.model import DUPLICATE_COLUMNS, PAIR_COLUMNS, Deduplicator, write_outputs
    from evreview.dedup.rules import RuleParams

__all__ = [
    "DUPLICATE_COLUMNS",
    "PAIR_COLUMNS",
    "Deduplicator",
    "RuleParams",
    "read_decisions",
    "read_previous",
    "write_outputs",
]

#: public name -> module that defines it
_LAZY = {
    "DUPLICATE_COLUMNS": "evreview.dedup.model",
    "PAIR_COLUMNS": "evreview.dedup.model",
    "METHOD": "evreview.dedup.model",
    "Deduplicator": "evreview.dedup.model",
    "write_outputs": "evreview.dedup.model",
    "RuleParams": "evreview.dedup.rules",
    "read_decisions": "evreview.dedup.decisions",
    "read_previous": "evreview.dedup.decisions",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
