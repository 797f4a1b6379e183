"""Transcode a dataset (e.g. the real 1080x1296 MA-52) to a smaller copy with the same layout.

Resumable: finished files are skipped; each output appears atomically (temp file + rename), so an
interrupted run never leaves a half-written clip behind.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from microaction.data.listfile import SPLITS, parse_list_file, split_files
from microaction.data.parallel import parallel_map
from microaction.data.video import iter_frames, video_fps, write_video
from microaction.errors import MicroactionError, VideoError
from microaction.io import atomic_path


@dataclass
class PrepareReport:
    written: int = 0
    skipped: int = 0
    failed: list = field(default_factory=list)


def _transcode(job) -> tuple[str, str | None]:
    src, dst, short_side, crf = job
    if os.path.exists(dst):
        return "skipped", None
    try:
        write_video(dst, iter_frames(src, short_side), fps=video_fps(src), crf=crf,
                    tune="fastdecode")
    except VideoError as exc:
        return "failed", str(exc)
    return "written", None


def sweep_temporaries(root: Path) -> int:
    """Remove the hidden ``.NAME.*.part`` files a killed run left (the atomic writer's
    temporaries: never a finished clip). Returns how many."""
    stale = [p for p in root.rglob(".*.part") if p.is_file()] if root.is_dir() else []
    for p in stale:
        p.unlink()
    return len(stale)


def prepare_dataset(src: str | Path, dst: str | Path, short_side: int = 256, crf: int = 20,
                    workers: int | None = None, progress: bool = True) -> PrepareReport:
    """Transcode every clip of every split list under ``src`` into ``dst`` (frames whose short
    side exceeds ``short_side`` are shrunk; frame count and fps are kept). List files and
    ``label_name.txt`` are copied unchanged."""
    src, dst = Path(src), Path(dst)
    if not src.is_dir():
        raise MicroactionError(f"{src}: source data root is not a directory")
    if src.resolve() == dst.resolve():
        raise MicroactionError(f"{dst}: destination must differ from the source")
    jobs, lists = [], []
    for split in SPLITS:
        list_file, video_dir = split_files(src, split)
        if not list_file.exists():
            continue
        entries = parse_list_file(list_file, num_classes=None)
        out_dir = split_files(dst, split)[1]
        for e in entries:
            out = out_dir / e.path
            out.parent.mkdir(parents=True, exist_ok=True)
            jobs.append((str(video_dir / e.path), str(out), short_side, crf))
        lists.append(list_file)
    if not lists:
        raise MicroactionError(f"{src}: no list file found (expected e.g. train_list_videos.txt)")
    sweep_temporaries(dst)
    report = PrepareReport()
    for status, err in parallel_map(_transcode, jobs, workers, "prepare", progress):
        if status == "written":
            report.written += 1
        elif status == "skipped":
            report.skipped += 1
        else:
            report.failed.append(err)
    for extra in [*lists, src / "label_name.txt", src / "test_list_videos_labeled.txt"]:
        if extra.exists():
            with atomic_path(dst / extra.name) as tmp:
                shutil.copyfile(extra, tmp)
    return report
