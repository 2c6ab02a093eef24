"""Where the search reaches into keras-tuner's private parts (`keras_tuner.src`), with evidence.

Like `recipes.backend_fixes`: each fix is applied once, idempotent, and `tests/test_tuning.py`
checks that each still finds what it patches, so a keras-tuner upgrade that moves it fails
there, not in a user's search. (`tuning.distributed` also *reads* keras-tuner's private gRPC
protos and trial classes; only changes to keras-tuner's behaviour are gathered here.)
"""

from __future__ import annotations

from typing import Any

_MARK = "_lstm_zoo_fix"


def apply() -> None:
    """Apply every fix keras-tuner 1.4.8 needs (before a search starts)."""
    _quiet_parent_to_proto()
    _no_debug_tracebacks()


def _quiet_parent_to_proto() -> None:
    """keras-tuner 1.4.8's `conditions.Parent.to_proto` without its left-over debug `print`.

    Distributed mode sends every conditional hyperparameter over gRPC, and the original
    prints the first condition value each time: the model names dozens of times per trial on
    the chief and the workers.
    """
    from keras_tuner.src.engine import conditions

    if getattr(conditions.Parent.to_proto, _MARK, False):
        return

    def to_proto(self: Any) -> Any:
        from keras_tuner.src import protos

        proto = protos.get_proto()
        first = self.values[0]
        kind = (
            "string_value" if isinstance(first, str)
            else "boolean_value" if isinstance(first, bool)
            else "int_value" if isinstance(first, int)
            else "float_value"
        )  # fmt: skip
        values = [proto.Value(**{kind: v}) for v in self.values]
        return proto.Condition(parent=proto.Condition.Parent(name=self.name, values=values))

    setattr(to_proto, _MARK, True)
    conditions.Parent.to_proto = to_proto


def _no_debug_tracebacks() -> None:
    """keras-tuner prints a failed trial's whole traceback while `config.DEBUG` is on (its
    default); the search records it on the trial's MLflow run instead."""
    from keras_tuner.src import config

    config.DEBUG = False
