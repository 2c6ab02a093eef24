"""Hyperparameter search over the zoo with keras-tuner, every trial an MLflow run.

Importing `tuning` is light: keras-tuner (and Keras) load with `tuning.searching`, where the
names below come from, on first use. `tuning.config` is the search config the CLI reads.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["SearchResult", "WorkerResult", "ZooHyperModel", "declare", "resolve_models", "search"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'tuning' has no attribute {name!r}")
    module = importlib.import_module("tuning.space" if name == "declare" else "tuning.searching")
    return getattr(module, name)
