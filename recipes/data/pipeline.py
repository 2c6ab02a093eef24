"""NumPy splits to `tf.data` pipelines: cache, shuffle, augment (train only), batch, prefetch.

tf.data's autotuner is off (it cost half the throughput on machines with one or two cores).

Variable-length series arrive right-padded to the dataset's longest example; each batch is
cut back to its own longest example (rounded up to 8 steps, so there are few shapes to
trace), so padding stays on the right (what cuDNN accepts) and short batches do not pay for
long ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from recipes.data.base import PAD_VALUE, Split

if TYPE_CHECKING:
    import tensorflow as tf


def _augment(cfg: Any, seed: int) -> Any:
    """A per-example map function applying the config's series augmentations."""
    import tensorflow as tf

    def fn(example: tuple, draw: tf.Tensor) -> tuple:
        # Stateless ops keyed on (seed, a seeded per-example draw) keep runs repeatable.
        x, y, length = example
        key = tf.stack([tf.cast(seed, tf.int64), draw])
        steps = tf.shape(x)[0]
        features = tf.shape(x)[1]
        valid = tf.cast(tf.sequence_mask(length, steps), x.dtype)[:, None]
        if cfg.window_slice:
            keep = tf.maximum(
                2, tf.cast(tf.math.ceil(tf.cast(length, tf.float32) * (1.0 - cfg.window_slice)), tf.int32)
            )
            keep = tf.minimum(keep, length)
            start = tf.random.stateless_uniform([], key + 1, 0, length - keep + 1, dtype=tf.int32)
            window = x[start : start + keep]
            resized = tf.image.resize(window[:, None, :], [length, 1])[:, 0, :]
            x = tf.concat([resized, tf.fill([steps - length, features], tf.cast(PAD_VALUE, x.dtype))], axis=0)
        if cfg.magnitude_warp:
            knots = 4
            points = 1.0 + cfg.magnitude_warp * tf.random.stateless_normal([knots + 2, 1, features], key + 2)
            curve = tf.image.resize(points, [steps, 1], method="bicubic")[:, 0, :]
            x = x * tf.cast(curve, x.dtype)
        if cfg.scaling:
            x = x * (1.0 + cfg.scaling * tf.random.stateless_normal([1, features], key + 3, dtype=x.dtype))
        if cfg.jitter:
            x = x + cfg.jitter * tf.random.stateless_normal(tf.shape(x), key + 4, dtype=x.dtype)
        # Padding stays exactly PAD_VALUE so masks still find it.
        return x * valid + (1.0 - valid) * PAD_VALUE, y, length

    return fn


def make_dataset(
    split: Split,
    *,
    batch_size: int,
    training: bool = False,
    seed: int = 0,
    augment: Any = None,
    trim: int | None = None,
    cache: bool = True,
) -> tf.data.Dataset:
    """A batched `tf.data.Dataset` of `(x, y)` (or `x` alone for an unlabeled split).

    Args:
        split: The arrays.
        batch_size: Examples per batch.
        training: Shuffle every epoch (seeded) and apply `augment`.
        seed: Seeds shuffling and augmentation.
        augment: A `TrainConfig` whose augmentation settings apply (training only), or None.
        trim: Cut each batch to its longest example (variable-length models only), but never
            below `trim` steps (the model's minimum length) or above the arrays' width; None
            keeps every batch at full width.
        cache: Cache the prepared examples in memory.
    """
    import numpy as np
    import tensorflow as tf

    n = len(split)
    lengths = split.lengths if split.lengths is not None else np.full(n, split.x.shape[1], dtype="int32")
    y = split.y if split.y is not None else np.zeros(n, dtype="int8")
    x = split.x if split.x.dtype.kind in "iu" else split.x.astype("float32", copy=False)
    ds = tf.data.Dataset.from_tensor_slices((x, y, lengths.astype("int32")))
    if cache:
        ds = ds.cache()
    if training:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
        if augment is not None and augment.augments:
            if split.x.ndim != 3:
                from zoo.errors import ConfigError

                raise ConfigError("augmentation (jitter, scaling, magnitude_warp, window_slice) applies to series only")
            draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
            ds = tf.data.Dataset.zip(ds, draws).map(_augment(augment, seed), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(batch_size)
    if trim is not None and split.lengths is not None:
        steps, floor = split.x.shape[1], max(int(trim), 1)

        def cut(x: tf.Tensor, y: tf.Tensor, length: tf.Tensor) -> tuple:
            # Rounded up to a multiple of 8 steps: few distinct shapes, so few retraces.
            keep = tf.minimum(steps, tf.maximum(floor, (tf.reduce_max(length) + 7) // 8 * 8))
            return x[:, :keep], y, length

        ds = ds.map(cut)
    if split.y is None:
        ds = ds.map(lambda x, y, length: x)
    else:
        ds = ds.map(lambda x, y, length: (x, y))
    return ds.prefetch(tf.data.AUTOTUNE).with_options(pipeline_options())


def pipeline_options() -> Any:
    """The `tf.data.Options` of the recipe pipelines: the autotuner off.

    It halved training throughput on one or two cores (measured: a small GRU's epoch took
    1.25 s with it, 0.65 s without; docs/benchmarks/speed.md). These pipelines read cached
    arrays; AUTOTUNE values fall back to tf.data's defaults.
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return options
