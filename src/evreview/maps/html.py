"""The interactive evidence-gap map: one self-contained HTML file that works from ``file://``.

Security: titles and abstracts come from outside, so the page never builds HTML from data.
The data travel as JSON inside a ``<script type="application/json">`` block with ``<``, ``>``
and ``&`` escaped as ``\\u003c``..., and the script builds the DOM with ``textContent`` and
``createElement`` only. A Content-Security-Policy allows exactly the page's own script (by
its sha256), so even a missed escape could not run injected code. No CDN, no network.
"""

from __future__ import annotations

import base64
import collections
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
    split = _cached_split()
    ordered = coded.sort_values("study_id")
    col = _field_values(ordered)
    codes = [[split(v) for v in col(dim)] for dim in dims]
    studies = [
        {
            "id": str(sid),
            "t": str(title or ""),
            "y": int(year) if pd.notna(year) and str(year) != "" else None,
            "j": str(journal or ""),
            "d": str(doi or ""),
            "db": split_codes(list(dbs) if hasattr(dbs, "__iter__") and not isinstance(dbs, str) else dbs),
            "c": dict(zip(dims, study_codes)),
        }
        for sid, title, year, journal, doi, dbs, *study_codes in zip(
            col("study_id", required=True), col("title"), col("year"), col("journal"), col("doi"),
            col("source_databases"), *codes,
        )
    ]
    return {
        "title": title,
        "spec": {"rows": spec.rows, "columns": spec.columns, "segment": spec.segment or "",
                 "filters": list(spec.filters), "sparse": spec.sparse_threshold},
        "vocab": {dim: [list(pair) for pair in vocab[dim]] for dim in dims},
        "labels": dict(dimension_labels or {}),
        "palette": PALETTE,
        "studies": studies,
    }


def _field_values(frame: pd.DataFrame) -> Any:
    """``col(name)``: the values of the column a row of ``frame.itertuples()`` names ``name``
    (``None`` for each row when none does), as a list.

    Column by column rather than a dict per row (23k studies); the names are itertuples'
    own (a column that is not an identifier, or is a keyword, is renamed there and so is
    not found by its label), so the page is what the per-row version made.
    """
    fields = collections.namedtuple("Pandas", list(frame.columns), rename=True)._fields
    position = {name: i for i, name in enumerate(fields)}

    def col(name: str, *, required: bool = False) -> list:
        if name not in position:
            if required:
                raise KeyError(name)
            return [None] * len(frame)
        return frame.iloc[:, position[name]].tolist()

    return col


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
