"""Reading the review config: one-line errors for YAML the config cannot hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from evreview.errors import ConfigError


def test_a_config_with_an_impossible_date_is_one_line_in_every_command(tmp_path: Path, capsys) -> None:
    """The same ValueError ended `evreview prisma`, `changes`, `screen` ... in a traceback."""
    from evreview.cli import main
    from evreview.config import load_config

    config = tmp_path / "config.yaml"
    config.write_text("review:\n  title: x\npaths: {}\nsearches:\n  r1:\n    date: 2024-02-30\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"config.yaml: config is not valid YAML: day is out of range for month"):
        load_config(config)
    ledger = tmp_path / "ledger.csv"
    ledger.write_text("record_id,search,source_database,study_id,kept,fate\n", encoding="utf-8")
    assert main(["prisma", "--ledger", str(ledger), "--config", str(config), "--out-dir", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("config is not valid YAML: day is out of range for month (a date is written YYYY-MM-DD "
                        "and must exist)") and "Traceback" not in err
