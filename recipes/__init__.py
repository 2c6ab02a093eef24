"""Training recipes: datasets, tf.data pipelines, the supervised recipe, MLflow tracking.

Depends on `zoo`, never the reverse. Importing this package is light: TensorFlow, Keras and
MLflow load when a recipe runs.
"""

from recipes.config import TrainConfig, train_config
from recipes.train import TrainingError, TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "TrainingError", "train", "train_config"]
