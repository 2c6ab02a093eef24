"""The `zoo` command line: the composition root above zoo, recipes and tuning.

One module per command group; each command imports what it needs when it runs, so
`zoo --help`, `zoo list` and `zoo describe` answer without importing Keras or TensorFlow.
Nothing below imports this package (tests/test_layers.py).
"""

from zoo_cli import compare, detect, export, models, predict, semi, train, tune  # noqa: F401  (they register their commands)
from zoo_cli.app import cli, main

__all__ = ["cli", "main"]
