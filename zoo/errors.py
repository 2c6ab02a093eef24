"""The project's error hierarchy: one base class, a few kinds, one-line messages."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ZooError(Exception):
    """Base class of every error LSTM Zoo raises on purpose (bad input, not bugs)."""


class UnknownModelError(ZooError, KeyError):
    """A model name that is not in the registry."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ConfigError(ZooError, ValueError):
    """A hyperparameter, override, task or shape that a model cannot take."""


class DataError(ZooError, ValueError):
    """Data that cannot be used as given (recipes raise it)."""


class RegistryError(ZooError):
    """A model registered twice or declared inconsistently."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ' (did you mean: a, b?)' for close matches of `word`, or ''."""
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    return f" (did you mean: {', '.join(close)}?)" if close else ""


class FastPathWarning(UserWarning):
    """An override that takes a recurrent layer off the cuDNN fast path."""


class SearchError(ZooError, RuntimeError):
    """A search that cannot go on: every trial failing, a distributed peer lost (tuning raises it)."""
