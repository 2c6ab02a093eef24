"""What forecasting adds to the recipes: the series behind the windows, MASE's scale, and the
classical forecasters fitted at each test window's origin.

A forecasting dataset (`recipes.data.prepare.forecast_dataset`) holds consecutive windows of one
series; `series_of` rebuilds the series' target columns in data units from them, so the
classical forecasters see exactly the history a zoo model's test window ends with, and forecast
exactly the steps it forecasts.

- `ets`: Holt-Winters exponential smoothing (statsmodels `ExponentialSmoothing`): damped
  additive trend, multiplicative seasonality for a positive series (additive otherwise, none
  without a season), refitted on all points before each origin.
- `sarima`: seasonal ARIMA (statsmodels `SARIMAX`), by default the "airline model"
  (0,1,1)(0,1,1)s of Box & Jenkins where the data is seasonal, ARIMA(0,1,1) where it is not;
  its parameters are estimated once on the points before the test segment, then each origin's
  history is filtered with them (`SARIMAXResults.apply`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

AIRLINE_ORDER = ((0, 1, 1), (0, 1, 1))  # (p, d, q), (P, D, Q) of Box & Jenkins' airline model


# What window_norm "auto" chooses among: anchors a forecast moves with. "none" is left out: a
# model on globally scaled levels ranks well on a validation segment next to the training range
# and fails once the series leaves it (airline: validation chose it for 4 of 6 models, whose test
# MAE then rose to 31-82 against 20-26 with "last").
AUTO_CANDIDATES = ("last", "mean")


def choose_window_norm(model: str, dataset: Any, hparams: dict[str, Any], settings: dict[str, Any]) -> dict[str, float]:
    """`window_norm` "auto": train `model` once per anchor in `AUTO_CANDIDATES` (same data,
    settings and seed, nothing tracked) and give each one's best validation loss; the run then
    trains the lowest. Measured on airline, sunspots, lynx and nile, no one anchor suits every
    series (docs/benchmarks/forecasting.md); validation decides, as for any other choice."""
    import tempfile

    import recipes

    losses = {}
    quiet = {**settings, "tracking": False, "verbose": 0, "evaluate": False, "log_model": False, "pictures": False}
    with tempfile.TemporaryDirectory() as runs:
        for mode in AUTO_CANDIDATES:
            result = recipes.train(model, dataset, hparams={**hparams, "window_norm": mode}, runs_dir=runs, **quiet)
            history = result.history.get("val_loss") or [np.inf]
            losses[mode] = float(np.nanmin(history))
    return losses


def naive_forecasts(x: np.ndarray, season: int, horizon: int) -> dict[str, np.ndarray]:
    """The forecast each anchor of the forecasting head makes alone from windows `x` `(n,
    lookback, targets)`, each `(n, horizon, targets)`: the last value (naive, "last"), the value
    one season before (seasonal naive, "season") and that value plus the last season's change
    ("season_trend": SARIMA(0,1,0)(0,1,0), its path past the first season too). Without a
    season that fits the window (2 <= `season` < lookback), only the naive's."""
    lookback = x.shape[1]
    forecasts = {"last": np.repeat(x[:, -1:, :], horizon, axis=1)}
    if 2 <= season < lookback:
        steps = np.arange(horizon)
        before = x[:, lookback - season + steps % season, :]  # the same phase in the window's last season
        change = (x[:, -1:, :] - x[:, -1 - season : -season, :]) * (1 + steps // season)[:, None]
        forecasts |= {"season": before, "season_trend": before + change}
    return forecasts


def naive_errors(dataset: Any, season: int) -> dict[str, float]:
    """The MAE on the training windows, in data units, of each of `naive_forecasts` (over the
    windows, steps and targets)."""
    x = dataset.inverse_targets(dataset.train.x[:, :, : dataset.num_outputs].astype(np.float64))
    y = dataset.inverse_targets(dataset.train.y.astype(np.float64))
    return {name: float(np.mean(np.abs(y - f))) for name, f in naive_forecasts(x, season, y.shape[1]).items()}


def choose_differencing(dataset: Any, season: int) -> tuple[str, dict[str, float]]:
    """`window_norm` "differencing" on a series of `season` steps a season: season_trend where
    the series needs both its seasonal and its first difference, that is where the anchor's own
    forecast errs less on the training windows than both the naive and the seasonal naive (a
    trending seasonal series: the airline model's differencing), else last; and the errors. Read
    off the training windows, as auto.arima reads its differencing off the data (Hyndman &
    Khandakar 2008). With several targets the errors are averaged in data units (the target of
    the largest scale weighs most)."""
    if not len(dataset.train):
        return "last", {}
    errors = naive_errors(dataset, season)
    best = min(errors, key=errors.get)
    return ("season_trend" if best == "season_trend" else "last"), errors


# The tags `resolve_head` records a choice with, and what their figures are.
VAL_LOSS, NAIVE_MAE = "window_norm.val_loss", "window_norm.naive_mae"
CHOICE_TAGS = {
    VAL_LOSS: "each anchor's best validation loss",
    NAIVE_MAE: "each anchor's own MAE on the training windows",
}


def resolve_head(
    model: str, dataset: Any, hparams: dict[str, Any], settings: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """`hparams` with the forecasting head's "auto" (on validation) or "differencing" (on the
    training windows) resolved, and, for a seasonal anchor, the season (`season` if given, else
    the data's); and the tags that record the choice (`CHOICE_TAGS`; empty if none)."""
    if dataset.task != "forecasting" or dataset.input_kind != "series":
        return hparams, {}
    from zoo import heads

    chosen, tags = hparams.get("window_norm") or heads.head_config(dataset.task, {}).window_norm, {}
    season = hparams.get("season") or season_of(dataset)
    if chosen == "auto":
        losses = choose_window_norm(model, dataset, hparams, settings) if len(dataset.val) else {}
        chosen = min(losses, key=losses.get) if losses else heads.AUTO_WITHOUT_DATA
        tags = {VAL_LOSS: _shown(losses)} if losses else {}
    elif chosen == "differencing":
        chosen, errors = choose_differencing(dataset, season)
        tags = {NAIVE_MAE: _shown(errors)} if errors else {}
    resolved = {**hparams, "window_norm": chosen}
    if chosen in heads.SEASONAL_NORMS:
        resolved["season"] = season
    return resolved, tags


def _shown(figures: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.4g}" for name, value in figures.items())


def one_series(dataset: Any) -> bool:
    """A forecasting dataset made of one series' consecutive windows (`forecast_dataset`)."""
    record = dataset.info.get("preprocessing", {})
    if dataset.task != "forecasting" or "first_target" not in record or "windows" not in record:
        return False
    # A labelled subset (`recipes.semi.labelled_subset`) keeps the record but drops windows.
    return all(len(getattr(dataset, split)) == record["windows"][split] for split in ("train", "val", "test"))


def series_of(dataset: Any) -> np.ndarray:
    """The series' target columns in data units `(points, targets)`, rebuilt from every split's windows.

    Window i of a split covers inputs `[first + i - lookback, first + i)` and targets
    `[first + i, first + i + horizon)`, `first` being the split's first target; points seen by
    several windows must agree (a check of the windowing).
    """
    info = dataset.info
    lookback, targets = info["lookback"], dataset.num_outputs
    series = np.full((info["series_length"], targets), np.nan)
    for split in ("train", "val", "test"):
        part = getattr(dataset, split)
        first = info["preprocessing"]["first_target"][split]
        x = dataset.inverse_targets(part.x[:, :, :targets].astype(np.float64))
        y = dataset.inverse_targets(part.y.astype(np.float64))
        for i in range(len(part)):
            for lo, values in ((first + i - lookback, x[i]), (first + i, y[i])):
                seen = series[lo : lo + len(values)]
                known = ~np.isnan(seen)
                if not np.allclose(seen[known], values[known], rtol=1e-4, atol=1e-3):
                    raise RuntimeError(f"{dataset.name}: overlapping windows disagree near point {lo}")
                series[lo : lo + len(values)] = values
    return series


def season_of(dataset: Any) -> int:
    """The dataset's seasonal period in steps (1: none)."""
    return max(1, int(dataset.info.get("seasonality") or 1))


def mase_scale(dataset: Any) -> np.ndarray:
    """Per target, the in-sample MAE of the seasonal-naive forecast over the train segment (one
    step earlier without a season): MASE's denominator (Hyndman & Koehler 2006)."""
    series = series_of(dataset)
    end = dataset.info["preprocessing"]["segments"]["train"][1]
    train = series[:end]
    lag = season_of(dataset) if season_of(dataset) < len(train) else 1
    scale = np.nanmean(np.abs(train[lag:] - train[:-lag]), axis=0)
    return np.where(scale > 1e-12, scale, 1.0)


def mase_scale_of(dataset: Any) -> np.ndarray | None:
    """`mase_scale` for a dataset of one series' windows, else None (no MASE)."""
    return mase_scale(dataset) if one_series(dataset) else None


def _origins(dataset: Any) -> tuple[np.ndarray, int]:
    """The full series, and the index of the first test window's first target."""
    return series_of(dataset), dataset.info["preprocessing"]["first_target"]["test"]


def ets(dataset: Any) -> np.ndarray:
    """Holt-Winters forecasts `(test windows, horizon, targets)`, refitted on all points before each origin."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    series, first = _origins(dataset)
    season, horizon = season_of(dataset), dataset.horizon
    out = np.zeros((len(dataset.test), horizon, dataset.num_outputs))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence and start-value warnings of the optimiser
        for i in range(len(dataset.test)):
            for t in range(dataset.num_outputs):
                history = series[: first + i, t]
                seasonal = None if season == 1 else ("mul" if history.min() > 0 else "add")
                fit = ExponentialSmoothing(history, trend="add", damped_trend=True, seasonal=seasonal,
                                           seasonal_periods=season if seasonal else None).fit()  # fmt: skip
                out[i, :, t] = fit.forecast(horizon)
    return out


def sarima(dataset: Any, order: tuple[tuple[int, int, int], tuple[int, int, int]] = AIRLINE_ORDER) -> np.ndarray:
    """Seasonal ARIMA forecasts `(test windows, horizon, targets)`: parameters estimated on the
    points before the test segment, each origin's history filtered with them. A positive
    seasonal series is modelled in logs (the airline model's own transform)."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    series, first = _origins(dataset)
    season, horizon = season_of(dataset), dataset.horizon
    (p, d, q), (sp, sd, sq) = order
    seasonal = (sp, sd, sq, season) if season > 1 else (0, 0, 0, 0)
    out = np.zeros((len(dataset.test), horizon, dataset.num_outputs))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for t in range(dataset.num_outputs):
            values = series[:, t]
            logs = season > 1 and values.min() > 0
            data = np.log(values) if logs else values
            fit = SARIMAX(data[:first], order=(p, d, q), seasonal_order=seasonal).fit(disp=False)
            for i in range(len(dataset.test)):
                forecast = fit.apply(data[: first + i]).forecast(horizon)
                out[i, :, t] = np.exp(forecast) if logs else forecast
    return out
