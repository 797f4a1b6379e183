"""Temporal detection metrics: ActivityNet-style interpolated average precision per class at
temporal IoU thresholds 0.1 ... 0.9, mAP over classes, and its mean over the thresholds (the
headline of multi-label micro-action detection, MMAD).

Matching, per class and threshold: predictions are taken by descending score; each is a true
positive if, among the ground-truth instances of its video not yet matched, the one with the
highest tIoU reaches the threshold -- that instance is then used up, so a duplicate of a found
instance counts as a false positive, and a prediction matches at most one instance. AP is the
area under the precision envelope (precision made non-increasing in recall), summed over the
recall steps. As in the ActivityNet evaluation, the mean is over the classes that occur in the
ground truth; predictions of classes absent from it are left out (they have no AP to lower).
A class with ground truth and no prediction has AP 0; no predictions at all give mAP 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

THRESHOLDS = tuple(round(0.1 * k, 1) for k in range(1, 10))


@dataclass(frozen=True)
class Instance:
    video: str
    start: float  # seconds
    end: float
    label: int
    score: float = 1.0


def tiou(start: float, end: float, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Temporal IoU of one interval against many."""
    inter = np.clip(np.minimum(end, ends) - np.maximum(start, starts), 0, None)
    union = (end - start) + (ends - starts) - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def interpolated_ap(precision: np.ndarray, recall: np.ndarray) -> float:
    """Area under the precision envelope over recall (ActivityNet's interpolation)."""
    p = np.concatenate([[0.0], precision, [0.0]])
    r = np.concatenate([[0.0], recall, [1.0]])
    for i in range(len(p) - 2, -1, -1):
        p[i] = max(p[i], p[i + 1])
    steps = np.flatnonzero(r[1:] != r[:-1]) + 1
    return float(np.sum((r[steps] - r[steps - 1]) * p[steps]))


def average_precision(gt: list[Instance], pred: list[Instance], threshold: float) -> float:
    """AP of one class at one tIoU threshold (``gt`` and ``pred`` of that class only)."""
    if not gt:
        raise ValueError("average precision needs at least one ground-truth instance")
    if not pred:
        return 0.0
    by_video: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for v in {g.video for g in gt}:
        mine = [g for g in gt if g.video == v]
        by_video[v] = (np.array([g.start for g in mine]), np.array([g.end for g in mine]))
    used = {v: np.zeros(len(s), bool) for v, (s, _) in by_video.items()}
    order = sorted(range(len(pred)), key=lambda i: -pred[i].score)
    tp = np.zeros(len(pred))
    for rank, i in enumerate(order):
        p = pred[i]
        if p.video not in by_video:
            continue
        starts, ends = by_video[p.video]
        iou = tiou(p.start, p.end, starts, ends)
        for j in np.argsort(-iou, kind="stable"):
            if iou[j] < threshold:
                break
            if not used[p.video][j]:
                used[p.video][j] = True
                tp[rank] = 1
                break
    cum_tp = np.cumsum(tp)
    precision = cum_tp / np.arange(1, len(pred) + 1)
    recall = cum_tp / len(gt)
    return interpolated_ap(precision, recall)


def detection_map(gt: list[Instance], pred: list[Instance],
                  thresholds=THRESHOLDS) -> dict:
    """``{"map": {threshold: mAP}, "average": mean over thresholds, "per_class": {class:
    {threshold: AP}}, "classes": [...]}``; classes = those in the ground truth."""
    classes = sorted({g.label for g in gt})
    if not classes:
        raise ValueError("the ground truth has no instances")
    per_class = {}
    for c in classes:
        g = [x for x in gt if x.label == c]
        p = [x for x in pred if x.label == c]
        per_class[c] = {t: average_precision(g, p, t) for t in thresholds}
    maps = {t: float(np.mean([per_class[c][t] for c in classes])) for t in thresholds}
    return {"map": maps, "average": float(np.mean(list(maps.values()))),
            "per_class": per_class, "classes": classes,
            "num_ground_truth": len(gt), "num_predictions": len(pred)}


def to_body_level(instances: list[Instance], action_to_body) -> list[Instance]:
    """The same instances with each class replaced by its body part."""
    return [Instance(i.video, i.start, i.end, int(action_to_body[i.label]), i.score)
            for i in instances]
