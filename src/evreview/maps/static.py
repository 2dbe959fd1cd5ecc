"""Static evidence-gap map (SVG and PNG) for papers, drawn with matplotlib.

The same cell table as the interactive map: one column of bubbles per segment code inside
each cell, bubble area proportional to the number of studies; empty cells hatched.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pandas as pd

from evreview.maps.cells import MapSpec, Vocabulary
from evreview.maps.html import PALETTE


def _wrap(label: str, width: int, max_lines: int) -> str:
    """``label`` wrapped at ``width`` characters, cut to ``max_lines`` lines ending in "…": a long
    code label otherwise ran over its neighbours' labels and the legend (the full label is in the
    HTML map and the cell table)."""
    return textwrap.fill(label, width, max_lines=max_lines, placeholder=" …")


def draw_map(
    cells: pd.DataFrame,
    spec: MapSpec,
    vocab: Vocabulary,
    *,
    title: str,
    svg_path: str | Path | None = None,
    png_path: str | Path | None = None,
) -> None:
    """Write the static map; byte-identical output for identical cells."""
    from matplotlib.patches import Rectangle

    from evreview.figures import figure_style, save_figure

    rows = list(vocab[spec.rows])
    cols = list(vocab[spec.columns])
    segs = list(vocab[spec.segment]) if spec.segment else [("", "all studies")]
    counts = {
        (r, c, s): int(n)
        for r, c, s, n in zip(cells["row"], cells["column"], cells["segment"], cells["n_studies"])
    }
    vmax = max([n for (_, _, s), n in counts.items() if s != "" or not spec.segment] + [1])
    width = 2.6 + 1.6 * len(cols)
    height = 1.6 + 1.6 * len(rows)
    with figure_style() as plt:
        fig, ax = plt.subplots(figsize=(width, height))
        ax.set_xlim(0, len(cols))
        ax.set_ylim(len(rows), -0.02)
        ax.set_aspect("equal")
        ax.set_xticks([i + 0.5 for i in range(len(cols))], [_wrap(label, 18, 3) for _, label in cols], fontsize=8)
        ax.xaxis.tick_top()
        ax.set_yticks([i + 0.5 for i in range(len(rows))], [_wrap(label, 16, 6) for _, label in rows], fontsize=8)
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        for i, (r, _) in enumerate(rows):
            for j, (c, _) in enumerate(cols):
                total = counts.get((r, c, ""), 0)
                ax.add_patch(Rectangle((j, i), 1, 1, fill=total == 0, hatch="//" if total == 0 else None,
                                       fc="#fbeaea" if total == 0 else "none", ec="#99a", lw=0.8))
                for k, (s, _) in enumerate(segs):
                    n = counts.get((r, c, s), 0) if spec.segment else total
                    if not n:
                        continue
                    x = j + (k + 0.5) / len(segs)
                    radius = 0.45 / len(segs) * math.sqrt(n / vmax) + 0.02
                    ax.add_patch(plt.Circle((x, i + 0.45), min(radius, 0.45 / len(segs)),
                                            color=PALETTE[k % len(PALETTE)], alpha=0.85))
                ax.text(j + 0.5, i + 0.9, str(total) if total else "gap", ha="center", va="center", fontsize=7,
                        color="#333" if total else "#a33")
        # how to read a bubble: without it the figure said nothing of what its sizes count
        key = (f"Bubble area grows with the number of studies (the largest bubble: {vmax}); "
               "the number under the bubbles is the cell's studies, 'gap' none")
        if spec.segment:
            handles = [plt.Line2D([], [], marker="o", ls="", color=PALETTE[k % len(PALETTE)], label=_wrap(label, 24, 2))
                       for k, (_, label) in enumerate(segs)]
            ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=min(len(segs), 5),
                      fontsize=7, frameon=False, title=_wrap(key, max(40, int(width * 13)), 3), title_fontsize=7)
        else:
            ax.text(0.5, -0.03, _wrap(key, max(40, int(width * 13)), 3), transform=ax.transAxes, ha="center",
                    va="top", fontsize=7, color="#333")
        # a long review title is wrapped to the figure's width (it was cut off at both edges)
        ax.set_title(_wrap(title, max(40, int(width * 10.5)), 3), fontsize=10, pad=28)
        fig.tight_layout()
        save_figure(fig, svg_path, png_path, dpi=120)
