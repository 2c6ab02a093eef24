"""Which devices train, under which distribution strategy and precision."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


def _gpus() -> list[Any]:
    import keras

    if keras.backend.backend() != "tensorflow":
        return []
    import tensorflow as tf

    return tf.config.list_physical_devices("GPU")


def describe_devices() -> str:
    """'CPU' or the GPU names, e.g. 'GPU: NVIDIA H100 80GB HBM3 x2'."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        devices = [d for d in jax.devices() if d.platform == "gpu"]
        names = sorted({getattr(d, "device_kind", "GPU") for d in devices})
        return f"GPU: {', '.join(names)} x{len(devices)}" if devices else "CPU"
    if backend != "tensorflow":
        return "CPU"
    import tensorflow as tf

    gpus = _gpus()
    if not gpus:
        return "CPU"
    names = sorted({tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus})
    return f"GPU: {', '.join(names)} x{len(gpus)}"


def strategy(mode: str) -> Any:
    """A `tf.distribute` strategy for `mode` ("auto", "none", "mirrored"), or None.

    "auto" mirrors across GPUs when there are several; "mirrored" mirrors across all visible
    GPUs, or all logical CPUs when there is no GPU (how it is tested on CPU).
    """
    import keras

    if mode == "none" or keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    gpus = _gpus()
    if mode == "auto":
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else None
    if gpus:
        return tf.distribute.MirroredStrategy()
    cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(devices=cpus)


@contextlib.contextmanager
def precision(mixed: bool) -> Iterator[str]:
    """Set the Keras dtype policy for the block: mixed float16 on GPU, bfloat16 on CPU."""
    import keras

    before = keras.config.dtype_policy().name
    policy = "float32"
    if mixed:
        policy = "mixed_float16" if describe_devices() != "CPU" else "mixed_bfloat16"
    keras.config.set_dtype_policy(policy)
    try:
        yield policy
    finally:
        keras.config.set_dtype_policy(before)
