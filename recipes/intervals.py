"""Forecast intervals by split conformal prediction: how far a model's forecasts missed on the
validation windows says how wide its interval must be on new ones.

For each horizon step and target, the half-width is the ceil((n + 1) * level)-th smallest absolute
error over the n validation windows (Vovk et al. 2005; Lei et al. 2018, "Distribution-Free
Predictive Inference for Regression", JASA); the interval is the point forecast plus or minus it.
Were the validation windows exchangeable with the test windows and unseen in training, the
interval would cover at least `level` of the test values. Two things bend that here: the
validation windows picked the kept epoch (early stopping), which flatters them a little, and a
series' later windows are not exchangeable with its earlier ones. So the coverage is measured on
the test windows and reported beside the width (`coverage_80`, `interval_width_80`), never assumed.

    >>> widths = half_widths(val_truth, val_forecast)        # (horizon, targets), or None
    >>> scores(test_truth, test_forecast, widths)            # {"coverage_80": ..., "interval_width_80": ...}
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

LEVEL = 0.8  # the interval's nominal coverage: the 10% and 90% quantiles around the forecast
FILE = "forecast_interval.json"  # a run folder's half-widths, in data units


def half_widths(truth: np.ndarray, forecast: np.ndarray, level: float = LEVEL) -> np.ndarray | None:
    """Per (horizon step, target) half-widths from validation windows `(n, horizon, targets)` in
    data units; None where n is too small to calibrate `level` (fewer than 1 / (1 - level) - 1)."""
    errors = np.sort(np.abs(np.asarray(truth, float) - np.asarray(forecast, float)), axis=0)
    rank = math.ceil((len(errors) + 1) * level)
    return None if rank > len(errors) or rank < 1 else errors[rank - 1]


def scores(truth: np.ndarray, forecast: np.ndarray, widths: np.ndarray, level: float = LEVEL) -> dict[str, float]:
    """The share of test values inside forecast ± widths, and the interval's mean width."""
    inside = np.abs(np.asarray(truth, float) - np.asarray(forecast, float)) <= widths
    tag = f"{round(100 * level)}"
    return {f"coverage_{tag}": float(inside.mean()), f"interval_width_{tag}": float(2 * np.mean(widths))}


def save(widths: np.ndarray, run_dir: Path, level: float = LEVEL) -> Path:
    """The half-widths beside the model, for whoever forecasts with it later."""
    path = Path(run_dir) / FILE
    path.write_text(json.dumps({"level": level, "half_widths": np.asarray(widths).tolist(),
                                "shape": "(horizon, targets), data units"}, indent=1))  # fmt: skip
    return path


def load(run_dir: Path) -> np.ndarray | None:
    """A run folder's saved half-widths `(horizon, targets)`, or None where it has none."""
    path = Path(run_dir) / FILE
    return np.asarray(json.loads(path.read_text())["half_widths"], dtype=float) if path.exists() else None
