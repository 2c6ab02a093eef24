"""`zoo.build`: a registered backbone plus a shared task head, as a functional Keras model."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from zoo.errors import ConfigError, FastPathWarning
from zoo.models._knobs import EVERY_STEP, resolve_patch, resolve_shuffle
from zoo.params import make_config, params
from zoo.registry import ModelSpec, get_spec

if TYPE_CHECKING:
    import keras

BACKBONE = "backbone"


def _input_kind(name: str, input_shape: tuple, vocab_size: int | None) -> str:
    shape = tuple(input_shape)
    if len(shape) == 1:
        if vocab_size is None:
            raise ConfigError(
                f"{name}: input_shape={shape} means token ids (batch, time); pass vocab_size "
                "(or give (time, features) for numeric series)"
            )
        if not isinstance(vocab_size, int) or vocab_size < 2:
            raise ConfigError(f"{name}: vocab_size={vocab_size!r} must be an int >= 2 (id 0 is padding)")
        return "tokens"
    if len(shape) == 2:
        if vocab_size is not None:
            raise ConfigError(f"{name}: vocab_size is only for token inputs of shape (time,); got input_shape={shape}")
        if not isinstance(shape[1], int) or shape[1] < 1:
            raise ConfigError(f"{name}: input_shape={shape} needs a positive number of features")
        return "series"
    raise ConfigError(f"{name}: input_shape={shape} must be (time, features) for series or (time,) for tokens")


def _check_outputs(name: str, spec: ModelSpec, task: str, num_outputs: Any, horizon: Any) -> None:
    if task not in spec.tasks:
        raise ConfigError(f"{name} does not support task {task!r}; it supports: {', '.join(spec.tasks)}")
    if not isinstance(num_outputs, int) or isinstance(num_outputs, bool) or num_outputs < 1:
        raise ConfigError(f"{name}: num_outputs={num_outputs!r} must be a positive int")
    if task == "classification" and num_outputs < 2:
        raise ConfigError(f"{name}: classification needs num_outputs >= 2 classes (use 2 for binary)")
    if task == "forecasting":
        if not isinstance(horizon, int) or isinstance(horizon, bool) or horizon < 1:
            raise ConfigError(f"{name}: forecasting needs horizon, a positive int (got {horizon!r})")
    elif horizon is not None:
        raise ConfigError(f"{name}: horizon is only for task='forecasting' (task is {task!r})")


def _check_length(name: str, spec: ModelSpec, cfg: Any, length: Any) -> None:
    if length is None:
        if not spec.variable_length:
            raise ConfigError(f"{name} needs a fixed sequence length; input_shape has None for time")
        return
    if not isinstance(length, int) or length < 1:
        raise ConfigError(f"{name}: sequence length {length!r} must be a positive int or None")
    shortest = spec.min_length(cfg)
    if length < shortest:
        raise ConfigError(
            f"{name}: sequences of length {length} are too short for this config; "
            f"it needs at least {shortest} steps (reduce pooling/blocks or pad the data)"
        )


def _warn_fast_path(name: str, spec: ModelSpec, cfg: Any) -> None:
    if spec.fast_path is None:
        return
    for knob in spec.fast_path(cfg):
        warnings.warn(
            f"{name}: {knob} takes the recurrent layers off the cuDNN fast path "
            "(much slower on GPU); the default keeps it",
            FastPathWarning,
            stacklevel=3,
        )


def every_step(name: str) -> dict[str, Any]:
    """The hyperparameters that have `name` read every input step (`EVERY_STEP`: no patches, no
    dimension shuffle), those it declares; empty for a model without such knobs."""
    declared = {p.name for p in params(get_spec(name).config)}
    return {k: v for k, v in EVERY_STEP.items() if k in declared}


def build_backbone(
    name: str,
    *,
    input_shape: tuple,
    vocab_size: int | None = None,
    mask_value: float | None = None,
    per_step: bool = True,
    **overrides: Any,
) -> keras.Model:
    """Build only the backbone of `name`: inputs to `{"pooled": ..., "sequence": ...}`.

    "sequence" (one feature vector per input step) is present when the architecture has it
    and `per_step` is True. `per_step=False` leaves out what only "sequence" needs (the
    weights are the same), for heads that read "pooled" alone.
    """
    import keras

    import zoo.layers  # noqa: F401  (custom layers registered before use)

    spec = get_spec(name)
    kind = _input_kind(name, input_shape, vocab_size)
    if kind not in spec.inputs:
        raise ConfigError(f"{name} does not take {kind} inputs; it takes: {', '.join(spec.inputs)}")
    cfg = make_config(spec.config, overrides, model=name)
    if hasattr(cfg, "patch"):
        plain = kind == "series" and mask_value is None
        cfg = resolve_shuffle(cfg, length=input_shape[0], plain=plain, per_step=per_step)
        cfg = resolve_patch(cfg, length=input_shape[0], plain=plain, per_step=per_step, model=name)
    _check_length(name, spec, cfg, input_shape[0])
    _warn_fast_path(name, spec, cfg)
    inputs = keras.Input(shape=tuple(input_shape), dtype="int32" if kind == "tokens" else "float32", name="inputs")
    if kind == "tokens":
        x = keras.layers.Embedding(vocab_size, cfg.embedding_dim, mask_zero=True, name="embedding")(inputs)
    elif mask_value is not None:
        x = keras.layers.Masking(mask_value=mask_value, name="masking")(inputs)
    else:
        x = inputs
    pooled, sequence = spec.call_builder(cfg, x, per_step=per_step)
    outputs = {"pooled": pooled}
    if sequence is not None:
        outputs["sequence"] = sequence
    return keras.Model(inputs, outputs, name=BACKBONE)


def _reuse_backbone(model: Any, input_shape: tuple, vocab_size: int | None) -> keras.Model:
    import keras

    if not isinstance(model, keras.Model):
        raise ConfigError(f"backbone must be a keras.Model (a zoo model or its backbone), got {type(model).__name__}")
    if model.name != BACKBONE:
        try:
            model = model.get_layer(BACKBONE)
        except ValueError:
            raise ConfigError(
                f"backbone: model {model.name!r} has no sub-model named {BACKBONE!r}; pass a model "
                "built by zoo.build (or its .get_layer('backbone'))"
            ) from None
    have = tuple(model.input_shape[1:])
    want = tuple(input_shape)
    tokens = len(want) == 1
    same_kind = len(have) == len(want)
    same_features = tokens or (same_kind and have[-1] == want[-1])
    same_time = have[0] is None or have[0] == want[0]
    if not (same_kind and same_features and same_time):
        raise ConfigError(f"backbone takes inputs of shape {have} but the new model's input_shape is {want}")
    if tokens:
        embedding = next((la for la in model.layers if la.name == "embedding"), None)
        if embedding is not None and vocab_size is not None and embedding.input_dim != vocab_size:
            raise ConfigError(f"backbone embeds {embedding.input_dim} token ids but vocab_size is {vocab_size}")
    return model


def _head(task: str, features: dict, num_outputs: int, horizon: int | None, kind: str, zero_start: bool = False) -> Any:
    import keras

    if task == "reconstruction":
        if "sequence" not in features:
            raise ConfigError(
                "reconstruction needs one output per time step, but this backbone has no "
                "per-step features (choose a model or config that keeps the time axis; a backbone "
                "taken from a classification, regression or forecasting model has pooled features only)"
            )
        activation = "softmax" if kind == "tokens" else None
        return keras.layers.Dense(num_outputs, activation=activation, dtype="float32", name="reconstruction")(
            features["sequence"]
        )
    pooled = features["pooled"]
    if task == "classification":
        return keras.layers.Dense(num_outputs, activation="softmax", dtype="float32", name="classification")(pooled)
    if task == "regression":
        return keras.layers.Dense(num_outputs, dtype="float32", name="regression")(pooled)
    start = "zeros" if zero_start else "glorot_uniform"  # zeros: the forecast starts as its anchor
    flat = keras.layers.Dense(horizon * num_outputs, kernel_initializer=start, dtype="float32", name="forecast_dense")
    return keras.layers.Reshape((horizon, num_outputs), name="forecasting")(flat(pooled))


def _forecast(encoder: Any, inputs: Any, num_outputs: int, horizon: int, head: Any) -> Any:
    """The forecasting head around the backbone: each window normalised by its own statistics,
    the forecast put back into the input's units (the targets are the first input features)."""
    from zoo import heads
    from zoo.layers import WindowDenorm, WindowNorm

    window_norm = heads.AUTO_WITHOUT_DATA if head.window_norm in heads.CHOSEN_ON_DATA else head.window_norm
    if window_norm == "none":
        forecast = _head("forecasting", encoder(inputs), num_outputs, horizon, "series", head.anchor_start)
        return _with_skip(forecast, inputs, head)
    _check_season(window_norm, head.season, inputs.shape[1])
    normed, loc, scale = WindowNorm(window_norm, season=head.season, dtype="float32", name="window_norm")(inputs)
    forecast = _head("forecasting", encoder(normed), num_outputs, horizon, "series", head.anchor_start)
    forecast = _with_skip(forecast, normed, head)
    return WindowDenorm(window_norm, dtype="float32", name="window_denorm")([forecast, loc, scale])


def _check_season(window_norm: str, season: int, lookback: int | None) -> None:
    """A seasonal anchor's season fits the window (season_trend's change: one step more)."""
    from zoo import heads

    if window_norm not in heads.SEASONAL_NORMS:
        return
    longest = None if lookback is None else lookback - (window_norm == "season_trend")
    if not (1 <= season and (longest is None or season <= longest)):
        most = "or more" if longest is None else f"to {longest} (the window{' less 1' if longest < lookback else ''})"
        raise ConfigError(f"window_norm {window_norm} needs a season of 1 step {most}, got season={season}: "
                          "give season=N, or a longer window")  # fmt: skip


def _with_skip(forecast: Any, window: Any, head: Any) -> Any:
    """`forecast` plus, with `linear_skip`, a linear map of the whole `window` to the same shape
    (zero at the start: the network's forecast until training moves it)."""
    import keras

    if not head.linear_skip:
        return forecast
    if window.shape[1] is None:
        raise ConfigError("linear_skip needs a fixed window length: give input_shape=(lookback, features), "
                          "or linear_skip=False")  # fmt: skip
    horizon, outputs = forecast.shape[1], forecast.shape[2]
    flat = keras.layers.Flatten(name="skip_window")(window)
    linear = keras.layers.Dense(horizon * outputs, kernel_initializer="zeros", dtype="float32", name="linear_skip")
    skip = keras.layers.Reshape((horizon, outputs), name="skip_forecast")(linear(flat))
    return keras.layers.Add(dtype="float32", name="forecast_sum")([forecast, skip])


def build(
    name: str,
    *,
    input_shape: tuple,
    task: str,
    num_outputs: int,
    horizon: int | None = None,
    vocab_size: int | None = None,
    backbone: keras.Model | None = None,
    freeze_backbone: bool = False,
    mask_value: float | None = None,
    **overrides: Any,
) -> keras.Model:
    """Build a registered model as an uncompiled functional `keras.Model`.

    Args:
        name: Registry name, see `zoo.list_models()`.
        input_shape: `(time, features)` for numeric series or `(time,)` for token ids;
            `time` may be None where the model allows variable lengths.
        task: "classification" (softmax over `num_outputs` classes), "regression"
            (`num_outputs` targets), "forecasting" (`horizon` x `num_outputs`) or
            "reconstruction" (`num_outputs` per time step; softmax for tokens).
        num_outputs: Classes, targets or per-step outputs.
        horizon: Steps ahead, for forecasting only.
        vocab_size: Token vocabulary size (id 0 is padding and is masked).
        backbone: A backbone to reuse (the same layer object, so weights are shared with
            the model it came from): a zoo model or its `get_layer("backbone")`.
            Overrides are then not allowed.
        freeze_backbone: Leave no trainable weight in the backbone; False makes a reused
            backbone trainable again (it sets `trainable` on the shared object).
        mask_value: For series, steps whose features all equal this value are padding.
        **overrides: Hyperparameters, and for forecasting the head's options (`zoo.heads`:
            window_norm); None values are ignored, so unset flags keep defaults.

    Returns:
        A model named `name` whose layer "backbone" is the reusable encoder. Built here for a
        head other than reconstruction, the backbone outputs "pooled" only (it skips the
        per-step features no head reads); `build_backbone` gives both.

    Raises:
        UnknownModelError, ConfigError: with a one-line message saying what to change.
    """
    import keras

    from zoo import heads

    spec = get_spec(name)
    _check_outputs(name, spec, task, num_outputs, horizon)
    kind = _input_kind(name, input_shape, vocab_size)
    overrides, head_options = heads.split(task, overrides)
    head = heads.head_config(task, head_options, model=name)
    if backbone is None:
        # Only a reconstruction head reads the per-step features; the others skip computing them.
        encoder = build_backbone(
            name,
            input_shape=input_shape,
            vocab_size=vocab_size,
            mask_value=mask_value,
            per_step=task == "reconstruction",
            **overrides,
        )
    else:
        given = sorted(k for k, v in overrides.items() if v is not None)
        if given:
            raise ConfigError(f"{name}: a reused backbone keeps its own hyperparameters; drop {', '.join(given)}")
        encoder = _reuse_backbone(backbone, input_shape, vocab_size)
    encoder.trainable = not freeze_backbone
    inputs = keras.Input(shape=tuple(input_shape), dtype="int32" if kind == "tokens" else "float32", name="inputs")
    if task == "forecasting" and kind == "series":
        outputs = _forecast(encoder, inputs, num_outputs, horizon, head)
    else:
        outputs = _head(task, encoder(inputs), num_outputs, horizon, kind)
    return keras.Model(inputs, outputs, name=name)


def ensemble(models: Sequence[keras.Model], *, name: str | None = None) -> keras.Model:
    """One functional model whose output is the mean of `models`' outputs: their class
    probabilities, or their forecasts (a deep ensemble: Lakshminarayanan et al. 2017, "Simple
    and Scalable Predictive Uncertainty Estimation using Deep Ensembles", NeurIPS; InceptionTime
    averages five networks so, Fawaz et al. 2020).

    Each model is nested as a layer `member_<i>`, its weights shared with the model given;
    the result saves and loads as one `.keras` file.

    Args:
        models: Two or more models taking the same inputs and giving outputs of one shape.
        name: The ensemble's name [default: "<first model's name>_ensemble"].

    Raises:
        ConfigError: fewer than two models, or inputs or outputs that differ.
    """
    import keras

    if len(models) < 2:
        raise ConfigError(f"an ensemble needs 2 or more models, got {len(models)}")
    first = models[0]
    for other in models[1:]:
        if other.input_shape != first.input_shape or other.output_shape != first.output_shape:
            raise ConfigError(
                f"ensemble members differ: {other.name} maps {other.input_shape} -> {other.output_shape}, "
                f"{first.name} {first.input_shape} -> {first.output_shape}"
            )
    inputs = keras.Input(shape=first.input_shape[1:], dtype=first.inputs[0].dtype, name=first.inputs[0].name)
    members = [keras.Model(m.input, m.output, name=f"member_{i}") for i, m in enumerate(models)]
    mean = keras.layers.Average(dtype="float32", name="ensemble_mean")([member(inputs) for member in members])
    return keras.Model(inputs, mean, name=name or f"{first.name}_ensemble")
