"""Emotion recognition from micro-action cues (the MA-52 paper's application).

Per video, two kinds of features:

- micro-actions, from the video's timeline (``timeline.score_windows``): per class, segments per
  minute, the share of time covered and the mean window probability; per body part, segments
  per minute and share of time; the share of time with any action;
- appearance only, without micro-action information: statistics of the face region -- the
  upper centre of the frame, where a seated interviewee's face is in MA-52's framing -- as a
  16 x 16 grey patch: its mean over the video, its temporal spread, and the mean vertical
  gradient (brows and mouth are horizontal edges). Sampled at 2 frames a second.

A logistic regression (scikit-learn, standardised features) is fitted with stratified
cross-validation to report its spread. The fitted model is saved as plain numbers (JSON), not
a pickle, so loading one runs no code. Features are cached per video (keyed by the file's
path, size and modification time and the checkpoint), so refitting never decodes again.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from microaction.errors import ListFileError, MicroactionError
from microaction.io import atomic_write, write_json
from microaction.labels import LabelSpace

log = logging.getLogger(__name__)

FEATURE_SETS = ("actions", "appearance", "both")
FACE_BOX = (0.36, 0.64, 0.08, 0.40)  # x0, x1, y0, y1 as fractions of the frame
PATCH = 16


# ----------------------------------------------------------------------------- labels


def read_labels(path: str | Path) -> list[tuple[Path, str]]:
    """``video,emotion`` rows; relative video paths are relative to the file. Errors name the
    file and row."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ListFileError(path, None, "labels file not found") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise ListFileError(path, None, "empty file (expected a header video,emotion)")
    header = [c.strip() for c in rows[0]]
    if header[:2] != ["video", "emotion"]:
        raise ListFileError(path, 1, f"expected the header video,emotion, got {rows[0]}")
    out = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise ListFileError(path, line, f"expected video,emotion, got {row}")
        video = Path(row[0].strip())
        video = video if video.is_absolute() else path.parent / video
        if not video.is_file():
            raise ListFileError(path, line, f"video {row[0].strip()} not found ({video})")
        out.append((video, row[1].strip()))
    if not out:
        raise ListFileError(path, None, "no labelled videos")
    return out


# ----------------------------------------------------------------------------- features


def action_features(scores, labels: LabelSpace, threshold: float) -> tuple[np.ndarray, list]:
    """Timeline features of one video (see the module doc) and their names."""
    from microaction.timeline import segments

    segs = segments(scores, threshold, labels.background)
    minutes = max(scores.duration / 60, 1e-9)
    k = len(labels) - (1 if labels.background is not None else 0)
    rate, cover = np.zeros(k), np.zeros(k)
    for s in segs:
        rate[s.label] += 1 / minutes
        cover[s.label] += (s.end - s.start) / scores.duration
    mean_p = scores.probs[:, :k].mean(0)
    feats, names = [rate, cover, mean_p], []
    names += [f"rate of {n}" for n in labels.names[:k]]
    names += [f"time share of {n}" for n in labels.names[:k]]
    names += [f"mean probability of {n}" for n in labels.names[:k]]
    if labels.body_names:
        nb = 7
        brate, bcover = np.zeros(nb), np.zeros(nb)
        for s in segs:
            b = labels.body_of(s.label)
            brate[b] += 1 / minutes
            bcover[b] += (s.end - s.start) / scores.duration
        feats += [brate, bcover]
        names += [f"rate of {b} actions" for b in labels.body_names[:nb]]
        names += [f"time share of {b} actions" for b in labels.body_names[:nb]]
    active = np.zeros(len(scores.starts), bool)
    for s in segs:
        active |= (scores.centres >= s.start) & (scores.centres <= s.end)
    feats.append(np.array([active.mean()]))
    names.append("share of time with any action")
    return np.concatenate(feats), names


def ground_truth_features(instances, duration: float, labels: LabelSpace):
    """The same action features from annotated instances (the upper bound of a perfect
    micro-action model): rates and time shares; probabilities are replaced by time shares."""
    k = 52
    minutes = duration / 60
    rate, cover = np.zeros(k), np.zeros(k)
    brate, bcover = np.zeros(7), np.zeros(7)
    active = np.zeros(max(1, int(duration * 10)), bool)
    for i in instances:
        rate[i.label] += 1 / minutes
        cover[i.label] += (i.end - i.start) / duration
        b = labels.body_of(i.label)
        brate[b] += 1 / minutes
        bcover[b] += (i.end - i.start) / duration
        active[int(i.start * 10):int(i.end * 10)] = True
    return np.concatenate([rate, cover, cover, brate, bcover, [active.mean()]])


def appearance_features(video: str | Path, per_second: float = 2.0) -> tuple[np.ndarray, list]:
    """Face-region statistics of one video (see the module doc) and their names."""
    from microaction.data.video import FrameStream

    probe = FrameStream(video, lambda i: False)
    every = max(1, round(probe.fps / per_second))
    x0, x1, y0, y1 = (int(round(f * d)) for f, d in zip(FACE_BOX, (probe.width, probe.width,
                                                                  probe.height, probe.height)))
    patches = []
    for _, frame in FrameStream(video, lambda i: i % every == 0):
        crop = frame[y0:y1, x0:x1].astype(np.float32).mean(-1)
        h, w = crop.shape
        ys = (np.arange(PATCH) * h / PATCH).astype(int)
        xs = (np.arange(PATCH) * w / PATCH).astype(int)
        patches.append(crop[np.ix_(ys, xs)] / 255.0)
    p = np.stack(patches)
    grad = np.abs(np.diff(p, axis=1)).mean(0)
    return np.concatenate([p.mean(0).ravel(), p.std(0).ravel(), grad.ravel()]), \
        appearance_names()


def appearance_names() -> list[str]:
    cells = [f"row {r} col {c}" for r in range(PATCH) for c in range(PATCH)]
    return [f"face brightness at {x}" for x in cells] + \
        [f"face change over time at {x}" for x in cells] + \
        [f"face horizontal edge at {x}" for x in cells[:(PATCH - 1) * PATCH]]


def _cache_key(video: Path, checkpoint: str, threshold: float, window: float,
               stride: float) -> str:
    st = video.stat()
    text = f"{video.resolve()}|{st.st_size}|{st.st_mtime_ns}|{checkpoint}|{threshold}|" \
           f"{window}|{stride}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


@dataclass
class Extractor:
    """Features of videos with one micro-action checkpoint, cached in ``cache``."""

    checkpoint: str
    cache: Path
    threshold: float = 0.3
    window: float = 2.0
    stride: float = 1.0
    progress: bool = True

    def __post_init__(self):
        self._predictor = None

    @property
    def predictor(self):
        if self._predictor is None:
            from microaction.inference import Predictor

            self._predictor = Predictor.from_checkpoint(self.checkpoint, num_clips=1,
                                                        test_crops=1)
        return self._predictor

    def __call__(self, video: Path) -> dict:
        """``{"actions": (F,), "appearance": (G,), "names": {...}}`` for one video."""
        from microaction.timeline import WindowScores, score_windows

        ck = Path(self.checkpoint)
        ck_id = f"{ck.resolve()}|{ck.stat().st_mtime_ns}"
        path = self.cache / f"{_cache_key(video, ck_id, self.threshold, self.window, self.stride)}.npz"
        if path.exists():
            with np.load(path) as z:
                scores = WindowScores(str(video), float(z["fps"]), int(z["frames"]),
                                      float(z["window"]), float(z["stride"]), z["starts"],
                                      z["probs"])
                appearance = z["appearance"]
        else:
            scores = score_windows(self.predictor, video, self.window, self.stride,
                                   progress=self.progress)
            appearance, _ = appearance_features(video)
            import io as _io

            buf = _io.BytesIO()
            np.savez_compressed(buf, starts=scores.starts, probs=scores.probs, fps=scores.fps,
                                frames=scores.length, window=scores.window,
                                stride=scores.stride, appearance=appearance)
            with atomic_write(path, "wb") as f:
                f.write(buf.getvalue())
        labels = self.labels
        actions, action_names = action_features(scores, labels, self.threshold)
        return {"actions": actions, "appearance": appearance, "action_names": action_names,
                "appearance_names": appearance_names(), "scores": scores}

    @property
    def labels(self) -> LabelSpace:
        from microaction.engine.checkpoint import load_checkpoint
        from microaction.inference import checkpoint_labels

        if not hasattr(self, "_labels"):
            self._labels = checkpoint_labels(load_checkpoint(self.checkpoint))
        return self._labels


def feature_matrix(items: list[dict], which: str) -> tuple[np.ndarray, list]:
    if which not in FEATURE_SETS:
        raise MicroactionError(f"features must be one of {', '.join(FEATURE_SETS)}, got "
                               f"{which!r}")
    names = []
    if which in ("actions", "both"):
        names += items[0]["action_names"]
    if which in ("appearance", "both"):
        names += items[0]["appearance_names"]
    rows = [np.concatenate(([it["actions"]] if which in ("actions", "both") else []) +
                           ([it["appearance"]] if which in ("appearance", "both") else []))
            for it in items]
    return np.stack(rows), names


# ----------------------------------------------------------------------------- the classifier


@dataclass
class EmotionModel:
    """Standardise -> multinomial logistic regression, as plain arrays."""

    classes: list
    feature_names: list
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray  # (classes, features)
    intercept: np.ndarray
    meta: dict

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        z = (np.atleast_2d(x) - self.mean) / self.scale
        logits = z @ self.coef.T + self.intercept
        logits -= logits.max(1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(1, keepdims=True)

    def evidence(self, x: np.ndarray, cls: int, top: int = 5):
        """The micro-action cues that pushed hardest toward (+) and away from (-) class
        ``cls`` -- (name, contribution in logits against the other classes' mean, value) --
        and, summed into one line, the face appearance's push."""
        z = (x - self.mean) / self.scale
        contrib = z * (self.coef[cls] - self.coef.mean(0))
        face = np.array([n.startswith("face ") for n in self.feature_names])
        action = np.flatnonzero(~face)
        order = action[np.argsort(-np.abs(contrib[action]))[:top]]
        out = [(self.feature_names[i], float(contrib[i]), float(x[i])) for i in order]
        if face.any():
            out.append((f"face appearance ({int(face.sum())} features together)",
                        float(contrib[face].sum()), float("nan")))
        return out

    def save(self, path: str | Path) -> None:
        write_json(path, {"format": "microaction-emotion-v1", "classes": self.classes,
                          "feature_names": self.feature_names, "mean": self.mean.tolist(),
                          "scale": self.scale.tolist(), "coef": self.coef.tolist(),
                          "intercept": self.intercept.tolist(), "meta": self.meta})

    @classmethod
    def load(cls, path: str | Path) -> "EmotionModel":
        path = Path(path)
        try:
            d = json.loads(path.read_text())
        except FileNotFoundError:
            raise MicroactionError(f"{path}: emotion model not found") from None
        except (OSError, ValueError, UnicodeDecodeError):
            raise MicroactionError(f"{path}: not an emotion model (expected JSON)") from None
        if not isinstance(d, dict) or d.get("format") != "microaction-emotion-v1":
            raise MicroactionError(f"{path}: not a microaction emotion model")
        return cls(d["classes"], d["feature_names"], np.array(d["mean"]), np.array(d["scale"]),
                   np.array(d["coef"]), np.array(d["intercept"]), d["meta"])


def fit_model(x: np.ndarray, y: list[str], names: list, folds: int = 5, c: float = 0.5,
              seed: int = 0, where: str = "labels") -> tuple[EmotionModel, dict]:
    """Cross-validated scores (accuracy and macro-F1: mean and spread over the folds), then the
    model fitted on everything."""
    from collections import Counter

    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_validate
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    counts = Counter(y)
    if len(counts) < 2:
        raise MicroactionError(f"{where}: needs at least two emotions, got {sorted(counts)}")
    few = {e: n for e, n in counts.items() if n < folds}
    if few:
        raise MicroactionError(f"{where}: {', '.join(f'{e} has {n}' for e, n in few.items())} "
                               f"example(s), fewer than the {folds} cross-validation folds "
                               f"(add videos or use --folds {min(counts.values())})")
    pipe = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000))
    cv = cross_validate(pipe, x, y, cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
                        scoring=("accuracy", "f1_macro"))
    report = {"folds": folds, "videos": len(y), "per_emotion": dict(counts),
              "accuracy": float(cv["test_accuracy"].mean()),
              "accuracy_sd": float(cv["test_accuracy"].std()),
              "f1_macro": float(cv["test_f1_macro"].mean()),
              "f1_macro_sd": float(cv["test_f1_macro"].std())}
    pipe.fit(x, y)
    scaler, lr = pipe[0], pipe[1]
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    coef, intercept = lr.coef_, lr.intercept_
    if coef.shape[0] == 1:  # binary: sigmoid(w z + b) = softmax over logits (0, w z + b)
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.concatenate([[0.0], intercept])
    model = EmotionModel(list(lr.classes_), list(names), scaler.mean_, scale, coef, intercept,
                         {"cv": report})
    return model, report
