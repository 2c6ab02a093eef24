"""The two small layers the serving model needs beyond Keras' own (`recipes.serving`).

- `RawSeriesScaler`: raw variable-length series, right-padded with NaN by the caller (or not
  padded at all), scaled with the train statistics and padded the way the data pipeline pads
  (`PAD_VALUE` after scaling, to at least the training length), so the trained net's `Masking`
  sees exactly what it saw in training.
- `EmptyTextAsOOV`: a text with no known token gets one out-of-vocabulary id, as the text
  loader gives it (an all-padding row breaks cuDNN masking).

Both are plain `keras.ops`, registered for serialization under the package name "recipes";
an exported model (`Model.export`) holds them as graph ops, so its loader needs neither.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from recipes.data.base import PAD_VALUE

OOV_ID = 1  # TextVectorization's out-of-vocabulary id (0 is padding)


@keras.saving.register_keras_serializable(package="recipes")
class RawSeriesScaler(keras.layers.Layer):
    """`(batch, steps, channels)` raw series, NaN-padded on the right, to the net's inputs.

    A step whose channels are all NaN is padding: it becomes `PAD_VALUE` after scaling (the
    data pipeline scales each series, then pads). Other steps are `(x - mean) / std`. Rows
    shorter than `length` are padded to it, so a net that does not mask sees the padding
    it was trained and evaluated with, whatever the caller sent.

    Args:
        mean: Per-channel train mean.
        std: Per-channel train standard deviation.
        length: Steps to pad to at least (the training arrays' length), or None.
    """

    def __init__(self, mean: Any, std: Any, length: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mean = [float(v) for v in np.asarray(mean).reshape(-1)]
        self.std = [float(v) for v in np.asarray(std).reshape(-1)]
        self.length = None if length is None else int(length)

    def call(self, x: Any) -> Any:
        ops = keras.ops
        padding = ops.all(ops.isnan(x), axis=-1, keepdims=True)
        mean = ops.convert_to_tensor(np.asarray(self.mean, dtype="float32"))
        std = ops.convert_to_tensor(np.asarray(self.std, dtype="float32"))
        scaled = ops.where(padding, ops.cast(PAD_VALUE, x.dtype), (x - mean) / std)
        if self.length is None:
            return scaled
        shape = ops.shape(scaled)
        extra = ops.maximum(self.length - shape[1], 0)
        fill = ops.full((shape[0], extra, shape[2]), PAD_VALUE, dtype=scaled.dtype)
        return ops.concatenate([scaled, fill], axis=1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape if self.length is None else (input_shape[0], None, input_shape[2])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mean": self.mean, "std": self.std, "length": self.length}


@keras.saving.register_keras_serializable(package="recipes")
class EmptyTextAsOOV(keras.layers.Layer):
    """`(batch, steps)` token ids as int32; a row of padding alone gets the OOV id first."""

    def call(self, ids: Any) -> Any:
        ops = keras.ops
        ids = ops.cast(ids, "int32")
        empty = ops.all(ops.equal(ids, 0), axis=1, keepdims=True)
        first = ops.expand_dims(ops.equal(ops.arange(ops.shape(ids)[1]), 0), 0)
        return ops.where(ops.logical_and(empty, first), OOV_ID, ids)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def compute_output_spec(self, ids: Any) -> Any:
        return keras.KerasTensor(ids.shape, dtype="int32")
