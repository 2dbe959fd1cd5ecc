"""PRISMA 2020 flow diagram, counted from the ledger.

The counts come only from :mod:`evreview.ledger`, so they reconcile with every other figure.
The CSV uses the layout of the PRISMA2020 R package's template (columns ``data, node, box,
description, boxtext, tooltips, url, n``, keyed by ``data``), so it can be loaded there as well;
the diagram itself is drawn here with matplotlib (SVG with real text, and PNG).

Mapping of ledger fates to boxes (new-review template, databases arm):

* identified = every record found in an export (parsed or not), per database;
* removed before screening: ``duplicates`` (fate duplicate), ``excluded_automatic`` (rule and
  model exclusions: automation tools), ``excluded_other`` (records that could not be parsed);
* ``records_screened`` = the rest that a reviewer has decided on; records still awaiting
  screening (undecided) are shown in a note, not hidden;
* ``records_excluded`` = excluded by reviewers; reports assessed = included + maybe (no
  separate full-text stage is tracked: ``dbr_excluded`` lists the maybes awaiting decision);
* ``new_studies`` = included studies.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from evreview.ledger import fate_counts

PRISMA_COLUMNS = ("data", "node", "box", "description", "boxtext", "tooltips", "url", "n")


def prisma_counts(ledger: pd.DataFrame) -> dict[str, Any]:
    """Every PRISMA box's count, plus per-database and per-reason breakdowns."""
    fates = fate_counts(ledger)
    identified = len(ledger)
    per_db = Counter(db if db else "unknown database" for db in ledger["source_database"].astype(str))
    auto = ledger[ledger["fate"].isin(["excluded_automation", "excluded_machine"])]
    auto_reasons = Counter(
        (r or "unspecified") if f == "excluded_automation" else "model below threshold"
        for r, f in zip(auto["screen_reason"].astype(str), auto["fate"])
    )
    reviewer = ledger[ledger["fate"] == "excluded_reviewer"]
    reviewer_reasons = Counter(r or "unspecified" for r in reviewer["screen_reason"].astype(str))
    excluded_automatic = fates["excluded_automation"] + fates["excluded_machine"]
    screened = fates["excluded_reviewer"] + fates["maybe"] + fates["included"]
    counts: dict[str, Any] = {
        "database_results": identified,
        "database_specific_results": dict(sorted(per_db.items())),
        "register_results": 0,
        "duplicates": fates["duplicate"],
        "excluded_automatic": excluded_automatic,
        "excluded_automatic_reasons": dict(sorted(auto_reasons.items())),
        "excluded_other": fates["unparsed"],
        "awaiting_screening": fates["undecided"],
        "records_screened": screened,
        "records_excluded": fates["excluded_reviewer"],
        "records_excluded_reasons": dict(sorted(reviewer_reasons.items())),
        "dbr_sought_reports": fates["maybe"] + fates["included"],
        "dbr_notretrieved_reports": 0,
        "dbr_assessed": fates["maybe"] + fates["included"],
        "dbr_excluded": fates["maybe"],
        "new_studies": fates["included"],
        "new_reports": int(ledger.loc[ledger["fate"] == "included", "study_id"].nunique()),
    }
    counts["total_studies"] = counts["new_studies"]
    counts["total_reports"] = counts["new_reports"]
    return counts


def check_reconciles(counts: dict[str, Any]) -> None:
    """Raise ``AssertionError`` unless the boxes add up (identified = removed + screened + waiting)."""
    removed = counts["duplicates"] + counts["excluded_automatic"] + counts["excluded_other"]
    total = removed + counts["records_screened"] + counts["awaiting_screening"]
    assert total == counts["database_results"], f"PRISMA boxes add to {total}, not {counts['database_results']}"
    assert sum(counts["database_specific_results"].values()) == counts["database_results"]
    assert counts["records_screened"] - counts["records_excluded"] == counts["dbr_sought_reports"]
    assert counts["dbr_assessed"] - counts["dbr_excluded"] == counts["new_studies"]


def _reasons_text(reasons: dict[str, int]) -> str:
    return "; ".join(f"{reason}, {n}" for reason, n in reasons.items())


def prisma_table(counts: dict[str, Any]) -> pd.DataFrame:
    """The counts in the PRISMA2020 package's template layout (one row per ``data`` key)."""
    rows = [
        ("NA", "node6", "newstud", "Identification of new studies via databases and registers", "", 0),
        ("database_results", "node7", "box2", "Records identified from: Databases", "Databases",
         counts["database_results"]),
        ("database_specific_results", "NA", "box2", "Records identified per database", "",
         _reasons_text(counts["database_specific_results"])),
        ("register_results", "NA", "box2", "Records identified from: Registers", "Registers", 0),
        ("duplicates", "node8", "box3", "Duplicate records", "Duplicate records removed", counts["duplicates"]),
        ("excluded_automatic", "NA", "box3", "Records marked as ineligible by automation tools",
         "Records marked as ineligible by automation tools", counts["excluded_automatic"]),
        ("excluded_other", "NA", "box3", "Records removed for other reasons (could not be parsed)",
         "Records removed for other reasons", counts["excluded_other"]),
        ("records_screened", "node9", "box4", "Records screened (databases and registers)", "Records screened",
         counts["records_screened"]),
        ("records_excluded", "node10", "box5", "Records excluded (databases and registers)", "Records excluded",
         counts["records_excluded"]),
        ("dbr_sought_reports", "node11", "box6", "Reports sought for retrieval", "Reports sought for retrieval",
         counts["dbr_sought_reports"]),
        ("dbr_notretrieved_reports", "node12", "box7", "Reports not retrieved", "Reports not retrieved",
         counts["dbr_notretrieved_reports"]),
        ("dbr_assessed", "node13", "box8", "Reports assessed for eligibility", "Reports assessed for eligibility",
         counts["dbr_assessed"]),
        ("dbr_excluded", "node14", "box9", "Reports excluded (reasons)", "Reports excluded",
         f"awaiting decision (maybe), {counts['dbr_excluded']}" if counts["dbr_excluded"] else 0),
        ("new_studies", "node15", "box10", "New studies included in review", "New studies included in review",
         counts["new_studies"]),
        ("new_reports", "NA", "box10", "Reports of new included studies", "Reports of new included studies",
         counts["new_reports"]),
        ("total_studies", "node22", "box16", "Total studies included in review", "Total studies included in review",
         counts["total_studies"]),
        ("total_reports", "NA", "box16", "Reports of total included studies", "Reports of total included studies",
         counts["total_reports"]),
    ]
    table = pd.DataFrame(
        [(d, node, box, desc, text or desc, desc, f"{d}.html" if d != "NA" else "NA", n)
         for d, node, box, desc, text, n in rows],
        columns=list(PRISMA_COLUMNS),
    )
    return table


def _box_lines(counts: dict[str, Any]) -> dict[str, list[str]]:
    dbs = [f"  {db} (n = {n})" for db, n in counts["database_specific_results"].items()]
    removed = [
        "Records removed before screening:",
        f"  Duplicate records (n = {counts['duplicates']})",
        f"  Marked ineligible by automation tools (n = {counts['excluded_automatic']})",
        *[f"    {r}: {n}" for r, n in counts["excluded_automatic_reasons"].items()],
        f"  Removed for other reasons: unparsable (n = {counts['excluded_other']})",
    ]
    excluded = [f"Records excluded by reviewers (n = {counts['records_excluded']})"] + [
        f"  {r}: {n}" for r, n in counts["records_excluded_reasons"].items()
    ]
    screened = [f"Records screened (n = {counts['records_screened']})"]
    if counts["awaiting_screening"]:
        screened.append(f"Awaiting screening (n = {counts['awaiting_screening']})")
    return {
        "identified": ["Records identified from databases", f"(n = {counts['database_results']}):", *dbs],
        "removed": removed,
        "screened": screened,
        "excluded": excluded,
        "sought": [f"Reports sought for retrieval (n = {counts['dbr_sought_reports']})"],
        "notretrieved": [f"Reports not retrieved (n = {counts['dbr_notretrieved_reports']})"],
        "assessed": [f"Reports assessed for eligibility (n = {counts['dbr_assessed']})"],
        "assessed_excluded": [f"Reports excluded / awaiting (maybe) (n = {counts['dbr_excluded']})"],
        "included": [
            f"Studies included in review (n = {counts['new_studies']})",
            f"Reports of included studies (n = {counts['new_reports']})",
        ],
    }


def draw_prisma(counts: dict[str, Any], svg_path: str | Path | None = None, png_path: str | Path | None = None):
    """Draw the flow diagram; write SVG (text kept as text) and/or PNG, deterministically."""
    from matplotlib.patches import FancyBboxPatch

    from evreview.figures import figure_style, save_figure

    lines = _box_lines(counts)
    # (x, y, width) in axes units; heights follow the number of lines.
    layout = {
        "identified": (0.05, 0.93, 0.42),
        "removed": (0.53, 0.93, 0.44),
        "screened": (0.05, 0.62, 0.42),
        "excluded": (0.53, 0.62, 0.44),
        "sought": (0.05, 0.47, 0.42),
        "notretrieved": (0.53, 0.47, 0.44),
        "assessed": (0.05, 0.32, 0.42),
        "assessed_excluded": (0.53, 0.32, 0.44),
        "included": (0.05, 0.14, 0.42),
    }
    line_h = 0.022
    with figure_style() as plt:
        fig, ax = plt.subplots(figsize=(10, 11))
        ax.set_axis_off()
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        boxes = {}
        for key, (x, top, width) in layout.items():
            n_lines = max(len(lines[key]), 2)
            height = n_lines * line_h + 0.02
            y = top - height
            ax.add_patch(FancyBboxPatch((x, y), width, height, boxstyle="round,pad=0.004",
                                        fc="white", ec="black", lw=1))
            ax.text(x + 0.01, top - 0.012, "\n".join(lines[key]), va="top", ha="left", fontsize=8.5,
                    linespacing=1.45)
            boxes[key] = (x, y, width, height)

        def arrow(a: str, b: str, side: bool = False) -> None:
            ax_, ay, aw, ah = boxes[a]
            bx, by, _bw, bh = boxes[b]
            if side:
                start, end = (ax_ + aw, ay + ah / 2), (bx, ay + ah / 2)
            else:
                start, end = (ax_ + aw / 2, ay), (ax_ + aw / 2, by + bh)
            ax.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "->", "lw": 1})

        for a, b in (("identified", "screened"), ("screened", "sought"), ("sought", "assessed"),
                     ("assessed", "included")):
            arrow(a, b)
        for a, b in (("identified", "removed"), ("screened", "excluded"), ("sought", "notretrieved"),
                     ("assessed", "assessed_excluded")):
            arrow(a, b, side=True)
        for label, y in (("Identification", 0.8), ("Screening", 0.45), ("Included", 0.1)):
            ax.text(0.012, y, label, rotation=90, va="center", ha="center", fontsize=10, fontweight="bold",
                    color="#1f4e79")
        ax.set_title("PRISMA 2020 flow diagram", fontsize=12)
        save_figure(fig, svg_path, png_path, dpi=110)
