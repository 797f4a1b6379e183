"""Metrics: the MA-52 paper's classification metrics (``classification``); pure functions of
scores and labels (no torch)."""

from microaction.metrics.classification import (HEADLINE, f1_mean, format_table, ma52_report,
                                                topk_accuracy)

__all__ = ["HEADLINE", "f1_mean", "format_table", "ma52_report", "topk_accuracy"]
