"""MLflow's pyfunc for a text model (`recipes.model_log.log_text_model`): raw strings in.

A "model from code" file: MLflow copies it into the logged model and runs it when loading,
so it imports neither the zoo nor the recipes (only NumPy, TensorFlow and MLflow). The
model itself is the serving model's TensorFlow SavedModel (`Model.export`), artifact
`saved_model`. MLflow's Keras flavour cannot take it: its exported mode builds the export
signature from the MLflow one, which has no string tensor type.

Inputs: a list or 1-D array of strings, or a one-column DataFrame of them; over HTTP
`{"inputs": ["a fine film", ...]}`. None or NaN counts as an empty text.
"""

import mlflow
import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel


class ExportedTextModel(PythonModel):
    """The SavedModel's `serve` on a batch of strings."""

    def load_context(self, context):
        import tensorflow as tf

        self._model = tf.saved_model.load(context.artifacts["saved_model"])

    def predict(self, context, model_input: pd.DataFrame, params=None):
        """`model_input`: a DataFrame as MLflow hands it over (its one-column signature turns a list
        or array of strings into one); a list or array is taken too."""
        import tensorflow as tf

        column = model_input.iloc[:, 0] if isinstance(model_input, pd.DataFrame) else model_input
        texts = [_text(t) for t in np.asarray(column, dtype=object).reshape(-1)]
        return np.asarray(self._model.serve(tf.constant(texts, dtype=tf.string)))


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else ""


mlflow.models.set_model(ExportedTextModel())
