"""What a detector's scores are worth: the threshold fitted on normal scores, and the metrics
the anomaly-detection literature reports, the same for the zoo's detectors and the baselines.

- streams (one long series, labelled per step): AUC-ROC and AUC-PR per step, precision,
  recall and F1 of the flags at the threshold, range-based F1 (Tatbul et al. 2018), and the
  UCR archive's hit (is the highest score within 100 steps of the labelled range).
- collections (many series, labelled one by one): AUC-ROC and AUC-PR over the series scores
  (a series' score is its highest step score), precision, recall and F1 of the series flagged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from recipes.anomaly import metrics
from recipes.data.anomaly import AnomalyData, ranges_of
from recipes.errors import DataError

POT_LEVEL = 0.98


@dataclass(frozen=True)
class Threshold:
    """A fitted threshold and how it was fitted ("pot", or "quantile" when asked or when the
    normal scores are too few for a tail fit)."""

    value: float
    rule: str
    normal_scores: int


def fit_threshold(normal_scores: np.ndarray, rule: str, risk: float) -> Threshold:
    """The threshold above which a share `risk` of normal scores is expected."""
    normal = np.asarray(normal_scores, dtype=np.float64).reshape(-1)
    normal = normal[np.isfinite(normal)]
    if rule == "pot" and risk < 1 - POT_LEVEL:
        try:
            return Threshold(metrics.pot_threshold(normal, risk=risk, level=POT_LEVEL), "pot", normal.size)
        except DataError:  # too few normal scores above the initial level for a tail fit
            pass
    return Threshold(metrics.quantile_threshold(normal, q=1 - risk), "quantile", normal.size)


def filled(steps: np.ndarray) -> np.ndarray:
    """Step scores with the steps no window reached set to the lowest score (never flagged)."""
    steps = np.asarray(steps, dtype=np.float64)
    low = np.nanmin(steps) if np.isfinite(steps).any() else 0.0
    return np.where(np.isfinite(steps), steps, low)


def series_scores(steps: np.ndarray) -> np.ndarray:
    """One score per series `(m,)` from step scores `(m, T)`: its highest step."""
    return filled(steps).max(axis=1)


def evaluate(data: AnomalyData, steps: np.ndarray, threshold: float) -> dict[str, float]:
    """The metrics of step scores `(m, T)` on `data`'s labels (empty when it has none)."""
    scores = filled(steps)
    out: dict[str, float] = {"threshold": float(threshold)}
    if data.kind == "stream" and data.step_labels is not None:
        labels, flat = data.step_labels.reshape(-1), scores.reshape(-1)
        out.update(auc_roc=metrics.auc_roc(labels, flat), auc_pr=metrics.auc_pr(labels, flat))
        point = metrics.f1_at(labels, flat, threshold)
        out.update(precision=point.precision, recall=point.recall, f1=point.f1)
        out["range_f1"] = metrics.range_f1(labels, flat > threshold).f1
        if data.ranges:
            out["ucr_hit"] = float(metrics.ucr_score(flat, data.ranges))
            out["ucr_distance"] = float(_distance(int(np.argmax(flat)), data.ranges))
    elif data.series_labels is not None:
        series = series_scores(steps)
        out.update(metrics.series_aucs(data.series_labels, series))
        point = metrics.f1_at(data.series_labels, series, threshold)
        out.update(precision=point.precision, recall=point.recall, f1=point.f1)
    out["flagged"] = float((scores > threshold).mean())
    return {k: v for k, v in out.items() if not (isinstance(v, float) and math.isnan(v))}


def flagged_ranges(steps: np.ndarray, threshold: float) -> tuple[tuple[int, int], ...]:
    """The half-open ranges of one series' steps above the threshold."""
    return ranges_of(filled(steps) > threshold)


def _distance(where: int, ranges: tuple[tuple[int, int], ...]) -> int:
    """Steps from `where` to the nearest labelled range (0 inside one)."""
    return min(0 if a <= where < b else (a - where if where < a else where - b + 1) for a, b in ranges)
