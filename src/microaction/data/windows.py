"""Cut fixed-length windows out of annotated long videos into a clip set in the MA-52 layout,
with a 53rd class "no action" for windows of rest: the training data of a detector that knows
when nothing happens.

A root of long videos holds ``videos_<split>/`` and ``<split>_annotations.csv`` (MMAD layout,
as ``microaction synth-sessions`` writes). For every instance one window centred on it is cut
(labelled with the instance's class; where two instances overlap, each gets its own window);
``background`` windows per instance are cut at random places that overlap no instance by more
than a tenth of the window. Each video is decoded once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from microaction.data.annotations import ground_truth_videos, read_ground_truth
from microaction.data.listfile import write_list_file
from microaction.data.parallel import parallel_map
from microaction.data.video import FrameStream, write_video
from microaction.errors import MicroactionError
from microaction.labels import BACKGROUND, LabelSpace, write_label_names


@dataclass(frozen=True)
class Window:
    start: int  # frame
    length: int
    label: int
    file: str


def plan_windows(instances, length: int, fps: float, window: float, background: float,
                 rng: np.random.Generator, prefix: str) -> list[Window]:
    n = max(1, round(window * fps))
    if n > length:
        return []
    spans = [(round(i.start * fps), round(i.end * fps)) for i in instances]
    out = []
    for k, (inst, (s, e)) in enumerate(zip(instances, spans)):
        start = int(np.clip((s + e) // 2 - n // 2, 0, length - n))
        out.append(Window(start, n, inst.label, f"{prefix}_a{k:04d}.mp4"))
    wanted = int(round(background * len(instances)))
    tries, k = 0, 0
    while k < wanted and tries < 50 * max(wanted, 1):
        tries += 1
        start = int(rng.integers(0, length - n + 1))
        overlap = max((min(e, start + n) - max(s, start) for s, e in spans), default=0)
        if overlap <= n // 10:
            out.append(Window(start, n, len(LabelSpace.ma52().names), f"{prefix}_b{k:04d}.mp4"))
            k += 1
    return out


def _cut_job(job):
    video, windows, out_dir = job
    if all((Path(out_dir) / w.file).exists() for w in windows):
        return 0
    starts = defaultdict(list)
    for w in windows:
        starts[w.start].append(w)
    open_ = {}
    stream = FrameStream(video, lambda i: any(w.start <= i < w.start + w.length
                                               for w in windows))
    written = 0
    for i, frame in stream:
        for w in starts.get(i, []):
            open_[w] = []
        for w in list(open_):
            open_[w].append(frame)
            if len(open_[w]) == w.length:
                write_video(Path(out_dir) / w.file, np.stack(open_.pop(w)), fps=stream.fps)
                written += 1
    return written


def cut_windows(root: str | Path, out: str | Path, window: float = 2.0, background: float = 1.0,
                splits=("train", "val", "test"), seed: int = 0, workers: int | None = None,
                progress: bool = True) -> dict:
    """Write ``OUT/videos_<split>/``, ``<split>_list_videos.txt`` and a 53-name
    ``label_name.txt``; returns clip counts per split."""
    root, out = Path(root), Path(out)
    counts = {}
    for split in splits:
        ann = root / f"{split}_annotations.csv"
        if not ann.is_file():
            continue
        gt = read_ground_truth(ann)
        meta = ground_truth_videos(ann)
        by_video = defaultdict(list)
        for g in gt:
            by_video[g.video].append(g)
        rng = np.random.default_rng([seed, len(split)])
        jobs, entries = [], []
        out_dir = out / f"videos_{split}"
        out_dir.mkdir(parents=True, exist_ok=True)
        for vid in sorted(meta):
            video = root / f"videos_{split}" / f"{vid}.mp4"
            if not video.is_file():
                raise MicroactionError(f"{ann}: video {vid} not found at {video}")
            length, fps = meta[vid]
            wins = plan_windows(by_video[vid], length, fps, window, background, rng, vid)
            jobs.append((str(video), wins, str(out_dir)))
            entries += [(w.file, w.label) for w in wins]
        for _ in parallel_map(_cut_job, jobs, workers, f"cut {split}", progress):
            pass
        write_list_file(out / f"{split}_list_videos.txt", entries)
        counts[split] = len(entries)
    if not counts:
        raise MicroactionError(f"{root}: no <split>_annotations.csv found")
    write_label_names(out / "label_name.txt", LabelSpace.ma52().names + (BACKGROUND,))
    return counts
