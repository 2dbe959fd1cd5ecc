"""Keeping pandas out of worker processes that do not need it.

pyarrow imports pandas the first time an array is built from Python values, only to check
whether they are pandas objects: 0.1-0.14 s of CPU in each process that does so. The workers
that parse parts of a large export and the ``evreview dedup`` program's reader process build
Arrow arrays from Python values and never need pandas, and they run while their parent is
busy (importing pandas itself, or writing Parquet), so that import is pure loss there.
"""

from __future__ import annotations

import sys


class _NoPandas:
    """An import finder that makes ``import pandas`` fail (pyarrow then carries on without it)."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.partition(".")[0] == "pandas":
            raise ModuleNotFoundError("pandas is not imported in this worker process", name=name)
        return None


def keep_pandas_out() -> None:
    """In this process from now on, ``import pandas`` fails, unless pandas is already imported
    (a forked process inherits its parent's modules: nothing to save then)."""
    if "pandas" not in sys.modules and not any(isinstance(f, _NoPandas) for f in sys.meta_path):
        sys.meta_path.insert(0, _NoPandas())
