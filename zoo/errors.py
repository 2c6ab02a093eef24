"""The project's error hierarchy: one base class, a few kinds, one-line messages."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# Exit statuses of the `zoo` command, one per kind of outcome, so that scripts can tell them apart.
EXIT_FAILURE = 1  # the command was right but running it failed: a diverging loss, a lost server, a failed search
EXIT_USAGE = 2  # the command was wrong: bad flag, unknown model or dataset, invalid value, bad config file
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM: the run is marked KILLED and resumes when run again


class ZooError(Exception):
    """Base class of every error LSTM Zoo raises on purpose (bad input or a failed run, not bugs).

    `exit_code` is the `zoo` command's exit status for it: EXIT_USAGE for what the user can fix
    in the command, EXIT_FAILURE for what went wrong while running it.
    """

    exit_code = EXIT_FAILURE


class UsageError(ZooError):
    """Input the user can fix in the command: exit status 2."""

    exit_code = EXIT_USAGE


class UnknownModelError(UsageError, KeyError):
    """A model name that is not in the registry."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ConfigError(UsageError, ValueError):
    """A value that cannot work: a hyperparameter, override, task, shape, setting or config file."""


class RegistryError(UsageError):
    """A model registered twice or declared inconsistently."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ' (did you mean: a, b?)' for close matches of `word`, or ''."""
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    return f" (did you mean: {', '.join(close)}?)" if close else ""


class FastPathWarning(UserWarning):
    """An override that takes a recurrent layer off the cuDNN fast path."""
