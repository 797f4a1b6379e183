"""PNG figures: contact sheets of clips, confusion matrices, training curves (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from microaction.io import atomic_write


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out: str | Path) -> None:
    """Write the PNG atomically."""
    with atomic_write(out, "wb") as f:
        fig.savefig(f, format="png", dpi=fig.dpi, bbox_inches="tight")


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


def confusion_matrix_png(cm, names: list[str], out: str | Path, title: str) -> None:
    """Row-normalised confusion matrix (rows = truth). Sized so that 52 class names print at
    9 pt (about 14 px at the figure's 110 dpi), with a light grid every five classes."""
    plt = _pyplot()
    cm = np.asarray(cm, dtype=np.float64)
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    n = len(names)
    side = max(5.0, 0.3 * n + 4)
    fig, ax = plt.subplots(figsize=(side, side), dpi=110)
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels(names, rotation=90, fontsize=9)
    ax.set_yticklabels(names, fontsize=9)
    for k in range(5, n, 5):
        ax.axhline(k - 0.5, color="0.85", lw=0.5)
        ax.axvline(k - 0.5, color="0.85", lw=0.5)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    _save(fig, out)
    plt.close(fig)


def training_curves(log_jsonl: str | Path, out: str | Path) -> None:
    """Loss (train) and headline metrics (val) against epochs, from a run's log.jsonl."""
    import json

    train, val = [], []
    for line in Path(log_jsonl).read_text().splitlines():
        rec = json.loads(line)
        (train if rec["kind"] == "train" else val if rec["kind"] == "val" else []).append(rec)
    plt = _pyplot()
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6), dpi=110)
    if train:
        ep = [r["epoch"] for r in train]
        a.plot(ep, [r["loss"] for r in train], label="loss")
        a.plot(ep, [r["ce"] for r in train], label="cross-entropy")
        if any(r.get("embed") for r in train):
            a.plot(ep, [r["embed"] for r in train], label="embedding MSE")
    a.set_xlabel("epoch")
    a.set_title("training loss")
    a.legend(fontsize=8)
    for key in ("action_top1", "action_top5", "body_top1", "f1_mean"):
        points = [(r["epoch"], 100 * r[key]) for r in val if r.get(key) is not None]
        if points:  # a label set without body parts logs no body metrics
            b.plot(*zip(*points), marker="o", label=key)
    b.set_xlabel("epoch")
    b.set_ylabel("%")
    b.set_title("validation")
    b.legend(fontsize=8)
    _save(fig, out)
    plt.close(fig)


def timeline_png(segments, lanes: list[str], lane_of, names: list[str], duration: float,
                 out: str | Path, title: str, truth=None) -> None:
    """One lane per body part (``lanes``; ``lane_of(label)`` picks the lane), each segment a bar
    coloured by class (overlapping segments of a lane stacked in sub-rows), labelled where it
    is wide enough, a legend of the classes present and a time axis in m:ss. ``truth``
    (segments with ``start``, ``end``, ``label``): drawn as black outlines along the lane's
    top edge."""
    from matplotlib.ticker import FuncFormatter

    plt = _pyplot()
    width = min(24.0, max(10.0, duration / 15))
    fig, ax = plt.subplots(figsize=(width, 0.7 * len(lanes) + 1.8), dpi=110)
    cmap = plt.get_cmap("tab20")
    present = sorted({s.label for s in segments})
    colour = {c: cmap(i % 20) for i, c in enumerate(present)}
    px_per_s = width * 110 / max(duration, 1e-9)
    rows: dict[int, list[list]] = {}
    placed = []
    for s in sorted(segments, key=lambda s: (s.start, -s.end)):
        lane = rows.setdefault(lane_of(s.label), [])
        row = next((i for i, r in enumerate(lane) if r[-1] <= s.start), None)
        if row is None:
            lane.append([s.end])
            row = len(lane) - 1
        lane[row].append(s.end)
        placed.append((s, row))
    for s, row in placed:
        depth = max(1, len(rows[lane_of(s.label)]))
        h = 0.8 / depth
        y0 = lane_of(s.label) - 0.4 + row * h
        ax.broken_barh([(s.start, s.end - s.start)], (y0, h), color=colour[s.label],
                       alpha=0.35 + 0.65 * min(max(s.score, 0.0), 1.0))
        if (s.end - s.start) * px_per_s > 6 * len(names[s.label]) and h > 0.3:
            ax.text((s.start + s.end) / 2, y0 + h / 2, names[s.label], ha="center",
                    va="center", fontsize=7, clip_on=True)
    for g in truth or []:
        y = lane_of(g.label)
        if y is not None:
            ax.plot([g.start, g.end], [y - 0.45, y - 0.45], color="black", lw=2.5,
                    solid_capstyle="butt")
    ax.set_yticks(range(len(lanes)))
    ax.set_yticklabels(lanes, fontsize=9)
    ax.set_ylim(-0.6, len(lanes) - 0.4)
    ax.invert_yaxis()
    ax.set_xlim(0, duration)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda t, _: f"{int(t // 60)}:{int(t % 60):02d}"))
    ax.set_xlabel("time (m:ss)" + ("; black: ground truth" if truth else ""))
    ax.grid(axis="x", color="0.9")
    ax.set_title(title, fontsize=10)
    if present:
        import matplotlib.patches as mpatches

        handles = [mpatches.Patch(color=colour[c], label=f"{c} {names[c]}") for c in present]
        ax.legend(handles=handles, fontsize=7, ncol=min(6, len(handles)), loc="upper center",
                  bbox_to_anchor=(0.5, -0.12 - 0.6 / len(lanes)), frameon=False)
    _save(fig, out)
    plt.close(fig)


def explanation_grid(frames: np.ndarray, overlays: np.ndarray, title: str, out: str | Path,
                     captions: list[str] | None = None, columns: int = 8) -> None:
    """The frames a model saw (top row of each pair) above their heat overlays; at most
    ``columns`` frames a row pair (a longer clip is shown every k-th frame)."""
    plt = _pyplot()
    step = max(1, int(np.ceil(len(frames) / (2 * columns))))
    keep = list(range(0, len(frames), step))
    cols = min(columns, len(keep))
    pairs = int(np.ceil(len(keep) / cols))
    fig, axes = plt.subplots(2 * pairs, cols, figsize=(1.7 * cols, 3.5 * pairs + 0.5), dpi=110,
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for n, i in enumerate(keep):
        r, c = 2 * (n // cols), n % cols
        axes[r][c].imshow(frames[i])
        axes[r + 1][c].imshow(overlays[i])
        if captions:
            axes[r][c].set_title(captions[i], fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.subplots_adjust(wspace=0.04, hspace=0.12)
    _save(fig, out)
    plt.close(fig)
