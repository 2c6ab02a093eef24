"""Conformance: every registered model, every task it claims, the same contract.

A new model in a family module is covered here without a new test: the cases come from
`zoo.list_models()` and each model's own tiny `test_config`.
"""

from __future__ import annotations

import dataclasses
import warnings

import keras
import numpy as np
import pytest

import zoo
from tests.helpers import (
    HORIZON,
    LENGTH,
    compile_for,
    expected_shape,
    series,
    targets,
    tiny_kwargs,
    token_ids,
)

MODELS = zoo.list_models()
CASES = [(name, task) for name in MODELS for task in zoo.get_spec(name).tasks]


def _predict(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """Inference-mode forward pass (eager: no per-model tracing cost in the tests)."""
    return keras.ops.convert_to_numpy(model(x, training=False))


def _assert_same_predictions(a: keras.Model, b: keras.Model, x: np.ndarray) -> None:
    np.testing.assert_array_equal(_predict(a, x), _predict(b, x))


@pytest.mark.parametrize(("name", "task"), CASES)
def test_builds_predicts_trains_and_round_trips(name: str, task: str, tmp_path) -> None:
    model = zoo.build(name, **tiny_kwargs(name, task))
    assert model.name == name
    assert isinstance(model.get_layer("backbone"), keras.Model)
    x = series(batch=4)
    y = _predict(model, x)
    assert y.shape == expected_shape(task, 4, LENGTH)
    assert np.all(np.isfinite(y))
    if zoo.get_spec(name).variable_length:
        longer = _predict(model, series(batch=2, length=LENGTH + 7))
        assert longer.shape == expected_shape(task, 2, LENGTH + 7)

    compile_for(model, task)
    with warnings.catch_warnings():
        if task == "reconstruction":  # a pooling layer (e.g. attention) is unused by a per-step head
            warnings.filterwarnings("ignore", "Gradients do not exist for variables", UserWarning)
        loss = model.train_on_batch(x, targets(task, 4))
    assert np.isfinite(loss)

    path = tmp_path / f"{name}-{task}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    _assert_same_predictions(model, loaded, x)


@pytest.mark.parametrize("name", [n for n in MODELS if "tokens" in zoo.get_spec(n).inputs])
def test_token_inputs_train_and_round_trip(name: str, tmp_path) -> None:
    model = zoo.build(name, **tiny_kwargs(name, "classification", tokens=True))
    ids = token_ids(batch=4)
    assert _predict(model, ids).shape == expected_shape("classification", 4, LENGTH)
    compile_for(model, "classification")
    assert np.isfinite(model.train_on_batch(ids, targets("classification", 4)))
    model.save(tmp_path / "m.keras")
    _assert_same_predictions(model, keras.saving.load_model(tmp_path / "m.keras", safe_mode=True), ids)


@pytest.mark.parametrize("name", [n for n in MODELS if zoo.get_spec(n).masking])
def test_right_padding_is_ignored_where_masking_is_claimed(name: str) -> None:
    """Padded with id 0 (tokens) or `mask_value` (series), predictions do not change."""
    ids = token_ids(batch=3, length=10)
    padded_ids = np.concatenate([ids, np.zeros((3, 6), "int32")], axis=1)
    model = zoo.build(name, **tiny_kwargs(name, "classification", tokens=True))
    np.testing.assert_allclose(_predict(model, ids), _predict(model, padded_ids), rtol=1e-5, atol=1e-6)
    x = series(batch=3, length=10)
    padded_x = np.concatenate([x, np.full((3, 6, x.shape[-1]), -9.0, "float32")], axis=1)
    model = zoo.build(name, mask_value=-9.0, **tiny_kwargs(name, "regression"))
    np.testing.assert_allclose(_predict(model, x), _predict(model, padded_x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", [n for n in MODELS if zoo.get_spec(n).causal])
def test_per_step_features_are_causal_where_claimed(name: str) -> None:
    """Changing the steps after k leaves the per-step outputs up to k as they were."""
    x = series(batch=2, length=12)
    changed = x.copy()
    changed[:, 7:] = np.random.default_rng(1).normal(size=changed[:, 7:].shape)
    model = zoo.build(name, **tiny_kwargs(name, "reconstruction"))
    before, after = _predict(model, x), _predict(model, changed)
    np.testing.assert_allclose(before[:, :7], after[:, :7], rtol=1e-5, atol=1e-6)
    assert not np.allclose(before[:, 7:], after[:, 7:])


@pytest.mark.parametrize("name", MODELS)
def test_untuned_config_equals_search_space_defaults(name: str) -> None:
    import keras_tuner as kt

    from tuning.space import declare

    spec = zoo.get_spec(name)
    defaults = dataclasses.asdict(zoo.make_config(spec.config, {}))
    assert zoo.describe(name).defaults == defaults
    hp = kt.HyperParameters()
    drawn = declare(hp, spec.config)
    assert drawn, f"{name} declares no tunable hyperparameter"
    assert drawn == {k: defaults[k] for k in drawn}
    assert hp.values == drawn
    for param in zoo.search_space(spec.config).values():
        assert param.space.contains(param.default) and param.valid.contains(param.default)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("seed", [0, 1])
def test_random_draw_from_the_space_builds(name: str, seed: int) -> None:
    spec = zoo.get_spec(name)
    overrides = zoo.sample_config(spec.config, seed=seed)
    length = max(LENGTH, spec.min_length(zoo.make_config(spec.config, overrides)))
    kwargs = tiny_kwargs(name, "classification", length=length)
    kwargs.update(overrides)
    model = zoo.build(name, **kwargs)
    y = _predict(model, series(batch=2, length=length))
    assert y.shape == (2, kwargs["num_outputs"]) and np.all(np.isfinite(y))


@pytest.mark.parametrize("name", MODELS)
def test_pretrained_backbone_plugs_into_a_new_head(name: str) -> None:
    spec = zoo.get_spec(name)
    pretext = "reconstruction" if "reconstruction" in spec.tasks else "regression"
    pretrained = zoo.build(name, **tiny_kwargs(name, pretext))
    encoder = pretrained.get_layer("backbone")
    kwargs = {k: v for k, v in tiny_kwargs(name, "classification").items() if k not in spec.test_config}

    frozen = zoo.build(name, backbone=pretrained, freeze_backbone=True, **kwargs)
    assert frozen.get_layer("backbone") is encoder
    assert encoder.trainable_weights == []
    assert frozen.trainable_weights and all("classification" in w.path for w in frozen.trainable_weights)
    before = [w.numpy().copy() for w in encoder.weights]
    compile_for(frozen, "classification")
    frozen.train_on_batch(series(batch=4), targets("classification", 4))
    for old, new in zip(before, encoder.weights, strict=True):
        np.testing.assert_array_equal(old, new.numpy())

    unfrozen = zoo.build(name, backbone=encoder, freeze_backbone=False, **kwargs)
    assert len(unfrozen.get_layer("backbone").trainable_weights) > 0


@pytest.mark.parametrize("name", [n for n in MODELS if zoo.get_spec(n).fast_path is not None])
def test_default_recurrent_layers_are_cudnn_eligible(name: str) -> None:
    assert zoo.describe(name).cudnn_fast_path is True
    model = zoo.build(name, input_shape=(None, 2), task="classification", num_outputs=2)
    rnns = []
    for layer in model.get_layer("backbone").layers:
        inner = (
            [layer.forward_layer, layer.backward_layer] if isinstance(layer, keras.layers.Bidirectional) else [layer]
        )
        rnns += [la for la in inner if isinstance(la, (keras.layers.LSTM, keras.layers.GRU))]
    assert rnns, f"{name} declares a fast path but has no LSTM/GRU layer"
    for layer in rnns:
        cfg = layer.get_config()
        assert cfg["activation"] == "tanh" and cfg["recurrent_activation"] == "sigmoid"
        assert cfg["recurrent_dropout"] == 0 and cfg["unroll"] is False and cfg["use_bias"] is True
        if isinstance(layer, keras.layers.GRU):
            assert cfg["reset_after"] is True


@pytest.mark.parametrize("name", MODELS)
def test_a_backbone_without_per_step_features_pools_the_same(name: str) -> None:
    """`per_step=False` (what a pooled head gets) changes what is computed, not the weights or the result."""
    kwargs = {
        k: v for k, v in tiny_kwargs(name, "classification").items() if k not in ("task", "num_outputs", "horizon")
    }
    full = zoo.build_backbone(name, **kwargs)
    lean = zoo.build_backbone(name, per_step=False, **kwargs)
    assert [w.shape for w in lean.weights] == [w.shape for w in full.weights]
    lean.set_weights(full.get_weights())
    x = series(batch=3)
    np.testing.assert_allclose(_predict_dict(lean, x)["pooled"], _predict_dict(full, x)["pooled"], rtol=1e-5, atol=1e-6)
    assert set(lean.output) <= set(full.output)
    if "sequence" in lean.output:  # kept where the pooling reads it (attention)
        np.testing.assert_allclose(_predict_dict(lean, x)["sequence"], _predict_dict(full, x)["sequence"], rtol=1e-5)


def test_pooled_heads_skip_the_recurrent_per_step_output() -> None:
    for name in ("lstm", "gru", "bilstm", "stacked_lstm", "cnn_lstm", "lstm_fcn"):
        backbone = zoo.build(name, **tiny_kwargs(name, "classification")).get_layer("backbone")
        assert set(backbone.output) == {"pooled"}, name
        last = [la for la in backbone.layers if isinstance(la, (keras.layers.RNN, keras.layers.Bidirectional))][-1]
        assert not getattr(last, "return_sequences", False), name
    assert "sequence" in zoo.build("lstm", **tiny_kwargs("lstm", "reconstruction")).get_layer("backbone").output


def _predict_dict(model: keras.Model, x: np.ndarray) -> dict[str, np.ndarray]:
    return {k: keras.ops.convert_to_numpy(v) for k, v in model(x, training=False).items()}


FORECASTERS = [n for n in MODELS if "forecasting" in zoo.get_spec(n).tasks]


@pytest.mark.parametrize("window_norm", ["last", "mean", "level", "diff", "season", "season_trend"])
@pytest.mark.parametrize("name", FORECASTERS)
def test_a_forecast_shifts_with_its_window_and_round_trips(name: str, window_norm: str, tmp_path) -> None:
    """Per-window normalisation: a constant added to a window adds the same constant to the
    forecast (whatever the weights), and the saved model takes raw windows too."""
    season = {"season": 3} if window_norm.startswith("season") else {}
    model = zoo.build(name, **tiny_kwargs(name, "forecasting"), window_norm=window_norm, **season)
    _assert_shifts_and_round_trips(model, series(batch=4) * 5.0 + 40.0, tmp_path / f"{name}-{window_norm}.keras")


def _assert_shifts_and_round_trips(model: keras.Model, x: np.ndarray, path) -> None:
    """A constant added to each feature of the windows `x` (raw units, far from 0) moves the
    forecast by that constant; saved to `path` and loaded, the model predicts the same."""
    shift = np.array([3.0, -2.0, 700.0], dtype="float32")
    moved = _predict(model, x + shift) - _predict(model, x)
    np.testing.assert_allclose(moved, np.broadcast_to(shift, moved.shape), atol=2e-3 * 700)
    model.save(path)
    _assert_same_predictions(model, keras.saving.load_model(path, safe_mode=True), x)


@pytest.mark.parametrize("window_norm", ["last", "season"])
def test_the_linear_skip_is_added_inside_the_normalisation_and_round_trips(window_norm: str, tmp_path) -> None:
    """With `linear_skip`, the forecast is the network's plus a linear map of the normalised
    window: it still shifts with its window whatever the map's weights, and saves whole."""
    season = {"season": 3} if window_norm == "season" else {}
    kwargs = tiny_kwargs("gru", "forecasting", length=LENGTH)
    model = zoo.build("gru", **kwargs, window_norm=window_norm, linear_skip=True, **season)
    x = series(batch=4) * 5.0 + 40.0
    network_only = _predict(model, x)  # the map starts at zero
    skip = model.get_layer("linear_skip")
    skip.kernel.assign(np.random.default_rng(0).normal(size=skip.kernel.shape).astype("float32"))
    assert np.abs(_predict(model, x) - network_only).max() > 1e-2
    _assert_shifts_and_round_trips(model, x, tmp_path / f"skip-{window_norm}.keras")
    with pytest.raises(zoo.ConfigError, match="linear_skip needs a fixed window length"):
        zoo.build("gru", input_shape=(None, 3), task="forecasting", num_outputs=3, horizon=2, linear_skip=True)


def test_the_level_anchor_is_exponential_smoothing_learned_with_the_model(tmp_path) -> None:
    """window_norm level: the anchor is the window's simple-exponential-smoothing level (hand
    computed here), its coefficient a weight that training moves and `.keras` keeps."""
    model = zoo.build("gru", **tiny_kwargs("gru", "forecasting", length=LENGTH), window_norm="level")
    layer = model.get_layer("window_norm")
    alpha = np.array([0.3, 0.6, 0.9], dtype="float32")
    layer.smoothing.assign(np.log(alpha / (1 - alpha)))
    x = series(batch=4) * 5.0 + 40.0
    level = x[:, 0, :].copy()
    for t in range(1, x.shape[1]):
        level = alpha * x[:, t, :] + (1 - alpha) * level
    _, loc, _ = layer(x)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loc)[:, 0, :], level, rtol=1e-5)
    _assert_shifts_and_round_trips(model, x, tmp_path / "level.keras")  # the learned coefficient saved with it

    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mae")
    before = keras.ops.convert_to_numpy(layer.smoothing).copy()
    model.fit(x, x[:, -HORIZON:, :] + 3.0, epochs=3, verbose=0)
    assert np.abs(keras.ops.convert_to_numpy(layer.smoothing) - before).max() > 1e-3


@pytest.mark.parametrize(("window_norm", "anchor"), [("last", lambda x: x[:, -1, :]), ("mean", lambda x: x.mean(1))])
def test_an_anchor_start_forecasts_the_anchor_until_training_moves_it(window_norm: str, anchor, tmp_path) -> None:
    """`anchor_start`: the untrained forecast is the window's anchor repeated over the horizon
    (the last value, the mean); one training step moves it off, and `.keras` keeps the option."""
    kwargs = tiny_kwargs("gru", "forecasting", length=LENGTH)
    model = zoo.build("gru", **kwargs, window_norm=window_norm, anchor_start=True)
    x = series(batch=4) * 5.0 + 40.0
    expected = np.broadcast_to(anchor(x)[:, None, :], (4, HORIZON, 3))
    np.testing.assert_allclose(_predict(model, x), expected, rtol=1e-5)
    default = zoo.build("gru", **kwargs, window_norm=window_norm)
    assert np.abs(_predict(default, x) - expected).max() > 1e-2  # the default starts elsewhere
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mae")
    model.fit(x, x[:, -HORIZON:, :] + 3.0, epochs=2, verbose=0)
    assert np.abs(_predict(model, x) - expected).max() > 1e-3
    _assert_shifts_and_round_trips(model, x, tmp_path / "anchor.keras")


def test_the_season_trend_anchor_is_the_seasonal_random_walk_with_the_last_seasons_change() -> None:
    """window_norm season_trend with anchor_start: the untrained forecast is SARIMA(0,1,0)(0,1,0)'s,
    hand computed (y_T+h = y_T+h-s + y_T - y_T-s), past the first season too."""
    horizon, season = 9, 4
    kwargs = {**tiny_kwargs("gru", "forecasting", length=LENGTH), "horizon": horizon}
    model = zoo.build("gru", **kwargs, window_norm="season_trend", season=season, anchor_start=True)
    x = series(batch=2) * 5.0 + 40.0
    path = list(np.moveaxis(x, 1, 0))  # steps, each (batch, features)
    for _ in range(horizon):
        path.append(path[-season] + x[:, -1, :] - x[:, -1 - season, :])
    np.testing.assert_allclose(_predict(model, x), np.stack(path[LENGTH:], axis=1), rtol=1e-5)
    with pytest.raises(zoo.ConfigError, match=r"season_trend needs a season of 1 step to 15 \(the window less 1\)"):
        zoo.build("gru", **kwargs, window_norm="season_trend", season=LENGTH)


def test_a_head_option_belongs_to_its_task() -> None:
    with pytest.raises(zoo.ConfigError, match="window_norm"):
        zoo.build("lstm", **tiny_kwargs("lstm", "classification"), window_norm="last")
    with pytest.raises(zoo.ConfigError, match=r"window_norm='lastt' is invalid \(did you mean: last\?\)"):
        zoo.build("lstm", **tiny_kwargs("lstm", "forecasting"), window_norm="lastt")
    with pytest.raises(zoo.ConfigError, match=r"window_norm season needs a season of 1 step .*, got season=0"):
        zoo.build("lstm", **tiny_kwargs("lstm", "forecasting"), window_norm="season")
    auto = zoo.build("lstm", **tiny_kwargs("lstm", "forecasting"), window_norm="auto")  # no data to choose on
    assert auto.get_layer("window_norm").mode == "last"
