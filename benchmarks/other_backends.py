"""Check every model on another Keras backend: build, forward, one train step, `.keras` round trip.

The zoo is written with `keras` and `keras.ops` only. CI runs the TensorFlow backend; this
script checks the others where they are installed, e.g. in a venv with `jax[cpu]` and keras:

    KERAS_BACKEND=jax python benchmarks/other_backends.py

It writes docs/benchmarks/backends-<backend>.md with what passed and failed.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import warnings
from pathlib import Path

import keras
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, before benchmarks/

import zoo
from benchmarks.common import ROOT
from tests.helpers import LENGTH, compile_for, expected_shape, series, targets, tiny_kwargs, token_ids


def check(name: str, task: str, tokens: bool, tmp: str) -> str:
    model = zoo.build(name, **tiny_kwargs(name, task, tokens=tokens))
    x = token_ids(4) if tokens else series(4)
    y = np.asarray(model.predict(x, verbose=0))
    assert y.shape == expected_shape(task, 4, LENGTH, tokens), y.shape
    compile_for(model, task, tokens)
    assert np.isfinite(model.train_on_batch(x, targets(task, 4, tokens=tokens)))
    path = f"{tmp}/{name}-{task}-{tokens}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6, atol=1e-6)
    return "ok"


def main() -> None:
    warnings.simplefilter("ignore")
    backend = keras.backend.backend()
    rows, failures = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in zoo.list_models():
            spec = zoo.get_spec(name)
            for task, tokens in [(t, False) for t in spec.tasks] + [("classification", True)]:
                try:
                    status = check(name, task, tokens, tmp)
                except Exception as err:  # report every failure, not only the first
                    failures += 1
                    status = f"FAILED: {type(err).__name__}: {str(err)[:200]}"
                rows.append(f"| {name} | {task} | {'tokens' if tokens else 'series'} | {status} |")
    lines = [
        f"# Models on the {backend} backend",
        "",
        f"`benchmarks/other_backends.py` with KERAS_BACKEND={backend}, keras {keras.__version__}, "
        f"{platform.platform()}, {os.cpu_count()} CPUs: build, forward shape, one training step with a "
        "finite loss, `.keras` save and `load_model(safe_mode=True)` with the same predictions.",
        "",
        f"**{len(rows) - failures} passed, {failures} failed.**",
        "",
        "| model | task | input | result |",
        "|---|---|---|---|",
        *rows,
    ]
    out = ROOT / "docs" / "benchmarks" / f"backends-{backend}.md"
    out.write_text("\n".join(lines) + "\n")
    print(f"{len(rows) - failures} passed, {failures} failed -> {out}")


if __name__ == "__main__":
    main()
