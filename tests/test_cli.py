"""The top-level CLI: the lazy command table, and what ``evreview dedup`` imports.

Start-up time is part of the dedup benchmark (issue #4), so these tests pin what a command
loads: ``evreview dedup`` imports its own stage only, ``--help`` imports no stage, and the
table's one-line help stays equal to what each module registers.
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from evreview import cli

FIXTURES = Path(__file__).parent / "fixtures"
#: modules no `evreview dedup` run may import (other stages' machinery, plotting, ML, YAML, the .xls reader)
HEAVY = ("torch", "sklearn", "scipy", "matplotlib", "yaml", "sentence_transformers", "bertopic", "xlrd")


def _imports_after(code: str) -> dict[str, list[str]]:
    """Run ``code`` in a fresh interpreter; the evreview command modules and heavy packages it imported."""
    probe = textwrap.dedent(
        f"""
        import contextlib, io, json, sys
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            try:
        {textwrap.indent(textwrap.dedent(code).strip(), " " * 16)}
            except SystemExit:
                pass
        mods = sorted(sys.modules)
        print(json.dumps({{
            "commands": [m for m in mods if m.startswith("evreview.") and m.endswith(".commands")],
            "heavy": [m for m in mods if m.split(".")[0] in {HEAVY!r}],
            "pandas": ["pandas"] if "pandas" in sys.modules else [],
        }}))
        """
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _registered(module: str) -> dict[str, str]:
    """Command name -> help of everything ``module.register`` adds."""
    sub = argparse.ArgumentParser().add_subparsers()
    importlib.import_module(module).register(sub)
    return {action.dest: action.help for action in sub._choices_actions}


def test_table_matches_what_each_module_registers() -> None:
    """Every listed module's commands are in the table with the same help, and nothing else is."""
    assert set(m for m, _ in cli.COMMANDS.values()) <= set(cli.COMMAND_MODULES)
    for module in cli.COMMAND_MODULES:
        tabled = {name: help_text for name, (owner, help_text) in cli.COMMANDS.items() if owner == module}
        assert _registered(module) == tabled, module


def test_lazy_help_is_the_full_help() -> None:
    lazy = cli.build_parser(None, lazy=True).format_help()
    full = cli.build_parser().format_help()
    assert lazy == full
    assert "dedup" in lazy and "provenance" in lazy


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["dedup", "x.csv"], "dedup"),
        (["-v", "--debug", "dedup", "--out", "o"], "dedup"),
        (["--", "dedup"], "dedup"),
        (["--help"], None),
        ([], None),
        (["--unknown-flag", "dedup"], None),
    ],
)
def test_command_name(argv: list[str], expected: str | None) -> None:
    assert cli.command_name(argv) == expected


def test_lazy_parser_loads_only_the_named_command() -> None:
    parser = cli.build_parser("dedup", lazy=True)
    args = parser.parse_args(["dedup", "in.csv", "--out", "o"])
    assert args.func.__module__ == "evreview.dedup.commands"
    assert args.max_block == 50


def test_dedup_help_imports_no_other_stage_and_no_pandas() -> None:
    got = _imports_after("from evreview.cli import main; main(['dedup', '--help'])")
    assert got["commands"] == ["evreview.dedup.commands"]
    assert got["pandas"] == [] and got["heavy"] == []


def test_top_level_help_imports_no_stage() -> None:
    got = _imports_after("from evreview.cli import main; main(['--help'])")
    assert got["commands"] == [] and got["pandas"] == []


def test_dedup_run_imports_only_dedup(tmp_path: Path) -> None:
    csv = FIXTURES / "dedup" / "records.csv"
    got = _imports_after(f"from evreview.cli import main; main(['dedup', {str(csv)!r}, '--out', {str(tmp_path)!r}])")
    assert got["commands"] == ["evreview.dedup.commands"]
    assert got["heavy"] == []
    assert (tmp_path / "duplicates.csv").exists()


def test_unknown_command_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        cli.main(["dedupe"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'dedupe'" in err and "'dedup'" in err and "'ingest'" in err


def test_narrowed_command_modules_offer_only_those(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Tests narrow COMMAND_MODULES to one stage; the table must not offer the others."""
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("evreview.screen.commands",))
    with pytest.raises(SystemExit):
        cli.main(["dedup", "x.csv", "--out", "o"])
    assert "invalid choice: 'dedup'" in capsys.readouterr().err
    assert set(cli.build_parser("simulate", lazy=True)._subparsers._group_actions[0].choices) == {
        "screen", "screen-report", "simulate"}


def test_module_missing_from_the_table_is_always_registered(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A stage added to COMMAND_MODULES but not yet to COMMANDS still works (it registers itself)."""
    (tmp_path / "extra_stage_cmds.py").write_text(
        "def register(sub):\n"
        "    p = sub.add_parser('extra', help='an extra stage')\n"
        "    p.set_defaults(func=lambda args: 7)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, "extra_stage_cmds"))
    assert cli.main(["extra"]) == 7
    assert "extra" in cli.build_parser("dedup", lazy=True).format_help()


def test_an_output_the_os_refuses_is_one_line_not_a_traceback(tmp_path: Path, capsys) -> None:
    """Commands check their outputs before working where they can (dedup's --out here); any
    other OSError a command meets (a path under a file, no permission, a full disk) is one line
    naming the file, exit 2, with the traceback behind --debug."""
    taken = tmp_path / "afile"
    taken.write_text("x", encoding="utf-8")
    records = Path(__file__).parent / "fixtures" / "dedup" / "records.csv"
    assert cli.main(["dedup", str(records), "--out", str(taken)]) == 2
    assert f"{taken}: --out is a file, not a folder" in capsys.readouterr().err
    assert cli.main(["provenance", "--out", str(taken / "p.json")]) == 2
    err = capsys.readouterr().err
    assert f"evreview provenance: error: {taken}" in err and "Traceback" not in err
    with pytest.raises(OSError):
        cli.main(["--debug", "provenance", "--out", str(taken / "p.json")])


def test_ingest_list_formats_lists_what_format_takes(capsys: pytest.CaptureFixture[str]) -> None:
    """``--format``'s help said "see --list-formats", an option that did not exist (exit 2: FILE and --out
    required); it now prints the reader names, one a line, without FILE or --out."""
    from evreview.ingest.registry import readers

    with pytest.raises(SystemExit) as stop:
        cli.main(["ingest", "--list-formats"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.split() == list(readers())
    assert {"ris", "wos_tab", "generic_table"} <= set(readers())


def test_errors_name_an_output_as_the_user_knows_it_not_its_temporary_file() -> None:
    from evreview.atomic import shown_name

    assert shown_name("results/map/egm.png.tmp4242") == "results/map/egm.png"
    assert shown_name("[Errno 28] No space left: 'out/x.parquet.tmp7'") == "[Errno 28] No space left: 'out/x.parquet'"
