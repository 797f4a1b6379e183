"""Long video -> sliding windows -> per-window class probabilities -> segments.

A video is decoded once, front to back; only the frames some window needs are converted, and
only the current window's frames are kept, so memory does not depend on the video's length.
Each window (``window`` seconds, every ``stride`` seconds) is sampled as the model samples a
trimmed clip (its own input spec, test mode, one view) and scored.

Segments, per class: the windows whose probability reaches ``threshold`` are merged into runs
(a gap of one window is bridged); a run spans from half a stride before its first window's
centre to half a stride after its last one's; its score is the run's highest probability.
Classes are independent, so two actions at once (nodding while shaking a leg) can both be
found. A label space with a "no action" class (a detector trained with background windows)
never yields that class as a segment; its probability mass is what keeps rest quiet.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from microaction.data.clips import frame_selector, frames_to_views
from microaction.data.video import FrameStream
from microaction.errors import MicroactionError, VideoError
from microaction.inference import Predictor
from microaction.progress import progress_bar

log = logging.getLogger(__name__)

# Windows as long as an MA-52 clip (1.5-2.5 s, ~2 s typical): what the models were trained on.
DEFAULT_WINDOW = 2.0
# One window a second: each ~2 s action is covered by two windows; measured on 2 cores this is
# what keeps manet_r50 at 224 px faster than real time (benchmarks/timeline_speed.py).
DEFAULT_STRIDE = 1.0
DEFAULT_THRESHOLD = 0.3


@dataclass
class WindowScores:
    """Per-window softmax ``probs`` ``(N, K)``; window w covers [``starts[w]``, ``starts[w]``
    + ``window``) seconds."""

    video: str
    fps: float
    length: int  # frames decoded
    window: float
    stride: float
    starts: np.ndarray
    probs: np.ndarray
    max_held: int = 0  # the most frames the reader held at once (bounded by one window)

    @property
    def duration(self) -> float:
        return self.length / self.fps

    @property
    def centres(self) -> np.ndarray:
        return self.starts + self.window / 2


@dataclass
class Segment:
    start: float
    end: float
    label: int
    score: float
    extra: dict = field(default_factory=dict)


def window_plan(fps: float, window: float, stride: float, spec) -> tuple[int, int, np.ndarray]:
    """(frames per window L, frames per stride S, frame offsets a window's model input uses)."""
    if window <= 0 or stride <= 0:
        raise MicroactionError(f"window and stride must be positive (got {window}, {stride})")
    length = max(1, round(window * fps))
    step = max(1, round(stride * fps))
    offsets = frame_selector(spec, train=False, num_clips=1)(length)[0]
    return length, step, offsets


# Windows per forward pass, by input volume: batch x frames x pixels stays under 8 clips of
# 8 x 48 x 48. Measured here (2 cores, ms per clip): manet_r18 at 48 px 34 (batch 1), 20
# (batch 8); manet_r50 at 224 px 830 (batch 1), 860 (2), 962 (8) -- large batches of large
# frames spill the caches, small ones leave the cores idle between layers.
BATCH_VOLUME = 8 * 8 * 48 * 48


def window_batch(spec) -> int:
    """The default number of windows per forward for a model's input spec (1 to 8)."""
    return max(1, min(8, BATCH_VOLUME // (spec.clip_len * spec.size * spec.size)))


def score_windows(predictor: Predictor, video: str | Path, window: float = DEFAULT_WINDOW,
                  stride: float = DEFAULT_STRIDE, batch: int | None = None, progress: bool = True,
                  callback=None) -> WindowScores:
    """Decode ``video`` once and score every full window, ``batch`` windows per forward
    (default: ``window_batch`` of the model's input). A video shorter than one window is an
    error naming it. ``callback(seconds_done, seconds_total_or_None)`` reports progress."""
    spec = predictor.spec
    batch = batch or window_batch(spec)
    probe = FrameStream(video, lambda i: False)
    length, step, offsets = window_plan(probe.fps, window, stride, spec)
    need = set(int(o) for o in offsets)
    last = int(offsets.max())

    def keep(i: int) -> bool:
        first = max(0, (i - length) // step + 1)
        return any(i - w * step in need for w in range(first, i // step + 1))

    stream = FrameStream(video, keep, spec.short_side)
    transform = predictor.transform.__class__(spec, train=False, test_crops=1)
    buffer: dict[int, np.ndarray] = {}
    starts, probs, pending, w, held = [], [], [], 0, 0
    total = (stream.expected or 0) / stream.fps or None
    bar = progress_bar(total=round(total) if total else None, desc=Path(video).name,
                       unit="s", enabled=progress)
    done_s = 0

    def flush():
        if pending:
            views = torch.cat([v for _, v in pending])
            with torch.no_grad():
                predictor.model.eval()
                logits = predictor.model(views.to(predictor.device)).logits.float()
            probs.extend(torch.softmax(logits, 1).cpu().numpy())
            starts.extend(s for s, _ in pending)
            pending.clear()

    for i, frame in stream:
        buffer[i] = frame
        held = max(held, len(buffer))
        while i >= w * step + last:  # window w has every frame it needs
            frames = np.stack([buffer[w * step + int(o)] for o in offsets])
            pending.append((w * step / stream.fps, frames_to_views(frames, spec, transform)))
            if len(pending) == batch:
                flush()
            w += 1
            for old in [k for k in buffer if k < w * step]:
                del buffer[old]
        now = int(i / stream.fps)
        if now > done_s:
            bar.update(now - done_s)
            done_s = now
            if callback is not None:
                callback(now, total)
    flush()
    bar.close()
    if not probs:
        raise VideoError(video, f"{stream.length / stream.fps:.1f} s long, shorter than the "
                                f"{window:g} s window; use --window {stream.length / stream.fps:.1f}"
                                f" or less")
    return WindowScores(str(video), stream.fps, stream.length, window, stride,
                        np.array(starts), np.stack(probs), held)


def segments(scores: WindowScores, threshold: float = DEFAULT_THRESHOLD,
             background: int | None = None, bridge: int = 1) -> list[Segment]:
    """Runs of windows at or above ``threshold``, per class (see the module doc)."""
    out = []
    half = scores.stride / 2
    for c in range(scores.probs.shape[1]):
        if c == background:
            continue
        active = np.flatnonzero(scores.probs[:, c] >= threshold)
        if not len(active):
            continue
        runs, run = [], [active[0]]
        for w in active[1:]:
            if w - run[-1] <= bridge + 1:
                run.append(w)
            else:
                runs.append(run)
                run = [w]
        runs.append(run)
        for run in runs:
            lo = max(0.0, scores.centres[run[0]] - half)
            hi = min(scores.duration, scores.centres[run[-1]] + half)
            out.append(Segment(float(lo), float(hi), c,
                               float(scores.probs[run[0]:run[-1] + 1, c].max())))
    return sorted(out, key=lambda s: (s.start, s.label))


def timeline_document(scores: WindowScores, segs: list[Segment], labels, model: dict) -> dict:
    """What ``timeline.json`` holds: the video, the model, the windows (with their top-3
    classes) and the segments."""
    top = np.argsort(-scores.probs, axis=1)[:, :3]
    return {
        "video": scores.video, "fps": scores.fps, "frames": scores.length,
        "duration": round(scores.duration, 3), "window": scores.window, "stride": scores.stride,
        "model": model, "labels": list(labels.names),
        "body_parts": list(labels.body_names) if labels.body_names else None,
        "windows": [{"start": round(float(s), 3),
                     "top": [[int(c), round(float(scores.probs[w, c]), 4)] for c in top[w]]}
                    for w, s in enumerate(scores.starts)],
        "segments": [{"start": round(s.start, 3), "end": round(s.end, 3), "class": s.label,
                      "name": labels.names[s.label], "body": labels.body_name_of(s.label),
                      "score": round(s.score, 4)} for s in segs]}


def write_timeline(out_dir: str | Path, scores: WindowScores, segs: list[Segment], labels,
                   model: dict) -> None:
    """``timeline.json``, ``detections.csv`` (``video_id,t_start,t_end,class,score``),
    ``timeline.png`` and ``window_scores.npz`` (window starts and probabilities)."""
    import io as _io

    from microaction.data.annotations import write_predictions
    from microaction.io import atomic_write, write_json
    from microaction.metrics.detection import Instance
    from microaction.plots import timeline_png

    out_dir = Path(out_dir)
    video_id = Path(scores.video).stem
    write_json(out_dir / "timeline.json", timeline_document(scores, segs, labels, model))
    write_predictions(out_dir / "detections.csv",
                      [Instance(video_id, s.start, s.end, s.label, s.score) for s in segs])
    buf = _io.BytesIO()
    np.savez_compressed(buf, starts=scores.starts, probs=scores.probs.astype(np.float32),
                        window=scores.window, stride=scores.stride, fps=scores.fps,
                        frames=scores.length)
    with atomic_write(out_dir / "window_scores.npz", "wb") as f:
        f.write(buf.getvalue())
    if labels.body_names:
        lanes = [b for i, b in enumerate(labels.body_names) if i != labels.body_of(
            labels.background)] if labels.background is not None else list(labels.body_names)
        lane_of = labels.body_of
    else:
        present = sorted({s.label for s in segs})
        lanes = [labels.names[c] for c in present]
        lane_of = {c: i for i, c in enumerate(present)}.get
    timeline_png(segs, lanes, lane_of, list(labels.names), scores.duration,
                 out_dir / "timeline.png",
                 f"{Path(scores.video).name}: {len(segs)} segments, {model.get('name')}, "
                 f"window {scores.window:g} s every {scores.stride:g} s")


def load_window_scores(path: str | Path, video: str = "") -> WindowScores:
    with np.load(path) as z:
        return WindowScores(video, float(z["fps"]), int(z["frames"]), float(z["window"]),
                            float(z["stride"]), z["starts"], z["probs"])
