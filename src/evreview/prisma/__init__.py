"""PRISMA 2020 flow diagram, counted from the ledger.

The counts come only from :mod:`evreview.ledger`, so they reconcile with every other figure.
The CSV uses the layout of the PRISMA2020 R package's template (columns ``data, node, box,
description, boxtext, tooltips, url, n``, keyed by ``data``), so it can be loaded there as well;
the diagram itself is drawn here with matplotlib (SVG with real text, and PNG).

Mapping of ledger fates to boxes (new-review template, databases arm):

* identified = every record found in an export (parsed or not), per database, with the records
  of trial registers (:data:`evreview.records.REGISTERS`) counted apart as PRISMA 2020 asks;
* removed before screening: ``duplicates`` (fate duplicate), ``excluded_automatic`` (rule and
  model exclusions: automation tools), ``excluded_other`` (records that could not be parsed);
* ``records_screened`` = the rest that a reviewer has decided on; records still awaiting
  screening (undecided) are shown in a note, not hidden;
* ``records_excluded`` = excluded by reviewers; reports assessed = included + maybe (no
  separate full-text stage is tracked, so ``dbr_excluded`` is 0);
* ``awaiting_classification`` = the maybes: assessed, not yet decided (PRISMA 2020's "studies
  awaiting classification"; a row of its own in the CSV, a line in the diagram's box beside
  "Reports assessed"). They were counted in ``dbr_excluded``, so the CSV called them excluded;
* ``new_studies`` = included studies.

Every record identified ends in exactly one box (:func:`check_reconciles` checks each step).

Updated reviews (more than one search round, or ``template="updated"``): the PRISMA 2020
template for updated reviews. The latest round is the new search; the boxes above count its
records only, a re-found study of an earlier round being a duplicate removed before screening.
``previous_studies``/``previous_reports`` ("Studies included in previous version of review")
are the included studies first found in an earlier round, ``total_studies`` = previous + new.
There is no saved earlier run: "previous" is recomputed from the ledger's rounds, and a
previous study's inclusion is its current one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from evreview.ledger import as_text, database_names, fate_counts, ordered_rounds, study_fates, study_first_round
from evreview.records import is_register

PRISMA_COLUMNS = ("data", "node", "box", "description", "boxtext", "tooltips", "url", "n")
#: ``new``: PRISMA 2020 for new reviews; ``updated``: for updated reviews; ``auto``: updated when 2+ rounds.
TEMPLATES = ("auto", "new", "updated")


def _flow_counts(ledger: pd.DataFrame) -> dict[str, Any]:
    """The identification-to-inclusion boxes for the records of ``ledger`` (one arm of the flow)."""
    fates = fate_counts(ledger)
    per_source = Counter(database_names(ledger))
    per_db = {name: n for name, n in per_source.items() if not is_register(name)}
    per_register = {name: n for name, n in per_source.items() if is_register(name)}
    auto = ledger[ledger["fate"].isin(["excluded_automation", "excluded_machine"])]
    auto_reasons = Counter(
        (r or "unspecified") if f == "excluded_automation" else "model below threshold"
        for r, f in zip(as_text(auto["screen_reason"]), auto["fate"])
    )
    reviewer = ledger[ledger["fate"] == "excluded_reviewer"]
    reviewer_reasons = Counter(r or "unspecified" for r in as_text(reviewer["screen_reason"]))
    excluded_automatic = fates["excluded_automation"] + fates["excluded_machine"]
    # the ranker's inclusions (config screening.model.machine_include_above): no reviewer saw
    # them, which the boxes must say, as they say the ranker's exclusions ("automation tools")
    included = ledger[ledger["fate"] == "included"]
    by_machine = (int((as_text(included["screen_decided_by"]) == "machine").sum())
                  if "screen_decided_by" in ledger else 0)
    screened = fates["excluded_reviewer"] + fates["maybe"] + fates["included"]
    counts: dict[str, Any] = {
        "database_results": sum(per_db.values()),
        "database_specific_results": dict(sorted(per_db.items())),
        "register_results": sum(per_register.values()),
        "register_specific_results": dict(sorted(per_register.items())),
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
        "dbr_excluded": 0,
        "awaiting_classification": fates["maybe"],
        "new_studies": fates["included"],
        "new_reports": int(ledger.loc[ledger["fate"] == "included", "study_id"].nunique()),
        "new_studies_included_by_machine": by_machine,
    }
    return counts


def prisma_counts(
    ledger: pd.DataFrame, *, order: Sequence[str] | None = None, template: str = "auto"
) -> dict[str, Any]:
    """Every PRISMA box's count, plus per-database and per-reason breakdowns.

    ``template`` is ``new`` (one flow over every record), ``updated`` (the PRISMA 2020 template
    for updated reviews) or ``auto`` (``updated`` when the ledger holds more than one search
    round). ``order`` lists the rounds from earliest to latest (:func:`evreview.rounds.round_order`;
    by name when not given).

    Updated template: the latest round's records are the new search. A study with a record in
    an earlier round is a *previous* study; its records in the latest round are counted as
    duplicates removed before screening (``duplicates_of_previous``), whichever member dedup
    keeps. ``previous_studies`` are the previous studies included now (their current state: no
    earlier run's output is read), ``new_studies`` the included studies first found in the
    latest round, ``total_studies`` both. ``previous_records`` (records of earlier rounds) plus
    ``database_results`` and ``register_results`` is every ledger row.
    """
    if template not in TEMPLATES:
        raise ValueError(f"template must be one of {', '.join(TEMPLATES)}, not {template!r}")
    order = ordered_rounds(ledger, order)  # a latest round that found nothing stays the latest
    if template == "auto":
        template = "updated" if len(order) > 1 else "new"
    if template == "new":
        counts = _flow_counts(ledger)
        counts["template"] = "new"
        counts["rounds"] = order
        counts["total_studies"] = counts["new_studies"]
        counts["total_reports"] = counts["new_reports"]
        return counts

    latest = order[-1] if order else ""
    first = study_first_round(ledger, order)
    fates = study_fates(ledger)
    previous = set(first.index[first != latest])
    latest_rows = ledger[as_text(ledger["search"]) == latest].copy()
    of_previous = (latest_rows["fate"] != "unparsed") & as_text(latest_rows["study_id"]).isin(previous)
    latest_rows.loc[of_previous, "fate"] = "duplicate"
    counts = _flow_counts(latest_rows)
    included_previous = _studies_with_fate(fates, previous, ("included",))
    # earlier rounds' studies no reviewer has finished with: a previous version of the review
    # is finished, but a run between rounds may not be, and these studies were in no box
    awaiting_previous = len(_studies_with_fate(fates, previous, ("undecided", "maybe")))
    counts.update(
        {
            "template": "updated",
            "previous_studies_awaiting": int(awaiting_previous),
            "rounds": order,
            "latest_round": latest,
            "previous_rounds": order[:-1],
            "previous_records": int(len(ledger) - len(latest_rows)),
            "previous_studies": len(included_previous),
            "previous_reports": len(included_previous),
            "duplicates_of_previous": int(of_previous.sum()),
        }
    )
    counts["total_studies"] = counts["previous_studies"] + counts["new_studies"]
    counts["total_reports"] = counts["previous_reports"] + counts["new_reports"]
    return counts


def _studies_with_fate(fates: pd.Series, studies: set[str], wanted: tuple[str, ...]) -> list[str]:
    """The ``studies`` whose fate (:func:`study_fates`) is one of ``wanted``, sorted."""
    if fates.index.is_unique:  # one set operation, not a Series.get per study (seconds at 100k studies)
        return sorted(studies & set(fates.index[fates.isin(wanted).to_numpy()]))
    return sorted(s for s in studies if fates.get(s) in wanted)


def _require(ok: bool, message: str) -> None:
    """Raise AssertionError unless ``ok`` (an explicit raise: ``python -O`` must not skip it)."""
    if not ok:
        raise AssertionError(message)


def check_reconciles(counts: dict[str, Any], ledger: pd.DataFrame | None = None) -> None:
    """Raise ``AssertionError`` unless the boxes add up: what enters each box leaves it into the
    next ones (identified = removed + screened + awaiting screening; screened = excluded +
    sought; sought = not retrieved + assessed; assessed = excluded + awaiting classification +
    included), so every record identified ends in exactly one box.

    With the ``ledger`` the counts came from, also check them against it: every record in one
    box, and the total of included studies equal to the ledger's.
    """
    removed = counts["duplicates"] + counts["excluded_automatic"] + counts["excluded_other"]
    total = removed + counts["records_screened"] + counts["awaiting_screening"]
    identified = counts["database_results"] + counts["register_results"]
    _require(total == identified, f"PRISMA boxes add to {total}, not {identified}")
    _require(sum(counts["database_specific_results"].values()) == counts["database_results"],
             "per-database records do not add up to the records identified")
    _require(sum(counts.get("register_specific_results", {}).values()) == counts["register_results"],
             "per-register records do not add up to the records identified in registers")
    _require(counts["records_screened"] - counts["records_excluded"] == counts["dbr_sought_reports"],
             "screened - excluded != reports sought")
    _require(counts["dbr_sought_reports"] - counts["dbr_notretrieved_reports"] == counts["dbr_assessed"],
             "sought - not retrieved != reports assessed")
    _require(counts["dbr_assessed"] - counts["dbr_excluded"] - counts["awaiting_classification"]
             == counts["new_studies"], "assessed - excluded - awaiting classification != new studies")
    previous = counts.get("previous_studies", 0)
    _require(counts["total_studies"] == previous + counts["new_studies"], "total != previous + new studies")
    if counts.get("template") == "updated":
        _require(counts["duplicates_of_previous"] <= counts["duplicates"], "duplicates of previous > duplicates")
    if ledger is not None:
        _require(counts.get("previous_records", 0) + identified == len(ledger),
                 f"PRISMA counts {counts.get('previous_records', 0) + identified} records, "
                 f"the ledger {len(ledger)}")
        included = int((study_fates(ledger) == "included").sum())
        _require(counts["total_studies"] == included,
                 f"PRISMA total studies {counts['total_studies']}, the ledger includes {included}")


def _reasons_text(reasons: dict[str, int]) -> str:
    return "; ".join(f"{reason}, {n}" for reason, n in reasons.items())


def prisma_table(counts: dict[str, Any]) -> pd.DataFrame:
    """The counts in the PRISMA2020 package's template layout (one row per ``data`` key)."""
    previous_rows = []
    if counts.get("template") == "updated":
        previous_rows = [
            ("NA", "node4", "prevstud", "Previous studies", "", 0),
            ("previous_studies", "node5", "box1", "Studies included in previous version of review",
             "", counts["previous_studies"]),
            ("previous_reports", "NA", "box1", "Reports of studies included in previous version of review",
             "", counts["previous_reports"]),
            # not in the PRISMA2020 package's template: earlier searches' studies not yet decided
            ("previous_studies_awaiting", "NA", "box1", "Studies of previous searches still awaiting screening",
             "", counts.get("previous_studies_awaiting", 0)),
        ]
    rows = [
        *previous_rows,
        ("NA", "node6", "newstud", "Identification of new studies via databases and registers", "", 0),
        ("database_results", "node7", "box2", "Records identified from: Databases", "Databases",
         counts["database_results"]),
        ("database_specific_results", "NA", "box2", "Records identified per database", "",
         _reasons_text(counts["database_specific_results"])),
        ("register_results", "NA", "box2", "Records identified from: Registers", "Registers",
         counts["register_results"]),
        ("register_specific_results", "NA", "box2", "Records identified per register", "",
         _reasons_text(counts.get("register_specific_results", {}))),
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
         counts["dbr_excluded"]),
        # not in the PRISMA2020 package's template (it reads the rows it knows): PRISMA 2020's
        # "studies awaiting classification", drawn in the box beside the reports assessed
        ("awaiting_classification", "NA", "box9", "Studies awaiting classification (reviewer's maybe)",
         "Studies awaiting classification", counts["awaiting_classification"]),
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


#: What each eligibility rule's reason code (:data:`evreview.screen.rules.REASONS`) means, as
#: the diagram says it; the counts keep the codes, which the screening table and config use.
RULE_REASON_LABELS = {
    "year": "publication year outside the range",
    "language": "language not eligible",
    "doc_type": "document type not eligible",
    "required_terms": "required terms absent",
    "excluded_terms": "excluded terms present",
}


def _box_lines(counts: dict[str, Any]) -> dict[str, list[str]]:
    updated = counts.get("template") == "updated"
    dbs = [f"  {db} (n = {n})" for db, n in counts["database_specific_results"].items()]
    if counts.get("register_results"):  # PRISMA 2020: "Records identified from: Databases (n) Registers (n)"
        dbs += [f"Records identified from registers (n = {counts['register_results']}):",
                *[f"  {name} (n = {n})" for name, n in counts["register_specific_results"].items()]]
    duplicates = [f"  Duplicate records (n = {counts['duplicates']})"]
    if updated:
        duplicates.append(f"    of studies found in earlier searches: {counts['duplicates_of_previous']}")
    removed = [
        "Records removed before screening:",
        *duplicates,
        f"  Marked ineligible by automation tools (n = {counts['excluded_automatic']})",
        *[f"    {RULE_REASON_LABELS.get(r, r)}: {n}" for r, n in counts["excluded_automatic_reasons"].items()],
        f"  Removed for other reasons: unparsable (n = {counts['excluded_other']})",
    ]
    excluded = [f"Records excluded by reviewers (n = {counts['records_excluded']})"] + [
        f"  {r}: {n}" for r, n in counts["records_excluded_reasons"].items()
    ]
    screened = [f"Records screened (n = {counts['records_screened']})"]
    assessed_excluded = [f"Reports excluded (n = {counts['dbr_excluded']})"]
    if counts["awaiting_classification"]:
        assessed_excluded.append(f"Studies awaiting classification (maybe) (n = {counts['awaiting_classification']})")
    if counts["awaiting_screening"]:
        screened.append(f"Awaiting screening (n = {counts['awaiting_screening']})")
    by_machine = counts.get("new_studies_included_by_machine", 0)
    if by_machine:
        screened.insert(1, f"  of which decided by the ranker, not a reviewer (n = {by_machine})")
    machine = [f"  of which included by the ranker, not a reviewer (n = {by_machine})"] if by_machine else []
    if updated:
        identified = ["Records identified from databases", f"in search {counts['latest_round']}",
                      f"(n = {counts['database_results']}):", *dbs]
        included = [
            f"New studies included in review (n = {counts['new_studies']})",
            *machine,
            f"Reports of new included studies (n = {counts['new_reports']})",
        ]
    else:
        identified = ["Records identified from databases", f"(n = {counts['database_results']}):", *dbs]
        included = [
            f"Studies included in review (n = {counts['new_studies']})",
            *machine,
            f"Reports of included studies (n = {counts['new_reports']})",
        ]
    lines = {
        "identified": identified,
        "removed": removed,
        "screened": screened,
        "excluded": excluded,
        "sought": [f"Reports sought for retrieval (n = {counts['dbr_sought_reports']})"],
        "notretrieved": [f"Reports not retrieved (n = {counts['dbr_notretrieved_reports']})"],
        "assessed": [f"Reports assessed for eligibility (n = {counts['dbr_assessed']})"],
        "assessed_excluded": assessed_excluded,
        "included": included,
    }
    if updated:
        rounds = ", ".join(counts["previous_rounds"]) or "none"
        lines["previous"] = [
            "Studies included in previous",
            f"version of review (n = {counts['previous_studies']})",
            "Reports of studies included",
            "in previous version of review",
            f"(n = {counts['previous_reports']})",
            f"Searches: {rounds}",
        ]
        if counts.get("previous_studies_awaiting"):
            lines["previous"][-1:-1] = [
                "Studies of previous searches",
                f"still awaiting screening (n = {counts['previous_studies_awaiting']})",
            ]
        lines["total"] = [
            f"Total studies included in review (n = {counts['total_studies']})",
            f"Reports of total included studies (n = {counts['total_reports']})",
        ]
    return lines


#: Columns (x, width) in inches of each box, and the rows the boxes stack in, top to bottom.
#: Heights are not fixed: a box is as tall as its text, and a row as tall as its tallest box,
#: so a search of many databases (Ovid exports name one per segment) or many exclusion
#: reasons pushes the rows below down instead of running into them.
_COLUMNS_NEW = {"main": (0.5, 4.2), "side": (5.3, 4.4)}
_ROWS_NEW = (
    (("identified", "main"), ("removed", "side")),
    (("screened", "main"), ("excluded", "side")),
    (("sought", "main"), ("notretrieved", "side")),
    (("assessed", "main"), ("assessed_excluded", "side")),
    (("included", "main"),),
)
_COLUMNS_UPDATED = {"previous": (0.5, 2.9), "main": (3.9, 4.2), "side": (8.6, 4.2), "total": (3.9, 5.2)}
_ROWS_UPDATED = (*_ROWS_NEW, (("total", "total"),))
#: Inches: figure width per template, text line height (8.5 pt at 1.45 spacing), box padding,
#: gap between rows, margins above (title and headings) and below.
_WIDTH = {"new": 10.0, "updated": 13.0}
_LINE_H = 0.175
_PAD = 0.2
_GAP = 0.4
_TOP = {"new": 0.9, "updated": 1.3}
_BOTTOM = 0.3
#: Room between a box's edges and its text, left and right together (inches).
_TEXT_MARGIN = 0.25


def text_width_inches(size: float = 8.5) -> Callable[[str], float]:
    """A function giving the printed width of a line, in inches, in the figures' font (as plain text, no maths)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    from evreview.figures import FONT_FAMILY

    prop, ttp = FontProperties(family=FONT_FAMILY, size=size), TextToPath()
    return lambda text: ttp.get_text_width_height_descent(text, prop, ismath=False)[0] / 72


def _wrap(lines: list[str], width_in: float, measure: Callable[[str], float]) -> list[str]:
    """Lines wrapped by printed width to fit ``width_in`` inches, continuations indented under their line.

    A word wider than the box on its own (a long name without spaces) is cut between characters.
    """
    room = width_in - _TEXT_MARGIN
    out: list[str] = []
    for line in lines:
        words = line.split()
        if not words or measure(line) <= room:
            out.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip(" "))]
        current = indent
        for word in words:
            candidate = f"{current} {word}" if current.strip() else current + word
            if measure(candidate) <= room:
                current = candidate
                continue
            if current.strip():
                out.append(current)
                current = f"{indent}  "
            for char in word:  # the word alone may still be too wide: cut it
                if current.strip() and measure(current + char) > room:
                    out.append(current)
                    current = f"{indent}  "
                current += char
        out.append(current)
    return out


def prisma_layout(
    lines: dict[str, list[str]], updated: bool, measure: Callable[[str], float]
) -> tuple[dict[str, tuple[float, float, float, float]], dict[str, list[str]], tuple[float, float]]:
    """Box geometry for the diagram: ``(boxes, wrapped lines, (width, height))``, in inches.

    ``boxes[key]`` is ``(x, y, width, height)`` with ``y`` the bottom edge; ``measure`` gives a
    line's printed width in inches (:func:`text_width_inches`), so lines wrap where they
    would leave their box.
    """
    template = "updated" if updated else "new"
    columns = _COLUMNS_UPDATED if updated else _COLUMNS_NEW
    rows = _ROWS_UPDATED if updated else _ROWS_NEW
    wrapped = {key: _wrap(lines[key], columns[col][1], measure) for row in rows for key, col in row}
    heights = {key: max(len(text), 2) * _LINE_H + _PAD for key, text in wrapped.items()}
    tops, top = [], 0.0
    for row in rows:
        tops.append(top)
        top += max(heights[key] for key, _ in row) + _GAP
    if updated:
        wrapped["previous"] = _wrap(lines["previous"], columns["previous"][1], measure)
        heights["previous"] = max(len(wrapped["previous"]), 2) * _LINE_H + _PAD
    content = max(top - _GAP, heights.get("previous", 0.0))
    height = _TOP[template] + content + _BOTTOM
    boxes = {}
    for row, row_top in zip(rows, tops):
        for key, col in row:
            x, w = columns[col]
            boxes[key] = (x, height - _TOP[template] - row_top - heights[key], w, heights[key])
    if updated:
        x, w = columns["previous"]
        boxes["previous"] = (x, height - _TOP[template] - heights["previous"], w, heights["previous"])
    return boxes, wrapped, (_WIDTH[template], height)


def draw_prisma(counts: dict[str, Any], svg_path: str | Path | None = None, png_path: str | Path | None = None):
    """Draw the flow diagram; write SVG (text kept as text) and/or PNG, deterministically.

    Draws the updated-review template (a "Previous studies" column and a total box) when the
    counts are for it (``counts["template"] == "updated"``), the new-review one otherwise.
    """
    from evreview.figures import figure_style, save_figure

    with figure_style() as plt:
        save_figure(prisma_figure(counts, plt), svg_path, png_path, dpi=110)


def prisma_figure(counts: dict[str, Any], plt: Any) -> Any:
    """The diagram as a matplotlib figure, as tall as its boxes need (:func:`prisma_layout`).

    Each box patch has the gid ``box-<key>`` and its text ``text-<key>``, so a test can check
    on the rendered figure that every text stays inside its box.
    """
    from matplotlib.patches import FancyBboxPatch

    updated = counts.get("template") == "updated"
    boxes, lines, (fig_w, fig_h) = prisma_layout(_box_lines(counts), updated, text_width_inches())
    fig = plt.figure(figsize=(fig_w, fig_h))
    ax = fig.add_axes((0, 0, 1, 1))  # one axes unit = one inch
    ax.set_axis_off()
    ax.set_xlim(0, fig_w)
    ax.set_ylim(0, fig_h)
    for key, (x, y, width, height) in boxes.items():
        ax.add_patch(FancyBboxPatch((x, y), width, height, boxstyle="round,pad=0.04",
                                    fc="white", ec="black", lw=1, gid=f"box-{key}"))
        # parse_math=False: a "$" in a database name or reason is text, as the layout measured it
        ax.text(x + 0.1, y + height - _PAD / 2, "\n".join(lines[key]), va="top", ha="left", fontsize=8.5,
                linespacing=1.45, gid=f"text-{key}", parse_math=False)

    def arrow(a: str, b: str, side: bool = False) -> None:
        ax_, ay, aw, ah = boxes[a]
        bx, by, _bw, bh = boxes[b]
        if side:  # both boxes start at the row's top: aim at the middle of the shorter one
            mid = ay + ah - min(ah, bh) / 2
            start, end = (ax_ + aw, mid), (bx, mid)
        else:
            start, end = (ax_ + aw / 2, ay), (ax_ + aw / 2, by + bh)
        ax.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "->", "lw": 1})

    for a, b in (("identified", "screened"), ("screened", "sought"), ("sought", "assessed"),
                 ("assessed", "included")):
        arrow(a, b)
    for a, b in (("identified", "removed"), ("screened", "excluded"), ("sought", "notretrieved"),
                 ("assessed", "assessed_excluded")):
        arrow(a, b, side=True)
    if updated:
        arrow("included", "total")
        px, py, pw, _ph = boxes["previous"]
        tx, ty, _tw, th = boxes["total"]
        ax.annotate("", xy=(tx, ty + th / 2), xytext=(px + pw / 2, py),
                    arrowprops={"arrowstyle": "->", "lw": 1, "connectionstyle": "angle,angleA=-90,angleB=180"})
        main_x = _COLUMNS_UPDATED["main"][0]
        side_x, side_w = _COLUMNS_UPDATED["side"]
        for text, x, width, colour in (("Previous studies", px, pw, "#f2f2f2"),
                                       ("Identification of new studies via databases and registers", main_x,
                                        side_x + side_w - main_x, "#fff2b3")):
            ax.text(x + width / 2, fig_h - 0.85, text, ha="center", va="center", fontsize=9.5, fontweight="bold",
                    bbox={"boxstyle": "round,pad=0.3", "fc": colour, "ec": "black"})
    # stage labels beside the rows they name: identification, screening (rows 2-4), included (the rest)
    stages = (("Identification", ("identified",)), ("Screening", ("screened", "assessed")),
              ("Included", ("included", "total") if updated else ("included",)))
    for label, keys in stages:
        top = max(boxes[k][1] + boxes[k][3] for k in keys)
        bottom = min(boxes[k][1] for k in keys)
        ax.text(0.2, (top + bottom) / 2, label, rotation=90, va="center", ha="center", fontsize=10,
                fontweight="bold", color="#1f4e79")
    title = "PRISMA 2020 flow diagram for updated systematic reviews" if updated else "PRISMA 2020 flow diagram"
    ax.text(fig_w / 2, fig_h - 0.4, title, ha="center", va="center", fontsize=12)
    return fig
