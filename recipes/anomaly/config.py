"""How a detector is made, declared once like `TrainConfig`: each field a `zoo detect --flag`.

Light to import (no Keras, no NumPy work), so the command line builds its flags from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from zoo.params import Choice, Float, Int, hp, make_config

TASK = "anomaly"  # the runs' task tag (`recipes.tasks` ranks them by test_auc_pr)
MODES = ("forecast", "reconstruct")
THRESHOLDS = ("pot", "quantile")
# What a detector's model trains with, whatever forecasting's defaults: windows are already
# standardised by the normal data's statistics, and normalising each window by its own level (the
# forecasting head's default) would hide a sustained shift after its first steps; its scores are
# squared errors, so it learns on them (mse; forecasting's own default is mae).
DEFAULTS = {"window_norm": "none", "loss": "mse"}


@dataclass(frozen=True)
class DetectConfig:
    """A detector's windows, what its model learns on them, and how its threshold is fitted."""

    mode: str = hp(
        "forecast",
        Choice(MODES),
        tune=False,
        doc="forecast: each window predicts the steps after it (LSTM-AD, Malhotra et al. 2015); reconstruct: "
        "it reproduces itself through the model's bottleneck (an autoencoder)",
    )
    window: int | None = hp(
        None,
        Int(4, 4096),
        tune=False,
        doc="steps a window sees [default: the normal data's period (autocorrelation), else a tenth of a test "
        "series, within 8-256]",
    )
    horizon: int | None = hp(
        None, Int(1, 1024), tune=False, doc="forecast mode: steps each window predicts [default: window / 8]"
    )
    threshold: str = hp(
        "pot",
        Choice(THRESHOLDS),
        tune=False,
        doc="the flagging threshold, fitted on held-out normal scores: pot (peaks over threshold, a GPD tail, "
        "Siffer et al. 2017) or quantile",
    )
    risk: float = hp(1e-3, Float(1e-6, 0.5), tune=False, doc="share of normal steps expected above the threshold")
    normal_fraction: float = hp(
        0.2,
        Float(0.05, 0.5),
        tune=False,
        doc="share of the normal data held out (the end of a stream, whole series of a collection): early "
        "stopping and the threshold",
    )


def detect_config(overrides: Mapping[str, Any] | None = None) -> DetectConfig:
    """A validated `DetectConfig` (None values keep defaults)."""
    return make_config(DetectConfig, dict(overrides or {}), model="detect")
