"""The detect recipe: learn what normal looks like with a zoo model, score every test step,
flag what does not fit.

1. The normal data is standardised (its own per-channel statistics) and cut into windows; a
   share of it is held out (the end of a stream, whole series of a collection).
2. A zoo model with the forecasting head learns, on the other windows, to forecast the steps
   after each window ("forecast") or to reproduce the window ("reconstruct"). It trains
   through `recipes.train`: one MLflow run (stage "detect"), resumable, early-stopped on the
   held-out normal windows.
3. Each step's error, averaged over the windows that cover it and divided per channel by the
   mean held-out error, is its score; the threshold is fitted on the held-out normal scores
   (peaks over threshold, or a quantile). Test labels are read only to report the metrics.

    >>> result = detect("lstm", "anomaly:InternalBleeding16", seed=0)
    >>> result.metrics["auc_pr"], result.metrics["ucr_hit"]
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recipes import schema
from recipes.anomaly.config import DEFAULTS, TASK, DetectConfig, detect_config
from recipes.anomaly.detector import Detector
from recipes.anomaly.evaluation import Threshold, evaluate, fit_threshold
from recipes.config import split_settings
from recipes.data.anomaly import AnomalyData
from recipes.errors import DataError
from recipes.tracking import Tracking, as_tracking, closing_run
from zoo.errors import ConfigError

SMALLER = "give a smaller window (--window N; in a search --fixed detect.window=N)"


@dataclass
class DetectResult:
    """A trained detector and what it found.

    Attributes:
        detector: The detector (model, windows, normalisation, threshold).
        data: The data it was trained and scored on.
        steps: Test step scores `(m, T)` (NaN where no window reaches).
        threshold: The fitted threshold and its rule.
        metrics: Test metrics (`recipes.anomaly.evaluation.evaluate`); empty without labels.
        run_id: The MLflow run (None without tracking).
        run_dir: The local run folder (the detector is saved in `run_dir / "detector"`).
        seconds: Training and scoring wall time.
        baselines: Baseline name -> its metrics on the same data (with `baselines=True`).
    """

    detector: Detector
    data: AnomalyData
    steps: np.ndarray
    threshold: Threshold
    metrics: dict[str, float]
    run_id: str | None
    run_dir: Path
    seconds: float
    baselines: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def model(self) -> Any:
        """The detector's Keras model (what a search's result holds, as for a training)."""
        return self.detector.model

    @property
    def test_metrics(self) -> dict[str, float]:
        """The test metrics, by the name a training's result gives them."""
        return self.metrics


def detect(
    model: str,
    data: str | AnomalyData,
    *,
    config: DetectConfig | Mapping[str, Any] | None = None,
    hparams: Mapping[str, Any] | None = None,
    tracking: bool | Tracking = True,
    baselines: bool = False,
    verbose: int | str = 0,
    stage: str = schema.DETECT,
    **settings: Any,
) -> DetectResult:
    """Train zoo model `model` as a detector on `data`'s normal part and score its test part.

    Args:
        model: A registry name that takes the forecasting head (`zoo list --task forecasting`).
        data: An `anomaly:` address (`recipes.data.anomaly.load_anomaly`) or its record.
        config: The detector's settings (`DetectConfig` or a mapping of its fields).
        hparams: Model hyperparameters (see `zoo describe MODEL`).
        tracking: Log to MLflow, or a `recipes.tracking.Tracking`.
        baselines: Also score the classical baselines on the same data and windows, each
            logged as a run (`stage=baseline`) beside the detector's.
        verbose: Keras fit verbosity.
        stage: The run's stage tag (a search's retrained best is "best").
        **settings: Training settings (`recipes.config.TrainConfig`: steps, epochs, seed, ...).

    Raises:
        ConfigError, DataError: bad input, one line each, before any training (a failure after it
            ends the run FAILED with its reason).
    """
    import recipes
    from recipes.anomaly import runs
    from recipes.data.anomaly import load_anomaly

    cfg = config if isinstance(config, DetectConfig) else detect_config(config)
    if settings.setdefault("select_on", "val") != "val":
        raise ConfigError("select_on: a detector stops early on held-out normal windows, which then fit its "
                          "threshold; they must stay out of its training (select_on val)")  # fmt: skip
    if settings.get("refit"):
        raise ConfigError("refit: a detector's held-out normal windows fit its threshold; they must stay out of "
                          "its training (drop refit)")  # fmt: skip
    data = load_anomaly(data) if isinstance(data, str) else data
    track = as_tracking(tracking)
    track = track.under(tags={**track.tags, schema.TASK: TASK})
    started = time.perf_counter()
    normal = normal_windows(data, cfg, seed=int(settings.get("seed", 0)))
    pinned, model_defaults = split_settings(DEFAULTS)
    trained = recipes.train(model, normal.dataset, hparams={**model_defaults, **dict(hparams or {})},
                            data_options=normal.options, tracking=track, stage=stage, evaluate=False,
                            log_model=False, verbose=verbose, **{**pinned, **settings})  # fmt: skip
    lookback, horizon, split = normal.lookback, normal.horizon, normal.split
    with closing_run(trained.run_id):  # a failure from here on ends the run FAILED, with its reason
        detector, fitted = _calibrated(trained.model, data, cfg, lookback, horizon, split, model)
        steps = score(detector, data)
        result = DetectResult(detector, data, steps, fitted, evaluate(data, steps, detector.threshold),
                              trained.run_id, trained.run_dir, time.perf_counter() - started)  # fmt: skip
        runs.record(result, cfg)
    if baselines:
        result.baselines = runs.baseline_runs(data, cfg, lookback, track)
    return result


@dataclass
class NormalWindows:
    """What a detector's model trains on: the normal data's windows as a forecasting `Dataset`
    (standardised; validation is the held-out normal part), and how they were cut."""

    dataset: Any
    split: NormalSplit
    lookback: int
    horizon: int
    options: dict[str, Any]  # logged as the run's data options


def normal_windows(data: AnomalyData, cfg: DetectConfig, seed: int) -> NormalWindows:
    """The windows `detect` trains on (a search's trials train on the same ones).

    Raises:
        DataError: no normal part, or series too short for the windows (one line).
    """
    lookback, horizon = _windows(cfg, data)
    _check_scorable(data, lookback + (horizon if cfg.mode == "forecast" else 0), lookback)
    split = NormalSplit.of(data, cfg, lookback, seed=seed)
    options = {"mode": cfg.mode, "window": lookback, "horizon": horizon, "normal_fraction": cfg.normal_fraction}
    return NormalWindows(split.dataset(data, cfg.mode, lookback, horizon), split, lookback, horizon, options)


def score(detector: Detector, data: AnomalyData) -> np.ndarray:
    """Step scores `(m, T)` of `data`'s test series; a stream's normal prefix is its history.

    Channels are matched by name (reordered when the data has them in another order).
    """
    data = _in_channel_order(data, detector.channels)
    span = detector.lookback + (detector.horizon if detector.mode == "forecast" else 0)
    _check_scorable(data, span, detector.lookback)
    return np.stack(detector.step_scores(*data.test, history=_history(data)))


def _history(data: AnomalyData) -> np.ndarray | None:
    """A stream's normal prefix, when its test part follows it (steps before the first scored one)."""
    return data.train[0] if data.kind == "stream" and data.has_normal and "test_offset" in data.info else None


def _check_scorable(data: AnomalyData, span: int, lookback: int) -> None:
    """Refuse test series shorter than a window (with a stream's history before them), in one line."""
    history = _history(data)
    available = data.test.shape[1] + (0 if history is None else min(len(history), lookback))
    if available < span:
        raise DataError(f"{data.name}: its test series have {data.test.shape[1]} steps, fewer than a window of "
                        f"{span}; {SMALLER}")  # fmt: skip


def _in_channel_order(data: AnomalyData, channels: tuple[str, ...]) -> AnomalyData:
    """`data` with its channels in the detector's order; one line when they are not the same set."""
    if tuple(data.channels) == tuple(channels):
        return data
    if sorted(data.channels) != sorted(channels):
        raise DataError(f"{data.name}: channels {', '.join(data.channels)}; the detector was trained on "
                        f"{', '.join(channels)}")  # fmt: skip
    order = [list(data.channels).index(c) for c in channels]
    return dataclasses.replace(data, train=data.train[..., order], test=data.test[..., order], channels=channels)


def _windows(cfg: DetectConfig, data: AnomalyData) -> tuple[int, int]:
    """The lookback (the config's, else the normal data's period) and the target span."""
    from recipes.anomaly.baselines import default_window

    if not data.has_normal:
        raise DataError(f"{data.name}: no normal data to learn from; mark a normal prefix (normal_until=N) or a "
                        "split column, or score it with a trained detector (zoo detect --model RUN)")  # fmt: skip
    lookback = cfg.window or default_window(data)
    if cfg.mode == "reconstruct":
        return lookback, lookback
    return lookback, cfg.horizon or max(1, lookback // 8)


@dataclass
class NormalSplit:
    """The normal data, raw, split into what the model fits and what is held out."""

    fit: list[np.ndarray]
    held: list[np.ndarray]

    @classmethod
    def of(cls, data: AnomalyData, cfg: DetectConfig, lookback: int, seed: int) -> NormalSplit:
        """A stream's held-out part is its end (with `lookback` steps of context before it); a
        collection holds out whole series, drawn with `seed`."""
        series = list(data.train)
        if len(series) == 1:
            cut = round(len(series[0]) * (1 - cfg.normal_fraction))
            # A forecast's held-out windows need `lookback` steps of context before the cut.
            context = lookback if cfg.mode == "forecast" else 0
            fit, held = series[0][:cut], series[0][max(0, cut - context) :]
            # What is fit gives windows to learn from; what is held out, at least one to score.
            if len(fit) < 2 * lookback or len(held) < lookback + context:
                raise DataError(f"{data.name}: {len(series[0])} normal steps are too few for windows of "
                                f"{lookback} ({SMALLER}, or more normal data)")  # fmt: skip
            return cls([fit], [held])
        order = np.random.default_rng(seed).permutation(len(series))
        n_held = max(1, round(len(series) * cfg.normal_fraction))
        return cls([series[i] for i in order[n_held:]], [series[i] for i in order[:n_held]])

    def dataset(self, data: AnomalyData, mode: str, lookback: int, horizon: int) -> Any:
        """The windows as a forecasting `Dataset` for `recipes.train` (standardised; no test split)."""
        from recipes.anomaly import windows
        from recipes.data.base import Dataset, Split

        def split(parts: list[np.ndarray]) -> Split:
            cut = [windows.cut(data.standardise(p), lookback, horizon, mode)[:2] for p in parts]
            return Split(np.concatenate([x for x, _ in cut]), np.concatenate([y for _, y in cut]))

        train, val = split(self.fit), split(self.held)
        if not len(train) or not len(val):
            raise DataError(f"{data.name}: its normal series are shorter than a window of {lookback + horizon} steps; "
                            f"{SMALLER}")  # fmt: skip
        info = {"anomaly": data.summary(), "windows": {"mode": mode, "lookback": lookback, "horizon": horizon}}
        return Dataset(name=data.name, task="forecasting", input_kind="series", train=train, val=val,
                       test=val.take(np.arange(0)), target_names=list(data.channels),
                       num_features=len(data.channels), horizon=len(train.y[0]), info=info)  # fmt: skip


def _calibrated(model: Any, data: AnomalyData, cfg: DetectConfig, lookback: int, horizon: int,
                normal: NormalSplit, name: str) -> tuple[Detector, Threshold]:  # fmt: skip
    """The detector with its error scale and threshold from the held-out normal data."""
    mean, std = data.normal_stats()
    channels = len(data.channels)
    detector = Detector(model, cfg.mode, lookback, horizon, mean, std, np.ones(channels), channels=data.channels)
    errors = np.concatenate(detector.errors(*normal.held))
    errors = errors[np.isfinite(errors).all(axis=1)]
    detector.error_scale = np.maximum(errors.mean(axis=0), 1e-12)
    held_scores = np.concatenate(detector.step_scores(*normal.held))
    fitted = fit_threshold(held_scores, cfg.threshold, cfg.risk)
    detector.threshold = fitted.value
    detector.info = {"model": name, "data": data.name, "threshold_rule": fitted.rule,
                     "normal_scores": fitted.normal_scores}  # fmt: skip
    return detector, fitted
