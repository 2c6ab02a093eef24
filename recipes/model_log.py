"""One way to log a Keras model in MLflow: tensor signature, input example, pinned requirements.

Call it inside `recipes.tracking.tracked_run`:

    >>> log_keras_model(net, "model", example=x[:2])
    >>> log_keras_model(encoder, "encoder", input_dtype="int32")
    >>> log_text_model(serving, "model", example=np.array(["a fine film"], dtype=object))
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np


def _spec(shape: tuple, dtype: Any, name: str | None = None) -> Any:
    from mlflow.types.schema import TensorSpec

    return TensorSpec(np.dtype(dtype), (-1, *(-1 if d is None else d for d in shape[1:])), name)


def signature(model: Any, input_dtype: Any, output_dtype: Any = "float32") -> Any:
    """A tensor signature from the model's own shapes (None axes become -1); dict outputs by name."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import Schema

    shapes = model.output_shape
    if isinstance(shapes, dict):
        outputs = [_spec(shape, output_dtype, name) for name, shape in sorted(shapes.items())]
    else:
        outputs = [_spec(shapes, output_dtype)]
    return ModelSignature(inputs=Schema([_spec(model.input_shape, input_dtype)]), outputs=Schema(outputs))


def pip_requirements(exported: bool = False) -> list[str]:
    """The pinned packages a logged model needs (passing them saves MLflow ~10 s of inference);
    an exported model needs TensorFlow alone."""
    import keras

    import zoo

    reqs = [f"keras=={keras.__version__}"] + ([] if exported else [f"lstm-zoo=={zoo.__version__}"])
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        reqs.append(f"tensorflow=={tf.__version__}")
    return reqs


def log_keras_model(
    net: Any, name: str, *, example: np.ndarray | None = None, input_dtype: Any = None, exported: bool = False
) -> None:
    """Log `net` in MLflow's Keras flavour as `name` of the active run.

    With `example`, the signature takes its dtype and the outputs' from a prediction on it,
    and it is saved as the input example; otherwise `input_dtype` (default float32) is used.
    With `exported`, the model is saved through Keras' `Model.export` (a TensorFlow
    SavedModel): `mlflow.pyfunc.load_model` and `mlflow models serve` then load it in a
    process that never imported the zoo, its custom layers included.
    """
    import mlflow

    from recipes.mlflow_fixes import apply

    apply()
    with _no_progress_bar():  # MLflow predicts the example
        if example is not None:
            output = np.asarray(net.predict_on_batch(example))
            sig = signature(net, example.dtype, output.dtype)
        else:
            sig = signature(net, input_dtype or "float32")
        mlflow.keras.log_model(net, name=name, signature=sig, input_example=example, save_exported_model=exported,
                               pip_requirements=pip_requirements(exported))  # fmt: skip


@contextmanager
def _no_progress_bar() -> Iterator[None]:
    import keras

    interactive = keras.config.is_interactive_logging_enabled()
    keras.config.disable_interactive_logging()
    try:
        yield
    finally:
        if interactive:
            keras.config.enable_interactive_logging()


def log_text_model(net: Any, name: str, *, example: np.ndarray) -> None:
    """Log `net`, a Keras model on raw strings (`recipes.serving`), as `name` of the active run.

    It is exported through Keras' `Model.export` (a TensorFlow SavedModel) and logged with a
    small pyfunc wrapper (`recipes/text_pyfunc.py`, a "model from code" that imports no zoo
    code): MLflow's Keras flavour builds its export signature from MLflow's tensor types,
    which hold no strings. The signature takes one column of strings; `example` (strings) is
    the input example.
    """
    import tempfile
    from pathlib import Path

    import mlflow
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, Schema

    output = np.asarray(net.predict_on_batch(example))
    sig = ModelSignature(inputs=Schema([ColSpec("string")]), outputs=Schema([_spec(net.output_shape, output.dtype)]))
    code = Path(__file__).with_name("text_pyfunc.py")
    with tempfile.TemporaryDirectory(prefix="zoo-text-model-") as folder:
        exported = str(Path(folder) / "saved_model")
        net.export(exported, format="tf_saved_model", verbose=False)
        with _no_progress_bar():
            mlflow.pyfunc.log_model(name=name, python_model=str(code), artifacts={"saved_model": exported},
                                    signature=sig, input_example=[str(t) for t in example],
                                    pip_requirements=pip_requirements(exported=True))  # fmt: skip
