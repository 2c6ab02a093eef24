"""Pretext objectives: what an encoder learns from unlabeled sequences before it sees a label.

- ``masked``: random spans are hidden and reconstructed; the loss counts the hidden values
  only (Zerveas et al. 2021, "A Transformer-based Framework for Multivariate Time Series
  Representation Learning", KDD; tsai's MVP). Series: per-variable spans set to 0 (the train
  mean after scaling); tokens: hidden tokens replaced by the out-of-vocabulary id.
- ``autoencode``: the whole input is reconstructed from the encoder's pooled vector by a
  small LSTM decoder (Dai & Le 2015, "Semi-supervised Sequence Learning", NeurIPS: SA-LSTM).
- ``next_step``: each step predicts the next one: next-value forecasting for series,
  language modelling for tokens (Dai & Le's LM-LSTM; Howard & Ruder 2018, ULMFiT). Needs a
  causal backbone (`zoo describe` says which), or the answer would leak in.

Each pretext gives a Keras model around a zoo backbone and a `keras.utils.PyDataset` that
draws fresh masks every epoch (seeded). Only `keras` and `keras.ops` are used here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from recipes.config import Execution
from zoo.errors import ConfigError
from zoo.params import Choice, Float, Int, hp, make_config

if TYPE_CHECKING:
    import keras

    from recipes.data.base import Split

PRETEXTS = ("masked", "autoencode", "next_step")
OOV_ID = 1  # TextVectorization's out-of-vocabulary id: the "mask" token for token inputs


@dataclass(frozen=True)
class PretrainConfig(Execution):
    """How an encoder is pretrained; declared once, so tuning can search it."""

    pretext: str = hp("masked", Choice(PRETEXTS), doc="pretext objective: masked, autoencode or next_step")
    mask_ratio: float = hp(
        0.15, Float(0.05, 0.5, step=0.05), valid=Float(0.01, 0.9), doc="masked: share of values hidden"
    )
    mean_span: int = hp(3, Int(1, 10), valid=Int(1, 1000), doc="masked: mean length of a hidden span (steps)")
    epochs: int = hp(100, Int(20, 300, step=20), valid=Int(1, 100_000), doc="most pretraining epochs")
    patience: int = hp(
        10, Int(5, 30, step=5), valid=Int(0, 100_000), doc="early stopping on the pretext's held-out loss (0 = off)"
    )
    learning_rate: float = hp(
        1e-3, Float(1e-4, 1e-2, sampling="log"), valid=Float(1e-7, 10.0), doc="pretraining learning rate"
    )
    batch_size: int = hp(32, Choice((16, 32, 64, 128)), valid=Int(1, 1 << 16), doc="examples per step")
    decoder_units: int = hp(64, Choice((32, 64, 128)), valid=Int(1, 4096), doc="autoencode: LSTM decoder units")
    seed: int = hp(0, Int(0, 2**31 - 1), tune=False, doc="seed for masks, shuffling and weights")


def pretrain_config(overrides: dict[str, Any] | None = None) -> PretrainConfig:
    """A validated `PretrainConfig` (None values keep defaults)."""
    return make_config(PretrainConfig, dict(overrides or {}), model="pretraining")


def supported(spec: Any) -> tuple[str, ...]:
    """The pretexts a registered model can be pretrained with."""
    out = []
    if spec.per_step:
        out.append("masked")
    out.append("autoencode")
    if spec.per_step and spec.causal:
        out.append("next_step")
    return tuple(out)


def check(spec: Any, pretext: str) -> None:
    """Raise a one-line ConfigError when `spec`'s backbone cannot serve `pretext`."""
    if pretext not in PRETEXTS:
        from zoo.errors import did_you_mean

        raise ConfigError(f"unknown pretext {pretext!r}{did_you_mean(pretext, PRETEXTS)}; valid: {', '.join(PRETEXTS)}")
    if pretext == "masked" and not spec.per_step:
        raise ConfigError(
            f"pretext 'masked' needs per-time-step outputs, but {spec.name}'s backbone shortens the time axis; "
            f"use --pretext autoencode, or a model with a reconstruction head ({_per_step_models()})"
        )
    if pretext == "next_step" and not (spec.per_step and spec.causal):
        raise ConfigError(
            f"pretext 'next_step' needs a causal backbone (step t must not see t+1), and {spec.name}'s is not; "
            f"use --pretext masked or autoencode, or one of: {_causal_models()}"
        )


def _per_step_models() -> str:
    import zoo

    return ", ".join(n for n in zoo.list_models() if zoo.get_spec(n).per_step)


def _causal_models() -> str:
    import zoo

    return ", ".join(n for n in zoo.list_models() if zoo.get_spec(n).causal)


def build(
    name: str,
    *,
    input_shape: tuple,
    length: int,
    vocab_size: int | None,
    mask_value: float | None,
    cfg: PretrainConfig,
    hparams: dict[str, Any],
) -> tuple[keras.Model, keras.Model]:
    """The pretext model and the zoo backbone inside it (the encoder to keep).

    `input_shape` is the backbone's (time may be None); `length` is the padded length the
    autoencoder's decoder unrolls to. Series heads output one value per feature and step;
    token heads a softmax over the vocabulary per step.
    """
    import keras

    import zoo

    backbone = zoo.build_backbone(
        name, input_shape=input_shape, vocab_size=vocab_size, mask_value=mask_value, **hparams
    )
    tokens = len(input_shape) == 1
    outputs = vocab_size if tokens else input_shape[-1]
    if cfg.pretext in ("masked", "next_step"):
        model = zoo.build(name, input_shape=input_shape, task="reconstruction", num_outputs=outputs,
                          vocab_size=vocab_size, backbone=backbone)  # fmt: skip
        return model, backbone
    fixed = (length, *input_shape[1:])
    inputs = keras.Input(shape=fixed, dtype="int32" if tokens else "float32", name="inputs")
    pooled = backbone(inputs)["pooled"]
    x = keras.layers.RepeatVector(length, name="decoder_repeat")(pooled)
    x = keras.layers.LSTM(cfg.decoder_units, return_sequences=True, name="decoder_lstm")(x)
    activation = "softmax" if tokens else None
    out = keras.layers.Dense(outputs, activation=activation, dtype="float32", name="reconstruction")(x)
    return keras.Model(inputs, out, name=f"{name}_autoencoder"), backbone


def masked_mse(y_true: Any, y_pred: Any) -> Any:
    """Mean squared error over the entries whose weight (packed after the targets) is 1.

    Returned per step, shape (batch, time), so Keras can apply a padding mask to it; scaled so
    that Keras' mean over the steps is the mean over the weighted entries.
    """
    from keras import ops

    features = ops.shape(y_pred)[-1]
    target, weight = y_true[..., :features], y_true[..., features:]
    per_step = ops.sum(ops.square(target - y_pred) * weight, axis=-1)
    steps = ops.cast(ops.shape(per_step)[0] * ops.shape(per_step)[1], per_step.dtype)
    return per_step * steps / ops.maximum(ops.sum(weight), 1.0)


def compile_pretext(model: keras.Model, cfg: PretrainConfig, tokens: bool) -> None:
    import keras

    optimizer = keras.optimizers.Adam(learning_rate=cfg.learning_rate)
    if tokens:
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", weighted_metrics=[])
    else:
        model.compile(optimizer=optimizer, loss=masked_mse)


def span_mask(shape: tuple[int, ...], ratio: float, mean_span: int, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask (True = hidden) of geometric-length spans, about `ratio` of the entries.

    A two-state Markov chain along time, per series and variable (Zerveas et al. 2021):
    hidden spans last `mean_span` steps on average, visible ones `mean_span * (1 - r) / r`.
    """
    p_hide_end = 1.0 / mean_span
    p_show_end = p_hide_end * ratio / (1.0 - ratio)
    n, time = shape[0], shape[1]
    rest = shape[2:]
    hidden = np.empty(shape, dtype=bool)
    state = rng.random((n, *rest)) < ratio
    for t in range(time):
        hidden[:, t] = state
        flip = rng.random((n, *rest))
        state = np.where(state, flip >= p_hide_end, flip < p_show_end)
    return hidden


def valid_steps(split: Split) -> np.ndarray:
    """Boolean (n, time): the steps that are data, not padding."""
    n, time = split.x.shape[0], split.x.shape[1]
    if split.lengths is None:
        return np.ones((n, time), dtype=bool)
    return np.arange(time)[None, :] < split.lengths[:, None]


def make_batch(x: np.ndarray, valid: np.ndarray, cfg: PretrainConfig, rng: np.random.Generator) -> tuple:
    """(inputs, targets[, sample weights]) for one batch of the pretext."""
    tokens = x.ndim == 2
    if cfg.pretext == "masked":
        hidden = span_mask(x.shape, cfg.mask_ratio, cfg.mean_span, rng)
        if tokens:
            hidden &= valid
            inputs = np.where(hidden, OOV_ID, x).astype(x.dtype)
            return inputs, x, hidden.astype("float32")
        hidden &= valid[..., None]
        inputs = np.where(hidden, 0.0, x).astype("float32")
        return inputs, np.concatenate([x, hidden.astype("float32")], axis=-1)
    if cfg.pretext == "autoencode":
        if tokens:
            return x, x, valid.astype("float32")
        return x, np.concatenate([x, np.broadcast_to(valid[..., None], x.shape).astype("float32")], axis=-1)
    # next_step: the target at t is the input at t + 1; the last valid step has none.
    following = np.zeros_like(valid)
    following[:, :-1] = valid[:, 1:]
    target = np.zeros_like(x)
    target[:, :-1] = x[:, 1:]
    if tokens:
        return x, target, following.astype("float32")
    weight = np.broadcast_to(following[..., None], x.shape).astype("float32")
    return x, np.concatenate([target, weight], axis=-1)


def data(
    x: np.ndarray, valid: np.ndarray, cfg: PretrainConfig, *, shuffle: bool, seed: int, fixed: bool = False
) -> Any:
    """A `keras.utils.PyDataset` of pretext batches, masks drawn afresh each epoch unless `fixed`."""
    import keras

    class PretextBatches(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__()
            self.epoch = 0
            self.order = np.arange(len(x))
            self._shuffle()

        def _shuffle(self) -> None:
            if shuffle:
                self.order = np.random.default_rng([seed, self.epoch]).permutation(len(x))

        def __len__(self) -> int:
            return max(1, -(-len(x) // cfg.batch_size))

        def __getitem__(self, index: int) -> tuple:
            rows = self.order[index * cfg.batch_size : (index + 1) * cfg.batch_size]
            rng = np.random.default_rng([seed, 0 if fixed else self.epoch, index])
            return make_batch(x[rows], valid[rows], cfg, rng)

        def on_epoch_end(self) -> None:
            self.epoch += 1
            self._shuffle()

    return PretextBatches()


def epoch_masks(batches: Any) -> Any:
    """A callback that starts `data`'s batches at the epoch `fit` starts at, so a resumed
    pretraining draws the masks and order an unbroken one would; the batches count on from there."""
    import keras

    class EpochMasks(keras.callbacks.Callback):
        def on_train_begin(self, logs: dict | None = None) -> None:
            self.first = True

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            if self.first:  # later epochs: the batches' own `on_epoch_end` counts them
                self.first = False
                batches.epoch = epoch
                batches._shuffle()

    return EpochMasks()
