"""Temporal annotations and detections as CSV files.

Ground truth (MMAD layout): ``id,video_id,start_frame,end_frame,class,total_frames,fps`` --
``start_frame`` the first frame, ``end_frame`` one past the last; seconds = frame / fps.
Predictions: ``video_id,t_start,t_end,class,score`` (seconds). Every bad row is an error naming
the file and row (line number, header = line 1).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from microaction.errors import ListFileError
from microaction.io import write_text
from microaction.metrics.detection import Instance

GT_COLUMNS = ("id", "video_id", "start_frame", "end_frame", "class", "total_frames", "fps")
PRED_COLUMNS = ("video_id", "t_start", "t_end", "class", "score")


def _rows(path: Path, columns: tuple[str, ...]):
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ListFileError(path, None, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ListFileError(path, None, f"cannot read ({type(exc).__name__})") from None
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        raise ListFileError(path, None, f"empty file (expected a header {','.join(columns)})")
    missing = [c for c in columns if c not in [f.strip() for f in reader.fieldnames]]
    if missing:
        raise ListFileError(path, 1, f"missing column(s) {', '.join(missing)} (expected "
                                     f"{','.join(columns)})")
    for line, row in enumerate(reader, start=2):
        yield line, {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}


def _number(path, line, row, key, kind=float):
    try:
        value = kind(row[key])
    except (TypeError, ValueError):
        raise ListFileError(path, line, f"{key} must be a number, got {row[key]!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ListFileError(path, line, f"{key} must be finite, got {row[key]!r}")
    return value


def _label(path, line, row, num_classes):
    label = _number(path, line, row, "class", int)
    if not 0 <= label < num_classes:
        raise ListFileError(path, line, f"unknown class id {label} (expected 0..{num_classes - 1})")
    return label


def read_ground_truth(path: str | Path, num_classes: int = 52) -> list[Instance]:
    path = Path(path)
    out = []
    for line, row in _rows(path, GT_COLUMNS):
        fps = _number(path, line, row, "fps")
        start = _number(path, line, row, "start_frame", int)
        end = _number(path, line, row, "end_frame", int)
        if fps <= 0:
            raise ListFileError(path, line, f"fps must be positive, got {row['fps']}")
        if end <= start or start < 0:
            raise ListFileError(path, line, f"end_frame {end} must be after start_frame {start}")
        out.append(Instance(row["video_id"], start / fps, end / fps,
                            _label(path, line, row, num_classes)))
    return out


def ground_truth_videos(path: str | Path) -> dict[str, tuple[int, float]]:
    """video_id -> (total_frames, fps) of a ground-truth file."""
    path = Path(path)
    return {row["video_id"]: (_number(path, line, row, "total_frames", int),
                              _number(path, line, row, "fps"))
            for line, row in _rows(path, GT_COLUMNS)}


def read_predictions(path: str | Path, num_classes: int = 52) -> list[Instance]:
    path = Path(path)
    out = []
    for line, row in _rows(path, PRED_COLUMNS):
        t0, t1 = _number(path, line, row, "t_start"), _number(path, line, row, "t_end")
        if t1 < t0:
            raise ListFileError(path, line, f"t_end {t1} is before t_start {t0}")
        out.append(Instance(row["video_id"], t0, t1, _label(path, line, row, num_classes),
                            _number(path, line, row, "score")))
    return out


def predictions_csv(instances) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(PRED_COLUMNS)
    for i in instances:
        w.writerow([i.video, f"{i.start:.3f}", f"{i.end:.3f}", i.label, f"{i.score:.5f}"])
    return buf.getvalue()


def write_predictions(path: str | Path, instances) -> None:
    write_text(path, predictions_csv(instances))
