"""Work-arounds for defects of the backends the recipes train on, each with its evidence.

`apply()` runs whenever a recipe imports the backend (`recipes.device.import_backend`); each
fix is idempotent and leaves results unchanged. A test checks that each still works, so a
Keras or TensorFlow upgrade that moves what a fix patches fails there, not in a user's search.
"""

from __future__ import annotations

from typing import Any

_MARK = "_lstm_zoo_fix"


def apply() -> None:
    """Apply every fix the installed backend needs."""
    import keras

    if keras.backend.backend() == "tensorflow":
        _no_all_reduce_on_one_replica()


def _no_all_reduce_on_one_replica() -> None:
    """Skip the gradients' all-reduce when no `tf.distribute` strategy is in use.

    Keras' TensorFlow optimizer all-reduces the gradients in every traced train step, also
    under TensorFlow's default (one-replica) strategy, where the sum over one replica is the
    gradients themselves. That all-reduce goes through `tf.custom_gradient`, which in graph mode
    registers a gradient function in TensorFlow's global registry, never removed, whose closure
    holds the traced graph (tensorflow/tensorflow#97697). So every model trained in a process
    stayed in memory after `keras.utils.clear_session()`: about 10 MiB for a small LSTM, 12 MiB
    a trial in a 30-trial search (docs/benchmarks/tuning_memory.md). Under a real strategy
    (`distribute="mirrored"`) the all-reduce is needed and kept.
    """
    import tensorflow as tf
    from keras.src.backend.tensorflow.optimizer import TFOptimizer

    original = TFOptimizer._all_reduce_sum_gradients
    if getattr(original, _MARK, False):
        return

    def all_reduce_sum_gradients(self: Any, grads_and_vars: Any) -> Any:
        if tf.distribute.has_strategy():
            return original(self, grads_and_vars)
        return list(grads_and_vars)

    setattr(all_reduce_sum_gradients, _MARK, True)
    all_reduce_sum_gradients.__doc__ = original.__doc__
    TFOptimizer._all_reduce_sum_gradients = all_reduce_sum_gradients
