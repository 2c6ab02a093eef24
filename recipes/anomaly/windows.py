"""Windows cut from series, and per-step scores gathered back from per-window errors.

A detector sees a series through windows of `lookback` steps. In "forecast" mode each window
predicts the `horizon` steps after it; in "reconstruct" mode it reproduces itself. Either
way a step is covered by several windows, and its error is the mean of theirs: the step
score ("errors aggregated over the windows that cover the step").

    >>> x, y, where = cut(series, lookback=64, horizon=8, mode="forecast")   # views, no copies
    >>> means = StepMeans(len(series), channels); means.add(errors, where)  # chunk by chunk
    >>> steps = means.mean()                                                 # NaN where no window reaches
"""

from __future__ import annotations

import numpy as np

MODES = ("forecast", "reconstruct")


def cut(series: np.ndarray, lookback: int, horizon: int, mode: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every window of `series` `(T, C)` with stride 1, as read-only views into one float32 copy.

    Returns:
        Inputs `(N, lookback, C)`, targets `(N, H, C)` (H = horizon, or lookback when
        reconstructing) and the first step each target covers, `(N,)`.
    """
    series = np.ascontiguousarray(series, dtype=np.float32)
    target = horizon if mode == "forecast" else lookback
    span = lookback + (horizon if mode == "forecast" else 0)
    count = len(series) - span + 1
    if count < 1:
        empty = np.zeros((0, 1, series.shape[1]), np.float32)
        return empty.repeat(lookback, 1), empty.repeat(target, 1), np.zeros(0, np.int64)
    view = np.lib.stride_tricks.sliding_window_view(series, span, axis=0).transpose(0, 2, 1)[:count]
    if mode == "forecast":
        return view[:, :lookback], view[:, lookback:], np.arange(count) + lookback
    return view, view, np.arange(count)


class StepMeans:
    """Running per-step means of window errors, fed chunk by chunk."""

    def __init__(self, length: int, channels: int) -> None:
        self.total = np.zeros((length, channels))
        self.count = np.zeros((length, 1))

    def add(self, errors: np.ndarray, starts: np.ndarray) -> None:
        """Errors `(n, H, C)` of windows whose targets start at `starts` `(n,)`."""
        for k in range(errors.shape[1]):  # lead k of every window: distinct steps, so += is exact
            steps = starts + k
            inside = steps < len(self.total)
            self.total[steps[inside]] += errors[inside, k]
            self.count[steps[inside]] += 1.0

    def mean(self) -> np.ndarray:
        """`(length, C)`; NaN where no window reached."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.count > 0, self.total / np.maximum(self.count, 1.0), np.nan)


def gather(errors: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Per-step mean of per-window errors `(N, H, C)` whose targets start at `starts`: `(length, C)`."""
    means = StepMeans(length, np.shape(errors)[2])
    means.add(np.asarray(errors, dtype=np.float64), starts)
    return means.mean()
