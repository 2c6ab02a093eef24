"""Pictures a run logs: learning curves, confusion matrix, forecast against actual, anomaly scores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from recipes.intervals import LEVEL


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt: Any, fig: Any, path: Path) -> Path:
    """Lay out, write and close a figure: every picture at the same resolution."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def learning_curves(history: dict[str, list[float]], path: Path, title: str) -> Path:
    """Train/val loss and the first metric per epoch, one panel each."""
    plt = _pyplot()
    names = [k for k in history if not k.startswith("val_") and k not in ("learning_rate", "lr")]
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.6), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        epochs = np.arange(1, len(history[name]) + 1)
        ax.plot(epochs, history[name], label="train")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    return _save(plt, fig, path)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, class_names: list[str], path: Path, title: str) -> Path:
    """Counts of true (rows) against predicted (columns) classes on the test split."""
    from sklearn.metrics import confusion_matrix as counts

    plt = _pyplot()
    k = len(class_names)
    cm = counts(y_true, y_pred, labels=np.arange(k))
    size = min(12, 2.5 + 0.5 * k)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(k), class_names, rotation=45, ha="right")
    ax.set_yticks(range(k), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 20:
        top = cm.max() or 1
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", color="white" if cm[i, j] > top / 2 else "black")
    ax.set_title(title)
    return _save(plt, fig, path)


def forecast_vs_actual(y_true: np.ndarray, y_pred: np.ndarray, target_names: list[str], path: Path, title: str) -> Path:
    """Test forecasts in the data's units: one-step-ahead along the split, and one full horizon.

    `y_true`, `y_pred`: `(windows, horizon, targets)`; the first target is drawn.
    """
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": [2, 1]})
    name = target_names[0] if target_names else "target"
    left.plot(y_true[:, 0, 0], label="actual", color="black")
    left.plot(y_pred[:, 0, 0], label="forecast (1 step ahead)", color="tab:orange")
    left.set_xlabel("test window")
    left.set_title(f"{name}: one step ahead over the test split")
    left.legend()
    left.grid(alpha=0.3)
    last = len(y_true) - 1
    steps = np.arange(1, y_true.shape[1] + 1)
    right.plot(steps, y_true[last, :, 0], "o-", label="actual", color="black")
    right.plot(steps, y_pred[last, :, 0], "o-", label="forecast", color="tab:orange")
    right.set_xlabel("steps ahead")
    right.set_title("last test window, full horizon")
    right.legend()
    right.grid(alpha=0.3)
    fig.suptitle(title)
    return _save(plt, fig, path)


def forecast_over_history(
    series: np.ndarray, first_test: int, y_pred: np.ndarray, target_names: list[str], path: Path, title: str,
    half_widths: np.ndarray | None = None,
) -> Path:  # fmt: skip
    """The series (history, then the test segment's actual values) with the forecasts of the
    test windows every horizon apart from the first, and of the last one, in data units, and
    their interval where there is one (`half_widths`, `(horizon, targets)`: `recipes.intervals`).

    `series`: `(points, targets)`; `y_pred`: `(windows, horizon, targets)`, window i's first
    target at `first_test + i`. The first target is drawn.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(12, 4))
    name = target_names[0] if target_names else "target"
    steps = np.arange(len(series))
    ax.plot(steps[:first_test], series[:first_test, 0], color="0.55", label="history (train + val)")
    ax.plot(steps[first_test:], series[first_test:, 0], color="black", label="actual (test)")
    horizon = y_pred.shape[1]
    drawn = sorted({*range(0, len(y_pred), horizon), len(y_pred) - 1})  # and the last window, to the end
    for n, i in enumerate(drawn):
        at = first_test + i + np.arange(horizon)
        ax.plot(
            at,
            y_pred[i, :, 0],
            color="tab:orange",
            lw=2,
            label="forecast (each window of a horizon)" if n == 0 else None,
        )
        if half_widths is not None:
            low, high = y_pred[i, :, 0] - half_widths[:, 0], y_pred[i, :, 0] + half_widths[:, 0]
            ax.fill_between(at, low, high, color="tab:orange", alpha=0.2, lw=0,
                            label=f"{LEVEL:.0%} interval (conformal, from validation)" if n == 0 else None)  # fmt: skip
    ax.axvline(first_test - 0.5, color="0.8", ls="--")
    ax.set_xlabel("step")
    ax.set_ylabel(name)
    ax.set_title(title)
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    return _save(plt, fig, path)


def anomaly_stream(signal: np.ndarray, scores: np.ndarray, threshold: float, truth: Any, flagged: Any, path: Path,
                   title: str) -> Path:  # fmt: skip
    """A scored stream: the signal with the true (red) and flagged (orange) ranges shaded, and
    below it the score with the threshold (what an engineer or a clinician looks at).

    `signal`: `(T, C)` raw values (the first channel is drawn); `scores`: `(T,)`; `truth` and
    `flagged`: half-open `(start, stop)` step ranges.
    """
    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(13, 5.2), sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    steps = np.arange(len(scores))
    top.plot(steps, signal[:, 0], lw=0.6, color="tab:blue")
    bottom.plot(steps, scores, lw=0.6, color="tab:purple", label="score")
    bottom.axhline(threshold, color="black", ls="--", lw=0.8, label=f"threshold {threshold:.3g}")
    for ax in (top, bottom):
        for a, b in truth or ():
            ax.axvspan(a, b, color="tab:red", alpha=0.25, lw=0)
        for a, b in flagged or ():
            ax.axvspan(a, b, color="tab:orange", alpha=0.2, lw=0)
        ax.grid(alpha=0.3)
    top.set_title(f"{title}: labelled anomaly (red), flagged (orange)")
    bottom.set_xlabel("test step")
    bottom.legend(loc="upper left")
    return _save(plt, fig, path)


def anomaly_collection(scores: np.ndarray, labels: Any, threshold: float, path: Path, title: str) -> Path:
    """A scored collection: the series scores of normal and anomalous test series, and the threshold."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.8))
    groups = (
        [("all series", scores)] if labels is None else [("normal", scores[~labels]), ("anomalous", scores[labels])]
    )
    bins = np.histogram_bin_edges(scores, bins=30)
    for name, values in groups:
        ax.hist(values, bins=bins, alpha=0.6, label=f"{name} ({len(values)})")
    ax.axvline(threshold, color="black", ls="--", lw=0.8, label=f"threshold {threshold:.3g}")
    ax.set_xlabel("series score (its highest step score)")
    ax.set_ylabel("test series")
    ax.set_title(title)
    ax.legend()
    return _save(plt, fig, path)
