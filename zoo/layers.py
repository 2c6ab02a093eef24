"""The few custom layers the zoo needs, registered for `.keras` serialization.

Written with `keras.ops` only, so they run on the TensorFlow, JAX and torch backends, and
load with `keras.saving.load_model(..., safe_mode=True)` once `zoo` is imported.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from zoo.heads import CHOSEN_ON_DATA, SEASONAL_NORMS, WINDOW_NORMS

PACKAGE = "lstm_zoo"


@keras.saving.register_keras_serializable(package=PACKAGE)
class AttentionPooling(keras.layers.Layer):
    """Pool `(batch, time, features)` to `(batch, features)` with learned attention.

    `kind="additive"` scores each step with `v^T tanh(W h_t + b)` (Bahdanau et al. 2015);
    `kind="multihead"` lets one learned query attend over the steps with multi-head
    attention (Vaswani et al. 2017). Masked (padded) steps get zero weight.

    Args:
        kind: "additive" or "multihead".
        units: Width of the additive scoring layer.
        num_heads: Heads for "multihead".
    """

    def __init__(self, kind: str = "additive", units: int = 64, num_heads: int = 4, **kwargs: Any):
        super().__init__(**kwargs)
        if kind not in ("additive", "multihead"):
            raise ValueError(f"AttentionPooling kind must be 'additive' or 'multihead', got {kind!r}")
        self.kind = kind
        self.units = units
        self.num_heads = num_heads
        self.supports_masking = True
        self.mha = None

    def build(self, input_shape: tuple) -> None:
        dim = input_shape[-1]
        if self.kind == "additive":
            self.w = self.add_weight(name="w", shape=(dim, self.units), initializer="glorot_uniform")
            self.b = self.add_weight(name="b", shape=(self.units,), initializer="zeros")
            self.v = self.add_weight(name="v", shape=(self.units, 1), initializer="glorot_uniform")
        else:
            self.query = self.add_weight(name="query", shape=(1, 1, dim), initializer="glorot_uniform")
            self.mha = keras.layers.MultiHeadAttention(
                num_heads=self.num_heads, key_dim=max(1, dim // self.num_heads), name="mha"
            )
            self.mha.build((input_shape[0], 1, dim), input_shape)

    def call(self, inputs: Any, mask: Any = None) -> Any:
        if self.kind == "additive":
            hidden = ops.tanh(ops.matmul(inputs, self.w) + self.b)
            scores = ops.cast(ops.squeeze(ops.matmul(hidden, self.v), axis=-1), "float32")
            if mask is not None:
                scores = ops.where(mask, scores, ops.full_like(scores, -1e9))
            weights = ops.cast(ops.softmax(scores, axis=-1), inputs.dtype)
            return ops.sum(inputs * ops.expand_dims(weights, -1), axis=1)
        batch = ops.shape(inputs)[0]
        query = ops.broadcast_to(ops.cast(self.query, inputs.dtype), (batch, 1, inputs.shape[-1]))
        attention_mask = None if mask is None else ops.expand_dims(mask, 1)
        return ops.squeeze(self.mha(query, inputs, attention_mask=attention_mask), axis=1)

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "kind": self.kind, "units": self.units, "num_heads": self.num_heads}


@keras.saving.register_keras_serializable(package=PACKAGE)
class SinusoidalPositionEncoding(keras.layers.Layer):
    """Add fixed sine/cosine position encodings (Vaswani et al. 2017); any length works."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs: Any) -> Any:
        length, dim = ops.shape(inputs)[1], inputs.shape[-1]
        position = ops.expand_dims(ops.cast(ops.arange(length), "float32"), 1)
        index = ops.arange(dim)
        rate = ops.power(10000.0, ops.cast(2 * (index // 2), "float32") / float(dim))
        angle = position / ops.expand_dims(rate, 0)
        encoding = ops.where(ops.expand_dims(index % 2 == 0, 0), ops.sin(angle), ops.cos(angle))
        return inputs + ops.cast(ops.expand_dims(encoding, 0), inputs.dtype)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape


@keras.saving.register_keras_serializable(package=PACKAGE)
class ZeroMasked(keras.layers.Layer):
    """Set masked (padded) steps to zero and consume the mask.

    Placed before layers that cannot take a mask (Conv1D, Flatten), so padding reaches
    them as zeros rather than as whatever the padding embedded to.
    """

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs: Any, mask: Any = None) -> Any:
        if mask is None:
            return inputs
        return inputs * ops.cast(ops.expand_dims(mask, -1), inputs.dtype)

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape


@keras.saving.register_keras_serializable(package=PACKAGE)
class WindowNorm(keras.layers.Layer):
    """Normalise each input window by its own statistics, per feature (reversible instance
    normalisation: Kim et al. 2022, "Reversible Instance Normalization for Accurate
    Time-Series Forecasting against Distribution Shift", ICLR).

    Returns `[normalised, loc, scale]`, `scale` of shape `(batch, 1, features)` and `loc` too
    (`season` rows for "season", `season + 1` for "season_trend"), which `WindowDenorm` applies
    back to the forecast:

    - "last": subtract the window's last value, divide by its standard deviation;
    - "mean": subtract the window's mean, divide by its standard deviation;
    - "diff": the window's first differences (the first step 0), divided by their standard
      deviation; `loc` is the last value, and the forecast is read as steps from it;
    - "season": the window's seasonal differences (`season` steps apart; the first `season`
      steps 0), divided by their standard deviation; `loc` is the window's last season, and
      each forecast step is read as a difference from the value one season before it;
    - "season_trend": as "season", less the last seasonal difference (`x_T - x_(T-season)`):
      the network learns changes in the seasonal differences; `loc` is the window's last season
      plus that difference (each step's anchor: the value one season before it, plus the last
      season's change, the forecast of SARIMA(0,1,0)(0,1,0), the differencing of Box and
      Jenkins' airline model) and, as one more row, the difference itself;
    - "level": subtract the window's exponentially smoothed level (simple exponential
      smoothing from its first value, the smoothing coefficient learned per feature with the
      model, as the level of ES-RNN: Smyl 2020, "A hybrid method of exponential smoothing and
      recurrent neural networks for time series forecasting", IJF), divide by its standard
      deviation. The weights sum to 1 whatever the coefficient, so a constant added to the
      window moves `loc` by that constant.

    A flat window (deviation below `epsilon`) is divided by 1.
    """

    def __init__(self, mode: str = "last", epsilon: float = 1e-5, season: int = 0, **kwargs: Any):
        super().__init__(**kwargs)
        modes = tuple(m for m in WINDOW_NORMS if m not in (*CHOSEN_ON_DATA, "none"))
        if mode not in modes:
            raise ValueError(f"WindowNorm mode must be one of {modes}, got {mode!r}")
        if mode in SEASONAL_NORMS and season < 1:
            raise ValueError(f"WindowNorm mode {mode} needs a season of 1 step or more, got {season}")
        self.mode = mode
        self.epsilon = epsilon
        self.season = season

    def build(self, input_shape: tuple) -> None:
        if self.mode == "level":  # the smoothing coefficient's logit per feature; 0 is alpha 0.5
            self.smoothing = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="smoothing")

    def call(self, inputs: Any) -> list[Any]:
        last = inputs[:, -1:, :]
        if self.mode in ("diff", *SEASONAL_NORMS):  # first or seasonal differences, the first lag steps 0
            lag = 1 if self.mode == "diff" else self.season
            steps = inputs[:, lag:, :] - inputs[:, :-lag, :]
            loc = last if self.mode == "diff" else inputs[:, -lag:, :]
            if self.mode == "season_trend":  # less the last seasonal difference, kept as loc's last row
                trend = steps[:, -1:, :]
                steps, loc = steps - trend, ops.concatenate([loc + trend, trend], axis=1)
            centred = ops.concatenate([ops.zeros_like(inputs[:, :lag, :]), steps], axis=1)
        else:
            loc = {"mean": ops.mean(inputs, axis=1, keepdims=True), "last": last}.get(self.mode)
            loc = self._level(inputs) if loc is None else loc
            centred = inputs - loc
        spread = ops.std(centred if self.mode in ("diff", *SEASONAL_NORMS) else inputs, axis=1, keepdims=True)
        scale = ops.where(spread > self.epsilon, spread, ops.ones_like(spread))
        return [centred / scale, loc, scale]

    def _level(self, inputs: Any) -> Any:
        """The level after the window's last step: l_0 = x_0, l_t = a x_t + (1 - a) l_(t-1),
        written as a weighted sum of the steps (a: `sigmoid(smoothing)`)."""
        alpha = ops.sigmoid(ops.cast(self.smoothing, inputs.dtype))
        age = ops.cast(ops.flip(ops.arange(ops.shape(inputs)[1])), inputs.dtype)[:, None]  # steps before the last
        decay = ops.power(1.0 - alpha, age)  # (time, features)
        weights = ops.where(age == ops.max(age), decay, alpha * decay)  # the first step keeps the rest
        return ops.sum(inputs * weights, axis=1, keepdims=True)

    def compute_output_spec(self, inputs: Any) -> list[Any]:
        stats, dtype = (inputs.shape[0], 1, inputs.shape[-1]), self.compute_dtype
        rows = {"season": self.season, "season_trend": self.season + 1}.get(self.mode, 1)
        anchors = (inputs.shape[0], rows, inputs.shape[-1])
        return [keras.KerasTensor(inputs.shape, dtype=dtype), keras.KerasTensor(anchors, dtype=dtype),
                keras.KerasTensor(stats, dtype=dtype)]  # fmt: skip

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode, "epsilon": self.epsilon, "season": self.season}


@keras.saving.register_keras_serializable(package=PACKAGE)
class WindowDenorm(keras.layers.Layer):
    """Put a forecast made in `WindowNorm`'s units back into the input's units.

    Takes `[forecast, loc, scale]`, the forecast `(batch, horizon, targets)`; the targets are
    the first `targets` input features. With "diff", the forecast's steps are summed from
    the window's last value.
    """

    def __init__(self, mode: str = "last", **kwargs: Any):
        super().__init__(**kwargs)
        self.mode = mode

    def call(self, inputs: list[Any]) -> Any:
        forecast, loc, scale = inputs
        targets = forecast.shape[-1]
        loc = ops.cast(loc[..., :targets], forecast.dtype)
        scale = ops.cast(scale[..., :targets], forecast.dtype)
        if self.mode == "diff":
            return loc + ops.cumsum(forecast * scale, axis=1)
        if self.mode in SEASONAL_NORMS:  # step k: the value one season before it, plus the forecast difference
            trending = self.mode == "season_trend"  # loc's last row is the trend
            season, steps = loc.shape[1] - trending, forecast * scale
            out: list[Any] = []
            for k in range(forecast.shape[1]):  # past the first season: the forecast one season before (+ trend)
                before = loc[:, k : k + 1, :] if k < season else out[k - season]
                before = before + loc[:, -1:, :] if trending and k >= season else before
                out.append(before + steps[:, k : k + 1, :])
            return ops.concatenate(out, axis=1)
        return forecast * scale + loc

    def compute_output_spec(self, inputs: list[Any]) -> Any:
        return keras.KerasTensor(inputs[0].shape, dtype=inputs[0].dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode}
