"""Hyperparameter search over the zoo with keras-tuner, every trial an MLflow run.

Importing `tuning` imports keras-tuner (and Keras); the CLI imports it only for `zoo tune`.
"""

from tuning.search import SearchResult, WorkerResult, ZooHyperModel, resolve_models, search
from tuning.space import declare

__all__ = ["SearchResult", "WorkerResult", "ZooHyperModel", "declare", "resolve_models", "search"]
