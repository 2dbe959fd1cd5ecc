"""User-facing errors.

A user's mistake (an unreadable export, a malformed decisions file, a bad config) must be
reported as one clear line naming the file and, where known, the line or record, never as
a traceback. Every such error is an :class:`EvreviewError`; the CLI prints it and exits 2.
Anything else that escapes is a bug in evreview and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class EvreviewError(Exception):
    """An error caused by the user's input, with its location."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        record: int | str | None = None,
    ) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.record = record
        super().__init__(self.__str__())

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle with the keyword fields (the default pickles only ``args``, which the
        keyword-only ``__init__`` cannot take back): an error raised in a worker process is
        raised again, the same, in the process that started it."""
        return (_rebuild, (type(self), self.message, self.path, self.line, self.record), self.__dict__)

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path
            if self.line is not None:
                where += f":{self.line}"
            if self.record is not None:
                where += f" (record {self.record})"
            where += ": "
        elif self.record is not None:
            where = f"record {self.record}: "
        return where + self.message


class IngestError(EvreviewError):
    """A file that cannot be read as a bibliographic export at all."""


class ConfigError(EvreviewError):
    """A configuration or decisions file that does not validate."""


def _rebuild(
    cls: type[EvreviewError], message: str, path: str | None, line: int | None, record: int | str | None
) -> EvreviewError:
    """An unpickled :class:`EvreviewError` (see its ``__reduce__``)."""
    return cls(message, path=path, line=line, record=record)
