"""``evreview dedup``: record tables (or exports) in, studies and an audit of every pair out."""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
from pathlib import Path
from typing import Any

from evreview.errors import EvreviewError
from evreview.outputs import check_output_folder


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dedup",
        help="find duplicate records and merge them into studies",
        description="Deduplicate record tables from `evreview ingest` (.parquet) or export files "
        "(ingested on the fly). Writes duplicates.csv, studies.parquet, pairs.parquet and maybe_pairs.csv "
        "into --out. Reviewers' decisions (--decisions) always win; --previous keeps study ids.",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--out", "-o", type=Path, required=True, help="output folder")
    p.add_argument("--decisions", type=Path, help="reviewers' duplicate decisions CSV "
                   "(record_id_a, record_id_b, decision same/different, reviewer, timestamp)")
    p.add_argument("--previous", type=Path, help="duplicates.csv of an earlier run: its study ids are kept")
    p.add_argument("--search", default="", help="search round for export files ingested here")
    p.add_argument("--cache-dir", type=Path, help="keep matching keys and pair scores here between runs, so a "
                   "new search round normalises and compares only its new records (results are the same)")
    p.add_argument("--workers", type=int, default=2, help="threads for the string similarities (default 2; "
                   "results are the same for any number: each pair is scored on its own)")
    p.add_argument("--max-block", type=int, default=50, help="largest block paired all-with-all (default 50)")
    p.set_defaults(func=run)


def load_records(paths: list[Path], search: str = ""):  # -> pd.DataFrame
    """Read record tables (.parquet) and ingest any other file, in the order given."""
    import pandas as pd

    from evreview.dedup.model import INPUT_COLUMNS
    from evreview.ingest import ingest_files, read_records

    frames = []
    exports = [path for path in paths if path.suffix != ".parquet"]
    for path in paths:
        if path.suffix == ".parquet":
            frames.append(read_records(path, columns=INPUT_COLUMNS))
    if exports:
        frames.append(ingest_files(exports, search=search).records)
    if not frames:
        raise EvreviewError("no input records")
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


#: Exports up to this many bytes in all are read by :func:`_start_early_read` (about 40,000
#: records): for a small run, start-up is most of the time; for a large one, sending the
#: records between processes would cost more than the overlap saves.
EARLY_MAX_BYTES = 16 * 1024**2


class _EarlyRead:
    """Exports being ingested, their matching keys built and their candidate pairs found and
    scored, in a forked process.

    Why: a small ``evreview dedup`` run spends about 0.14 s importing pandas, on one core,
    before it can read a record, while reading the exports, building their keys and scoring
    their pairs need no pandas (about 0.1 s for 1,400 records). The child does that on the
    other core meanwhile and sends the Arrow tables, key columns and scored pairs back
    through a pipe. The results are the same: the parent makes its record table from the
    child's Arrow tables exactly as :func:`evreview.ingest.ingest_files` does, the keys are
    :func:`~.keys.build_keys`'s and the scored pairs are used only where they are exactly
    what the fit would compute (:class:`~.compare.ScoredPairs`; all pinned by tests). A
    user's error in an export is raised in the parent as the child found it; anything else
    (the child killed, a bug) and the parent reads the exports itself, as without the child.
    """

    def __init__(self, pid: int, fd: int) -> None:
        self.pid = pid
        self.fd: int | None = fd  # None once read (or closed)

    def result(self) -> dict[str, Any] | None:
        """The child's payload (``files``, ``keys``, ``ids``, perhaps ``scored``), or None to read
        in this process."""
        import pickle

        fd, self.fd = self.fd, None
        assert fd is not None, "the reader process's result is read once"
        with os.fdopen(fd, "rb") as pipe:
            data = pipe.read()  # to the end: the child closes the pipe once the payload is written
        # not waited for here: tearing down a forked process takes a few milliseconds; the
        # program reaps it at exit (see _start_early_read), so its CPU time is the program's
        try:
            payload = pickle.loads(data)  # a child that died half-way wrote a truncated payload
        except Exception:  # whatever went wrong in the child, the records are read here instead
            return None
        if "error" in payload:
            raise payload["error"]
        return payload if "files" in payload else None


def _start_early_read(paths: list[Path], search: str, score: int | None) -> _EarlyRead | None:
    """Fork a child that ingests ``paths`` and builds their keys, and with ``score`` (the
    largest block) finds and scores their candidate pairs (see :class:`_EarlyRead`);
    None where that does not pay or cannot be done: not Linux (``fork``), a record table
    (.parquet) among the inputs, or more than :data:`EARLY_MAX_BYTES` of exports."""
    if not sys.platform.startswith("linux"):
        return None
    if any(path.suffix == ".parquet" for path in paths):
        return None
    try:
        if sum(path.stat().st_size for path in paths) > EARLY_MAX_BYTES:
            return None
    except OSError:  # a missing file: reading it here names it
        return None
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError:  # no process to spare: read them here
        os.close(read_fd)
        os.close(write_fd)
        return None
    if pid:
        os.close(write_fd)
        import atexit

        early = _EarlyRead(pid, read_fd)
        atexit.register(_reap, early)  # _exit_program runs the exit handlers too
        return early
    os.close(read_fd)  # the child: never returns
    code = 0
    try:
        payload = _read_early(paths, search, score)
        with os.fdopen(write_fd, "wb") as pipe:
            import pickle

            pipe.write(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
    except BaseException:  # nothing may escape a forked child: the parent reads the exports again
        code = 1
    os._exit(code)


def _reap(early: _EarlyRead) -> None:
    """Wait for the reader process (long done by the end of the run): a process that is not
    waited for lingers as a zombie, and its CPU time counts for no one. If its result was
    never read (the program failed or was interrupted first), it is stopped first: it may be
    blocked writing to the pipe, and waiting for it would never end."""
    if early.fd is not None:
        import signal

        with contextlib.suppress(OSError):
            os.close(early.fd)
        early.fd = None
        with contextlib.suppress(ProcessLookupError):
            os.kill(early.pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(early.pid, 0)


def _read_early(paths: list[Path], search: str, score: int | None) -> dict[str, Any]:
    """The child's work: :func:`evreview.ingest.ingest_table` per export, then the keys of all
    the records in :func:`load_records`' order, and with ``score`` (the largest block) their
    candidate pairs and scores in the order the fit puts the records in; a user's error as
    ``{"error": exc}``."""
    # pandas is what the parent imports meanwhile: not here (pyarrow would import it on its
    # first array built from Python values, only to look for pandas types in it)
    from evreview.imports import keep_pandas_out

    keep_pandas_out()
    import pyarrow as pa

    from evreview.dedup.keys import key_columns
    from evreview.ingest import check_given_once, ingest_table

    try:
        check_given_once(paths)
        files = [ingest_table(path, search=search) for path in paths]
    except EvreviewError as exc:
        if exc.__cause__ is not None and not isinstance(exc.__cause__, EvreviewError):
            # a reader bug wrapped for the user: its cause does not travel, so the main process
            # reads the exports again and reports it with its traceback (--debug), as a call does
            raise
        return {"error": exc}
    table = pa.concat_tables([found for found, _, _ in files])
    keys = key_columns(lambda name: table.column(name).to_pylist(), table.num_rows)
    ids = table.column("record_id").to_pylist()
    payload = {"files": files, "keys": keys, "ids": ids}
    if score is not None:
        payload["scored"] = _score_early(table, keys, ids, score)
    return payload


def _score_early(table: Any, keys: dict[str, Any], ids: list[str], max_block: int) -> Any:
    """The candidate pairs and their scores (:class:`~evreview.dedup.compare.ScoredPairs`) of
    the records of ``table`` with their ``keys``, in the fit's order of the records."""
    import numpy as np

    from evreview.dedup.blocking import WINDOW, candidate_pair_arrays
    from evreview.dedup.codes import order_ranks
    from evreview.dedup.compare import ScoredPairs, pair_scores

    def text(name: str) -> list[str]:
        return ["" if value is None else str(value) for value in table.column(name).to_pylist()]

    ranks = order_ranks(text("search"), text("source_file"), table.column("source_index").to_numpy(), ids)
    at = np.argsort(ranks, kind="stable")
    positions = at.tolist()
    ordered = {
        name: values[at] if isinstance(values, np.ndarray) else [values[k] for k in positions]
        for name, values in keys.items()
    }
    pairs = candidate_pair_arrays(ordered, max_block=max_block, window=WINDOW)
    # one thread: the other core is the main process's, importing pandas
    scores = pair_scores(ordered, pairs["i"], pairs["j"], workers=1)
    return ScoredPairs([ids[k] for k in positions], max_block, WINDOW, pairs, scores)


def _early_records(early: _EarlyRead | None, paths: list[Path], search: str):  # -> (records, keys, scored)
    """The records, and their keys and scored pairs where the child found them, from
    ``early``; else the records read here (and None, None)."""
    payload = early.result() if early is not None else None
    if payload is None:
        return load_records(paths, search), None, None
    from evreview.dedup.keys import key_frame
    from evreview.ingest import combine, file_result

    records = combine(file_result(*found) for found in payload["files"]).records
    if records["record_id"].tolist() != payload["ids"]:  # cannot happen; never risk a wrong key row
        return records, None, None
    return records, key_frame(payload["keys"], records.index), payload.get("scored")


def _import_dependencies(
    paths: list[Path] | None = None, search: str = "", score: int | None = None
) -> _EarlyRead | None:
    """Import NumPy, pandas, pyarrow and the dedup modules the way a fresh process can afford.

    Only in the ``evreview dedup`` program (``args.as_program``, set by :func:`evreview.cli.main`
    when it parses the command line itself) and while pandas is not imported yet: these settings
    last for the whole process, which belongs to the command only then; a Python caller's process
    is left as it is. Three start-up costs of a small run are avoided:

    * OpenBLAS's thread pool, started when NumPy loads: deduplication does no linear algebra,
      so it gets one thread (~50 ms of CPU, and wall time when the other core is busy), unless
      the user set ``OPENBLAS_NUM_THREADS``; the variable is read once, when the library loads,
      and removed again so child processes do not inherit it;
    * the cyclic garbage collector during the imports: pandas' ~50,000 module-level objects
      set off ~170 collections (~40 ms) that find nothing to free, so it is paused;
    * collections later in the run walking those objects again: they are frozen
      (:func:`gc.freeze`) into the permanent generation, where they live for the whole process
      anyway; the records, keys and pairs of the run are collected as usual.

    With ``paths`` (the exports to read), a child process forked once NumPy and pyarrow are
    imported reads them while pandas is imported here (:class:`_EarlyRead`, returned); with
    ``score`` (the largest block) it also finds and scores their candidate pairs.
    """
    if "pandas" in sys.modules:
        return None
    blas = "numpy" not in sys.modules and "OPENBLAS_NUM_THREADS" not in os.environ
    collecting = gc.isenabled()
    gc.disable()
    if blas:
        os.environ["OPENBLAS_NUM_THREADS"] = "1"
    early = None
    try:
        # the dedup pipeline (pandas, rapidfuzz) and the record table (pyarrow)
        import numpy  # noqa: F401
        import pyarrow  # noqa: F401

        if paths is not None:
            early = _start_early_read(paths, search, score)
        import pandas  # noqa: F401

        import evreview.dedup.model
        import evreview.ingest  # noqa: F401
    finally:
        if blas:
            del os.environ["OPENBLAS_NUM_THREADS"]
        gc.freeze()
        if collecting:
            gc.enable()
    return early


def _exit_program(code: int) -> None:
    """End the ``evreview dedup`` process now that every output is written and closed.

    What the interpreter does at exit that matters is done here: the :mod:`atexit` handlers
    run (logging's flush, pyarrow's) and the standard streams are flushed. What is skipped is
    tearing down every module and freeing every object one by one (~25 ms after the pandas
    and pyarrow imports, a tenth of a small run), memory the operating system takes back
    anyway. Only for the program itself (``args.as_program``), after the last output file is
    closed; a Python caller's process exits as usual.
    """
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # started with the stream closed: Python gives None
            continue
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more reaches the reader
            stream.flush()
    os._exit(code)


def run(args: argparse.Namespace) -> int:
    program = getattr(args, "as_program", False)
    if args.max_block < 2:
        raise EvreviewError("--max-block must be at least 2")
    if args.workers < 1:
        raise EvreviewError("--workers must be at least 1")
    check_output_folder(args.out)
    paths = list(args.files)
    # the child scores the pairs too unless reviewers' decisions add pairs or a cache keeps scores
    score = None if args.decisions or args.cache_dir else args.max_block
    early = _import_dependencies(paths, args.search, score) if program else None
    from evreview.dedup import Deduplicator, read_decisions, read_previous, write_outputs

    records, keys, scored = _early_records(early, paths, args.search)
    decisions = read_decisions(args.decisions) if args.decisions else None
    if decisions is not None:
        from evreview.dedup.decisions import check_known

        check_known(decisions, records["record_id"].astype(str).tolist(), args.decisions)
    previous = read_previous(args.previous) if args.previous else None
    model = Deduplicator(max_block=args.max_block, cache_dir=args.cache_dir, workers=args.workers)
    model.fit(records, decisions=decisions, previous=previous, keys=keys, scored=scored)
    write_outputs(model, args.out)
    decided = model.pairs_["decision"].value_counts()
    print(
        f"{len(records)} records -> {model.n_studies_} studies; {len(model.pairs_)} pairs compared "
        f"({decided.get('same', 0)} same, {decided.get('maybe', 0)} maybe, {decided.get('different', 0)} different); "
        f"wrote {args.out}",
        file=sys.stderr,
    )
    if args.cache_dir is not None:
        print(f"cache: {model.cache_stats_.summary()}", file=sys.stderr)
    for note in model.notes_:
        print(f"note: {note}", file=sys.stderr)
    if program:
        _exit_program(0)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``dedup`` without the top-level CLI (``python -m evreview.dedup.commands dedup ...``)."""
    parser = argparse.ArgumentParser(prog="evreview")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except EvreviewError as exc:
        print(f"evreview dedup: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
