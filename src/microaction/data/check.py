"""Validate a dataset in the MA-52 layout before anyone trains on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from microaction.data.listfile import SPLITS, parse_list_file, split_files
from microaction.data.parallel import parallel_map
from microaction.data.video import read_video
from microaction.errors import ListFileError, MicroactionError, VideoError
from microaction.labels import LabelSpace, actions_of_body


@dataclass
class CheckReport:
    root: str
    splits: list = field(default_factory=list)  # splits that have a list file
    counts: dict = field(default_factory=dict)  # split -> (num_classes,) clip counts
    problems: list = field(default_factory=list)  # one line each
    notes: list = field(default_factory=list)  # not problems, but worth saying
    clips: int = 0
    labels: LabelSpace = field(default_factory=LabelSpace.ma52)

    @property
    def ok(self) -> bool:
        return not self.problems

    def table(self) -> str:
        """Per-class and per-body-part clip counts (test labels are dummies: totals only)."""
        shown = [s for s in self.splits if s != "test"]
        head = f"{'id':>3}  {'action':<34}" + "".join(f"{s:>8}" for s in shown)
        lines = [head, "-" * len(head)]
        for c, name in enumerate(self.labels.names):
            lines.append(f"{c:>3}  {name[:34]:<34}" + "".join(
                f"{int(self.counts[s][c]):>8}" for s in shown))
        if self.labels.body_names:
            lines += ["", f"{'body part':<39}" + "".join(f"{s:>8}" for s in shown),
                      "-" * len(head)]
            for b, name in enumerate(self.labels.body_names):
                ids = list(actions_of_body(b))
                lines.append(f"{b:>3}  {name:<34}" + "".join(
                    f"{int(self.counts[s][ids].sum()):>8}" for s in shown))
        totals = ", ".join(f"{s}: {int(self.counts[s].sum())}" for s in self.splits)
        lines += ["", f"clips per split: {totals}"]
        return "\n".join(lines)


def _decode_one(path: str) -> str | None:
    try:
        read_video(path, select=lambda n: np.zeros(1, dtype=np.int64), threads=False)
    except VideoError as exc:
        return str(exc)
    return None


def check_dataset(root: str | Path, decode: bool = True, workers: int | None = None,
                  progress: bool = True) -> CheckReport:
    """Parse every list line, check every file exists and (with ``decode``) decodes fully, labels
    are in range. Problems are collected, not raised."""
    root = Path(root)
    if not root.is_dir():
        raise MicroactionError(f"{root}: data root is not a directory")
    report = CheckReport(str(root))
    label_file = root / "label_name.txt"
    if label_file.exists():
        try:
            report.labels = LabelSpace.for_root(root)
        except ListFileError as exc:
            report.problems.append(str(exc))
    else:
        report.notes.append(f"{label_file} not found: using the built-in MA-52 class names "
                            f"(52 classes)")
    names = report.labels.names
    paths = []
    for split in SPLITS:
        list_file, video_dir = split_files(root, split)
        if not list_file.exists():
            continue
        report.splits.append(split)
        found: list = []
        try:
            entries = parse_list_file(list_file, len(names), problems=found)
        except ListFileError as exc:
            found.append(exc)
            entries = []
        report.problems += [str(e) for e in found]
        counts = np.zeros(len(names), dtype=np.int64)
        for e in entries:
            counts[e.label] += 1
            p = video_dir / e.path
            if not p.is_file():
                report.problems.append(f"{list_file}:{e.line}: {p}: file not found")
            else:
                paths.append(str(p))
        report.counts[split] = counts
        report.clips += len(entries)
    if not report.splits:
        report.problems.append(f"{root}: no list file found (expected e.g. "
                               f"train_list_videos.txt, val_list_videos.txt)")
    if decode and paths:
        for err in parallel_map(_decode_one, paths, workers, "check", progress, ordered=True):
            if err:
                report.problems.append(err)
    return report
