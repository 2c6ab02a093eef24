"""The recipes' errors: bad data (a usage error), and failures while training or tracking.

They extend the zoo's hierarchy (`zoo.errors`), so `except zoo.ZooError` and the command
line's exit statuses cover them.
"""

from __future__ import annotations

from zoo.errors import UsageError, ZooError


class DataError(UsageError, ValueError):
    """Data that cannot be used as given: an unknown address, a malformed file, a bad option."""


class TrainingError(ZooError):
    """Training could not go on (the loss became NaN or infinite)."""


class TrackingError(ZooError):
    """The tracking store does not answer or refuses work."""
