"""The dependency direction: zoo <- recipes <- tuning <- zoo_cli, one way, lazy imports included."""

from __future__ import annotations

import ast
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
LAYERS = ["zoo", "recipes", "tuning", "zoo_cli"]  # each may import the ones before it, never after


def _imports(path: pathlib.Path) -> set[tuple[str, int]]:
    """Top-level packages a module imports, at any depth (inside functions too), with line numbers."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {(alias.name.split(".")[0], node.lineno) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.module.split(".")[0], node.lineno))
    return found


@pytest.mark.parametrize("layer", LAYERS)
def test_no_layer_imports_a_layer_above_it(layer) -> None:
    above = set(LAYERS[LAYERS.index(layer) + 1 :])
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / layer).rglob("*.py"))
        for name, line in sorted(_imports(path))
        if name in above
    ]
    assert not wrong, f"{layer} may import only {LAYERS[: LAYERS.index(layer)]}: {wrong}"


def test_the_model_layer_imports_only_keras_and_numpy() -> None:
    """zoo knows nothing of data, MLflow, keras-tuner or TensorFlow itself."""
    allowed = {"keras", "numpy", "zoo"} | set(sys.stdlib_module_names)
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / "zoo").rglob("*.py"))
        for name, line in sorted(_imports(path))
        if name not in allowed
    ]
    assert not wrong, wrong


def test_the_layering_test_sees_a_lazy_import(tmp_path) -> None:
    """A function-level import counts: the test cannot pass by not looking."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from tuning.searching import search\n    import recipes.train\n")
    assert _imports(module) == {("tuning", 2), ("recipes", 3)}
