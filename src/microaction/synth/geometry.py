"""Where each body part is, frame by frame, in a synthetic clip: the ground truth that tells
whether an explanation points at the acting body part.

A body part's box, per frame, surrounds the landmarks of that part that move in the clip (more
than ``moving`` body units from their median position; all of the part's landmarks if none
does), padded by the part's drawn size. For the hand-to-body classes the acting part is the
hand that moves (and, for head-hand, where it goes is the head).
"""

from __future__ import annotations

import numpy as np

from microaction.labels import body_of
from microaction.synth.figure import _arm_geometry, skeleton

# body part id -> (landmarks, padding in body units)
PART_LANDMARKS = {
    0: (("hip", "neck", "shoulder0", "shoulder1", "chest"), 0.15),
    1: (("head", "face", "crown", "nose"), 0.2),
    2: (("elbow0", "elbow1", "hand0", "hand1"), 0.12),
    3: (("knee0", "knee1", "ankle0", "ankle1", "foot0", "foot1"), 0.12),
    4: (("hand0", "hand1"), 0.12),
    5: (("hand0", "hand1"), 0.12),
    6: (("hand0", "hand1"), 0.12),
}


def landmarks(scene) -> dict[str, np.ndarray]:
    """Every landmark's position per frame, ``(T, 2)`` in body units (skeleton + arms)."""
    frames = [skeleton(p, scene.app) for p in scene.poses]
    out = {k: np.stack([f[k] for f in frames]) for k in frames[0]
           if np.ndim(frames[0][k]) == 1 and len(frames[0][k]) == 2}
    for k, arm in enumerate(_arm_geometry(scene.poses, scene.app, frames)):
        out[f"elbow{k}"], out[f"hand{k}"] = arm["elbow"], arm["hand"]
    return out


def part_boxes(scene, action_id: int, moving: float = 0.03) -> np.ndarray:
    """``(T, 4)`` boxes (x0, y0, x1, y1) in frame pixels around the acting body part of
    ``action_id``."""
    names, pad = PART_LANDMARKS[body_of(action_id)]
    marks = landmarks(scene)
    pts = np.stack([marks[n] for n in names], 1)  # (T, L, 2)
    travel = np.abs(pts - np.median(pts, 0, keepdims=True)).max(axis=(0, 2))  # (L,)
    use = travel > moving
    pts = pts[:, use] if use.any() else pts
    cam = scene.cam
    x = cam.cx + scene.jitter[:, :1] + cam.scale * pts[..., 0]
    y = cam.cy + scene.jitter[:, 1:] - cam.scale * pts[..., 1]
    p = cam.scale * pad
    return np.stack([x.min(1) - p, y.min(1) - p, x.max(1) + p, y.max(1) + p], 1)


def to_crop(boxes: np.ndarray, width: int, height: int, short_side: int, size: int) -> np.ndarray:
    """Frame-pixel boxes -> the model's input crop (short side resized, centre-cropped)."""
    s = short_side / min(width, height)
    ox, oy = (width * s - size) / 2, (height * s - size) / 2
    return boxes * s - np.array([ox, oy, ox, oy])
