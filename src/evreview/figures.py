"""Deterministic matplotlib figures (SVG with real text, PNG) for the map and PRISMA diagram.

Same inputs must give byte-identical files: the SVG hash salt is fixed, the creation date and
software stamps are left out, and text stays text in the SVG (searchable, translatable).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: The one font every evreview figure uses (bundled with matplotlib, so figures are the same
#: on every machine); the PRISMA layout measures its text in it.
FONT_FAMILY = "DejaVu Sans"


@contextmanager
def figure_style():
    """Agg backend and the rc settings every evreview figure is drawn with."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # text.parse_math off: a "$" in a code label, the review title or a database name is text,
    # not the start of a TeX formula ("US$ and AU$" drew "USandAU" in italics, "$5 {$" failed)
    rc = {"svg.fonttype": "none", "svg.hashsalt": "evreview", "font.family": FONT_FAMILY, "text.parse_math": False}
    with plt.rc_context(rc):
        yield plt


def save_figure(fig: Any, svg_path: str | Path | None, png_path: str | Path | None, *, dpi: int) -> None:
    """Write ``fig`` as SVG and/or PNG without time stamps, then close it.

    Both carry the run provenance (:mod:`evreview.provenance`): the SVG in its Dublin Core
    ``dc:description``, the PNG in a text chunk, so a figure pasted into a paper can still
    be traced to the run, config and inputs that drew it.
    """
    import matplotlib.pyplot as plt

    from evreview.provenance import current, dumps, png_metadata

    if svg_path:
        Path(svg_path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(svg_path, format="svg", metadata={"Date": None, "Creator": None, "Description": dumps(current())})
    if png_path:
        Path(png_path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(png_path, format="png", dpi=dpi, metadata={"Software": None, **png_metadata()})
    plt.close(fig)
