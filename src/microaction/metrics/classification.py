"""The MA-52 paper's metrics, as pure functions of per-video class scores and labels.

Body prediction = the body part of the top-1 action (not a separate head). F1 macro/micro come
from scikit-learn's ``f1_score`` (macro over the classes present in truth or prediction).
F1_mean = mean of action F1 macro, action F1 micro, body F1 macro, body F1 micro.
A label set without body parts (not MA-52) gets no body metrics (None) and F1_mean over the two
action F1s.
"""

from __future__ import annotations

import numpy as np

from microaction.labels import ACTION_TO_BODY

HEADLINE = ("action_top1", "action_top5", "body_top1", "action_f1_macro", "action_f1_micro",
            "body_f1_macro", "body_f1_micro", "f1_mean")


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    k = min(k, scores.shape[1])
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float((top == labels[:, None]).any(1).mean())


def ma52_report(scores: np.ndarray, labels: np.ndarray, action_to_body=ACTION_TO_BODY) -> dict:
    """Headline metrics (fractions in [0, 1]) plus mean class accuracy and confusion matrices.

    ``scores``: ``(N, K)`` per-video scores (softmax probabilities averaged over views);
    ``labels``: ``(N,)`` action ids; ``action_to_body``: body id per action, or None.
    """
    from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

    scores, labels = np.asarray(scores, np.float64), np.asarray(labels, np.int64)
    if scores.ndim != 2 or len(scores) != len(labels):
        raise ValueError(f"scores {scores.shape} and labels {labels.shape} do not match")
    k = scores.shape[1]
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or inf")
    pred = scores.argmax(1)
    rep = {
        "action_top1": float((pred == labels).mean()),
        "action_top5": topk_accuracy(scores, labels, 5),
        "body_top1": None,
        "action_f1_macro": float(f1_score(labels, pred, average="macro")),
        "action_f1_micro": float(f1_score(labels, pred, average="micro")),
        "body_f1_macro": None,
        "body_f1_micro": None,
    }
    a2b = None if action_to_body is None else np.asarray(action_to_body)
    if a2b is not None:
        if len(a2b) != k:
            raise ValueError(f"{k} score columns but an action->body map of {len(a2b)} actions")
        body_true, body_pred = a2b[labels], a2b[pred]
        rep["body_top1"] = float((body_pred == body_true).mean())
        rep["body_f1_macro"] = float(f1_score(body_true, body_pred, average="macro"))
        rep["body_f1_micro"] = float(f1_score(body_true, body_pred, average="micro"))
    rep["f1_mean"] = f1_mean(rep)
    cm = confusion_matrix(labels, pred, labels=np.arange(k))
    present = cm.sum(1) > 0
    rep["mean_class_accuracy"] = float((np.diag(cm)[present] / cm.sum(1)[present]).mean())
    p, r, f, s = precision_recall_fscore_support(labels, pred, labels=np.arange(k),
                                                 zero_division=0)
    rep["per_class"] = {"precision": p.tolist(), "recall": r.tolist(), "f1": f.tolist(),
                        "support": s.tolist()}
    rep["action_confusion"] = cm.tolist()
    rep["body_confusion"] = None if a2b is None else confusion_matrix(
        body_true, body_pred, labels=np.arange(int(a2b.max()) + 1)).tolist()
    rep["num_videos"] = int(len(labels))
    return rep


def f1_mean(rep: dict) -> float:
    """The paper's F1_mean: the mean of the four F1s (of the two action F1s without a body
    level)."""
    parts = [rep[k] for k in ("action_f1_macro", "action_f1_micro", "body_f1_macro",
                              "body_f1_micro") if rep.get(k) is not None]
    return sum(parts) / len(parts)


def format_table(rep: dict) -> str:
    """The headline metrics as a printed table (percentages; n/a where there is no body
    level)."""
    width = max(len(k) for k in HEADLINE)
    return "\n".join(f"{k:<{width}}  {'n/a' if rep.get(k) is None else f'{100 * rep[k]:6.2f} %'}"
                     for k in HEADLINE)
