"""Register the zoo's custom layers with Keras the moment Keras is imported.

`import zoo` must stay cheap (the CLI lists models without Keras), yet
`import zoo; keras.saving.load_model(path, safe_mode=True)` must find the zoo's layers.
So if Keras is already imported we register at once; otherwise a one-shot import hook
registers right after Keras finishes importing, whatever imports it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import sys
from typing import Any

_TARGET = "keras"
_REGISTER = "zoo.layers"


class _Loader(importlib.abc.Loader):
    def __init__(self, loader: Any):
        self._loader = loader

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._loader.exec_module(module)
        importlib.import_module(_REGISTER)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != _TARGET:
            return None
        sys.meta_path.remove(self)
        for finder in sys.meta_path:
            spec = getattr(finder, "find_spec", lambda *a: None)(fullname, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _Loader(spec.loader)
                return spec
        return None


def register_when_keras_loads() -> None:
    """Make sure `zoo.layers` is registered with Keras, now or when Keras is imported."""
    if _TARGET in sys.modules:
        importlib.import_module(_REGISTER)
    elif not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
