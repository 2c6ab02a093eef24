"""Hyperparameter search over the zoo with keras-tuner (the search itself lands with issue 4)."""

from tuning.space import declare

__all__ = ["declare"]
