"""PNG figures: contact sheets of clips, confusion matrices, training curves (matplotlib, Agg)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out: str | Path) -> None:
    """Write the PNG atomically."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.part")
    fig.savefig(tmp, format="png", dpi=fig.dpi, bbox_inches="tight")
    os.replace(tmp, out)


def contact_sheet(clips: list[tuple[str, np.ndarray]], out: str | Path) -> None:
    """One row per (title, frames ``(N, H, W, 3)`` uint8) pair, frames left to right."""
    plt = _pyplot()
    rows, cols = len(clips), max(len(f) for _, f in clips)
    h, w = clips[0][1].shape[1:3]
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.3 * w / h + 0.2, rows * 1.35),
                             dpi=110, squeeze=False)
    for r, (title, frames) in enumerate(clips):
        for c in range(cols):
            ax = axes[r][c]
            ax.axis("off")
            if c < len(frames):
                ax.imshow(frames[c])
        axes[r][0].set_title(title, fontsize=8, loc="left")
    fig.subplots_adjust(wspace=0.03, hspace=0.25)
    _save(fig, out)
    plt.close(fig)
