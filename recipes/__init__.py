"""Training recipes: datasets, tf.data pipelines, the supervised recipe, MLflow tracking.

Depends on `zoo`, never the reverse. Importing this package is light: TensorFlow, Keras and
MLflow load when a recipe runs.
"""

from recipes.config import TrainConfig, train_config
from recipes.errors import DataError, TrackingError, TrainingError
from recipes.train import TrainResult, train

__all__ = ["DataError", "TrackingError", "TrainConfig", "TrainResult", "TrainingError", "train", "train_config"]
