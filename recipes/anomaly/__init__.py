"""Anomaly detection for monitoring signals: learn normal behaviour, score every step, flag
what does not fit.

    >>> from recipes import anomaly
    >>> result = anomaly.detect("lstm", "anomaly:InternalBleeding16", baselines=True)
    >>> result.metrics["auc_pr"], result.baselines["matrix_profile"]["auc_pr"]
    >>> det = anomaly.load_detector(result.run_id)             # later, on new data
    >>> steps = anomaly.score(det, load_anomaly("anomaly:file:new.csv"))

One module per concern: `config` (the detector's settings, declared once), `windows`
(cutting series, gathering window errors back to steps), `detector` (a trained detector,
saved and loaded with its threshold and normalisation), `detection` (the recipe: `detect`, `score`), `evaluation`
(thresholds and metrics), `metrics` (the metric functions), `baselines` (matrix profile,
isolation forest, rolling z-score), `runs` (files and MLflow). Data: `recipes.data.anomaly`.
See docs/anomaly.md.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DetectConfig", "DetectResult", "Detector", "detect", "load_detector", "score"]


def __getattr__(name: str) -> Any:  # light to import: NumPy, Keras and stumpy load on first use
    if name in ("detect", "DetectResult", "score"):
        from recipes.anomaly import detection as module

        return getattr(module, name)
    if name in ("Detector", "load_detector"):
        from recipes.anomaly import detector

        return getattr(detector, name)
    if name == "DetectConfig":
        from recipes.anomaly.config import DetectConfig

        return DetectConfig
    raise AttributeError(name)
