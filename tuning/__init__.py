"""Hyperparameter search over the zoo with keras-tuner, every trial an MLflow run.

Importing `tuning` imports keras-tuner (and Keras); the CLI imports it only for `zoo tune`.
"""

from tuning.search import SearchResult, ZooHyperModel, resolve_models, search
from tuning.space import declare

__all__ = ["SearchResult", "ZooHyperModel", "declare", "resolve_models", "search"]
