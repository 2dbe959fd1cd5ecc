"""The run report: one self-contained HTML page summarising a run, from the ledger outward.

Inputs (with dates and hashes), counts per stage, deduplication, screening progress and the
stopping estimate, topics, the evidence-gap map and its gaps. Every number that also appears
in the PRISMA diagram is computed from the same ledger. The page has no script at all, every
text is escaped, and images are inlined as data URIs, so it opens offline anywhere.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from evreview import __version__
from evreview.ledger import FATES, database_names, fate_counts
from evreview.provenance import html_meta, sha256_file


@dataclass
class ReportInputs:
    """What the report shows; every part but the ledger is optional (stage not run yet).

    ``rounds``: :func:`evreview.rounds.load_rounds`'s table (listed under Inputs; without it
    the config's ``searches`` are listed); ``changes``: ``changes.json`` from
    ``evreview changes`` (the "What changed" section; ``changes_md`` is the fallback).
    """

    title: str
    ledger: pd.DataFrame
    ingest_report: pd.DataFrame | None = None
    searches: dict[str, dict[str, str]] = field(default_factory=dict)
    input_files: Sequence[Path] = ()
    config_hash: str = ""
    prisma_png: Path | None = None
    map_png: Path | None = None
    map_html_name: str | None = None
    gaps_md: str | None = None
    stopping: dict[str, Any] | None = None
    screening_summary: dict[str, Any] | None = None
    dedup_summary: dict[str, Any] | None = None
    topics: pd.DataFrame | None = None
    #: reviewers' code decisions on studies the run did not code (``unmatched_decisions.csv``)
    unmatched_decisions: pd.DataFrame | None = None
    changes_md: str | None = None
    rounds: pd.DataFrame | None = None
    changes: dict[str, Any] | None = None
    extra_sections: list[tuple[str, str]] = field(default_factory=list)


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _table(frame: pd.DataFrame, max_rows: int = 200) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>"
        for row in frame.head(max_rows).itertuples(index=False)
    )
    more = f"<p class=note>{len(frame) - max_rows} more rows not shown.</p>" if len(frame) > max_rows else ""
    return f"<table><tr>{head}</tr>{body}</table>{more}"


def _img(path: Path | None, alt: str) -> str:
    if path is None or not Path(path).exists():
        return f"<p class=note>{_e(alt)}: not produced in this run.</p>"
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _markdown_list(md: str) -> str:
    """Render the small Markdown subset our gap/change reports use (headings, bullets, text)."""
    out = []
    in_list = False
    for line in md.splitlines():
        if line.startswith("- "):
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{_e(line[2:])}</li>")
            continue
        if in_list:
            out.append("</ul>")
            in_list = False
        if line.startswith("#"):
            level = min(len(line) - len(line.lstrip("#")) + 2, 5)
            out.append(f"<h{level}>{_e(line.lstrip('#').strip())}</h{level}>")
        elif line.strip():
            out.append(f"<p>{_e(line)}</p>")
    if in_list:
        out.append("</ul>")
    return "\n".join(out)


def _value(value: Any) -> str:
    """A value as HTML: a mapping as a nested table, a list of mappings as rows, other lists comma-joined.

    Missing values (None) read "n/a"; anything nested deeper is shown as JSON text.
    """
    if value is None:
        return "<span class=note>n/a</span>"
    if isinstance(value, dict):
        return _kv(value) if value else "<span class=note>none</span>"
    if isinstance(value, (list, tuple)):
        if not value:
            return "<span class=note>none</span>"
        if all(isinstance(v, dict) for v in value):
            keys = list(dict.fromkeys(k for v in value for k in v))
            head = "".join(f"<th>{_e(k)}</th>" for k in keys)
            body = "".join("<tr>" + "".join(f"<td>{_value(v.get(k))}</td>" for k in keys) + "</tr>" for v in value)
            return f"<table><tr>{head}</tr>{body}</table>"
        if any(isinstance(v, (dict, list, tuple)) for v in value):
            return _e(json.dumps(value, sort_keys=True, default=str))
        return _e(", ".join(str(v) for v in value))
    return _e(value)


def _kv(data: dict[str, Any]) -> str:
    """Key/value table; nested mappings and lists stay readable (not JSON text)."""
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_value(v)}</td></tr>" for k, v in data.items())
    return f"<table class=kv>{rows}</table>"


def _number(value: Any, default: float) -> float:
    """``value`` as a float; ``default`` when it is missing or not a number (an edited or older file)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def stopping_html(summary: dict[str, Any]) -> str:
    """The stopping estimate in words (screened, found, recall, what the test says), then its details.

    ``summary`` is the screen stage's ``stopping.json`` (``stopping`` and ``agreement``; an
    older flat stopping mapping is shown as its details only). Missing or null values never
    fail the report: the sentence needs ``n_screened``, ``n_total`` and ``stop``, else only
    the details are shown.
    """
    stopping = summary["stopping"] if isinstance(summary.get("stopping"), dict) else summary
    out = ""
    worded = all(isinstance(stopping.get(k), (int, float)) for k in ("n_screened", "n_total", "stop"))
    if worded:
        n, total = int(stopping["n_screened"]), int(stopping["n_total"])
        found = int(_number(stopping.get("relevant_found"), 0))
        target = _number((stopping.get("parameters") or {}).get("recall_target"), 0.95)
        if total == 0:
            verdict = "No study is waiting for screening."
        elif n == 0:
            verdict = "No study has been screened yet, so there is no estimate: screen from the top of the worklist."
        elif stopping["stop"]:
            verdict = (f"The stopping test says screening can stop: recall of at least {target:.0%} is reached "
                       f"with the stated confidence (p = {_number(stopping.get('p_value'), 0):.3g}).")
        else:
            verdict = (f"Keep screening: the test cannot yet rule out recall below {target:.0%} "
                       f"(p = {_number(stopping.get('p_value'), 1):.3g}).")
        unseen = stopping.get("upper_bound_relevant_unseen")
        bound = f"; at most {unseen} relevant studies may still be unseen" if unseen is not None and n else ""
        # the test's own count: studies with a consensus include or exclude among those the rules
        # leave; "Screened" alone read as PRISMA's records screened (maybes and conflicts too)
        out += (f"<p>Screened {n:,} of {total:,} studies (included or excluded by consensus, of those the "
                f"eligibility rules leave; maybes and conflicts not counted); {found:,} relevant found{bound}. "
                f"{_e(verdict)}</p>")
        said = [f"{label}: {_e(stopping[key])}." for key, label in (("method", "Method"), ("assumptions", "Assumes"))
                if stopping.get(key)]
        if said:
            out += f"<p class=note>{' '.join(said)}</p>"
    agreement = summary.get("agreement") if "stopping" in summary else None
    if agreement is not None:
        rows = [{"reviewers": " / ".join(a.get("reviewers") or []), "n_common": a.get("n_common"),
                 "n_agree": a.get("n_agree"), "kappa": "n/a" if a.get("kappa") is None else a["kappa"]}
                for a in agreement]
        out += "<h4>Agreement between reviewers</h4>" + (
            _rows(rows, {"reviewers": "reviewers", "n_common": "studies both decided", "n_agree": "agreed",
                         "kappa": "Cohen's kappa"})
            if rows else "<p class=note>fewer than two reviewers: no agreement to report</p>"
        )
    shown = ("assumptions", "method") if worded else ()
    details = {k: v for k, v in stopping.items() if k not in shown}
    return out + "<details><summary>Details</summary>" + _kv(details) + "</details>"


def rounds_table(rounds: pd.DataFrame, ledger: pd.DataFrame) -> pd.DataFrame:
    """The search rounds with their dates, where each date came from, files and records (ledger)."""
    per_round = ledger["search"].astype(str).value_counts()
    return pd.DataFrame(
        {
            "round": rounds["round"],
            "date": [d or "unknown" for d in rounds["date"]],
            "date from": rounds["date_source"],
            "description": rounds["description"],
            "files": ["; ".join(f) if len(f) else "(no folder)" for f in rounds["files"]],
            "records": [int(per_round.get(r, 0)) for r in rounds["round"]],
        }
    )


def _rows(items: Sequence[dict[str, Any]], columns: dict[str, str], max_rows: int = 60) -> str:
    """A table of ``items`` (JSON rows) with ``columns`` (key -> heading); a note when empty."""
    if not items:
        return "<p class=note>none</p>"
    frame = pd.DataFrame([{head: item.get(key, "") for key, head in columns.items()} for item in items])
    return _table(frame, max_rows=max_rows)


def changes_html(changes: dict[str, Any]) -> str:
    """The "What changed" section from ``changes.json`` (:func:`evreview.changes.compute_changes`)."""
    from evreview.changes import SUMMARY_LABELS

    if changes.get("status") != "compared":
        return f"<p>{_e(changes.get('message', 'first round: nothing to compare'))}</p>"
    summary = changes["summary"]
    parts = [
        f"<p>Latest search round <b>{_e(changes['latest_round'])}</b> compared with "
        f"{_e(', '.join(changes['previous_rounds']))}.</p><p class=note>{_e(changes['assumption'])}</p>",
        _kv({label: summary[key] for key, label in SUMMARY_LABELS if key in summary}),
        "<h3>New records per database</h3>",
        _rows(changes["new_records_by_database"], {"database": "database", "records": "records",
              "of_earlier_studies": "of studies found earlier", "of_new_studies": "of new studies",
              "unparsed": "unparsable"}),
        "<h3>New inclusions</h3>",
        _rows([r for r in changes["new_studies"] if r.get("fate") == "included"],
              {"study_id": "study", "title": "title", "year": "year"}),
    ]
    if "map" in changes:
        m = changes["map"]
        cell_cols = {"row_label": "row", "column_label": "column", "n_before": "before", "n_after": "now"}
        gap_cols = {"kind": "kind", "description": "gap"}
        parts += [
            "<h3>Evidence-gap map cells that changed</h3>",
            _rows([c for c in m["cells_changed"] if c["segment"] == ""], cell_cols),
            "<h3>Gaps closed</h3>", _rows(m["gaps_closed"], gap_cols),
            "<h3>Gaps opened</h3>", _rows(m["gaps_opened"], gap_cols),
        ]
        for key, heading in (("empty_combinations_closed", "Empty combinations filled"),
                             ("empty_combinations_opened", "Empty combinations opened")):
            if m.get(key):
                combos = [{**g, "combination": f"{g['label_a']} x {g['label_b']}"} for g in m[key]]
                parts += [f"<h3>{heading}</h3>",
                          _rows(combos, {"combination": "combination", "n_studies_before": "before",
                                         "n_studies": "now"})]
    return "".join(parts)


def unmatched_html(unmatched: pd.DataFrame) -> str:
    """Code decisions (``codes.csv``) about studies that are not coded, e.g. excluded since.

    Why here: the code step sets them aside (the study is on no map), and they were listed only
    in ``unmatched_decisions.csv`` and the code log, so a reviewer's decision silently had no effect.
    """
    if unmatched.empty:
        # also said with no codes.csv at all: it claims nothing about decisions that may not exist
        return "<p>None: no reviewer's code decision was set aside.</p>"
    n = len(unmatched)
    cols = [c for c in ("line", "study_id", "dimension", "code", "action", "reviewer", "timestamp", "reason")
            if c in unmatched.columns]
    return (f"<p>{n} decision{'' if n == 1 else 's'} of the code decisions file "
            f"{'is' if n == 1 else 'are'} about studies this run did not code, so "
            f"{'it has' if n == 1 else 'they have'} no effect on the map:</p>" + _table(unmatched[cols]))


def render_report(inputs: ReportInputs) -> str:
    """The report page (deterministic: no clock, sorted inputs)."""
    ledger = inputs.ledger
    counts = fate_counts(ledger)
    sections: list[tuple[str, str]] = []

    files = sorted(Path(p) for p in inputs.input_files)
    inputs_html = ""
    if inputs.rounds is not None and len(inputs.rounds):
        inputs_html += "<h3>Search rounds</h3>" + _table(rounds_table(inputs.rounds, ledger))
    elif inputs.searches:
        inputs_html += "<ul>" + "".join(
            f"<li>{_e(name)}: {_e(meta.get('date', 'date unknown'))} {_e(meta.get('description', ''))}</li>"
            for name, meta in sorted(inputs.searches.items())
        ) + "</ul>"
    if files:
        inv = pd.DataFrame(
            [{"file": p.as_posix(), "bytes": p.stat().st_size, "sha256": sha256_file(p)[:16]} for p in files]
        )
        if inputs.ingest_report is not None and len(inputs.ingest_report):
            rep = inputs.ingest_report.rename(columns={"source_file": "file"})
            keep = [c for c in ("file", "search", "source_format", "source_database", "found", "parsed", "failed")
                    if c in rep.columns]
            inv = inv.merge(rep[keep], on="file", how="left")
        inputs_html += "<h3>Files</h3>" + _table(inv)
    if inputs_html:
        sections.append(("Inputs", inputs_html))

    stage_rows = pd.DataFrame(
        [{"fate": f, "records": counts[f]} for f in FATES] + [{"fate": "total", "records": len(ledger)}]
    )
    per_db = (
        ledger.assign(source_database=database_names(ledger))
        .pivot_table(index="source_database", columns="fate", values="record_id", aggfunc="count", fill_value=0)
        .reset_index()
    )
    counts_html = _table(stage_rows) + "<h3>Per database</h3>" + _table(per_db)
    sections.append(("Counts per stage (from the ledger)", counts_html))
    if inputs.changes is not None:
        sections.append(("What changed since the previous round", changes_html(inputs.changes)))
    elif inputs.changes_md:
        sections.append(("What changed since the previous round", _markdown_list(inputs.changes_md)))
    sections.append(("PRISMA 2020 flow diagram", _img(inputs.prisma_png, "PRISMA 2020 flow diagram")))
    if inputs.dedup_summary:
        sections.append(("Deduplication", _kv(inputs.dedup_summary)))
    if inputs.screening_summary or inputs.stopping:
        body = _kv(inputs.screening_summary or {})
        if inputs.stopping:
            body += "<h3>Stopping estimate</h3>" + stopping_html(inputs.stopping)
        sections.append(("Screening", body))
    if inputs.topics is not None and len(inputs.topics):
        sections.append(("Topics", _table(inputs.topics, max_rows=60)))
    if inputs.unmatched_decisions is not None:
        sections.append(("Reviewers' code decisions set aside", unmatched_html(inputs.unmatched_decisions)))
    map_link = (
        f'<p>Interactive map: <a href="{_e(inputs.map_html_name)}">{_e(inputs.map_html_name)}</a></p>'
        if inputs.map_html_name else ""
    )
    sections.append(("Evidence-gap map", map_link + _img(inputs.map_png, "Evidence-gap map")))
    if inputs.gaps_md:
        sections.append(("Gaps", _markdown_list(inputs.gaps_md)))
    sections.extend(inputs.extra_sections)

    nav = "".join(f'<li><a href="#s{i}">{_e(t)}</a></li>' for i, (t, _) in enumerate(sections))
    body = "".join(f'<section id="s{i}"><h2>{_e(t)}</h2>{c}</section>' for i, (t, c) in enumerate(sections))
    meta = f"evreview {__version__}; config {inputs.config_hash or 'n/a'}; {len(ledger)} records in the ledger"
    css = (
        "body{font-family:system-ui,sans-serif;margin:24px;max-width:1100px;color:#222}"
        "table{border-collapse:collapse;margin:6px 0;font-size:.85em}td,th{border:1px solid #ccd;padding:3px 6px;"
        "text-align:left;vertical-align:top}th{background:#eef2f6}img{max-width:100%}.note{color:#666}"
        "nav ul{columns:3}section{margin-top:22px}"
    )
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "img-src data:\">"
        f"{html_meta()}"
        f"<title>{_e(inputs.title)}: run report</title><style>{css}</style></head><body>"
        f"<h1>{_e(inputs.title)}</h1><p class=note>{_e(meta)}</p><nav><ul>{nav}</ul></nav>{body}</body></html>\n"
    )
