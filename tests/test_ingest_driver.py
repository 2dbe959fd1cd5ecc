"""The ingest driver: decoding, detection and the user-facing errors for bad input.

Format-specific parsing is tested per reader; here we check what every file goes through.
"""

from __future__ import annotations

import codecs
import re
import subprocess
import sys
from pathlib import Path

import pytest

from evreview.cli import main
from evreview.errors import IngestError
from evreview.ingest import ingest_file
from evreview.ingest.registry import readers
from evreview.ingest.textio import decode

RIS_ONE = "TY  - JOUR\nTI  - Trust in place-based partnerships\nPY  - 2020\nER  - \n"


@pytest.mark.parametrize(
    ("data", "shown"),
    [
        (b"TY  - JOUR\nTI  - Caf\xc3\xa9 caf\xc3", "b'\\xc3' at offset 26"),
        (codecs.BOM_UTF8 + b"TY  - JOUR\nTI  - Caf\xc3\xa9 caf\xc3", "b'\\xc3' at offset 29"),
        ("TY  - JOUR\nTI  - Caf\u00e9\n".encode("utf-16")[:-1], "at offset 44"),
    ],
)
def test_a_file_cut_inside_a_character_says_it_was_cut_short(data: bytes, shown: str):
    """Found by fuzzing: a download cut inside a UTF-8 (or UTF-16) character was "not valid
    utf-8 text ... say which with --encoding (e.g. cp1252)", sending the user to the wrong fix;
    and after a UTF-8 byte-order mark the offset and bytes shown were 3 bytes early."""
    with pytest.raises(IngestError) as info:
        decode(data, "cut.ris")
    message = str(info.value)
    assert message.startswith("cut.ris:2: the file ends inside a character")
    assert "cut short" in message and shown in message and "--encoding" not in message


def test_decode_names_the_byte_after_a_bom():
    with pytest.raises(IngestError, match=r"cut\.ris:2: not valid utf-8-sig text \(byte b'\\xe9 ok' at offset 23\)"):
        decode(codecs.BOM_UTF8 + b"TY  - JOUR\nTI  - Caf\xe9 ok\n", "cut.ris")


def test_decode_handles_boms_and_line_ends():
    assert decode(codecs.BOM_UTF8 + b"a\r\nb\rc\n", "f") == "a\nb\nc\n"
    assert decode("caf\u00e9\n".encode("utf-16"), "f") == "caf\u00e9\n"
    assert decode("caf\u00e9 partnership\n".encode("utf-16-le"), "f") == "caf\u00e9 partnership\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file is empty"),
        (b"\n\r\n  \n", "file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary file"),
    ],
)
def test_empty_and_binary_files_are_clear_errors(tmp_path: Path, content: bytes, message: str):
    path = tmp_path / "export.ris"
    path.write_bytes(content)
    with pytest.raises(IngestError, match=message) as info:
        ingest_file(path)
    assert "export.ris" in str(info.value)


def test_exports_joined_into_one_file_keep_every_record(tmp_path: Path):
    """``cat a.ris b.ris`` of two exports written with a BOM leaves the second BOM at a line
    start: its record was reported as "without a TY start line" and not parsed."""
    one = codecs.BOM_UTF8 + RIS_ONE.encode()
    path = tmp_path / "joined.ris"
    path.write_bytes(one + b"\n" + one)
    result = ingest_file(path)
    assert result.report.loc[0, ["found", "parsed", "failed"]].tolist() == [2, 2, 0]
    assert result.records["source_line"].tolist() == [1, 6]
    assert decode(one + b"\r\n" + one, "f") == RIS_ONE + "\n" + RIS_ONE


def test_a_stray_nul_in_a_text_export_names_its_line(tmp_path: Path):
    """One NUL byte (a damaged download) in the first 64 KiB of a RIS export got "binary file:
    this is not a text export ... export the records as RIS", naming no line; past 64 KiB the
    same byte was already reported with its line."""
    path = tmp_path / "damaged.ris"
    path.write_bytes((RIS_ONE + "\n" + RIS_ONE.replace("Trust", "Tr\x00ust")).encode())
    with pytest.raises(IngestError, match="NUL character") as info:
        ingest_file(path)
    assert info.value.line == 7 and "damaged.ris:7: " in str(info.value)


def test_wrong_encoding_names_the_line(tmp_path: Path):
    path = tmp_path / "latin1.ris"
    path.write_bytes(b"TY  - JOUR\nTI  - Partnerships\nAB  - Co-production in M\xfcnster\nER  - \n")
    with pytest.raises(IngestError) as info:
        ingest_file(path)
    err = info.value
    assert err.line == 3
    assert "latin1.ris:3" in str(err) and "--encoding" in str(err)


def test_wrong_encoding_can_be_named(tmp_path: Path):
    if "ris" not in readers():
        pytest.skip("RIS reader not available")
    path = tmp_path / "latin1.ris"
    path.write_bytes(b"TY  - JOUR\nTI  - Co-production in M\xfcnster\nER  - \n")
    result = ingest_file(path, encoding="cp1252")
    assert result.records.loc[0, "title"] == "Co-production in M\u00fcnster"


def test_unknown_format_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "notes.txt"
    path.write_text("Dear colleague,\nplease find the minutes attached.\n", encoding="utf-8")
    with pytest.raises(IngestError, match="unrecognised format") as info:
        ingest_file(path)
    assert "notes.txt" in str(info.value) and "Dear colleague" in str(info.value)


FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _fixture_sources():
    """Every fixture file as the driver sees it, plus variants with a BOM and leading blank lines."""
    from evreview.ingest.registry import Source
    from evreview.ingest.textio import is_container

    for path in sorted(p for p in FIXTURES.rglob("*") if p.is_file()):
        data = path.read_bytes()
        try:
            text = None if is_container(data) else decode(data, path)
        except IngestError:
            continue
        yield Source(path=path, data=data, text=text)
        if text:
            for prefix in ("\ufeff", "\n\n  \n", "\ufeff\n \n", "  "):
                yield Source(path=path, data=data, text=prefix + text)


def test_sniff_gates_fail_only_where_the_reader_scores_zero():
    """A gated format module is skipped when its gate fails: that must never hide a reader
    that would have claimed the file (each gate is a necessary condition of its sniff)."""
    from evreview.ingest.registry import SNIFF_GATES

    known = readers()
    assert set(SNIFF_GATES) <= set(known)
    claimed = dict.fromkeys(SNIFF_GATES, 0)
    for source in _fixture_sources():
        for name, gate in SNIFF_GATES.items():
            score = known[name].sniff(source)
            if not gate(source.head):
                assert score == 0, f"{source.path.name}: gate of {name} fails but it scores {score}"
            claimed[name] += score > 0
    # every gated reader claims some fixture, so the check above saw its positive cases
    assert all(claimed.values()), claimed


def test_table_gates_name_a_group_of_their_readers_signature():
    """A table export's gate asks for a column of one of its reader's signature groups (every
    group must be present for the reader to claim a file), so it never hides a file it claims."""
    from evreview.ingest.registry import SNIFF_GATES, TABLE_GATES

    known = readers()
    for name, names in TABLE_GATES.items():
        assert name in SNIFF_GATES
        assert tuple(names) in tuple(map(tuple, known[name].signature)), name


def test_detection_imports_only_the_formats_a_file_can_be(tmp_path: Path):
    """A CSV export does not import the tagged, XML or JSON readers, nor other databases' table
    readers; an unrecognised file still gets the error that lists every format (run in a fresh
    interpreter: imports are global)."""
    notes = tmp_path / "notes.txt"
    notes.write_text("Dear colleague,\nplease find the minutes attached.\n", encoding="utf-8")
    script = f"""
import sys
from pathlib import Path
from evreview.errors import IngestError
from evreview.ingest import ingest_file
from evreview.ingest.registry import SNIFF_GATES, readers
result = ingest_file(Path({str(FIXTURES / "tabular" / "pubmed.csv")!r}))
print(result.report.iloc[0]["source_format"])
print(sorted(n for n in SNIFF_GATES if "evreview.ingest.formats." + n in sys.modules))
try:
    ingest_file(Path({str(notes)!r}))
except IngestError as exc:
    print(exc)
print(", ".join(readers()))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    fmt, loaded, error, every = done.stdout.strip().split("\n")
    assert fmt == "pubmed_csv"
    assert loaded == "['pubmed_csv']"  # of the gated readers, only the one whose table it is
    assert "unrecognised format" in error and f"({every})" in error and "ris" in every.split(", ")


def test_zip_files_no_reader_claims_say_what_they_are(tmp_path: Path):
    """A ZIP of exports, a workbook cut short and an empty workbook all got "unrecognised
    format ... the file starts with no text ... map them with --column-map"."""
    import zipfile

    from openpyxl import Workbook

    archive = tmp_path / "exports.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("scopus/export.ris", RIS_ONE)
    book = tmp_path / "empty.xlsx"
    Workbook().save(book)
    cut = tmp_path / "cut.xlsx"
    workbook = Workbook()
    workbook.active.append(["Title", "Year"])
    workbook.save(cut)
    cut.write_bytes(cut.read_bytes()[:3000])
    for path, message in (
        (archive, r"exports\.zip: a ZIP archive, not an export: unzip it .*\(scopus/export\.ris\)"),
        (book, r"empty\.xlsx: an \.xlsx workbook whose first sheet holds no table"),
        (cut, r"cut\.xlsx: a damaged ZIP file"),
    ):
        with pytest.raises(IngestError, match=message) as info:
            ingest_file(path)
        assert "column-map" not in str(info.value)


def test_missing_file_and_folder(tmp_path: Path):
    with pytest.raises(IngestError, match="no such file"):
        ingest_file(tmp_path / "nope.ris")
    with pytest.raises(IngestError, match="folder"):
        ingest_file(tmp_path)


def test_an_unreadable_export_is_a_clear_error(tmp_path: Path, monkeypatch, capsys):
    """A file the user may not read (permission denied; simulated: the tests run as root) was an
    OSError traceback; now one line naming the file."""
    export = tmp_path / "locked.ris"
    export.write_text("TY  - JOUR\nTI  - A title\nER  - \n", encoding="utf-8")
    real = Path.read_bytes

    def denied(self: Path) -> bytes:
        if self.name == "locked.ris":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(IngestError, match="cannot read the file: Permission denied") as info:
        ingest_file(export)
    assert "locked.ris" in str(info.value)
    assert main(["ingest", str(export), "--out", str(tmp_path / "out.parquet")]) == 2
    err = capsys.readouterr().err
    assert "locked.ris: cannot read the file: Permission denied" in err and "Traceback" not in err


@pytest.mark.skipif(sys.platform == "win32", reason="named pipes and /dev/zero are POSIX")
def test_a_pipe_a_device_or_a_link_loop_is_a_clear_error(tmp_path: Path, capsys):
    """Found by fuzzing: a named pipe called ``x.ris`` hung the ingest (the read waits for a
    writer), a link to ``/dev/zero`` read until memory ran out (MemoryError traceback), and a
    loop of symbolic links was a RuntimeError traceback from ``Path.resolve``."""
    import os

    os.mkfifo(tmp_path / "pipe.ris")
    (tmp_path / "zero.ris").symlink_to("/dev/zero")
    (tmp_path / "loop_a.ris").symlink_to(tmp_path / "loop_b.ris")
    (tmp_path / "loop_b.ris").symlink_to(tmp_path / "loop_a.ris")
    for name, message in [
        ("pipe.ris", "not a regular file (a pipe, socket or device)"),
        ("zero.ris", "not a regular file (a pipe, socket or device)"),
        ("loop_a.ris", "a symbolic link to no file"),
    ]:
        with pytest.raises(IngestError, match=re.escape(message)) as info:
            ingest_file(tmp_path / name, root=tmp_path)
        assert name in str(info.value)
        argv = ["ingest", str(tmp_path / name), "--root", str(tmp_path), "--out", str(tmp_path / "o.parquet")]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert f"{name}: {message}" in err and "Traceback" not in err

def test_a_file_given_twice_is_a_clear_error(tmp_path: Path, capsys):
    """``evreview ingest a.ris ./a.ris`` ingested every record twice under the same record_id,
    which only dedup noticed ("record_id ... appears more than once", naming no file)."""
    from evreview.ingest import ingest_files, ingest_to_parquet

    path = tmp_path / "a.ris"
    path.write_text(RIS_ONE, encoding="utf-8")
    (tmp_path / "link.ris").symlink_to(path)
    with pytest.raises(IngestError, match="file given twice"):
        ingest_files([path, tmp_path / "." / "a.ris"])
    with pytest.raises(IngestError, match=r"a\.ris: file given twice \(also as .*link\.ris\)"):
        ingest_to_parquet([path, tmp_path / "link.ris"], tmp_path / "out.parquet")
    out = tmp_path / "cli.parquet"
    assert main(["ingest", str(path), str(path), "--out", str(out)]) == 2
    assert "a.ris: file given twice" in capsys.readouterr().err and not out.exists()
    copy = tmp_path / "b.ris"  # the same content in another file is two files' records
    copy.write_text(RIS_ONE, encoding="utf-8")
    assert len(ingest_files([path, copy]).records) == 2


def test_a_forced_format_the_file_is_not_in_is_not_silent(tmp_path: Path, capsys):
    """``--format bibtex`` (or a wrong ingest.formats glob) on a RIS file said "0/0 records"
    and exited 0, as if the search had found nothing; where the wrong reader did read
    something, nothing said the records came from a format the file is not in."""
    path = tmp_path / "a.ris"
    path.write_text(RIS_ONE, encoding="utf-8")
    out = tmp_path / "out.parquet"
    assert main(["ingest", str(path), "--format", "bibtex", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "a.ris: no record found reading it as bibtex" in err and "looks like ris" in err
    result = ingest_file(path, fmt="medline")
    first = result.problems.iloc[0]
    assert first["severity"] == "warning" and "format was forced" in first["reason"] and "like ris" in first["reason"]
    assert result.reports[0].warnings == len(result.problems)
    assert ingest_file(path, fmt="ris").problems.empty  # forcing the right format changes nothing


def test_cli_reports_user_errors_in_one_line_without_traceback(tmp_path: Path, capsys):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    code = main(["ingest", str(path), "--out", str(tmp_path / "out.parquet")])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert err.startswith("evreview ingest: error:") and "empty.csv" in err
    assert not (tmp_path / "out.parquet").exists()


def test_cli_output_paths_that_cannot_be_files_are_one_line_errors(tmp_path: Path, capsys):
    """--out naming a folder, or any output under a file, stopped with an IsADirectoryError /
    FileExistsError traceback (naming a temporary file) after every export had been read."""
    path = tmp_path / "a.ris"
    path.write_text(RIS_ONE, encoding="utf-8")
    (tmp_path / "folder.parquet").mkdir()
    cases = (
        (["--out", str(tmp_path / "folder.parquet")], "folder.parquet: --out is a folder"),
        (["--out", str(path / "x.parquet")], "x.parquet: --out cannot be written: "),
        (["--out", str(tmp_path / "o.csv"), "--report", str(path / "r" / "r.csv")], "r.csv: --report cannot be"),
        (["--out", str(tmp_path / "o.parquet"), "--problems", str(tmp_path)], "--problems is a folder"),
    )
    for options, message in cases:
        assert main(["ingest", str(path), *options]) == 2
        err = capsys.readouterr().err
        assert err.startswith("evreview ingest: error: ") and message in err and "Traceback" not in err
    assert not list(tmp_path.glob("o*"))


def test_cli_write_failures_name_the_output_not_its_temporary_file(tmp_path: Path, capsys, monkeypatch):
    import os

    path = tmp_path / "a.ris"
    path.write_text(RIS_ONE, encoding="utf-8")

    def full_disk(src, dst):
        raise OSError(28, "No space left on device", str(src))

    monkeypatch.setattr(os, "replace", full_disk)  # the rename of every atomic write
    assert main(["ingest", str(path), "--out", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("evreview ingest: error: ") and "No space left on device" in err
    assert f"{tmp_path / 'o.csv'}: cannot write: No space left on device" in err


def test_cli_runs_as_a_console_script(tmp_path: Path):
    path = tmp_path / "bin.dat"
    path.write_bytes(b"\x00\x01\x02" * 50)
    proc = subprocess.run(
        [sys.executable, "-m", "evreview", "ingest", str(path), "--out", str(tmp_path / "o.parquet")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "binary" in proc.stderr and "Traceback" not in proc.stderr


def test_problem_positions_are_whole_numbers_beside_file_level_problems(tmp_path: Path):
    """A problem without a record position (a repeated header, ProQuest's document count)
    made pandas write every position in problems.csv as a float ("2.0"), and the ledger's
    id of an unparsed record, built from it, depend on the file's other problems."""
    path = tmp_path / "table.csv"
    path.write_text("ID,Title,Year\n1,One,2001\nID,Title,Year\n2,Two,2002,extra\n", encoding="utf-8")
    out = tmp_path / "out.parquet"
    assert main(["ingest", str(path), "--out", str(out)]) == 0
    lines = (tmp_path / "out_problems.csv").read_text(encoding="utf-8").splitlines()
    assert [line.split(",")[3:6] for line in lines[1:]] == [["", "3", "warning"], ["1", "4", "error"]]


def test_ingest_writes_records_report_and_problems(tmp_path: Path):
    if "ris" not in readers():
        pytest.skip("RIS reader not available")
    path = tmp_path / "one.ris"
    path.write_text(RIS_ONE, encoding="utf-8")
    out = tmp_path / "out" / "records.parquet"
    assert main(["ingest", str(path), "--out", str(out), "--search", "round1", "--root", str(tmp_path)]) == 0
    import pandas as pd

    from evreview.ingest import read_records
    from evreview.records import RECORD_COLUMNS, make_record_id

    records = read_records(out)
    assert list(records.columns) == list(RECORD_COLUMNS)
    assert records.loc[0, "record_id"] == make_record_id("round1", "one.ris", 0)
    assert records.loc[0, "source_file"] == "one.ris"
    report = pd.read_csv(tmp_path / "out" / "records_report.csv")
    assert report.loc[0, "found"] == 1 and report.loc[0, "parsed"] == 1
    assert (tmp_path / "out" / "records_problems.csv").exists()


def test_parser_bug_is_reported_with_the_file(tmp_path: Path, monkeypatch):
    """An unexpected exception inside a reader still names the file (and keeps the cause)."""
    if "ris" not in readers():
        pytest.skip("RIS reader not available")
    reader = readers()["ris"]

    def boom(source):
        raise KeyError("oops")

    monkeypatch.setattr(reader, "parse", boom)
    path = tmp_path / "x.ris"
    path.write_text(RIS_ONE, encoding="utf-8")
    with pytest.raises(IngestError, match="could not parse as ris") as info:
        ingest_file(path)
    assert "x.ris" in str(info.value) and isinstance(info.value.__cause__, KeyError)


# --------------------------------------------------------------------------- streaming to Parquet

RIS_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ris"
MIXED_DB = (
    "TY  - JOUR\nTI  - First\nDB  - Scopus\nER  - \n\n"
    "TY  - JOUR\nTI  - No database named\nER  - \n\n"
    "stray line between records\n\n"
    "TY  - JOUR\nER  - \n\n"
    "TY  - JOUR\nTI  - Third\nDB  - Scopus\nER  - \n\n"
    "TY  - JOUR\nTI  - Unterminated\n"
)


def _cli_parquet(tmp_path: Path, files: list[Path], name: str) -> tuple:
    import pandas as pd

    from evreview.ingest import read_records

    out = tmp_path / name / "records.parquet"
    args = ["ingest", *map(str, files), "--out", str(out), "--search", "r1", "--root", str(files[0].parent)]
    assert main(args) == 0
    report = pd.read_csv(out.with_name("records_report.csv"), dtype=str, keep_default_na=False)
    problems = pd.read_csv(out.with_name("records_problems.csv"), dtype=str, keep_default_na=False)
    return read_records(out), report, problems


@pytest.mark.parametrize("batch", [1, 2, 20_000])
def test_streamed_parquet_equals_the_dataframe_path(tmp_path: Path, monkeypatch, batch: int):
    """The CLI's batch-by-batch Parquet and ``write_records(ingest_files(...))`` read back equal,
    whatever the batch size (row-group boundaries must not change a record)."""
    import pandas as pd

    import evreview.ingest as ingest
    from evreview.ingest import ingest_files, read_records, write_records

    mixed = tmp_path / "mixed.ris"
    mixed.write_text(MIXED_DB, encoding="utf-8")
    files = [mixed, *(RIS_FIXTURES / name for name in ("ovid.ris", "endnote.ris", "scopus.ris"))]
    for path in files[1:]:
        (tmp_path / path.name).write_bytes(path.read_bytes())
    files = [tmp_path / path.name for path in files]
    monkeypatch.setattr(ingest, "BATCH_SIZE", batch)
    streamed, report, problems = _cli_parquet(tmp_path, files, "cli")
    monkeypatch.setattr(ingest, "BATCH_SIZE", 20_000)
    whole = ingest_files(files, search="r1", root=tmp_path)
    write_records(whole.records, tmp_path / "whole.parquet")
    pd.testing.assert_frame_equal(streamed, read_records(tmp_path / "whole.parquet"))
    assert list(streamed["source_file"].unique()) == [path.name for path in files]
    assert len(streamed) == sum(rep.parsed for rep in whole.reports)
    assert report["found"].tolist() == [str(rep.found) for rep in whole.reports]
    assert len(problems) == len(whole.problems)


def test_streaming_reader_default_database_and_problems(tmp_path: Path, monkeypatch):
    """A record without DB gets the file's main database even after its batch was written,
    and found == parsed + errors with problems on their lines and records."""
    import evreview.ingest as ingest

    path = tmp_path / "mixed.ris"
    path.write_text(MIXED_DB, encoding="utf-8")
    monkeypatch.setattr(ingest, "BATCH_SIZE", 1)
    records, report, problems = _cli_parquet(tmp_path, [path], "out")
    assert records["source_database"].tolist() == ["Scopus"] * 4
    assert records["title"].tolist() == ["First", "No database named", "Third", "Unterminated"]
    assert records["source_line"].tolist() == [1, 6, 15, 20]
    assert records["source_index"].tolist() == [0, 1, 2, 3]
    assert report.loc[0, "found"] == "5" and report.loc[0, "parsed"] == "4" and report.loc[0, "failed"] == "1"
    assert problems["source_line"].tolist() == ["10", "12", "20"]
    assert problems["severity"].tolist() == ["warning", "error", "warning"]
    assert problems["source_index"].tolist()[:2] == ["", ""] and float(problems.loc[2, "source_index"]) == 3


def test_raw_is_compact_sorted_json_keeping_non_ascii(tmp_path: Path):
    import json

    path = tmp_path / "one.ris"
    path.write_text("TY  - JOUR\nTI  - Caf\u00e9\nAU  - B\nAU  - A\nER  - \n", encoding="utf-8")
    raw = ingest_file(path).records.loc[0, "raw"]
    assert raw == '{"AU":["B","A"],"TI":"Caf\u00e9","TY":"JOUR"}'
    assert json.loads(raw) == {"AU": ["B", "A"], "TI": "Caf\u00e9", "TY": "JOUR"}


# --------------------------------------------------------------------------- parallel parts of a large file


@pytest.fixture
def forced_parallel(monkeypatch):
    """Parallel parsing for small files: tiny parts, two workers whatever the machine; the
    plans the driver made are collected (None = single process)."""
    from evreview.ingest import parallel

    monkeypatch.setattr(parallel, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "PART_BYTES", 4096)
    monkeypatch.setattr(parallel, "_HEAD_BYTES", 80_000)
    monkeypatch.setattr(parallel, "available_workers", lambda: 2)
    plans: list = []
    real = parallel.plan

    def spy(*args, **kwargs):
        plans.append(real(*args, **kwargs))
        return plans[-1]

    monkeypatch.setattr(parallel, "plan", spy)
    return plans


def _big_ris(tmp_path: Path, copies: int = 16) -> Path:
    """Every RIS fixture (BOMs, CRLF, Ovid trailers, garbage, a record without DB) and one with
    bare-CR line ends, repeated: ~100 KB."""
    data = b"\n".join(path.read_bytes() for path in sorted(RIS_FIXTURES.iterdir()))
    bare_cr = (RIS_FIXTURES / "scopus.ris").read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r")
    path = tmp_path / "big.ris"
    path.write_bytes((data + b"\n" + MIXED_DB.encode() + bare_cr + b"\n") * copies)
    return path


@pytest.mark.parametrize("batch", [7, 10_000])
def test_parallel_ingest_is_byte_identical_to_one_process(tmp_path: Path, monkeypatch, forced_parallel, batch: int):
    """Parts parsed in worker processes give the very bytes one process writes: Parquet
    (row groups included), report and problems, whatever the batch size."""
    import evreview.ingest as ingest
    from evreview.ingest import parallel

    big = _big_ris(tmp_path)
    small = tmp_path / "mixed.ris"
    small.write_text(MIXED_DB, encoding="utf-8")
    monkeypatch.setattr(ingest, "BATCH_SIZE", batch)
    outputs = {}
    for name, min_bytes in (("parallel", 0), ("single", 10**12)):
        monkeypatch.setattr(parallel, "PARALLEL_MIN_BYTES", min_bytes)
        _cli_parquet(tmp_path, [big, small], name)
        outputs[name] = [
            (tmp_path / name / file).read_bytes()
            for file in ("records.parquet", "records_report.csv", "records_problems.csv")
        ]
    big_plan = forced_parallel[0]
    assert big_plan is not None and len(big_plan.parts) >= 10
    assert forced_parallel[1:] == [None, None, None]  # small file (below 64 KiB of text), then 10**12
    assert outputs["parallel"] == outputs["single"]
    records, report, problems = _cli_parquet(tmp_path, [big], "again")
    assert report.loc[0, "found"] == str(int(report.loc[0, "parsed"]) + int(report.loc[0, "failed"]))
    assert int(report.loc[0, "failed"]) > 0 and (problems["severity"] == "warning").any()
    assert records["source_index"].tolist() == list(range(len(records)))


def test_parallel_parts_get_the_header_of_the_file(tmp_path: Path, monkeypatch, forced_parallel):
    """APA PsycNET names its database once, in a header above the first record: parts parsed in
    workers never saw it, so all but the first part's records were 'unknown database'. A header
    that changes mid-file holds from there on, and a header-like line inside a record (which the
    parent's guess from the bytes reads as a header) does not mislead the parts after it."""
    from evreview.ingest import parallel

    psycnet = (RIS_FIXTURES / "psycnet.ris").read_text(encoding="utf-8")
    header, _, records = psycnet.partition("\n\n")
    body = records + "\n"
    tricky = "TY  - JOUR\nTI  - Note\nN2  - a paragraph\nProvider: X\nDatabase: Y\nContent: text/plain\nER  - \n\n"
    text = header + "\n\n" + body * 40 + tricky + body * 40
    text += header.replace("PsycINFO", "PsycARTICLES") + "\n\n" + body * 40
    path = tmp_path / "psycnet_big.ris"
    path.write_text(text, encoding="utf-8")
    outputs = {}
    for name, min_bytes in (("parallel", 0), ("single", 10**12)):
        monkeypatch.setattr(parallel, "PARALLEL_MIN_BYTES", min_bytes)
        records, _, problems = _cli_parquet(tmp_path, [path], name)
        outputs[name] = (records.drop(columns=["raw"]).to_dict("records"), problems.to_dict("records"))
    assert forced_parallel[0] is not None and len(forced_parallel[0].parts) > 3
    databases = [r["source_database"] for r in outputs["parallel"][0]]
    assert databases == ["APA PsycInfo via APA PsycNet"] * 161 + ["APA PsycArticles via APA PsycNet"] * 80
    assert outputs["parallel"] == outputs["single"]


def test_parallel_tables_pass_through_files_that_are_all_removed(tmp_path: Path, monkeypatch, forced_parallel):
    """Workers hand their tables over as files in a spool folder (not through the result
    pipe); every file and the folder itself are gone after a run, after a failed run, and
    after a run whose reader stopped half-way."""
    import evreview.ingest as ingest
    from evreview.ingest import parallel
    from evreview.ingest.formats import ris

    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(parallel, "_spool_root", lambda: str(spool))
    loaded: list[str] = []
    real_load = parallel._load

    def spy(table_path: str):
        loaded.append(table_path)
        assert Path(table_path).parent.parent == spool
        return real_load(table_path)

    monkeypatch.setattr(parallel, "_load", spy)
    big = _big_ris(tmp_path)
    records = ingest_file(big).records
    assert forced_parallel[-1] is not None and len(loaded) == len(forced_parallel[-1].parts) > 3
    assert len(records) > 100 and list(spool.iterdir()) == []

    job = ingest._FileIngest(big, search="", root=None, fmt=None, encoding=None, database=None, column_map=None)
    tables = job.tables()
    next(tables)
    assert len(list(spool.iterdir())) == 1  # the run's folder, while parts are in flight
    tables.close()
    assert list(spool.iterdir()) == []

    real = ris.record_fields

    def buggy(tags, ovid=False, header=None):
        if "Unterminated" in str(tags.get("TI")):
            raise ZeroDivisionError("bug")
        return real(tags, ovid, header)

    monkeypatch.setattr(ris, "record_fields", buggy)
    assert "ZeroDivisionError" in _error(big)
    assert list(spool.iterdir()) == []


def test_parallel_tables_come_through_the_pipe_when_the_spool_has_no_room(tmp_path: Path, monkeypatch,
                                                                          forced_parallel):
    """A container's /dev/shm is often 64 MB: a worker that cannot write its table there sends
    it through the result pipe instead, and the output is the same."""
    from evreview.ingest import parallel

    big = _big_ris(tmp_path)
    expected = ingest_file(big).records
    real = parallel._spooled
    monkeypatch.setattr(parallel, "_spooled", lambda table, path: real(table, str(tmp_path / "no" / "room.arrow")))
    got = ingest_file(big).records
    assert forced_parallel[-1] is not None and len(forced_parallel[-1].parts) > 3
    assert got.equals(expected)
    import pyarrow as pa

    sent = real(pa.table({"x": [1, 2]}), str(tmp_path / "no" / "room.arrow"))
    assert isinstance(sent, bytes) and parallel._load(sent).column("x").to_pylist() == [1, 2]


def _error(path: Path) -> str:
    with pytest.raises(IngestError) as info:
        ingest_file(path)
    return str(info.value)


def test_parallel_errors_are_the_single_process_errors(tmp_path: Path, monkeypatch, forced_parallel):
    """An invalid byte late in the file wins over a NUL earlier (one process decodes the whole
    file first), with the file's line and offset; a reader bug in a worker names the file."""
    from evreview.ingest import parallel
    from evreview.ingest.formats import ris

    big = _big_ris(tmp_path, copies=24).read_bytes()
    at_nul, at_bad = 6 * len(big) // 10, 85 * len(big) // 100  # beyond the head that detection reads
    at_nul, at_bad = big.index(b"TI  - ", at_nul) + 6, big.index(b"TI  - ", at_bad) + 6
    damaged = tmp_path / "damaged.ris"
    damaged.write_bytes(big[:at_nul] + b"\x00" + big[at_nul:at_bad] + b"\xff" + big[at_bad:])
    nul_only = tmp_path / "nul.ris"
    nul_only.write_bytes(big[:at_nul] + b"\x00" + big[at_nul:])
    real = ris.record_fields

    def buggy(tags, ovid=False, header=None):
        if "Unterminated" in str(tags.get("TI")):
            raise ZeroDivisionError("bug")
        return real(tags, ovid, header)

    for path, expected in ((damaged, "not valid utf-8"), (nul_only, "NUL character"), (None, "ZeroDivisionError")):
        if path is None:
            monkeypatch.setattr(ris, "record_fields", buggy)
            path = tmp_path / "big.ris"
        monkeypatch.setattr(parallel, "PARALLEL_MIN_BYTES", 0)
        in_parts = _error(path)
        assert forced_parallel[-1] is not None
        monkeypatch.setattr(parallel, "PARALLEL_MIN_BYTES", 10**12)
        assert _error(path) == in_parts
        assert expected in in_parts and path.name in in_parts
    line = big[:at_bad].count(b"\n") + 1
    assert f"damaged.ris:{line}: not valid utf-8 text (byte b'\\xff" in _error(damaged)


def test_files_that_stay_in_one_process(tmp_path: Path, monkeypatch, forced_parallel):
    """Only bare-CR line ends (nowhere to cut), UTF-16, a named legacy encoding, another format,
    or one worker."""
    big = _big_ris(tmp_path).read_bytes().replace(b"\r\n", b"\n")
    cases = {
        "cr.ris": (big.replace(b"\n", b"\r"), {}),
        "utf16.ris": (big.decode("utf-8").encode("utf-16"), {}),
        "cp1252.ris": (big, {"encoding": "cp1252"}),
        "medline.txt": (b"PMID- 1\nTI  - A title\n\n" * 5000, {}),
        # Ovid-like: a tag line after every ER joins that record, so there is nowhere to cut
        "ovid_like.ris": (b"TY  - JOUR\nTI  - A title\nER  - \nNL  - Trailer\n\n" * 5000, {}),
    }
    from evreview.ingest import parallel

    monkeypatch.setattr(parallel, "_GIVE_UP_BYTES", 16 * 1024)
    for name, (data, options) in cases.items():
        (tmp_path / name).write_bytes(data)
        ingest_file(tmp_path / name, **options)
        assert forced_parallel[-1] is None, name
    monkeypatch.undo()  # the real available_workers, under the environment variable
    monkeypatch.setattr(parallel, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setenv("EVREVIEW_INGEST_WORKERS", "1")
    assert parallel.plan(tmp_path / "big.ris", "big.ris", 10**9, fmt=None, encoding=None, options={}) is None
    monkeypatch.setenv("EVREVIEW_INGEST_WORKERS", "two")
    with pytest.raises(IngestError, match="EVREVIEW_INGEST_WORKERS must be a whole number"):
        parallel.available_workers()


@pytest.mark.shared
def test_shared_ris_exports_in_parts_equal_one_process(shared_dir: Path, tmp_path: Path, monkeypatch, forced_parallel):
    """Every real RIS export large enough to detect from its head, parsed in 32 KB parts: the
    same Parquet bytes, report and problems as in one process."""
    import csv

    from evreview.ingest import parallel

    exports = shared_dir / "fixtures" / "exports"
    with (exports / "MANIFEST.csv").open(encoding="utf-8") as handle:
        paths = [exports / row["path"] for row in csv.DictReader(handle) if row["format"] == "RIS"]
    monkeypatch.setattr(parallel, "PART_BYTES", 32 * 1024)
    in_parts = 0
    for path in paths:
        outputs = []
        for min_bytes in (0, 10**12):
            monkeypatch.setattr(parallel, "PARALLEL_MIN_BYTES", min_bytes)
            out = tmp_path / f"{path.stem}_{min_bytes}" / "records.parquet"
            assert main(["ingest", str(path), "--out", str(out), "--search", "s", "--root", str(exports)]) == 0
            outputs.append([(out.parent / name).read_bytes() for name in (out.name, "records_report.csv")])
            outputs[-1].append((out.parent / "records_problems.csv").read_bytes())
        in_parts += forced_parallel[-2] is not None and len(forced_parallel[-2].parts) > 1
        assert outputs[0] == outputs[1], path.name
    assert in_parts >= 3


def test_gather_concatenates_record_tables_in_the_order_given(tmp_path: Path):
    """``evreview gather`` (Arrow end to end) gives the records of each table, in the order given, with
    the reports and problems beside them; an empty table adds nothing; a table that is not a record
    table is a one-line error naming it."""
    import pandas as pd

    from evreview.ingest import read_records, write_records

    files = {name: RIS_FIXTURES / name for name in ("ovid.ris", "endnote.ris", "garbage.ris")}
    tables = []
    for name, path in files.items():
        out = tmp_path / "t" / f"{name}.parquet"
        rep, prob = out.with_name(f"{name}_report.csv"), out.with_name(f"{name}_problems.csv")
        assert main(["ingest", str(path), "--out", str(out), "--report", str(rep), "--problems", str(prob),
                     "--search", "r1"]) == 0
        tables.append(out)
    empty = tmp_path / "t" / "empty.ris.parquet"
    write_records(read_records(tables[0]).iloc[:0], empty)
    for side in ("_report.csv", "_problems.csv"):
        (tmp_path / "t" / f"empty.ris{side}").write_text(tables[0].with_name(f"ovid.ris{side}").read_text())
    order = [tables[1], empty, tables[0], tables[2]]
    out = tmp_path / "records.parquet"
    args = ["gather", *map(str, order), "--out", str(out), "--report", str(tmp_path / "report.csv"),
            "--problems", str(tmp_path / "problems.csv")]
    assert main(args) == 0
    expected = pd.concat([read_records(t) for t in order], ignore_index=True)
    pd.testing.assert_frame_equal(read_records(out), expected)
    assert [Path(f).name for f in expected["source_file"].unique()] == ["endnote.ris", "ovid.ris", "garbage.ris"]
    report = pd.read_csv(tmp_path / "report.csv", dtype=str, keep_default_na=False)
    assert Path(report["source_file"].iloc[0]).name == "endnote.ris" and len(report) == 4

    bogus = tmp_path / "t" / "bogus.parquet"
    pd.DataFrame({"x": [1]}).to_parquet(bogus)
    for side in ("_report.csv", "_problems.csv"):
        (tmp_path / "t" / f"bogus{side}").write_text(tables[0].with_name(f"ovid.ris{side}").read_text())
    assert main(["gather", str(bogus), "--out", str(tmp_path / "x.parquet"), "--report", str(tmp_path / "r.csv"),
                 "--problems", str(tmp_path / "p.csv")]) == 2


def test_raw_column_is_compact_sorted_json_and_a_lone_surrogate_stays_visible():
    """The raw column built into one buffer: each record's JSON (keys sorted, non-ASCII kept), and
    a value orjson refuses (a lone surrogate) shown backslash-escaped rather than failing the file."""
    from evreview.ingest import _raw_array

    assert _raw_array(iter([])).to_pylist() == []
    array = _raw_array(iter([{"b": "é", "a": 1}, {}, {"t": "x" * 5000}]))
    assert array.to_pylist() == ['{"a":1,"b":"é"}', "{}", '{"t":"' + "x" * 5000 + '"}']
    lone = _raw_array(iter([{"a": "\ud800"}, {"b": "ok"}])).to_pylist()
    assert lone == ['{"a":"\\xed\\xa0\\x80"}', '{"b":"ok"}']


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_a_bad_file_among_good_ones_fails_the_command_or_is_reported(tmp_path: Path, capsys, suffix: str):
    """``evreview ingest good.ris bad.csv good2.csv``: a file that cannot be read at all (a
    cp1252 line in UTF-8) fails the whole command naming it, with no record table written (a
    table of the good files alone would look complete); a file with one unreadable record is
    reported row by row while every record of the good files is in the table."""
    import pandas as pd

    good = tmp_path / "good.ris"
    good.write_text(RIS_ONE + RIS_ONE.replace("Trust", "Power"), encoding="utf-8")
    good2 = tmp_path / "good2.csv"
    good2.write_text("Title,Year\nCommunity research,2019\nLocal councils,2021\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_bytes("Title,Year\nFine row,2020\nCaf\u00e9 row,2020\n".encode("cp1252"))
    out = tmp_path / f"records{suffix}"
    assert main(["ingest", str(good), str(bad), str(good2), "--root", str(tmp_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad.csv:3: not valid utf-8 text" in err and "Traceback" not in err
    assert not out.exists() and not (tmp_path / "records_report.csv").exists()

    # a quote never closed, cutting the file short: the lines after it are not rows
    bad.write_text('Title,Year\n"Unclosed quote\nrest of the title\n', encoding="utf-8")
    assert main(["ingest", str(good), str(bad), str(good2), "--root", str(tmp_path), "--out", str(out)]) == 0
    records = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out)
    assert records.groupby("source_file")["title"].agg(list).to_dict() == {
        "good.ris": ["Trust in place-based partnerships", "Power in place-based partnerships"],
        "good2.csv": ["Community research", "Local councils"],
    }
    problems = pd.read_csv(tmp_path / "records_problems.csv")
    assert problems[["source_file", "source_line", "severity"]].values.tolist() == [["bad.csv", 2, "error"]]
    report = pd.read_csv(tmp_path / "records_report.csv").set_index("source_file")
    # the unclosed quote swallows the file's end: its row, lines 2-3, is the one reported
    assert report.loc["bad.csv", ["parsed", "failed"]].tolist() == [0, 1]
    assert "lines 2-3" in problems["reason"].iloc[0]


def test_parallel_workers_and_the_parse_run_without_pandas(tmp_path: Path) -> None:
    """pyarrow imports pandas (0.1 s) on its first array built from Python values; the part
    workers keep it out, and the command imports it only once the parse has begun (for the
    Parquet schema), so its import overlaps the workers' parse. The output is unchanged."""
    import os

    big = _big_ris(tmp_path)
    code = f"""
import os, sys
from evreview.ingest import parallel
parallel.PARALLEL_MIN_BYTES, parallel.PART_BYTES, parallel._HEAD_BYTES = 0, 4096, 80_000
parallel.available_workers = lambda: 2
real = parallel.parse_part

def spy(*args):
    done = real(*args)
    os.write(2, f"worker pandas: {{'pandas' in sys.modules}}\\n".encode())  # one write: workers interleave
    return done

parallel.parse_part = spy
real_run = parallel.run

def run(*args, **kwargs):
    print("pandas before the parts:", "pandas" in sys.modules, file=sys.stderr)
    yield from real_run(*args, **kwargs)

parallel.run = run
from evreview.cli import main
sys.argv = ["evreview", "ingest", {str(big)!r}, "--out", {str(tmp_path / "out.parquet")!r}]
sys.exit(main())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = out.stderr.splitlines()
    assert "pandas before the parts: False" in lines
    workers = [line for line in lines if line.startswith("worker pandas:")]
    assert len(workers) > 10 and set(workers) == {"worker pandas: False"}
    one = subprocess.run([sys.executable, "-m", "evreview", "ingest", str(big), "--out", str(tmp_path / "one.parquet")],
                         capture_output=True, text=True, env={**os.environ, "EVREVIEW_INGEST_WORKERS": "1"})
    assert one.returncode == 0, one.stderr
    assert (tmp_path / "out.parquet").read_bytes() == (tmp_path / "one.parquet").read_bytes()


def _fresh_parallel_ingest(path: Path, out: Path, workers: str = "2") -> subprocess.CompletedProcess:
    """``evreview ingest path --out out`` in a fresh process (pandas not imported, as for the
    program), with tiny parts so a small file is cut for the workers."""
    import os

    code = f"""
import sys
from evreview.ingest import parallel
parallel.PARALLEL_MIN_BYTES, parallel.PART_BYTES, parallel._HEAD_BYTES = 0, 4096, 80_000
from evreview.cli import main
sys.argv = ["evreview", "ingest", {str(path)!r}, "--out", {str(out)!r}]
sys.exit(main())
"""
    env = {**os.environ, "EVREVIEW_INGEST_WORKERS": workers}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


def test_a_part_without_records_in_a_fresh_process(tmp_path: Path) -> None:
    """A part whose every record is empty (problems only) gives a worker no table: its empty
    table needs no pandas, which the workers keep out (it was a ModuleNotFoundError traceback)."""
    good = "".join(f"TY  - JOUR\nTI  - A study of thing {i}\nPY  - 2020\nER  - \n\n" for i in range(1500))
    path = tmp_path / "empty_part.ris"
    path.write_text(good + "TY  - JOUR\nER  - \n\n" * 600 + good, encoding="utf-8")
    many = _fresh_parallel_ingest(path, tmp_path / "many.parquet")
    assert many.returncode == 0, many.stderr
    one = _fresh_parallel_ingest(path, tmp_path / "one.parquet", workers="1")
    assert one.returncode == 0, one.stderr
    assert (tmp_path / "many.parquet").read_bytes() == (tmp_path / "one.parquet").read_bytes()


def test_a_part_parsed_again_by_the_parent_leaves_it_pandas(tmp_path: Path) -> None:
    """A header-like line inside a record misleads the guess of the next part's header, and the
    parent parses that part again itself: the workers' keeping pandas out must not reach the
    parent, which needs pandas for the Parquet schema (it was a ModuleNotFoundError traceback)."""
    psycnet = (RIS_FIXTURES / "psycnet.ris").read_text(encoding="utf-8")
    header, _, records = psycnet.partition("\n\n")
    body = records + "\n"
    tricky = "TY  - JOUR\nTI  - Note\nN2  - a paragraph\nProvider: X\nDatabase: Y\nContent: text/plain\nER  - \n\n"
    path = tmp_path / "psycnet_big.ris"
    path.write_text(header + "\n\n" + body * 80 + tricky + body * 80, encoding="utf-8")
    many = _fresh_parallel_ingest(path, tmp_path / "many.parquet")
    assert many.returncode == 0, many.stderr
    one = _fresh_parallel_ingest(path, tmp_path / "one.parquet", workers="1")
    assert one.returncode == 0, one.stderr
    assert (tmp_path / "many.parquet").read_bytes() == (tmp_path / "one.parquet").read_bytes()


def test_keep_pandas_out_lets_pyarrow_build_arrays() -> None:
    code = """
from evreview.imports import keep_pandas_out
keep_pandas_out()
import pyarrow as pa
assert pa.array(["x", None]).to_pylist() == ["x", None]
try:
    import pandas
except ModuleNotFoundError as exc:
    print("blocked:", exc.name)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "blocked: pandas"
