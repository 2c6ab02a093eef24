"""Anomaly-detection metrics and thresholds: what the literature reports, on NumPy arrays.

Scores are "higher = more anomalous". Labels are booleans (True = anomalous). Per-step
functions take arrays of any shape and flatten them (a stream `(1, T)` or `(T,)`, or every
step of a collection); ranges are half-open `(start, stop)` step indices.

- `auc_roc`, `auc_pr`: threshold-free, per step (scikit-learn; AUC-PR is average precision).
- `range_f1`: range-based precision, recall and F1 (Tatbul et al., "Precision and Recall
  for Time Series", NeurIPS 2018), which credits a detector for finding each anomalous range
  rather than for each step, so one long range does not outweigh several short ones.
- `f1_at`: point-wise precision, recall and F1 of the flags `scores > threshold`.
- `ucr_score`: the UCR anomaly archive's rule (Wu & Keogh, "Current Time Series Anomaly
  Detection Benchmarks are Flawed and are Creating the Illusion of Progress", IEEE TKDE 2021):
  the location of the highest score must fall inside the labelled range, +/- 100 steps.
- `series_aucs`: AUC-ROC and AUC-PR over a collection, one score per series.
- Thresholds, calibrated on scores of normal data only (never on test labels):
  `quantile_threshold` and `pot_threshold` / `fit_pot` (peaks over threshold, the initial
  step of SPOT: Siffer et al., "Anomaly Detection in Streams with Extreme Value Theory",
  KDD 2017).

Scikit-learn and SciPy are imported inside the functions that need them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from recipes.data.anomaly import ranges_of
from recipes.errors import DataError

BIASES = ("flat", "front", "back", "middle")
CARDINALITIES = ("one", "reciprocal")


def _pair(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels and scores flattened and checked: same size, finite scores."""
    y = np.asarray(labels).reshape(-1).astype(bool)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if y.shape != s.shape:
        raise DataError(f"labels ({y.size} values) and scores ({s.size} values) differ in size")
    if not np.isfinite(s).all():
        raise DataError(f"scores have {int((~np.isfinite(s)).sum())} NaN or infinite values; fill them first")
    return y, s


def auc_roc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve, per step; NaN when the labels hold a single class."""
    from sklearn.metrics import roc_auc_score

    y, s = _pair(labels, scores)
    return float(roc_auc_score(y, s)) if 0 < y.sum() < y.size else math.nan


def auc_pr(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the precision-recall curve (average precision), per step; NaN without anomalies."""
    from sklearn.metrics import average_precision_score

    y, s = _pair(labels, scores)
    return float(average_precision_score(y, s)) if y.any() else math.nan


def series_aucs(series_labels: np.ndarray, series_scores: np.ndarray) -> dict[str, float]:
    """AUC-ROC and AUC-PR of a collection, one label and one score per series."""
    return {"auc_roc": auc_roc(series_labels, series_scores), "auc_pr": auc_pr(series_labels, series_scores)}


@dataclass(frozen=True)
class PRF:
    """Precision, recall and F1 (F1 is 0 when precision and recall are both 0)."""

    precision: float
    recall: float
    f1: float


def _prf(precision: float, recall: float) -> PRF:
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return PRF(float(precision), float(recall), float(f1))


def f1_at(labels: np.ndarray, scores: np.ndarray, threshold: float) -> PRF:
    """Point-wise precision, recall and F1 of the flags `scores > threshold`.

    Precision is 0 when nothing is flagged; recall is NaN when nothing is anomalous.
    """
    y, s = _pair(labels, scores)
    flags = s > threshold
    hits = int((flags & y).sum())
    precision = hits / flags.sum() if flags.any() else 0.0
    if not y.any():
        return PRF(float(precision), math.nan, math.nan)
    return _prf(precision, hits / y.sum())


def _positional(length: int, bias: str) -> np.ndarray:
    """Tatbul et al.'s positional bias delta(i, length) for i = 1..length."""
    i = np.arange(1, length + 1, dtype=np.float64)
    if bias == "flat":
        return np.ones(length)
    if bias == "front":
        return length - i + 1
    if bias == "back":
        return i
    return np.where(i <= length / 2, i, length - i + 1)  # middle


def _overlap_reward(target: tuple[int, int], others: list[tuple[int, int]], bias: str, cardinality: str) -> float:
    """Cardinality factor times omega: the biased share of `target` covered by `others`."""
    start, stop = target
    weights = _positional(stop - start, bias)
    covered = np.zeros(stop - start, dtype=bool)
    touching = 0
    for a, b in others:
        lo, hi = max(a, start), min(b, stop)
        if lo < hi:
            covered[lo - start : hi - start] = True
            touching += 1
    if touching == 0:
        return 0.0
    gamma = 1.0 if cardinality == "one" or touching == 1 else 1.0 / touching
    return gamma * float(weights[covered].sum() / weights.sum())


def range_f1(
    labels: np.ndarray, flags: np.ndarray, *, alpha: float = 0.0, bias: str = "flat", cardinality: str = "reciprocal"
) -> PRF:
    """Range-based precision, recall and F1 of 1-D step flags (Tatbul et al., NeurIPS 2018).

    Each real range R_i earns recall `alpha * existence + (1 - alpha) * gamma * omega`, where
    existence is 1 when any flagged step falls in R_i, omega the (positionally biased) share
    of R_i that is flagged, and gamma the cardinality factor (1, or 1/k when k flagged ranges
    cut it). Each flagged range P_j earns precision `gamma * omega` over P_j. Recall and
    precision are the means over the real and flagged ranges. The defaults (alpha 0, flat
    bias, reciprocal cardinality) are the paper's recommended setting for range-level scoring.

    Args:
        labels: True at anomalous steps, 1-D (or `(1, T)`).
        flags: True at flagged steps, the same shape.
        alpha: Weight of merely detecting a range (existence reward) in recall, in [0, 1].
        bias: Positional bias: "flat", "front", "back" or "middle".
        cardinality: "reciprocal" (penalise a range found in k pieces) or "one" (do not).

    Returns:
        Precision (0 when nothing is flagged), recall (NaN without real ranges) and F1.
    """
    if bias not in BIASES or cardinality not in CARDINALITIES or not 0.0 <= alpha <= 1.0:
        raise DataError(f"range_f1: bias in {BIASES}, cardinality in {CARDINALITIES}, alpha in [0, 1]")
    y, f = _pair(labels, np.asarray(flags, dtype=np.float64))
    real, predicted = ranges_of(y), ranges_of(f > 0)
    if not real:
        return PRF(0.0 if predicted else math.nan, math.nan, math.nan)
    recall = np.mean(
        [
            alpha * float(f[a:b].any()) + (1 - alpha) * _overlap_reward((a, b), predicted, bias, cardinality)
            for a, b in real
        ]
    )
    precision = np.mean([_overlap_reward(p, real, bias, cardinality) for p in predicted]) if predicted else 0.0
    return _prf(float(precision), float(recall))


def ucr_score(scores: np.ndarray, ranges: list[tuple[int, int]] | tuple, *, tolerance: int = 100) -> bool:
    """The UCR anomaly archive's hit: the highest score lies in a labelled range +/- `tolerance`.

    Args:
        scores: Per-step scores of one stream, 1-D (or `(1, T)`).
        ranges: Labelled ranges as half-open `(start, stop)` step indices.
        tolerance: Steps allowed on either side of a range (the archive uses 100).

    Returns:
        True when `argmax(scores)` (the first one, on ties) is within `[start - tolerance,
        stop - 1 + tolerance]` of some range.
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if not np.isfinite(s).all():
        raise DataError("ucr_score: scores have NaN or infinite values; fill them first")
    if not len(ranges):
        raise DataError("ucr_score needs at least one labelled range")
    where = int(np.argmax(s))
    return any(a - tolerance <= where <= b - 1 + tolerance for a, b in ranges)


def quantile_threshold(normal_scores: np.ndarray, q: float = 0.99) -> float:
    """The `q` quantile of scores on normal data (a share `1 - q` of normal steps is flagged)."""
    s = _normal(normal_scores)
    if not 0.0 < q < 1.0:
        raise DataError(f"quantile_threshold: q={q} must be between 0 and 1 (exclusive)")
    return float(np.quantile(s, q))


def _normal(normal_scores: np.ndarray) -> np.ndarray:
    s = np.asarray(normal_scores, dtype=np.float64).reshape(-1)
    s = s[np.isfinite(s)]
    if s.size < 10:
        raise DataError(f"a threshold needs scores of at least 10 normal steps, not {s.size}")
    return s


@dataclass(frozen=True)
class PotFit:
    """A peaks-over-threshold fit (Siffer et al., KDD 2017).

    Attributes:
        threshold: The score exceeded with probability `risk` under the fitted tail.
        initial: The initial threshold t (the `level` quantile of the normal scores).
        shape: The GPD shape xi of the excesses over t (0: exponential tail).
        scale: The GPD scale sigma.
        peaks: How many normal scores exceed t.
        n: How many normal scores were used.
        risk: The target probability of a normal score above `threshold`.
    """

    threshold: float
    initial: float
    shape: float
    scale: float
    peaks: int
    n: int
    risk: float


def fit_pot(normal_scores: np.ndarray, *, risk: float = 1e-3, level: float = 0.98) -> PotFit:
    """Peaks over threshold: fit a generalised Pareto tail to the normal scores' excesses.

    The excesses `Y = X - t` over the initial threshold `t` (the `level` quantile) are fitted
    with a GPD by maximum likelihood (SciPy, location fixed at 0); the threshold is then
    `z_q = t + sigma / xi * ((q n / N_t) ** -xi - 1)`, or `t - sigma * log(q n / N_t)` as xi
    tends to 0, for risk q, n scores and N_t peaks (Siffer et al. 2017, eq. 1 and 2).

    Args:
        normal_scores: Scores of normal data only (never test data with labels).
        risk: Target false-alarm probability q per step (smaller than `1 - level`).
        level: The quantile used as the initial threshold t.

    Returns:
        The fit; `fit.threshold` is the calibrated threshold.
    """
    from scipy import stats

    s = _normal(normal_scores)
    if not 0.0 < level < 1.0 or not 0.0 < risk < 1.0 - level:
        raise DataError(f"fit_pot: need 0 < level < 1 and 0 < risk < 1 - level (got level={level}, risk={risk})")
    t = float(np.quantile(s, level))
    excesses = s[s > t] - t
    if excesses.size < 5:
        raise DataError(f"fit_pot: only {excesses.size} normal scores exceed the {level} quantile; lower level")
    shape, _, scale = stats.genpareto.fit(excesses, floc=0.0)
    ratio = risk * s.size / excesses.size
    if abs(shape) < 1e-6:
        z = t - scale * math.log(ratio)
    else:
        z = t + scale / shape * (ratio ** (-shape) - 1.0)
    return PotFit(float(z), t, float(shape), float(scale), int(excesses.size), int(s.size), float(risk))


def pot_threshold(normal_scores: np.ndarray, *, risk: float = 1e-3, level: float = 0.98) -> float:
    """The peaks-over-threshold threshold of normal scores (see `fit_pot`)."""
    return fit_pot(normal_scores, risk=risk, level=level).threshold
