"""Reading a settings dataclass from its part of the config, with a clear error for any mistake."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, fields
from numbers import Real
from typing import Any, TypeVar

from evreview.errors import ConfigError

T = TypeVar("T")


def section(value: Any, what: str) -> dict[str, Any]:
    """A config section as a dict (``None``: empty); ConfigError when it is not a mapping."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{what} must be a mapping of options, not {value!r}")
    return dict(value)


def settings(cls: type[T], cfg: Any, what: str) -> T:
    """``cls`` (a dataclass) from ``cfg``: unknown keys, and a non-number (or non-boolean) where the
    default is one, are ConfigErrors naming the option, never a TypeError deep in the ranker."""
    cfg = section(cfg, what)
    known = {f.name: f.default for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(cfg) - set(known))
    if unknown:
        raise ConfigError(f"unknown {what} option(s): {', '.join(unknown)}")
    for name, value in cfg.items():
        default = known[name]
        if default is MISSING or default is None or isinstance(default, str):
            continue
        if isinstance(default, bool):
            ok, kind = isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)), "true or false"
        else:
            ok, kind = isinstance(value, Real) and not isinstance(value, bool), "a number"
        if not ok:
            raise ConfigError(f"{what} option {name!r} must be {kind}, not {value!r}")
    return cls(**cfg)
