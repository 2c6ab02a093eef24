"""Windows cut from series, and per-step scores gathered back from per-window errors.

A detector sees a series through windows of `lookback` steps. In "forecast" mode each window
predicts the `horizon` steps after it; in "reconstruct" mode it reproduces itself. Either
way a step is covered by several windows, and its error is the mean of theirs: the step
score the issue of record asks for ("errors aggregated over the windows that cover the step").

    >>> x, y, where = cut(series, lookback=64, horizon=8, mode="forecast")
    >>> steps = gather(errors, where, length=len(series))   # NaN where no window reaches
"""

from __future__ import annotations

import numpy as np

MODES = ("forecast", "reconstruct")


def cut(series: np.ndarray, lookback: int, horizon: int, mode: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every window of `series` `(T, C)` with stride 1.

    Returns:
        Inputs `(N, lookback, C)`, targets `(N, H, C)` (H = horizon, or lookback when
        reconstructing) and the first step each target covers, `(N,)`.
    """
    series = np.asarray(series, dtype=np.float32)
    span = lookback + (horizon if mode == "forecast" else 0)
    count = len(series) - span + 1
    if count < 1:
        return (np.zeros((0, lookback, series.shape[1]), np.float32),
                np.zeros((0, horizon if mode == "forecast" else lookback, series.shape[1]), np.float32),
                np.zeros(0, np.int64))  # fmt: skip
    view = np.lib.stride_tricks.sliding_window_view(series, span, axis=0).transpose(0, 2, 1)
    x = np.ascontiguousarray(view[:count, :lookback])
    if mode == "forecast":
        return x, np.ascontiguousarray(view[:count, lookback:]), np.arange(count) + lookback
    return x, x.copy(), np.arange(count)


def gather(errors: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Per-step mean of per-window errors `(N, H, C)` whose targets start at `starts`: `(length, C)`.

    Steps no window's target covers are NaN.
    """
    errors = np.asarray(errors, dtype=np.float64)
    total = np.zeros((length, errors.shape[2]))
    count = np.zeros((length, 1))
    for k in range(errors.shape[1]):  # lead k of every window at once
        steps = starts + k
        inside = steps < length
        np.add.at(total, steps[inside], errors[inside, k])
        np.add.at(count, steps[inside], 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1.0), np.nan)
