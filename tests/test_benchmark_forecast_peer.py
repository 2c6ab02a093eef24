"""benchmarks/forecast_peer.py: the peer forecasts the windows the zoo's baselines forecast; the
report renders from small results files; without statsforecast the script says what to install."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from benchmarks import forecast_peer
from recipes.data.prepare import forecast_dataset

SEASON, LOOKBACK, HORIZON = 4, 8, 3


def _tiny():
    t = np.arange(60, dtype="float64")
    values = 20.0 + 0.5 * t + 3.0 * np.sin(2 * np.pi * t / SEASON) + np.random.default_rng(0).normal(0, 0.3, 60)
    return forecast_dataset(
        "synthetic:tiny", values[:, None], ["v"], targets=["v"], features=["v"], lookback=LOOKBACK, horizon=HORIZON,
        val_fraction=0.2, test_fraction=0.2, times=None, info={"seasonality": SEASON},
    )  # fmt: skip


def test_a_peer_forecasts_the_windows_the_baselines_forecast():
    pytest.importorskip("statsforecast")
    from recipes.baselines import ets

    dataset = _tiny()
    baseline = ets(dataset)
    predictions, models = forecast_peer.forecasts(dataset, "AutoETS")
    assert sum(models.values()) == len(dataset.test) and all(m.startswith("ETS(") for m in models)
    assert predictions.shape == baseline.predictions.shape == (len(dataset.test), HORIZON, 1)
    metrics = forecast_peer.scores(dataset, predictions)
    assert set(metrics) == set(baseline.metrics)  # same metric code: mae, mase, rmse, smape, per-step MAE
    # the peer's origins: fitted on every point before each test window's first target
    series, first = forecast_peer.origins(dataset)
    expected = forecast_peer.make_peer("AutoETS", SEASON).forecast(y=series[: first + 1, 0], h=HORIZON)["mean"]
    # (statsforecast's one-call forecast gives what fit + predict gave)
    np.testing.assert_allclose(predictions[1, :, 0], expected)


def test_without_statsforecast_one_line_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "statsforecast", None)  # import statsforecast raises ImportError
    args = ["--datasets", "forecast:nile", "--results", str(tmp_path / "r.jsonl"), "--report", str(tmp_path / "r.md")]
    with pytest.raises(SystemExit) as stop:
        forecast_peer.main(args)
    assert stop.value.code == forecast_peer.MISSING and "pip install statsforecast" in stop.value.code
    assert not (tmp_path / "r.jsonl").exists()


MACHINE = {"cpu": "cpu", "cores": 2, "cpus_used": [0], "ram_gb": 8, "python": "3.11", "platform": "linux"}
COMMAND = "TF_CPP_MIN_LOG_LEVEL=2 taskset -c 0 .venv/bin/python benchmarks/forecast_peer.py"
SHAPE = {"lookback": 24, "horizon": 12, "season": 12, "windows": 11}


def _metrics(mae: float) -> dict[str, float]:
    return {"mae": mae, "mase": mae / 10, "rmse": mae * 1.2, "smape": mae / 5}


DEFAULT = "differencing"  # the forecasting head's default window_norm


def test_the_report_puts_the_peers_beside_the_baselines_and_the_best_zoo_model():
    provenance = {"date": "2026-12-01T00:00:00+00:00", "machine": MACHINE, "command": COMMAND}
    records = [
        {"kind": "baseline", "dataset": "forecast:airline", "name": "ets", **SHAPE, "metrics": _metrics(20.0),
         "seconds": 1.0, **provenance},
        {"kind": "peer", "dataset": "forecast:airline", "name": "AutoETS", **SHAPE, "metrics": _metrics(15.0),
         "seconds": 0.5, "statsforecast": "2.1.1", "pandas": "3.0.6", "chosen": {"ETS(M,N,M)": 11}, **provenance},
        {"kind": "peer", "dataset": "forecast:nile", "name": "AutoETS", **SHAPE, "metrics": _metrics(100.0),
         "seconds": 0.1, "statsforecast": "2.1.1", "pandas": "3.0.6", **provenance},
    ]  # fmt: skip
    zoo = [
        {"kind": "model", "dataset": "forecast:airline", "name": name, "seed": seed, "window_norm": norm,
         "resolved": norm, "lookback": 24, "horizon": 12, "metrics": _metrics(mae), "seconds": 10.0, "loss": "mae",
         **other}
        for name, seed, norm, mae, other in [
            ("mlp", 0, DEFAULT, 18.0, {}), ("mlp", 1, DEFAULT, 20.0, {}), ("lstm", 0, DEFAULT, 25.0, {}),
            # Not read: another window_norm, another hyperparameter, the loss before, a backtest.
            ("gru", 0, "last", 1.0, {}), ("lstm", 1, DEFAULT, 1.0, {"hp": {"refit": True}}),
            ("fcn", 0, DEFAULT, 1.0, {"loss": "mse"}), ("cnn_lstm", 0, DEFAULT, 1.0, {"backtest": 22}),
        ]
    ]  # fmt: skip
    best = forecast_peer.best_zoo("forecast:airline", SHAPE, zoo)
    assert (best["name"], best["seeds"], best["metrics"]["mae"]) == ("mlp", [0, 1], 19.0)
    assert forecast_peer.best_zoo("forecast:airline", {**SHAPE, "horizon": 6}, zoo) is None  # other windows

    text = forecast_peer.render(records, zoo)
    assert (
        "| forecast:airline | AutoETS 15.00 (1.500) | ets 20.00 (2.000) | ets 20.00 (2.000) | mlp 19.00 (1.900, n=2) |"
        in text
    )
    assert "| forecast:nile | AutoETS 100.00 (10.000) | — | — | not measured yet |" in text
    assert (
        text.index("| **AutoETS** | statsforecast 2.1.1 | 15.00")
        < text.index("| mlp | best zoo model")
        < text.index("| ets | recipes.baselines | 20.00")
    )
    assert "Best zoo model (window_norm differencing): not measured yet." in text
    assert "What each peer chose at the origins: AutoETS ETS(M,N,M) x11." in text
    assert "NeuralForecast" in text and COMMAND in text
