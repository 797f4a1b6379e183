import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, top_k_accuracy_score

from microaction.labels import ACTION_TO_BODY
from microaction.metrics import HEADLINE, f1_mean, format_table, ma52_report


def test_against_independent_sklearn_calls():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 52, 400)
    scores = rng.random((400, 52))
    scores[np.arange(400)[:200], labels[:200]] += 0.8  # half the videos mostly right
    rep = ma52_report(scores, labels)
    a2b = np.array(ACTION_TO_BODY)
    pred = scores.argmax(1)
    assert rep["action_top1"] == pytest.approx(accuracy_score(labels, pred))
    assert rep["action_top5"] == pytest.approx(
        top_k_accuracy_score(labels, scores, k=5, labels=np.arange(52)))
    assert rep["action_f1_macro"] == pytest.approx(f1_score(labels, pred, average="macro"))
    assert rep["body_f1_macro"] == pytest.approx(f1_score(a2b[labels], a2b[pred], average="macro"))
    assert rep["action_f1_micro"] == pytest.approx(rep["action_top1"])  # single-label data
    assert rep["body_f1_micro"] == pytest.approx(rep["body_top1"])
    assert rep["f1_mean"] == pytest.approx(np.mean([
        f1_score(labels, pred, average="macro"), accuracy_score(labels, pred),
        f1_score(a2b[labels], a2b[pred], average="macro"),
        accuracy_score(a2b[labels], a2b[pred])]))
    assert all(0 <= rep[k] <= 1 for k in HEADLINE)
    assert np.sum(rep["action_confusion"]) == 400 and len(rep["body_confusion"]) == 7


def test_body_prediction_is_body_of_top1_action():
    scores = np.zeros((2, 52))
    scores[0, 10] = 1  # shaking head (head) for a nodding video: wrong action, right body
    scores[1, 43] = 1  # touching nose (head-hand) for nodding: wrong body
    rep = ma52_report(scores, np.array([9, 9]))
    assert rep["action_top1"] == 0 and rep["body_top1"] == 0.5


def test_paper_numbers_are_consistent():
    rep = {"body_f1_macro": 0.7287, "body_f1_micro": 0.7895, "action_f1_macro": 0.4922,
           "action_f1_micro": 0.6133}
    assert round(100 * f1_mean(rep), 2) == 65.59


def test_table_and_shape_errors():
    rep = ma52_report(np.eye(52), np.arange(52))
    assert "f1_mean" in format_table(rep) and "100.00" in format_table(rep)
    with pytest.raises(ValueError, match="do not match"):
        ma52_report(np.eye(52), np.arange(51))


def test_label_set_without_body_level_has_no_body_metrics():
    """Ten classes (not MA-52): body metrics are absent, not invented, and F1_mean is the mean of
    the two action F1s."""
    labels = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1])
    scores = np.eye(10)[[0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 1]]
    rep = ma52_report(scores, labels, None)
    assert rep["body_top1"] is None and rep["body_confusion"] is None
    macro = f1_score(labels, scores.argmax(1), average="macro")
    assert rep["f1_mean"] == pytest.approx((macro + 10 / 12) / 2)
    assert "n/a" in format_table(rep)
