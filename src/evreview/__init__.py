"""evreview: a reproducible systematic evidence-review pipeline.

Importing the package is cheap on purpose: stages that need the machine-learning stack
(embedding, topic modelling) import it inside their own modules, so ``evreview ingest`` and
``evreview dedup`` never load torch. ``load_results`` is the analysts' entry point.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["__version__", "load_results"]

if TYPE_CHECKING:  # pragma: no cover
    from evreview.results import Results


def load_results(project: Any = ".", config: Any = None) -> Results:
    """Open a project's results as DataFrames (see :mod:`evreview.results`)."""
    from evreview.results import load_results as _load

    return _load(project, config)
