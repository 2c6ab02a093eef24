"""Where the recipes reach into MLflow's private parts, each with its evidence.

Like `recipes.backend_fixes`: every use of a private name is here, applied once and
idempotent, and `tests/test_tracking.py` checks that each still finds what it patches, so an
MLflow upgrade that moves it fails there, not in a user's run.
"""

from __future__ import annotations

import os
from typing import Any

_MARK = "_lstm_zoo_fix"


def apply() -> None:
    """Apply every fix the installed MLflow needs (before logging a Keras model)."""
    _model_folder_before_example()


def _model_folder_before_example() -> None:
    """Create the model folder before MLflow's Keras flavour writes the input example there.

    mlflow 3.17's `mlflow.keras.save.save_model` calls `_save_example(..., path)` before it
    creates `path`, so `log_model(..., input_example=...)` fails with FileNotFoundError.
    """
    import mlflow.keras.save as flavour

    original = flavour._save_example
    if getattr(original, _MARK, False):
        return

    def save_example(model: Any, example: Any, path: str, *args: Any, **kwargs: Any) -> Any:
        os.makedirs(path, exist_ok=True)
        return original(model, example, path, *args, **kwargs)

    setattr(save_example, _MARK, True)
    flavour._save_example = save_example


def end_run_offline(run_id: str | None) -> None:
    """Drop MLflow's active run and stop its system-metrics thread without calling the store.

    `mlflow.end_run` would first wait on a lost store; no public API forgets the active run
    without telling the store, so this uses the fluent module's own bookkeeping.
    """
    from mlflow.tracking import fluent

    stack = fluent._active_run_stack.get()
    if stack and stack[-1].info.run_id == run_id:
        stack.pop()
    monitor = fluent.run_id_to_system_metrics_monitor.pop(run_id, None)
    if monitor is not None:
        monitor.finish()
