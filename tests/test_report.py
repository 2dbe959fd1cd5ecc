"""The run report: counts from the ledger, escaped text, no script, deterministic."""

from __future__ import annotations

from pathlib import Path

from test_ledger_prisma import _tables

from evreview.ledger import build_ledger
from evreview.report import ReportInputs, render_report


def test_report_counts_escape_and_determinism(tmp_path: Path):
    export = tmp_path / "scopus.ris"
    export.write_text("TY  - JOUR\nER  - \n", encoding="utf-8")
    ledger = build_ledger(_tables())
    inputs = ReportInputs(
        title="Review <script>alert(1)</script>",
        ledger=ledger,
        input_files=[export],
        searches={"round1": {"date": "2024-03-15", "description": "first <b>search</b>"}},
        gaps_md="# Gaps\n\n## Absolute gaps (1)\n\n- no study on <img src=x onerror=alert(1)>\n",
        stopping={"method": "hypergeometric", "recall_estimate": 0.9},
    )
    page = render_report(inputs)
    assert "<script>" not in page and "<img src=x" not in page and "<b>search</b>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<td>duplicate</td><td>3</td>" in page and "<td>total</td><td>13</td>" in page
    assert "hypergeometric" in page
    assert render_report(inputs) == page
