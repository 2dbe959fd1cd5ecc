"""The interactive evidence-gap map: one self-contained HTML file that works from ``file://``.

Security: titles and abstracts come from outside, so the page never builds HTML from data.
The data travel as JSON inside a ``<script type="application/json">`` block with ``<``, ``>``
and ``&`` escaped as ``\\u003c``..., and the script builds the DOM with ``textContent`` and
``createElement`` only. A Content-Security-Policy allows exactly the page's own script (by
its sha256), so even a missed escape could not run injected code. No CDN, no network.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from importlib import resources
from typing import Any

import pandas as pd

from evreview.maps.cells import MapSpec, Vocabulary, split_codes
from evreview.provenance import html_meta

PALETTE = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666", "#1f78b4"]


def safe_json(data: Any) -> str:
    """JSON that cannot close the surrounding ``<script>`` element or open a comment."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def map_payload(
    coded: pd.DataFrame,
    spec: MapSpec,
    vocab: Vocabulary,
    *,
    title: str,
    dimension_labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Everything the page needs, as plain JSON-able data (sorted for byte-stable output)."""
    dims = [d for d in [spec.rows, spec.columns, spec.segment, *spec.filters] if d]
    studies = []
    split = _cached_split()
    for row in coded.sort_values("study_id").itertuples(index=False):
        rec = row._asdict()
        dbs = rec.get("source_databases")
        studies.append(
            {
                "id": str(rec["study_id"]),
                "t": str(rec.get("title") or ""),
                "y": int(rec["year"]) if pd.notna(rec.get("year")) and str(rec.get("year")) != "" else None,
                "j": str(rec.get("journal") or ""),
                "d": str(rec.get("doi") or ""),
                "db": split_codes(list(dbs) if hasattr(dbs, "__iter__") and not isinstance(dbs, str) else dbs),
                "c": {dim: split(rec.get(dim)) for dim in dims},
            }
        )
    return {
        "title": title,
        "spec": {"rows": spec.rows, "columns": spec.columns, "segment": spec.segment or "",
                 "filters": list(spec.filters), "sparse": spec.sparse_threshold},
        "vocab": {dim: [list(pair) for pair in vocab[dim]] for dim in dims},
        "labels": dict(dimension_labels or {}),
        "palette": PALETTE,
        "studies": studies,
    }


def _cached_split() -> Any:
    """:func:`split_codes` remembering its answer per cell text (a column of 100k studies holds
    a few hundred distinct ``a;b`` values); each call returns a fresh list, as split_codes does."""
    seen: dict[str, list[str]] = {}

    def split(value: object) -> list[str]:
        if type(value) is not str:
            return split_codes(value)
        codes = seen.get(value)
        if codes is None:
            codes = seen[value] = split_codes(value)
        return list(codes)

    return split


def _asset(name: str) -> str:
    return resources.files("evreview.maps").joinpath(name).read_text(encoding="utf-8")



def render_map_html(payload: dict[str, Any]) -> str:
    """The self-contained page (deterministic for the same payload)."""
    script = _asset("egm.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    csp = (
        "default-src 'none'; "
        f"script-src 'sha256-{digest}'; "
        "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
    )
    title = html.escape(str(payload.get("title", "Evidence-gap map")))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n"
        f"{html_meta()}\n"
        f"<title>{title}</title>\n<style>{_asset('egm.css')}</style></head>\n<body>\n"
        f"<h1>{title}</h1>\n<div id=\"summary\"></div>\n<div id=\"filters\"></div>\n<div id=\"legend\"></div>\n"
        "<table class=\"egm\" id=\"grid\"></table>\n<div id=\"studies\"></div>\n"
        f"<script type=\"application/json\" id=\"egm-data\">{safe_json(payload)}</script>\n"
        f"<script>{script}</script>\n</body></html>\n"
    )
