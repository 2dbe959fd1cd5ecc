"""Parallel parsing of one large export: parts of the file in worker processes, one table out.

A 100k-record RIS file takes ~15 s of CPU to tokenise, map and normalise on one core; the
work per record is independent, so the driver cuts such a file into parts at record
boundaries where nothing carries over from one record to the next (the reader says where:
``next_part_start``), parses and normalises each part in a worker process, and takes the
parts' tables back in file order. The output is exactly the single-process output, byte for
byte: lines are the file's (each part is told where it starts), record indices and
``record_id`` are assigned here from the running count, tables are re-cut into the same
:data:`evreview.ingest.BATCH_SIZE` row groups, and problems and the file's main database are
merged in file order.

Only files of at least :data:`PARALLEL_MIN_BYTES` in UTF-8 whose reader supports parts (RIS)
take this path; anything else, or anything unexpected while planning (undecodable head,
unknown format, no place to cut), goes the single-process way, which raises the
user-facing errors. Workers read their own byte range, so the parent never holds the file;
it cuts the file while the first parts are parsed, keeping two parts per worker in flight.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import shutil
import sys
import traceback
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:  # pragma: no cover
    from concurrent.futures import Future

from evreview import errors
from evreview.errors import EvreviewError, IngestError
from evreview.ingest.registry import ParseResult, Problem, Reader, Source, detect, get_reader
from evreview.ingest.textio import decode_part, is_container, pick_encoding

#: Files at least this large are parsed in parallel (smaller ones are not worth the workers' start).
PARALLEL_MIN_BYTES = 20 * 1024**2
#: Target size of one part: several per worker, so the workers stay busy to the end and the
#: parent writes early parts while later ones are parsed; a part's records and table (~3x its
#: bytes) are what a worker holds at once.
PART_BYTES = 8 * 1024**2
#: Bytes decoded from the head of the file to detect its format (as ``Source.head`` would see it).
_HEAD_BYTES = 512 * 1024
#: No cut point in this many bytes from the start: the file is parsed in one process.
_GIVE_UP_BYTES = 4 * PART_BYTES
#: Worker processes at most by default: each holds ~150 MB (two parts and their tables), so
#: a many-core machine stays within the ingest's memory budget (1.5 GB at 100k records).
MAX_WORKERS = 4
#: Environment variable setting the worker processes (``1``: always one process), e.g. when a
#: workflow runs several ingest jobs side by side on the same cores.
WORKERS_ENV = "EVREVIEW_INGEST_WORKERS"


def available_workers() -> int:
    """Worker processes to use: :data:`WORKERS_ENV` when set, else the cores this process may
    run on, at most :data:`MAX_WORKERS`."""
    wanted = os.environ.get(WORKERS_ENV, "").strip()
    if wanted:
        try:
            return max(int(wanted), 1)
        except ValueError:
            raise IngestError(f"{WORKERS_ENV} must be a whole number of processes, not {wanted!r}") from None
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return min(cores, MAX_WORKERS)


@dataclass
class Part:
    """One part of a file: bytes ``[start, end)``, starting at file line ``line``.

    ``byte_line`` is 1 + the ``\\n`` bytes before it, the line an invalid byte is reported on
    (it differs from ``line`` only after bare ``\\r`` line ends, exactly as in one process).
    ``first_index`` is the expected position of the part's first record (the record starts
    before it, when the reader can count them): the worker numbers its records from there,
    so the parent only renumbers a part when records before it failed to parse.
    """

    start: int
    end: int
    line: int
    byte_line: int
    first_index: int | None = None
    #: the reader's state where the part starts, for readers with ``part_context`` (the RIS
    #: export header naming the database, written once at the top of the file): the parent
    #: reads it from the bytes before the part, as the reader says
    context: Any = None


@dataclass
class Plan:
    """How a file is parsed in parallel: its reader, encoding and parts (in file order)."""

    path: Path
    shown: str
    size: int
    reader: Reader
    encoding: str
    #: the parts cut so far (the file is cut while the workers parse, see :func:`run`)
    parts: list[Part] = field(default_factory=list)


def _utf8(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")
    except LookupError:
        return False


def plan(
    path: Path, shown: str, size: int, *, fmt: str | None, encoding: str | None, options: Mapping[str, Any]
) -> Plan | None:
    """The parallel plan for ``path``, or ``None`` when it should be parsed in one process.

    Mirrors the single-process driver's decisions on the head of the file (encoding, format
    detection from the first 64 KiB of text); any error there means ``None``, so the
    single-process path raises it exactly as it always has.
    """
    if size < PARALLEL_MIN_BYTES or available_workers() < 2:
        return None
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEAD_BYTES)
        if is_container(head):
            return None
        chosen = pick_encoding(head, shown, encoding)
        if not _utf8(chosen):
            return None
        cut = head.rfind(b"\n") + 1
        text = decode_part(head[:cut], shown, chosen)
        if len(text) < 65536:  # Source.head must be the whole file's first 64 KiB of text
            return None
        source = Source(path=Path(shown), data=head, text=text, options=dict(options))
        reader = get_reader(fmt) if fmt else detect(source)
    except (EvreviewError, OSError):  # an unreadable file: the single-process path names it
        return None
    if not (hasattr(reader, "next_part_start") and hasattr(reader, "parse_part")):
        return None
    found = Plan(path=path, shown=shown, size=size, reader=reader, encoding=chosen)
    first = next(_parts(found, give_up_after=_GIVE_UP_BYTES), None)
    if first is None or first.end >= size:  # no place to cut it (e.g. Ovid's trailer lines after each ER)
        return None
    found.parts.clear()
    return found


def _parts(plan_: Plan, give_up_after: int | None = None) -> Iterator[Part]:
    """Cut the file into parts of about :data:`PART_BYTES` at the reader's cut points, one at
    a time (so the first workers start before the whole file is read), appending each to
    ``plan_.parts``; each part's first line counts the line breaks before it, ``\\r\\n``,
    ``\\n`` and bare ``\\r`` alike, as decoding does. With ``give_up_after``, a part that
    would grow beyond that many bytes without a cut point ends the parts instead."""
    reader: Any = plan_.reader
    size = plan_.size
    start, line, byte_line = 0, 1, 1
    count = getattr(reader, "record_starts", None)
    carry = getattr(reader, "part_context", None)
    context: Any = None
    expected: int | None = 0 if count else None
    block = bytearray()  # the bytes from ``start`` read so far: each byte is read once
    with plan_.path.open("rb") as handle:
        while start < size:
            if len(block) < PART_BYTES:
                block += handle.read(PART_BYTES - len(block))
            if not block:
                raise IngestError("the file shrank while it was being read", path=plan_.shown)
            at = reader.next_part_start(block, max(len(block) // 2, 1)) if start + len(block) < size else -1
            while at == -1 and start + len(block) < size:  # no cut point yet: read on
                if give_up_after is not None and len(block) >= give_up_after:
                    return
                more = handle.read(PART_BYTES)
                if not more:
                    break
                searched = max(len(block) - 64, 0)
                block += more
                at = reader.next_part_start(block, searched)
            end = start + (at if at != -1 else len(block))
            piece = block[: end - start]
            del block[: end - start]
            part = Part(start=start, end=end, line=line, byte_line=byte_line, first_index=expected, context=context)
            plan_.parts.append(part)
            yield part
            # a part ends with a line break and the next starts a line: no \r\n is split
            newlines = piece.count(b"\n")
            line += newlines
            byte_line += newlines
            if b"\r" in piece:
                line += piece.count(b"\r") - piece.count(b"\r\n")
            if count:
                expected += count(piece)
            if carry:
                context = carry(piece, context)
            start = end


# --------------------------------------------------------------------------- worker side


def _failure(kind: str, exc: BaseException) -> dict[str, Any]:
    """A worker's error, in picklable pieces (exceptions with keyword-only fields do not pickle)."""
    if isinstance(exc, EvreviewError):
        return {
            "kind": kind,
            "class": type(exc).__name__,
            "message": exc.message,
            "path": exc.path,
            "line": exc.line,
            "record": exc.record,
        }
    return {
        "kind": kind,
        "bug": True,
        "class": type(exc).__name__,
        "message": str(exc),
        "trace": "".join(traceback.format_exception(exc)),
    }


def parse_part(
    path: str, shown: str, reader_name: str, encoding: str, part: Part, search: str, batch: int, spool: str
) -> dict[str, Any]:
    """Worker: read, decode, parse and normalise one part into an Arrow IPC stream file in
    the folder ``spool``.

    Records get their provenance; ``record_id`` and ``source_index`` from the part's expected
    ``first_index`` (empty ids and indices from 0 without one): only the parent knows how
    many records before the part were parsed, and renumbers when it differs. Returns the
    table's file, the part's problems (lines are the file's), found and database tallies, or
    a ``failure``. The table goes through a file, not the result pipe: the tables hold each
    record's raw fields, about twice the file's bytes, and pickling them through a pipe cost
    the parent more CPU than all its other work (measured on 100k Scopus records).
    """
    import gc

    from evreview.ingest import records_table

    gc.disable()  # as in the driver: millions of acyclic objects, nothing for the GC to find
    with open(path, "rb") as handle:
        handle.seek(part.start)
        data = handle.read(part.end - part.start)
    try:
        text = decode_part(data, shown, encoding, offset=part.start, line=part.line, byte_line=part.byte_line)
    except IngestError as exc:
        kind = "nul" if "NUL character" in exc.message else "decode"
        return {"failure": _failure(kind, exc)}
    del data
    reader = get_reader(reader_name)
    source = Source(path=Path(path), data=b"", text=text, options={"display_path": shown})
    try:
        if hasattr(reader, "part_context"):
            result: ParseResult = reader.parse_part(source, part.line, part.context)  # type: ignore[attr-defined]
        else:
            result = reader.parse_part(source, part.line)  # type: ignore[attr-defined]
        tables = []
        records = iter(result.records)
        while True:
            chunk = [record for _, record in zip(range(batch), records, strict=False)]
            if not chunk:
                break
            first = None if part.first_index is None else part.first_index + sum(t.num_rows for t in tables)
            tables.append(records_table(chunk, search=search, shown=shown, reader_name=reader_name, first_index=first))
        del text
    except Exception as exc:  # sent to the parent, which raises it as the driver would
        return {"failure": _failure("parse", exc)}
    from evreview.ingest import _bare_schema  # record_schema's pandas metadata would import pandas

    table = pa.concat_tables(tables) if tables else _bare_schema().empty_table()
    return {
        "first_index": part.first_index,
        "table": _spooled(table, os.path.join(spool, f"part-{part.start}-{os.getpid()}.arrow")),
        "problems": result.problems,
        "found": result.found,
        "counts": result.database_counts,
        "context": result.part_context,
    }


def _spooled(table: pa.Table, table_path: str) -> str | bytes:
    """``table`` written to ``table_path`` (returned), or as bytes when the spool folder has no
    room for it (a container's /dev/shm is often 64 MB): sent through the pipe as before."""
    try:
        with pa.OSFile(table_path, "wb") as sink:
            _write_stream(table, sink)
        return table_path
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(table_path)
    sink = pa.BufferOutputStream()
    _write_stream(table, sink)
    return sink.getvalue().to_pybytes()


def _write_stream(table: pa.Table, sink: Any) -> None:
    """``table`` as an Arrow IPC stream into ``sink`` (a file, or a buffer)."""
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)


# --------------------------------------------------------------------------- parent side


def _raise(failure: Mapping[str, Any], plan_: Plan) -> None:
    """Raise a worker's error as the single-process driver would have."""
    if failure.get("bug"):
        exc = IngestError(
            f"could not parse as {plan_.reader.name}: {failure['class']}: {failure['message']} "
            "(if the file is a valid export, this is a bug in evreview: please report it)",
            path=plan_.shown,
        )
        exc.add_note("in a worker process:\n" + failure["trace"])
        raise exc
    cls = getattr(errors, failure["class"], None)
    if not (isinstance(cls, type) and issubclass(cls, EvreviewError)):
        cls = IngestError
    path = failure["path"]
    if path is None or path == str(plan_.path):
        path = plan_.shown
    raise cls(failure["message"], path=path, line=failure["line"], record=failure["record"])


@dataclass
class Outcome:
    """What the parts add up to, complete once :func:`run` is exhausted."""

    problems: list[Problem] = field(default_factory=list)
    found: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def _context() -> Any:
    """``fork`` on Linux (workers start in milliseconds, the modules already imported; they
    run only this module's pure-Python and Arrow code), else the platform's default (macOS
    system libraries are not fork-safe)."""
    import multiprocessing  # here, not at the top: every small ingest imports this module

    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


#: Shared memory is the spool only with this much free (a part's table is ~16 MB, and up to
#: two per worker are in flight).
_SPOOL_FREE_BYTES = 256 * 1024**2


def _spool_root() -> str | None:
    """Where workers put their tables: shared memory when the system has it with room to
    spare (nothing goes to disk), else the temporary folder."""
    shm = "/dev/shm"
    try:
        roomy = shutil.disk_usage(shm).free >= _SPOOL_FREE_BYTES
    except OSError:
        return None
    return shm if roomy and os.access(shm, os.W_OK | os.X_OK) else None


def _load(table_path: str | bytes) -> pa.Table:
    """A worker's table, read without copying where files can be mapped (the file is removed
    at once: the mapping outlives its name on POSIX), else read whole; or from the bytes a
    worker sent when its spool file would not fit."""
    if isinstance(table_path, bytes):
        return pa.ipc.open_stream(table_path).read_all()
    if os.name == "posix":
        table = pa.ipc.open_stream(pa.memory_map(table_path)).read_all()
        os.unlink(table_path)
        return table
    with pa.OSFile(table_path) as source:
        table = pa.ipc.open_stream(source).read_all()
    os.unlink(table_path)
    return table


def _discard(done: Mapping[str, Any]) -> None:
    """Remove a part's table file that will not be read (its part failed or is parsed again)."""
    if isinstance(done.get("table"), str):
        os.unlink(done["table"])


def run(plan_: Plan, *, search: str, batch: int, outcome: Outcome) -> Iterator[pa.Table]:
    """Parse ``plan_``'s parts in workers; yield the record tables in file order, re-cut into
    tables of ``batch`` rows exactly as one process yields them, with ``source_index`` and
    ``record_id`` assigned. ``outcome`` collects problems, found and database tallies.

    Errors are raised as the single-process driver raises them: it decodes the whole file
    before parsing, so an invalid byte anywhere wins over a NUL character, which wins over a
    parse error (or reader bug); each the earliest in the file.
    """
    import tempfile

    spool = tempfile.mkdtemp(prefix="evreview-ingest-", dir=_spool_root())
    try:
        yield from _run(plan_, search=search, batch=batch, outcome=outcome, spool=spool)
    finally:  # after the pool has shut down: no worker writes here any more
        shutil.rmtree(spool, ignore_errors=True)


def _run(plan_: Plan, *, search: str, batch: int, outcome: Outcome, spool: str) -> Iterator[pa.Table]:
    """:func:`run`, with the workers' tables passed through files in the folder ``spool``."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from evreview.ingest import assign_positions

    workers = min(available_workers(), max(2, -(-plan_.size // PART_BYTES)))
    pending: list[pa.Table] = []
    rows = 0
    kept = 0
    failures: dict[str, Mapping[str, Any]] = {}
    parts = _parts(plan_)

    def job(part: Part) -> tuple[Any, ...]:
        """:func:`parse_part`'s arguments for ``part`` (in a worker, or again here)."""
        return (str(plan_.path), plan_.shown, plan_.reader.name, plan_.encoding, part, search, batch, spool)

    # pyarrow would import pandas (0.1 s) in each worker, which never needs it; not in
    # parse_part, which the parent also runs (a part parsed again) and whose pandas it needs
    from evreview.imports import keep_pandas_out

    with ProcessPoolExecutor(max_workers=workers, mp_context=_context(), initializer=keep_pandas_out) as pool:
        inflight: deque[tuple[Part, Future[dict[str, Any]]]] = deque()
        #: the reader's state where the next part starts, as the parts before it ended
        context: Any = None

        def top_up() -> None:
            """Keep each worker busy with one part and one queued (bounded memory for results)."""
            while len(inflight) < 2 * workers:
                part = next(parts, None)
                if part is None:
                    return
                inflight.append((part, pool.submit(parse_part, *job(part))))

        try:
            top_up()
            while inflight:
                part, future = inflight.popleft()
                top_up()
                try:
                    done = future.result()
                except BrokenProcessPool:
                    raise IngestError(
                        "a worker process parsing this file died (out of memory?)", path=plan_.shown
                    ) from None
                del future
                if "failure" not in done and part.context != context:
                    # the bytes before the part misled the guess of its context (a header-like
                    # line inside a record): parse it again here, with the parts' own
                    _discard(done)
                    done = parse_part(*job(replace(part, context=context)))
                context = done.get("context")
                if "failure" in done:
                    failures.setdefault(done["failure"]["kind"], done["failure"])
                    continue
                if failures:
                    _discard(done)
                    continue  # an error is coming: later parts only matter for what it is
                table = _load(done.pop("table"))
                for problem in done["problems"]:
                    if problem.index is not None:
                        problem.index += kept
                    outcome.problems.append(problem)
                outcome.found += int(done["found"] or 0)
                for name, count in done["counts"].items():
                    outcome.counts[name] = outcome.counts.get(name, 0) + count
                if done["first_index"] != kept:  # records before it failed: number them again
                    table = assign_positions(table, search=search, shown=plan_.shown, first_index=kept)
                kept += table.num_rows
                pending.append(table)
                rows += table.num_rows
                while rows >= batch:
                    joined = pa.concat_tables(pending)
                    yield joined.slice(0, batch)
                    rest = joined.slice(batch)
                    pending = [rest] if rest.num_rows else []
                    rows -= batch
        finally:
            for _, future in inflight:
                future.cancel()
    for kind in ("decode", "nul", "parse"):
        if kind in failures:
            _raise(failures[kind], plan_)
    if rows:
        yield pa.concat_tables(pending)
