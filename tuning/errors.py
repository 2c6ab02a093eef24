"""The search's error: it extends the zoo's hierarchy, as a failure (exit status 1)."""

from __future__ import annotations

from zoo.errors import ZooError


class SearchError(ZooError, RuntimeError):
    """A search that cannot go on: every trial failing, a distributed peer lost."""
