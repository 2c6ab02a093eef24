"""Classical anomaly detectors, the baselines a learned detector must beat.

Each takes an `AnomalyData` (learns from its normal `train`, scores its `test`) and returns
`AnomalyScores`: a score per test step `(m, T)`, one per test series `(m,)` (the maximum
over its steps), and scores of the normal data itself for threshold calibration. Higher is
more anomalous. Nothing reads the test labels.

- `matrix_profile`: matrix-profile discords (Yeh et al., "Matrix Profile I", ICDM 2016;
  stumpy). The score of a test subsequence is its z-normalised distance to the nearest
  subsequence of the normal data (an AB-join); without normal data, to its nearest
  non-trivial neighbour in the test itself (a self-join: the classical discord).
- `isolation_forest`: an isolation forest (Liu et al., ICDM 2008; scikit-learn) fitted on
  sliding windows of the standardised normal data.
- `rolling_zscore`: each step's distance from the mean of the `window` steps before it, in
  their standard deviations.

Window scores become step scores by averaging over the windows that cover each step. The
window length defaults to `default_window(data)`: the dominant period of the normal data
(autocorrelation), else a fixed rule; it never looks at the test labels.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recipes.caches import cache_dir
from recipes.data.anomaly import AnomalyData
from recipes.errors import DataError

METHODS = ("matrix_profile", "isolation_forest", "rolling_zscore")
MIN_WINDOW = 8
MAX_WINDOW = 256


@dataclass(frozen=True)
class AnomalyScores:
    """Scores of one detector on one dataset (higher = more anomalous).

    Attributes:
        method: The detector's name.
        window: The window length used.
        steps: One score per test step, float64 `(m, T)`.
        series: One score per test series (the maximum over its steps), `(m,)`.
        normal: Scores of normal-data steps, 1-D, for thresholds (`recipes.anomaly.metrics`);
            None when the data has no normal part.
        info: JSON-friendly settings.
    """

    method: str
    window: int
    steps: np.ndarray
    series: np.ndarray
    normal: np.ndarray | None
    info: dict[str, Any] = field(default_factory=dict)


def period(series: np.ndarray, *, max_lag: int | None = None) -> int | None:
    """The dominant period of 1-D or `(n, T)` series from their mean autocorrelation, or None.

    The period is the lag of the highest autocorrelation peak after the first negative
    autocorrelation; None when there is no such peak above 0.2 (no clear periodicity).
    """
    x = np.atleast_2d(np.asarray(series, dtype=np.float64))
    x = x - x.mean(axis=1, keepdims=True)
    length = x.shape[1]
    spectrum = np.fft.rfft(x, n=2 * length)
    acf = np.fft.irfft(spectrum * np.conj(spectrum))[:, :length].sum(axis=0)
    if acf[0] <= 0:
        return None
    acf = acf / acf[0]
    negative = np.flatnonzero(acf < 0)
    if not negative.size:
        return None
    stop = min(length - 1, max_lag or length // 2)
    lags = np.arange(negative[0], stop)
    if lags.size < 3:
        return None
    peaks = lags[1:-1][(acf[lags[1:-1]] >= acf[lags[:-2]]) & (acf[lags[1:-1]] >= acf[lags[2:]])]
    peaks = peaks[acf[peaks] > 0.2]
    return int(peaks[np.argmax(acf[peaks])]) if peaks.size else None


def default_window(data: AnomalyData) -> int:
    """The window length for `data`: the normal data's period, else `T // 10`, within [8, 256].

    The period comes from the first channel of the normal series (or of the test series when
    there is no normal part: still no labels read). It is capped at a quarter of the test
    series length so that every test series holds several windows.
    """
    source = data.train if data.has_normal else data.test
    found = period(source[:, :, 0])
    length = data.test.shape[1]
    window = found if found is not None else length // 10
    return int(np.clip(window, MIN_WINDOW, max(MIN_WINDOW, min(MAX_WINDOW, length // 4))))


def _window(data: AnomalyData, window: int | None) -> int:
    window = default_window(data) if window is None else int(window)
    if window < 2 or window > data.test.shape[1]:
        raise DataError(f"{data.name}: window {window} must be between 2 and the test length {data.test.shape[1]}")
    return window


def windows_to_steps(window_scores: np.ndarray, window: int) -> np.ndarray:
    """Per-step scores from per-window scores `(m, T - window + 1)`: the mean over covering windows."""
    w = np.asarray(window_scores, dtype=np.float64)
    m, count = w.shape
    length = count + window - 1
    cumulative = np.concatenate([np.zeros((m, 1)), np.cumsum(w, axis=1)], axis=1)
    t = np.arange(length)
    first, last = np.maximum(0, t - window + 1), np.minimum(count - 1, t)
    return (cumulative[:, last + 1] - cumulative[:, first]) / (last - first + 1)


def _result(method: str, window: int, steps: np.ndarray, normal: np.ndarray | None, **info: Any) -> AnomalyScores:
    return AnomalyScores(method, window, steps, steps.max(axis=1), normal, {"window": window, **info})


def _joined(series: np.ndarray) -> np.ndarray:
    """Series `(n, T)` end to end with a NaN between them (stumpy skips windows with NaN)."""
    n, length = series.shape
    out = np.full(n * (length + 1), np.nan)
    out.reshape(n, length + 1)[:, :length] = series
    return out


def _split(profile: np.ndarray, n: int, length: int, window: int) -> np.ndarray:
    """Per-window values `(n, length - window + 1)` back out of a profile over `_joined` series."""
    count = length - window + 1
    padded = np.full(n * (length + 1), np.nan)
    padded[: profile.size] = profile
    return padded.reshape(n, length + 1)[:, :count]


@functools.cache
def _stumpy() -> Any:
    """stumpy, its numba-compiled functions cached on disk (`recipes.caches`): compiled once per
    machine, not once per process."""
    import importlib

    import numba
    import stumpy
    from stumpy.cache import get_njit_funcs

    if not numba.config.CACHE_DIR:  # NUMBA_CACHE_DIR unset: the zoo's cache, not site-packages
        numba.config.CACHE_DIR = str(cache_dir("numba"))
    for module, name in get_njit_funcs():
        getattr(importlib.import_module(f"stumpy.{module}"), name).enable_caching()
    return stumpy


def _nearest(a: np.ndarray, window: int, b: np.ndarray | None) -> np.ndarray:
    """z-normalised distance of each window of `a` to its nearest window of `b` (self-join if None)."""
    stumpy = _stumpy()
    if b is None:
        return stumpy.stump(a, window)[:, 0].astype(np.float64)
    return stumpy.stump(a, window, T_B=b, ignore_trivial=False)[:, 0].astype(np.float64)


def matrix_profile(data: AnomalyData, *, window: int | None = None) -> AnomalyScores:
    """Matrix-profile discord scores (stumpy), averaged over channels.

    Args:
        data: The data; its normal part is the reference of the AB-join (else a self-join).
        window: Subsequence length; default `default_window(data)`.
    """
    window = _window(data, window)
    m, length, channels = data.test.shape
    steps = np.zeros((m, length))
    normal = [] if data.has_normal else None
    for c in range(channels):
        reference = _joined(data.train[:, :, c]) if data.has_normal else None
        if reference is not None and np.isfinite(reference).sum() < window:
            raise DataError(f"{data.name}: the normal data is shorter than the window {window}")
        profile = _nearest(_joined(data.test[:, :, c]), window, reference)
        steps += windows_to_steps(_finite(_split(profile, m, length, window)), window) / channels
        if normal is not None:
            n, train_length = data.train.shape[:2]
            if n * (train_length - window + 1) > 1 and (n > 1 or train_length >= 4 * window):
                own = _split(_nearest(reference, window, None), n, train_length, window)
                normal.append(windows_to_steps(_finite(own), window).reshape(-1) / channels)
    join = "AB-join against the normal data" if data.has_normal else "self-join of the test data"
    pooled = np.sum(normal, axis=0) if normal else None
    return _result("matrix_profile", window, steps, pooled, join=join)


def _finite(values: np.ndarray) -> np.ndarray:
    """Infinite distances (constant windows against varying ones) set to the largest finite one."""
    values = np.where(np.isnan(values), np.inf, values)
    finite = values[np.isfinite(values)]
    return np.where(np.isfinite(values), values, finite.max() if finite.size else 0.0)


def _sliding(x: np.ndarray, window: int, stride: int = 1) -> np.ndarray:
    """Windows of `(n, T, C)` as rows `(n, count, window * C)`."""
    view = np.lib.stride_tricks.sliding_window_view(x, window, axis=1)[:, ::stride]
    return view.reshape(x.shape[0], view.shape[1], -1)


def isolation_forest(
    data: AnomalyData, *, window: int | None = None, seed: int = 0, max_windows: int = 20000
) -> AnomalyScores:
    """Isolation-forest scores of sliding windows, fitted on the standardised normal data.

    Args:
        data: The data (needs a normal part).
        window: Window length; default `default_window(data)`.
        seed: The forest's random state.
        max_windows: At most this many normal windows are used to fit (evenly strided).
    """
    from sklearn.ensemble import IsolationForest

    window = _window(data, window)
    train, test = data.standardise(data.train), data.standardise(data.test)
    if train.shape[1] < window:
        raise DataError(f"{data.name}: the normal series ({train.shape[1]} steps) are shorter than the window {window}")
    count = train.shape[0] * (train.shape[1] - window + 1)
    fit_rows = _sliding(train, window, stride=max(1, -(-count // max_windows))).reshape(-1, window * train.shape[2])
    forest = IsolationForest(n_estimators=200, random_state=seed).fit(fit_rows)
    m = test.shape[0]
    scores = -forest.score_samples(_sliding(test, window).reshape(-1, fit_rows.shape[1])).reshape(m, -1)
    own = -forest.score_samples(_sliding(train, window).reshape(-1, fit_rows.shape[1])).reshape(train.shape[0], -1)
    normal = windows_to_steps(own, window).reshape(-1)
    return _result("isolation_forest", window, windows_to_steps(scores, window), normal, seed=seed, trees=200)


def _trailing_z(x: np.ndarray, window: int, floor: np.ndarray) -> np.ndarray:
    """|x_t - mean| / std over the `window` steps before t, per channel; 0 with < 2 steps of history."""
    n, length, channels = x.shape
    zero = np.zeros((n, 1, channels))
    s1 = np.concatenate([zero, np.cumsum(x, axis=1)], axis=1)
    s2 = np.concatenate([zero, np.cumsum(x**2, axis=1)], axis=1)
    t = np.arange(length)
    first = np.maximum(0, t - window)
    k = (t - first)[None, :, None].astype(np.float64)
    safe = np.maximum(k, 1.0)
    mean = (s1[:, t] - s1[:, first]) / safe
    var = np.maximum((s2[:, t] - s2[:, first]) / safe - mean**2, 0.0)
    z = np.abs(x - mean) / np.maximum(np.sqrt(var), floor)
    return np.where(k >= 2, z, 0.0).max(axis=2)


def rolling_zscore(data: AnomalyData, *, window: int | None = None) -> AnomalyScores:
    """Rolling z-scores: each step against the `window` steps before it (max over channels).

    A stream's test continues its normal part, so the normal part's last `window` steps serve
    as the first test steps' history. Standard deviations are floored at 1% of the normal
    data's, so flat stretches do not divide by zero.

    Args:
        data: The data (needs a normal part for the floor and the history).
        window: History length; default `default_window(data)`.
    """
    window = _window(data, window)
    _, std = data.normal_stats()
    floor = 0.01 * std
    test = data.test
    history = 0
    if data.kind == "stream" and data.info.get("test_offset") is not None:
        history = min(window, data.train.shape[1])
        test = np.concatenate([data.train[:, data.train.shape[1] - history :], test], axis=1)
    steps = _trailing_z(test, window, floor)[:, history:]
    normal = _trailing_z(data.train, window, floor)[:, 2:].reshape(-1)
    return _result("rolling_zscore", window, steps, normal)


def score(method: str, data: AnomalyData, **options: Any) -> AnomalyScores:
    """Run one baseline by name ("matrix_profile", "isolation_forest" or "rolling_zscore")."""
    from zoo.errors import did_you_mean

    functions = {
        "matrix_profile": matrix_profile,
        "isolation_forest": isolation_forest,
        "rolling_zscore": rolling_zscore,
    }
    if method not in functions:
        raise DataError(
            f"unknown anomaly baseline '{method}'{did_you_mean(method, METHODS)}; use one of {', '.join(METHODS)}"
        )
    return functions[method](data, **options)
