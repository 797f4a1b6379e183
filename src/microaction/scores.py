"""Per-video score files and the Codabench submission.

Formats read: ``.npy`` (N x K), the CSV written by ``microaction test`` (``vid,score_0..``), and
the official test tool's pickle (a list of K-element float arrays), unpickled with an allow-list
so a hostile pickle cannot run code.
"""

from __future__ import annotations

import csv
import io
import pickle
import zipfile
from pathlib import Path

import numpy as np

from microaction.errors import MicroactionError
from microaction.io import atomic_write, save_npy, write_text

SUBMISSION_HEADER = ["vid", *[f"action_pred_{i}" for i in range(1, 6)],
                     *[f"body_pred_{i}" for i in range(1, 6)]]

_ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
            ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
            ("numpy", "ndarray"), ("numpy", "dtype"), ("builtins", "list"),
            ("collections", "OrderedDict")}


class _ScoresUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def load_scores(path: str | Path) -> np.ndarray:
    """Scores ``(N, K)`` float from .npy, our CSV or the official pickle."""
    path = Path(path)
    if not path.is_file():
        raise MicroactionError(f"{path}: scores file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
        elif suffix == ".csv":
            with open(path, newline="") as f:
                rows = list(csv.reader(f))
            if not rows or rows[0][0] != "vid":
                raise MicroactionError(f"{path}: expected a header starting with 'vid'")
            arr = np.array([[float(v) for v in r[1:]] for r in rows[1:] if r], dtype=np.float64)
        else:
            with open(path, "rb") as f:
                obj = _ScoresUnpickler(f).load()
            arr = np.stack([np.asarray(r, dtype=np.float64).reshape(-1) for r in obj])
    except MicroactionError:
        raise
    except (ValueError, OSError, pickle.UnpicklingError, EOFError, TypeError, IndexError) as exc:
        raise MicroactionError(f"{path}: cannot read scores ({type(exc).__name__}: {exc})") \
            from None
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise MicroactionError(f"{path}: scores must be a non-empty (videos x classes) table, "
                               f"got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise MicroactionError(f"{path}: scores contain NaN or inf")
    return arr.astype(np.float64)


def check_rows(scores: np.ndarray, num_entries: int, scores_path, list_path) -> None:
    if len(scores) != num_entries:
        raise MicroactionError(f"{scores_path}: {len(scores)} score rows but {list_path} has "
                               f"{num_entries} videos")


def write_scores(out_dir: str | Path, scores: np.ndarray, video_ids: list[str],
                 stem: str = "scores") -> None:
    """``scores.npy`` and ``scores.csv`` (``vid,score_0..score_{K-1}``), each atomically."""
    out_dir = Path(out_dir)
    save_npy(out_dir / f"{stem}.npy", scores.astype(np.float32))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["vid", *[f"score_{i}" for i in range(scores.shape[1])]])
    for vid, row in zip(video_ids, scores):
        w.writerow([vid, *[f"{v:.6g}" for v in row]])
    write_text(out_dir / f"{stem}.csv", buf.getvalue())


def submission_rows(scores: np.ndarray, video_ids: list[str], action_to_body) -> list[list]:
    """One row per video: id, top-5 action ids by descending score, the body of each."""
    a2b = np.asarray(action_to_body)
    top5 = np.argsort(-scores, axis=1, kind="stable")[:, :5]
    return [[vid, *map(int, t), *map(int, a2b[t])] for vid, t in zip(video_ids, top5)]


def write_submission(out_zip: str | Path, scores: np.ndarray, video_ids: list[str],
                     action_to_body) -> None:
    """The Codabench zip: ``prediction.csv`` alone at the root of the archive."""
    if action_to_body is None:
        raise MicroactionError(f"the MA-52 submission needs MA-52's 52 classes (with body "
                               f"parts), got {scores.shape[1]}")
    if scores.shape[1] < 5:
        raise MicroactionError(f"need at least 5 classes for a top-5 submission, got "
                               f"{scores.shape[1]}")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(SUBMISSION_HEADER)
    w.writerows(submission_rows(scores, video_ids, action_to_body))
    with atomic_write(out_zip, "wb") as f, \
            zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("prediction.csv", buf.getvalue())
