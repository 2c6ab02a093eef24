"""Forecasting: MASE, the series behind the windows, and classical forecasters on the models' windows."""

from __future__ import annotations

import numpy as np
import pytest

from recipes.data.prepare import forecast_dataset
from recipes.metrics import forecast_metrics
from zoo.errors import ConfigError

SEASON, LOOKBACK, HORIZON = 4, 8, 3


@pytest.fixture(scope="module")
def tiny():
    t = np.arange(80, dtype="float64")
    values = 20.0 + 0.5 * t + 3.0 * np.sin(2 * np.pi * t / SEASON) + np.random.default_rng(0).normal(0, 0.3, 80)
    return values, forecast_dataset(
        "synthetic:tiny", values[:, None], ["v"], targets=["v"], features=["v"], lookback=LOOKBACK, horizon=HORIZON,
        val_fraction=0.2, test_fraction=0.2, times=None, info={"seasonality": SEASON},
    )  # fmt: skip


def test_mase_and_the_error_of_each_step_by_hand() -> None:
    truth = np.array([[[1.0], [2.0], [3.0]], [[2.0], [2.0], [2.0]]])
    pred = np.array([[[1.0], [4.0], [3.0]], [[3.0], [2.0], [0.0]]])
    # absolute errors: step 1: 0, 1; step 2: 2, 0; step 3: 0, 2 -> MAE 5/6
    metrics = forecast_metrics(truth, pred, np.array([0.5]))
    assert metrics["mae"] == pytest.approx(5 / 6)
    assert [metrics[f"mae_step_{k}"] for k in (1, 2, 3)] == pytest.approx([0.5, 1.0, 1.0])
    assert metrics["mase"] == pytest.approx((5 / 6) / 0.5)
    assert "mase" not in forecast_metrics(truth, pred, None)


def test_the_series_and_the_mase_scale_come_back_from_the_windows(tiny) -> None:
    from recipes.forecasting import mase_scale, series_of

    values, dataset = tiny
    np.testing.assert_allclose(series_of(dataset)[:, 0], values, rtol=1e-5)
    end = dataset.info["preprocessing"]["segments"]["train"][1]
    expected = np.abs(values[SEASON:end] - values[: end - SEASON]).mean()
    assert mase_scale(dataset)[0] == pytest.approx(expected, rel=1e-5)


def test_every_baseline_forecasts_the_models_windows_from_their_origins(tiny) -> None:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    from recipes.baselines import compute

    values, dataset = tiny
    first = dataset.info["preprocessing"]["first_target"]["test"]
    truth = dataset.inverse_targets(dataset.test.y)
    results = {b.name: b for b in compute(dataset)}
    assert set(results) == {"naive", "seasonal_naive", "season_trend", "ets", "sarima"}
    for result in results.values():
        assert result.predictions.shape == truth.shape == (len(dataset.test), HORIZON, 1)
        assert {"mae", "mase", "rmse", "smape", "mae_step_1"} <= set(result.metrics)
    for i in range(len(dataset.test)):  # window i's origin: the point before its first target
        np.testing.assert_allclose(truth[i, :, 0], values[first + i : first + i + HORIZON], rtol=1e-5)
        assert results["naive"].predictions[i, 0, 0] == pytest.approx(values[first + i - 1], rel=1e-5)
        origin = first + i  # season_trend: one season back, plus the last season's change
        by_hand = values[origin - SEASON : origin - SEASON + HORIZON] + values[origin - 1] - values[origin - 1 - SEASON]
        np.testing.assert_allclose(results["season_trend"].predictions[i, :, 0], by_hand, rtol=1e-5)
    last = len(dataset.test) - 1
    history = values[: first + last]
    direct = ExponentialSmoothing(history, trend="add", damped_trend=True, seasonal="mul",
                                  seasonal_periods=SEASON).fit().forecast(HORIZON)  # fmt: skip
    np.testing.assert_allclose(results["ets"].predictions[last, :, 0], direct, rtol=1e-4)
    # A trend plus a fixed season is what the airline model describes: it beats seasonal naive.
    assert results["sarima"].metrics["mase"] < results["seasonal_naive"].metrics["mase"]
    # A caller that has some already (a benchmark's results file) gets only the others.
    assert [b.name for b in compute(dataset, skip={"ets", "sarima", "naive"})] == ["seasonal_naive", "season_trend"]


def test_a_labelled_subset_of_windows_is_no_longer_one_series(tiny) -> None:
    from recipes.forecasting import mase_scale_of, one_series
    from recipes.semi import labelled_subset

    _, dataset = tiny
    assert one_series(dataset) and mase_scale_of(dataset) is not None
    subset = labelled_subset(dataset, 0.5, seed=0)
    assert not one_series(subset) and mase_scale_of(subset) is None


def test_a_pretrained_encoder_fine_tunes_for_forecasting_with_the_heads_option(tmp_path) -> None:
    import recipes.semi as semi

    common = {"tracking": False, "runs_dir": tmp_path}
    pre = semi.pretrain("gru", "forecast:airline", hparams={"units": 4, "window_norm": "mean"}, epochs=1, **common)
    result = semi.finetune("gru", "forecast:airline", pre, fraction=0.5, freeze_epochs=1, unfreeze_epochs=1,
                           hparams={"window_norm": "mean"}, verbose=0, **common)  # fmt: skip
    assert result.hparams == {"window_norm": "mean"} and result.model.get_layer("window_norm").mode == "mean"
    assert result.test_metrics["mae"] > 0 and "mase" not in result.test_metrics  # a subset: no series to scale by
    read = semi.finetune("gru", "forecast:airline", pre, fraction=0.5, freeze_epochs=1, hparams={"window_norm":
                         "differencing"}, verbose=0, **common)  # fmt: skip
    assert read.model.get_layer("window_norm").mode == read.hparams["window_norm"] == "season_trend"
    with pytest.raises(ConfigError, match="window_norm auto trains a fresh model per anchor, not a given backbone"):
        semi.finetune("gru", "forecast:airline", pre, fraction=0.5, freeze_epochs=1, hparams={"window_norm": "auto"},
                      verbose=0, **common)  # fmt: skip


def test_auto_window_norm_is_the_anchor_with_the_lowest_validation_loss(tiny, tmp_path) -> None:
    """window_norm auto: the model trained once per anchor (last, mean), the run then trains
    the one whose validation loss was lowest and records both."""
    from mlflow import MlflowClient

    import recipes
    from recipes.forecasting import resolve_head

    _, data = tiny
    store = f"sqlite:///{tmp_path}/mlflow.db"
    result = recipes.train("gru", data, hparams={"units": 4, "window_norm": "auto"}, epochs=3, seed=0,
                           tracking_uri=store, runs_dir=tmp_path, verbose=0)  # fmt: skip
    tag = MlflowClient(store).get_run(result.run_id).data.tags["window_norm.val_loss"]
    losses = {mode: float(loss) for mode, loss in (part.split() for part in tag.split(", "))}
    assert set(losses) == {"last", "mean"} and result.hparams["window_norm"] == min(losses, key=losses.get)
    # The run is the chosen anchor's training again (same seed): the loss that chose it.
    assert min(result.history["val_loss"]) == pytest.approx(losses[result.hparams["window_norm"]], rel=1e-3)
    assert resolve_head("gru", data, {"window_norm": "season"}, {}) == ({"window_norm": "season", "season": SEASON}, {})


def _series_dataset(values: np.ndarray, season: int, horizon: int = HORIZON):
    return forecast_dataset(
        "synthetic:flat", values[:, None], ["v"], targets=["v"], features=["v"], lookback=LOOKBACK, horizon=horizon,
        val_fraction=0.2, test_fraction=0.2, times=None, info={"seasonality": season},
    )  # fmt: skip


def test_differencing_takes_both_differences_only_where_the_series_needs_them(tiny, tmp_path) -> None:
    """window_norm differencing (the default): the naive, seasonal naive and season_trend anchors'
    own training-window errors (hand computed here), and season_trend only where it errs least: a
    trending seasonal series, not a flat seasonal one or one without a season. The run records them."""
    from mlflow import MlflowClient

    import recipes
    from recipes.forecasting import choose_differencing, naive_errors, resolve_head

    values, data = tiny
    first = data.info["preprocessing"]["first_target"]["train"]
    hand: dict[str, list[float]] = {"last": [], "season": [], "season_trend": []}
    for start in range(first, first + len(data.train)):
        window, truth = list(values[start - LOOKBACK : start]), values[start : start + HORIZON]
        for _ in range(HORIZON):  # SARIMA(0,1,0)(0,1,0)'s path, step by step
            window.append(window[-SEASON] + values[start - 1] - values[start - 1 - SEASON])
        hand["season_trend"] += list(np.abs(truth - window[LOOKBACK:]))
        hand["last"] += list(np.abs(truth - values[start - 1]))
        hand["season"] += list(np.abs(truth - values[start - SEASON : start - SEASON + HORIZON]))
    errors = naive_errors(data, SEASON)
    assert errors == pytest.approx({k: np.mean(v) for k, v in hand.items()}, rel=1e-6)
    assert choose_differencing(data, SEASON) == ("season_trend", errors)
    t = np.arange(80, dtype="float64")
    flat = 20.0 + 3.0 * np.sin(2 * np.pi * t / SEASON) + np.random.default_rng(1).normal(0, 0.3, 80)
    chosen, flat_errors = choose_differencing(_series_dataset(flat, SEASON), SEASON)
    assert chosen == "last" and min(flat_errors, key=flat_errors.get) == "season"  # the seasonal naive errs least
    unknown = _series_dataset(values, 0)  # no season in the data: nothing to difference, unless one is given
    assert set(choose_differencing(unknown, 0)[1]) == {"last"}
    given, tags = resolve_head("gru", unknown, {"window_norm": "differencing", "season": SEASON}, {})
    assert (given["window_norm"], given["season"]) == ("season_trend", SEASON) and "window_norm.naive_mae" in tags

    store = f"sqlite:///{tmp_path}/mlflow.db"
    result = recipes.train("gru", data, hparams={"units": 4}, epochs=2, seed=0, tracking_uri=store,
                           runs_dir=tmp_path, verbose=0, pictures=False)  # fmt: skip
    assert (result.hparams["window_norm"], result.hparams["season"]) == ("season_trend", SEASON)
    run = MlflowClient(store).get_run(result.run_id).data
    assert run.params["model.window_norm"] == "season_trend"
    tagged = {
        mode: float(mae) for mode, mae in (part.split() for part in run.tags["window_norm.naive_mae"].split(", "))
    }
    assert tagged == pytest.approx(errors, rel=1e-3)


def test_the_rules_anchor_is_the_models_anchor_past_the_first_season(tiny) -> None:
    """What differencing scores as season_trend's own forecast is what the head forecasts before
    training (`anchor_start`), at a horizon longer than the season too."""
    import zoo
    from recipes.forecasting import naive_errors

    data = _series_dataset(tiny[0], SEASON, horizon=2 * SEASON + 1)
    model = zoo.build("gru", input_shape=data.train.x.shape[1:], task="forecasting", num_outputs=1,
                      horizon=data.horizon, window_norm="season_trend", season=SEASON, anchor_start=True)  # fmt: skip
    forecast = data.inverse_targets(np.asarray(model(data.train.x, training=False), dtype=np.float64))
    truth = data.inverse_targets(data.train.y.astype(np.float64))
    assert np.mean(np.abs(forecast - truth)) == pytest.approx(naive_errors(data, SEASON)["season_trend"], rel=1e-4)


def test_conformal_half_widths_by_hand() -> None:
    """Split conformal: the ceil((n + 1) * level)-th smallest absolute validation error, per step."""
    from recipes import intervals

    truth = np.zeros((9, 2, 1))
    forecast = np.arange(1.0, 19.0).reshape(2, 9).T[:, :, None]  # step 1 misses by 1..9, step 2 by 10..18
    widths = intervals.half_widths(truth, forecast, level=0.8)  # rank ceil(10 * 0.8) = 8
    assert widths[:, 0] == pytest.approx([8.0, 17.0])
    assert intervals.half_widths(truth[:3], forecast[:3], level=0.8) is None  # 3 windows cannot size 80%
    scores = intervals.scores(np.zeros((2, 2, 1)), np.array([[[7.0], [18.0]], [[9.0], [1.0]]]), widths, level=0.8)
    assert scores == {"coverage_80": pytest.approx(0.5), "interval_width_80": pytest.approx(25.0)}


def test_a_forecasting_run_sizes_its_interval_on_validation_and_reports_its_test_coverage(tiny, tmp_path) -> None:
    import json

    import recipes
    from recipes import intervals

    _, data = tiny
    result = recipes.train("mlp", data, hparams={"units": 4}, epochs=2, seed=0, tracking=False, runs_dir=tmp_path,
                           verbose=0)  # fmt: skip
    saved = json.loads((result.run_dir / intervals.FILE).read_text())
    assert saved["level"] == intervals.LEVEL and np.shape(saved["half_widths"]) == (HORIZON, 1)
    assert 0.0 <= result.test_metrics["coverage_80"] <= 1.0
    assert result.test_metrics["interval_width_80"] == pytest.approx(2 * np.mean(saved["half_widths"]))
    refit = recipes.train("mlp", data, hparams={"units": 4}, epochs=2, select_on="train", tracking=False,
                          runs_dir=tmp_path / "refit", verbose=0)  # fmt: skip
    assert "coverage_80" not in refit.test_metrics  # fitted on its validation windows: nothing to size on


def test_drop_last_backtests_from_an_earlier_origin() -> None:
    """`-o drop_last=N` cuts the series' last N points first: the test segment ends N points
    earlier (what defaults are chosen on); cutting every point is one clear line."""
    from recipes.data import load
    from recipes.errors import DataError

    full, cut = load("forecast:nile", seed=0), load("forecast:nile", seed=0, drop_last=15)
    assert full.info["series_length"] == 100 and cut.info["series_length"] == 85
    assert (cut.info["time_range"][-1], full.info["test_target_times"][0]) == ("1955", "1956")  # nile's test: 15
    assert cut.info["preprocessing"]["segments"]["test"][1] == 85 and cut.info["preprocessing"]["dropped_last"] == 15
    with pytest.raises(DataError, match=r"^forecast:nile: drop_last=100 leaves none of the series' 100 points"):
        load("forecast:nile", seed=0, drop_last=100)
