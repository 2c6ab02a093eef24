"""Which devices train, under which distribution strategy and precision."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

# A native log line (absl / glog format): severity letter, date, time, thread, file:line, "]".
_NATIVE = re.compile(r"^(?P<severity>[IWEF])\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ (?P<source>[^:\]]+):\d+\] ")
# Errors a backend logs while it probes for a GPU that a CPU-only machine does not have.
_GPU_PROBES = re.compile(r"^cuda_|^cudart_stub|^computation_placer")
# Lines without the native prefix that come with the start-up messages (absl's preamble, the
# second line of TensorFlow's CPU-feature notice).
_PREAMBLE = ("WARNING: All log messages before absl::InitializeLog", "To enable the following instructions")


def is_start_up_noise(line: str) -> bool:
    """Whether `line` is the backend's native chatter rather than something a user must see.

    Every INFO and WARNING line in the native log format is chatter, whatever its text (so a
    new TensorFlow build or CPU feature adds nothing to a list); ERROR and FATAL lines are
    kept, except the GPU probes' complaints on a machine without a GPU.
    """
    found = _NATIVE.match(line)
    if found is None:
        return line.startswith(_PREAMBLE)
    return found["severity"] in "IW" or (found["severity"] == "E" and bool(_GPU_PROBES.match(found["source"])))


@contextlib.contextmanager
def native_stderr_filtered() -> Iterator[None]:
    """Drop TensorFlow's start-up chatter from the process's stderr (file descriptor 2).

    Native code writes there directly, past Python's `sys.stderr`; what is not known noise
    is written back when the block ends.
    """
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (e.g. captured): nothing to filter
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), fd)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)
            capture.seek(0)
            kept = [ln for ln in capture.read().decode(errors="replace").splitlines() if not is_start_up_noise(ln)]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")


def import_backend() -> None:
    """Import Keras (and TensorFlow under it) without TensorFlow's start-up noise.

    Also applies `recipes.backend_fixes` (work-arounds for the backend's own defects).
    """
    from recipes import backend_fixes

    if "keras" not in sys.modules or "tensorflow" not in sys.modules:
        with native_stderr_filtered():
            import keras

            if keras.backend.backend() == "tensorflow":
                import tensorflow as tf

                tf.config.list_physical_devices("GPU")
                # Some messages come at the first op (oneDNN's, on CPUs where its custom ops are on).
                tf.add(tf.zeros(()), 1.0)
                # Retracing notices are for whoever tunes the input pipeline, not for every run.
                tf.get_logger().setLevel("ERROR")
    backend_fixes.apply()


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
