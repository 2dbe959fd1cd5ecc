"""evreview: a reproducible systematic evidence-review pipeline.

Importing the package is cheap on purpose: stages that need the machine-learning stack
(embedding, topic modelling) import it inside their own modules, so ``evreview ingest`` and
``evreview dedup`` never load torch.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
