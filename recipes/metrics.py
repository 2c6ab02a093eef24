"""Final test metrics, computed in NumPy from predictions (the same for every backend)."""

from __future__ import annotations

import numpy as np


def classification_metrics(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Accuracy, macro-F1 and log loss of class probabilities `proba` `(n, classes)`."""
    from sklearn.metrics import f1_score, log_loss

    y_true = np.asarray(y_true).astype(int)
    pred = proba.argmax(axis=-1)
    classes = np.arange(proba.shape[-1])
    clipped = np.clip(proba, 1e-7, 1.0)
    return {
        "accuracy": float((pred == y_true).mean()),
        "macro_f1": float(f1_score(y_true, pred, average="macro", labels=classes, zero_division=0)),
        "log_loss": float(log_loss(y_true, clipped / clipped.sum(axis=-1, keepdims=True), labels=classes)),
    }


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MAE, RMSE, MAPE (%, over non-zero targets) and sMAPE (%), in the data's own units."""
    y_true = np.asarray(y_true, dtype="float64")
    y_pred = np.asarray(y_pred, dtype="float64")
    err = y_pred - y_true
    nonzero = np.abs(y_true) > 1e-12
    denom = np.abs(y_true) + np.abs(y_pred)
    smape = np.where(denom > 1e-12, 2.0 * np.abs(err) / np.where(denom > 1e-12, denom, 1.0), 0.0)
    return {
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err**2).mean())),
        "mape": float(100.0 * np.abs(err[nonzero] / y_true[nonzero]).mean()) if nonzero.any() else float("nan"),
        "smape": float(100.0 * smape.mean()),
    }


def forecast_metrics(y_true: np.ndarray, y_pred: np.ndarray, mase_scale: np.ndarray | None) -> dict[str, float]:
    """`regression_metrics` of forecasts `(windows, horizon, targets)`, plus the MAE of each
    horizon step (`mae_step_1` ...) and, given each target's in-sample seasonal-naive MAE
    (`recipes.forecasting.mase_scale`), MASE: the MAE in units of that scale, averaged over targets."""
    y_true = np.asarray(y_true, dtype="float64")
    y_pred = np.asarray(y_pred, dtype="float64")
    out = regression_metrics(y_true, y_pred)
    per_step = np.abs(y_pred - y_true).mean(axis=(0, 2))
    out.update({f"mae_step_{k + 1}": float(v) for k, v in enumerate(per_step)})
    if mase_scale is not None:
        per_target = np.abs(y_pred - y_true).mean(axis=(0, 1)) / np.asarray(mase_scale, dtype="float64")
        out["mase"] = float(per_target.mean())
    return out
